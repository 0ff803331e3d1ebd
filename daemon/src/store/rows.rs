//! What a backend provides to the SCIM rules: the reads of one consistent snapshot ([`View`])
//! and the row-level writes of one transaction ([`Rows`]). The rules themselves (uniqueness,
//! versions, member plans, counters) are written once over these traits, in `tx.rs`,
//! `members.rs`, `read.rs` and `dash.rs`; a backend only stores and finds rows.

use std::collections::BTreeSet;

use scimd_core::resource as res;
use scimd_core::wire::ActivityRecord;
use scimd_core::ResourceType;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::error::Result;
use super::hooks::{HookState, Lease};
use super::model::{Link, Lookup, Record, Target};
use super::purge::PurgeStep;

/// The index keys of one resource: its unique name (userName or team displayName, lowercased),
/// externalId, and (users) lowercased emails.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct IndexKeys {
    pub(crate) name: Option<String>,
    pub(crate) ext: Option<String>,
    pub(crate) emails: Vec<String>,
}

impl IndexKeys {
    pub(crate) fn of(rt: ResourceType, attrs: &Map<String, Value>) -> IndexKeys {
        let ext = res::external_id(attrs).map(str::to_string);
        match rt {
            ResourceType::User => IndexKeys {
                name: res::user_name_key(attrs),
                ext,
                emails: res::email_keys(attrs),
            },
            ResourceType::Group => IndexKeys {
                name: res::display_name_key(attrs),
                ext,
                emails: Vec::new(),
            },
        }
    }

    /// The keys of `self` that `other` does not have.
    pub(crate) fn minus(&self, other: &IndexKeys) -> IndexKeys {
        IndexKeys {
            name: self.name.clone().filter(|n| other.name.as_ref() != Some(n)),
            ext: self.ext.clone().filter(|e| other.ext.as_ref() != Some(e)),
            emails: self
                .emails
                .iter()
                .filter(|e| !other.emails.contains(e))
                .cloned()
                .collect(),
        }
    }
}

/// What a scan hands to its visitor for each resource: its id and record. Returning false
/// stops the scan.
pub(crate) type ScanVisit<'a> = dyn FnMut(&str, Record) -> Result<bool> + 'a;

/// Reads of one consistent snapshot of the store.
pub(crate) trait View {
    /// One stored record.
    fn record(&self, org: &str, rt: ResourceType, id: &str) -> Result<Option<Record>>;

    /// The records of `rt` in `org` in id order, after id `after`, passing over the first
    /// `skip` of them (without decoding them, where the backend can).
    fn scan(
        &self,
        org: &str,
        rt: ResourceType,
        after: Option<&str>,
        skip: usize,
        visit: &mut ScanVisit<'_>,
    ) -> Result<()>;

    /// What [`View::scan`] visits, less records whose stored attributes (as JSON text,
    /// ASCII-lowercased) lack one of `needles`: none of those can match the filter the
    /// needles came from (`api::plan::needles`). A backend may pass more; the caller still
    /// checks every record. By default, everything is passed.
    fn scan_matching(
        &self,
        org: &str,
        rt: ResourceType,
        after: Option<&str>,
        needles: &[String],
        visit: &mut ScanVisit<'_>,
    ) -> Result<()> {
        let _ = needles;
        self.scan(org, rt, after, 0, visit)
    }

    /// The ids of `rt` that an index lookup finds (names compared lowercased).
    fn lookup(&self, org: &str, rt: ResourceType, lookup: &Lookup) -> Result<Vec<String>>;

    /// The members of team `gid` (user id and the member's display name), by user id.
    fn members(&self, org: &str, gid: &str) -> Result<Vec<Link>>;

    /// The ids of the teams user `uid` belongs to, by team id.
    fn teams_of(&self, org: &str, uid: &str) -> Result<Vec<String>>;

