//! The webhook part: SCIM POST throughput with one webhook endpoint attached against the same
//! load on a daemon without one (the bound: within 10%), how long the endpoint takes
//! to have every event of that load, and how fast the events API drains a feed of 100,000
//! events page by page. The receiver is a hyper server in this process answering 204, on a
//! thread of its own.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use crate::daemon::{Instance, Running, ORG};
use crate::load::{self, Plan, Req, Stats, Target};
use crate::report::count;
use crate::{pg, post_user, seed};

pub struct Settings {
    pub clients: usize,
    pub secs: Duration,
    /// Events in the feed the drain reads.
    pub drain_events: usize,
    pub seed_batch: usize,
}

pub struct WebhookResult {
    pub without: Stats,
    pub with: Stats,
    /// From the end of the load with the endpoint until it had every event of the load.
    pub catch_up: Duration,
    pub delivered: u64,
    pub drain_events: u64,
    pub drain_pages: u64,
    pub drain_time: Duration,
}

/// A receiver that answers every request 204 and counts them, on a runtime (one thread) of
/// its own, so that its work does not delay the load generator's clients.
fn receiver() -> anyhow::Result<(SocketAddr, Arc<AtomicU64>)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let count = Arc::new(AtomicU64::new(0));
    let seen = count.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::spawn(move || {
        rt.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                return;
            };
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let seen = seen.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |_req| {
                        let seen = seen.clone();
                        async move {
                            seen.fetch_add(1, Ordering::Relaxed);
                            let mut resp = hyper::Response::new(Full::new(Bytes::new()));
                            *resp.status_mut() = hyper::StatusCode::NO_CONTENT;
                            Ok::<_, std::convert::Infallible>(resp)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        })
    });
    Ok((addr, count))
}

/// Rewrites the instance's config: org [`ORG`] with its token, an events token, and the
/// webhook table when `hook` names a receiver. Returns the events token.
pub fn configure(inst: &Instance, hook: Option<SocketAddr>) -> anyhow::Result<String> {
    let events = scimd_config::token::generate();
    let mut text = format!(
        "listen = \"127.0.0.1:0\"\ndata_dir = \"data\"\n\n[orgs.{ORG}]\ndisplay_name = \"{ORG} Inc\"\n\
         tokens = [\"{}\"]\nevent_tokens = [\"{}\"]\n",
        scimd_config::token::hash(&inst.token),
        scimd_config::token::hash(&events),
    );
    if let Some(addr) = hook {
        text.push_str(&format!(
            "\n[[orgs.{ORG}.webhooks]]\nurl = \"http://{addr}/hook\"\nsecret = \"{}\"\n",
            scimd_config::WebhookSecret::generate()
        ));
    }
    std::fs::write(&inst.config, text)?;
    Ok(events)
}

fn posts(clients: usize, secs: Duration, tag: &'static str) -> Plan {
    Plan {
        clients,
        duration: secs,
        expect: 201,
        gen: Arc::new(move |c, seq| Some(post_user(&format!("{tag}-{c}-{seq}"), "Hook"))),
        created: None,
    }
}

