//! `scimd org purge` on PostgreSQL: one chunk of an org's rows deleted inside a job of the
//! group-commit writer, each table by at most the chunk's remaining budget, so no statement
//! holds locks on an unbounded number of rows.

use super::conn::Conn;
use crate::store::error::Result;
use crate::store::purge::PurgeStep;

/// The org's tables, emptied in this order; the counters last, so an interrupted purge still
/// lists the org as holding data (`orgs` reads `scimd_counts`).
const TABLES: [&str; 6] = [
    "scimd_members",
    "scimd_user_emails",
    "scimd_users",
    "scimd_groups",
    "scimd_events",
    "scimd_webhooks",
];

/// Deletes up to `budget` rows of `org` from `table`; how many went.
fn delete_some(conn: &Conn<'_>, table: &str, org: &str, budget: &mut i64) -> Result<u64> {
    if *budget <= 0 {
        return Ok(0);
    }
    // `ctid = ANY(ARRAY(...))` deletes the rows the bounded subquery found by their physical
    // address (a TID scan), where `IN (...)` could turn into a join over the whole table.
    let sql = format!(
        "DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} WHERE org = $1 LIMIT $2))"
    );
    let n = conn.execute(&sql, &[&org, &*budget])?;
    *budget -= n as i64;
    Ok(n)
}

/// One chunk; see `Rows::purge`. The activity log is filtered on the record's `org` in SQL,
/// so there is no cursor to carry.
pub(super) fn chunk(
    conn: &Conn<'_>,
    org: &str,
    activity_after: u64,
    limit: usize,
) -> Result<PurgeStep> {
    let mut budget = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut step = PurgeStep {
        activity_after,
        ..PurgeStep::default()
    };
    let p = &mut step.purged;
    for table in TABLES {
        let n = delete_some(conn, table, org, &mut budget)?;
        match table {
            "scimd_members" => p.memberships += n,
            "scimd_users" => p.users += n,
            "scimd_groups" => p.teams += n,
            "scimd_events" => p.events += n,
            _ => p.other += n,
        }
    }
    if budget > 0 {
        let n = conn.execute(
            "DELETE FROM scimd_activity WHERE seq = ANY(ARRAY(SELECT seq FROM scimd_activity \
             WHERE record->>'org' = $1 LIMIT $2))",
            &[&org, &budget],
        )?;
        budget -= n as i64;
        p.activity += n;
    }
    p.other += delete_some(conn, "scimd_counts", org, &mut budget)?;
    p.other += delete_some(conn, "scimd_event_seq", org, &mut budget)?;
    step.done = budget > 0;
    Ok(step)
}
