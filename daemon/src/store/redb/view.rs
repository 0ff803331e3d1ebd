//! Reads inside one redb read transaction, as [`View`] for the backend-neutral reads.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::ops::Bound;

use scimd_core::wire::ActivityRecord;
use scimd_core::ResourceType;

use super::schema::*;
use crate::store::error::Result;
use crate::store::hooks::HookState;
use crate::store::model::{decode, table_name, Link, Lookup, Record};
use crate::store::needles::may_match;
use crate::store::rows::{ActivityFrom, Membership, ScanVisit, StoredEvent, View};

/// The records table of `rt`.
fn rt_table(
    rt: ResourceType,
) -> redb::TableDefinition<'static, (&'static str, &'static str), &'static [u8]> {
    match rt {
        ResourceType::User => USERS,
        ResourceType::Group => GROUPS,
    }
}

/// A stored user record's userName, the rest of the record passed over unparsed.
fn decode_user_name(uid: &str, bytes: &[u8]) -> Result<String> {
    #[derive(serde::Deserialize)]
    struct Named {
        attrs: Name,
    }
    #[derive(serde::Deserialize)]
    struct Name {
        #[serde(rename = "userName", default)]
        user_name: String,
    }
    decode::<Named>(table_name(ResourceType::User), uid, bytes).map(|n| n.attrs.user_name)
}

/// A stored team record's displayName, the rest of the record passed over unparsed.
fn decode_name(gid: &str, bytes: &[u8]) -> Result<String> {
    #[derive(serde::Deserialize)]
    struct Named {
        attrs: Name,
    }
    #[derive(serde::Deserialize)]
    struct Name {
        #[serde(rename = "displayName", default)]
        display_name: String,
    }
    decode::<Named>(table_name(ResourceType::Group), gid, bytes).map(|n| n.attrs.display_name)
}

type Records = redb::ReadOnlyTable<(&'static str, &'static str), &'static [u8]>;
type MemberOf = redb::ReadOnlyTable<(&'static str, &'static str, &'static str), ()>;

/// Reads within one read transaction. The tables a page reads once per resource are opened
/// once per transaction: opening one is a lookup in redb's table directory, which would
/// otherwise cost as much as the read itself.
pub(super) struct Reader<'a> {
    txn: &'a redb::ReadTransaction,
    users: OnceCell<Records>,
    groups: OnceCell<Records>,
    member_of: OnceCell<MemberOf>,
    window: RefCell<Window>,
    /// Team displayNames read in this transaction: a page of users shares a few teams.
    team_names: RefCell<HashMap<String, Option<String>>>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(txn: &'a redb::ReadTransaction) -> Reader<'a> {
        Reader {
            txn,
            users: OnceCell::new(),
            groups: OnceCell::new(),
            member_of: OnceCell::new(),
            window: RefCell::default(),
            team_names: RefCell::default(),
        }
    }

    /// The teams of one user, by a range of their own.
    fn teams_of_one(&self, org: &str, uid: &str) -> Result<Vec<String>> {
        let member_of = opened(&self.member_of, || self.txn.open_table(MEMBER_OF))?;
        let mut out = Vec::new();
        for entry in member_of.range((org, uid, "")..)? {
            let (k, _) = entry?;
            let (o, u, g) = k.value();
            if o != org || u != uid {
                break;
            }
            out.push(g.to_string());
        }
        Ok(out)
    }

    fn records(&self, rt: ResourceType) -> Result<&Records> {
        let cell = match rt {
            ResourceType::User => &self.users,
            ResourceType::Group => &self.groups,
        };
        opened(cell, || self.txn.open_table(rt_table(rt)))
    }
}

/// Memberships read per range once a read transaction reads a second user's teams.
const WINDOW: usize = 128;

/// The memberships of every user from `from` up to `end` (exclusive; None: to the org's
/// end), read in one range for a page of users in id order.
#[derive(Default)]
struct Window {
    /// Range reads of memberships so far in this transaction.
    reads: usize,
    org: String,
    from: String,
    end: Option<String>,
    /// (user id, team id), in key order.
    rows: Vec<(String, String)>,
}

impl Window {
    /// The teams of `uid`, when the window covers that user.
    fn teams(&self, org: &str, uid: &str) -> Option<Vec<String>> {
        let covered = !self.from.is_empty()
            && self.org == org
            && self.from.as_str() <= uid
            && self.end.as_deref().is_none_or(|e| uid < e);
        if !covered {
            return None;
        }
        let start = self.rows.partition_point(|(u, _)| u.as_str() < uid);
        Some(
            self.rows[start..]
                .iter()
                .take_while(|(u, _)| u == uid)
                .map(|(_, g)| g.clone())
                .collect(),
        )
    }
}

/// The table in `cell`, opened by `open` on first use.
fn opened<T>(
    cell: &OnceCell<T>,
    open: impl FnOnce() -> std::result::Result<T, redb::TableError>,
) -> Result<&T> {
    if let Some(t) = cell.get() {
        return Ok(t);
    }
    let t = open()?;
    Ok(cell.get_or_init(|| t))
}

impl Reader<'_> {
    /// The records of `rt` in `org` from after `after`, past `skip` of them, less those whose
    /// stored text lacks one of `needles`: those are never decoded.
    fn walk(
        &self,
        org: &str,
        rt: ResourceType,
        after: Option<&str>,
        skip: usize,
        needles: &[String],
        visit: &mut ScanVisit<'_>,
    ) -> Result<()> {
        let table = self.txn.open_table(rt_table(rt))?;
        let start = match after {
            Some(id) => Bound::Excluded((org, id)),
            None => Bound::Included((org, "")),
        };
        for entry in table
            .range::<(&str, &str)>((start, Bound::Unbounded))?
            .skip(skip)
        {
            let (k, v) = entry?;
            let (o, id) = k.value();
            if o != org {
                break;
            }
            let bytes = v.value();
            if !may_match(bytes, needles) {
                continue;
            }
            let rec = decode(table_name(rt), id, bytes)?;
            if !visit(id, rec)? {
                break;
            }
        }
        Ok(())
    }
}

