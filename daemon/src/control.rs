//! The control socket: a Unix socket (mode 0600) that speaks newline-delimited JSON
//! ([`scimd_core::wire`]) to the dashboard: a hello each way, then requests answered in order,
//! and a subscription that streams activity records and counters.
//!
//! Nothing here may slow SCIM requests down. Records reach clients through broadcast channels
//! that drop for laggards, each client has a bounded outgoing queue filled with `try_send`,
//! and a client that stops reading is disconnected when a write times out; no lock or queue
//! is shared between clients and the HTTP side.

use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use scimd_config::Config;
use scimd_core::wire::PROTOCOL_VERSION;
use scimd_core::wire::{ActivityRecord, ClientMsg, DaemonInfo, OrgSummary, ServerMsg};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, watch, Semaphore};
use tokio::task::JoinHandle;

use crate::activity::Bus;
use crate::store::activity::{persist, Retention};
use crate::store::{Store, StoreError};

/// Messages queued for one client before new records are dropped for it (and counted).
const CLIENT_QUEUE: usize = 256;
/// A client whose socket accepts nothing for this long has stopped reading: it is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a new client has to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest request line accepted; requests are tiny, so anything longer is not ours.
const MAX_LINE: usize = 64 * 1024;
/// Dashboards connected at once.
const MAX_CLIENTS: usize = 64;
/// Caps on what one request may ask for.
const MAX_USERS: usize = 500;
const MAX_RECENT: usize = 10_000;
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
            feed.clone(),
            Retention::configured(setup.config.clone()),
            stop_rx.clone(),
        ))];
        let config = setup.config.borrow().clone();
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

/// Computes the counters once a second while anyone subscribes; every subscriber gets the
/// same computed message, so many dashboards cost one set of store reads.
async fn publish_counters(state: Arc<ControlState>, tx: watch::Sender<Option<ServerMsg>>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // The server keeps one receiver to clone from; more means someone subscribed.
        if tx.receiver_count() <= 1 {
            continue;
        }
        match snapshot(state.clone()).await {
            Ok(orgs) => {
                let (requests, errors) = state.bus.totals();
                tx.send_replace(Some(ServerMsg::Counters {
                    requests,
                    errors,
                    uptime_secs: state.started.elapsed().as_secs(),
                    orgs,
                }));
            }
            Err(err) => tracing::warn!(cause = %err, "cannot compute dashboard counters"),
        }
    }
}

/// The configured orgs with their counts from the store.
async fn snapshot(state: Arc<ControlState>) -> Result<Vec<OrgSummary>, StoreError> {
    let config = state.config.borrow().clone();
    let store = state.store.clone();
    blocking(move || {
        config
            .orgs
            .values()
            .map(|org| {
                let stats = store.org_stats(&org.name)?;
                Ok(OrgSummary {
                    name: org.name.clone(),
                    display_name: org.display_name.clone(),
                    enabled: org.enabled,
                    users: stats.users,
                    active_users: stats.active_users,
                    teams: stats.teams,
                    webhooks: crate::webhooks::summaries(&store, org)?,
                })
            })
            .collect()
    })
    .await
}

/// Runs a store read off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(err) => Err(StoreError::Corrupt {
            table: "-",
            key: "-".into(),
            cause: format!("store task failed: {err}"),
        }),
    }
}

/// Reads one request line. `Ok(None)` at end of stream; a line that is not a request is
/// `Some(Err(reason))`.
async fn read_msg<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut String,
) -> io::Result<Option<Result<ClientMsg, String>>> {
    loop {
        buf.clear();
        let n = (&mut *reader)
            .take(MAX_LINE as u64 + 1)
            .read_line(buf)
            .await?;
        if n == 0 {
            return Ok(None);
        }
        if n > MAX_LINE && !buf.ends_with('\n') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request line too long",
            ));
        }
        let text = buf.trim();
        if text.is_empty() {
            continue;
        }
        return Ok(Some(
            serde_json::from_str(text).map_err(|e| format!("not a request: {e}")),
        ));
    }
}

