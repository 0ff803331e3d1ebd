//! The row-level writes of one redb write transaction: records, counters, index rows and
//! membership rows, as [`Rows`] for the SCIM rules in `store/tx.rs`.

use redb::{ReadableMultimapTable, ReadableTable};
use scimd_core::wire::ActivityRecord;
use scimd_core::ResourceType;
use time::OffsetDateTime;

use super::schema::*;
use crate::store::error::Result;
use crate::store::events::{NewEvent, StoredEvent};
use crate::store::hooks::{HookState, Lease};
use crate::store::model::{decode, encode, table_name, Record, Target};
use crate::store::purge::{OrgOf, PurgeStep};
use crate::store::rows::{IndexKeys, Rows};

type UniqueIndex<'t> = redb::Table<'t, (&'static str, &'static str), &'static str>;
type MultiIndex<'t> = redb::MultimapTable<'t, (&'static str, &'static str), &'static str>;
type RecordTable<'t> = redb::Table<'t, (&'static str, &'static str), &'static [u8]>;

/// Adds (`insert`) or removes one row of a unique index.
fn set_unique(t: &mut UniqueIndex<'_>, key: (&str, &str), id: &str, insert: bool) -> Result<()> {
    if insert {
        t.insert(key, id)?;
    } else {
        t.remove(key)?;
    }
    Ok(())
}

/// Adds (`insert`) or removes one row of a non-unique index.
fn set_multi(t: &mut MultiIndex<'_>, key: (&str, &str), id: &str, insert: bool) -> Result<()> {
    if insert {
        t.insert(key, id)?;
    } else {
        t.remove(key, id)?;
    }
    Ok(())
}

/// Removes up to `budget` rows keyed (org, ...) of `org` from `t`; how many went.
fn purge_pairs<V: redb::Value + 'static>(
    t: &mut redb::Table<'_, (&'static str, &'static str), V>,
    org: &str,
    budget: &mut usize,
) -> Result<u64> {
    let mut keys = Vec::new();
    for entry in t.range((org, "")..)? {
        let (k, _) = entry?;
        let (o, key) = k.value();
        if o != org || keys.len() >= *budget {
            break;
        }
        keys.push(key.to_string());
    }
    for key in &keys {
        t.remove((org, key.as_str()))?;
    }
    *budget -= keys.len();
    Ok(keys.len() as u64)
}

/// [`purge_pairs`] for the membership tables, keyed (org, id, id).
fn purge_triples<V: redb::Value + 'static>(
    t: &mut redb::Table<'_, (&'static str, &'static str, &'static str), V>,
    org: &str,
    budget: &mut usize,
) -> Result<u64> {
    let mut keys = Vec::new();
    for entry in t.range((org, "", "")..)? {
        let (k, _) = entry?;
        let (o, a, b) = k.value();
        if o != org || keys.len() >= *budget {
            break;
        }
        keys.push((a.to_string(), b.to_string()));
    }
    for (a, b) in &keys {
        t.remove((org, a.as_str(), b.as_str()))?;
    }
    *budget -= keys.len();
    Ok(keys.len() as u64)
}

/// [`purge_pairs`] for a non-unique index: every id under a key goes with it.
fn purge_multi(t: &mut MultiIndex<'_>, org: &str, budget: &mut usize) -> Result<u64> {
    let mut keys = Vec::new();
    for entry in t.range((org, "")..)? {
        let (k, _) = entry?;
        let (o, key) = k.value();
        if o != org || keys.len() >= *budget {
            break;
        }
        keys.push(key.to_string());
    }
    for key in &keys {
        t.remove_all((org, key.as_str()))?;
    }
    *budget -= keys.len();
    Ok(keys.len() as u64)
}

