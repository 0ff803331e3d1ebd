//! The writes of one PostgreSQL transaction, as [`Rows`] for the SCIM rules in
//! `store/tx.rs`, and the batches of group commit: one transaction per batch on one pooled
//! connection, each job inside its own savepoint so a refused, failed or panicked job is
//! undone alone.
//!
//! Records read for a write are locked (`FOR UPDATE`), so a version check and the write it
//! guards are atomic against every other daemon; a name another daemon took meanwhile is
//! caught by the unique index and answered as the SCIM conflict. Counter changes are summed
//! per batch and written at its end in key order, which keeps the hot counter rows locked
//! briefly and in one order across daemons. Events are numbered the same way: kept per batch
//! and written at its end, each org's counter row locked in org order until the commit, so
//! an org's numbers become visible in the order they were given.

use scimd_core::wire::ActivityRecord;
use scimd_core::ResourceType;
use time::OffsetDateTime;
use tokio::runtime::Runtime;

use super::conn::{Ahead, Conn, Driver, Params};
use super::error::{db, is_unique_violation, pool};
use super::flush::{Count, Counts, Ending, Pending};
use super::tables::{record_of, Tables};
use crate::store::commit::{self, Job, Step};
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

/// The rows of one job, inside its savepoint.
struct PgRows<'a> {
    conn: Conn<'a>,
    counts: Counts,
    events: Pending,
    activity: Vec<ActivityRecord>,
    /// The activity retention to apply as the batch commits.
    prune: Option<(u64, OffsetDateTime)>,
    /// A user's teams, read with the user's record (org, user id, team ids): what the
    /// `teams_of` of a delete or a rename asks next, without a round trip of its own.
    /// Dropped at any membership write.
    teams: Option<(String, String, Vec<String>)>,
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

    fn unique_at_write(&self) -> bool {
        // The unique indexes refuse it (`unique_write`), and the job's savepoint undoes it.
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
        // A user's emails go in with the user, in the same statement: one round trip.
        let t = Tables::of(rt).records;
        let sql = match keys.emails.is_empty() {
            true => format!(
                "INSERT INTO {t} (org, id, name_key, external_id, attrs, created, modified, \
                 version) VALUES ($1, $2, $3, $4, $5::text::json, $6, $7, $8)"
            ),
            false => format!(
                "WITH r AS (INSERT INTO {t} (org, id, name_key, external_id, attrs, created, \
                 modified, version) VALUES ($1, $2, $3, $4, $5::text::json, $6, $7, $8) \
                 RETURNING 1) \
                 INSERT INTO scimd_user_emails (org, email, id) \
                 SELECT $1, e, $2 FROM r, unnest($9::text[]) AS e ON CONFLICT DO NOTHING"
            ),
        };
        let attrs = attrs_text(rec);
        let version = rec.version as i64;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 9] = [
            &org,
            &id,
            &keys.name,
            &keys.ext,
            &attrs,
            &rec.created,
            &rec.modified,
            &version,
            &keys.emails,
        ];
        let n = if keys.emails.is_empty() { 8 } else { 9 };
        self.unique_write(rt, rec, &sql, &params[..n])
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
        bump_into(&mut self.counts, org, counter, delta);
        Ok(())
    }

    fn drop_counter(&mut self, org: &str, counter: &str) -> Result<()> {
        self.counts
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
        self.teams = None;
        self.conn.execute(
            "INSERT INTO scimd_members (org, gid, uid, display) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (org, gid, uid) DO UPDATE SET display = EXCLUDED.display",
            &[&org, &gid, &uid, &display],
        )?;
        Ok(())
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

    fn append_event(&mut self, org: &str, event: NewEvent) -> Result<()> {
        self.events.entry(org.to_string()).or_default().push(event);
        Ok(())
    }

    fn append_activity(&mut self, rec: &mut ActivityRecord) -> Result<()> {
        // Numbered and inserted with the batch's other records as it commits.
        self.activity.push(rec.clone());
        Ok(())
    }

    fn prune_activity(&mut self, max_records: u64, cutoff: OffsetDateTime) -> Result<()> {
        // Done as the batch commits, after its records are in, and like them under the
        // shared counter row only then: taken mid-batch, that row would be held while a later
        // job waits on another daemon, which may wait on it (a deadlock).
        self.prune = Some((max_records, cutoff));
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

/// Batches for the group-commit writer: one transaction each on the writer's own connection,
/// which the writer thread drives itself on a current-thread runtime, so a statement's round
/// trip wakes no other thread.
pub(super) struct Batches {
    /// The writer's pool of one connection, made on `rt`.
    pub(super) pool: deadpool_postgres::Pool,
    pub(super) rt: Runtime,
}

struct Batch<'a> {
    client: deadpool_postgres::Client,
    rt: &'a Runtime,
    counts: Counts,
    events: Pending,
    activity: Vec<ActivityRecord>,
    prune: Option<(u64, OffsetDateTime)>,
    /// The savepoint bookkeeping on its way out with the next statement.
    ahead: Ahead,
    /// Whether a statement failed outside a savepoint: the connection is not reused.
    broken: bool,
}

/// Where each job starts; a job that sent nothing leaves none behind.
const SAVEPOINT: &str = "SAVEPOINT job";
/// What ends a job that wrote.
const RELEASE: &str = "RELEASE SAVEPOINT job";
/// What undoes a refused or panicked job alone.
const UNDO: &str = "ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job";

impl commit::Batches for Batches {
    fn begin(&mut self) -> Result<Box<dyn commit::Batch + '_>> {
        let client = self.rt.block_on(self.pool.get()).map_err(pool)?;
        let batch = Batch {
            client,
            rt: &self.rt,
            counts: Counts::new(),
            events: Pending::new(),
            activity: Vec::new(),
            prune: None,
            ahead: Ahead::default(),
            broken: false,
        };
        // Sent with the first statement.
        batch.ahead.push("BEGIN");
        Ok(Box::new(batch))
    }
}