/// One client: hello, then requests in order until it leaves, stops reading, or we stop.
async fn connection(
    stream: UnixStream,
    state: Arc<ControlState>,
    counters: watch::Receiver<Option<ServerMsg>>,
    mut stop: watch::Receiver<bool>,
) {
    let (rd, wr) = stream.into_split();
    let (tx, rx) = mpsc::channel::<ServerMsg>(CLIENT_QUEUE);
    let writer = tokio::spawn(write_loop(wr, rx));
    let mut reader = BufReader::new(rd);
    let mut buf = String::new();

    let hello = tokio::time::timeout(HELLO_TIMEOUT, read_msg(&mut reader, &mut buf)).await;
    let greeting = match hello {
        Ok(Ok(Some(Ok(ClientMsg::Hello { version })))) if version == PROTOCOL_VERSION => Ok(()),
        Ok(Ok(Some(Ok(ClientMsg::Hello { version })))) => Err(format!(
            "protocol version {version} is not supported; this daemon speaks version {PROTOCOL_VERSION}"
        )),
        Ok(Ok(Some(_))) => Err("the first message must be a hello".to_string()),
        Ok(Ok(None)) | Ok(Err(_)) => Err(String::new()),
        Err(_) => Err("no hello in time".to_string()),
    };
    if let Err(message) = greeting {
        if !message.is_empty() {
            tracing::debug!(%message, "control client refused");
            let _ = tx.send(ServerMsg::Error { message }).await;
        }
        drop(tx);
        let _ = tokio::time::timeout(WRITE_TIMEOUT, writer).await;
        return;
    }
    let _ = tx
        .send(ServerMsg::Hello {
            version: PROTOCOL_VERSION,
            daemon: state.info(),
        })
        .await;

    let mut forwarder: Option<JoinHandle<()>> = None;
    loop {
        tokio::select! {
            msg = read_msg(&mut reader, &mut buf) => {
                let reply = match msg {
                    Ok(None) => break,
                    Err(err) => {
                        tracing::debug!(cause = %err, "control client read failed");
                        break;
                    }
                    Ok(Some(Err(message))) => ServerMsg::Error { message },
                    Ok(Some(Ok(ClientMsg::Subscribe))) => {
                        if forwarder.is_none() {
                            forwarder = Some(tokio::spawn(forward(
                                tx.clone(),
                                state.feed.subscribe(),
                                counters.clone(),
                            )));
                        }
                        continue;
                    }
                    Ok(Some(Ok(req))) => answer(&state, req).await,
                };
                // Waits only on this client's own queue; a stuck client is dropped by the
                // writer's timeout, which closes the queue and ends this wait.
                if tx.send(reply).await.is_err() {
                    break;
                }
            }
            () = tx.closed() => break,
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
        }
    }
    if let Some(f) = forwarder {
        f.abort();
    }
    drop(tx);
    let _ = tokio::time::timeout(Duration::from_millis(500), writer).await;
}

/// Answers one request.
async fn answer(state: &Arc<ControlState>, req: ClientMsg) -> ServerMsg {
    let store = state.store.clone();
    let result = match req {
        ClientMsg::Hello { .. } => Ok(ServerMsg::Hello {
            version: PROTOCOL_VERSION,
            daemon: state.info(),
        }),
        ClientMsg::Subscribe => Ok(ServerMsg::Error {
            message: "already subscribed".into(),
        }),
        ClientMsg::Snapshot => snapshot(state.clone())
            .await
            .map(|orgs| ServerMsg::Snapshot { orgs }),
        ClientMsg::Teams { org } => {
            blocking(move || {
                let teams = store.teams(&org)?;
                Ok(ServerMsg::Teams { org, teams })
            })
            .await
        }
        ClientMsg::TeamMembers { org, team } => {
            blocking(move || {
                Ok(match store.team_members(&org, &team)? {
                    Some(members) => ServerMsg::TeamMembers { org, team, members },
                    None => ServerMsg::Error {
                        message: format!("org {org} has no team {team}"),
                    },
                })
            })
            .await
        }
        ClientMsg::Users { org, prefix, limit } => {
            blocking(move || {
                let users = store.users_by_prefix(&org, &prefix, limit.min(MAX_USERS))?;
                Ok(ServerMsg::Users { org, users })
            })
            .await
        }
        ClientMsg::Backup { path } => {
            let out = PathBuf::from(&path);
            if !out.is_absolute() {
                return ServerMsg::Error {
                    message: format!("the backup path {path} must be absolute"),
                };
            }
            tracing::info!(path = %out.display(), "writing a backup");
            blocking(move || {
                let bytes = store.backup(&out)?;
                tracing::info!(path = %out.display(), bytes, "backup written");
                Ok(ServerMsg::Backup { path, bytes })
            })
            .await
        }
        ClientMsg::Recent { limit } => {
            blocking(move || {
                let records = store.recent_activity(limit.min(MAX_RECENT))?;
                Ok(ServerMsg::Recent { records })
            })
            .await
        }
    };
    result.unwrap_or_else(|err| {
        tracing::warn!(cause = %err, "control request failed");
        ServerMsg::Error {
            message: err.to_string(),
        }
    })
}

