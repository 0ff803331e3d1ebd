//! Store tests of the change feed on the embedded backend: the events a sequence of writes
//! leaves, their numbers across pruning and a reopen. The PostgreSQL backend runs the same
//! sequence through the e2e suite (`tests/e2e/events.rs`). Also the webhook positions kept
//! beside the feed.

use scimd_core::patch::MemberOp;
use scimd_core::ResourceType;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::store::events::{EventRetention, Payload};
use crate::store::{Change, Stamp, Store, Target, Unknown};

const NOW: &str = "2026-12-02T00:00:00.000Z";

fn attrs(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn kinds(store: &Store, after: Option<u64>) -> Vec<(u64, String)> {
    let page = store.events("acme", after, 1000).expect("events");
    page.events.into_iter().map(|e| (e.seq, e.kind)).collect()
}

fn set(store: &Store, rt: ResourceType, id: &str, a: Value, members: Vec<MemberOp>) {
    let a = attrs(a);
    store
        .modify(
            Target::new("acme", rt, id),
            None,
            Stamp {
                now: NOW,
                unknown: Unknown::Skip,
            },
            move |_| {
                Ok(Change {
                    attrs: a.clone(),
                    members: members.clone(),
                })
            },
        )
        .expect("modify");
}

#[test]
fn writes_leave_their_events_in_order_and_numbers_never_go_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("scimd.redb");
    let store = Store::open(&path).expect("open");
    let (u, g) = (ResourceType::User, ResourceType::Group);
    let ann = json!({"userName": "ann@acme.com", "active": true});
    store
        .create(
            Target::new("acme", u, "u1"),
            Stamp {
                now: NOW,
                unknown: Unknown::Skip,
            },
            attrs(ann.clone()),
            vec![],
        )
        .expect("create");
    // The same state again: no event.
    set(&store, u, "u1", ann.clone(), vec![]);
    set(
        &store,
        u,
        "u1",
        json!({"userName": "ann@acme.com", "active": false}),
        vec![],
    );
    set(&store, u, "u1", ann.clone(), vec![]);
    store
        .create(
            Target::new("acme", g, "g1"),
            Stamp {
                now: NOW,
                unknown: Unknown::Skip,
            },
            attrs(json!({"displayName": "Eng"})),
            vec!["u1".into()],
        )
        .expect("create team");
    set(
        &store,
        g,
        "g1",
        json!({"displayName": "Engineering"}),
        vec![],
    );
    set(
        &store,
        g,
        "g1",
        json!({"displayName": "Engineering"}),
        vec![MemberOp::Remove(vec!["u1".into()])],
    );
    set(
        &store,
        g,
        "g1",
        json!({"displayName": "Engineering"}),
        vec![MemberOp::Add(vec!["u1".into()])],
    );
    store
        .delete(Target::new("acme", u, "u1"), None, NOW)
        .expect("delete user");
    store
        .delete(Target::new("acme", g, "g1"), None, NOW)
        .expect("delete team");
    let want = [
        "user.created",
        "user.deactivated",
        "user.reactivated",
        "team.created",
        "team.member_added",
        "team.updated",
        "team.member_removed",
        "team.member_added",
        "team.member_removed",
        "user.deleted",
        "team.deleted",
    ];
    let got = kinds(&store, None);
    let names: Vec<&str> = got.iter().map(|(_, k)| k.as_str()).collect();
    assert_eq!(names, want);
    let seqs: Vec<u64> = got.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=want.len() as u64).collect::<Vec<_>>());
    // Another org's feed is its own.
    assert!(store
        .events("other", None, 10)
        .expect("events")
        .events
        .is_empty());

    let page = store.events("acme", Some(8), 1).expect("page");
    match &page.events[0].data {
        Payload::Member(m) => {
            assert_eq!(m["team"]["displayName"], "Engineering");
            assert_eq!(m["user"]["userName"], "ann@acme.com");
        }
        Payload::Resource(_) => panic!("a member event carried a resource"),
    }

    let keep = EventRetention {
        max_records: 3,
        max_age: std::time::Duration::from_secs(3600 * 24 * 365 * 100),
    };
    let pruned = store
        .prune_events("acme", &keep, OffsetDateTime::now_utc())
        .expect("prune");
    assert_eq!(pruned, want.len() as u64 - 3);
    let page = store.events("acme", None, 100).expect("after pruning");
    assert_eq!(page.pruned, want.len() as u64 - 3);
    assert_eq!(page.events.first().map(|e| e.seq), Some(page.pruned + 1));
    // Age: everything here is older than a day.
    let young = EventRetention {
        max_records: 100,
        max_age: std::time::Duration::from_secs(60),
    };
    store
        .prune_events("acme", &young, OffsetDateTime::now_utc())
        .expect("prune by age");
    let page = store
        .events("acme", None, 100)
        .expect("after pruning by age");
    assert!(page.events.is_empty());
    assert_eq!((page.pruned, page.last), (11, 11));
    drop(store);

    // Numbers survive a reopen and an empty feed: the next event is 12, not 1.
    let store = Store::open(&path).expect("reopen");
    store
        .create(
            Target::new("acme", u, "u2"),
            Stamp {
                now: NOW,
                unknown: Unknown::Skip,
            },
            attrs(json!({"userName": "bo@acme.com"})),
            vec![],
        )
        .expect("create");
    assert_eq!(
        kinds(&store, Some(11)),
        vec![(12, "user.created".to_string())]
    );
}

