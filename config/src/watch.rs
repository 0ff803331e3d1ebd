//! Live reload: watch the config file and hand every new version (or its error) to a callback.
//!
//! Folders are watched, not the file, because editors save by writing a temp file and renaming
//! it over the old one, which would end a watch on the file itself. The folders are the config's
//! own and, when the path is a symlink, the folder of every link on the way and of the file at
//! the end, resolved again after every event because the target can move: so a config linked to
//! a file elsewhere reloads when that file changes, and so does a Kubernetes ConfigMap, whose
//! update renames a new `..data` link (to a new `..<timestamp>` folder) over the old one.
//!
//! Events are not filtered by file name, since the names that matter change with every swap.
//! Any event (debounced) makes a worker thread re-read the file through the path it was given,
//! and it calls back only when the bytes changed: an unrelated file in a watched folder costs a
//! read and a hash, and a `touch` or a burst of writes yields at most one reload.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
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
/// Links followed before giving up, as Linux does (`MAXSYMLINKS`), so a loop of links ends.
const MAX_LINKS: usize = 40;

/// Watches the config file until dropped.
pub struct Watcher {
    /// To the worker thread, which owns the notify watcher: `reload_now`, and the stop on drop.
    tx: Sender<Signal>,
    stopped: Arc<AtomicBool>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        // A reload already in flight must not reach a caller that has stopped listening.
        self.stopped.store(true, Ordering::Release);
        // The worker ends on this, dropping the notify watcher and the callback. It is gone
        // already only if the callback panicked: nothing left to stop.
        let _ = self.tx.send(Signal::Stop);
    }
}

enum Signal {
    /// Something happened in a watched folder.
    Changed,
    /// [`Watcher::reload_now`]: report the file even if its bytes are the ones last reported.
    ReloadNow,
    /// notify reported a failure.
    Failed(String),
    /// The [`Watcher`] was dropped.
    Stop,
}

