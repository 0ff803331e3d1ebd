//! The `snapshot` part (issue 20): per org size, users and some teams with members seeded,
//! then `GET /events/v1/{org}/snapshot` with the org's events token, read by one client as
//! fast as it can, twice. Each read is timed from the request to the last byte, the daemon's
//! peak RSS is reset (`/proc/PID/clear_refs`) before it, and the stream is checked: one line
//! per user, team and membership, and last the `end` line whose counts match. Issue 20's
//! targets: at least 100,000 users per second on redb, and peak RSS growth under 64 MiB at
//! 200,000 users and flat in the org's size.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;

use crate::daemon::{Instance, Memory, Running, ORG};
use crate::load::{self, Req, Target};
use crate::pg::{self, Loaded};
use crate::{seed, webhooks};

/// Reads of the snapshot per org size: the first after the daemon's start, then one more.
pub const ROUNDS: usize = 2;

/// What the part needs from the command line.
pub struct Settings {
    pub users: Vec<usize>,
    /// Teams per org (`--snapshot-teams`).
    pub teams: usize,
    /// Percent of the users who are members, each of one team (`--snapshot-members`).
    pub member_pct: usize,
    pub seed_batch: usize,
}

/// The lines of one stream, counted as they arrive.
#[derive(Default)]
pub struct Tally {
    pub lines: u64,
    pub bytes: u64,
    pub users: u64,
    pub teams: u64,
    pub members: u64,
    /// Lines of no known type.
    pub other: u64,
    /// The `end` line, when the stream had one.
    pub end: Option<Value>,
    /// Lines after the `end` line (there must be none).
    pub after_end: u64,
    /// The start of the body, for an error's message.
    pub head: Vec<u8>,
    /// The line being read, up to its newline.
    carry: Vec<u8>,
}