/// The tables of one write transaction.
pub(super) struct Writer<'t> {
    /// For the tables only a purge writes, opened when one runs.
    txn: &'t redb::WriteTransaction,
    users: RecordTable<'t>,
    groups: RecordTable<'t>,
    user_by_name: UniqueIndex<'t>,
    user_by_ext: MultiIndex<'t>,
    user_by_email: MultiIndex<'t>,
    group_by_name: UniqueIndex<'t>,
    group_by_ext: MultiIndex<'t>,
    members: redb::Table<'t, (&'static str, &'static str, &'static str), &'static str>,
    member_of: redb::Table<'t, (&'static str, &'static str, &'static str), ()>,
    counts: redb::Table<'t, (&'static str, &'static str), u64>,
    events: redb::Table<'t, (&'static str, u64), &'static [u8]>,
    event_seq: redb::Table<'t, (&'static str, &'static str), u64>,
}

impl<'t> Writer<'t> {
    pub(super) fn open(txn: &'t redb::WriteTransaction) -> Result<Self> {
        Ok(Writer {
            txn,
            users: txn.open_table(USERS)?,
            groups: txn.open_table(GROUPS)?,
            user_by_name: txn.open_table(USER_BY_NAME)?,
            user_by_ext: txn.open_multimap_table(USER_BY_EXTERNAL_ID)?,
            user_by_email: txn.open_multimap_table(USER_BY_EMAIL)?,
            group_by_name: txn.open_table(GROUP_BY_NAME)?,
            group_by_ext: txn.open_multimap_table(GROUP_BY_EXTERNAL_ID)?,
            members: txn.open_table(MEMBERS)?,
            member_of: txn.open_table(MEMBER_OF)?,
            counts: txn.open_table(COUNTS)?,
            events: txn.open_table(EVENTS)?,
            event_seq: txn.open_table(EVENT_SEQ)?,
        })
    }

    fn table(&mut self, rt: ResourceType) -> &mut RecordTable<'t> {
        match rt {
            ResourceType::User => &mut self.users,
            ResourceType::Group => &mut self.groups,
        }
    }

    fn put(&mut self, org: &str, rt: ResourceType, id: &str, rec: &Record) -> Result<()> {
        self.table(rt).insert((org, id), encode(rec).as_slice())?;
        Ok(())
    }

    fn index_keys(
        &mut self,
        org: &str,
        rt: ResourceType,
        id: &str,
        keys: &IndexKeys,
        insert: bool,
    ) -> Result<()> {
        let (by_name, by_ext) = match rt {
            ResourceType::User => (&mut self.user_by_name, &mut self.user_by_ext),
            ResourceType::Group => (&mut self.group_by_name, &mut self.group_by_ext),
        };
        if let Some(name) = &keys.name {
            set_unique(by_name, (org, name), id, insert)?;
        }
        if let Some(ext) = &keys.ext {
            set_multi(by_ext, (org, ext), id, insert)?;
        }
        for email in &keys.emails {
            set_multi(&mut self.user_by_email, (org, email), id, insert)?;
        }
        Ok(())
    }
}

