//! The wake-up part (PostgreSQL only): two daemons on one database; a client long-polls
//! daemon B's events API (`?after=N&wait=30`) while another creates a user through daemon A,
//! and the time from A's 201 to B's answer carrying the event is one sample. Issue 21's target
//! is a p50 under 20 ms; before `LISTEN`/`NOTIFY`, B found another daemon's commits by reading
//! again every 250 ms.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::daemon::{Instance, Running, ORG};
use crate::load::{self, Req, Target};
use crate::{pg, post_user, seed, webhooks};

/// How long the long-poll is given to reach B and register before the POST is sent, so
/// that the POST's commit finds it waiting (a timing pause: this is a bench, not a test).
const SETTLE: Duration = Duration::from_millis(20);

pub struct Settings {
    pub rounds: usize,
    pub seed_batch: usize,
}

pub struct WakeResult {
    /// From A's 201 to B's answer, per round, sorted; an answer that came first counts 0.
    pub lat_us: Vec<u32>,
    /// Rounds where B answered before A's 201 reached the client.
    pub before_post: usize,
    /// A's POST latencies, sorted, for scale.
    pub post_us: Vec<u32>,
}

fn pct_ms(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    f64::from(sorted[i.min(sorted.len() - 1)]) / 1000.0
}

impl WakeResult {
    pub fn p50(&self) -> f64 {
        pct_ms(&self.lat_us, 0.50)
    }

    pub fn p99(&self) -> f64 {
        pct_ms(&self.lat_us, 0.99)
    }
}

/// The newest event number B's feed has.
async fn last_seq(conn: &mut load::Conn) -> anyhow::Result<u64> {
    let a = conn
        .send(Req::get(format!("/events/v1/{ORG}?limit=1000")))
        .await?;
    if a.status != 200 {
        bail!("events page: status {}", a.status);
    }
    let page: serde_json::Value = serde_json::from_slice(&a.body)?;
    page["next"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .context("the page's next")
}

pub fn run(
    rt: &tokio::runtime::Runtime,
    bin: &std::path::Path,
    pg: Option<&pg::Server>,
    s: &Settings,
) -> anyhow::Result<WakeResult> {
    let Some(pg) = pg else {
        bail!("the wakeup part needs --postgres: it measures two daemons on one database");
    };
    eprintln!(
        "wakeup: {} rounds of a long-poll on daemon B answering a POST through daemon A",
        s.rounds
    );
    let a_inst = Instance::new()?;
    let events = webhooks::configure(&a_inst, None)?;
    seed::users(&a_inst.store_path(), ORG, 1, s.seed_batch)?;
    let db = pg.fresh("wakeup")?;
    db.load(&a_inst)?;
    // B: the same config (orgs, tokens and [store]) in a dir of its own.
    let b_inst = Instance::new()?;
    std::fs::copy(&a_inst.config, &b_inst.config)?;
    let a = Running::start(bin, &a_inst)?;
    let b = Running::start(bin, &b_inst)?;
    let scim = Target {
        addr: a.addr,
        token: Some(a_inst.token.clone()),
    };
    let feed = Target {
        addr: b.addr,
        token: Some(events),
    };
    let result = rt.block_on(async {
        let mut poster = load::Conn::open(&scim).await?;
        let mut reader = load::Conn::open(&feed).await?;
        // Both listeners connect within moments of the start; until then B polls every 2 s,
        // which the first rounds would measure.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut after = last_seq(&mut reader).await?;
        let (mut lat_us, mut post_us, mut before_post) = (Vec::new(), Vec::new(), 0);
        for round in 0..s.rounds {
            let poll = Req::get(format!("/events/v1/{ORG}?after={after}&wait=30"));
            let waiting = tokio::spawn(async move {
                let answer = reader.send(poll).await;
                (reader, answer, Instant::now())
            });
            tokio::time::sleep(SETTLE).await;
            let sent = Instant::now();
            let posted = poster
                .send(post_user(&format!("wake-{round}"), "Wake"))
                .await?;
            let done = Instant::now();
            if posted.status != 201 {
                bail!("round {round}: POST answered {}", posted.status);
            }
            let (back, answer, answered) = waiting.await?;
            reader = back;
            let answer = answer?;
            let page: serde_json::Value = serde_json::from_slice(&answer.body)?;
            let got = page["data"].as_array().map_or(0, Vec::len);
            if answer.status != 200 || got != 1 {
                bail!(
                    "round {round}: the long-poll answered {} with {got} events",
                    answer.status
                );
            }
            after = page["next"]
                .as_str()
                .and_then(|n| n.parse().ok())
                .context("the page's next")?;
            match answered.checked_duration_since(done) {
                Some(d) => lat_us.push(u32::try_from(d.as_micros()).unwrap_or(u32::MAX)),
                None => {
                    before_post += 1;
                    lat_us.push(0);
                }
            }
            post_us.push(u32::try_from((done - sent).as_micros()).unwrap_or(u32::MAX));
        }
        lat_us.sort_unstable();
        post_us.sort_unstable();
        anyhow::Ok(WakeResult {
            lat_us,
            before_post,
            post_us,
        })
    })?;
    eprintln!(
        "  B answered {:.2} ms (p50), {:.2} ms (p99) after A's 201; {} of {} before it",
        result.p50(),
        result.p99(),
        result.before_post,
        s.rounds
    );
    a.stop()?;
    b.stop()?;
    drop(db);
    Ok(result)
}

/// The part's section of the report.
pub fn render(r: &WakeResult) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "\n### Wake-ups across daemons (PostgreSQL)\n");
    let _ = writeln!(
        o,
        "| measure | rounds | p50 ms | p99 ms | max ms |\n| --- | --- | --- | --- | --- |"
    );
    let max = |v: &[u32]| v.last().map_or(f64::NAN, |m| f64::from(*m) / 1000.0);
    let _ = writeln!(
        o,
        "| A's 201 → B's long-poll answers with the event | {} | {:.2} | {:.2} | {:.2} |",
        r.lat_us.len(),
        r.p50(),
        r.p99(),
        max(&r.lat_us)
    );
    let _ = writeln!(
        o,
        "| POST /Users through A (for scale) | {} | {:.2} | {:.2} | {:.2} |",
        r.post_us.len(),
        pct_ms(&r.post_us, 0.5),
        pct_ms(&r.post_us, 0.99),
        max(&r.post_us)
    );
    let _ = writeln!(
        o,
        "\nTarget: p50 under 20 ms. In {} rounds B answered before A's 201 reached the client \
         (counted as 0 ms).",
        r.before_post
    );
    o
}