/// One POST load on a fresh daemon, with or without the endpoint; the catch-up time when the
/// endpoint is there.
fn write_load(
    rt: &tokio::runtime::Runtime,
    bin: &std::path::Path,
    pg: Option<&pg::Server>,
    s: &Settings,
    hook: Option<(SocketAddr, Arc<AtomicU64>)>,
) -> anyhow::Result<(Stats, Option<(Duration, u64)>)> {
    let what = if hook.is_some() { "with" } else { "without" };
    let inst = Instance::new()?;
    configure(&inst, hook.as_ref().map(|h| h.0))?;
    let db = pg
        .map(|p| p.fresh(&format!("webhooks_{what}")))
        .transpose()?;
    if let Some(db) = &db {
        seed::users(&inst.store_path(), ORG, 1, s.seed_batch)?;
        db.load(&inst)?;
    }
    let daemon = Running::start(bin, &inst)?;
    let target = Target {
        addr: daemon.addr,
        token: Some(inst.token.clone()),
    };
    let before = hook.as_ref().map_or(0, |h| h.1.load(Ordering::Relaxed));
    let stats = rt.block_on(load::drive(
        &target,
        &posts(s.clients, s.secs, if hook.is_some() { "w" } else { "n" }),
    ))?;
    eprintln!(
        "  POST {what} a webhook: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms ({} errors)",
        stats.rps(),
        stats.p50(),
        stats.p99(),
        stats.errors
    );
    let caught = match &hook {
        None => None,
        Some((_, n)) => {
            let ended = Instant::now();
            let want = before + stats.ok;
            while n.load(Ordering::Relaxed) < want {
                if ended.elapsed() > Duration::from_secs(300) {
                    bail!(
                        "the endpoint had {} of {want} events 300 s after the load",
                        n.load(Ordering::Relaxed)
                    );
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Some((ended.elapsed(), n.load(Ordering::Relaxed) - before))
        }
    };
    daemon.stop()?;
    Ok((stats, caught))
}

/// Reads the whole feed of a seeded org, 1000 events a page, one request after another.
fn drain(
    rt: &tokio::runtime::Runtime,
    bin: &std::path::Path,
    pg: Option<&pg::Server>,
    s: &Settings,
) -> anyhow::Result<(u64, u64, Duration)> {
    let inst = Instance::new()?;
    let events = configure(&inst, None)?;
    eprintln!("  seeding {} users (one event each)", s.drain_events);
    seed::users(&inst.store_path(), ORG, s.drain_events, s.seed_batch)?;
    let db = pg.map(|p| p.fresh("webhooks_drain")).transpose()?;
    if let Some(db) = &db {
        db.load(&inst)?;
    }
    let daemon = Running::start(bin, &inst)?;
    let target = Target {
        addr: daemon.addr,
        token: Some(events),
    };
    let (got, pages, took) = rt.block_on(async {
        let mut conn = load::Conn::open(&target).await?;
        let mut after = "0".to_string();
        let (mut got, mut pages) = (0u64, 0u64);
        let started = Instant::now();
        loop {
            let a = conn
                .send(Req::get(format!(
                    "/events/v1/{ORG}?limit=1000&after={after}"
                )))
                .await?;
            if a.status != 200 {
                bail!("events page after {after}: status {}", a.status);
            }
            let page: serde_json::Value = serde_json::from_slice(&a.body)?;
            got += page["data"].as_array().map_or(0, |d| d.len() as u64);
            pages += 1;
            after = page["next"].as_str().context("next")?.to_string();
            if page["hasMore"] != serde_json::json!(true) {
                break;
            }
        }
        anyhow::Ok((got, pages, started.elapsed()))
    })?;
    eprintln!(
        "  drained {got} events in {pages} pages in {took:.2?} ({:.0} events/s)",
        got as f64 / took.as_secs_f64()
    );
    daemon.stop()?;
    Ok((got, pages, took))
}

pub fn run(
    rt: &tokio::runtime::Runtime,
    bin: &std::path::Path,
    pg: Option<&pg::Server>,
    s: &Settings,
) -> anyhow::Result<WebhookResult> {
    eprintln!("webhooks: POST throughput without and with one endpoint, then the events drain");
    let hook = receiver()?;
    let (without, _) = write_load(rt, bin, pg, s, None)?;
    let (with, caught) = write_load(rt, bin, pg, s, Some(hook))?;
    let (catch_up, delivered) = caught.unwrap_or_default();
    let (drain_events, drain_pages, drain_time) = drain(rt, bin, pg, s)?;
    Ok(WebhookResult {
        without,
        with,
        catch_up,
        delivered,
        drain_events,
        drain_pages,
        drain_time,
    })
}

/// The part's section of the report.
pub fn render(r: &WebhookResult, clients: usize) -> String {
    let mut o = String::new();
    let ratio = r.with.rps() / r.without.rps().max(f64::MIN_POSITIVE);
    let _ = writeln!(o, "\n### Webhooks\n");
    let _ = writeln!(
        o,
        "| scenario | clients | ok | errors | req/s | p50 ms | p99 ms |\n| --- | --- | --- | --- | --- | --- | --- |"
    );
    for (label, st) in [
        ("POST /Users, no webhook", &r.without),
        ("POST /Users, one webhook endpoint", &r.with),
    ] {
        let _ = writeln!(
            o,
            "| {label} | {clients} | {} | {} | {} | {:.2} | {:.2} |",
            count(st.ok),
            st.errors,
            count(st.rps().round() as u64),
            st.p50(),
            st.p99()
        );
    }
    let _ = writeln!(
        o,
        "\nWith the endpoint, throughput is {:.1}% of without it (target: at least 90%). The \
         endpoint had all {} events of that load {:.2?} after it ended.",
        ratio * 100.0,
        count(r.delivered),
        r.catch_up
    );
    let _ = writeln!(
        o,
        "\nEvents API drain: {} events in {} pages of 1000 in {:.2?}, {} events/s (one client, \
         one request after another).",
        count(r.drain_events),
        r.drain_pages,
        r.drain_time,
        count((r.drain_events as f64 / r.drain_time.as_secs_f64().max(1e-9)).round() as u64)
    );
    o
}
