//! Webhook delivery state in the redb file. One process holds the file, so every claim
//! succeeds; states are written by the group-commit writer, so a save is durable with the next
//! group commit it joins.

use redb::{ReadTransaction, ReadableTable, WriteTransaction};

use super::schema::{EVENT_LAST, HOOKS};
use crate::store::error::Result;
use crate::store::hooks::HookState;

/// The state of `endpoint`, created after the org's last event (`last`) when it is new (in the
/// writer's transaction).
pub(super) fn claim(
    txn: &WriteTransaction,
    org: &str,
    endpoint: &str,
    last: u64,
) -> Result<HookState> {
    let mut hooks = txn.open_table(HOOKS)?;
    let existing = hooks
        .get((org, endpoint))?
        .map(|v| HookState::decode(v.value(), last));
    if let Some(s) = existing {
        return Ok(s);
    }
    let s = HookState {
        delivered: last,
        ..HookState::default()
    };
    hooks.insert((org, endpoint), s.encode().as_bytes())?;
    Ok(s)
}

pub(super) fn last_seq(
    t: &impl ReadableTable<(&'static str, &'static str), u64>,
    org: &str,
) -> Result<u64> {
    Ok(t.get((org, EVENT_LAST))?.map(|v| v.value()).unwrap_or(0))
}

/// Writes `state` (a save, or a state another store held, for `store copy`).
pub(super) fn put(
    txn: &WriteTransaction,
    org: &str,
    endpoint: &str,
    state: &HookState,
) -> Result<()> {
    txn.open_table(HOOKS)?
        .insert((org, endpoint), state.encode().as_bytes())?;
    Ok(())
}

/// Every endpoint state of `org`, by endpoint id.
pub(super) fn states(txn: &ReadTransaction, org: &str) -> Result<Vec<(String, HookState)>> {
    let hooks = txn.open_table(HOOKS)?;
    let mut out = Vec::new();
    for row in hooks.range((org, "")..)? {
        let (k, v) = row?;
        let (o, id) = k.value();
        if o != org {
            break;
        }
        out.push((id.to_string(), HookState::decode(v.value(), 0)));
    }
    Ok(out)
}
