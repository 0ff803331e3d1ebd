//! The load generator: keep-alive HTTP/1.1 clients on tokio and hyper, one connection per
//! client, each sending its next request as soon as the last one is answered, for a fixed time
//! (or until its requests run out). Every request's latency is kept for the percentiles.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http::{header, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Where requests go and how they authenticate.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    /// `Authorization: Bearer` value, when the server wants one.
    pub token: Option<String>,
}

/// One request: method, origin-form path with query, optional JSON body.
pub struct Req {
    pub method: Method,
    pub path: String,
    pub body: Option<Bytes>,
}

impl Req {
    pub fn get(path: String) -> Req {
        Req {
            method: Method::GET,
            path,
            body: None,
        }
    }

    pub fn with_body(method: Method, path: String, body: String) -> Req {
        Req {
            method,
            path,
            body: Some(Bytes::from(body)),
        }
    }
}

/// Makes client `c`'s request number `seq`; `None` ends that client.
pub type Gen = Arc<dyn Fn(usize, u64) -> Option<Req> + Send + Sync>;

/// One scenario's load.
pub struct Plan {
    pub clients: usize,
    pub duration: Duration,
    /// The status every answer must have; anything else counts as an error.
    pub expect: u16,
    pub gen: Gen,
    /// Where the ids of created resources (from `Location`) go, for a later DELETE.
    pub created: Option<Arc<Mutex<Vec<String>>>>,
}

/// What a scenario measured.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub ok: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// From the first request sent to the last answer received.
    pub elapsed: Duration,
    /// Latencies of the successful requests in microseconds, sorted.
    pub lat_us: Vec<u32>,
    pub clients: usize,
    /// Response bytes of the successful requests.
    pub bytes: u64,
}

impl Stats {
    pub fn rps(&self) -> f64 {
        if self.elapsed.is_zero() {
            0.0
        } else {
            self.ok as f64 / self.elapsed.as_secs_f64()
        }
    }

    /// The `q` quantile (0..=1) of latency, in milliseconds.
    pub fn pct_ms(&self, q: f64) -> f64 {
        if self.lat_us.is_empty() {
            return f64::NAN;
        }
        let i = ((self.lat_us.len() as f64 - 1.0) * q).round() as usize;
        f64::from(self.lat_us[i.min(self.lat_us.len() - 1)]) / 1000.0
    }

    pub fn p50(&self) -> f64 {
        self.pct_ms(0.50)
    }

    pub fn p99(&self) -> f64 {
        self.pct_ms(0.99)
    }

    /// The slowest request, in milliseconds.
    pub fn max_ms(&self) -> f64 {
        self.lat_us
            .last()
            .map_or(f64::NAN, |v| f64::from(*v) / 1000.0)
    }
}

type Sender = SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> anyhow::Result<Sender> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

fn build(target: &Target, req: Req) -> anyhow::Result<Request<Full<Bytes>>> {
    let mut b = Request::builder()
        .method(req.method)
        .uri(req.path)
        .header(header::HOST, target.addr.to_string())
        .header(header::USER_AGENT, "scimd-bench");
    if let Some(token) = &target.token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if req.body.is_some() {
        b = b.header(header::CONTENT_TYPE, "application/scim+json");
    }
    Ok(b.body(Full::new(req.body.unwrap_or_default()))?)
}

/// The answer to one request.
pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: Bytes,
}

async fn send(sender: &mut Sender, target: &Target, req: Req) -> anyhow::Result<Answer> {
    sender.ready().await?;
    let resp = sender.send_request(build(target, req)?).await?;
    let status = resp.status();
    let location = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = resp.into_body().collect().await?.to_bytes();
    Ok(Answer {
        status,
        location,
        body,
    })
}

/// Sends one request on a fresh connection (probes and setup, not measured).
pub async fn once(target: &Target, req: Req) -> anyhow::Result<Answer> {
    let mut sender = connect(target.addr).await?;
    send(&mut sender, target, req).await
}

