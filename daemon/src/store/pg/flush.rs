//! What a write batch writes as it commits, in at most two round trips: its counter changes,
//! its events numbered per org, their notification and the activity counter go out in one
//! pipeline; the activity records numbered from that counter, their notification, the log's
//! pruning and the `COMMIT` in a second (in the first, when the batch has no records).
//!
//! Counters and event counters are written in key order, the shared activity counter last,
//! so batches of every daemon take the hot rows in one order and hold them only from here to
//! the commit.

use std::collections::BTreeMap;

use scimd_core::wire::ActivityRecord;
use time::OffsetDateTime;
use tokio_postgres::types::ToSql;

use super::conn::{Conn, Stmt};
use super::notify;
use super::{activity, events};
use crate::store::error::{Result, StoreError};
use crate::store::events::NewEvent;

/// A pending change to one counter.
#[derive(Debug, Clone, Copy)]
pub(super) enum Count {
    /// Add this much.
    Add(i64),
    /// Delete the counter, then set it to this (0: leave it deleted).
    Reset(i64),
}

/// A batch's counter changes by (org, counter).
pub(super) type Counts = BTreeMap<(String, String), Count>;

/// A batch's events waiting for their numbers, by org.
pub(super) type Pending = BTreeMap<String, Vec<NewEvent>>;

const COUNT_RESET: &str = "DELETE FROM scimd_counts WHERE org = $1 AND name = $2";
const COUNT_ADD: &str = "INSERT INTO scimd_counts (org, name, n) \
     VALUES ($1, $2, GREATEST($3::bigint, 0)) \
     ON CONFLICT (org, name) DO UPDATE SET n = GREATEST(scimd_counts.n + $3::bigint, 0)";

type Params<'a> = Vec<&'a (dyn ToSql + Sync)>;

/// What one batch leaves to write at its commit.
pub(super) struct Ending<'a> {
    pub(super) counts: &'a Counts,
    pub(super) events: &'a Pending,
    pub(super) activity: &'a mut [ActivityRecord],
    /// The activity log's retention, when a job asked for it to be applied.
    pub(super) prune: Option<(u64, OffsetDateTime)>,
}

/// Writes what the batch left for its end and commits. An error means nothing committed.
pub(super) fn commit(conn: &Conn<'_>, end: Ending<'_>) -> Result<()> {
    let columns = events::columns(end.events);
    let payload = match columns.is_empty() {
        true => None,
        false => Some(notify::events_payload(columns.iter().map(|c| c.org))),
    };
    let records = end.activity.len() as i64;
    let prune = end
        .prune
        .map(|(max, cutoff)| activity::prune_params(max, cutoff));

    let mut first: Vec<(&'static str, Params<'_>)> = Vec::new();
    for ((org, name), count) in end.counts {
        let n = match count {
            Count::Add(0) => continue,
            Count::Add(n) => n,
            Count::Reset(n) => {
                first.push((COUNT_RESET, vec![org, name]));
                if *n == 0 {
                    continue;
                }
                n
            }
        };
        first.push((COUNT_ADD, vec![org, name, n]));
    }
    for c in &columns {
        first.push((events::NUMBER_AND_INSERT, c.params()));
    }
    if let Some(payload) = &payload {
        first.push((notify::NOTIFY, vec![&notify::EVENTS, payload]));
    }
    if records == 0 {
        tail(&mut first, &prune);
        return run(conn, &first, true).map(|_| ());
    }
    first.push((activity::NUMBER, vec![&records]));
    let answers = run(conn, &first, false)?;
    let last: i64 = answers
        .last()
        .and_then(|rows| rows.first())
        .map(|r| r.get(0))
        .ok_or_else(|| StoreError::Db("the activity counter row is missing".into()))?;
    let (seqs, times, bodies) = activity::columns(end.activity, last, OffsetDateTime::now_utc());
    let mut second: Vec<(&'static str, Params<'_>)> = vec![
        (activity::INSERT, vec![&seqs, &times, &bodies]),
        (notify::NOTIFY, vec![&notify::ACTIVITY, &""]),
    ];
    tail(&mut second, &prune);
    run(conn, &second, true).map(|_| ())
}

/// Adds the activity log's pruning, when asked for, to `list`.
fn tail<'a>(list: &mut Vec<(&'static str, Params<'a>)>, prune: &'a Option<(i64, String)>) {
    if let Some((max, cutoff)) = prune {
        list.push((activity::PRUNE_OLDEST, vec![max]));
        list.push((activity::PRUNE_BEFORE, vec![cutoff]));
    }
}

/// Runs `list` in one pipeline, with `COMMIT` after it when `commit`.
fn run(
    conn: &Conn<'_>,
    list: &[(&str, Params<'_>)],
    commit: bool,
) -> Result<Vec<Vec<tokio_postgres::Row>>> {
    let mut stmts: Vec<Stmt<'_, '_>> = list
        .iter()
        .map(|(sql, params)| Stmt::Query(sql, params.as_slice()))
        .collect();
    if commit {
        stmts.push(Stmt::Simple("COMMIT"));
    }
    conn.pipeline(&stmts)
}
