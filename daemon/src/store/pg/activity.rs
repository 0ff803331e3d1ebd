//! The activity log in PostgreSQL, shared by every daemon on the database. Sequence numbers
//! come from one counter row that each append locks until it commits, so numbers are unique
//! across daemons and become visible in order: a follower reading "after seq N" never skips a
//! record that commits later with a smaller number.

use scimd_core::wire::ActivityRecord;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::conn::{Conn, Query};
use crate::store::error::{Result, StoreError};

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

/// Drops the oldest records beyond `max_records` and those older than `cutoff`, in the
/// caller's transaction.
pub(super) fn prune(conn: &Conn<'_>, max_records: u64, cutoff: OffsetDateTime) -> Result<()> {
    let max = i64::try_from(max_records).unwrap_or(i64::MAX);
    conn.execute(
        "DELETE FROM scimd_activity WHERE seq <= \
         (SELECT seq FROM scimd_activity ORDER BY seq DESC OFFSET $1 LIMIT 1)",
        &[&max],
    )?;
    let cutoff = cutoff.format(&Rfc3339).unwrap_or_default();
    conn.execute(
        "DELETE FROM scimd_activity WHERE at < $1::text::timestamptz",
        &[&cutoff],
    )?;
    Ok(())
}

/// Numbers `records` from the shared counter and inserts them, inside the caller's
/// transaction: the log task's own batches, and the records of a group commit's changes just
/// before it commits (so the counter row is held only for the commit itself). A time that does
/// not parse is stored as `now`.
pub(super) fn insert(
    conn: &Conn<'_>,
    records: &mut [ActivityRecord],
    now: OffsetDateTime,
) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let n = records.len() as i64;
    let rows = conn.query(
        "UPDATE scimd_meta SET value = value + $1 WHERE key = 'activity_last_seq' RETURNING value",
        &[&n],
    )?;
    let last: i64 = rows
        .first()
        .map(|r| r.get(0))
        .ok_or_else(|| StoreError::Db("the activity counter row is missing".into()))?;
    let first = last - n + 1;
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
    conn.execute(
        "INSERT INTO scimd_activity (seq, at, record) \
         SELECT s, a::timestamptz, r::json FROM unnest($1::bigint[], $2::text[], $3::text[]) AS t(s, a, r)",
        &[&seqs, &times, &bodies],
    )?;
    // Every daemon's follower of the log reads it when this commits.
    super::notify::notify_activity(conn)?;
    Ok(())
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
