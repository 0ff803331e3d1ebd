//! `scimd serve`: load (or create) the config, open the store, listen, watch the config file
//! (and SIGHUP) for live reloads, and serve until SIGINT/SIGTERM or until the store gives up.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use scimd_config::{Config, ConfigError, StoreBackend, Watcher};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::activity::{Activity, Bus};
use crate::http::{self, AppState};
use crate::store::{Store, StoreError};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the store {path}: {source}")]
    Store { path: PathBuf, source: StoreError },
    /// The PostgreSQL store cannot be used: unreachable, or its schema is newer than scimd.
    #[error("cannot open the PostgreSQL store {url}: {source}")]
    Database { url: String, source: StoreError },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The store failed and could not be reopened: exit so a supervisor restarts scimd.
    #[error("the store failed and could not be reopened: {0}")]
    StoreFailed(String),
}

/// The SCIM base URL of `org` as clients should configure it.
pub fn base_url(config: &Config, scheme: &str, addr: SocketAddr, org: &str) -> String {
    crate::site::base_url(config, scheme, &addr.to_string(), org)
}

/// When the config file does not exist, writes the starter config and prints its one token.
/// Returns whether it did.
pub fn ensure_config(path: &Path) -> Result<bool, ServeError> {
    if path.exists() {
        return Ok(false);
    }
    let token = scimd_config::write_starter(path)?;
    let config = Config::load(path)?;
    println!(
        "Wrote a starter config to {} with one org, \"example\".",
        path.display()
    );
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    println!(
        "SCIM base URL: {}",
        base_url(&config, scheme, config.listen, "example")
    );
    println!("Its bearer token, shown only once (`scimd token rotate --org example` replaces it):");
    println!("{token}");
    Ok(true)
}

fn config_event(summary: String, status: u16) -> Activity {
    Activity {
        seq: 0,
        time: crate::now_rfc3339(),
        org: String::new(),
        client: "scimd".into(),
        method: "RELOAD".into(),
        resource: "config".into(),
        id: None,
        name: None,
        summary,
        status,
        scim_type: None,
        latency_us: 0,
    }
}

/// Publishes reloaded configs to the running service, or says why one was rejected.
struct Reloader {
    tx: watch::Sender<Arc<Config>>,
    bus: Bus,
    tls: Option<Arc<crate::tls::Current>>,
}

impl Reloader {
    fn apply(&self, result: Result<Config, ConfigError>) {
        // A file with no orgs at all is far more likely a truncated save or an emptied
        // ConfigMap than a wish to drop every tenant at once.
        let result = result.and_then(|new| {
            if new.orgs.is_empty() && !self.tx.borrow().orgs.is_empty() {
                Err(ConfigError::Parse {
                    path: new.path.clone(),
                    line_col: None,
                    message: "the file has no orgs; refusing to drop every org at once \
                              (remove them one at a time, or restart with the empty file)"
                        .into(),
                })
            } else {
                Ok(new)
            }
        });
        match result {
            Ok(new) => {
                let old = self.tx.borrow().clone();
                let diff = old.diff(&new);
                // New connections use the new pair; a pair that fails to load keeps the old one.
                if let (Some(current), Some(t)) = (&self.tls, &new.tls) {
                    match crate::tls::load(t) {
                        Ok(c) => current.set(c),
                        Err(err) => {
                            tracing::error!(cause = %err, "keeping the previous TLS certificate")
                        }
                    }
                }
                for key in &diff.restart_needed {
                    tracing::warn!(key = %key, "config change needs a restart to take effect");
                }
                tracing::info!(
                    added = ?diff.orgs_added,
                    removed = ?diff.orgs_removed,
                    tokens_rotated = ?diff.tokens_rotated,
                    changed = ?diff.orgs_changed,
                    settings = ?diff.settings_changed,
                    "config reloaded"
                );
                let summary = format!(
                    "config reloaded: orgs added {:?}, removed {:?}, changed {:?}, tokens rotated {:?}",
                    diff.orgs_added, diff.orgs_removed, diff.orgs_changed, diff.tokens_rotated
                );
                warn_if_exposed(&new);
                self.tx.send_replace(Arc::new(new));
                crate::metrics::get().reload(true);
                self.bus.publish(config_event(summary, 200));
            }
            Err(err) => {
                tracing::error!(cause = %err, "config rejected; keeping the running config");
                crate::metrics::get().reload(false);
                self.bus
                    .publish(config_event(format!("config rejected: {err}"), 400));
            }
        }
    }
}