impl Tally {
    fn feed(&mut self, mut chunk: &[u8]) {
        self.bytes += chunk.len() as u64;
        if self.head.len() < 300 {
            let take = (300 - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        while let Some(i) = chunk.iter().position(|&b| b == b'\n') {
            if self.carry.is_empty() {
                self.line(&chunk[..i]);
            } else {
                let mut line = std::mem::take(&mut self.carry);
                line.extend_from_slice(&chunk[..i]);
                self.line(&line);
            }
            chunk = &chunk[i + 1..];
        }
        self.carry.extend_from_slice(chunk);
    }

    fn line(&mut self, line: &[u8]) {
        self.lines += 1;
        if self.end.is_some() {
            self.after_end += 1;
        }
        // serde_json keeps the daemon's key order: `type` comes first.
        if line.starts_with(br#"{"type":"user""#) {
            self.users += 1;
        } else if line.starts_with(br#"{"type":"member""#) {
            self.members += 1;
        } else if line.starts_with(br#"{"type":"team""#) {
            self.teams += 1;
        } else if line.starts_with(br#"{"type":"end""#) {
            self.end = serde_json::from_slice(line).ok();
        } else {
            self.other += 1;
        }
    }

    /// Bytes after the last newline: a stream cut mid-line.
    pub fn unfinished(&self) -> usize {
        self.carry.len()
    }
}

/// One read of the snapshot.
pub struct Read {
    pub tally: Tally,
    /// From sending the request to the last byte read.
    pub took: Duration,
    /// The daemon's RSS just before the request (right after resetting its peak).
    pub before: Memory,
    /// The daemon's memory right after the stream ended; its `hwm` is the peak during it.
    pub after: Memory,
    /// What is wrong with the stream, if anything.
    pub error: Option<String>,
}

impl Read {
    pub fn users_per_sec(&self) -> f64 {
        self.tally.users as f64 / self.took.as_secs_f64().max(1e-9)
    }

    /// The peak RSS added during the read, in bytes.
    pub fn rss_added(&self) -> u64 {
        self.after.hwm.saturating_sub(self.before.rss)
    }
}

/// The part at one org size.
pub struct SnapshotResult {
    pub users: usize,
    pub teams: usize,
    pub members: usize,
    pub seed_time: Duration,
    pub loaded: Option<Loaded>,
    pub mem_start: Memory,
    pub reads: Vec<Read>,
}

/// Seeds, starts and reads one fresh instance per org size.
pub fn run(
    rt: &tokio::runtime::Runtime,
    bin: &std::path::Path,
    pg: Option<&pg::Server>,
    s: &Settings,
) -> anyhow::Result<Vec<SnapshotResult>> {
    let mut out = Vec::new();
    for &n in &s.users {
        out.push(one(rt, bin, pg, s, n)?);
    }
    Ok(out)
}

fn one(
    rt: &tokio::runtime::Runtime,
    bin: &std::path::Path,
    pg: Option<&pg::Server>,
    s: &Settings,
    n: usize,
) -> anyhow::Result<SnapshotResult> {
    // Members: the first `member_pct` percent of the users, split evenly over the teams.
    let per_team = (n * s.member_pct.min(100) / 100)
        .checked_div(s.teams)
        .unwrap_or(0);
    eprintln!(
        "snapshot: seeding {n} users, {} teams of {per_team} members",
        s.teams
    );
    let inst = Instance::new()?;
    let events = webhooks::configure(&inst, None)?;
    let db = pg.map(|p| p.fresh(&format!("snapshot_{n}"))).transpose()?;
    let started = Instant::now();
    let ids = seed::users(&inst.store_path(), ORG, n, s.seed_batch)?;
    let teams: Vec<(String, Vec<String>)> = (0..s.teams)
        .map(|k| {
            let members = ids[k * per_team..(k + 1) * per_team].to_vec();
            (format!("snapshot-team-{k:02}"), members)
        })
        .collect();
    drop(ids);
    let teams = seed::teams(&inst.store_path(), ORG, teams)?;
    let seed_time = started.elapsed();
    let members: usize = teams.iter().map(|t| t.size).sum();
    eprintln!("  seeded in {seed_time:.1?}");
    let loaded = db.as_ref().map(|db| db.load(&inst)).transpose()?;
    let daemon = Running::start(bin, &inst)?;
    let mem_start = daemon.memory();
    let target = Target {
        addr: daemon.addr,
        token: Some(events),
    };
    let mut reads = Vec::new();
    for round in 0..ROUNDS {
        let r = read(rt, &daemon, &target, n, teams.len(), members)?;
        eprintln!(
            "  read {}: {} lines, {} bytes in {:.2?} ({:.0} users/s), peak RSS +{} MiB{}",
            round + 1,
            r.tally.lines,
            r.tally.bytes,
            r.took,
            r.users_per_sec(),
            r.rss_added() >> 20,
            r.error
                .as_deref()
                .map_or(String::new(), |e| format!("; error: {e}"))
        );
        reads.push(r);
    }
    let stopped = daemon.stop()?;
    eprintln!("  stopped in {:.1?} ({})", stopped.took, stopped.status);
    drop(db);
    Ok(SnapshotResult {
        users: n,
        teams: teams.len(),
        members,
        seed_time,
        loaded,
        mem_start,
        reads,
    })
}

/// One snapshot, read whole as fast as this client can, and checked.
fn read(
    rt: &tokio::runtime::Runtime,
    daemon: &Running,
    target: &Target,
    users: usize,
    teams: usize,
    members: usize,
) -> anyhow::Result<Read> {
    daemon.reset_peak()?;
    let before = daemon.memory();
    let mut tally = Tally::default();
    let started = Instant::now();
    let status = rt
        .block_on(load::stream(
            target,
            Req::get(format!("/events/v1/{ORG}/snapshot")),
            &mut |chunk| tally.feed(chunk),
        ))
        .context("reading the snapshot")?;
    let took = started.elapsed();
    let after = daemon.memory();
    let error = check(status.as_u16(), &tally, users, teams, members);
    Ok(Read {
        tally,
        took,
        before,
        after,
        error,
    })
}

/// What is wrong with a stream: its status, lines of no known type, a cut line, a missing
/// or misplaced `end` line, or counts that match neither the lines nor the seeded org.
fn check(status: u16, t: &Tally, users: usize, teams: usize, members: usize) -> Option<String> {
    if status != 200 {
        return Some(format!(
            "status {status}: {}",
            String::from_utf8_lossy(&t.head)
        ));
    }
    let Some(end) = &t.end else {
        return Some("no end line: the stream is incomplete".into());
    };
    let mut wrong = Vec::new();
    if t.after_end > 0 {
        wrong.push(format!("{} lines after the end line", t.after_end));
    }
    if t.other > 0 {
        wrong.push(format!("{} lines of no known type", t.other));
    }
    if t.unfinished() > 0 {
        wrong.push(format!("{} bytes after the last newline", t.unfinished()));
    }
    for (key, lines, seeded) in [
        ("users", t.users, users),
        ("teams", t.teams, teams),
        ("members", t.members, members),
    ] {
        let said = end[key].as_u64();
        if said != Some(lines) || lines != seeded as u64 {
            wrong.push(format!(
                "{key}: end line {said:?}, lines {lines}, seeded {seeded}"
            ));
        }
    }
    let cursor = end["cursor"].as_str().and_then(|c| c.parse::<u64>().ok());
    if cursor.is_none_or(|c| c == 0) {
        wrong.push(format!("cursor {}", end["cursor"]));
    }
    (!wrong.is_empty()).then(|| wrong.join("; "))
}
