//! The writes of one job in a PostgreSQL write batch, as [`Rows`] for the SCIM rules in
//! `store/tx.rs`; the batch itself (savepoints, commit) is `batch.rs`.
//!
//! Records read for a write are locked (`FOR UPDATE`), so a version check and the write it
//! guards are atomic against every other daemon; a name another daemon took meanwhile is
//! caught by the unique index and answered as the SCIM conflict, inside a savepoint of the
//! write's own. Counter changes, events and activity records are kept per job ([`Left`]) and
//! written as the batch commits (`flush.rs`). A lone user's create is queued to go out ahead of
//! the next statement (`ahead.rs`).

use std::collections::{BTreeSet, HashMap, HashSet};

use scimd_core::wire::ActivityRecord;
use scimd_core::{ResourceType, ScimError};
use time::OffsetDateTime;
use tokio_postgres::types::ToSql;

use super::ahead::{Answer, Owned, CREATE_USER};
use super::conn::{Conn, Params};
use super::error::{answered, db, is_unique_violation};
use super::flush::{Count, Counts, Pending};
use super::tables::{record_of, Tables};
use crate::store::error::Result;
use crate::store::events::{NewEvent, StoredEvent};
use crate::store::hooks::{HookState, Lease};
use crate::store::model::{Record, Target};
use crate::store::purge::PurgeStep;
use crate::store::rows::{IndexKeys, Rows};
use crate::store::tx::conflict;

fn bump_into(counts: &mut Counts, org: &str, name: &str, delta: i64) {
    let slot = counts
        .entry((org.to_string(), name.to_string()))
        .or_insert(Count::Add(0));
    *slot = match *slot {
        Count::Add(n) => Count::Add(n + delta),
        Count::Reset(n) => Count::Reset(n + delta),
    };
}

/// What a job leaves for its batch's commit.
#[derive(Default)]
pub(super) struct Left {
    pub(super) counts: Counts,
    pub(super) events: Pending,
    pub(super) activity: Vec<ActivityRecord>,
    /// The activity retention to apply as the batch commits.
    pub(super) prune: Option<(u64, OffsetDateTime)>,
}

impl Left {
    /// Adds what a later job left: its counter changes on top of these, its events and
    /// records after these.
    pub(super) fn absorb(&mut self, later: Left) {
        for ((org, name), count) in later.counts {
            match count {
                Count::Add(n) => bump_into(&mut self.counts, &org, &name, n),
                Count::Reset(n) => {
                    self.counts.insert((org, name), Count::Reset(n));
                }
            }
        }
        for (org, mut list) in later.events {
            self.events.entry(org).or_default().append(&mut list);
        }
        self.activity.extend(later.activity);
        self.prune = later.prune.or(self.prune);
    }
}

/// The rows of one job, inside its savepoint.
pub(super) struct PgRows<'a> {
    conn: Conn<'a>,
    left: Left,
    /// Whether the job is one user's create with nothing written after the record
    /// ([`Rows::lone_create`]): its create may go out ahead of later work.
    lone: bool,
    /// The create sent ahead, and the 409 it would make.
    deferred: Option<(Answer, ScimError)>,
    /// A user's teams, read with the user's record (org, user id, team ids): what the
    /// `teams_of` of a delete or a rename asks next, without a round trip of its own.
    /// Dropped at any membership write.
    teams: Option<(String, String, Vec<String>)>,
}

impl<'a> PgRows<'a> {
    pub(super) fn new(conn: Conn<'a>) -> PgRows<'a> {
        PgRows {
            conn,
            left: Left::default(),
            lone: false,
            deferred: None,
            teams: None,
        }
    }

    /// What the job left for the commit, and its create sent ahead, if any.
    pub(super) fn into_left(self) -> (Left, Option<(Answer, ScimError)>) {
        (self.left, self.deferred)
    }

    /// Creates a user through `scimd_create_user` (migration 5), the one way a user is
    /// written: a lone create is queued to go out ahead of later work, its answer read as the
    /// batch ends; any other is sent now and its answer read at once.
    fn create_user(&mut self, org: &str, id: &str, rec: &Record, keys: &IndexKeys) -> Result<()> {
        let params: Vec<Owned> = vec![
            Box::new(org.to_string()),
            Box::new(id.to_string()),
            Box::new(keys.name.clone()),
            Box::new(keys.ext.clone()),
            Box::new(attrs_text(rec)),
            Box::new(rec.created.clone()),
            Box::new(rec.modified.clone()),
            Box::new(rec.version as i64),
            Box::new(keys.emails.clone()),
        ];
        let conflict = || conflict(ResourceType::User, &rec.attrs);
        let params = match self.conn.ahead.filter(|_| self.lone) {
            Some(ahead) => match ahead.defer(params) {
                Ok(answer) => {
                    self.deferred = Some((answer, conflict()));
                    return Ok(());
                }
                Err(params) => params,
            },
            None => params,
        };
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as _).collect();
        let row = self.conn.query(CREATE_USER, &refs)?;
        let why: Option<String> = match row.first() {
            Some(row) => row.try_get(0).map_err(db)?,
            None => None,
        };
        match why {
            None => Ok(()),
            Some(why) => Err(answered(&why, conflict)),
        }
    }
}

