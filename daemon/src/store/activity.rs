//! The persisted activity log: every record from the bus lands in the `activity` table so the
//! dashboard shows history after a restart, pruned by count and age on every append. The limits
//! come from the config's `[activity]` table and are read again for every batch, so a reload
//! applies from the next write on.
//!
//! Records are written by one background task ([`persist`]) in batches, one write
//! transaction per batch and off the async threads, so the log never queues behind (or ahead
//! of) SCIM writes one record at a time; publishing on the bus never waits for the log. When
//! several daemons share the store, the log is followed instead ([`follow`]), so every
//! daemon's dashboard shows every daemon's writes.

use std::sync::Arc;
use std::time::Duration;

use scimd_config::{ActivityConfig, Config};
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

/// The config file's defaults (`[activity]` left out).
impl Default for Retention {
    fn default() -> Self {
        Retention::from(&ActivityConfig::default())
    }
}

impl From<&ActivityConfig> for Retention {
    fn from(activity: &ActivityConfig) -> Self {
        Retention {
            max_records: activity.max_records,
            max_age: activity.max_age,
        }
    }
}

impl Retention {
    /// The retention of whatever config is current when called: what [`persist`] takes, so a
    /// reloaded `[activity]` table applies from the next batch without a restart.
    pub fn configured(config: watch::Receiver<Arc<Config>>) -> impl Fn() -> Retention + Send {
        move || Retention::from(&config.borrow().activity)
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
        crate::metrics::get().activity(0, missed, backlog);
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
/// and returns. Each record gets its sequence number here and is re-published on `feed` once
/// written, so a dashboard that subscribes to `feed` and then reads [`Store::recent_activity`]
/// misses nothing (and can drop duplicates by `seq`). `retention` is asked once per batch
/// (see [`Retention::configured`]).
pub async fn persist(
    store: Store,
    mut rx: broadcast::Receiver<ActivityRecord>,
    feed: broadcast::Sender<ActivityRecord>,
    retention: impl Fn() -> Retention + Send,
    mut stop: watch::Receiver<bool>,
) {
    let shared = store.shared();
    if shared {
        tokio::spawn(follow(store.clone(), feed.clone(), stop.clone()));
    }
    let last = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.last_activity_seq()).await
    };
    let mut next = match last {
        Ok(Ok(seq)) => seq + 1,
        Ok(Err(err)) => {
            tracing::error!(cause = %err, "cannot read the activity log; numbering from 1");
            1
        }
        Err(err) => {
            tracing::error!(cause = %err, "activity log task failed");
            1
        }
    };
    let mut stopping = *stop.borrow();
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
            continue;
        }
        for rec in &mut batch {
            rec.seq = next;
            next += 1;
        }
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
                    Ok(pruned) => {
                        crate::metrics::get().activity(batch.len() as u64, 0, rx.len());
                        tracing::trace!(records = batch.len(), pruned, "activity persisted")
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
mod tests {
    use super::*;

    #[test]
    fn dropped_records_are_told_once_a_minute_with_their_count() {
        let mut d = Dropped::default();
        d.add(5, 0);
        assert_eq!(d.untold, 0, "the first drop is told at once");
        let told = d.told;
        d.add(7, 0);
        d.add(1, 0);
        assert_eq!(d.untold, 8, "within the minute, counted not told");
        assert_eq!(d.told, told);
        d.told = told.and_then(|t| t.checked_sub(DROP_WARN_EVERY));
        d.add(2, 0);
        assert_eq!(d.untold, 0, "a minute on, told with the count");
    }

    fn rec(seq: u64, time: &str) -> ActivityRecord {
        ActivityRecord {
            seq,
            time: time.into(),
            org: "acme".into(),
            client: "Okta".into(),
            method: "POST".into(),
            resource: "User".into(),
            id: Some(format!("u{seq}")),
            name: Some(format!("user{seq}@acme.com")),
            summary: "created".into(),
            status: 201,
            scim_type: None,
            latency_us: 1200,
        }
    }

    fn at(s: &str) -> OffsetDateTime {
        OffsetDateTime::parse(s, &Rfc3339).unwrap()
    }

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("scimd.redb")).unwrap();
        (dir, store)
    }

    #[test]
    fn recent_is_newest_first_and_limited() {
        let (_dir, store) = open();
        let mut batch: Vec<_> = (1..=5)
            .map(|i| rec(i, &format!("2025-01-01T00:00:0{i}Z")))
            .collect();
        let retention = Retention::default();
        store
            .append_activity(&mut batch, &retention, at("2025-01-02T00:00:00Z"))
            .unwrap();
        let recent = store.recent_activity(3).unwrap();
        let seqs: Vec<u64> = recent.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, vec![5, 4, 3]);
        assert_eq!(recent[0], batch[4]);
        assert_eq!(store.last_activity_seq().unwrap(), 5);
    }

    #[test]
    fn retention_by_count_keeps_the_newest() {
        let (_dir, store) = open();
        let retention = Retention {
            max_records: 3,
            max_age: Duration::from_secs(3600),
        };
        let now = at("2025-01-01T00:10:00Z");
        for i in 1..=5 {
            let pruned = store
                .append_activity(&mut [rec(i, "2025-01-01T00:05:00Z")], &retention, now)
                .unwrap();
            assert_eq!(pruned, u64::from(i > 3));
        }
        assert_eq!(store.activity_len().unwrap(), 3);
        let seqs: Vec<u64> = store
            .recent_activity(10)
            .unwrap()
            .iter()
            .map(|r| r.seq)
            .collect();
        assert_eq!(seqs, vec![5, 4, 3]);
    }

    #[test]
    fn retention_by_age_drops_old_records_on_append() {
        let (_dir, store) = open();
        let retention = Retention {
            max_records: 100,
            max_age: Duration::from_secs(3600),
        };
        let mut old = [
            rec(1, "2025-01-01T00:00:00Z"),
            rec(2, "2025-01-01T00:30:00Z"),
        ];
        store
            .append_activity(&mut old, &retention, at("2025-01-01T00:45:00Z"))
            .unwrap();
        assert_eq!(store.activity_len().unwrap(), 2);
        // 01:20: record 1 is 80 minutes old, record 2 only 50.
        let pruned = store
            .append_activity(
                &mut [rec(3, "2025-01-01T01:20:00Z")],
                &retention,
                at("2025-01-01T01:20:00Z"),
            )
            .unwrap();
        assert_eq!(pruned, 1);
        let seqs: Vec<u64> = store
            .recent_activity(10)
            .unwrap()
            .iter()
            .map(|r| r.seq)
            .collect();
        assert_eq!(seqs, vec![3, 2]);
    }

    #[test]
    fn sequence_numbers_are_not_reused_after_everything_expired() {
        let (_dir, store) = open();
        let retention = Retention {
            max_records: 10,
            max_age: Duration::from_secs(60),
        };
        store
            .append_activity(
                &mut [rec(9, "2025-01-01T00:00:00Z")],
                &retention,
                at("2025-06-01T00:00:00Z"),
            )
            .unwrap();
        assert_eq!(store.activity_len().unwrap(), 0);
        assert_eq!(store.last_activity_seq().unwrap(), 9);
    }

    #[test]
    fn history_survives_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scimd.redb");
        {
            let store = Store::open(&path).unwrap();
            store
                .append_activity(
                    &mut [rec(7, "2025-01-01T00:00:00Z")],
                    &Retention::default(),
                    at("2025-01-01T00:00:01Z"),
                )
                .unwrap();
        }
        // The writer thread lets go of the file just after the store is dropped.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let store = loop {
            match Store::open(&path) {
                Ok(s) => break s,
                Err(e) if std::time::Instant::now() > deadline => panic!("reopen: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        };
        assert_eq!(store.last_activity_seq().unwrap(), 7);
        assert_eq!(store.recent_activity(5).unwrap()[0].seq, 7);
    }

    #[tokio::test]
    async fn persister_numbers_writes_and_forwards_records() {
        let (_dir, store) = open();
        let now = OffsetDateTime::now_utc().format(&Rfc3339).unwrap();
        store
            .append_activity(
                &mut [rec(41, &now)],
                &Retention::default(),
                OffsetDateTime::now_utc(),
            )
            .unwrap();
        let (bus_tx, bus_rx) = broadcast::channel(16);
        let (feed_tx, mut feed_rx) = broadcast::channel(16);
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(persist(
            store.clone(),
            bus_rx,
            feed_tx,
            Retention::default,
            stop_rx,
        ));
        bus_tx.send(rec(0, &now)).unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), feed_rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.seq, 42);
        // Sent just before stopping: still written on the way out.
        bus_tx.send(rec(0, &now)).unwrap();
        stop_tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
        let seqs: Vec<u64> = store
            .recent_activity(10)
            .unwrap()
            .iter()
            .map(|r| r.seq)
            .collect();
        assert_eq!(seqs, vec![43, 42, 41]);
    }

    fn config(text: &str) -> Config {
        Config::from_toml_str(text, std::path::Path::new("/etc/scimd/scimd.toml")).unwrap()
    }

    #[test]
    fn default_retention_is_the_config_default() {
        assert_eq!(Retention::default(), Retention::from(&config("").activity));
        assert_eq!(Retention::default().max_records, 10_000);
        assert_eq!(
            Retention::default().max_age,
            Duration::from_secs(30 * 24 * 3600)
        );
    }

    #[test]
    fn configured_limits_are_honoured() {
        let config = config("[activity]\nmax_records = 3\nmax_age_days = 2\n");
        let retention = Retention::from(&config.activity);
        assert_eq!(
            retention,
            Retention {
                max_records: 3,
                max_age: Duration::from_secs(2 * 24 * 3600),
            }
        );
        let (_dir, store) = open();
        let now = at("2025-01-10T00:00:00Z");
        // Two records older than two days, then five recent ones.
        let mut batch = [
            rec(1, "2025-01-07T00:00:00Z"),
            rec(2, "2025-01-07T23:59:59Z"),
        ];
        let pruned = store.append_activity(&mut batch, &retention, now).unwrap();
        assert_eq!(pruned, 2, "both are more than 2 days old");
        assert_eq!(store.activity_len().unwrap(), 0);
        let mut batch: Vec<_> = (3..=7).map(|i| rec(i, "2025-01-08T00:00:01Z")).collect();
        let pruned = store.append_activity(&mut batch, &retention, now).unwrap();
        assert_eq!(pruned, 2, "only the newest 3 are kept");
        let seqs: Vec<u64> = store
            .recent_activity(10)
            .unwrap()
            .iter()
            .map(|r| r.seq)
            .collect();
        assert_eq!(seqs, vec![7, 6, 5]);
    }

    #[tokio::test]
    async fn persister_applies_a_reloaded_retention_from_the_next_batch() {
        let (_dir, store) = open();
        let (config_tx, config_rx) =
            watch::channel(Arc::new(config("[activity]\nmax_records = 3\n")));
        let (bus_tx, bus_rx) = broadcast::channel(16);
        let (feed_tx, mut feed_rx) = broadcast::channel(16);
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(persist(
            store.clone(),
            bus_rx,
            feed_tx,
            Retention::configured(config_rx),
            stop_rx,
        ));
        let now = OffsetDateTime::now_utc().format(&Rfc3339).unwrap();
        // Each record is on the feed only once its batch is written (and pruned).
        let send = |n: usize| {
            for _ in 0..n {
                bus_tx.send(rec(0, &now)).unwrap();
            }
            n
        };
        async fn written(feed: &mut broadcast::Receiver<ActivityRecord>, n: usize) {
            for _ in 0..n {
                tokio::time::timeout(Duration::from_secs(5), feed.recv())
                    .await
                    .unwrap()
                    .unwrap();
            }
        }
        written(&mut feed_rx, send(5)).await;
        assert_eq!(store.activity_len().unwrap(), 3);
        config_tx.send_replace(Arc::new(config("[activity]\nmax_records = 1\n")));
        written(&mut feed_rx, send(1)).await;
        assert_eq!(store.activity_len().unwrap(), 1);
        assert_eq!(store.recent_activity(5).unwrap()[0].seq, 6);
        stop_tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }
}
