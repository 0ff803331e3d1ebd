//! The storage interface: what a backend (the embedded redb file, a shared PostgreSQL
//! database) provides to the [`super::Store`] handle. It is primitives only: health, a read
//! snapshot ([`View`]), a queue into the group-commit writer whose jobs write [`Rows`], and
//! what the backend can do ([`Capabilities`]). Everything else (the SCIM rules, the feed,
//! webhook positions, the activity log, `store copy`) is written once above it. No database
//! type crosses it: only the store's own types, `core`'s `ActivityRecord` and `time` values.
//!
//! [`Rows`]: super::rows::Rows

use scimd_core::ResourceType;

use super::commit::Job;
use super::error::{Result, StoreError};
use super::model::{Lookup, PageAsk, PageRead, Resource};
use super::rows::View;

/// Whether the store can serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// A fault happened and the backend is recovering (reopening the file, reconnecting);
    /// requests fail meanwhile.
    Recovering {
        reason: String,
        disk_full: bool,
    },
    /// Recovery failed: the process should exit so a supervisor restarts it.
    Failed(String),
    /// Reads are served, but writes are refused (the disk is full) until one succeeds again.
    Degraded(String),
}

/// What a backend can do, which the layers above adapt to: one value, fixed for the
/// backend's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// A point read costs microseconds and no network (an embedded file), so it may run on an
    /// async thread; otherwise every request belongs on the blocking pool.
    pub cheap_point_reads: bool,
    /// Other processes write to the same store: the activity log is followed for their
    /// records, and a webhook endpoint is leased to one daemon at a time.
    pub shared: bool,
}

/// The answer of a read on the async runtime.
pub(crate) type ReadFuture<T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T>> + Send>>;

/// Reads a networked backend answers on the async runtime, in one statement (consistent by
/// itself), without the blocking pool or a read transaction: the hottest point reads.
pub(crate) trait AsyncReads: Send + Sync {
    /// One user or team by id, with its links (a user's teams, a team's members: id and
    /// display name, by id) when `with_links`.
    fn one(
        &self,
        org: &str,
        rt: ResourceType,
        id: &str,
        with_links: bool,
    ) -> ReadFuture<Option<Resource>>;
    /// The users or teams an index `lookup` finds, in no particular order, with their links
    /// when `with_links`; None when more than `most` do (the caller then streams them through
    /// a read snapshot instead of holding them all).
    fn found(
        &self,
        org: &str,
        rt: ResourceType,
        lookup: &Lookup,
        with_links: bool,
        most: usize,
    ) -> ReadFuture<Option<Vec<Resource>>>;
    /// A page of the org's resources of one type in id order, with the type's count.
    fn page(&self, org: &str, ask: PageAsk) -> ReadFuture<PageRead>;
}

/// A storage backend.
pub(crate) trait Engine: Send + Sync {
    /// Whether the backend can serve, for `/healthz`.
    fn health(&self) -> Health;

    /// Closes the backend now (waiting for the writer's last batch); later calls answer
    /// `Unavailable`.
    fn close(&self);

    /// Takes note of an error an operation returned: a fault may start a recovery.
    fn observe(&self, err: &StoreError);

    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;

    /// The reads this backend answers on the async runtime, if any.
    fn async_reads(&self) -> Option<&dyn AsyncReads> {
        None
    }

    /// Brings what the backend knows of its data's shape up to date after a bulk load
    /// (`store copy`), so its first queries are planned for the data it now holds. Nothing
    /// to do for a backend without a planner.
    fn settle(&self) -> Result<()> {
        Ok(())
    }

    /// Runs `f` over one consistent read snapshot.
    fn read(&self, f: &mut dyn FnMut(&dyn View) -> Result<()>) -> Result<()>;

    /// Queues a job for the group-commit writer (see `commit.rs`).
    fn enqueue(&self, job: Job) -> Result<()>;

    /// Writes a consistent copy of the store (one read snapshot) to the new file `out`;
    /// returns its size. A database server has its own tools for this.
    fn backup(&self, out: &std::path::Path) -> Result<u64> {
        let _ = out;
        Err(StoreError::Refused(
            "scimd backs up its redb store only; back PostgreSQL up with pg_dump".into(),
        ))
    }

    /// The store's size on disk, where the backend has one file to measure.
    fn size_bytes(&self) -> Option<u64> {
        None
    }
}
