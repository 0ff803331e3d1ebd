//! The row-level writes of one redb write transaction: records, counters, index rows and
//! membership rows, as [`Rows`] for the SCIM rules in `store/tx.rs`.

use redb::ReadableTable;
use scimd_core::ResourceType;

use super::schema::*;
use crate::store::error::Result;
use crate::store::events::{NewEvent, StoredEvent};
use crate::store::model::{decode, encode, table_name, Record};
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

/// The tables of one write transaction.
pub(super) struct Writer<'t> {
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
        org: &str,
        rt: ResourceType,
        id: &str,
        rec: &Record,
        old: &IndexKeys,
        new: &IndexKeys,
    ) -> Result<()> {
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
        let key = match rt {
            ResourceType::User => "userName",
            ResourceType::Group => "displayName",
        };
        Ok(self.record(org, rt, id)?.map(|r| {
            r.attrs
                .get(key)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_string()
        }))
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
}