impl PgRows<'_> {
    /// Runs a write that may hit a unique index; a violation is the SCIM conflict. The write
    /// runs inside a savepoint of its own, sent ahead with it and released (or rolled back to)
    /// ahead of the next statement, so a refused write leaves the job's transaction usable: a
    /// Bulk request goes on with its next operation.
    fn unique_write(
        &self,
        rt: ResourceType,
        rec: &Record,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<()> {
        let ahead = |sql: &str| {
            if let Some(a) = self.conn.ahead {
                a.push(sql);
            }
        };
        ahead("SAVEPOINT w");
        match self.conn.raw(sql, params) {
            Ok(_) => {
                ahead("RELEASE SAVEPOINT w");
                Ok(())
            }
            Err(e) => {
                ahead("ROLLBACK TO SAVEPOINT w; RELEASE SAVEPOINT w");
                match is_unique_violation(&e) {
                    true => Err(conflict(rt, &rec.attrs).into()),
                    false => Err(db(e)),
                }
            }
        }
    }

    fn emails(&self, org: &str, id: &str, emails: &[String], insert: bool) -> Result<()> {
        if emails.is_empty() {
            return Ok(());
        }
        let sql = if insert {
            "INSERT INTO scimd_user_emails (org, email, id) SELECT $1, e, $3 FROM unnest($2::text[]) AS e \
             ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM scimd_user_emails WHERE org = $1 AND email = ANY($2::text[]) AND id = $3"
        };
        self.conn.execute(sql, &[&org, &emails, &id])?;
        Ok(())
    }
}

fn attrs_text(rec: &Record) -> String {
    // Serializing a Map of JSON values cannot fail.
    serde_json::to_string(&rec.attrs).unwrap_or_default()
}

