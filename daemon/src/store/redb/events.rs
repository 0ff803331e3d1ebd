//! The change feed in the redb file: reading an org's events after a cursor, and pruning them
//! from the front in bounded chunks, each a job of the writer.

use redb::{ReadTransaction, ReadableTable};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::schema::{EVENTS, EVENT_LAST, EVENT_PRUNED, EVENT_SEQ};
use crate::store::error::{Result, StoreError};
use crate::store::events::{StoredEvent, PRUNE_CHUNK};

pub(super) type SeqTable<'t> = redb::Table<'t, (&'static str, &'static str), u64>;

fn seq_of(
    t: &impl ReadableTable<(&'static str, &'static str), u64>,
    org: &str,
    key: &str,
) -> Result<u64> {
    Ok(t.get((org, key))?.map(|v| v.value()).unwrap_or(0))
}

fn decode(seq: u64, bytes: &[u8]) -> Result<StoredEvent> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        table: "events",
        key: seq.to_string(),
        cause: e.to_string(),
    })
}

/// `org`'s pruned and last numbers.
pub(super) fn bounds(txn: &ReadTransaction, org: &str) -> Result<(u64, u64)> {
    let seqs = txn.open_table(EVENT_SEQ)?;
    Ok((
        seq_of(&seqs, org, EVENT_PRUNED)?,
        seq_of(&seqs, org, EVENT_LAST)?,
    ))
}

/// The feed's tables as a write transaction holds them.
pub(super) type EventsTable<'t> = redb::Table<'t, (&'static str, u64), &'static [u8]>;

/// Removes at most [`PRUNE_CHUNK`] of `org`'s events beyond its newest `max_records` or older
/// than `cutoff`, oldest first; returns how many went.
pub(super) fn prune_chunk(
    seqs: &mut SeqTable<'_>,
    table: &mut EventsTable<'_>,
    org: &str,
    max_records: u64,
    cutoff: OffsetDateTime,
) -> Result<u64> {
    let pruned = seq_of(seqs, org, EVENT_PRUNED)?;
    let last = seq_of(seqs, org, EVENT_LAST)?;
    let by_count = last.saturating_sub(max_records);
    // The newest event of this chunk that has to go; those before it go with it, so the kept
    // events stay one unbroken run (a clock that stepped back cannot leave a hole). Every
    // event is read (and may fail to decode) before the first removal.
    let mut upto = pruned;
    if pruned < last {
        for entry in table
            .range((org, pruned + 1)..=(org, last))?
            .take(PRUNE_CHUNK)
        {
            let (k, v) = entry?;
            let seq = k.value().1;
            let old = seq <= by_count
                || OffsetDateTime::parse(&decode(seq, v.value())?.time, &Rfc3339)
                    .is_ok_and(|t| t < cutoff);
            if old {
                upto = seq;
            }
        }
    }
    let mut removed = 0;
    for seq in pruned + 1..=upto {
        if table.remove((org, seq))?.is_some() {
            removed += 1;
        }
    }
    if upto > pruned {
        seqs.insert((org, EVENT_PRUNED), upto)?;
    }
    Ok(removed)
}

/// At most `limit` stored events of `org` after `after`, as stored.
pub(super) fn raw(
    txn: &ReadTransaction,
    org: &str,
    after: u64,
    limit: usize,
) -> Result<Vec<(u64, StoredEvent)>> {
    let table = txn.open_table(EVENTS)?;
    let mut out = Vec::new();
    for entry in table
        .range((org, after.saturating_add(1))..=(org, u64::MAX))?
        .take(limit)
    {
        let (k, v) = entry?;
        let seq = k.value().1;
        out.push((seq, decode(seq, v.value())?));
    }
    Ok(out)
}

/// Writes events with their numbers and raises the org's counters.
pub(super) fn import(
    seqs: &mut SeqTable<'_>,
    table: &mut EventsTable<'_>,
    org: &str,
    events: &[(u64, StoredEvent)],
    pruned: u64,
    last: u64,
) -> Result<()> {
    for (seq, e) in events {
        let bytes = serde_json::to_vec(e).unwrap_or_default();
        table.insert((org, *seq), bytes.as_slice())?;
    }
    let old_last = seq_of(seqs, org, EVENT_LAST)?;
    let old_pruned = seq_of(seqs, org, EVENT_PRUNED)?;
    seqs.insert((org, EVENT_LAST), old_last.max(last))?;
    seqs.insert((org, EVENT_PRUNED), old_pruned.max(pruned))?;
    Ok(())
}
