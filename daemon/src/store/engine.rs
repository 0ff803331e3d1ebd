//! The storage interface: what a backend (the embedded redb file, a shared PostgreSQL
//! database) provides to the [`super::Store`] handle. No database type crosses it: only the
//! store's own types, `core`'s `ActivityRecord` and `time` values.

use scimd_core::wire::ActivityRecord;
use time::OffsetDateTime;

use super::activity::Retention;
use super::commit::Job;
use super::error::{Result, StoreError};
use super::events::{EventRetention, StoredEvent};
use super::hooks::{HookState, Lease};
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

    /// Runs `f` over one consistent read snapshot.
    fn read(&self, f: &mut dyn FnMut(&dyn View) -> Result<()>) -> Result<()>;

    /// Queues a job for the group-commit writer (see `commit.rs`).
    fn enqueue(&self, job: Job) -> Result<()>;

    /// Appends activity records in one transaction and prunes what `retention` no longer
    /// keeps; returns how many were pruned. A backend shared by several daemons numbers the
    /// records itself (rewriting their `seq`), so numbers are unique across daemons.
    fn append_activity(
        &self,
        records: &mut [ActivityRecord],
        retention: &Retention,
        now: OffsetDateTime,
    ) -> Result<u64>;

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

    /// Prunes what `keep` no longer keeps of `org`'s events, from the oldest, in bounded
    /// transactions; returns how many went.
    fn prune_events(&self, org: &str, keep: &EventRetention, now: OffsetDateTime) -> Result<u64>;

    /// Takes or renews the delivery lease of webhook `endpoint` of `org` and returns its
    /// state, created after the org's last event when new; None while another daemon's lease
    /// runs.
    fn hook_claim(&self, org: &str, endpoint: &str, lease: &Lease) -> Result<Option<HookState>>;

    /// Saves an endpoint's state and renews the lease, if `lease.owner` still holds it
    /// (false when another daemon took it over). `durable` asks for it to be on disk before
    /// returning; otherwise a crash may lose it (and the events since are sent again).
    fn hook_save(
        &self,
        org: &str,
        endpoint: &str,
        lease: &Lease,
        state: &HookState,
        durable: bool,
    ) -> Result<bool>;

    /// Gives the lease up, so another daemon may take the endpoint over at once.
    fn hook_release(&self, org: &str, endpoint: &str, lease: &Lease) -> Result<()>;

    /// Writes events exactly as another store held them, numbers included, and raises the
    /// org's counters to `pruned` and `last`, for `store copy`.
    fn import_events(
        &self,
        org: &str,
        events: &[(u64, StoredEvent)],
        pruned: u64,
        last: u64,
    ) -> Result<()>;

    /// Writes an endpoint's delivery state as another store held it (no lease), for
    /// `store copy`.
    fn hook_import(&self, org: &str, endpoint: &str, state: &HookState) -> Result<()>;
}
