//! The open redb file behind the store handle, and what happens when it fails: a fault marks
//! the store unusable, a recovery thread reopens the file (redb's I/O failure flag is sticky,
//! so only a reopen clears it), and [`Health`] says where things stand for `/healthz`. A full
//! disk pauses writes after that one reopen ([`Space`]), so reads go on from the open file.

use std::fs::OpenOptions;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

use redb::{Database, ReadableTable};

use super::schema::*;
use super::space::Space;
use super::Batches;
use crate::store::commit::Committer;
use crate::store::error::{Result, StoreError};
use crate::store::Health;

/// redb's in-process page cache.
const CACHE_BYTES: usize = 64 << 20;
/// Reopen attempts after a fault other than a full disk, before the store gives up.
const REOPEN_TRIES: u32 = 5;
/// How long a reopen waits for requests still holding the old database.
const DRAIN: Duration = Duration::from_secs(30);
/// How long a request waits for a reopen under way before it is refused: a reopen takes tens
/// of milliseconds, and reads should not fail for it.
const REOPEN_WAIT: Duration = Duration::from_secs(2);

/// One open database and its writer thread.
pub(super) struct Backend {
    pub(super) db: Arc<Database>,
    pub(super) committer: Committer,
}

/// What every clone of the store handle shares.
pub(super) struct Shared {
    path: PathBuf,
    current: RwLock<Option<Arc<Backend>>>,
    health: Mutex<Health>,
    recovering: AtomicBool,
    /// Held while the backend is put back, so a request waiting for it cannot miss the news.
    reopen: Mutex<()>,
    reopened: Condvar,
    space: Arc<Space>,
}

/// Opens (or creates, mode 0600 whatever the umask) the file and every table, so reads never
/// miss one.
fn open_db(path: &Path, space: &Arc<Space>) -> Result<Backend> {
    if !path.exists() {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| StoreError::Db(format!("creating {}: {e}", path.display())))?;
        // The umask can only take bits away, but a file made by someone else's umask-free
        // tool should not stay wider than ours.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| StoreError::Db(format!("chmod {}: {e}", path.display())))?;
    }
    // redb's default cache is 1 GiB; a bounded cache keeps the daemon's memory flat as
    // an org grows, and the OS page cache still holds the hot file pages.
    let db = redb::Builder::new()
        .set_cache_size(CACHE_BYTES)
        .create(path)?;
    let txn = db.begin_write()?;
    {
        // Checked first: tables a newer layout dropped or reshaped must not be created here.
        let found = txn
            .open_table(META)?
            .get("schema_version")?
            .map(|v| v.value());
        if let Some(v) = found.filter(|v| *v > SCHEMA_VERSION) {
            // An older binary must not read (and write) a layout it does not know.
            return Err(StoreError::Schema(format!(
                "{} was written by a newer scimd (store layout {v}; this binary knows \
                 {SCHEMA_VERSION}): run that scimd or a newer one",
                path.display()
            )));
        }
        // Every change of layout so far added tables, so migrating an older file is opening
        // the tables it lacks (the first files had no activity log) and recording the
        // version. A change that reshapes rows gets its own step here, keyed by `found`.
        txn.open_table(USERS)?;
        txn.open_table(GROUPS)?;
        txn.open_table(USER_BY_NAME)?;
        txn.open_multimap_table(USER_BY_EXTERNAL_ID)?;
        txn.open_multimap_table(USER_BY_EMAIL)?;
        txn.open_table(GROUP_BY_NAME)?;
        txn.open_multimap_table(GROUP_BY_EXTERNAL_ID)?;
        txn.open_table(MEMBERS)?;
        txn.open_table(MEMBER_OF)?;
        txn.open_table(COUNTS)?;
        txn.open_table(ACTIVITY)?;
        txn.open_table(EVENTS)?;
        txn.open_table(EVENT_SEQ)?;
        txn.open_table(HOOKS)?;
        if found != Some(SCHEMA_VERSION) {
            if let Some(from) = found {
                tracing::info!(path = %path.display(), from, to = SCHEMA_VERSION, "migrated the store's layout");
            }
            txn.open_table(META)?
                .insert("schema_version", SCHEMA_VERSION)?;
        }
    }
    txn.commit()?;
    let db = Arc::new(db);
    let committer = Committer::start(Batches {
        db: db.clone(),
        space: space.clone(),
    });
    Ok(Backend { db, committer })
}

