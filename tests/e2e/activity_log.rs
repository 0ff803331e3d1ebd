//! The activity log keeps every change: a change's record is written in the change's own
//! transaction, so it is in the log the moment the change is answered, even while Bulk
//! requests and many single writes flood the daemon together.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::harness::{socket_path, Ctl, Daemon};

const BULK_THREADS: usize = 2;
const BULKS_EACH: usize = 4;
const BULK_OPS: usize = 500;
const POST_THREADS: usize = 16;
const POSTS_EACH: usize = 100;

fn bulk_of_creates(thread: usize, round: usize) -> Value {
    let ops: Vec<Value> = (0..BULK_OPS)
        .map(|i| {
            json!({
                "method": "POST",
                "path": "/Users",
                "bulkId": format!("b{i}"),
                "data": {"userName": format!("bulk{thread}-{round}-{i}@acme.com")}
            })
        })
        .collect();
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": ops
    })
}

#[test]
fn every_change_is_in_the_log_when_it_is_answered_even_under_a_flood() {
    let d = Daemon::start(&["acme"]);
    let created: Vec<String> = std::thread::scope(|s| {
        let mut workers = Vec::new();
        for t in 0..BULK_THREADS {
            let c = d.client("acme");
            workers.push(s.spawn(move || {
                let mut ids = Vec::new();
                for round in 0..BULKS_EACH {
                    let r = c.post("/Bulk", &bulk_of_creates(t, round));
                    assert_eq!(r.status, 200, "{:?}", r.body);
                    for op in r.body["Operations"].as_array().expect("operations") {
                        assert_eq!(op["status"], "201", "{op}");
                        let location = op["location"].as_str().expect("location");
                        ids.push(location.rsplit('/').next().unwrap_or_default().to_string());
                    }
                }
                ids
            }));
        }
        for t in 0..POST_THREADS {
            let c = d.client("acme");
            workers.push(s.spawn(move || {
                (0..POSTS_EACH)
                    .map(|i| {
                        let r = c.post("/Users", &json!({"userName": format!("post{t}-{i}@acme.com")}));
                        assert_eq!(r.status, 201, "{:?}", r.body);
                        r.body["id"].as_str().expect("id").to_string()
                    })
                    .collect::<Vec<_>>()
            }));
        }
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("writer"))
            .collect()
    });
    let total = BULK_THREADS * BULKS_EACH * BULK_OPS + POST_THREADS * POSTS_EACH;
    assert_eq!(created.len(), total);

    // Asked once, at once: no waiting for a log task to catch up.
    let mut ctl = Ctl::connect(&socket_path(&d));
    let recent = ctl.ask(json!({"type": "recent", "limit": 2 * total}), "recent");
    let records = recent["records"].as_array().expect("records");
    let logged: HashSet<&str> = records
        .iter()
        .filter(|r| r["resource"] == "User" && r["summary"] == "created")
        .filter_map(|r| r["id"].as_str())
        .collect();
    let missing: Vec<&String> = created
        .iter()
        .filter(|id| !logged.contains(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {total} creates missing from the log, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    let bulk_methods = records
        .iter()
        .filter(|r| r["method"] == "BULK POST")
        .count();
    assert_eq!(bulk_methods, BULK_THREADS * BULKS_EACH * BULK_OPS);
    // Sequence numbers are unique.
    let seqs: HashSet<u64> = records.iter().filter_map(|r| r["seq"].as_u64()).collect();
    assert_eq!(seqs.len(), records.len());
}
