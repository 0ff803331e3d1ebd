//! `--side-by-side`: each org size run on redb and then on PostgreSQL in the same invocation,
//! and issue 21's targets as ratios of the two (PostgreSQL over redb), so the verdict comes
//! from one run on one machine instead of two runs held together by hand.

use std::fmt::Write as _;

use super::{count, ms, ratio, size_name, Ceilings, SizeResult};

/// One throughput row: the scenario key, what it is, and the least PostgreSQL/redb ratio
/// the issue asks (None: shown for comparison, no target).
const RATIOS: &[(&str, &str, Option<f64>)] = &[
    ("get", "GET by id, concurrent clients", Some(0.35)),
    (
        "username",
        "`filter=userName eq`, concurrent clients",
        Some(0.3),
    ),
    (
        "list_first",
        "a page of 100 users with their teams (`startIndex=1&count=100`)",
        Some(0.25),
    ),
    ("scan", "`filter=name.familyName eq`, no index", None),
];

/// The section: per size, each target's PostgreSQL and redb figures, their ratio and verdict.
pub fn render_side(redb: &[SizeResult], pg: &[SizeResult], c: Option<&Ceilings>) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "### PostgreSQL beside redb, same run (issue 21's targets)\n\n\
         Each size ran on redb first, then on a fresh PostgreSQL database, with the same \
         scenarios and clients.\n\n\
         | size | target | PostgreSQL | redb | ratio | goal | met |\n\
         | --- | --- | --- | --- | --- | --- | --- |"
    );
    for (r, p) in redb.iter().zip(pg) {
        let size = size_name(p.users);
        for (key, what, goal) in RATIOS {
            let (Some(a), Some(b)) = (p.row(key), r.row(key)) else {
                continue;
            };
            let x = ratio(a.rps(), b.rps());
            let (goal, verdict) = match goal {
                Some(g) => (format!("≥ {g}"), met(x >= *g)),
                None => ("–".into(), "–"),
            };
            let _ = writeln!(
                o,
                "| {size} | {what} ({} clients) | {} req/s | {} req/s | {x:.2} | {goal} | \
                 {verdict} |",
                a.clients,
                count(a.rps().round() as u64),
                count(b.rps().round() as u64),
            );
        }
        if let Some(Ok(many)) = c.and_then(|c| c.pg_many.as_ref()) {
            if let Some(post) = p.row("postN") {
                let x = ratio(post.rps(), many.per_sec());
                let _ = writeln!(
                    o,
                    "| {size} | durable POST ({} clients) / pgbench one-row INSERT at as many \
                     connections | {} req/s | pgbench {} commits/s | {x:.2} | ≥ 0.2 | {} |",
                    post.clients,
                    count(post.rps().round() as u64),
                    count(many.per_sec().round() as u64),
                    met(x >= 0.2)
                );
            }
        }
        if let Some((pg_times, x)) = member_ratio(p) {
            let redb_times = member_ratio(r).map_or_else(|| "–".into(), |(t, _)| t);
            let (small, large) = (p.teams[0], p.teams[p.teams.len() - 1]);
            let _ = writeln!(
                o,
                "| {size} | member PATCH p50, team of {} / team of {} (1 client), on \
                 PostgreSQL | {pg_times} | {redb_times} | {x:.2} | ≤ 2 | {} |",
                count(large as u64),
                count(small as u64),
                met(x <= 2.0)
            );
        }
    }
    o.push('\n');
    o
}

/// A member PATCH's p50 on the largest team and on the smallest ("12.0 / 3.00 ms"), and
/// their ratio, when the size ran both.
fn member_ratio(s: &SizeResult) -> Option<(String, f64)> {
    let (small, large) = (*s.teams.first()?, *s.teams.last()?);
    let a = s.row(&format!("member1_{small}"))?;
    let b = s.row(&format!("member1_{large}"))?;
    (large > small).then(|| {
        (
            format!("{} / {} ms", ms(b.p50()), ms(a.p50())),
            ratio(b.p50(), a.p50()),
        )
    })
}

fn met(yes: bool) -> &'static str {
    if yes {
        "yes"
    } else {
        "**no**"
    }
}