/// Warns when the config file is readable by group or others and holds a secret.
fn warn_if_exposed(config: &Config) {
    if let Some(warning) = scimd_config::exposed_secrets(config) {
        tracing::warn!("{warning}");
    }
}

/// Warns about each org the store holds data of that the config no longer has: its data stays
/// until an operator purges it, and should not be forgotten.
async fn warn_unconfigured(store: &Store, config: &Config) {
    let s = store.clone();
    match tokio::task::spawn_blocking(move || s.orgs()).await {
        Ok(Ok(stored)) => {
            for org in crate::admin::unconfigured(config, stored) {
                tracing::warn!(org = %org, "{}", crate::admin::kept_line(&org));
            }
        }
        Ok(Err(err)) => tracing::warn!(cause = %err, "cannot list the stored orgs"),
        Err(err) => tracing::warn!(cause = %err, "cannot list the stored orgs"),
    }
}

/// Runs the server until `shutdown` resolves.
pub async fn run(
    config_path: &Path,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ServeError> {
    let config = Config::load(config_path)?;
    warn_if_exposed(&config);
    let fds = raise_fd_limit();
    // Each connection is a descriptor, and the store, socket and watcher need a few more.
    if fds < config.limits.max_connections as u64 + 64 {
        tracing::warn!(
            open_files = fds,
            max_connections = config.limits.max_connections,
            "the open-files limit is below max_connections + 64: lower [limits] max_connections or raise the limit"
        );
    }
    private_dir(&config.data_dir).map_err(|source| ServeError::DataDir {
        path: config.data_dir.clone(),
        source,
    })?;
    crate::store::observe::install(Box::new(crate::metrics::StoreFigures));
    let store = open_store(&config).await?;
    warn_unconfigured(&store, &config).await;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: config.listen,
        source,
    })?;
    let tls = match &config.tls {
        Some(t) => {
            tracing::info!(cert = %t.cert.display(), "serving HTTPS");
            Some(Arc::new(crate::tls::Current::new(crate::tls::load(t)?)))
        }
        None => {
            tracing::info!("serving plain HTTP: put scimd behind a TLS-terminating reverse proxy");
            None
        }
    };
    let metrics_listener = match config.metrics {
        Some(maddr) => Some(
            TcpListener::bind(maddr)
                .await
                .map_err(|source| ServeError::Bind {
                    addr: maddr,
                    source,
                })?,
        ),
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let banner: Vec<String> = std::iter::once(format!("scimd listening on {scheme}://{addr}"))
        .chain(config.orgs.values().map(|org| {
            format!(
                "  org {}: {}",
                org.name,
                base_url(&config, scheme, addr, &org.name)
            )
        }))
        .chain(metrics_listener.as_ref().and_then(|l| {
            l.local_addr()
                .ok()
                .map(|a| format!("  metrics: http://{a}/metrics"))
        }))
        .collect();

    let bus = Bus::new(1024);
    let (tx, rx) = watch::channel(Arc::new(config));
    // Started before the first request so the activity log sees every record.
    let dashboard = crate::control::Dashboard::start(crate::control::Setup {
        socket: rx.borrow().socket.clone(),
        store: store.clone(),
        bus: bus.clone(),
        // Also the activity log's retention, so a reloaded `[activity]` applies live.
        config: rx.clone(),
    });
    let reloader = Arc::new(Reloader {
        tx,
        bus: bus.clone(),
        tls: tls.clone(),
    });
    let on_change = reloader.clone();
    let watcher = Watcher::spawn(config_path, move |result| on_change.apply(result))?;
    // An edit between the first load and the watcher's start would otherwise go unseen.
    if let Ok(latest) = Config::load(config_path) {
        if !rx.borrow().diff(&latest).is_empty() {
            reloader.apply(Ok(latest));
        }
    }
    // Printed only now, so whoever waits for this line knows edits are being watched.
    for line in banner {
        println!("{line}");
    }

    let watcher = Arc::new(watcher);
    let hangups = watcher.clone();
    let hup = tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the config");
            if let Err(err) = hangups.reload_now() {
                tracing::error!(cause = %err, "cannot reload the config");
            }
        }
    });

    let (prune_stop, prune_stopped) = watch::channel(false);
    let pruner = tokio::spawn(crate::prune::run(store.clone(), rx.clone(), prune_stopped));
    // Before the first request: each endpoint's starting position must precede it.
    let webhooks = crate::webhooks::start(
        store.clone(),
        rx.clone(),
        crate::webhooks::Origin { scheme, addr },
    )
    .await;
    let store_for_state = store.clone();
    let state = Arc::new(AppState::new(rx, store_for_state, bus, scheme));
    let (metrics_stop, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
    let metrics_task = metrics_listener.map(|listener| {
        let gate = state.gate.clone();
        let scrape = Arc::new(crate::metrics::Scrape {
            open_connections: Box::new(move || gate.open()),
            store: store.clone(),
        });
        tokio::spawn(crate::metrics::serve(listener, scrape, async {
            let _ = metrics_stopped.await;
        }))
    });
    let failed = store_failed(store.clone());
    tokio::pin!(failed);
    let mut gave_up = None;
    let stop = async {
        tokio::select! {
            () = shutdown => {}
            reason = &mut failed => gave_up = Some(reason),
        }
    };
    http::serve(listener, state, tls, stop).await;
    let _ = metrics_stop.send(());
    if let Some(task) = metrics_task {
        let _ = task.await;
    }
    hup.abort();
    let _ = prune_stop.send(true);
    let _ = pruner.await;
    webhooks.stop().await;
    // Writes the last activity records and removes the control socket file.
    dashboard.stop().await;
    // Waits for the writer's last batch, so the file closes cleanly.
    store.close();
    if let Some(reason) = gave_up {
        tracing::error!(cause = %reason, "scimd stopped: the store failed");
        return Err(ServeError::StoreFailed(reason));
    }
    tracing::info!("scimd stopped");
    Ok(())
}

