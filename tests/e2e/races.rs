//! Concurrent clients: uniqueness, membership edits and `If-Match` hold under parallel writes.

use serde_json::json;

use crate::events::{consumer, drain, start};
use crate::harness::{patch_body, values_of, Daemon};

#[test]
fn parallel_creates_of_one_user_name_make_exactly_one_user() {
    let (d, tokens) = start("", &["acme"]);
    let c = d.client("acme");
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let c = c.clone();
                s.spawn(move || {
                    let name = if i % 2 == 0 {
                        "race@acme.com"
                    } else {
                        "RACE@Acme.com"
                    };
                    c.post("/Users", &json!({"userName": name})).status
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(
        statuses.iter().filter(|&&s| s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 409).count(),
        15,
        "{statuses:?}"
    );
    assert_eq!(c.get("/Users").total(), 1);
    // The refused creates left nothing behind: one event, and a count of one.
    let feed = drain(&consumer(&d, "acme", &tokens["acme"]));
    let created: Vec<_> = feed.iter().filter(|e| e["type"] == "user.created").collect();
    assert_eq!(created.len(), 1, "{feed:?}");
    assert_eq!(c.get("/Users?count=0").total(), 1);

    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let c = c.clone();
                s.spawn(move || c.post("/Groups", &json!({"displayName": "Racers"})).status)
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(
        statuses.iter().filter(|&&s| s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(c.get("/Groups").total(), 1);
}

#[test]
fn parallel_member_adds_lose_nothing_and_if_match_lets_one_writer_win() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let gid = c.create_group("Crowd", &[]);
    let users: Vec<String> = (0..24)
        .map(|i| c.create_user(&format!("m{i:02}@acme.com")))
        .collect();
    let path = format!("/Groups/{gid}");
    std::thread::scope(|s| {
        for chunk in users.chunks(3) {
            let c = c.clone();
            let path = path.clone();
            s.spawn(move || {
                for u in chunk {
                    c.patch_ops(
                        &path,
                        json!([{"op": "add", "path": "members", "value": [{"value": u}]}]),
                    )
                    .expect(204);
                }
            });
        }
    });
    let mut want = users.clone();
    want.sort();
    assert_eq!(values_of(&c.get(&path).body, "members"), want);

    // Eight writers race with the same If-Match: exactly one wins, the rest get 412.
    let version = c.get(&path).etag.expect("ETag");
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let c = c.clone();
                let (path, version) = (path.clone(), version.clone());
                s.spawn(move || {
                    let body = patch_body(json!([
                        {"op": "replace", "path": "displayName", "value": format!("Crowd {i}")}
                    ]));
                    c.send("PATCH", &path, Some(&body), &[("If-Match", &version)])
                        .status
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(
        statuses.iter().filter(|&&s| s == 204).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 412).count(),
        7,
        "{statuses:?}"
    );
    let g = c.get(&path);
    assert!(g.body["displayName"]
        .as_str()
        .is_some_and(|n| n.starts_with("Crowd ")));
    assert_eq!(
        values_of(&g.body, "members"),
        want,
        "members untouched by the renames"
    );
}
