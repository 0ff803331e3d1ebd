//! Tests of the activity log: numbering by the store, retention, history across a reopen, the
//! log task, and a change's record written in the change's own transaction.

use std::sync::Arc;

use scimd_core::ResourceType;
use serde_json::json;

use super::*;
use crate::store::{Note, Outcome, Stamp, Target, Unknown};

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

fn rec(n: u64, time: &str) -> ActivityRecord {
    ActivityRecord {
        seq: 0,
        time: time.into(),
        org: "acme".into(),
        client: "Okta".into(),
        method: "POST".into(),
        resource: "User".into(),
        id: Some(format!("u{n}")),
        name: Some(format!("user{n}@acme.com")),
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

fn seqs(store: &Store) -> Vec<u64> {
    store
        .recent_activity(100)
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect()
}

#[test]
fn the_store_numbers_records_and_recent_is_newest_first_and_limited() {
    let (_dir, store) = open();
    let mut batch: Vec<_> = (1..=5)
        .map(|i| rec(i, &format!("2025-01-01T00:00:0{i}Z")))
        .collect();
    store
        .append_activity(
            &mut batch,
            &Retention::default(),
            at("2025-01-02T00:00:00Z"),
        )
        .unwrap();
    assert_eq!(
        batch.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    let recent = store.recent_activity(3).unwrap();
    assert_eq!(
        recent.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![5, 4, 3]
    );
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
        store
            .append_activity(&mut [rec(i, "2025-01-01T00:05:00Z")], &retention, now)
            .unwrap();
        assert_eq!(store.activity_len().unwrap(), i.min(3));
    }
    assert_eq!(store.activity_len().unwrap(), 3);
    assert_eq!(seqs(&store), vec![5, 4, 3]);
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
    store
        .append_activity(
            &mut [rec(3, "2025-01-01T01:20:00Z")],
            &retention,
            at("2025-01-01T01:20:00Z"),
        )
        .unwrap();
    assert_eq!(seqs(&store), vec![3, 2], "record 1 went");
}

#[test]
fn sequence_numbers_are_not_reused_after_everything_expired() {
    let (_dir, store) = open();
    let retention = Retention {
        max_records: 10,
        max_age: Duration::from_secs(60),
    };
    let later = at("2025-06-01T00:00:00Z");
    store
        .append_activity(&mut [rec(1, "2025-01-01T00:00:00Z")], &retention, later)
        .unwrap();
    assert_eq!(store.activity_len().unwrap(), 0);
    assert_eq!(store.last_activity_seq().unwrap(), 1);
    let mut next = [rec(2, "2025-06-01T00:00:00Z")];
    store.append_activity(&mut next, &retention, later).unwrap();
    assert_eq!(
        next[0].seq, 2,
        "the emptied log goes on from its highest number"
    );
}

#[test]
fn history_survives_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scimd.redb");
    {
        let store = Store::open(&path).unwrap();
        store
            .append_activity(
                &mut [rec(1, "2025-01-01T00:00:00Z")],
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
    assert_eq!(store.last_activity_seq().unwrap(), 1);
    assert_eq!(store.recent_activity(5).unwrap()[0].seq, 1);
}

async fn next(feed: &mut broadcast::Receiver<ActivityRecord>) -> ActivityRecord {
    tokio::time::timeout(Duration::from_secs(5), feed.recv())
        .await
        .unwrap()
        .unwrap()
}

/// The log task running over `store`, with the ends a test drives it by.
struct LogTask {
    bus: broadcast::Sender<ActivityRecord>,
    stored: broadcast::Sender<ActivityRecord>,
    feed: broadcast::Receiver<ActivityRecord>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl LogTask {
    fn start(store: &Store, retention: impl Fn() -> Retention + Send + 'static) -> LogTask {
        // Room for every record a test sends at once.
        let (bus, bus_rx) = broadcast::channel(1024);
        let (stored, stored_rx) = broadcast::channel(1024);
        let (feed_tx, feed) = broadcast::channel(1024);
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(persist(
            store.clone(),
            bus_rx,
            stored_rx,
            feed_tx,
            retention,
            stop_rx,
        ));
        LogTask {
            bus,
            stored,
            feed,
            stop,
            task,
        }
    }

    /// Stops the task and waits for it to write what it holds and end.
    async fn stop(self) {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .unwrap()
            .unwrap();
    }
}

#[tokio::test]
async fn the_log_task_writes_records_and_passes_stored_ones_straight_on() {
    let (_dir, store) = open();
    let now = OffsetDateTime::now_utc().format(&Rfc3339).unwrap();
    store
        .append_activity(
            &mut [rec(1, &now)],
            &Retention::default(),
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    let mut log = LogTask::start(&store, Retention::default);
    log.bus.send(rec(2, &now)).unwrap();
    assert_eq!(next(&mut log.feed).await.seq, 2, "numbered by the store");
    // A change's record is in the log already: shown, not written again.
    let mut change = rec(3, &now);
    change.seq = 99;
    log.stored.send(change.clone()).unwrap();
    assert_eq!(next(&mut log.feed).await, change);
    // Sent just before stopping: still written on the way out.
    log.bus.send(rec(4, &now)).unwrap();
    log.stop().await;
    assert_eq!(seqs(&store), vec![3, 2, 1]);
}

#[tokio::test]
async fn the_log_task_applies_a_new_retention_from_the_next_batch() {
    let (_dir, store) = open();
    let (keep_tx, keep_rx) = watch::channel(Retention {
        max_records: 3,
        max_age: Duration::from_secs(3600),
    });
    let mut log = LogTask::start(&store, move || *keep_rx.borrow());
    let now = OffsetDateTime::now_utc().format(&Rfc3339).unwrap();
    // Each record is on the feed only once its batch is written (and pruned).
    for i in 0..5 {
        log.bus.send(rec(i, &now)).unwrap();
    }
    for _ in 0..5 {
        next(&mut log.feed).await;
    }
    assert_eq!(store.activity_len().unwrap(), 3);
    keep_tx.send_replace(Retention {
        max_records: 1,
        max_age: Duration::from_secs(3600),
    });
    log.bus.send(rec(6, &now)).unwrap();
    next(&mut log.feed).await;
    assert_eq!(store.activity_len().unwrap(), 1);
    assert_eq!(store.recent_activity(5).unwrap()[0].seq, 6);
    log.stop().await;
}

fn attrs(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    v.as_object().unwrap().clone()
}

/// A note that records the outcome's id, as a handler's does.
fn note() -> Note {
    Arc::new(|out: &Outcome| ActivityRecord {
        id: Some(out.resource.id.clone()),
        ..rec(0, "2025-01-01T00:00:00Z")
    })
}

#[test]
fn a_noted_change_writes_its_record_in_its_own_transaction_and_a_refusal_none() {
    let (_dir, store) = open();
    let noting = store.noting(note());
    let create = |id: &str| {
        noting.create(
            Target::new("acme", ResourceType::User, id),
            Stamp {
                now: "2025-01-01T00:00:00Z",
                unknown: Unknown::Skip,
            },
            attrs(json!({"userName": "ann@acme.com"})),
            vec![],
        )
    };
    let out = create("u1").unwrap();
    let noted = out.noted.expect("the record comes back");
    assert_eq!((noted.seq, noted.id.as_deref()), (1, Some("u1")));
    assert_eq!(store.recent_activity(5).unwrap(), vec![noted]);
    // The same userName again is refused (409): no change, so no record.
    assert!(create("u2").is_err());
    assert_eq!(store.activity_len().unwrap(), 1);
    // A handle without a note writes none.
    store
        .delete(
            Target::new("acme", ResourceType::User, "u1"),
            None,
            "2025-01-01T00:00:01Z",
        )
        .unwrap();
    assert_eq!(store.activity_len().unwrap(), 1);
}

#[tokio::test]
async fn changes_alone_cannot_grow_the_log_past_its_retention() {
    let (_dir, store) = open();
    let keep = Retention {
        max_records: 5,
        max_age: Duration::from_secs(3600),
    };
    let log = LogTask::start(&store, move || keep);
    // Only changes, each with its record written in its own transaction: no batch of the
    // log task's own would prune.
    let noting = store.noting(note());
    for i in 0..MAX_BATCH + 10 {
        let id = format!("u{i}");
        let t = Target::new("acme", ResourceType::User, &id);
        let stamp = Stamp {
            now: "2025-01-01T00:00:00Z",
            unknown: Unknown::Skip,
        };
        let a = attrs(json!({"userName": format!("user{i}@acme.com")}));
        let out = noting.create(t, stamp, a, vec![]).expect("create");
        log.stored.send(out.noted.expect("noted")).expect("send");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.activity_len().unwrap() > 5 {
        assert!(
            std::time::Instant::now() < deadline,
            "the log holds {} records",
            store.activity_len().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    log.stop().await;
}