impl View for Reader<'_> {
    fn record(&self, org: &str, rt: ResourceType, id: &str) -> Result<Option<Record>> {
        match self.records(rt)?.get((org, id))? {
            Some(v) => Ok(Some(decode(table_name(rt), id, v.value())?)),
            None => Ok(None),
        }
    }

    fn scan(
        &self,
        org: &str,
        rt: ResourceType,
        after: Option<&str>,
        skip: usize,
        visit: &mut ScanVisit<'_>,
    ) -> Result<()> {
        self.walk(org, rt, after, skip, &[], visit)
    }

    fn scan_matching(
        &self,
        org: &str,
        rt: ResourceType,
        after: Option<&str>,
        needles: &[String],
        visit: &mut ScanVisit<'_>,
    ) -> Result<()> {
        self.walk(org, rt, after, 0, needles, visit)
    }

    fn lookup(&self, org: &str, rt: ResourceType, lookup: &Lookup) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        type Multi =
            redb::MultimapTableDefinition<'static, (&'static str, &'static str), &'static str>;
        let mut multi = |def: Multi, key: &str| -> Result<()> {
            let t = self.txn.open_multimap_table(def)?;
            for v in t.get((org, key))? {
                ids.push(v?.value().to_string());
            }
            Ok(())
        };
        match (lookup, rt) {
            (Lookup::UserName(name), ResourceType::User) => {
                let t = self.txn.open_table(USER_BY_NAME)?;
                if let Some(v) = t.get((org, name.to_lowercase().as_str()))? {
                    ids.push(v.value().to_string());
                }
            }
            (Lookup::DisplayName(name), ResourceType::Group) => {
                let t = self.txn.open_table(GROUP_BY_NAME)?;
                if let Some(v) = t.get((org, name.to_lowercase().as_str()))? {
                    ids.push(v.value().to_string());
                }
            }
            (Lookup::Email(email), ResourceType::User) => {
                multi(USER_BY_EMAIL, &email.to_lowercase())?;
            }
            (Lookup::ExternalId(ext), ResourceType::User) => multi(USER_BY_EXTERNAL_ID, ext)?,
            (Lookup::ExternalId(ext), ResourceType::Group) => multi(GROUP_BY_EXTERNAL_ID, ext)?,
            // An index of the other resource type finds nothing of this one.
            _ => {}
        }
        Ok(ids)
    }

    fn members(&self, org: &str, gid: &str) -> Result<Vec<Link>> {
        let members = self.txn.open_table(MEMBERS)?;
        let mut out = Vec::new();
        for entry in members.range((org, gid, "")..)? {
            let (k, v) = entry?;
            let (o, g, u) = k.value();
            if o != org || g != gid {
                break;
            }
            out.push(Link {
                id: u.to_string(),
                display: v.value().to_string(),
            });
        }
        Ok(out)
    }

    fn teams_of(&self, org: &str, uid: &str) -> Result<Vec<String>> {
        let mut window = self.window.borrow_mut();
        if let Some(teams) = window.teams(org, uid) {
            return Ok(teams);
        }
        // The first user of a transaction reads their own memberships; a second means a page
        // is being read in id order, so the memberships ahead are read in one range.
        window.reads += 1;
        if window.reads == 1 {
            drop(window);
            return self.teams_of_one(org, uid);
        }
        let member_of = opened(&self.member_of, || self.txn.open_table(MEMBER_OF))?;
        let mut rows = Vec::new();
        let mut complete = true;
        for entry in member_of.range((org, uid, "")..)? {
            let (k, _) = entry?;
            let (o, u, g) = k.value();
            if o != org {
                break;
            }
            if rows.len() >= WINDOW {
                complete = false;
                break;
            }
            rows.push((u.to_string(), g.to_string()));
        }
        // When the range stopped part way, its last user's teams may go on past it.
        let end = if complete {
            None
        } else {
            rows.last().map(|(u, _)| u.clone())
        };
        if end.as_deref() == Some(uid) {
            // One user in more teams than a window holds: read them alone.
            drop(window);
            return self.teams_of_one(org, uid);
        }
        *window = Window {
            reads: window.reads,
            org: org.to_string(),
            from: uid.to_string(),
            end,
            rows,
        };
        Ok(window.teams(org, uid).unwrap_or_default())
    }

    fn team_name(&self, org: &str, gid: &str) -> Result<Option<String>> {
        if let Some(name) = self.team_names.borrow().get(gid) {
            return Ok(name.clone());
        }
        let name = match self.records(ResourceType::Group)?.get((org, gid))? {
            Some(v) => Some(decode_name(gid, v.value())?),
            None => None,
        };
        self.team_names
            .borrow_mut()
            .insert(gid.to_string(), name.clone());
        Ok(name)
    }

    fn memberships(
        &self,
        org: &str,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<Membership>> {
        let members = self.txn.open_table(MEMBERS)?;
        let users = self.records(ResourceType::User)?;
        let range = match after {
            Some((gid, uid)) => members.range((
                Bound::Excluded((org, gid, uid)),
                Bound::Unbounded::<(&str, &str, &str)>,
            ))?,
            None => members.range((org, "", "")..)?,
        };
        let mut out = Vec::with_capacity(limit.min(1024));
        for entry in range {
            let (k, _) = entry?;
            let (o, gid, uid) = k.value();
            if o != org || out.len() == limit {
                break;
            }
            let team = self.team_name(org, gid)?.unwrap_or_default();
            let user = match users.get((org, uid))? {
                Some(v) => decode_user_name(uid, v.value())?,
                None => String::new(),
            };
            out.push(Membership {
                gid: gid.to_string(),
                team,
                uid: uid.to_string(),
                user,
            });
        }
        Ok(out)
    }

    fn event_bounds(&self, org: &str) -> Result<(u64, u64)> {
        super::events::bounds(self.txn, org)
    }

    fn events(&self, org: &str, after: u64, limit: usize) -> Result<Vec<(u64, StoredEvent)>> {
        super::events::raw(self.txn, org, after, limit)
    }

    fn activity(&self, from: ActivityFrom, limit: usize) -> Result<Vec<ActivityRecord>> {
        match from {
            ActivityFrom::Newest => super::activity::recent(self.txn, limit),
            ActivityFrom::After(seq) => super::activity::after(self.txn, seq, limit),
        }
    }

    fn activity_len(&self) -> Result<u64> {
        super::activity::len(self.txn)
    }

    fn last_activity_seq(&self) -> Result<u64> {
        super::activity::last_seq(self.txn)
    }

    fn hook_states(&self, org: &str) -> Result<Vec<(String, HookState)>> {
        super::hooks::states(self.txn, org)
    }

    fn counter(&self, org: &str, name: &str) -> Result<u64> {
        let counts = self.txn.open_table(COUNTS)?;
        Ok(counts.get((org, name))?.map(|v| v.value()).unwrap_or(0))
    }

    fn orgs(&self) -> Result<Vec<String>> {
        // Every resource bumps its org's counters, so the counters name every org.
        let counts = self.txn.open_table(COUNTS)?;
        let mut out: Vec<String> = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let range = match &next {
                Some(org) => counts.range((org.as_str(), "\u{10FFFF}")..)?,
                None => counts.range::<(&str, &str)>(..)?,
            };
            let Some(entry) = range.into_iter().next() else {
                break;
            };
            let (k, _) = entry?;
            let org = k.value().0.to_string();
            if next.as_ref() == Some(&org) {
                break;
            }
            out.push(org.clone());
            next = Some(org);
        }
        Ok(out)
    }

    fn users_by_name_prefix(&self, org: &str, prefix: &str, limit: usize) -> Result<Vec<String>> {
        let by_name = self.txn.open_table(USER_BY_NAME)?;
        let mut out = Vec::new();
        // The index is keyed by the lowercased userName, so the matches are one contiguous
        // range starting at the prefix.
        for entry in by_name.range((org, prefix)..)? {
            if out.len() >= limit {
                break;
            }
            let (k, id) = entry?;
            let (o, name) = k.value();
            if o != org || !name.starts_with(prefix) {
                break;
            }
            out.push(id.value().to_string());
        }
        Ok(out)
    }
}
