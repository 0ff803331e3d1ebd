//! The activity log in PostgreSQL, shared by every daemon on the database. Sequence numbers
//! come from one counter row that each append locks until it commits, so numbers are unique
//! across daemons and become visible in order: a follower reading "after seq N" never skips a
//! record that commits later with a smaller number.

use scimd_core::wire::ActivityRecord;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::conn::Query;
use crate::store::error::Result;

pub(super) fn last_seq(conn: &impl Query) -> Result<u64> {
    let rows = conn.query(
        "SELECT value FROM scimd_meta WHERE key = 'activity_last_seq'",
        &[],
    )?;
    Ok(rows
        .first()
        .map(|r| r.get::<_, i64>(0).max(0) as u64)
        .unwrap_or(0))
}

/// Drops the oldest records beyond the newest `$1`.
pub(super) const PRUNE_OLDEST: &str = "DELETE FROM scimd_activity WHERE seq <= \
     (SELECT seq FROM scimd_activity ORDER BY seq DESC OFFSET $1 LIMIT 1)";
/// Drops the records older than `$1` (RFC 3339).
pub(super) const PRUNE_BEFORE: &str = "DELETE FROM scimd_activity WHERE at < $1::text::timestamptz";

/// The parameters of [`PRUNE_OLDEST`] and [`PRUNE_BEFORE`] for keeping at most `max_records`,
/// none older than `cutoff`.
pub(super) fn prune_params(max_records: u64, cutoff: OffsetDateTime) -> (i64, String) {
    (
        i64::try_from(max_records).unwrap_or(i64::MAX),
        cutoff.format(&Rfc3339).unwrap_or_default(),
    )
}

/// Raises the shared counter by `$1` records, holding its row until the commit, and
/// returns the last number given: the records are numbered up to it.
pub(super) const NUMBER: &str =
    "UPDATE scimd_meta SET value = value + $1 WHERE key = 'activity_last_seq' RETURNING value";

/// Inserts numbered records: `$1` numbers, `$2` times (RFC 3339), `$3` records (JSON).
pub(super) const INSERT: &str = "INSERT INTO scimd_activity (seq, at, record) \
     SELECT s, a::timestamptz, r::json FROM unnest($1::bigint[], $2::text[], $3::text[]) AS t(s, a, r)";

/// The columns of [`INSERT`] for `records`, numbered up to `last` (each record takes its
/// number). A time that does not parse is stored as `now`.
pub(super) fn columns(
    records: &mut [ActivityRecord],
    last: i64,
    now: OffsetDateTime,
) -> (Vec<i64>, Vec<String>, Vec<String>) {
    let first = last - records.len() as i64 + 1;
    let mut seqs = Vec::with_capacity(records.len());
    let mut times = Vec::with_capacity(records.len());
    let mut bodies = Vec::with_capacity(records.len());
    for (i, rec) in records.iter_mut().enumerate() {
        rec.seq = (first + i as i64) as u64;
        seqs.push(rec.seq as i64);
        let at = OffsetDateTime::parse(&rec.time, &Rfc3339)
            .unwrap_or(now)
            .format(&Rfc3339)
            .unwrap_or_default();
        times.push(at);
        // Serializing plain strings and numbers cannot fail.
        bodies.push(serde_json::to_string(rec).unwrap_or_default());
    }
    (seqs, times, bodies)
}

fn decode(rows: Vec<tokio_postgres::Row>) -> Vec<ActivityRecord> {
    rows.iter()
        .filter_map(|r| {
            let text: String = r.get(1);
            match serde_json::from_str::<ActivityRecord>(&text) {
                Ok(rec) => Some(rec),
                Err(err) => {
                    let seq: i64 = r.get(0);
                    tracing::warn!(seq, cause = %err, "skipping corrupt activity record");
                    None
                }
            }
        })
        .collect()
}

pub(super) fn recent(conn: &impl Query, limit: usize) -> Result<Vec<ActivityRecord>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    Ok(decode(conn.query(
        "SELECT seq, record::text FROM scimd_activity ORDER BY seq DESC LIMIT $1",
        &[&limit],
    )?))
}

pub(super) fn after(conn: &impl Query, seq: u64, limit: usize) -> Result<Vec<ActivityRecord>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let seq = i64::try_from(seq).unwrap_or(i64::MAX);
    Ok(decode(conn.query(
        "SELECT seq, record::text FROM scimd_activity WHERE seq > $1 ORDER BY seq LIMIT $2",
        &[&seq, &limit],
    )?))
}

pub(super) fn len(conn: &impl Query) -> Result<u64> {
    let rows = conn.query("SELECT count(*) FROM scimd_activity", &[])?;
    Ok(rows
        .first()
        .map(|r| r.get::<_, i64>(0).max(0) as u64)
        .unwrap_or(0))
}