/// Opens the store the config names: the redb file in `data_dir`, or PostgreSQL.
pub async fn open_store(config: &Config) -> Result<Store, ServeError> {
    match &config.store.backend {
        StoreBackend::Redb => {
            let path = crate::site::store_path(config);
            warn_if_shared(&path);
            Store::open(&path).map_err(|source| ServeError::Store { path, source })
        }
        StoreBackend::Postgres(pg) => {
            let url = pg.redacted_url();
            tracing::info!(url = %url, pool_size = pg.pool_size, "opening the PostgreSQL store");
            let (full, size) = (pg.url.clone(), pg.pool_size);
            // Connecting and migrating block; the async threads must not.
            let opened = tokio::task::spawn_blocking(move || crate::pg_url::open(&full, size))
                .await
                .map_err(|e| ServeError::Database {
                    url: url.clone(),
                    source: StoreError::Db(format!("the opening task failed: {e}")),
                })?;
            opened.map_err(|source| ServeError::Database { url, source })
        }
    }
}

/// Resolves with the reason once the store has given up reopening.
async fn store_failed(store: Store) -> String {
    loop {
        if let crate::store::Health::Failed(reason) = store.health() {
            return reason;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// Creates `dir` readable by scimd's user alone (0700, whatever the umask), or warns when an
/// existing one is open to others: it holds every org's names and emails.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        return Ok(());
    }
    warn_if_shared(dir);
    Ok(())
}

fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{mode:o}"),
                "readable by other local users; chmod {} it",
                if meta.is_dir() { "700" } else { "600" }
            );
        }
    }
}

/// Raises the soft open-files limit to the hard one, so that `limits.max_connections` is
/// reachable; returns the soft limit in force.
fn raise_fd_limit() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    let before = limit.current;
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        match setrlimit(Resource::Nofile, limit) {
            Ok(()) => {
                tracing::debug!(?before, now = ?limit.current, "raised the open-files limit");
                return limit.current.unwrap_or(u64::MAX);
            }
            Err(e) => tracing::warn!(cause = %e, "cannot raise the open-files limit"),
        }
    }
    before.unwrap_or(u64::MAX)
}
