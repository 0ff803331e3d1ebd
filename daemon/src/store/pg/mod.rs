//! The shared backend: the directory in PostgreSQL, so any number of `scimd` processes can
//! serve it. Uniqueness is enforced by the database's unique indexes, versions by row locks,
//! membership is one row per (org, team, user), and the activity log is numbered by the
//! database so every daemon follows one log.
//!
//! tokio-postgres is async; most of the store interface is blocking (it runs on the blocking
//! pool) and waits on the daemon's runtime, which drives the pool's connections (a small
//! runtime of the backend's own when it is opened outside one). Reads that are one statement
//! each (a user's or a team's GET, what an index finds, an unfiltered page) are awaited on
//! that runtime directly, on connections they share (`point.rs`, `page.rs`, `shared.rs`); the
//! group-commit writer drives a connection of its own on its own thread (`batch.rs`).

mod activity;
mod ahead;
mod batch;
mod conn;
mod error;
mod events;
mod flush;
mod hooks;
mod migrate;
mod notify;
mod page;
mod point;
mod purge;
mod rows;
mod schema;
mod shared;
mod tables;
mod target;
mod teams;
mod tls;
mod view;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::runtime::{Handle, Runtime};

use crate::store::commit::{Committer, Job};
use crate::store::engine::{AsyncReads, Capabilities, Engine, Health};
use crate::store::error::{Result, StoreError};
use crate::store::events::Feed;
use crate::store::rows::View;
use batch::Batches;
use conn::{Conn, Driver};
use error::{chain, pool};
use view::Reader;

pub(crate) use migrate::migrate_to;
pub(crate) use schema::SCHEMA_VERSION;
pub use target::{PgTarget, PgTls, SslMode};

/// How long a request waits for a pooled connection.
const POOL_WAIT: Duration = Duration::from_secs(10);
/// How long opening one connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest one statement may run before the server cancels it.
const STATEMENT_TIMEOUT_MS: u64 = 30_000;
/// How often the health check runs.
const HEALTH_EVERY: Duration = Duration::from_secs(1);

/// Connections of `pool_size` that point reads share (one when the pool is smaller than
/// twice this): on a 2-core machine two carried more reads than one or four.
const POINT_CONNECTIONS: usize = 2;

/// The PostgreSQL backend.
pub(crate) struct Postgres {
    /// The runtime the backend made for itself, when opened outside one.
    rt: Option<Runtime>,
    handle: Handle,
    pool: Pool,
    committer: Mutex<Option<Committer>>,
    health: Arc<Mutex<Health>>,
    /// The database's size in bytes as last measured (0 before the first), for
    /// `scimd_store_size_bytes`: a scrape reads it, never the database.
    size: Arc<AtomicU64>,
    /// The health check, and the task that wakes `feed` for other daemons' commits
    /// (`notify.rs`): stopped at close (they may run on the daemon's runtime, which outlives
    /// the store).
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Point reads on the async runtime.
    point: point::Point,
}

/// The connection settings and pool for `url`, on the runtime `rt`.
fn pool_for(target: &PgTarget, size: usize, rt: &Handle) -> Result<Pool> {
    let (config, tls) = settings(target)?;
    pool_with(config, tls, size, rt)
}