    /// The displayName of team `gid`, None when there is no such team. A user's `groups`
    /// needs nothing else of each team, so a backend may skip decoding the rest.
    fn team_name(&self, org: &str, gid: &str) -> Result<Option<String>> {
        Ok(self
            .record(org, ResourceType::Group, gid)?
            .map(|rec| display_name(&rec)))
    }

    /// A counter (see `model::counter_users`, `ACTIVE`, `member_counter`); 0 when unset.
    fn counter(&self, org: &str, name: &str) -> Result<u64>;

    /// Every org that holds a resource or a counter.
    fn orgs(&self) -> Result<Vec<String>>;

    /// At most `limit` user ids whose lowercased userName starts with `prefix` (lowercased
    /// already), in lowercased-userName order.
    fn users_by_name_prefix(&self, org: &str, prefix: &str, limit: usize) -> Result<Vec<String>>;

    /// At most `limit` of `org`'s memberships after `(team id, user id)` `after`, in that
    /// order, each with the team's displayName and the user's userName: a snapshot's member
    /// lines, read in bounded batches.
    fn memberships(
        &self,
        org: &str,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<Membership>>;

    /// `org`'s event numbers in this snapshot: every event up to the first has been pruned,
    /// the second is the newest ever given (0, 0 before the first event).
    fn event_bounds(&self, org: &str) -> Result<(u64, u64)>;

    /// The number of `org`'s newest event in this snapshot (0 before the first).
    fn last_event(&self, org: &str) -> Result<u64> {
        Ok(self.event_bounds(org)?.1)
    }

    /// At most `limit` of `org`'s events numbered after `after`, oldest first, as stored.
    fn events(&self, org: &str, after: u64, limit: usize) -> Result<Vec<(u64, StoredEvent)>>;

    /// At most `limit` activity records: the newest first, or those after a number, oldest
    /// first. A record that no longer decodes is skipped (with a warning): history is a
    /// convenience and must not make the dashboard fail.
    fn activity(&self, from: ActivityFrom, limit: usize) -> Result<Vec<ActivityRecord>>;

    /// How many activity records the log holds.
    fn activity_len(&self) -> Result<u64>;

    /// The highest activity number ever given (0 before the first); never reused, even after
    /// retention empties the log.
    fn last_activity_seq(&self) -> Result<u64>;

    /// Every webhook endpoint's delivery state of `org`, by endpoint id.
    fn hook_states(&self, org: &str) -> Result<Vec<(String, HookState)>>;
}

/// Where a read of the activity log starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActivityFrom {
    /// The newest records, newest first.
    Newest,
    /// The records after this number, oldest first.
    After(u64),
}

