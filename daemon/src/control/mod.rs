//! The control socket: a Unix socket (mode 0600) that speaks newline-delimited JSON
//! ([`scimd_core::wire`]) to the dashboard: a hello each way, then requests answered in order,
//! and a subscription that streams activity records and counters.
//!
//! Nothing here may slow SCIM requests down. Records reach clients through broadcast channels
//! that drop for laggards, each client has a bounded outgoing queue filled with `try_send`,
//! and a client that stops reading is disconnected when a write times out; no lock or queue
//! is shared between clients and the HTTP side.
//!
//! Answering requests is `answer.rs`; one client's read, forward and write loops are `conn.rs`;
//! the orgs' health (`scimd status`, the Orgs view, its metrics) is `status.rs`.

mod answer;
mod conn;
mod status;

use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use scimd_config::Config;
use scimd_core::wire::{ActivityRecord, DaemonInfo, ServerMsg};
use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, watch, Semaphore};
use tokio::task::JoinHandle;

use crate::activity::Bus;
use crate::store::activity::{persist, Retention};
use crate::store::Store;

use answer::publish_counters;
use conn::connection;

/// A client whose socket accepts nothing for this long has stopped reading: it is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Dashboards connected at once.
const MAX_CLIENTS: usize = 64;
/// Records buffered per live subscriber in the feed before it lags.
const FEED_CAPACITY: usize = 1024;

/// Why the control socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("another scimd is already serving the control socket {0}")]
    InUse(PathBuf),
    #[error("cannot create the control socket {path}: {source}")]
    Bind { path: PathBuf, source: io::Error },
}

/// A bound control socket. Dropping it removes the socket file, unless another process has
/// replaced it meanwhile.
pub struct ControlSocket {
    listener: std::os::unix::net::UnixListener,
    path: PathBuf,
    /// (device, inode) of the file we created, so we never remove someone else's socket.
    id: (u64, u64),
}

impl ControlSocket {
    /// Binds `path` with mode 0600. A file left by a crashed daemon is replaced; a socket that
    /// still answers belongs to a running daemon and is left alone.
    pub fn bind(path: &Path) -> Result<ControlSocket, ControlError> {
        let err = |source| ControlError::Bind {
            path: path.to_path_buf(),
            source,
        };
        if path.exists() && std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(ControlError::InUse(path.to_path_buf()));
        }
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(err)?;
        // Bind inside a private (0700) folder, tighten the mode, then rename into place: the
        // socket is never reachable with a looser mode, and the rename replaces a stale file
        // atomically.
        let staging = parent.join(format!(".scimd-ctl-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&staging)
                .map_err(err)?;
        }
        let staged = staging.join("s");
        let result = (|| {
            let listener = std::os::unix::net::UnixListener::bind(&staged)?;
            std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o600))?;
            std::fs::rename(&staged, path)?;
            listener.set_nonblocking(true)?;
            let meta = std::fs::metadata(path)?;
            Ok::<_, io::Error>((listener, (meta.dev(), meta.ino())))
        })();
        let _ = std::fs::remove_dir_all(&staging);
        let (listener, id) = result.map_err(err)?;
        Ok(ControlSocket {
            listener,
            path: path.to_path_buf(),
            id,
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        if let Ok(meta) = std::fs::symlink_metadata(&self.path) {
            if (meta.dev(), meta.ino()) == self.id {
                if let Err(err) = std::fs::remove_file(&self.path) {
                    tracing::warn!(path = %self.path.display(), cause = %err, "cannot remove the control socket");
                }
            }
        }
    }
}

/// What the control server reads from.
pub struct ControlState {
    pub store: Store,
    pub bus: Bus,
    /// Persisted records, numbered, re-published by the activity log.
    pub feed: broadcast::Sender<ActivityRecord>,
    pub config: watch::Receiver<Arc<Config>>,
    /// The SCIM address, as shown in the dashboard's header.
    pub listen: String,
    pub started: Instant,
    pub started_at: String,
}

impl ControlState {
    fn info(&self) -> DaemonInfo {
        DaemonInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            listen: self.listen.clone(),
            started: self.started_at.clone(),
            uptime_secs: self.started.elapsed().as_secs(),
        }
    }
}

/// The activity log's retention as the current config's `[activity]` table says, asked for
/// again for every batch, so a reload applies from the next one.
fn retention(config: watch::Receiver<Arc<Config>>) -> impl Fn() -> Retention + Send {
    move || retention_of(&config.borrow().activity)
}

fn retention_of(activity: &scimd_config::ActivityConfig) -> Retention {
    Retention {
        max_records: activity.max_records,
        max_age: activity.max_age,
    }
}

/// Everything [`Dashboard::start`] needs from `serve`.
pub struct Setup {
    pub socket: PathBuf,
    pub store: Store,
    pub bus: Bus,
    /// Also the activity log's retention (`[activity]`), read again for every batch.
    pub config: watch::Receiver<Arc<Config>>,
}

