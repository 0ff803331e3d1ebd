//! Webhook delivery state in PostgreSQL, with a lease per endpoint so that daemons sharing
//! the database split the endpoints between them and never deliver one at the same time.
//!
//! A claim takes the row when it has no holder, is ours, or its lease ran out, all in one
//! `INSERT .. ON CONFLICT DO UPDATE .. WHERE`, so two daemons racing for it cannot both win.
//! Lease times are the database's clock, never a daemon's.

use super::conn::{Conn, Query};
use crate::store::error::Result;
use crate::store::hooks::{HookState, Lease};

fn secs(lease: &Lease) -> f64 {
    lease.ttl.as_secs_f64()
}

/// Takes or renews the lease of `endpoint` and returns its state; None while another
/// daemon's lease runs.
pub(super) fn claim(
    conn: &Conn<'_>,
    org: &str,
    endpoint: &str,
    lease: &Lease,
) -> Result<Option<HookState>> {
    let last: i64 = conn
        .query(
            "SELECT last_seq FROM scimd_event_seq WHERE org = $1",
            &[&org],
        )?
        .first()
        .map(|r| r.get(0))
        .unwrap_or(0);
    let last = u64::try_from(last).unwrap_or(0);
    let fresh = HookState {
        delivered: last,
        ..HookState::default()
    }
    .encode();
    let rows = conn.query(
        "INSERT INTO scimd_webhooks (org, endpoint, state, lease_owner, lease_until) \
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5::float8)) \
         ON CONFLICT (org, endpoint) DO UPDATE \
         SET lease_owner = EXCLUDED.lease_owner, lease_until = EXCLUDED.lease_until \
         WHERE scimd_webhooks.lease_owner IS NULL \
            OR scimd_webhooks.lease_owner = EXCLUDED.lease_owner \
            OR scimd_webhooks.lease_until < now() \
         RETURNING state",
        &[&org, &endpoint, &fresh, &lease.owner, &secs(lease)],
    )?;
    Ok(rows.first().map(|r| {
        let state: String = r.get(0);
        HookState::decode(state.as_bytes(), last)
    }))
}

/// Saves the state and renews the lease while `lease.owner` holds it.
pub(super) fn save(
    conn: &Conn<'_>,
    org: &str,
    endpoint: &str,
    lease: &Lease,
    state: &HookState,
) -> Result<bool> {
    let n = conn.execute(
        "UPDATE scimd_webhooks \
         SET state = $3, lease_until = now() + make_interval(secs => $5::float8) \
         WHERE org = $1 AND endpoint = $2 AND lease_owner = $4",
        &[&org, &endpoint, &state.encode(), &lease.owner, &secs(lease)],
    )?;
    Ok(n == 1)
}

/// Gives the lease up.
pub(super) fn release(conn: &Conn<'_>, org: &str, endpoint: &str, lease: &Lease) -> Result<()> {
    conn.execute(
        "UPDATE scimd_webhooks SET lease_owner = NULL, lease_until = NULL \
         WHERE org = $1 AND endpoint = $2 AND lease_owner = $3",
        &[&org, &endpoint, &lease.owner],
    )?;
    Ok(())
}

/// Every endpoint state of `org`.
pub(super) fn states(conn: &impl Query, org: &str) -> Result<Vec<(String, HookState)>> {
    let rows = conn.query(
        "SELECT endpoint, state FROM scimd_webhooks WHERE org = $1 ORDER BY endpoint",
        &[&org],
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            let state: String = r.get(1);
            (r.get(0), HookState::decode(state.as_bytes(), 0))
        })
        .collect())
}

/// Writes a state as another store held it, with no lease.
pub(super) fn import(conn: &Conn<'_>, org: &str, endpoint: &str, state: &HookState) -> Result<()> {
    conn.execute(
        "INSERT INTO scimd_webhooks (org, endpoint, state) VALUES ($1, $2, $3) \
         ON CONFLICT (org, endpoint) DO UPDATE SET state = EXCLUDED.state",
        &[&org, &endpoint, &state.encode()],
    )?;
    Ok(())
}
