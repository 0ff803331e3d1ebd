//! Writes paused for want of disk space. After a write fails because the disk is full, later
//! writes are refused at once (never tried, so the open file is never failed again and reads
//! go on), until the filesystem has gained room since; the first durable commit after that
//! ends the pause.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::store::error::{Result, StoreError};

/// The room a filesystem must gain over what it had when writes paused before one is tried
/// again. A try that still fails pauses anew, so a disk that stays full costs one failed
/// write (and one reopen) per this much freed, not one per request.
const MARGIN: u64 = 1 << 20;

/// Whether writes are paused, and the filesystem's free bytes when they were.
pub(super) struct Space {
    dir: PathBuf,
    paused_at: Mutex<Option<u64>>,
}

impl Space {
    /// Watches the filesystem that holds `file`.
    pub(super) fn new(file: &Path) -> Space {
        let dir = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        Space {
            dir,
            paused_at: Mutex::new(None),
        }
    }

    /// Bytes an unprivileged writer can still use on the filesystem; 0 when unknown, so an
    /// unknown never reopens the gate by itself.
    fn available(&self) -> u64 {
        rustix::fs::statvfs(&self.dir)
            .map(|s| s.f_bavail.saturating_mul(s.f_frsize))
            .unwrap_or(0)
    }

    /// Pauses writes (again): the disk is full now.
    pub(super) fn pause(&self) {
        let now = self.available();
        if let Ok(mut p) = self.paused_at.lock() {
            *p = Some(now);
        }
    }

    /// A durable commit went through: writes are no longer paused.
    pub(super) fn resume(&self) {
        if let Ok(mut p) = self.paused_at.lock() {
            if p.take().is_some() {
                tracing::info!("a write succeeded again; writes are no longer paused");
            }
        }
    }

    pub(super) fn paused(&self) -> bool {
        self.paused_at.lock().map(|p| p.is_some()).unwrap_or(false)
    }

    /// Refuses a write while paused and the filesystem has not gained [`MARGIN`] since.
    pub(super) fn gate(&self) -> Result<()> {
        let Some(at) = self.paused_at.lock().ok().and_then(|p| *p) else {
            return Ok(());
        };
        if self.available() >= at.saturating_add(MARGIN) {
            return Ok(());
        }
        Err(StoreError::WritesPaused(
            "the disk is full; writes resume once space is freed".into(),
        ))
    }
}
