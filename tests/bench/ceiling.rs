//! The two ceilings that make results ratios: a bare hyper server in this process answering a
//! fixed SCIM user body (the HTTP ceiling, driven by the same client at the same concurrency),
//! and plain redb single-insert commits with `Durability::Immediate` (the disk ceiling). With
//! `--postgres`, the PostgreSQL server's own commit ceilings come from `pg.rs` (pgbench, one
//! connection and the bench's clients).
//! [`ceilings`] measures them all for the `ceilings` part.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, HeaderValue, Response};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use redb::{Database, Durability, TableDefinition};
use scimd_core::resource::{render, Meta};
use scimd_core::ResourceType;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::load::{self, Gen, Plan, Req, Target};
use crate::report::Ceilings;
use crate::seed::user_attrs;
use crate::{pg, Args, BASE};

/// A rendered SCIM user as the daemon answers a GET by id, for the bare server to send.
pub fn user_body(addr: SocketAddr) -> Bytes {
    let meta = Meta {
        created: "2025-01-01T00:00:00.000Z".into(),
        last_modified: "2025-01-01T00:00:00.000Z".into(),
        version: 1,
    };
    let v = render(
        ResourceType::User,
        "0194a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        &user_attrs(4711),
        &meta,
        &format!("http://{addr}/scim/v2/bench"),
        Some(Vec::new()),
    );
    Bytes::from(serde_json::to_vec(&v).unwrap_or_default())
}

/// A bare hyper HTTP/1.1 server on its own multi-threaded runtime (as many workers as the
/// daemon's), answering every request with `body`. Stops when dropped.
pub struct BareServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BareServer {
    pub fn start() -> anyhow::Result<BareServer> {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Runtime::new() else {
                return;
            };
            rt.block_on(async move {
                let Ok(listener) = TcpListener::bind("127.0.0.1:0").await else {
                    return;
                };
                let Ok(addr) = listener.local_addr() else {
                    return;
                };
                let body = user_body(addr);
                let _ = addr_tx.send(addr);
                let accept = async {
                    while let Ok((stream, _)) = listener.accept().await {
                        let _ = stream.set_nodelay(true);
                        let body = body.clone();
                        tokio::spawn(async move {
                            let svc = service_fn(move |_req| {
                                let mut resp = Response::new(Full::new(body.clone()));
                                resp.headers_mut().insert(
                                    header::CONTENT_TYPE,
                                    HeaderValue::from_static(
                                        "application/scim+json; charset=utf-8",
                                    ),
                                );
                                resp.headers_mut()
                                    .insert(header::ETAG, HeaderValue::from_static("W/\"1\""));
                                async move { Ok::<_, Infallible>(resp) }
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), svc)
                                .await;
                        });
                    }
                };
                tokio::select! {
                    () = accept => {}
                    _ = stop_rx => {}
                }
            });
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| anyhow::anyhow!("the bare hyper server did not start"))?;
        Ok(BareServer {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

impl Drop for BareServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

const T: TableDefinition<u64, &[u8]> = TableDefinition::new("t");

/// A durable single-insert commit rate: one key (with a user-sized value) per transaction,
/// for `duration`. For redb, `Durability::Immediate` in a fresh temp file.
pub struct DiskCeiling {
    pub commits: u64,
    pub elapsed: Duration,
    pub lat_us: Vec<u32>,
}

impl DiskCeiling {
    pub fn per_sec(&self) -> f64 {
        self.commits as f64 / self.elapsed.as_secs_f64()
    }

    pub fn p50_ms(&self) -> f64 {
        self.lat_us
            .get(self.lat_us.len() / 2)
            .map_or(f64::NAN, |v| f64::from(*v) / 1000.0)
    }

    pub fn p99_ms(&self) -> f64 {
        self.lat_us
            .get(self.lat_us.len() * 99 / 100)
            .map_or(f64::NAN, |v| f64::from(*v) / 1000.0)
    }
}

pub fn redb_commits(duration: Duration) -> anyhow::Result<DiskCeiling> {
    let dir = tempfile::Builder::new()
        .prefix("scimd-bench-redb-")
        .tempdir()?;
    let db = Database::create(dir.path().join("ceiling.redb"))?;
    let value = vec![b'x'; 400];
    let mut lat_us = Vec::new();
    let start = Instant::now();
    let mut key = 0u64;
    while start.elapsed() < duration {
        let t0 = Instant::now();
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate);
        {
            let mut t = txn.open_table(T)?;
            t.insert(key, value.as_slice())?;
        }
        txn.commit()?;
        lat_us.push(t0.elapsed().as_micros() as u32);
        key += 1;
    }
    let elapsed = start.elapsed();
    lat_us.sort_unstable();
    Ok(DiskCeiling {
        commits: key,
        elapsed,
        lat_us,
    })
}

/// The bare hyper server and redb durable commit ceilings, and with `--postgres` the server's.
pub fn ceilings(
    rt: &tokio::runtime::Runtime,
    args: &Args,
    pg: Option<&pg::Server>,
    secs: Duration,
) -> anyhow::Result<Ceilings> {
    eprintln!("ceilings: bare hyper server, {} clients", args.clients);
    let bare = BareServer::start()?;
    let bare_target = Target {
        addr: bare.addr,
        token: None,
    };
    let gen: Gen = Arc::new(|_, _| Some(Req::get(format!("{BASE}/Users/x"))));
    let hyper = rt.block_on(load::drive(
        &bare_target,
        &Plan {
            clients: args.clients,
            duration: secs,
            expect: 200,
            gen,
            created: None,
        },
    ))?;
    drop(bare);
    eprintln!("  {:.0} req/s", hyper.rps());
    eprintln!("ceilings: redb single-insert durable commits");
    let disk = redb_commits(secs)?;
    eprintln!("  {:.0} commits/s", disk.per_sec());
    let pgbench = |server: &pg::Server, clients: usize| -> anyhow::Result<_> {
        eprintln!("ceilings: PostgreSQL single-row commits (pgbench, {clients} connection(s))");
        Ok(match server.commit_ceiling(secs, clients)? {
            Some(c) => {
                eprintln!("  {:.0} commits/s", c.per_sec());
                Ok(c)
            }
            None => Err("no pgbench on PATH or in /usr/lib/postgresql/*/bin".to_string()),
        })
    };
    let pg_one = pg.map(|server| pgbench(server, 1)).transpose()?;
    // Issue 21 holds durable POST at the bench's clients against the engine at as many.
    let pg_many = match pg {
        Some(server) if args.clients > 1 => Some(pgbench(server, args.clients)?),
        _ => None,
    };
    Ok(Ceilings {
        hyper,
        disk,
        pg: pg_one,
        pg_many,
    })
}
