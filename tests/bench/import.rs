//! The `import` scenario (issue 12): a full import of an org the way an IdP pulls one, a single
//! client walking every user by sequential `startIndex` pages of 100, beside the same walk by
//! cursor (RFC 9865, `cursor=` then each `nextCursor`). The targets: the last
//! `startIndex` page costs at most 2x the first, and the whole `startIndex` import takes under
//! 2x the cursor import. Each walk also checks that every seeded user came back exactly once.

use std::collections::HashSet;
use std::time::Instant;

use anyhow::{bail, Context};
use serde_json::Value;

use crate::daemon::{Instance, Running, ORG};
use crate::load::{encode, Conn, Req, Target};
use crate::pg;
use crate::report::{ImportResult, ImportRun, Walk};
use crate::seed;
use crate::BASE;

/// Users per page, as issue 12 sets it (and Okta's import asks).
pub const PAGE: usize = 100;
/// Smaller orgs are a handful of pages: nothing to tell first from last.
pub const MIN_USERS: usize = 1000;

/// What the scenario needs from the command line.
pub struct Settings {
    /// Org sizes; those outside `MIN_USERS..=max_users` are skipped.
    pub users: Vec<usize>,
    /// The largest org walked (`--import-max-users`).
    pub max_users: usize,
    pub seed_batch: usize,
}

/// Seeds, starts and walks one fresh instance per org size.
pub fn run(
    rt: &tokio::runtime::Runtime,
    bin: &std::path::Path,
    pg: Option<&pg::Server>,
    s: &Settings,
) -> anyhow::Result<ImportRun> {
    let (sizes, skipped): (Vec<usize>, Vec<usize>) = s
        .users
        .iter()
        .partition(|&&n| (MIN_USERS..=s.max_users).contains(&n));
    let mut results = Vec::new();
    for n in sizes {
        results.push(one(rt, bin, pg, n, s.seed_batch)?);
    }
    Ok(ImportRun { results, skipped })
}

fn one(
    rt: &tokio::runtime::Runtime,
    bin: &std::path::Path,
    pg: Option<&pg::Server>,
    n: usize,
    batch: usize,
) -> anyhow::Result<ImportResult> {
    eprintln!("import: seeding {n} users");
    let inst = Instance::new()?;
    let db = pg.map(|p| p.fresh(&format!("import_{n}"))).transpose()?;
    let ids = seed::users(&inst.store_path(), ORG, n, batch)?;
    if let Some(db) = &db {
        db.load(&inst)?;
    }
    let daemon = Running::start(bin, &inst)?;
    let target = Target {
        addr: daemon.addr,
        token: Some(inst.token.clone()),
    };
    let expected: HashSet<String> = ids.into_iter().collect();
    // One unmeasured walk first, so both measured walks find the same warm caches (the
    // daemon's and the OS's, and on PostgreSQL the server's buffers).
    let warm = rt.block_on(walk(&target, Paging::Cursor, &expected))?;
    if let Some(e) = &warm.error {
        bail!("the warm-up walk failed: {e}");
    }
    let mut walks = Vec::new();
    for how in [Paging::StartIndex, Paging::Cursor] {
        let w = rt.block_on(walk(&target, how, &expected))?;
        eprintln!(
            "  by {}: {} pages in {:.2?}, first {:.2} ms, median {:.2} ms, last {:.2} ms, \
             {} returned, {} distinct",
            how.name(),
            w.pages,
            w.took,
            w.first_ms(),
            w.median_ms(),
            w.last_ms(),
            w.returned,
            w.distinct
        );
        if let Some(e) = &w.error {
            eprintln!("    error: {e}");
        }
        walks.push(w);
    }
    let mem_end = daemon.memory();
    let stopped = daemon.stop()?;
    eprintln!("  stopped in {:.1?} ({})", stopped.took, stopped.status);
    let by_cursor = walks.pop().context("the cursor walk")?;
    let by_index = walks.pop().context("the startIndex walk")?;
    Ok(ImportResult {
        users: n,
        by_index,
        by_cursor,
        mem_end,
    })
}

#[derive(Clone, Copy)]
enum Paging {
    StartIndex,
    Cursor,
}

impl Paging {
    fn name(self) -> &'static str {
        match self {
            Paging::StartIndex => "startIndex",
            Paging::Cursor => "cursor",
        }
    }
}

/// Walks every user of [`ORG`] page by page on one keep-alive connection, as an importing IdP
/// does: the next page is asked for when the last one is read.
async fn walk(t: &Target, how: Paging, expected: &HashSet<String>) -> anyhow::Result<Walk> {
    let mut conn = Conn::open(t).await?;
    let mut seen: HashSet<String> = HashSet::with_capacity(expected.len());
    let (mut returned, mut foreign) = (0, 0);
    let mut lat_us = Vec::with_capacity(expected.len() / PAGE + 1);
    let mut error = None;
    let (mut start, mut cursor) = (1, String::new());
    // A walk that does not end is a failure to report, not a hang.
    let most = expected.len() / PAGE + 10;
    let began = Instant::now();
    loop {
        let path = match how {
            Paging::StartIndex => format!("{BASE}/Users?startIndex={start}&count={PAGE}"),
            Paging::Cursor => format!("{BASE}/Users?cursor={}&count={PAGE}", encode(&cursor)),
        };
        let t0 = Instant::now();
        let a = conn.send(Req::get(path.clone())).await?;
        lat_us.push(t0.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
        if a.status != 200 {
            let body = String::from_utf8_lossy(&a.body);
            error = Some(format!(
                "{path}: status {}: {}",
                a.status,
                body.chars().take(300).collect::<String>()
            ));
            break;
        }
        let body: Value =
            serde_json::from_slice(&a.body).with_context(|| format!("{path}: not JSON"))?;
        let items = body["Resources"].as_array().map_or(&[][..], Vec::as_slice);
        for u in items {
            let id = u["id"].as_str().unwrap_or_default();
            returned += 1;
            if !expected.contains(id) {
                foreign += 1;
            }
            seen.insert(id.to_string());
        }
        if lat_us.len() >= most {
            error = Some(format!("the walk did not end after {most} pages"));
            break;
        }
        match how {
            Paging::StartIndex => {
                let total = body["totalResults"].as_u64().unwrap_or(0) as usize;
                start += items.len();
                if items.is_empty() || start > total {
                    break;
                }
            }
            Paging::Cursor => match body["nextCursor"].as_str() {
                Some(next) => cursor = next.to_string(),
                None => break,
            },
        }
    }
    Ok(Walk {
        pages: lat_us.len(),
        took: began.elapsed(),
        lat_us,
        returned,
        distinct: seen.len(),
        foreign,
        error,
    })
}
