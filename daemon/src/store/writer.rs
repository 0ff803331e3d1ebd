//! The tables of one write transaction and the row-level writes: records, counters, index
//! rows, and membership plans worked out by reads before any write.

use std::collections::{BTreeMap, BTreeSet};

use redb::ReadableTable;
use scimd_core::patch::MemberOp;
use scimd_core::resource as res;
use scimd_core::{ResourceType, ScimError};
use serde_json::{Map, Value};

use super::error::Result;
use super::model::{decode, encode, member_counter, table_name, Record, Unknown};
use super::schema::*;

/// Membership changes worked out (by reads alone) before any write.
#[derive(Debug, Default)]
pub(super) struct MemberPlan {
    pub(super) to_add: Vec<(String, String)>,
    pub(super) to_remove: BTreeSet<String>,
    pub(super) skipped: Vec<String>,
}

type UniqueIndex<'t> = redb::Table<'t, (&'static str, &'static str), &'static str>;
type MultiIndex<'t> = redb::MultimapTable<'t, (&'static str, &'static str), &'static str>;

/// The index keys of one resource: its unique name (userName or team displayName, lowercased),
/// externalId, and (users) lowercased emails.
#[derive(Debug, Default, PartialEq)]
struct IndexKeys {
    name: Option<String>,
    ext: Option<String>,
    emails: Vec<String>,
}

impl IndexKeys {
    fn of(rt: ResourceType, attrs: &Map<String, Value>) -> IndexKeys {
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
    fn minus(&self, other: &IndexKeys) -> IndexKeys {
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

/// The tables of one write transaction.
pub(super) struct Writer<'t> {
    users: redb::Table<'t, (&'static str, &'static str), &'static [u8]>,
    groups: redb::Table<'t, (&'static str, &'static str), &'static [u8]>,
    user_by_name: UniqueIndex<'t>,
    user_by_ext: MultiIndex<'t>,
    user_by_email: MultiIndex<'t>,
    group_by_name: UniqueIndex<'t>,
    group_by_ext: MultiIndex<'t>,
    members: redb::Table<'t, (&'static str, &'static str, &'static str), &'static str>,
    member_of: redb::Table<'t, (&'static str, &'static str, &'static str), ()>,
    pub(super) counts: redb::Table<'t, (&'static str, &'static str), u64>,
}

impl<'t> Writer<'t> {
    pub(super) fn open(txn: &'t redb::WriteTransaction) -> Result<Self> {
        Ok(Writer {
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
        })
    }

    fn table(
        &mut self,
        rt: ResourceType,
    ) -> &mut redb::Table<'t, (&'static str, &'static str), &'static [u8]> {
        match rt {
            ResourceType::User => &mut self.users,
            ResourceType::Group => &mut self.groups,
        }
    }

    pub(super) fn get(&mut self, org: &str, rt: ResourceType, id: &str) -> Result<Option<Record>> {
        match self.table(rt).get((org, id))? {
            Some(v) => Ok(Some(decode(table_name(rt), id, v.value())?)),
            None => Ok(None),
        }
    }

    pub(super) fn put(
        &mut self,
        org: &str,
        rt: ResourceType,
        id: &str,
        rec: &Record,
    ) -> Result<()> {
        self.table(rt).insert((org, id), encode(rec).as_slice())?;
        Ok(())
    }

    pub(super) fn remove(&mut self, org: &str, rt: ResourceType, id: &str) -> Result<()> {
        self.table(rt).remove((org, id))?;
        Ok(())
    }

    pub(super) fn bump(&mut self, org: &str, counter: &str, delta: i64) -> Result<()> {
        let cur = self
            .counts
            .get((org, counter))?
            .map(|v| v.value())
            .unwrap_or(0);
        let next = cur.saturating_add_signed(delta);
        self.counts.insert((org, counter), next)?;
        Ok(())
    }

    /// 409 when a unique attribute of `attrs` belongs to another resource.
    pub(super) fn check_unique(
        &mut self,
        org: &str,
        rt: ResourceType,
        id: &str,
        attrs: &Map<String, Value>,
    ) -> Result<()> {
        let (key, table, attr, what) = match rt {
            ResourceType::User => (
                res::user_name_key(attrs),
                &self.user_by_name,
                "userName",
                "User",
            ),
            ResourceType::Group => (
                res::display_name_key(attrs),
                &self.group_by_name,
                "displayName",
                "Group",
            ),
        };
        if let Some(key) = key {
            if let Some(other) = table.get((org, key.as_str()))? {
                if other.value() != id {
                    let name = attrs.get(attr).and_then(Value::as_str).unwrap_or_default();
                    return Err(ScimError::Conflict(format!(
                        "{what} with {attr} {name} already exists."
                    ))
                    .into());
                }
            }
        }
        Ok(())
    }