/// Streams records and counters into one client's queue without ever waiting on it: what
/// does not fit is counted and reported as `Lagged` once there is room again.
async fn forward(
    tx: mpsc::Sender<ServerMsg>,
    mut feed: broadcast::Receiver<ActivityRecord>,
    mut counters: watch::Receiver<Option<ServerMsg>>,
) {
    let mut missed: u64 = 0;
    // Returns false when the client is gone.
    let offer = |msg: ServerMsg, missed: &mut u64, counts: bool| -> bool {
        if *missed > 0 {
            match tx.try_send(ServerMsg::Lagged { missed: *missed }) {
                Ok(()) => *missed = 0,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    *missed += u64::from(counts);
                    return true;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return false,
            }
        }
        match tx.try_send(msg) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                *missed += u64::from(counts);
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    };
    loop {
        tokio::select! {
            got = feed.recv() => match got {
                Ok(record) => {
                    if !offer(ServerMsg::Activity { record }, &mut missed, true) {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => missed += n,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            changed = counters.changed() => {
                if changed.is_err() {
                    return;
                }
                let msg = counters.borrow_and_update().clone();
                // A dropped counters message is not a missed record: the next one replaces it.
                if let Some(msg) = msg {
                    if !offer(msg, &mut missed, false) {
                        return;
                    }
                }
            }
        }
    }
}

/// Writes queued messages, several per syscall when they pile up. Ends when the queue closes
/// or the client stops reading for [`WRITE_TIMEOUT`].
async fn write_loop(mut wr: OwnedWriteHalf, mut rx: mpsc::Receiver<ServerMsg>) {
    let mut out = Vec::new();
    while let Some(msg) = rx.recv().await {
        out.clear();
        out.extend(line(&msg));
        while out.len() < 64 * 1024 {
            match rx.try_recv() {
                Ok(msg) => out.extend(line(&msg)),
                Err(_) => break,
            }
        }
        match tokio::time::timeout(WRITE_TIMEOUT, wr.write_all(&out)).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                tracing::debug!(cause = %err, "control client went away");
                return;
            }
            Err(_) => {
                tracing::warn!("dashboard client stopped reading; disconnecting it");
                return;
            }
        }
    }
    let _ = wr.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[tokio::test]
    async fn read_msg_skips_blank_lines_and_reports_bad_ones() {
        let input = b"\n{\"type\":\"snapshot\"}\nnonsense\n".to_vec();
        let mut reader = BufReader::new(&input[..]);
        let mut buf = String::new();
        let first = read_msg(&mut reader, &mut buf).await.unwrap();
        assert_eq!(first, Some(Ok(ClientMsg::Snapshot)));
        let second = read_msg(&mut reader, &mut buf).await.unwrap();
        assert!(matches!(second, Some(Err(_))));
        assert_eq!(read_msg(&mut reader, &mut buf).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_full_queue_turns_into_lagged() {
        let (tx, mut rx) = mpsc::channel(2);
        let (feed_tx, feed_rx) = broadcast::channel(16);
        let (_counters_tx, counters_rx) = watch::channel(None);
        let task = tokio::spawn(forward(tx, feed_rx, counters_rx));
        let record = |seq| ActivityRecord {
            seq,
            time: String::new(),
            org: "acme".into(),
            client: "Okta".into(),
            method: "POST".into(),
            resource: "User".into(),
            id: None,
            name: None,
            summary: "created".into(),
            status: 201,
            scim_type: None,
            latency_us: 0,
        };
        for seq in 1..=5 {
            feed_tx.send(record(seq)).unwrap();
        }
        // Let the forwarder drain the feed into the 2-slot queue.
        let first = rx.recv().await.unwrap();
        assert!(matches!(first, ServerMsg::Activity { record } if record.seq == 1));
        tokio::time::timeout(Duration::from_secs(5), async {
            while !feed_tx.is_empty() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap();
        // What fit in the queue was delivered; the rest was counted.
        let mut delivered = 1;
        while let Ok(msg) = rx.try_recv() {
            assert!(matches!(msg, ServerMsg::Activity { .. }));
            delivered += 1;
        }
        assert!(delivered < 5);
        feed_tx.send(record(6)).unwrap();
        match rx.recv().await {
            Some(ServerMsg::Lagged { missed }) => assert_eq!(missed, 5 - delivered),
            other => panic!("expected Lagged, got {other:?}"),
        }
        assert!(matches!(rx.recv().await, Some(ServerMsg::Activity { record }) if record.seq == 6));
        task.abort();
    }
}
