//! The embedded backend: one redb file in the data dir. Every write to the live file goes
//! through the group-commit thread with `Durability::Immediate`, as jobs over
//! [`Rows`](crate::store::rows::Rows): SCIM writes, and the activity log, webhook state, feed
//! pruning and `store copy`'s imports, so one thread writes the file and a prune never queues
//! a SCIM batch behind a write lock. The file is reopened after a fault (see `open.rs`).

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

use crate::store::commit::{self, Job, Step};
use crate::store::engine::{Capabilities, Engine, Health};
use crate::store::error::{Result, StoreError};
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

    fn backup(&self, out: &Path) -> Result<u64> {
        backup::backup(&*self.db()?, out)
    }

    fn size_bytes(&self) -> Option<u64> {
        std::fs::metadata(self.shared.path()).ok().map(|m| m.len())
    }
}
