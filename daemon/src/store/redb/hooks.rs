//! Webhook delivery state in the redb file. One process holds the file, so every claim
//! succeeds; saves skip the fsync (a lost save only sends an event again).

use redb::{Database, Durability, ReadableTable};

use super::schema::{EVENT_LAST, EVENT_SEQ, HOOKS};
use crate::store::error::Result;
use crate::store::hooks::HookState;

/// The state of `endpoint`, created after the org's last event when it is new.
pub(super) fn claim(db: &Database, org: &str, endpoint: &str) -> Result<HookState> {
    {
        let txn = db.begin_read()?;
        if let Some(v) = txn.open_table(HOOKS)?.get((org, endpoint))? {
            let last = last_seq(&txn.open_table(EVENT_SEQ)?, org)?;
            return Ok(HookState::decode(v.value(), last));
        }
    }
    let txn = db.begin_write()?;
    let state = {
        let last = last_seq(&txn.open_table(EVENT_SEQ)?, org)?;
        let mut hooks = txn.open_table(HOOKS)?;
        // Another call may have created it since the read.
        let existing = hooks
            .get((org, endpoint))?
            .map(|v| HookState::decode(v.value(), last));
        match existing {
            Some(s) => s,
            None => {
                let s = HookState {
                    delivered: last,
                    ..HookState::default()
                };
                hooks.insert((org, endpoint), s.encode().as_bytes())?;
                s
            }
        }
    };
    txn.commit()?;
    Ok(state)
}

fn last_seq(t: &impl ReadableTable<(&'static str, &'static str), u64>, org: &str) -> Result<u64> {
    Ok(t.get((org, EVENT_LAST))?.map(|v| v.value()).unwrap_or(0))
}

/// Saves `state`. Not fsynced by itself: the next durable commit (any SCIM write) carries it,
/// and saving each delivery with an fsync would take the writer's lock from SCIM writes.
pub(super) fn save(db: &Database, org: &str, endpoint: &str, state: &HookState) -> Result<()> {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::None);
    txn.open_table(HOOKS)?
        .insert((org, endpoint), state.encode().as_bytes())?;
    txn.commit()?;
    Ok(())
}

/// Makes every save so far durable: at shutdown, and now and then while delivering.
pub(super) fn flush(db: &Database) -> Result<()> {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate);
    txn.commit()?;
    Ok(())
}

/// Every endpoint state of `org`, by endpoint id.
pub(super) fn states(db: &Database, org: &str) -> Result<Vec<(String, HookState)>> {
    let txn = db.begin_read()?;
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

/// Writes a state as another store held it.
pub(super) fn import(db: &Database, org: &str, endpoint: &str, state: &HookState) -> Result<()> {
    let txn = db.begin_write()?;
    txn.open_table(HOOKS)?
        .insert((org, endpoint), state.encode().as_bytes())?;
    txn.commit()?;
    Ok(())
}