/// A pool of at most `size` connections made with `config` and `tls`, on the runtime `rt`.
fn pool_with(
    config: tokio_postgres::Config,
    tls: tls::MakeRustls,
    size: usize,
    rt: &Handle,
) -> Result<Pool> {
    let manager = Manager::from_config(
        config,
        tls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let _enter = rt.enter();
    Pool::builder(manager)
        .max_size(size.max(2))
        .wait_timeout(Some(POOL_WAIT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| StoreError::Db(format!("cannot build the PostgreSQL pool: {e}")))
}

/// The connection settings of `target`, and its TLS connector: what the pool and the listener
/// connect with.
fn settings(target: &PgTarget) -> Result<(tokio_postgres::Config, tls::MakeRustls)> {
    let invalid =
        |e: &dyn std::fmt::Display| StoreError::Db(format!("invalid PostgreSQL url: {e}"));
    let tls = &target.tls;
    let mut config: tokio_postgres::Config = target.url.parse().map_err(|e| invalid(&e))?;
    config.ssl_mode(match tls.mode {
        SslMode::Disable => tokio_postgres::config::SslMode::Disable,
        SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        // The verifying modes differ in the connector's checks, not in what is asked of the
        // server.
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
            tokio_postgres::config::SslMode::Require
        }
    });
    warn_if_unverified(&config, tls.mode);
    config.connect_timeout(CONNECT_TIMEOUT);
    config.application_name("scimd");
    config.options(format!("-c statement_timeout={STATEMENT_TIMEOUT_MS}"));
    let connector = tls::MakeRustls::new(tls)?;
    Ok((config, connector))
}

/// Warns when the connection to a host beyond this machine may be encrypted but is not
/// authenticated: anyone on the path can present a certificate of their own.
fn warn_if_unverified(config: &tokio_postgres::Config, mode: SslMode) {
    if !matches!(mode, SslMode::Prefer | SslMode::Require) {
        return;
    }
    for host in config.get_hosts() {
        if let tokio_postgres::config::Host::Tcp(host) = host {
            if !is_loopback(host) {
                tracing::warn!(
                    host = %host,
                    sslmode = %mode,
                    "the PostgreSQL server's certificate is not verified: anyone between scimd \
                     and the database can read and change the traffic; use sslmode=verify-full \
                     with sslrootcert"
                );
            }
        }
    }
}

/// Whether `host` names this machine: `localhost` or a loopback address.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Postgres {
    /// Connects to `url`, applies the migrations this binary has, and starts the writer and
    /// the listener that wakes `feed` when any daemon commits. Refuses a database whose
    /// schema is newer than this binary. Must not be called from an async thread (it blocks).
    pub(crate) fn open(target: &PgTarget, pool_size: usize, feed: Arc<Feed>) -> Result<Postgres> {
        // The daemon's own runtime drives the pool's connections when there is one, so an
        // awaited read never crosses into another runtime's threads; an admin command opening
        // the store outside any runtime gets a small one of its own.
        let ambient = Handle::try_current()
            .ok()
            .filter(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let (rt, handle) = match ambient {
            Some(handle) => (None, handle),
            None => {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("scimd-pg")
                    .enable_all()
                    .build()
                    .map_err(|e| {
                        StoreError::Db(format!("cannot start the PostgreSQL runtime: {e}"))
                    })?;
                let handle = rt.handle().clone();
                (Some(rt), handle)
            }
        };
        let (config, tls) = settings(target)?;
        // Of `pool_size`, point reads share a few connections; the rest are lent whole, one
        // read snapshot each.
        let shared = if pool_size >= 2 * POINT_CONNECTIONS {
            POINT_CONNECTIONS
        } else {
            1
        };
        let pool = pool_with(
            config.clone(),
            tls.clone(),
            pool_size.saturating_sub(shared),
            &handle,
        )?;
        let point = point::Point::new(
            pool_with(config.clone(), tls.clone(), shared, &handle)?,
            shared,
        );
        {
            let client = handle.block_on(pool.get()).map_err(|e| {
                StoreError::Unavailable(format!("cannot connect to PostgreSQL: {}", chain(&e)))
            })?;
            migrate::migrate(
                &Conn {
                    client: &client,
                    rt: Driver::Shared(&handle),
                    ahead: None,
                },
                None,
            )?;
        }
        let writer = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Db(format!("cannot start the writer's runtime: {e}")))?;
        let committer = Committer::start(Batches {
            pool: pool_with(config.clone(), tls.clone(), 1, writer.handle())?,
            rt: writer,
        });
        let health = Arc::new(Mutex::new(Health::Ok));
        let size = Arc::new(AtomicU64::new(0));
        let watcher = handle.spawn(watch_health(pool.clone(), health.clone(), size.clone()));
        let listener = handle.spawn(notify::listen(config, tls, feed));
        Ok(Postgres {
            rt,
            handle,
            pool,
            committer: Mutex::new(Some(committer)),
            health,
            size,
            tasks: Mutex::new(vec![watcher, listener]),
            point,
        })
    }
}

/// Checks the database once per [`HEALTH_EVERY`], so `/healthz` answers from memory.
async fn watch_health(pool: Pool, health: Arc<Mutex<Health>>, size: Arc<AtomicU64>) {
    let mut tick = tokio::time::interval(HEALTH_EVERY);
    let mut ticks: u64 = 0;
    loop {
        tick.tick().await;
        if ticks.is_multiple_of(SIZE_EVERY_TICKS) {
            measure_size(&pool, &size).await;
        }
        ticks += 1;
        let check = async {
            let client = pool.get().await.map_err(|e| e.to_string())?;
            client
                .simple_query("SELECT 1")
                .await
                .map_err(|e| e.to_string())
        };
        let now = match tokio::time::timeout(CONNECT_TIMEOUT, check).await {
            Ok(Ok(_)) => Health::Ok,
            Ok(Err(e)) => Health::Recovering {
                reason: format!("PostgreSQL is unreachable: {e}"),
                disk_full: false,
            },
            Err(_) => Health::Recovering {
                reason: "PostgreSQL does not answer".into(),
                disk_full: false,
            },
        };
        if let Ok(mut h) = health.lock() {
            if *h != now {
                match &now {
                    Health::Ok => tracing::info!("PostgreSQL answers again"),
                    other => tracing::warn!(state = ?other, "PostgreSQL health check failed"),
                }
            }
            *h = now;
        }
    }
}