    /// Adds (`insert`) or removes the index rows of `attrs`.
    pub(super) fn index(
        &mut self,
        org: &str,
        rt: ResourceType,
        id: &str,
        attrs: &Map<String, Value>,
        insert: bool,
    ) -> Result<()> {
        self.index_keys(org, rt, id, &IndexKeys::of(rt, attrs), insert)
    }

    /// Moves the index rows from `old` to `new`, touching only the keys that changed, so a
    /// deactivation writes no index row at all.
    pub(super) fn reindex(
        &mut self,
        org: &str,
        rt: ResourceType,
        id: &str,
        old: &Map<String, Value>,
        new: &Map<String, Value>,
    ) -> Result<()> {
        let (old, new) = (IndexKeys::of(rt, old), IndexKeys::of(rt, new));
        self.index_keys(org, rt, id, &old.minus(&new), false)?;
        self.index_keys(org, rt, id, &new.minus(&old), true)
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

    /// Works out membership changes to team `gid` without writing: the final wanted state of
    /// each mentioned id, so a full replace that keeps most members writes only the
    /// difference. Refuses unknown ids under `Unknown::Reject`.
    pub(super) fn plan_members(
        &mut self,
        org: &str,
        gid: &str,
        ops: &[MemberOp],
        unknown: Unknown,
    ) -> Result<MemberPlan> {
        let mut plan = MemberPlan::default();
        if ops.is_empty() {
            return Ok(plan);
        }
        let mut cleared = false;
        let mut want: BTreeMap<&str, bool> = BTreeMap::new();
        for op in ops {
            match op {
                MemberOp::Clear => {
                    cleared = true;
                    want.clear();
                }
                MemberOp::Add(ids) => ids.iter().for_each(|i| {
                    want.insert(i.as_str(), true);
                }),
                MemberOp::Remove(ids) => ids.iter().for_each(|i| {
                    want.insert(i.as_str(), false);
                }),
            }
        }
        for (uid, wanted) in &want {
            if !*wanted {
                continue;
            }
            if self.members.get((org, gid, *uid))?.is_some() {
                continue;
            }
            match self.users.get((org, *uid))? {
                Some(v) => {
                    let rec = decode("users", uid, v.value())?;
                    plan.to_add
                        .push((uid.to_string(), res::member_display(&rec.attrs)));
                }
                None => plan.skipped.push(uid.to_string()),
            }
        }
        if unknown == Unknown::Reject && !plan.skipped.is_empty() {
            return Err(ScimError::invalid_value(format!(
                "Cannot add invalid members to team. Invalid member ids: {}",
                plan.skipped.join(", ")
            ))
            .into());
        }
        plan.to_remove = want
            .iter()
            .filter(|(_, w)| !**w)
            .map(|(u, _)| u.to_string())
            .collect();
        if cleared {
            for entry in self.members.range((org, gid, "")..)? {
                let (k, _) = entry?;
                let (o, g, u) = k.value();
                if o != org || g != gid {
                    break;
                }
                if !want.get(u).copied().unwrap_or(false) {
                    plan.to_remove.insert(u.to_string());
                }
            }
        }
        Ok(plan)
    }

    /// Writes a membership plan; returns (added, removed).
    pub(super) fn write_members(
        &mut self,
        org: &str,
        gid: &str,
        plan: MemberPlan,
    ) -> Result<(usize, usize)> {
        let mut removed = 0;
        for uid in &plan.to_remove {
            if self.members.remove((org, gid, uid.as_str()))?.is_some() {
                self.member_of.remove((org, uid.as_str(), gid))?;
                removed += 1;
            }
        }
        for (uid, display) in &plan.to_add {
            self.members
                .insert((org, gid, uid.as_str()), display.as_str())?;
            self.member_of.insert((org, uid.as_str(), gid), ())?;
        }
        let added = plan.to_add.len();
        if added + removed > 0 {
            self.bump(org, &member_counter(gid), added as i64 - removed as i64)?;
        }
        Ok((added, removed))
    }

    /// Removes user `uid` from every team; returns how many.
    pub(super) fn leave_all(&mut self, org: &str, uid: &str) -> Result<usize> {
        let gids = self.groups_of(org, uid)?;
        for gid in &gids {
            self.members.remove((org, gid.as_str(), uid))?;
            self.member_of.remove((org, uid, gid.as_str()))?;
            self.bump(org, &member_counter(gid), -1)?;
        }
        Ok(gids.len())
    }

    fn groups_of(&mut self, org: &str, uid: &str) -> Result<Vec<String>> {
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

    /// Keeps the denormalized member display name in step with the user.
    pub(super) fn redisplay_member(&mut self, org: &str, uid: &str, display: &str) -> Result<()> {
        for gid in self.groups_of(org, uid)? {
            self.members.insert((org, gid.as_str(), uid), display)?;
        }
        Ok(())
    }
}
