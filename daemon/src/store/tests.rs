//! Store tests that span the modules: clean close, reopen after a fault, optimistic writes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use scimd_core::ResourceType;
use serde_json::{json, Map, Value};

use crate::store::{Stamp, Store, Target, Unknown, Walk};

#[test]
fn dropping_the_store_closes_the_file_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("scimd.redb");
    {
        let store = Store::open(&path).expect("open");
        let attrs: Map<String, Value> = json!({"userName": "ann@acme.com"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let now = "2026-11-28T00:00:00Z";
        store
            .create(
                Target::new("acme", ResourceType::User, "u1"),
                Stamp {
                    now,
                    unknown: Unknown::Skip,
                },
                attrs,
                Vec::new(),
            )
            .expect("create");
    }
    // The writer thread has released the file: it opens at once, and without a repair.
    let repaired = Arc::new(AtomicBool::new(false));
    let seen = repaired.clone();
    let db = redb::Builder::new()
        .set_repair_callback(move |_| seen.store(true, Ordering::SeqCst))
        .create(&path)
        .expect("reopen right after the store is dropped");
    drop(db);
    assert!(!repaired.load(Ordering::SeqCst), "the file needed a repair");
    let store = Store::open(&path).expect("open again");
    assert!(store
        .get("acme", ResourceType::User, "u1", false)
        .expect("get")
        .is_some());
}

fn user(name: &str) -> Map<String, Value> {
    json!({ "userName": name })
        .as_object()
        .cloned()
        .unwrap_or_default()
}

const NOW: &str = "2026-12-02T00:00:00Z";

/// Creates user `id` named `name` in org acme.
fn add_user(
    store: &Store,
    id: &str,
    name: &str,
) -> crate::store::error::Result<crate::store::Outcome> {
    store.create(
        Target::new("acme", ResourceType::User, id),
        Stamp {
            now: NOW,
            unknown: Unknown::Skip,
        },
        user(name),
        Vec::new(),
    )
}

#[test]
fn a_panicking_write_fails_alone_and_the_writer_carries_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("scimd.redb")).expect("open");
    let panicked = store.write("acme", |_tx| -> crate::store::error::Result<()> {
        panic!("a bug in one request")
    });
    assert!(
        matches!(panicked, Err(crate::store::StoreError::Panicked(ref m)) if m.contains("a bug")),
        "{panicked:?}"
    );
    // Writes still work, and the panic left nothing behind.
    add_user(&store, "u1", "ann@acme.com").expect("create after the panic");
    assert_eq!(store.count("acme", ResourceType::User).unwrap(), 1);
    assert_eq!(store.health(), crate::store::Health::Ok);
}

#[test]
fn a_panic_in_a_batch_does_not_lose_the_other_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("scimd.redb")).expect("open");
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            std::thread::spawn(move || {
                if i % 4 == 0 {
                    let r = store.write("acme", move |tx| -> crate::store::error::Result<()> {
                        // Writes half a user, then panics: the batch must not keep it.
                        tx.create(
                            Target::new("acme", ResourceType::User, &format!("bad{i}")),
                            Stamp {
                                now: NOW,
                                unknown: Unknown::Skip,
                            },
                            user(&format!("bad{i}@acme.com")),
                            Vec::new(),
                        )?;
                        panic!("after a write")
                    });
                    assert!(r.is_err());
                } else {
                    add_user(&store, &format!("u{i}"), &format!("u{i}@acme.com"))
                        .expect("an innocent write");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    assert_eq!(store.count("acme", ResourceType::User).unwrap(), 12);
    for i in (0..16).step_by(4) {
        assert!(store
            .get("acme", ResourceType::User, &format!("bad{i}"), false)
            .unwrap()
            .is_none());
    }
}

#[test]
fn a_modify_prepared_on_an_old_version_is_prepared_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("scimd.redb")).expect("open");
    add_user(&store, "u1", "ann@acme.com").expect("create");
    // The change runs outside the writer; a concurrent write moves the version under it the
    // first time, so the store prepares it again against the new version.
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    let other = store.clone();
    let out = store
        .modify(
            Target::new("acme", ResourceType::User, "u1"),
            None,
            Stamp {
                now: NOW,
                unknown: Unknown::Skip,
            },
            move |cur| {
                if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                    other
                        .modify(
                            Target::new("acme", ResourceType::User, "u1"),
                            None,
                            Stamp {
                                now: NOW,
                                unknown: Unknown::Skip,
                            },
                            |c| {
                                let mut attrs = c.attrs.clone();
                                attrs.insert("displayName".into(), json!("Ann"));
                                Ok(crate::store::Change {
                                    attrs,
                                    members: Vec::new(),
                                })
                            },
                        )
                        .expect("the concurrent write");
                }
                let mut attrs = cur.attrs.clone();
                attrs.insert("title".into(), json!("Boss"));
                Ok(crate::store::Change {
                    attrs,
                    members: Vec::new(),
                })
            },
        )
        .expect("modify");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // Both changes are there: nothing was lost to the race.
    assert_eq!(out.resource.attrs["displayName"], "Ann");
    assert_eq!(out.resource.attrs["title"], "Boss");
    assert_eq!(out.resource.meta.version, 3);
}

