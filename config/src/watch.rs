//! Live reload: watch the config file and hand every new version (or its error) to a callback.
//!
//! The folder is watched, not the file, because editors save by writing a temp file and
//! renaming it over the old one, which would end a watch on the file itself. Events are
//! debounced, then a worker thread re-reads the file and calls back only when its bytes changed,
//! so a `touch` or a burst of writes yields at most one reload.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use notify_debouncer_full::notify::event::{AccessKind, AccessMode};
use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};
use sha2::{Digest, Sha256};

use crate::error::ConfigError;
use crate::model::Config;

/// Quiet time before a burst of events counts as one change.
const DEBOUNCE: Duration = Duration::from_millis(200);
/// How long a vanished file may stay missing (mid save-by-rename) before that is an error.
const MISSING_GRACE: Duration = Duration::from_secs(1);
/// How often to look again for a missing file while no event arrives.
const MISSING_POLL: Duration = Duration::from_millis(50);

/// Watches the config file until dropped.
pub struct Watcher {
    // Held only to keep the notify watcher alive: dropping it stops the watch, which in turn
    // closes the channel and lets the worker thread end.
    _debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    stopped: Arc<AtomicBool>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        // A reload already in flight must not reach a caller that has stopped listening.
        self.stopped.store(true, Ordering::Release);
    }
}

enum Signal {
    Changed,
    Failed(String),
}

impl Watcher {
    /// Starts watching `path`. After each change of the file's bytes, `on_change` gets the newly
    /// loaded config or the reason it could not be loaded; it runs on a thread of its own.
    ///
    /// The current bytes of the file count as already seen: the caller has loaded them.
    pub fn spawn(
        path: &Path,
        on_change: impl FnMut(Result<Config, ConfigError>) + Send + 'static,
    ) -> Result<Watcher, ConfigError> {
        let path = path.to_path_buf();
        let file_name = path
            .file_name()
            .map(OsString::from)
            .ok_or_else(|| ConfigError::Watch(format!("{} is not a file", path.display())))?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };

        let (tx, rx) = mpsc::channel();
        let stopped = Arc::new(AtomicBool::new(false));
        // Fingerprint before the watch starts: a write in between is then seen as a change
        // rather than lost.
        let seen = fingerprint(&path).ok();

        let mut debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
            let signal = match result {
                Ok(events) => {
                    let relevant = events.iter().any(|e| {
                        is_content_event(&e.kind)
                            && e.paths.iter().any(|p| p.file_name() == Some(&*file_name))
                    });
                    if !relevant {
                        return;
                    }
                    Signal::Changed
                }
                Err(errors) => Signal::Failed(
                    errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            };
            // The worker is gone only after the Watcher was dropped: nothing left to tell.
            let _ = tx.send(signal);
        })
        .map_err(|e| ConfigError::Watch(e.to_string()))?;

        let worker = Worker {
            path,
            seen,
            stopped: Arc::clone(&stopped),
        };
        thread::Builder::new()
            .name("scimd-config-watch".to_owned())
            .spawn(move || worker.run(rx, on_change))
            .map_err(|e| ConfigError::Watch(format!("starting the reload thread: {e}")))?;

        debouncer
            .watch(&dir, RecursiveMode::NonRecursive)
            .map_err(|e| ConfigError::Watch(format!("{}: {e}", dir.display())))?;

        Ok(Watcher {
            _debouncer: debouncer,
            stopped,
        })
    }
}

/// Opening or reading the file (as every reload does) is not a change; closing it after a write
/// is.
fn is_content_event(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

struct Worker {
    path: PathBuf,
    /// SHA-256 of the bytes last handed out (or present at start); `None` after a read failure,
    /// so the next readable version is always reported.
    seen: Option<[u8; 32]>,
    stopped: Arc<AtomicBool>,
}

impl Worker {
    fn run(mut self, rx: Receiver<Signal>, mut on_change: impl FnMut(Result<Config, ConfigError>)) {
        while let Ok(signal) = rx.recv() {
            let result = match signal {
                Signal::Failed(message) => Some(Err(ConfigError::Watch(message))),
                Signal::Changed => self.reload(&rx),
            };
            if self.stopped.load(Ordering::Acquire) {
                return;
            }
            if let Some(result) = result {
                on_change(result);
            }
        }
    }

    /// The new config or error, or `None` when the bytes are the ones already reported.
    fn reload(&mut self, rx: &Receiver<Signal>) -> Option<Result<Config, ConfigError>> {
        let bytes = match self.read_waiting_for_file(rx) {
            Ok(bytes) => bytes,
            Err(e) => {
                self.seen = None;
                return Some(Err(ConfigError::io(&self.path, e)));
            }
        };
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        if self.seen == Some(digest) {
            return None;
        }
        self.seen = Some(digest);
        Some(Config::from_bytes(&bytes, &self.path))
    }

    /// Reads the file; while it is missing, waits up to `MISSING_GRACE` for it to come back,
    /// waking early on the next file event.
    fn read_waiting_for_file(&self, rx: &Receiver<Signal>) -> io::Result<Vec<u8>> {
        let deadline = Instant::now() + MISSING_GRACE;
        loop {
            match fs::read(&self.path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() || self.stopped.load(Ordering::Acquire) {
                        return Err(e);
                    }
                    match rx.recv_timeout(left.min(MISSING_POLL)) {
                        // Any signal, or none: look again. A Failed signal here is moot, the
                        // read that follows tells the real state.
                        Ok(_) | Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => return Err(e),
                    }
                }
                other => return other,
            }
        }
    }
}

fn fingerprint(path: &Path) -> io::Result<[u8; 32]> {
    Ok(Sha256::digest(fs::read(path)?).into())
}
