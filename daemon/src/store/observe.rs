//! What the store reports about its own work (group commits, the activity log) to whoever runs
//! it. The daemon installs its metrics here at start, so the store never calls up into them;
//! commands and tests that install nothing report nowhere.

use std::sync::OnceLock;
use std::time::Duration;

/// Receives the store's figures. Calls come from the writer thread and the activity log
/// task, so they must be cheap and must not block.
pub trait Observer: Send + Sync {
    /// One group commit of `jobs` jobs took `took` (from beginning the transaction to its end).
    fn commit(&self, jobs: usize, took: Duration);
    /// `written` activity records persisted, `dropped` lost because the log fell behind,
    /// `backlog` still queued.
    fn activity(&self, written: u64, dropped: u64, backlog: usize);
}

static OBSERVER: OnceLock<Box<dyn Observer>> = OnceLock::new();

/// Installs the process's observer; the first call wins.
pub fn install(observer: Box<dyn Observer>) {
    let _ = OBSERVER.set(observer);
}

/// Tells the observer, if one is installed.
pub(crate) fn tell(f: impl FnOnce(&dyn Observer)) {
    if let Some(o) = OBSERVER.get() {
        f(o.as_ref());
    }
}