impl Batch<'_> {
    fn conn(&self) -> Conn<'_> {
        Conn {
            client: &self.client,
            rt: Driver::Own(self.rt),
            ahead: Some(&self.ahead),
        }
    }
}

impl commit::Batch for Batch<'_> {
    fn run(&mut self, job: &Job) -> Step {
        // The savepoint, and the end of the job before, go out with this job's first
        // statement: a job costs only its own statements' round trips.
        self.ahead.push(SAVEPOINT);
        let mark = self.ahead.mark();
        let mut rows = PgRows {
            conn: self.conn(),
            counts: Counts::new(),
            events: Pending::new(),
            activity: Vec::new(),
            prune: None,
            teams: None,
        };
        let step = job(&mut rows);
        let (counts, events, mut activity) = (rows.counts, rows.events, rows.activity);
        let prune = rows.prune;
        if self.ahead.failed() {
            // A savepoint this batch relies on may be missing: no job's outcome in it holds.
            self.broken = true;
            let msg = "the write batch's savepoint bookkeeping failed".to_string();
            if let Step::Wrote(done) = step {
                done(commit::Committed::Failed(msg.clone()));
            }
            return Step::Fatal(msg);
        }
        let sent = self.ahead.sent_since(mark);
        let end = |undo: bool| match (sent, undo) {
            (false, _) => self.ahead.unpush(SAVEPOINT),
            (true, false) => self.ahead.push(RELEASE),
            (true, true) => self.ahead.push(UNDO),
        };
        match step {
            Step::Wrote(done) => {
                end(false);
                for ((org, name), count) in counts {
                    match count {
                        Count::Add(n) => bump_into(&mut self.counts, &org, &name, n),
                        Count::Reset(n) => {
                            self.counts.insert((org, name), Count::Reset(n));
                        }
                    }
                }
                for (org, mut list) in events {
                    self.events.entry(org).or_default().append(&mut list);
                }
                self.activity.append(&mut activity);
                self.prune = prune.or(self.prune);
                Step::Wrote(done)
            }
            // The job answered already; its writes (half done, for a panic) are undone alone.
            Step::Refused | Step::Panicked => {
                end(true);
                Step::Refused
            }
            Step::Fatal(msg) => Step::Fatal(msg),
        }
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        let mut activity = std::mem::take(&mut self.activity);
        let result = super::flush::commit(
            &self.conn(),
            Ending {
                counts: &self.counts,
                events: &self.events,
                activity: &mut activity,
                prune: self.prune,
            },
        );
        if result.is_err() {
            self.ahead.clear();
            let _ = self.conn().batch("ROLLBACK");
        }
        result
    }

    fn abort(self: Box<Self>) {
        self.ahead.clear();
        if self.conn().batch("ROLLBACK").is_err() || self.broken {
            // A connection in an unknown state must not go back to the pool.
            let _ = deadpool_postgres::Object::take(self.client);
        }
    }
}
