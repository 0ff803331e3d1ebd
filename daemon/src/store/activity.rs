//! The persisted activity log, so the dashboard shows history after a restart. A change's
//! record is written in the change's own transaction (`Tx::note`), so it is never lost. The
//! rest (refusals, auth failures, reloads) come from the bus and are written by one background
//! task ([`persist`]) in batches through the writer, pruned by count and age on every batch;
//! under a flood those may be dropped, counted and told. The retention is asked for again for
//! every batch, so a reloaded config applies from the next write on. When several daemons
//! share the store, the log is followed instead ([`follow`]), so every daemon's dashboard
//! shows every daemon's writes.

use std::time::Duration;

use scimd_core::wire::ActivityRecord;
#[cfg(test)]
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::{broadcast, watch};

use super::Store;

/// How much history the log keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// At most this many records; the oldest go first.
    pub max_records: u64,
    /// Records older than this are dropped.
    pub max_age: Duration,
}

/// The config file's defaults (`[activity]` left out): 10,000 records, 30 days.
impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_records: 10_000,
            max_age: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// How often, at most, the log says that it dropped records (with how many since it last
/// said so): a flood drops records many times a second, and each line would add to it.
const DROP_WARN_EVERY: Duration = Duration::from_secs(60);

/// Records dropped because the log fell behind, told at most once per [`DROP_WARN_EVERY`].
#[derive(Default)]
struct Dropped {
    untold: u64,
    told: Option<std::time::Instant>,
}

impl Dropped {
    fn add(&mut self, missed: u64, backlog: usize) {
        super::observe::tell(|o| o.activity(0, missed, backlog));
        self.untold += missed;
        let now = std::time::Instant::now();
        if self
            .told
            .is_some_and(|t| now.duration_since(t) < DROP_WARN_EVERY)
        {
            return;
        }
        tracing::warn!(
            missed = self.untold,
            "activity log fell behind; records not persisted (told at most once a minute; \
             scimd_activity_dropped_total counts them all)"
        );
        self.untold = 0;
        self.told = Some(now);
    }
}

/// The most records one write transaction takes, so a burst is written in a few bounded
/// transactions rather than one long one that would hold redb's writer lock.
const MAX_BATCH: usize = 256;

/// Moves records from the bus into the log until `stop` turns true, then writes what is left
/// and returns. `rx` carries records still to be written: the store numbers each as it writes
/// it, and it is re-published on `feed` once written, so a dashboard that subscribes to `feed`
/// and then reads [`Store::recent_activity`] misses nothing (and can drop duplicates by
/// `seq`). `stored` carries the records of changes, written with them: they go straight on to
/// `feed`, and every [`MAX_BATCH`] of them (any lost to lag included) the log is pruned, so
/// changes alone cannot grow it past its retention. `retention` is asked once per batch.
pub async fn persist(
    store: Store,
    mut rx: broadcast::Receiver<ActivityRecord>,
    mut stored: broadcast::Receiver<ActivityRecord>,
    feed: broadcast::Sender<ActivityRecord>,
    retention: impl Fn() -> Retention + Send,
    mut stop: watch::Receiver<bool>,
) {
    let shared = store.capabilities().shared;
    if shared {
        tokio::spawn(follow(store.clone(), feed.clone(), stop.clone()));
    }
    let mut stopping = *stop.borrow();
    let mut stored_open = true;
    // Records of changes written since the log was last pruned.
    let mut unpruned = 0usize;
    let mut dropped = Dropped::default();
    loop {
        let mut batch = Vec::new();
        if !stopping {
            tokio::select! {
                got = rx.recv() => match got {
                    Ok(rec) => batch.push(rec),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        dropped.add(missed, rx.len());
                    }
                    Err(broadcast::error::RecvError::Closed) => stopping = true,
                },
                got = stored.recv(), if stored_open => match got {
                    // With a shared log, `follow` shows every daemon's records in log order.
                    Ok(rec) => {
                        unpruned += 1;
                        if !shared {
                            let _ = feed.send(rec);
                        }
                    }
                    // Only live viewers miss these: the log has them.
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        unpruned = unpruned.saturating_add(missed as usize);
                    }
                    Err(broadcast::error::RecvError::Closed) => stored_open = false,
                },
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        stopping = true;
                    }
                }
            }
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(rec) => batch.push(rec),
                Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                    dropped.add(missed, rx.len());
                }
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            if stopping {
                return;
            }
            if unpruned >= MAX_BATCH {
                // An empty append prunes alone.
                unpruned = 0;
                let (writer, keep) = (store.clone(), retention());
                let pruned = tokio::task::spawn_blocking(move || {
                    writer.append_activity(&mut [], &keep, OffsetDateTime::now_utc())
                })
                .await;
                if let Ok(Err(err)) = pruned {
                    tracing::error!(cause = %err, "cannot prune the activity log");
                }
            }
            continue;
        }
        // This batch's append prunes too.
        unpruned = 0;
        let writer = store.clone();
        let retention = retention();
        let written = tokio::task::spawn_blocking(move || {
            let result = writer.append_activity(&mut batch, &retention, OffsetDateTime::now_utc());
            (batch, result)
        })
        .await;
        match written {
            Ok((batch, result)) => {
                let result_failed = result.is_err();
                match result {
                    Ok(()) => {
                        super::observe::tell(|o| o.activity(batch.len() as u64, 0, rx.len()));
                        tracing::trace!(records = batch.len(), "activity persisted")
                    }
                    Err(err) => {
                        tracing::error!(cause = %err, records = batch.len(), "cannot persist activity")
                    }
                }
                // Live viewers see the records even when the disk write failed; with a shared
                // log they come back through `follow`, in the log's order, instead.
                if !shared || result_failed {
                    for rec in batch {
                        let _ = feed.send(rec);
                    }
                }
            }
            Err(err) => tracing::error!(cause = %err, "activity log task failed"),
        }
    }
}

/// How often a daemon sharing its store looks for records written by any daemon when the
/// store's feed sets no interval of its own.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(250);

/// Publishes on `feed` every record the shared log gains (from this daemon or another),
/// in sequence order, until `stop` turns true. Woken by the store's feed when any daemon
/// appends (`Feed::subscribe_activity`); reads on its own as often as the feed asks.
async fn follow(
    store: Store,
    feed: broadcast::Sender<ActivityRecord>,
    mut stop: watch::Receiver<bool>,
) {
    let start = store.clone();
    let mut seen = match tokio::task::spawn_blocking(move || start.last_activity_seq()).await {
        Ok(Ok(seq)) => seq,
        _ => 0,
    };
    let mut wake = store.feed().subscribe_activity();
    loop {
        let every = store.feed().poll_every().unwrap_or(FOLLOW_EVERY);
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            Ok(()) = wake.changed() => {}
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
        }
        // Seen before the read: an append during it wakes the next wait.
        wake.borrow_and_update();
        loop {
            let reader = store.clone();
            let got =
                tokio::task::spawn_blocking(move || reader.activity_after(seen, MAX_BATCH)).await;
            let records = match got {
                Ok(Ok(records)) => records,
                Ok(Err(err)) => {
                    tracing::warn!(cause = %err, "cannot follow the shared activity log");
                    break;
                }
                Err(_) => break,
            };
            let full = records.len() >= MAX_BATCH;
            for rec in records {
                seen = seen.max(rec.seq);
                let _ = feed.send(rec);
            }
            if !full {
                break;
            }
        }
    }
}

#[cfg(test)]
#[path = "activity_tests.rs"]
mod tests;