impl Rows for Writer<'_> {
    fn record(&mut self, org: &str, rt: ResourceType, id: &str) -> Result<Option<Record>> {
        match self.table(rt).get((org, id))? {
            Some(v) => Ok(Some(decode(table_name(rt), id, v.value())?)),
            None => Ok(None),
        }
    }

    fn owner(&mut self, org: &str, rt: ResourceType, name_key: &str) -> Result<Option<String>> {
        let table = match rt {
            ResourceType::User => &self.user_by_name,
            ResourceType::Group => &self.group_by_name,
        };
        Ok(table.get((org, name_key))?.map(|v| v.value().to_string()))
    }

    fn insert(
        &mut self,
        org: &str,
        rt: ResourceType,
        id: &str,
        rec: &Record,
        keys: &IndexKeys,
    ) -> Result<()> {
        self.index_keys(org, rt, id, keys, true)?;
        self.put(org, rt, id, rec)
    }

    fn update(
        &mut self,
        t: Target<'_>,
        rec: &Record,
        old: &IndexKeys,
        new: &IndexKeys,
    ) -> Result<()> {
        let Target { org, rt, id } = t;
        // Only the keys that changed are touched, so a deactivation writes no index row.
        if old != new {
            self.index_keys(org, rt, id, &old.minus(new), false)?;
            self.index_keys(org, rt, id, &new.minus(old), true)?;
        }
        self.put(org, rt, id, rec)
    }

    fn remove(&mut self, org: &str, rt: ResourceType, id: &str, keys: &IndexKeys) -> Result<()> {
        self.index_keys(org, rt, id, keys, false)?;
        self.table(rt).remove((org, id))?;
        Ok(())
    }

    fn bump(&mut self, org: &str, counter: &str, delta: i64) -> Result<()> {
        let cur = self
            .counts
            .get((org, counter))?
            .map(|v| v.value())
            .unwrap_or(0);
        let next = cur.saturating_add_signed(delta);
        self.counts.insert((org, counter), next)?;
        Ok(())
    }

    fn drop_counter(&mut self, org: &str, counter: &str) -> Result<()> {
        self.counts.remove((org, counter))?;
        Ok(())
    }

    fn is_member(&mut self, org: &str, gid: &str, uid: &str) -> Result<bool> {
        Ok(self.members.get((org, gid, uid))?.is_some())
    }

    fn member_ids(&mut self, org: &str, gid: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for entry in self.members.range((org, gid, "")..)? {
            let (k, _) = entry?;
            let (o, g, u) = k.value();
            if o != org || g != gid {
                break;
            }
            out.push(u.to_string());
        }
        Ok(out)
    }

    fn teams_of(&mut self, org: &str, uid: &str) -> Result<Vec<String>> {
        let mut gids = Vec::new();
        for entry in self.member_of.range((org, uid, "")..)? {
            let (k, _) = entry?;
            let (o, u, g) = k.value();
            if o != org || u != uid {
                break;
            }
            gids.push(g.to_string());
        }
        Ok(gids)
    }

    fn put_member(&mut self, org: &str, gid: &str, uid: &str, display: &str) -> Result<()> {
        self.members.insert((org, gid, uid), display)?;
        self.member_of.insert((org, uid, gid), ())?;
        Ok(())
    }

    fn remove_member(&mut self, org: &str, gid: &str, uid: &str) -> Result<bool> {
        if self.members.remove((org, gid, uid))?.is_some() {
            self.member_of.remove((org, uid, gid))?;
            return Ok(true);
        }
        Ok(false)
    }

    fn name_of(&mut self, org: &str, rt: ResourceType, id: &str) -> Result<Option<String>> {
        // One writer at a time: there are no locks to avoid here.
        Ok(self
            .record(org, rt, id)?
            .map(|r| rt.name_in(&r.attrs).unwrap_or_default().to_string()))
    }

    fn append_event(&mut self, org: &str, event: NewEvent) -> Result<()> {
        // The one writer numbers at once: its commit order is the order of the numbers.
        let last = self
            .event_seq
            .get((org, EVENT_LAST))?
            .map(|v| v.value())
            .unwrap_or(0);
        let seq = last + 1;
        let stored = StoredEvent {
            id: event.id,
            time: event.time,
            kind: event.kind.to_string(),
            data: event.data,
        };
        // Serializing strings cannot fail.
        let bytes = serde_json::to_vec(&stored).unwrap_or_default();
        self.events.insert((org, seq), bytes.as_slice())?;
        self.event_seq.insert((org, EVENT_LAST), seq)?;
        Ok(())
    }

    fn append_activity(&mut self, rec: &mut ActivityRecord) -> Result<()> {
        super::activity::put(self.txn, std::slice::from_mut(rec))
    }

    fn prune_activity(&mut self, max_records: u64, cutoff: OffsetDateTime) -> Result<()> {
        super::activity::prune(self.txn, max_records, cutoff)
    }

    fn prune_events(&mut self, org: &str, max_records: u64, cutoff: OffsetDateTime) -> Result<u64> {
        let (seqs, events) = (&mut self.event_seq, &mut self.events);
        super::events::prune_chunk(seqs, events, org, max_records, cutoff)
    }

    fn import_events(
        &mut self,
        org: &str,
        list: &[(u64, StoredEvent)],
        pruned: u64,
        last: u64,
    ) -> Result<()> {
        let (seqs, events) = (&mut self.event_seq, &mut self.events);
        super::events::import(seqs, events, org, list, pruned, last)
    }

    fn hook_claim(
        &mut self,
        org: &str,
        endpoint: &str,
        _lease: &Lease,
    ) -> Result<Option<HookState>> {
        // One process holds the file: no other daemon to lease against.
        let last = super::hooks::last_seq(&self.event_seq, org)?;
        super::hooks::claim(self.txn, org, endpoint, last).map(Some)
    }

    fn hook_put(
        &mut self,
        org: &str,
        endpoint: &str,
        _lease: Option<&Lease>,
        state: &HookState,
    ) -> Result<bool> {
        super::hooks::put(self.txn, org, endpoint, state)?;
        Ok(true)
    }

    fn hook_release(&mut self, _org: &str, _endpoint: &str, _lease: &Lease) -> Result<()> {
        Ok(())
    }

    fn purge(&mut self, org: &str, activity_after: u64, limit: usize) -> Result<PurgeStep> {
        let mut budget = limit;
        let mut step = PurgeStep {
            activity_after,
            ..PurgeStep::default()
        };
        let p = &mut step.purged;
        p.memberships += purge_triples(&mut self.members, org, &mut budget)?;
        p.other += purge_triples(&mut self.member_of, org, &mut budget)?;
        p.other += purge_pairs(&mut self.user_by_name, org, &mut budget)?;
        p.other += purge_pairs(&mut self.group_by_name, org, &mut budget)?;
        p.other += purge_multi(&mut self.user_by_ext, org, &mut budget)?;
        p.other += purge_multi(&mut self.user_by_email, org, &mut budget)?;
        p.other += purge_multi(&mut self.group_by_ext, org, &mut budget)?;
        p.users += purge_pairs(&mut self.users, org, &mut budget)?;
        p.teams += purge_pairs(&mut self.groups, org, &mut budget)?;
        let mut seqs = Vec::new();
        for entry in self.events.range((org, 0)..)? {
            let (k, _) = entry?;
            let (o, seq) = k.value();
            if o != org || seqs.len() >= budget {
                break;
            }
            seqs.push(seq);
        }
        for seq in &seqs {
            self.events.remove((org, *seq))?;
        }
        budget -= seqs.len();
        p.events += seqs.len() as u64;
        p.other += purge_pairs(&mut self.txn.open_table(HOOKS)?, org, &mut budget)?;
        if budget > 0 {
            // The log is every org's, in time order: look at a bounded stretch of it per
            // chunk and carry on from where it ended.
            let mut activity = self.txn.open_table(ACTIVITY)?;
            let mut mine = Vec::new();
            let mut looked = 0;
            let mut ended = true;
            for entry in activity.range(activity_after.saturating_add(1)..)? {
                if looked >= budget {
                    ended = false;
                    break;
                }
                let (k, v) = entry?;
                looked += 1;
                step.activity_after = k.value();
                // A record that no longer decodes belongs to no org a purge can name.
                if serde_json::from_slice::<OrgOf>(v.value()).is_ok_and(|r| r.org == org) {
                    mine.push(k.value());
                }
            }
            for seq in &mine {
                activity.remove(*seq)?;
            }
            p.activity += mine.len() as u64;
            budget = if ended { budget - looked } else { 0 };
        }
        // Last: while they are there, the org is listed as holding data.
        p.other += purge_pairs(&mut self.counts, org, &mut budget)?;
        p.other += purge_pairs(&mut self.event_seq, org, &mut budget)?;
        step.done = budget > 0;
        Ok(step)
    }
}