/// How many health checks pass between two measurements of the database's size: it stats
/// every file of the database, so not once a second.
const SIZE_EVERY_TICKS: u64 = 30;

/// Measures the database's size; a failure leaves the last figure (health says why).
async fn measure_size(pool: &Pool, size: &AtomicU64) {
    let measured = async {
        let client = pool.get().await.ok()?;
        let row = client
            .query_one("SELECT pg_database_size(current_database())", &[])
            .await
            .ok()?;
        u64::try_from(row.get::<_, i64>(0)).ok()
    };
    if let Ok(Some(bytes)) = tokio::time::timeout(CONNECT_TIMEOUT, measured).await {
        size.store(bytes, Ordering::Relaxed);
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.close();
        // Dropping a runtime blocks, which is not allowed on an async thread; its tasks
        // (connections, the health check) are only idle I/O at this point.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Engine for Postgres {
    fn size_bytes(&self) -> Option<u64> {
        match self.size.load(Ordering::Relaxed) {
            0 => None,
            bytes => Some(bytes),
        }
    }

    fn health(&self) -> Health {
        self.health.lock().map(|h| h.clone()).unwrap_or(Health::Ok)
    }

    fn close(&self) {
        let committer = self.committer.lock().ok().and_then(|mut c| c.take());
        drop(committer);
        if let Ok(mut tasks) = self.tasks.lock() {
            for task in tasks.drain(..) {
                task.abort();
            }
        }
        self.pool.close();
    }

    fn observe(&self, err: &StoreError) {
        if matches!(err, StoreError::Unavailable(_)) {
            if let Ok(mut h) = self.health.lock() {
                if *h == Health::Ok {
                    *h = Health::Recovering {
                        reason: err.to_string(),
                        disk_full: false,
                    };
                }
            }
        }
    }

    fn async_reads(&self) -> Option<&dyn AsyncReads> {
        Some(&self.point)
    }

    fn capabilities(&self) -> Capabilities {
        // Every read crosses the network to the database; other daemons share it.
        Capabilities {
            cheap_point_reads: false,
            shared: true,
        }
    }

    fn read(&self, f: &mut dyn FnMut(&dyn View) -> Result<()>) -> Result<()> {
        let client = self.handle.block_on(self.pool.get()).map_err(pool)?;
        let view = Reader::new(&client, &self.handle);
        let result = f(&view);
        // What a read cost, for checking that a page's cost does not grow with its size.
        tracing::debug!(queries = view.queries.get(), "read snapshot ended");
        if view.begun.get() {
            // The snapshot ends off the request's path: the connection goes back to the pool
            // once its COMMIT is through, so no later user sees the open transaction.
            self.handle.spawn(async move {
                if let Err(e) = client.batch_execute("COMMIT").await {
                    tracing::debug!(cause = %e, "ending a read snapshot failed");
                    let _ = deadpool_postgres::Object::take(client);
                }
            });
        }
        result
    }

    fn settle(&self) -> Result<()> {
        // Statistics of the copied tables: without them the planner guessed, for one, that
        // sorting an org's every row beat walking its primary key for a deep page.
        let client = self.handle.block_on(self.pool.get()).map_err(pool)?;
        self.handle
            .block_on(client.batch_execute(
                "ANALYZE scimd_users, scimd_user_emails, scimd_groups, scimd_members, \
                 scimd_counts, scimd_events, scimd_activity",
            ))
            .map_err(error::db)
    }

    fn enqueue(&self, job: Job) -> Result<()> {
        match self.committer.lock().ok().as_ref().and_then(|c| c.as_ref()) {
            Some(c) => c.enqueue(job),
            None => Err(StoreError::Unavailable("the store is closing".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_machine_counts_as_loopback() {
        for host in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["db.internal", "10.0.0.7", "::2", "localhost.example.com"] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
