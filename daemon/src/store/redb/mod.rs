//! The embedded backend: one redb file in the data dir. Every write to the live file goes
//! through the group-commit thread with `Durability::Immediate`: SCIM writes as jobs over
//! [`Rows`](crate::store::rows::Rows), and the activity log, webhook state, feed pruning and
//! `store copy`'s imports as jobs of the file's own kind ([`Own`]), so one thread writes the
//! file and a prune never queues a SCIM batch behind a write lock. The file is reopened after
//! a fault (see `open.rs`).

mod activity;
mod backup;
mod error;
mod events;
mod hooks;
mod open;
mod rows;
mod schema;
mod space;
mod view;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

use redb::{Database, WriteTransaction};
use scimd_core::wire::ActivityRecord;
use time::OffsetDateTime;

use crate::store::activity::Retention;
use crate::store::commit::{self, Job, Step};
use crate::store::engine::{Capabilities, Engine, Health};
use crate::store::error::{Result, StoreError};
use crate::store::events::{EventRetention, StoredEvent, PRUNE_CHUNK};
use crate::store::hooks::{HookState, Lease};
use crate::store::rows::View;
use open::Shared;
use rows::Writer;
use view::Reader;

/// The redb backend.
pub(crate) struct Redb {
    shared: Arc<Shared>,
}

pub(crate) use backup::compact;
#[cfg(test)]
pub(crate) use schema::SCHEMA_VERSION;

impl Redb {
    /// Opens (or creates, mode 0600) the store file.
    pub(crate) fn open(path: &Path) -> Result<Redb> {
        Ok(Redb {
            shared: Arc::new(Shared::open(path)?),
        })
    }

    fn db(&self) -> Result<Arc<Database>> {
        Ok(self.shared.backend()?.db.clone())
    }

    /// Runs `f` as a job of the writer, in the transaction of its next batch, and returns
    /// once that batch is durable; refused at once while writes are paused for want of space.
    /// `f` does its reads before its first write, like every job: an error it returns is the
    /// job declining (the batch goes on without it), except a storage fault, which fails the
    /// batch.
    fn write<T: Send + 'static>(
        &self,
        f: impl Fn(&WriteTransaction) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.shared.write_gate()?;
        let (reply_tx, reply) = commit::reply();
        let job: Own = Box::new(move |txn| {
            let result = catch_unwind(AssertUnwindSafe(|| {
                f(txn).map_err(|e| match e {
                    e @ StoreError::Corrupt { .. } => StoreError::Refused(e.to_string()),
                    other => other,
                })
            }));
            commit::step(result, &reply_tx)
        });
        self.shared.backend()?.committer.enqueue_own(job)?;
        reply.wait()
    }
}

/// A job of the file's own kind (activity log, webhook state, feed pruning, imports): it runs
/// on the writer thread in the batch's transaction, like a SCIM job.
pub(super) type Own = Box<dyn Fn(&WriteTransaction) -> Step + Send>;

/// Batches for the group-commit writer: one redb write transaction each.
struct Batches {
    db: Arc<Database>,
    /// Told of each durable commit, which ends a pause of writes for want of space.
    space: Arc<space::Space>,
}

struct Batch<'a> {
    txn: WriteTransaction,
    space: &'a space::Space,
}

impl commit::Batches for Batches {
    type Own = Own;

    fn begin(&mut self) -> Result<Box<dyn commit::Batch<Own> + '_>> {
        let txn = self.db.begin_write()?;
        Ok(Box::new(Batch {
            txn,
            space: &self.space,
        }))
    }
}

impl commit::Batch<Own> for Batch<'_> {
    fn run(&mut self, job: &Job) -> Step {
        // redb has no cheap per-job undo: a job's checks all run before its first write, and
        // a panic makes the writer rerun the batch without the job.
        match Writer::open(&self.txn) {
            Ok(mut w) => job(&mut w),
            Err(e) => Step::Fatal(e.to_string()),
        }
    }

    fn run_own(&mut self, job: &Own) -> Step {
        job(&self.txn)
    }

    fn commit(self: Box<Self>) -> Result<()> {
        self.txn.commit()?;
        self.space.resume();
        Ok(())
    }

    fn abort(self: Box<Self>) {
        let _ = self.txn.abort();
    }
}

