//! The change feed: each change's events in order, numbered per org from 1, none for a write
//! that changes nothing, and numbers that never go back, pruning included.

use std::time::Duration;

use scimd::store::events::EventRetention;
use scimd::store::{Change, Stamp, Store, Target, Unknown};
use scimd_core::ResourceType::User;
use serde_json::json;
use time::OffsetDateTime;

use crate::backend::{attrs, NOW};
use crate::conformance;
use crate::resources::{team, user};

fn kinds(store: &Store, org: &str, after: Option<u64>) -> Vec<(u64, String)> {
    let page = store.events(org, after, 1000).expect("events");
    page.events.into_iter().map(|e| (e.seq, e.kind)).collect()
}

fn set_active(store: &Store, id: &str, active: bool) {
    let stamp = Stamp {
        now: NOW,
        unknown: Unknown::Skip,
    };
    store
        .modify(Target::new("acme", User, id), None, stamp, move |cur| {
            let mut attrs = cur.attrs.clone();
            attrs.insert("active".into(), json!(active));
            Ok(Change {
                attrs,
                members: vec![],
            })
        })
        .expect("modify");
}

conformance!(changes_leave_their_events_in_order_numbered_per_org, |f| {
    user(&f.store, "u1", "ann@acme.com").unwrap();
    set_active(&f.store, "u1", true); // no change: no event
    set_active(&f.store, "u1", false);
    team(&f.store, "g1", "Eng", &["u1"]);
    f.store
        .delete(Target::new("acme", User, "u1"), None, NOW)
        .unwrap();
    let got: Vec<String> = kinds(&f.store, "acme", None)
        .into_iter()
        .map(|k| k.1)
        .collect();
    assert_eq!(
        got,
        [
            "user.created",
            "user.deactivated",
            "team.created",
            "team.member_added",
            "team.member_removed",
            "user.deleted"
        ]
    );
    let seqs: Vec<u64> = kinds(&f.store, "acme", None)
        .into_iter()
        .map(|k| k.0)
        .collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
    assert_eq!(kinds(&f.store, "acme", Some(4)).len(), 2, "after a cursor");
    // Another org numbers its own.
    let other = attrs(json!({"userName": "zed@other.com"}));
    let stamp = Stamp {
        now: NOW,
        unknown: Unknown::Skip,
    };
    f.store
        .create(Target::new("other", User, "u9"), stamp, other, vec![])
        .unwrap();
    assert_eq!(
        kinds(&f.store, "other", None),
        [(1, "user.created".to_string())]
    );
});

conformance!(pruning_keeps_the_newest_and_numbers_never_go_back, |f| {
    for i in 0..5 {
        user(&f.store, &format!("u{i}"), &format!("user{i}@acme.com")).unwrap();
    }
    let keep = EventRetention {
        max_records: 2,
        max_age: Duration::from_secs(3600 * 24 * 365 * 100),
    };
    let pruned = f
        .store
        .prune_events("acme", &keep, OffsetDateTime::now_utc())
        .expect("prune");
    assert_eq!(pruned, 3);
    let page = f.store.events("acme", None, 100).unwrap();
    assert_eq!((page.pruned, page.last), (3, 5));
    assert_eq!(
        page.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [4, 5]
    );
    user(&f.store, "u9", "user9@acme.com").unwrap();
    assert_eq!(
        kinds(&f.store, "acme", Some(5)),
        [(6, "user.created".to_string())]
    );
});
