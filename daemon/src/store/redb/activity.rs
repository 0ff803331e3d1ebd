//! The activity log in the redb file: records keyed by their sequence number, oldest first,
//! numbered as they are written (inside the writer's transaction), pruned by count and age on
//! every batch the log task appends.

use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata, WriteTransaction};
use scimd_core::wire::ActivityRecord;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::schema::{ACTIVITY, META};
use crate::store::error::Result;

/// The META key holding the highest sequence number appended.
const LAST_SEQ: &str = "activity_last_seq";

/// The highest sequence number ever appended (0 before the first). Kept in META as well
/// as in the log, so numbers are never reused after retention empties the log: a
/// dashboard that drops duplicates by `seq` would otherwise hide new records.
pub(super) fn last_seq(txn: &ReadTransaction) -> Result<u64> {
    let table = txn.open_table(ACTIVITY)?;
    let in_log = table.last()?.map(|(k, _)| k.value()).unwrap_or(0);
    let meta = txn.open_table(META)?;
    let recorded = meta.get(LAST_SEQ)?.map(|v| v.value()).unwrap_or(0);
    Ok(in_log.max(recorded))
}

/// Numbers `records` after the highest number ever given and writes them, in the writer's
/// transaction.
pub(super) fn put(txn: &WriteTransaction, records: &mut [ActivityRecord]) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let mut meta = txn.open_table(META)?;
    let mut table = txn.open_table(ACTIVITY)?;
    let in_log = table.last()?.map(|(k, _)| k.value()).unwrap_or(0);
    let recorded = meta.get(LAST_SEQ)?.map(|v| v.value()).unwrap_or(0);
    let mut next = in_log.max(recorded);
    for rec in records.iter_mut() {
        next += 1;
        rec.seq = next;
        // Serializing plain strings and numbers cannot fail.
        let bytes = serde_json::to_vec(&*rec).unwrap_or_default();
        table.insert(rec.seq, bytes.as_slice())?;
    }
    meta.insert(LAST_SEQ, next)?;
    Ok(())
}

/// Drops the oldest records beyond `max_records` and those older than `cutoff`.
pub(super) fn prune(
    txn: &WriteTransaction,
    max_records: u64,
    cutoff: OffsetDateTime,
) -> Result<()> {
    let mut table = txn.open_table(ACTIVITY)?;
    while table.len()? > max_records {
        if table.pop_first()?.is_none() {
            break;
        }
    }
    // Records are appended in time order, so the expired ones are a prefix: stop at the first
    // one that is young enough.
    loop {
        let expired = match table.first()? {
            Some((_, v)) => record_time(v.value()).is_some_and(|t| t < cutoff),
            None => false,
        };
        if !expired {
            break;
        }
        table.pop_first()?;
    }
    Ok(())
}

/// The newest `limit` records, newest first. A record that no longer decodes is skipped:
/// history is a convenience and must not make the dashboard fail.
pub(super) fn recent(txn: &ReadTransaction, limit: usize) -> Result<Vec<ActivityRecord>> {
    let table = txn.open_table(ACTIVITY)?;
    decode_up_to(table.iter()?.rev(), limit)
}

/// Decodes at most `limit` entries, skipping (with a warning) any that no longer decode.
fn decode_up_to<'a>(
    entries: impl Iterator<
        Item = std::result::Result<
            (
                redb::AccessGuard<'a, u64>,
                redb::AccessGuard<'a, &'static [u8]>,
            ),
            redb::StorageError,
        >,
    >,
    limit: usize,
) -> Result<Vec<ActivityRecord>> {
    let mut out = Vec::new();
    for entry in entries {
        if out.len() >= limit {
            break;
        }
        let (k, v) = entry?;
        match serde_json::from_slice::<ActivityRecord>(v.value()) {
            Ok(rec) => out.push(rec),
            Err(err) => {
                tracing::warn!(seq = k.value(), cause = %err, "skipping corrupt activity record")
            }
        }
    }
    Ok(out)
}

/// How many records the log holds.
pub(super) fn len(txn: &ReadTransaction) -> Result<u64> {
    Ok(txn.open_table(ACTIVITY)?.len()?)
}

/// At most `limit` records after `seq`, oldest first.
pub(super) fn after(txn: &ReadTransaction, seq: u64, limit: usize) -> Result<Vec<ActivityRecord>> {
    let table = txn.open_table(ACTIVITY)?;
    decode_up_to(table.range(seq.saturating_add(1)..)?, limit)
}

/// The time of a stored record, without decoding all of it twice per prune.
fn record_time(bytes: &[u8]) -> Option<OffsetDateTime> {
    #[derive(serde::Deserialize)]
    struct Time<'a> {
        time: &'a str,
    }
    let t: Time<'_> = serde_json::from_slice(bytes).ok()?;
    OffsetDateTime::parse(t.time, &Rfc3339).ok()
}
