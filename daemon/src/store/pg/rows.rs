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

use std::collections::BTreeMap;

use scimd_core::wire::ActivityRecord;
use scimd_core::ResourceType;
use time::OffsetDateTime;
use tokio::runtime::Handle;

use super::conn::{Conn, Params};
use super::error::{db, is_unique_violation, pool};
use super::tables::{record_of, Tables};
use crate::store::commit::{self, Job, Step};
use crate::store::error::Result;
use crate::store::events::{NewEvent, StoredEvent};
use crate::store::hooks::{HookState, Lease};
use crate::store::model::{Record, Target};
use crate::store::purge::PurgeStep;
use crate::store::rows::{IndexKeys, Rows};
use crate::store::tx::conflict;

/// A pending change to one counter.
#[derive(Debug, Clone, Copy)]
enum Count {
    /// Add this much.
    Add(i64),
    /// Delete the counter, then set it to this (0: leave it deleted).
    Reset(i64),
}

type Counts = BTreeMap<(String, String), Count>;

/// Events waiting for their numbers, by org.
type Pending = BTreeMap<String, Vec<NewEvent>>;

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
}

impl PgRows<'_> {
    /// Runs a write that may hit a unique index; a violation is the SCIM conflict.
    fn unique_write(
        &self,
        rt: ResourceType,
        rec: &Record,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<()> {
        match self.conn.raw(sql, params) {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(conflict(rt, &rec.attrs).into()),
            Err(e) => Err(db(e)),
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
        let sql = format!(
            "SELECT attrs::text, created, modified, version FROM {} WHERE org = $1 AND id = $2 FOR UPDATE",
            t.records
        );
        match self.conn.query(&sql, &[&org, &id])?.first() {
            Some(row) => Ok(Some(record_of(t.records, id, row, 0)?)),
            None => Ok(None),
        }
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

    fn insert(
        &mut self,
        org: &str,
        rt: ResourceType,
        id: &str,
        rec: &Record,
        keys: &IndexKeys,
    ) -> Result<()> {
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
        )?;
        self.emails(org, id, &keys.emails, true)
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
        let sql = format!(
            "DELETE FROM {} WHERE org = $1 AND id = $2",
            Tables::of(rt).records
        );
        self.conn.execute(&sql, &[&org, &id])?;
        self.emails(org, id, &keys.emails, false)
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
        self.conn.execute(
            "INSERT INTO scimd_members (org, gid, uid, display) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (org, gid, uid) DO UPDATE SET display = EXCLUDED.display",
            &[&org, &gid, &uid, &display],
        )?;
        Ok(())
    }

    fn remove_member(&mut self, org: &str, gid: &str, uid: &str) -> Result<bool> {
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
        super::purge::chunk(&self.conn, org, activity_after, limit)
    }
}

/// Batches for the group-commit writer: one transaction each on a pooled connection.
pub(super) struct Batches {
    pub(super) pool: deadpool_postgres::Pool,
    pub(super) rt: Handle,
}

struct Batch<'a> {
    client: deadpool_postgres::Client,
    rt: &'a Handle,
    counts: Counts,
    events: Pending,
    activity: Vec<ActivityRecord>,
    prune: Option<(u64, OffsetDateTime)>,
    /// Whether a statement failed outside a savepoint: the connection is not reused.
    broken: bool,
}

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
            broken: false,
        };
        batch.conn().batch("BEGIN")?;
        Ok(Box::new(batch))
    }
}

impl Batch<'_> {
    fn conn(&self) -> Conn<'_> {
        Conn {
            client: &self.client,
            rt: self.rt,
        }
    }

    /// Writes the batch's counter changes, in key order.
    fn flush_counts(&self) -> Result<()> {
        let conn = self.conn();
        for ((org, name), count) in &self.counts {
            let (reset, n) = match *count {
                Count::Add(0) => continue,
                Count::Add(n) => (false, n),
                Count::Reset(n) => (true, n),
            };
            if reset {
                conn.execute(
                    "DELETE FROM scimd_counts WHERE org = $1 AND name = $2",
                    &[org, name],
                )?;
                if n == 0 {
                    continue;
                }
            }
            conn.execute(
                "INSERT INTO scimd_counts (org, name, n) VALUES ($1, $2, GREATEST($3::bigint, 0)) \
                 ON CONFLICT (org, name) DO UPDATE SET n = GREATEST(scimd_counts.n + $3::bigint, 0)",
                &[org, name, &n],
            )?;
        }
        Ok(())
    }
}

impl commit::Batch for Batch<'_> {
    fn run(&mut self, job: &Job) -> Step {
        if let Err(e) = self.conn().batch("SAVEPOINT job") {
            self.broken = true;
            return Step::Fatal(e.to_string());
        }
        let mut rows = PgRows {
            conn: self.conn(),
            counts: Counts::new(),
            events: Pending::new(),
            activity: Vec::new(),
            prune: None,
        };
        let step = job(&mut rows);
        let (counts, events, mut activity) = (rows.counts, rows.events, rows.activity);
        let prune = rows.prune;
        match step {
            Step::Wrote(done) => match self.conn().batch("RELEASE SAVEPOINT job") {
                Ok(()) => {
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
                Err(e) => {
                    self.broken = true;
                    Step::Fatal(e.to_string())
                }
            },
            // The job answered already; its writes (half done, for a panic) are undone alone.
            Step::Refused | Step::Panicked => {
                match self
                    .conn()
                    .batch("ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job")
                {
                    Ok(()) => Step::Refused,
                    Err(e) => {
                        self.broken = true;
                        Step::Fatal(e.to_string())
                    }
                }
            }
            Step::Fatal(msg) => Step::Fatal(msg),
        }
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        let mut activity = std::mem::take(&mut self.activity);
        let result = self
            .flush_counts()
            .and_then(|()| super::events::flush(&self.conn(), &self.events))
            .and_then(|()| {
                super::activity::insert(&self.conn(), &mut activity, OffsetDateTime::now_utc())
            })
            .and_then(|()| match self.prune {
                Some((max, cutoff)) => super::activity::prune(&self.conn(), max, cutoff),
                None => Ok(()),
            })
            .and_then(|()| self.conn().batch("COMMIT"));
        if result.is_err() {
            let _ = self.conn().batch("ROLLBACK");
        }
        result
    }

    fn abort(self: Box<Self>) {
        if self.conn().batch("ROLLBACK").is_err() || self.broken {
            // A connection in an unknown state must not go back to the pool.
            let _ = deadpool_postgres::Object::take(self.client);
        }
    }
}
