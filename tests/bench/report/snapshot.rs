//! The `snapshot` part's section of the report: one row per read of
//! `GET /events/v1/{org}/snapshot` per org size, and issue 20's targets for it.

use super::*;
use crate::snapshot::{SnapshotResult, ROUNDS};

/// Users per second the snapshot must stream on redb (issue 20).
const USERS_PER_SEC: f64 = 100_000.0;
/// The most peak RSS a snapshot may add at 200,000 users (issue 20).
const RSS_ADDED: u64 = 64 << 20;
/// How much more a larger org's snapshot may add than the smallest one's and still count as
/// flat in the org's size (our reading of "flat").
const FLAT: u64 = 16 << 20;

/// The section; `redb` tells whether the throughput target applies (it is set for redb).
pub fn render_snapshot(results: &[SnapshotResult], redb: bool) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "\n### Snapshot of the directory (issue 20)\n");
    let _ = writeln!(
        o,
        "Per org size, a fresh store with the users and teams below, and the daemon started on \
         it; then `GET /events/v1/bench/snapshot` with the org's events token, read whole by \
         one client on one connection as fast as it can, {ROUNDS} times in a row (read 1 is \
         the first after the start). Time: request sent to last byte read. Peak RSS added: \
         the daemon's VmHWM at the end of the read less its RSS before it, the peak reset \
         through `/proc/PID/clear_refs` just before. Each stream is checked: one line per \
         user, team and membership, nothing after the `end` line, and the end line's counts \
         equal to the lines and to the seeded org.\n"
    );
    let _ = writeln!(
        o,
        "| org | read | lines | bytes | time | users/s | RSS before, MiB | peak RSS added, MiB | stream |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for r in results {
        let org = format!(
            "{} users, {} teams, {} memberships",
            count(r.users as u64),
            r.teams,
            count(r.members as u64)
        );
        for (i, x) in r.reads.iter().enumerate() {
            let stream = match &x.error {
                None => "complete, counts match".to_string(),
                Some(e) => format!("**{e}**"),
            };
            let _ = writeln!(
                o,
                "| {org} | {} | {} | {} | {} | {} | {} | {:.1} | {stream} |",
                i + 1,
                count(x.tally.lines),
                mib(x.tally.bytes),
                dur(x.took),
                count(x.users_per_sec().round() as u64),
                x.before.rss >> 20,
                x.rss_added() as f64 / f64::from(1 << 20),
            );
        }
    }
    for r in results {
        let _ = write!(
            o,
            "\n{} users: seeded through the store library in {}",
            count(r.users as u64),
            dur(r.seed_time)
        );
        if let Some(l) = &r.loaded {
            let _ = write!(
                o,
                ", copied into PostgreSQL in {} ({})",
                dur(l.took),
                mib(l.db_bytes)
            );
        }
        let _ = writeln!(o, "; daemon RSS after startup {}.", mib(r.mem_start.rss));
    }
    let targets = targets(results, redb);
    if !targets.is_empty() {
        let _ = writeln!(
            o,
            "\n| target | measured | goal | met |\n| --- | --- | --- | --- |"
        );
        for t in targets {
            let met = match t.met {
                Some(true) => "met",
                Some(false) => "**missed**",
                None => "–",
            };
            let _ = writeln!(o, "| {} | {} | {} | {met} |", t.what, t.measured, t.goal);
        }
    }
    o
}

/// Issue 20's snapshot targets, judged on the slowest read and the largest peak of each size.
fn targets(results: &[SnapshotResult], redb: bool) -> Vec<Target> {
    let mut out = Vec::new();
    let slowest = |r: &SnapshotResult| {
        r.reads
            .iter()
            .map(|x| x.users_per_sec())
            .fold(f64::INFINITY, f64::min)
    };
    let peak = |r: &SnapshotResult| r.reads.iter().map(|x| x.rss_added()).max().unwrap_or(0);
    for r in results {
        let complete = r.reads.iter().all(|x| x.error.is_none());
        out.push(Target {
            what: format!(
                "snapshot at {} users: users per second (slowest of {ROUNDS} reads)",
                size_name(r.users)
            ),
            measured: count(slowest(r).round() as u64),
            goal: if redb {
                format!("≥ {} (redb)", count(USERS_PER_SEC as u64))
            } else {
                "– (set for redb)".into()
            },
            met: redb.then_some(slowest(r) >= USERS_PER_SEC),
        });
        out.push(Target {
            what: format!(
                "snapshot at {} users: every stream complete, end line's counts match",
                size_name(r.users)
            ),
            measured: if complete { "yes" } else { "no" }.into(),
            goal: "yes".into(),
            met: Some(complete),
        });
        out.push(Target {
            what: format!(
                "snapshot at {} users: daemon peak RSS added (largest of {ROUNDS} reads)",
                size_name(r.users)
            ),
            measured: mib(peak(r)),
            goal: "< 64 MiB (at 200k users)".into(),
            met: Some(peak(r) < RSS_ADDED),
        });
    }
    if let (Some(small), Some(large)) = (results.first(), results.last()) {
        if large.users > small.users {
            let (a, b) = (peak(small), peak(large));
            out.push(Target {
                what: format!(
                    "snapshot peak RSS added flat in the org's size: {} users beside {} users",
                    size_name(large.users),
                    size_name(small.users)
                ),
                measured: format!("{} beside {}", mib(b), mib(a)),
                goal: format!("at most {} more (our reading of flat)", mib(FLAT)),
                met: Some(b <= a + FLAT),
            });
        }
    }
    out
}