impl Shared {
    /// The store file.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn open(path: &Path) -> Result<Shared> {
        let space = Arc::new(Space::new(path));
        let backend = open_db(path, &space)?;
        Ok(Shared {
            path: path.to_path_buf(),
            current: RwLock::new(Some(Arc::new(backend))),
            health: Mutex::new(Health::Ok),
            recovering: AtomicBool::new(false),
            reopen: Mutex::new(()),
            reopened: Condvar::new(),
            space,
        })
    }

    pub(super) fn health(&self) -> Health {
        let h = self.health.lock().map(|h| h.clone()).unwrap_or(Health::Ok);
        if h == Health::Ok && self.space.paused() {
            return Health::Degraded(
                "the disk is full: reads are served, writes are refused until space is freed"
                    .into(),
            );
        }
        h
    }

    /// Refuses a write at once while writes are paused for want of space.
    pub(super) fn write_gate(&self) -> Result<()> {
        self.space.gate()
    }

    fn set_health(&self, h: Health) {
        if let Ok(mut cur) = self.health.lock() {
            *cur = h;
        }
    }

    fn current(&self) -> Result<Option<Arc<Backend>>> {
        self.current
            .read()
            .map(|cur| cur.clone())
            .map_err(|_| StoreError::Unavailable("the store lock is poisoned".into()))
    }

    /// The open backend, or why there is none. During a reopen, waits up to [`REOPEN_WAIT`]
    /// for it.
    pub(super) fn backend(&self) -> Result<Arc<Backend>> {
        if let Some(b) = self.current()? {
            return Ok(b);
        }
        let deadline = Instant::now() + REOPEN_WAIT;
        let mut guard = self.reopen.lock().ok();
        loop {
            if let Some(b) = self.current()? {
                return Ok(b);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.recovering.load(Ordering::SeqCst) {
                break;
            }
            guard = match guard {
                Some(g) => self.reopened.wait_timeout(g, left).ok().map(|(g, _)| g),
                None => break,
            };
        }
        drop(guard);
        match self.current()? {
            Some(b) => Ok(b),
            None => Err(match self.health() {
                Health::Recovering {
                    disk_full: true, ..
                } => StoreError::DiskFull(
                    "the disk is full; writes resume once space is freed".into(),
                ),
                Health::Recovering { reason, .. } => StoreError::Unavailable(format!(
                    "the database is being reopened after a fault ({reason})"
                )),
                Health::Failed(reason) => StoreError::Unavailable(reason),
                Health::Ok | Health::Degraded(_) => {
                    StoreError::Unavailable("the store is closing".into())
                }
            }),
        }
    }

    /// Takes note of an error from an operation: a fault that leaves the database unusable
    /// starts one recovery thread.
    pub(super) fn observe(self: &Arc<Self>, err: &StoreError) {
        if !err.needs_reopen() {
            return;
        }
        let disk_full = matches!(err, StoreError::DiskFull(_));
        if disk_full {
            self.space.pause();
        }
        if self.recovering.swap(true, Ordering::SeqCst) {
            return;
        }
        tracing::error!(cause = %err, disk_full, "the store failed; reopening the database");
        self.set_health(Health::Recovering {
            reason: err.to_string(),
            disk_full,
        });
        let shared = self.clone();
        let spawned = std::thread::Builder::new()
            .name("scimd-recover".into())
            .spawn(move || shared.recover(disk_full));
        if let Err(e) = spawned {
            self.set_health(Health::Failed(format!("cannot start recovery: {e}")));
        }
    }

    fn recover(&self, disk_full: bool) {
        let old = self.current.write().ok().and_then(|mut cur| cur.take());
        if let Some(old) = old {
            let deadline = Instant::now() + DRAIN;
            let mut old = old;
            // Requests still inside the old database finish first (they fail fast).
            let backend = loop {
                match Arc::try_unwrap(old) {
                    Ok(b) => break Some(b),
                    Err(back) if Instant::now() < deadline => {
                        old = back;
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => break None,
                }
            };
            let Some(Backend { db, committer }) = backend else {
                self.set_health(Health::Failed(
                    "requests held the failed database for too long".into(),
                ));
                return;
            };
            // Joins the writer thread, which drops its handle on the database.
            drop(committer);
            let deadline = Instant::now() + DRAIN;
            while Arc::strong_count(&db) > 1 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            drop(db);
        }
        let mut tries = 0;
        loop {
            match open_db(&self.path, &self.space) {
                Ok(b) => {
                    if self.space.paused() {
                        // Measured again now that the failed write's pages are given back.
                        self.space.pause();
                    }
                    let _waiting = self.reopen.lock();
                    if let Ok(mut cur) = self.current.write() {
                        *cur = Some(Arc::new(b));
                    }
                    self.set_health(Health::Ok);
                    self.recovering.store(false, Ordering::SeqCst);
                    self.reopened.notify_all();
                    tracing::info!(path = %self.path.display(), "the database is open again");
                    return;
                }
                Err(e) => {
                    tries += 1;
                    let full = disk_full || matches!(e, StoreError::DiskFull(_));
                    if !full && tries >= REOPEN_TRIES {
                        tracing::error!(cause = %e, "cannot reopen the database; giving up");
                        self.set_health(Health::Failed(format!(
                            "cannot reopen {}: {e}",
                            self.path.display()
                        )));
                        return;
                    }
                    tracing::warn!(cause = %e, tries, "reopening the database failed; trying again");
                    // A full disk waits for space as long as it takes; other faults back off.
                    let pause = if full {
                        Duration::from_millis(500)
                    } else {
                        Duration::from_millis(200 << tries.min(5))
                    };
                    std::thread::sleep(pause);
                }
            }
        }
    }

    /// Drops the database (joining the writer) so the file closes cleanly.
    pub(super) fn close(&self) {
        let old = self.current.write().ok().and_then(|mut cur| cur.take());
        drop(old);
    }
}
