//! The change feed in PostgreSQL: numbering a batch's events as it commits, reading an org's
//! events after a cursor, and pruning them from the front in bounded transactions.
//!
//! Each org's numbers come from its row in `scimd_event_seq`, locked by the numbering
//! upsert until the batch commits. Another daemon's batch waits for the row, so it numbers
//! after this one commits and its events become visible after this batch's: a consumer
//! reading "after N" never skips an event that commits later with a smaller number.

use std::collections::BTreeMap;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio_postgres::types::ToSql;

use super::conn::{Conn, Query};
use crate::store::error::Result;
use crate::store::events::{NewEvent, StoredEvent, PRUNE_CHUNK};

/// Numbers and writes one org's events of a batch, with parameters [`Columns::params`]: the
/// org's counter row is raised (and locked until the batch commits) and the events take the
/// numbers it gave, in their order, all in one statement.
pub(super) const NUMBER_AND_INSERT: &str = "WITH s AS (\
     INSERT INTO scimd_event_seq (org, last_seq) VALUES ($1, $2::bigint) \
     ON CONFLICT (org) DO UPDATE SET last_seq = scimd_event_seq.last_seq + $2::bigint \
     RETURNING last_seq) \
     INSERT INTO scimd_events (org, seq, id, time, at, kind, data) \
     SELECT $1, s.last_seq - $2::bigint + u.o, u.i, u.t, u.t::timestamptz, u.k, u.d \
     FROM s, unnest($3::text[], $4::text[], $5::text[], $6::text[]) \
     WITH ORDINALITY AS u(i, t, k, d, o)";

/// One org's events of a batch, as the columns of [`NUMBER_AND_INSERT`].
pub(super) struct Columns<'a> {
    pub(super) org: &'a str,
    n: i64,
    ids: Vec<&'a str>,
    times: Vec<&'a str>,
    kinds: Vec<&'a str>,
    data: Vec<&'a str>,
}

impl Columns<'_> {
    pub(super) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![
            &self.org,
            &self.n,
            &self.ids,
            &self.times,
            &self.kinds,
            &self.data,
        ]
    }
}

/// A batch's events by org, in org name order: one lock order on the counter rows for
/// every daemon.
pub(super) fn columns(pending: &BTreeMap<String, Vec<NewEvent>>) -> Vec<Columns<'_>> {
    pending
        .iter()
        .filter(|(_, list)| !list.is_empty())
        .map(|(org, list)| Columns {
            org,
            n: list.len() as i64,
            ids: list.iter().map(|e| e.id.as_str()).collect(),
            times: list.iter().map(|e| e.time.as_str()).collect(),
            kinds: list.iter().map(|e| e.kind).collect(),
            data: list.iter().map(|e| e.data.as_str()).collect(),
        })
        .collect()
}

fn seq(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// `org`'s pruned and last numbers.
pub(super) fn bounds(conn: &impl Query, org: &str) -> Result<(u64, u64)> {
    Ok(conn
        .query(
            "SELECT pruned, last_seq FROM scimd_event_seq WHERE org = $1",
            &[&org],
        )?
        .first()
        .map(|r| (seq(r.get(0)), seq(r.get(1))))
        .unwrap_or((0, 0)))
}

/// Removes at most [`PRUNE_CHUNK`] of `org`'s events beyond its newest `max_records` or older
/// than `cutoff`, oldest first, in the caller's transaction; returns how many went.
pub(super) fn prune_chunk(
    conn: &Conn<'_>,
    org: &str,
    max_records: u64,
    cutoff: OffsetDateTime,
) -> Result<u64> {
    let cutoff = cutoff.format(&Rfc3339).unwrap_or_default();
    let max = i64::try_from(max_records).unwrap_or(i64::MAX);
    let chunk = PRUNE_CHUNK as i64;
    // The newest event of the chunk that has to go; those before it go with it, so the kept
    // events stay one unbroken run.
    let upto: i64 = conn
        .query(
            "SELECT coalesce(max(e.seq), 0) FROM scimd_event_seq c \
             JOIN LATERAL (SELECT seq, at FROM scimd_events \
                 WHERE org = c.org AND seq > c.pruned ORDER BY seq LIMIT $4) e ON true \
             WHERE c.org = $1 AND (e.seq <= c.last_seq - $2 OR e.at < $3::text::timestamptz)",
            &[&org, &max, &cutoff, &chunk],
        )?
        .first()
        .map(|r| r.get(0))
        .unwrap_or(0);
    if upto == 0 {
        return Ok(0);
    }
    let removed = conn.execute(
        "DELETE FROM scimd_events WHERE org = $1 AND seq <= $2",
        &[&org, &upto],
    )?;
    conn.execute(
        "UPDATE scimd_event_seq SET pruned = GREATEST(pruned, $2) WHERE org = $1",
        &[&org, &upto],
    )?;
    Ok(removed)
}

/// At most `limit` stored events of `org` after `after`, as stored.
pub(super) fn raw(
    conn: &impl Query,
    org: &str,
    after: u64,
    limit: usize,
) -> Result<Vec<(u64, StoredEvent)>> {
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = conn.query(
        "SELECT seq, id, time, kind, data FROM scimd_events \
         WHERE org = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        &[&org, &after, &limit],
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                seq(r.get(0)),
                StoredEvent {
                    id: r.get(1),
                    time: r.get(2),
                    kind: r.get(3),
                    data: r.get(4),
                },
            )
        })
        .collect())
}

/// Writes events with their numbers and raises the org's counters, in the caller's
/// transaction.
pub(super) fn import(
    conn: &Conn<'_>,
    org: &str,
    list: &[(u64, StoredEvent)],
    pruned: u64,
    last: u64,
) -> Result<()> {
    let num = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let seqs: Vec<i64> = list.iter().map(|(s, _)| num(*s)).collect();
    let ids: Vec<&str> = list.iter().map(|(_, e)| e.id.as_str()).collect();
    let times: Vec<&str> = list.iter().map(|(_, e)| e.time.as_str()).collect();
    let kinds: Vec<&str> = list.iter().map(|(_, e)| e.kind.as_str()).collect();
    let data: Vec<&str> = list.iter().map(|(_, e)| e.data.as_str()).collect();
    conn.execute(
        "INSERT INTO scimd_events (org, seq, id, time, at, kind, data) \
         SELECT $1, s, i, t, t::timestamptz, k, d \
         FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u(s, i, t, k, d)",
        &[&org, &seqs, &ids, &times, &kinds, &data],
    )?;
    conn.execute(
        "INSERT INTO scimd_event_seq (org, last_seq, pruned) VALUES ($1, $2, $3) \
         ON CONFLICT (org) DO UPDATE SET \
         last_seq = GREATEST(scimd_event_seq.last_seq, EXCLUDED.last_seq), \
         pruned = GREATEST(scimd_event_seq.pruned, EXCLUDED.pruned)",
        &[&org, &num(last), &num(pruned)],
    )?;
    Ok(())
}