impl Engine for Redb {
    fn health(&self) -> Health {
        self.shared.health()
    }

    fn close(&self) {
        self.shared.close();
    }

    fn observe(&self, err: &StoreError) {
        self.shared.observe(err);
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            cheap_point_reads: true,
            shared: false,
        }
    }

    fn read(&self, f: &mut dyn FnMut(&dyn View) -> Result<()>) -> Result<()> {
        let b = self.shared.backend()?;
        let txn = b.db.begin_read()?;
        f(&Reader::new(&txn))
    }

    fn enqueue(&self, job: Job) -> Result<()> {
        self.shared.write_gate()?;
        self.shared.backend()?.committer.enqueue(job)
    }

    fn append_activity(
        &self,
        records: &mut [ActivityRecord],
        retention: &Retention,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let (list, retention) = (records.to_vec(), *retention);
        let (numbered, pruned) = self.write(move |txn| {
            let mut list = list.clone();
            let pruned = activity::append(txn, &mut list, &retention, now)?;
            Ok((list, pruned))
        })?;
        records.clone_from_slice(&numbered);
        Ok(pruned)
    }

    fn backup(&self, out: &Path) -> Result<u64> {
        backup::backup(&*self.db()?, out)
    }

    fn size_bytes(&self) -> Option<u64> {
        std::fs::metadata(self.shared.path()).ok().map(|m| m.len())
    }

    fn prune_events(&self, org: &str, keep: &EventRetention, now: OffsetDateTime) -> Result<u64> {
        if !events::due(&*self.db()?, org, keep, now)? {
            return Ok(0);
        }
        let (org, keep) = (org.to_string(), *keep);
        let mut total = 0;
        loop {
            let (o, k) = (org.clone(), keep);
            let removed = self.write(move |txn| events::prune_chunk(txn, &o, &k, now))?;
            total += removed;
            // Each chunk is its own job, so SCIM writes interleave with a long prune.
            if removed < PRUNE_CHUNK as u64 {
                return Ok(total);
            }
        }
    }

    fn hook_claim(&self, org: &str, endpoint: &str, _lease: &Lease) -> Result<Option<HookState>> {
        if let Some(state) = hooks::existing(&*self.db()?, org, endpoint)? {
            return Ok(Some(state));
        }
        let (org, endpoint) = (org.to_string(), endpoint.to_string());
        self.write(move |txn| hooks::create(txn, &org, &endpoint))
            .map(Some)
    }

    fn hook_save(
        &self,
        org: &str,
        endpoint: &str,
        _lease: &Lease,
        state: &HookState,
        _durable: bool,
    ) -> Result<bool> {
        // Every save is durable: it rides the writer's next group commit.
        let (org, endpoint, state) = (org.to_string(), endpoint.to_string(), state.clone());
        self.write(move |txn| hooks::put(txn, &org, &endpoint, &state))?;
        Ok(true)
    }

    fn hook_release(&self, _org: &str, _endpoint: &str, _lease: &Lease) -> Result<()> {
        // Saves are durable when they return; one process holds the file, so there is no
        // lease to give up.
        Ok(())
    }

    fn import_events(
        &self,
        org: &str,
        list: &[(u64, StoredEvent)],
        pruned: u64,
        last: u64,
    ) -> Result<()> {
        let (org, list) = (org.to_string(), list.to_vec());
        self.write(move |txn| events::import(txn, &org, &list, pruned, last))
    }

    fn hook_import(&self, org: &str, endpoint: &str, state: &HookState) -> Result<()> {
        let (org, endpoint, state) = (org.to_string(), endpoint.to_string(), state.clone());
        self.write(move |txn| hooks::put(txn, &org, &endpoint, &state))
    }
}