/// The activity log writer and the control socket server, running.
pub struct Dashboard {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Dashboard {
    /// Starts the activity log and the control socket. A socket that cannot be bound is logged
    /// and skipped: the dashboard is an aid, and SCIM provisioning must go on without it.
    pub fn start(setup: Setup) -> Dashboard {
        let (stop, stop_rx) = watch::channel(false);
        let (feed, _) = broadcast::channel(FEED_CAPACITY);
        let mut tasks = vec![tokio::spawn(persist(
            setup.store.clone(),
            setup.bus.subscribe(),
            setup.bus.subscribe_stored(),
            feed.clone(),
            retention(setup.config.clone()),
            stop_rx.clone(),
        ))];
        tasks.push(tokio::spawn(status::follow_writes(
            setup.store.clone(),
            setup.bus.health().clone(),
            feed.subscribe(),
            stop_rx.clone(),
        )));
        let config = setup.config.borrow().clone();
        if config.metrics.is_some() {
            tasks.push(tokio::spawn(status::publish_gauges(
                setup.store.clone(),
                setup.config.clone(),
                setup.bus.health().clone(),
                stop_rx.clone(),
            )));
        }
        let scheme = if config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let listen = match &config.public_url {
            Some(url) => url.clone(),
            None => format!("{scheme}://{}", config.listen),
        };
        let state = Arc::new(ControlState {
            store: setup.store,
            bus: setup.bus,
            feed,
            config: setup.config,
            listen,
            started: Instant::now(),
            started_at: crate::now_rfc3339(),
        });
        match ControlSocket::bind(&setup.socket) {
            Ok(socket) => {
                tracing::info!(path = %socket.path().display(), "control socket ready");
                tasks.push(tokio::spawn(serve(socket, state, stop_rx)));
            }
            Err(err) => {
                tracing::error!(cause = %err, "control socket unavailable; `scimd tui` cannot connect");
            }
        }
        Dashboard { stop, tasks }
    }

    /// Stops both, writing the last records and removing the socket file.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                tracing::warn!("dashboard task still running after 5s");
            }
        }
    }
}

/// Accepts clients until `stop` turns true; the socket file is removed on the way out.
pub async fn serve(
    socket: ControlSocket,
    state: Arc<ControlState>,
    mut stop: watch::Receiver<bool>,
) {
    let listener = match socket.listener.try_clone().and_then(UnixListener::from_std) {
        Ok(l) => l,
        Err(err) => {
            tracing::error!(cause = %err, "control socket unusable");
            return;
        }
    };
    let (counters_tx, counters_rx) = watch::channel(None);
    let counters = tokio::spawn(publish_counters(state.clone(), counters_tx));
    let slots = Arc::new(Semaphore::new(MAX_CLIENTS));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((s, _)) => s,
                    Err(err) => {
                        tracing::warn!(cause = %err, "control socket accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    tracing::warn!(max = MAX_CLIENTS, "too many dashboard clients; refusing one");
                    tokio::spawn(refuse(stream));
                    continue;
                };
                let state = state.clone();
                let counters = counters_rx.clone();
                let stop = stop.clone();
                tokio::spawn(async move {
                    connection(stream, state, counters, stop).await;
                    drop(permit);
                });
            }
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
        }
    }
    counters.abort();
    drop(listener);
    drop(socket);
}

async fn refuse(mut stream: UnixStream) {
    let msg = ServerMsg::Error {
        message: format!("too many dashboard clients (at most {MAX_CLIENTS})"),
    };
    let _ = tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&line(&msg))).await;
}

fn line(msg: &ServerMsg) -> Vec<u8> {
    // Our own message types always serialize.
    let mut bytes = serde_json::to_vec(msg).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_retention_is_the_config_default_and_the_table_applies() {
        let config = |text: &str| {
            Config::from_toml_str(text, std::path::Path::new("/etc/scimd/scimd.toml")).unwrap()
        };
        assert_eq!(Retention::default(), retention_of(&config("").activity));
        let set = config("[activity]\nmax_records = 3\nmax_age_days = 2\n");
        assert_eq!(
            retention_of(&set.activity),
            Retention {
                max_records: 3,
                max_age: std::time::Duration::from_secs(2 * 24 * 3600),
            }
        );
    }

    #[test]
    fn bind_sets_mode_0600_replaces_stale_files_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scimd.sock");
        std::fs::write(&path, "left over from a crash").unwrap();
        let socket = ControlSocket::bind(&path).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert!(std::os::unix::net::UnixStream::connect(&path).is_ok());
        // A second daemon must not steal a live socket.
        assert!(matches!(
            ControlSocket::bind(&path),
            Err(ControlError::InUse(_))
        ));
        drop(socket);
        assert!(!path.exists());
        // No staging folder is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