#[test]
fn a_webhook_position_starts_after_the_last_event_and_survives_a_reopen() {
    use crate::store::hooks::{HookState, Lease};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("scimd.redb");
    let lease = Lease {
        owner: "me".into(),
        ttl: std::time::Duration::from_secs(30),
    };
    {
        let store = Store::open(&path).expect("open");
        let ann = attrs(json!({"userName": "ann@acme.com"}));
        store
            .create(
                Target::new("acme", ResourceType::User, "u1"),
                Stamp {
                    now: NOW,
                    unknown: Unknown::Skip,
                },
                ann,
                vec![],
            )
            .expect("create");
        let fresh = store.hook_claim("acme", "h1", &lease).expect("claim");
        assert_eq!(
            fresh.map(|s| s.delivered),
            Some(1),
            "new endpoints skip the past"
        );
        // Another org's endpoint starts at that org's own (empty) feed.
        let other = store.hook_claim("globex", "h1", &lease).expect("claim");
        assert_eq!(other.map(|s| s.delivered), Some(0));
        let failing = HookState {
            delivered: 1,
            attempts: 2,
            last_error: Some("HTTP 503".into()),
            ..HookState::default()
        };
        assert!(store
            .hook_save("acme", "h1", &lease, &failing)
            .expect("save"));
        store.hook_release("acme", "h1", &lease).expect("release");
        store.close();
    }
    let store = Store::open(&path).expect("reopen");
    let states = store.hook_states("acme").expect("states");
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].0, "h1");
    assert_eq!(states[0].1.attempts, 2);
    let again = store.hook_claim("acme", "h1", &lease).expect("claim");
    assert_eq!(again.and_then(|s| s.last_error), Some("HTTP 503".into()));
}

#[test]
fn an_events_data_is_stored_as_json_once_and_old_rows_still_read() {
    use crate::store::events::StoredEvent;
    let data = r#"{"team":{"id":"g1","displayName":"Eng \"A\""},"user":{"id":"u1"}}"#;
    let e = StoredEvent {
        id: "e1".into(),
        time: NOW.into(),
        kind: "team.member_added".into(),
        data: data.into(),
    };
    let bytes = serde_json::to_string(&e).expect("encode");
    assert!(bytes.contains(&format!("\"data\":{data}")), "{bytes}");
    let back: StoredEvent = serde_json::from_str(&bytes).expect("decode");
    assert_eq!(back.data, data);
    // A row written before: the data as a JSON string holding the JSON.
    let old =
        serde_json::json!({"id": "e1", "time": NOW, "kind": "team.member_added", "data": data});
    let back: StoredEvent = serde_json::from_value(old).expect("decode an old row");
    assert_eq!(back.data, data);
}