/// A team record's displayName ("" when it has none), as a user's `groups` shows it.
pub(crate) fn display_name(rec: &Record) -> String {
    rec.attrs
        .get("displayName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// One membership with the names a consumer shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Membership {
    pub(crate) gid: String,
    pub(crate) team: String,
    pub(crate) uid: String,
    pub(crate) user: String,
}

/// The row-level writes (and the reads they need) of one write transaction. Each write
/// keeps the record and its index rows together; the SCIM checks happen before, in `Tx`.
pub(crate) trait Rows {
    fn record(&mut self, org: &str, rt: ResourceType, id: &str) -> Result<Option<Record>>;

    /// The id holding the unique name key (userName or displayName, lowercased), if any.
    fn owner(&mut self, org: &str, rt: ResourceType, name_key: &str) -> Result<Option<String>>;

    /// Says the job is one user's create with nothing written after the user's record (the
    /// API's POST): a backend may then send the record with later work and settle the job's
    /// reply as its batch commits ([`crate::store::commit::Committed::Refused`]).
    fn lone_create(&mut self) {}

    /// Whether `insert` and `update` themselves refuse a name another resource holds, with
    /// the SCIM conflict, and undo the job alone: then looking the name up first is a round
    /// trip that decides nothing.
    fn unique_at_write(&self) -> bool {
        false
    }

    /// Writes a new resource with its index rows.
    fn insert(
        &mut self,
        org: &str,
        rt: ResourceType,
        id: &str,
        rec: &Record,
        keys: &IndexKeys,
    ) -> Result<()>;

    /// Overwrites a resource, moving its index rows from `old` to `new` keys.
    fn update(
        &mut self,
        t: Target<'_>,
        rec: &Record,
        old: &IndexKeys,
        new: &IndexKeys,
    ) -> Result<()>;

    /// Deletes a resource and its index rows (`keys`).
    fn remove(&mut self, org: &str, rt: ResourceType, id: &str, keys: &IndexKeys) -> Result<()>;

    /// Adds `delta` to a counter (never below 0).
    fn bump(&mut self, org: &str, counter: &str, delta: i64) -> Result<()>;

    /// Deletes a counter.
    fn drop_counter(&mut self, org: &str, counter: &str) -> Result<()>;

    fn is_member(&mut self, org: &str, gid: &str, uid: &str) -> Result<bool>;

    /// The user ids of team `gid`'s members.
    fn member_ids(&mut self, org: &str, gid: &str) -> Result<Vec<String>>;

    /// The team ids user `uid` belongs to.
    fn teams_of(&mut self, org: &str, uid: &str) -> Result<Vec<String>>;

    /// Adds one membership row (both directions), or rewrites its display name.
    fn put_member(&mut self, org: &str, gid: &str, uid: &str, display: &str) -> Result<()>;

    /// Removes one membership row; false when there was none.
    fn remove_member(&mut self, org: &str, gid: &str, uid: &str) -> Result<bool>;

    /// The userName (users) or displayName (teams) of a resource, for member events. Unlike
    /// [`Rows::record`] it takes no lock: a shared store must not lock a second resource
    /// for a label, or two writers locking in opposite orders would deadlock.
    fn name_of(&mut self, org: &str, rt: ResourceType, id: &str) -> Result<Option<String>>;

    // The many-at-once forms below answer what a team's whole member list asks (a PUT of
    // 10,000 members, a team's delete). Callers pass empty lists freely. Their defaults ask
    // one at a time; a backend whose every statement is a round trip answers each in one, and
    // sends nothing for an empty list.

    /// Which of `uids` are members of team `gid`.
    fn members_among(&mut self, org: &str, gid: &str, uids: &[&str]) -> Result<BTreeSet<String>> {
        let mut out = BTreeSet::new();
        for uid in uids {
            if self.is_member(org, gid, uid)? {
                out.insert((*uid).to_string());
            }
        }
        Ok(out)
    }

    /// The users `ids`, in their order (None: no such user), each read as [`Rows::record`]
    /// reads one.
    fn users(&mut self, org: &str, ids: &[&str]) -> Result<Vec<Option<Record>>> {
        ids.iter()
            .map(|id| self.record(org, ResourceType::User, id))
            .collect()
    }

    /// Adds (or rewrites the display name of) each `(uid, display)` membership of team `gid`.
    fn put_members(&mut self, org: &str, gid: &str, joining: &[(&str, &str)]) -> Result<()> {
        for (uid, display) in joining {
            self.put_member(org, gid, uid, display)?;
        }
        Ok(())
    }

    /// Removes `uids` from team `gid`; the ones that were members, in the order given.
    fn remove_members(&mut self, org: &str, gid: &str, uids: &[&str]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for uid in uids {
            if self.remove_member(org, gid, uid)? {
                out.push((*uid).to_string());
            }
        }
        Ok(out)
    }

    /// [`Rows::name_of`] of each of `ids`, in their order.
    fn names_of(
        &mut self,
        org: &str,
        rt: ResourceType,
        ids: &[&str],
    ) -> Result<Vec<Option<String>>> {
        ids.iter().map(|id| self.name_of(org, rt, id)).collect()
    }

    /// Queues an event of `org` in this transaction. The backend numbers the org's events
    /// when the transaction commits, in commit order, from a counter that never goes back:
    /// so a number, once read by a consumer, is never given again.
    fn append_event(&mut self, org: &str, event: NewEvent) -> Result<()>;

    /// Writes the activity record of this transaction's change, numbered after every record
    /// the log holds. A backend that numbers at commit (shared by several daemons) leaves
    /// `rec.seq` at 0 here.
    fn append_activity(&mut self, rec: &mut ActivityRecord) -> Result<()>;

    /// Drops the oldest activity records beyond `max_records`, and those older than `cutoff`,
    /// counting what this transaction appended (a backend may do it as the batch commits).
    fn prune_activity(&mut self, max_records: u64, cutoff: OffsetDateTime) -> Result<()>;

    /// At most [`PRUNE_CHUNK`](super::events::PRUNE_CHUNK) of `org`'s oldest events that are
    /// beyond its newest `max_records` or older than `cutoff` go, with every older one, so the
    /// kept events stay one unbroken run; how many went.
    fn prune_events(&mut self, org: &str, max_records: u64, cutoff: OffsetDateTime) -> Result<u64>;

    /// Writes events as another store held them, numbers included, and raises `org`'s counters
    /// to `pruned` and `last` (never lowers them), for `store copy`.
    fn import_events(
        &mut self,
        org: &str,
        events: &[(u64, StoredEvent)],
        pruned: u64,
        last: u64,
    ) -> Result<()>;

    /// Takes or renews `lease` on webhook `endpoint` of `org` and returns its state, created
    /// after the org's last event when new; None while another daemon's lease runs (a backend
    /// that one process holds has no other daemon, and always answers the state).
    fn hook_claim(&mut self, org: &str, endpoint: &str, lease: &Lease)
        -> Result<Option<HookState>>;

    /// Writes an endpoint's state if `lease` holds it, renewing it (false when another daemon
    /// took the endpoint over); with no lease, as another store held it (`store copy`).
    fn hook_put(
        &mut self,
        org: &str,
        endpoint: &str,
        lease: Option<&Lease>,
        state: &HookState,
    ) -> Result<bool>;

    /// Gives `lease` on an endpoint up, so another daemon may take it over at once.
    fn hook_release(&mut self, org: &str, endpoint: &str, lease: &Lease) -> Result<()>;

    /// Deletes at most about `limit` rows of `org`: membership and index rows, users, teams,
    /// events, webhook positions, its activity records numbered after `activity_after` (at
    /// most `limit` of the log looked at), and, once nothing else is left, its counters and
    /// event counters. `done` says nothing of the org is left.
    fn purge(&mut self, org: &str, activity_after: u64, limit: usize) -> Result<PurgeStep>;
}

/// One event as the transaction hands it to the backend, before it has a number.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NewEvent {
    pub(crate) id: String,
    /// RFC 3339; the time of the request that made the change.
    pub(crate) time: String,
    pub(crate) kind: &'static str,
    /// The stored data, JSON (see `events::Payload`).
    pub(crate) data: String,
}

/// An event as a store keeps it (everything but its org and number), as `store copy` moves it
/// between backends. `data` is the event's JSON; serialized (the embedded file's form), it is
/// JSON inside the row, not a string holding JSON, so it is encoded once and read without
/// unescaping.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct StoredEvent {
    pub(crate) id: String,
    pub(crate) time: String,
    pub(crate) kind: String,
    #[serde(with = "raw_json")]
    pub(crate) data: String,
}

/// `StoredEvent::data` as raw JSON. Rows written before it was (a JSON string holding the
/// JSON) still read.
mod raw_json {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::value::RawValue;

    pub(super) fn serialize<S: Serializer>(data: &str, s: S) -> Result<S::Ok, S::Error> {
        match RawValue::from_string(data.to_string()) {
            Ok(raw) => raw.serialize(s),
            // Never the case for data the store made; kept as text rather than lost.
            Err(_) => s.serialize_str(data),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get();
        if text.starts_with('"') {
            serde_json::from_str::<String>(text).map_err(D::Error::custom)
        } else {
            Ok(text.to_string())
        }
    }
}