impl Rows for PgRows<'_> {
    fn record(&mut self, org: &str, rt: ResourceType, id: &str) -> Result<Option<Record>> {
        let t = Tables::of(rt);
        let sql = match rt {
            ResourceType::User => format!(
                "SELECT attrs::text, created, modified, version, ARRAY(SELECT m.gid \
                 FROM scimd_members m WHERE m.org = $1 AND m.uid = $2 ORDER BY m.gid) \
                 FROM {} WHERE org = $1 AND id = $2 FOR UPDATE",
                t.records
            ),
            ResourceType::Group => format!(
                "SELECT attrs::text, created, modified, version FROM {} \
                 WHERE org = $1 AND id = $2 FOR UPDATE",
                t.records
            ),
        };
        let Some(row) = self.conn.query(&sql, &[&org, &id])?.into_iter().next() else {
            return Ok(None);
        };
        if rt == ResourceType::User {
            let teams: Vec<String> = row.try_get(4).map_err(db)?;
            self.teams = Some((org.to_string(), id.to_string(), teams));
        }
        Ok(Some(record_of(t.records, id, &row, 0)?))
    }

    fn owner(&mut self, org: &str, rt: ResourceType, name_key: &str) -> Result<Option<String>> {
        let sql = format!(
            "SELECT id FROM {} WHERE org = $1 AND name_key = $2",
            Tables::of(rt).records
        );
        Ok(self
            .conn
            .query(&sql, &[&org, &name_key])?
            .first()
            .map(|r| r.get(0)))
    }

    fn lone_create(&mut self) {
        self.lone = true;
    }

    fn unique_at_write(&self) -> bool {
        // The unique indexes refuse it (`unique_write`, `scimd_create_user`), and the job's
        // savepoint undoes it.
        true
    }

    fn insert(
        &mut self,
        org: &str,
        rt: ResourceType,
        id: &str,
        rec: &Record,
        keys: &IndexKeys,
    ) -> Result<()> {
        if rt == ResourceType::User {
            return self.create_user(org, id, rec, keys);
        }
        let sql = format!(
            "INSERT INTO {} (org, id, name_key, external_id, attrs, created, modified, version) \
             VALUES ($1, $2, $3, $4, $5::text::json, $6, $7, $8)",
            Tables::of(rt).records
        );
        let attrs = attrs_text(rec);
        let version = rec.version as i64;
        self.unique_write(
            rt,
            rec,
            &sql,
            &[
                &org,
                &id,
                &keys.name,
                &keys.ext,
                &attrs,
                &rec.created,
                &rec.modified,
                &version,
            ],
        )
    }

    fn update(
        &mut self,
        t: Target<'_>,
        rec: &Record,
        old: &IndexKeys,
        new: &IndexKeys,
    ) -> Result<()> {
        let Target { org, rt, id } = t;
        let sql = format!(
            "UPDATE {} SET name_key = $3, external_id = $4, attrs = $5::text::json, \
             modified = $6, version = $7 WHERE org = $1 AND id = $2",
            Tables::of(rt).records
        );
        let attrs = attrs_text(rec);
        let version = rec.version as i64;
        self.unique_write(
            rt,
            rec,
            &sql,
            &[
                &org,
                &id,
                &new.name,
                &new.ext,
                &attrs,
                &rec.modified,
                &version,
            ],
        )?;
        if old.emails != new.emails {
            self.emails(org, id, &old.minus(new).emails, false)?;
            self.emails(org, id, &new.minus(old).emails, true)?;
        }
        Ok(())
    }

    fn remove(&mut self, org: &str, rt: ResourceType, id: &str, keys: &IndexKeys) -> Result<()> {
        let t = Tables::of(rt).records;
        self.teams = None;
        if keys.emails.is_empty() {
            let sql = format!("DELETE FROM {t} WHERE org = $1 AND id = $2");
            self.conn.execute(&sql, &[&org, &id])?;
            return Ok(());
        }
        // The user's emails go with the user, in the same statement: one round trip.
        let sql = format!(
            "WITH r AS (DELETE FROM {t} WHERE org = $1 AND id = $2) \
             DELETE FROM scimd_user_emails WHERE org = $1 AND email = ANY($3::text[]) AND id = $2"
        );
        self.conn.execute(&sql, &[&org, &id, &keys.emails])?;
        Ok(())
    }

    fn bump(&mut self, org: &str, counter: &str, delta: i64) -> Result<()> {
        bump_into(&mut self.left.counts, org, counter, delta);
        Ok(())
    }

    fn drop_counter(&mut self, org: &str, counter: &str) -> Result<()> {
        self.left
            .counts
            .insert((org.to_string(), counter.to_string()), Count::Reset(0));
        Ok(())
    }

    fn is_member(&mut self, org: &str, gid: &str, uid: &str) -> Result<bool> {
        Ok(!self
            .conn
            .query(
                "SELECT 1 FROM scimd_members WHERE org = $1 AND gid = $2 AND uid = $3",
                &[&org, &gid, &uid],
            )?
            .is_empty())
    }

    fn member_ids(&mut self, org: &str, gid: &str) -> Result<Vec<String>> {
        Ok(self
            .conn
            .query(
                "SELECT uid FROM scimd_members WHERE org = $1 AND gid = $2 ORDER BY uid",
                &[&org, &gid],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn teams_of(&mut self, org: &str, uid: &str) -> Result<Vec<String>> {
        if let Some((o, u, teams)) = &self.teams {
            if o == org && u == uid {
                return Ok(teams.clone());
            }
        }
        Ok(self
            .conn
            .query(
                "SELECT gid FROM scimd_members WHERE org = $1 AND uid = $2 ORDER BY gid",
                &[&org, &uid],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn put_member(&mut self, org: &str, gid: &str, uid: &str, display: &str) -> Result<()> {
        // One statement writes a membership with its team's name, however many.
        self.put_members(org, gid, &[(uid, display)])
    }

    fn remove_member(&mut self, org: &str, gid: &str, uid: &str) -> Result<bool> {
        self.teams = None;
        Ok(self.conn.execute(
            "DELETE FROM scimd_members WHERE org = $1 AND gid = $2 AND uid = $3",
            &[&org, &gid, &uid],
        )? > 0)
    }

    fn name_of(&mut self, org: &str, rt: ResourceType, id: &str) -> Result<Option<String>> {
        let key = rt.name_attr();
        let sql = format!(
            "SELECT coalesce(attrs->>$3, '') FROM {} WHERE org = $1 AND id = $2",
            Tables::of(rt).records
        );
        Ok(self
            .conn
            .query(&sql, &[&org, &id, &key])?
            .first()
            .map(|r| r.get(0)))
    }

    fn members_among(&mut self, org: &str, gid: &str, uids: &[&str]) -> Result<BTreeSet<String>> {
        if uids.is_empty() {
            return Ok(BTreeSet::new());
        }
        Ok(self
            .conn
            .query(
                "SELECT uid FROM scimd_members WHERE org = $1 AND gid = $2 AND uid = ANY($3)",
                &[&org, &gid, &uids],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn users(&mut self, org: &str, ids: &[&str]) -> Result<Vec<Option<Record>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // Locked in id order, the one order every daemon locks in.
        let rows = self.conn.query(
            "SELECT id, attrs::text, created, modified, version FROM scimd_users \
             WHERE org = $1 AND id = ANY($2) ORDER BY id FOR UPDATE",
            &[&org, &ids],
        )?;
        let mut found = HashMap::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get(0).map_err(db)?;
            let rec = record_of("scimd_users", &id, row, 1)?;
            found.insert(id, rec);
        }
        Ok(ids.iter().map(|id| found.remove(*id)).collect())
    }

    fn put_members(&mut self, org: &str, gid: &str, joining: &[(&str, &str)]) -> Result<()> {
        if joining.is_empty() {
            return Ok(());
        }
        self.teams = None;
        let (uids, displays): (Vec<&str>, Vec<&str>) = joining.iter().copied().unzip();
        self.conn.execute(
            "INSERT INTO scimd_members (org, gid, uid, display, team) \
             SELECT $1, $2, u, d, (SELECT scimd_team_name(attrs) FROM scimd_groups \
             WHERE org = $1 AND id = $2) FROM unnest($3::text[], $4::text[]) AS t(u, d) \
             ON CONFLICT (org, gid, uid) DO UPDATE SET display = EXCLUDED.display",
            &[&org, &gid, &uids, &displays],
        )?;
        Ok(())
    }

    fn remove_members(&mut self, org: &str, gid: &str, uids: &[&str]) -> Result<Vec<String>> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        self.teams = None;
        let gone: HashSet<String> = self
            .conn
            .query(
                "DELETE FROM scimd_members WHERE org = $1 AND gid = $2 AND uid = ANY($3) \
                 RETURNING uid",
                &[&org, &gid, &uids],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        Ok(uids
            .iter()
            .filter(|u| gone.contains(**u))
            .map(|u| (*u).to_string())
            .collect())
    }

    fn names_of(
        &mut self,
        org: &str,
        rt: ResourceType,
        ids: &[&str],
    ) -> Result<Vec<Option<String>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, coalesce(attrs->>$3, '') FROM {} WHERE org = $1 AND id = ANY($2)",
            Tables::of(rt).records
        );
        let key = rt.name_attr();
        let mut names: HashMap<String, String> = self
            .conn
            .query(&sql, &[&org, &ids, &key])?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        Ok(ids.iter().map(|id| names.remove(*id)).collect())
    }

    fn append_event(&mut self, org: &str, event: NewEvent) -> Result<()> {
        self.left
            .events
            .entry(org.to_string())
            .or_default()
            .push(event);
        Ok(())
    }

    fn append_activity(&mut self, rec: &mut ActivityRecord) -> Result<()> {
        // Numbered and inserted with the batch's other records as it commits.
        self.left.activity.push(rec.clone());
        Ok(())
    }

    fn prune_activity(&mut self, max_records: u64, cutoff: OffsetDateTime) -> Result<()> {
        // Done as the batch commits, after its records are in, and like them under the
        // shared counter row only then: taken mid-batch, that row would be held while a later
        // job waits on another daemon, which may wait on it (a deadlock).
        self.left.prune = Some((max_records, cutoff));
        Ok(())
    }

    fn prune_events(&mut self, org: &str, max_records: u64, cutoff: OffsetDateTime) -> Result<u64> {
        super::events::prune_chunk(&self.conn, org, max_records, cutoff)
    }

    fn import_events(
        &mut self,
        org: &str,
        list: &[(u64, StoredEvent)],
        pruned: u64,
        last: u64,
    ) -> Result<()> {
        super::events::import(&self.conn, org, list, pruned, last)
    }

    fn hook_claim(
        &mut self,
        org: &str,
        endpoint: &str,
        lease: &Lease,
    ) -> Result<Option<HookState>> {
        super::hooks::claim(&self.conn, org, endpoint, lease)
    }

    fn hook_put(
        &mut self,
        org: &str,
        endpoint: &str,
        lease: Option<&Lease>,
        state: &HookState,
    ) -> Result<bool> {
        match lease {
            Some(lease) => super::hooks::save(&self.conn, org, endpoint, lease, state),
            None => super::hooks::import(&self.conn, org, endpoint, state).map(|()| true),
        }
    }

    fn hook_release(&mut self, org: &str, endpoint: &str, lease: &Lease) -> Result<()> {
        super::hooks::release(&self.conn, org, endpoint, lease)
    }

    fn purge(&mut self, org: &str, activity_after: u64, limit: usize) -> Result<PurgeStep> {
        self.teams = None;
        super::purge::chunk(&self.conn, org, activity_after, limit)
    }
}
