//! The activity log: the store numbers records, a change's record is written in the change's
//! own transaction (none for a refusal), and retention keeps the newest.

use std::sync::Arc;
use std::time::Duration;

use scimd::store::activity::Retention;
use scimd::store::{Note, Outcome};
use scimd_core::wire::ActivityRecord;
use time::OffsetDateTime;

use crate::backend::NOW;
use crate::conformance;
use crate::resources::{refused, user};

fn rec(id: &str) -> ActivityRecord {
    ActivityRecord {
        seq: 0,
        time: NOW.into(),
        org: "acme".into(),
        client: "Okta".into(),
        method: "POST".into(),
        resource: "User".into(),
        id: Some(id.into()),
        name: None,
        summary: "created".into(),
        status: 201,
        scim_type: None,
        latency_us: 1,
    }
}

fn ids(records: &[ActivityRecord]) -> Vec<String> {
    records.iter().filter_map(|r| r.id.clone()).collect()
}

conformance!(the_store_numbers_records_and_keeps_the_newest, |f| {
    let keep = Retention {
        max_records: 3,
        max_age: Duration::from_secs(3600 * 24 * 365 * 100),
    };
    let mut batch: Vec<ActivityRecord> = (1..=5).map(|i| rec(&format!("r{i}"))).collect();
    f.store
        .append_activity(&mut batch, &keep, OffsetDateTime::now_utc())
        .expect("append");
    // Numbered as they are written (redb), or as the batch commits (PostgreSQL): either
    // way in order, as the log shows.
    assert_eq!(f.store.activity_len().unwrap(), 3);
    let seqs: Vec<u64> = f
        .store
        .recent_activity(10)
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(seqs, [5, 4, 3]);
    assert_eq!(
        ids(&f.store.recent_activity(10).unwrap()),
        ["r5", "r4", "r3"]
    );
    assert_eq!(ids(&f.store.activity_after(3, 10).unwrap()), ["r4", "r5"]);
    assert_eq!(f.store.last_activity_seq().unwrap(), 5);
});

conformance!(
    a_noted_change_writes_its_record_with_it_and_a_refusal_none,
    |f| {
        let note: Note = Arc::new(|out: &Outcome| rec(&out.resource.id));
        let noting = f.store.noting(note);
        user(&noting, "u1", "ann@acme.com").expect("create");
        // The record is in the log as soon as the change returns.
        assert_eq!(ids(&f.store.recent_activity(10).unwrap()), ["u1"]);
        assert_eq!(refused(user(&noting, "u2", "ann@acme.com")), 409);
        assert_eq!(f.store.activity_len().unwrap(), 1);
    }
);