/// Sends one request on a fresh connection and hands the answer's body to `each`, frame by
/// frame as it arrives, never holding it whole (a stream read as fast as the client can).
/// Returns the status.
pub async fn stream(
    target: &Target,
    req: Req,
    each: &mut dyn FnMut(&[u8]),
) -> anyhow::Result<StatusCode> {
    let mut sender = connect(target.addr).await?;
    sender.ready().await?;
    let resp = sender.send_request(build(target, req)?).await?;
    let status = resp.status();
    let mut body = resp.into_body();
    while let Some(frame) = body.frame().await {
        if let Some(data) = frame?.data_ref() {
            each(data);
        }
    }
    Ok(status)
}

/// One keep-alive connection for requests that each depend on the answer before (a paged
/// walk, which needs the last page's cursor).
pub struct Conn {
    sender: Sender,
    target: Target,
}

impl Conn {
    pub async fn open(target: &Target) -> anyhow::Result<Conn> {
        Ok(Conn {
            sender: connect(target.addr).await?,
            target: target.clone(),
        })
    }

    pub async fn send(&mut self, req: Req) -> anyhow::Result<Answer> {
        send(&mut self.sender, &self.target, req).await
    }
}

#[derive(Default)]
struct ClientResult {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    lat_us: Vec<u32>,
    bytes: u64,
}

/// Runs `plan` against `target`: connects every client first, then lets them all go.
pub async fn drive(target: &Target, plan: &Plan) -> anyhow::Result<Stats> {
    let mut senders = Vec::with_capacity(plan.clients);
    for _ in 0..plan.clients {
        senders.push(connect(target.addr).await?);
    }
    let start = Instant::now();
    let deadline = start + plan.duration;
    let last_answer = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(plan.clients);
    for (c, mut sender) in senders.into_iter().enumerate() {
        let target = target.clone();
        let gen = plan.gen.clone();
        let created = plan.created.clone();
        let expect = plan.expect;
        let last_answer = last_answer.clone();
        tasks.push(tokio::spawn(async move {
            let mut r = ClientResult::default();
            let mut seq = 0u64;
            while Instant::now() < deadline {
                let Some(req) = gen(c, seq) else { break };
                seq += 1;
                let t0 = Instant::now();
                let answer = send(&mut sender, &target, req).await;
                let lat = t0.elapsed();
                last_answer.fetch_max(start.elapsed().as_micros() as u64, Ordering::Relaxed);
                match answer {
                    Ok(a) if a.status.as_u16() == expect => {
                        r.ok += 1;
                        r.bytes += a.body.len() as u64;
                        r.lat_us
                            .push(lat.as_micros().min(u128::from(u32::MAX)) as u32);
                        if let (Some(created), Some(loc)) = (&created, a.location) {
                            if let Some(id) = loc.rsplit('/').next() {
                                created.lock().expect("pool").push(id.to_string());
                            }
                        }
                    }
                    Ok(a) => {
                        r.errors += 1;
                        if r.first_error.is_none() {
                            let body = String::from_utf8_lossy(&a.body);
                            r.first_error = Some(format!(
                                "status {} (expected {expect}): {}",
                                a.status,
                                body.chars().take(300).collect::<String>()
                            ));
                        }
                    }
                    Err(err) => {
                        r.errors += 1;
                        r.first_error.get_or_insert_with(|| err.to_string());
                        // The connection is gone: one reconnect, else this client stops.
                        match connect(target.addr).await {
                            Ok(s) => sender = s,
                            Err(_) => break,
                        }
                    }
                }
            }
            r
        }));
    }
    let mut stats = Stats {
        clients: plan.clients,
        ..Stats::default()
    };
    for t in tasks {
        let r = t.await?;
        stats.ok += r.ok;
        stats.errors += r.errors;
        stats.bytes += r.bytes;
        if stats.first_error.is_none() {
            stats.first_error = r.first_error;
        }
        stats.lat_us.extend(r.lat_us);
    }
    stats.elapsed = Duration::from_micros(last_answer.load(Ordering::Relaxed));
    stats.lat_us.sort_unstable();
    Ok(stats)
}

/// A cheap deterministic pseudo-random number from a few inputs (splitmix64).
pub fn mix(a: u64, b: u64, c: u64) -> u64 {
    let mut z = a
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(b.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(c.wrapping_mul(0x94D0_49BB_1331_11EB))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Percent-encodes a query parameter value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
