//! The embedded backend: one redb file in the data dir. SCIM writes go through the group-commit
//! thread with `Durability::Immediate`; the activity log, webhook state, feed pruning and
//! `store copy` open write transactions of their own, which redb runs one at a time. The file
//! is reopened after a fault (see `open.rs`).

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

use std::path::Path;
use std::sync::Arc;

use redb::{Database, WriteTransaction};
use scimd_core::wire::ActivityRecord;
use time::OffsetDateTime;

use crate::store::activity::Retention;
use crate::store::commit::{self, Job, Step};
use crate::store::engine::{Engine, Health};
use crate::store::error::{Result, StoreError};
use crate::store::events::{EventPage, EventRetention, StoredEvent};
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

    /// The database for a write outside the group-commit writer, refused at once while
    /// writes are paused for want of space.
    fn db_to_write(&self) -> Result<Arc<Database>> {
        self.shared.write_gate()?;
        self.db()
    }
}

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
    fn begin(&mut self) -> Result<Box<dyn commit::Batch + '_>> {
        let txn = self.db.begin_write()?;
        Ok(Box::new(Batch {
            txn,
            space: &self.space,
        }))
    }
}

impl commit::Batch for Batch<'_> {
    fn run(&mut self, job: &Job) -> Step {
        // redb has no cheap per-job undo: a job's checks all run before its first write, and
        // a panic makes the writer rerun the batch without the job.
        match Writer::open(&self.txn) {
            Ok(mut w) => job(&mut w),
            Err(e) => Step::Fatal(e.to_string()),
        }
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

    fn inline_reads(&self) -> bool {
        true
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

    fn last_activity_seq(&self) -> Result<u64> {
        activity::last_seq(&*self.db()?)
    }

    fn append_activity(
        &self,
        records: &mut [ActivityRecord],
        retention: &Retention,
        now: OffsetDateTime,
    ) -> Result<u64> {
        activity::append(&*self.db_to_write()?, records, retention, now)
    }

    fn recent_activity(&self, limit: usize) -> Result<Vec<ActivityRecord>> {
        activity::recent(&*self.db()?, limit)
    }

    fn activity_after(&self, seq: u64, limit: usize) -> Result<Vec<ActivityRecord>> {
        activity::after(&*self.db()?, seq, limit)
    }

    fn activity_len(&self) -> Result<u64> {
        activity::len(&*self.db()?)
    }

    fn shared(&self) -> bool {
        false
    }

    fn backup(&self, out: &Path) -> Result<u64> {
        backup::backup(&*self.db()?, out)
    }

    fn size_bytes(&self) -> Option<u64> {
        std::fs::metadata(self.shared.path()).ok().map(|m| m.len())
    }

    fn events_after(&self, org: &str, after: Option<u64>, limit: usize) -> Result<EventPage> {
        events::after(&*self.db()?, org, after, limit)
    }

    fn prune_events(&self, org: &str, keep: &EventRetention, now: OffsetDateTime) -> Result<u64> {
        events::prune(&*self.db_to_write()?, org, keep, now)
    }

    fn hook_claim(&self, org: &str, endpoint: &str, _lease: &Lease) -> Result<Option<HookState>> {
        hooks::claim(&*self.db_to_write()?, org, endpoint).map(Some)
    }

    fn hook_save(
        &self,
        org: &str,
        endpoint: &str,
        _lease: &Lease,
        state: &HookState,
        durable: bool,
    ) -> Result<bool> {
        let db = self.db_to_write()?;
        hooks::save(&db, org, endpoint, state)?;
        if durable {
            hooks::flush(&db)?;
        }
        Ok(true)
    }

    fn hook_release(&self, _org: &str, _endpoint: &str, _lease: &Lease) -> Result<()> {
        hooks::flush(&*self.db_to_write()?)
    }

    fn hook_states(&self, org: &str) -> Result<Vec<(String, HookState)>> {
        hooks::states(&*self.db()?, org)
    }

    fn raw_events(&self, org: &str, after: u64, limit: usize) -> Result<Vec<(u64, StoredEvent)>> {
        events::raw(&*self.db()?, org, after, limit)
    }

    fn import_events(
        &self,
        org: &str,
        list: &[(u64, StoredEvent)],
        pruned: u64,
        last: u64,
    ) -> Result<()> {
        events::import(&*self.db_to_write()?, org, list, pruned, last)
    }

    fn hook_import(&self, org: &str, endpoint: &str, state: &HookState) -> Result<()> {
        hooks::import(&*self.db_to_write()?, org, endpoint, state)
    }
}