#[test]
fn a_store_written_by_a_newer_layout_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("scimd.redb");
    drop(Store::open(&path).expect("create"));
    {
        let db = redb::Database::create(&path).expect("raw open");
        let txn = db.begin_write().expect("write");
        {
            let meta: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("meta");
            let mut meta = txn.open_table(meta).expect("meta");
            meta.insert("schema_version", 99).expect("bump");
        }
        txn.commit().expect("commit");
    }
    let refused = Store::open(&path);
    assert!(
        matches!(&refused, Err(crate::store::StoreError::Schema(m)) if m.contains("newer scimd") && m.contains("99")),
        "{:?}",
        refused.err()
    );
}

/// A file of the first layout (no activity log table, no change feed) opens, keeps its users,
/// and gains what the current layout has.
#[test]
fn a_store_written_by_an_older_layout_is_migrated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("scimd.redb");
    {
        let store = Store::open(&path).expect("create");
        add_user(&store, "u1", "ann@acme.com").expect("create");
        store.close();
    }
    {
        // Back to the first layout: its files had no activity table.
        let db = redb::Database::create(&path).expect("raw open");
        let txn = db.begin_write().expect("write");
        let activity: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("activity");
        assert!(txn.delete_table(activity).expect("drop activity"));
        // Nor the change feed (layout 2).
        for name in ["events", "event_seq"] {
            let t: redb::TableDefinition<(&str, u64), &[u8]> = redb::TableDefinition::new(name);
            txn.delete_table(t).expect("drop a feed table");
        }
        let meta: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("meta");
        txn.open_table(meta)
            .expect("meta")
            .insert("schema_version", 1)
            .expect("layout 1");
        txn.commit().expect("commit");
        let read = db.begin_read().expect("read");
        use redb::TableHandle;
        assert!(!read
            .list_tables()
            .expect("tables")
            .any(|t| t.name() == "activity"));
    }
    let store = Store::open(&path).expect("an older layout opens");
    assert!(store
        .get("acme", ResourceType::User, "u1", false)
        .expect("get")
        .is_some());
    assert_eq!(
        store.activity_len().expect("the activity log exists again"),
        0
    );
    // The feed exists again, numbered from 1.
    add_user(&store, "u2", "bob@acme.com").expect("a write after the migration");
    let page = store.events("acme", None, 10).expect("the feed exists");
    assert_eq!(page.events.len(), 1);
    assert_eq!((page.events[0].seq, page.last), (1, 1));
    store.close();
    let db = redb::Database::create(&path).expect("raw open");
    let txn = db.begin_read().expect("read");
    let meta: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("meta");
    let version = txn
        .open_table(meta)
        .expect("meta")
        .get("schema_version")
        .expect("get")
        .map(|v| v.value());
    assert_eq!(version, Some(crate::store::redb::SCHEMA_VERSION));
}

fn team(name: &str) -> Map<String, Value> {
    json!({ "displayName": name })
        .as_object()
        .cloned()
        .unwrap_or_default()
}

/// A resource's links as (id, display), sorted.
fn sorted_links(r: crate::store::Resource) -> Vec<(String, String)> {
    let mut links: Vec<(String, String)> = r
        .links
        .unwrap_or_default()
        .into_iter()
        .map(|l| (l.id, l.display))
        .collect();
    links.sort();
    links
}

/// The teams of each user as a listing reads them (several users per membership range) are
/// the teams a GET of that user reads alone, including a user in more teams than one range
/// holds, and a listing that starts part way.
#[test]
fn a_page_of_users_reads_the_same_teams_as_single_gets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("scimd.redb")).expect("open");
    let ids: Vec<String> = (0..300).map(|i| format!("u{i:03}")).collect();
    for id in &ids {
        add_user(&store, id, &format!("{id}@acme.com")).expect("user");
    }
    let even: Vec<String> = ids.iter().step_by(2).cloned().collect();
    let create_team = |gid: &str, members: Vec<String>| {
        store
            .create(
                Target::new("acme", ResourceType::Group, gid),
                Stamp {
                    now: NOW,
                    unknown: Unknown::Reject,
                },
                team(&format!("Team {gid}")),
                members,
            )
            .expect("team");
    };
    create_team("g-even", even);
    create_team("g-low", ids[..151].to_vec());
    // u005 ends up in more teams than one membership range reads at once.
    for k in 0..140 {
        create_team(&format!("g-u005-{k:03}"), vec!["u005".into()]);
    }
    let single = |id: &str| -> Vec<(String, String)> {
        let r = store
            .get("acme", ResourceType::User, id, true)
            .expect("get")
            .expect("exists");
        sorted_links(r)
    };
    for after in [None, Some("u004"), Some("u149")] {
        let mut seen = Vec::new();
        store
            .visit(
                "acme",
                ResourceType::User,
                Walk {
                    source: &crate::store::Source::All,
                    after,
                    skip: 0,
                    with_links: true,
                },
                &mut |r| {
                    seen.push((r.id.clone(), sorted_links(r)));
                    Ok(true)
                },
            )
            .expect("visit");
        let expected: Vec<&String> = ids
            .iter()
            .filter(|i| after.is_none_or(|a| i.as_str() > a))
            .collect();
        let got: Vec<&String> = seen.iter().map(|(id, _)| id).collect();
        assert_eq!(got, expected, "after {after:?}");
        for (id, links) in &seen {
            assert_eq!(links, &single(id), "teams of {id}, after {after:?}");
        }
    }
    let u005 = single("u005");
    assert_eq!(u005.len(), 141, "u005 (odd): g-low and its 140 teams");
    assert!(u005.contains(&("g-low".into(), "Team g-low".into())));
    assert_eq!(single("u299"), Vec::new(), "odd and above 150: no team");
    assert_eq!(
        single("u298"),
        vec![("g-even".into(), "Team g-even".into())]
    );
}