impl Watcher {
    /// Starts watching `path`. After each change of the file's bytes, `on_change` gets the newly
    /// loaded config or the reason it could not be loaded; it runs on a thread of its own.
    ///
    /// `path` may be a symlink, or lead through symlinked folders: the file is always read
    /// through `path`, and the folders it resolves through are watched too, following the links
    /// as they are re-pointed. Fails when one of those folders cannot be watched.
    ///
    /// The current bytes of the file count as already seen: the caller has loaded them.
    pub fn spawn(
        path: &Path,
        on_change: impl FnMut(Result<Config, ConfigError>) + Send + 'static,
    ) -> Result<Watcher, ConfigError> {
        let path = path.to_path_buf();
        if path.file_name().is_none() {
            return Err(ConfigError::Watch(format!(
                "{} is not a file",
                path.display()
            )));
        }
        let dir = parent_dir(&path);
        // Canonical, like the link targets' folders, so one folder reached two ways is watched
        // once: two watches on one folder share one inotify watch, and removing either ends both.
        let own_dir = fs::canonicalize(&dir)
            .map_err(|e| ConfigError::Watch(format!("{}: {e}", dir.display())))?;

        let (tx, rx) = mpsc::channel();
        let stopped = Arc::new(AtomicBool::new(false));
        // Fingerprint before the watch starts: a write in between is then seen as a change
        // rather than lost.
        let seen = fingerprint(&path).ok();

        let events = tx.clone();
        let debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
            let signal = match result {
                Ok(events) => {
                    if !events.iter().any(|e| is_content_event(&e.kind)) {
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
            let _ = events.send(signal);
        })
        .map_err(|e| ConfigError::Watch(e.to_string()))?;

        let mut worker = Worker {
            path,
            seen,
            stopped: Arc::clone(&stopped),
            debouncer,
            own_dir,
            watching: BTreeSet::new(),
            unwatchable: Vec::new(),
        };
        worker.rewatch();
        // At start a folder that cannot be watched is fatal: better not to start than to run
        // with reloads that never come.
        if let Some(err) = mem::take(&mut worker.unwatchable).into_iter().next() {
            return Err(err);
        }
        thread::Builder::new()
            .name("scimd-config-watch".to_owned())
            .spawn(move || worker.run(rx, on_change))
            .map_err(|e| ConfigError::Watch(format!("starting the reload thread: {e}")))?;

        Ok(Watcher { tx, stopped })
    }

    /// Re-reads the file now and hands the result to the callback even when its bytes are the
    /// ones last reported: the daemon's SIGHUP, for when no file event came (a network file
    /// system sends none) or an operator wants to be sure. The watched folders are resolved
    /// again too, as after any event.
    ///
    /// Returns at once. The reload runs on the watcher's thread in turn with the ones file
    /// events cause, so the callback never runs twice at a time or sees an older version after
    /// a newer one; the bytes read become the ones later events are compared with. Fails only
    /// when that thread has ended, which happens only if the callback panicked.
    pub fn reload_now(&self) -> Result<(), ConfigError> {
        self.tx
            .send(Signal::ReloadNow)
            .map_err(|_| ConfigError::Watch("the reload thread has stopped".to_owned()))
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
    /// Owned here, not by the `Watcher`, because the watched folders change after events, which
    /// only this thread sees. Dropped when the worker ends, which closes the event channel.
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    /// The config's own folder, canonical; always watched.
    own_dir: PathBuf,
    /// The folders watched now, canonical.
    watching: BTreeSet<PathBuf>,
    /// Failures of the last `rewatch`, to report after the reload; retried at the next event.
    unwatchable: Vec<ConfigError>,
}

impl Worker {
    fn run(mut self, rx: Receiver<Signal>, mut on_change: impl FnMut(Result<Config, ConfigError>)) {
        while let Ok(signal) = rx.recv() {
            let result = match signal {
                Signal::Stop => return,
                Signal::Failed(message) => Some(Err(ConfigError::Watch(message))),
                Signal::Changed => self.reload(&rx, false),
                Signal::ReloadNow => self.reload(&rx, true),
            };
            if self.stopped.load(Ordering::Acquire) {
                return;
            }
            // Before the reload's own result, so the last word is about the file.
            for err in mem::take(&mut self.unwatchable) {
                on_change(Err(err));
            }
            if let Some(result) = result {
                on_change(result);
            }
        }
    }

    /// The new config or error, or `None` when the bytes are the ones already reported and the
    /// reload is not `forced`.
    fn reload(
        &mut self,
        rx: &Receiver<Signal>,
        mut forced: bool,
    ) -> Option<Result<Config, ConfigError>> {
        let bytes = match self.read_waiting_for_file(rx, &mut forced) {
            Ok(bytes) => bytes,
            Err(e) => {
                self.seen = None;
                return Some(Err(ConfigError::io(&self.path, e)));
            }
        };
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        if self.seen == Some(digest) && !forced {
            return None;
        }
        self.seen = Some(digest);
        Some(Config::from_bytes(&bytes, &self.path))
    }

    /// Reads the file; while it is missing, waits up to `MISSING_GRACE` for it to come back,
    /// waking early on the next signal. A `reload_now` that arrives meanwhile sets `forced`.
    fn read_waiting_for_file(
        &mut self,
        rx: &Receiver<Signal>,
        forced: &mut bool,
    ) -> io::Result<Vec<u8>> {
        let deadline = Instant::now() + MISSING_GRACE;
        loop {
            // Watch where the path leads now, then read it: a change after the watch is an
            // event, and one before it is in the bytes read. Again at every look, since a
            // missing file may come back as a link to somewhere new.
            self.rewatch();
            match fs::read(&self.path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() || self.stopped.load(Ordering::Acquire) {
                        return Err(e);
                    }
                    match rx.recv_timeout(left.min(MISSING_POLL)) {
                        Ok(Signal::ReloadNow) => *forced = true,
                        // A Stop set `stopped` first, seen above at the next look. A Changed or
                        // Failed is moot: the read that follows tells the real state.
                        Ok(_) | Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => return Err(e),
                    }
                }
                other => return other,
            }
        }
    }

    /// Brings the watched folders in line with where the path resolves now. Folders that cannot
    /// be watched go to `unwatchable` and are tried again next time.
    fn rewatch(&mut self) {
        let mut wanted = resolved_dirs(&self.path);
        wanted.insert(self.own_dir.clone());
        // Unwatch before watching: a folder that moved keeps its inotify watch under the old
        // path, and unwatching that after watching the new path would end both.
        let gone: Vec<PathBuf> = self.watching.difference(&wanted).cloned().collect();
        for dir in gone {
            // Fails when the folder was deleted, which ended its watch already.
            let _ = self.debouncer.unwatch(&dir);
            self.watching.remove(&dir);
        }
        self.unwatchable.clear();
        for dir in wanted {
            if self.watching.contains(&dir) {
                continue;
            }
            match self.debouncer.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    self.watching.insert(dir);
                }
                Err(e) => self
                    .unwatchable
                    .push(ConfigError::Watch(format!("{}: {e}", dir.display()))),
            }
        }
    }
}

/// The canonical folders of `path` and of every symlink on the way to the file it names: a
/// change to any of those links, or to the file, is an event in one of them.
fn resolved_dirs(path: &Path) -> BTreeSet<PathBuf> {
    let mut dirs = BTreeSet::new();
    let mut hop = path.to_path_buf();
    for _ in 0..=MAX_LINKS {
        let dir = parent_dir(&hop);
        // A folder that does not exist (a dangling link) has nothing to watch; the read tells.
        if let Ok(canonical) = fs::canonicalize(&dir) {
            dirs.insert(canonical);
        }
        match fs::read_link(&hop) {
            // Relative targets are relative to the link's folder; `join` keeps absolute ones.
            Ok(target) => hop = dir.join(target),
            // Not a link (or not there): this is the file.
            Err(_) => break,
        }
    }
    dirs
}

/// The folder holding `path`; `.` for a bare file name.
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn fingerprint(path: &Path) -> io::Result<[u8; 32]> {
    Ok(Sha256::digest(fs::read(path)?).into())
}
