//! The control socket with the real daemon: a dashboard client subscribes while SCIM writes
//! happen, queries match the store, a stuck client cannot slow provisioning, and the activity
//! history survives a restart.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{eventually, socket_path, Ctl, Daemon};

fn create_user(d: &Daemon, org: &str, user_name: &str) -> String {
    let r = d
        .client(org)
        .post("/Users", &json!({"userName": user_name}));
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().expect("id").to_string()
}

fn deactivate(d: &Daemon, org: &str, id: &str) {
    let r = d.client(org).patch(
        &format!("/Users/{id}"),
        &json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": false}}]
        }),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
}

#[test]
fn a_subscriber_sees_each_write_with_its_summary() {
    let d = Daemon::start(&["acme"]);
    let mut ctl = Ctl::connect(&socket_path(&d));
    ctl.send(&json!({"type": "subscribe"}));

    let ann = create_user(&d, "acme", "ann@acme.com");
    let bob = create_user(&d, "acme", "bob@acme.com");
    deactivate(&d, "acme", &ann);
    let c = d.client("acme");
    let r = c.post(
        "/Groups",
        &json!({"displayName": "Eng", "members": [{"value": ann}, {"value": bob}, {"value": "no-such-user"}]}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let gid = r.body["id"].as_str().expect("id").to_string();
    let r = c.patch(
        &format!("/Groups/{gid}"),
        &json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "displayName", "value": "Platform"}]
        }),
    );
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_eq!(c.delete(&format!("/Users/{bob}")).status, 204);
    let mut wrong = d.client("acme");
    wrong.token = Some("scimd_wrong".into());
    assert_eq!(wrong.get("/Users").status, 401);

    let want: Vec<(&str, Option<&str>, &str, u64)> = vec![
        ("User", Some("ann@acme.com"), "created", 201),
        ("User", Some("bob@acme.com"), "created", 201),
        ("User", Some("ann@acme.com"), "deactivated", 200),
        (
            "Group",
            Some("Eng"),
            "created, added 2 members, skipped 1 unknown member id",
            201,
        ),
        ("Group", Some("Platform"), "renamed Eng to Platform", 204),
        ("User", None, "deleted", 204),
        ("auth", None, "authentication failed", 401),
    ];
    let mut records = Vec::new();
    let mut counters = None;
    let deadline = Instant::now() + Duration::from_secs(15);
    // Counters are sent every second; wait for one sent after all seven requests above.
    let counted = |c: &Option<serde_json::Value>| {
        c.as_ref()
            .and_then(|c| c["requests"].as_u64())
            .is_some_and(|n| n >= 7)
    };
    while records.len() < want.len() || !counted(&counters) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "records so far: {records:#?}, counters: {counters:?}"
        );
        let Some(msg) = ctl.recv(left) else { continue };
        match msg["type"].as_str() {
            Some("activity") => records.push(msg["record"].clone()),
            Some("counters") => counters = Some(msg),
            _ => panic!("unexpected {msg}"),
        }
    }
    for (rec, (resource, name, summary, status)) in records.iter().zip(&want) {
        assert_eq!(rec["org"], "acme", "{rec}");
        assert_eq!(rec["resource"], *resource, "{rec}");
        if let Some(name) = name {
            assert_eq!(rec["name"], *name, "{rec}");
        }
        assert_eq!(rec["summary"], *summary, "{rec}");
        assert_eq!(rec["status"], *status, "{rec}");
    }
    // Numbered in order by the activity log.
    let seqs: Vec<u64> = records.iter().filter_map(|r| r["seq"].as_u64()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let counters = counters.expect("counters");
    assert!(counters["requests"].as_u64().is_some_and(|n| n >= 7));
    assert!(
        counters["errors"].as_u64().is_some_and(|n| n >= 1),
        "the 401 counts as an error"
    );
    assert_eq!(counters["orgs"][0]["name"], "acme");
}

#[test]
fn snapshot_and_queries_match_the_store() {
    let d = Daemon::start(&["acme", "globex"]);
    let ann = create_user(&d, "acme", "ann@acme.com");
    let bob = create_user(&d, "acme", "bob@acme.com");
    create_user(&d, "acme", "carl@acme.com");
    create_user(&d, "globex", "ann@globex.com");
    deactivate(&d, "acme", &bob);
    let r = d.client("acme").post(
        "/Groups",
        &json!({"displayName": "Eng", "members": [{"value": ann}, {"value": bob}]}),
    );
    assert_eq!(r.status, 201);
    let gid = r.body["id"].as_str().expect("id").to_string();

    let mut ctl = Ctl::connect(&socket_path(&d));
    let snap = ctl.ask(json!({"type": "snapshot"}), "snapshot");
    let orgs = snap["orgs"].as_array().expect("orgs");
    let acme = orgs.iter().find(|o| o["name"] == "acme").expect("acme");
    let total = d.client("acme").get("/Users?count=0").body["totalResults"].clone();
    assert_eq!(acme["users"], total);
    assert_eq!(acme["users"], 3);
    assert_eq!(acme["active_users"], 2);
    assert_eq!(acme["teams"], 1);
    assert_eq!(acme["display_name"], "acme Inc");
    let globex = orgs.iter().find(|o| o["name"] == "globex").expect("globex");
    assert_eq!(globex["users"], 1);

    let teams = ctl.ask(json!({"type": "teams", "org": "acme"}), "teams");
    assert_eq!(
        teams["teams"],
        json!([{"id": gid, "name": "Eng", "members": 2}])
    );
    let members = ctl.ask(
        json!({"type": "team_members", "org": "acme", "team": gid}),
        "team_members",
    );
    let rows: Vec<(String, bool)> = members["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            (
                m["user_name"].as_str().unwrap_or_default().to_string(),
                m["active"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("ann@acme.com".into(), true),
            ("bob@acme.com".into(), false)
        ]
    );
    let users = ctl.ask(
        json!({"type": "users", "org": "acme", "prefix": "AN", "limit": 10}),
        "users",
    );
    assert_eq!(users["users"].as_array().map(Vec::len), Some(1));
    assert_eq!(users["users"][0]["user_name"], "ann@acme.com");
    assert_eq!(users["users"][0]["teams"], json!(["Eng"]));
    // A team of another org is not found.
    ctl.send(&json!({"type": "team_members", "org": "globex", "team": gid}));
    let reply = ctl.recv(Duration::from_secs(10)).expect("a reply");
    assert_eq!(reply["type"], "error", "{reply}");
}

#[test]
fn a_subscriber_that_stops_reading_does_not_slow_scim() {
    let d = Daemon::start(&["acme"]);
    let path = socket_path(&d);
    // Subscribes, then never reads again: its socket buffer fills and stays full.
    let mut stuck = Ctl::connect(&path);
    stuck.send(&json!({"type": "subscribe"}));

    let c = d.client("acme");
    // Long names make every record big (the log clips them), and enough records fill the
    // stuck socket's buffer with room to spare on every backend.
    const WRITES: usize = 1000;
    let pad = "x".repeat(2000);
    let started = Instant::now();
    for i in 0..WRITES {
        let r = c.post(
            "/Users",
            &json!({"userName": format!("user{i}@acme.com"), "title": pad}),
        );
        assert_eq!(r.status, 201, "write {i}: {:?}", r.body);
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(120), "{WRITES} writes took {took:?}");

    // The daemon still answers other dashboards.
    let mut fresh = Ctl::connect(&path);
    let snap = fresh.ask(json!({"type": "snapshot"}), "snapshot");
    assert_eq!(snap["orgs"][0]["users"], WRITES);
    eventually(
        "every record in the log",
        Duration::from_secs(15),
        || {
            let recent = fresh.ask(json!({"type": "recent", "limit": 2 * WRITES}), "recent");
            let n = recent["records"].as_array().map_or(0, |r| {
                r.iter()
                    .filter(|r| r["summary"] == "created" && r["resource"] == "User")
                    .count()
            });
            (n == WRITES).then_some(())
        },
    );
    // And it lets go of the stuck client (its writes time out) rather than holding its
    // records forever: the socket ends, which the client notices on its next write.
    eventually(
        "the daemon to drop the stuck client",
        Duration::from_secs(30),
        || stuck.write_bytes(b"\n").err().map(|_| ()),
    );
}

#[test]
fn the_socket_is_private_and_speaks_only_its_own_version() {
    let d = Daemon::start(&["acme"]);
    let path = socket_path(&d);
    let mode = std::fs::metadata(&path)
        .expect("socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");

    let mut old = Ctl::raw(&path);
    old.send(&json!({"type": "hello", "version": 999}));
    let reply = old.recv(Duration::from_secs(10)).expect("a refusal");
    assert_eq!(reply["type"], "error", "{reply}");
    assert!(reply["message"]
        .as_str()
        .is_some_and(|m| m.contains("999") && m.contains("version 1")));
    assert!(
        old.recv(Duration::from_secs(10)).is_none(),
        "then it hangs up"
    );

    let mut rude = Ctl::raw(&path);
    rude.send(&json!({"type": "snapshot"}));
    let reply = rude.recv(Duration::from_secs(10)).expect("a refusal");
    assert_eq!(reply["type"], "error", "{reply}");

    // Requests after the hello are answered in order.
    let mut ctl = Ctl::connect(&path);
    ctl.send(&json!({"type": "teams", "org": "acme"}));
    ctl.send(&json!({"type": "snapshot"}));
    ctl.send(&json!({"type": "recent", "limit": 5}));
    let kinds: Vec<Value> = (0..3)
        .map(|_| ctl.recv(Duration::from_secs(10)).expect("reply")["type"].clone())
        .collect();
    assert_eq!(kinds, vec!["teams", "snapshot", "recent"]);
}

#[test]
fn history_survives_a_restart_and_the_socket_file_is_managed() {
    let d = Daemon::start(&["acme"]);
    let path = socket_path(&d);
    create_user(&d, "acme", "ann@acme.com");
    create_user(&d, "acme", "bob@acme.com");
    let mut ctl = Ctl::connect(&path);
    let before = eventually("both writes in the log", Duration::from_secs(15), || {
        let r = ctl.ask(json!({"type": "recent", "limit": 10}), "recent");
        let records = r["records"].as_array().cloned().unwrap_or_default();
        (records.len() >= 2).then_some(records)
    });
    assert_eq!(before[0]["name"], "bob@acme.com", "newest first");
    drop(ctl);

    let (dir, config, tokens) = d.stop();
    let path = dir.path().join("data").join("scimd.sock");
    assert!(!path.exists(), "a clean shutdown removes the socket");
    // What a crash leaves behind: the next start must replace it.
    std::fs::write(&path, "stale").expect("stale file");

    let d = Daemon::start_in(dir, config, tokens);
    let mut ctl = Ctl::connect(&socket_path(&d));
    let after = ctl.ask(json!({"type": "recent", "limit": 10}), "recent");
    let after = after["records"].as_array().cloned().unwrap_or_default();
    for rec in &before {
        assert!(
            after.contains(rec),
            "{rec} missing after the restart: {after:#?}"
        );
    }
    // New records continue the numbering.
    ctl.send(&json!({"type": "subscribe"}));
    create_user(&d, "acme", "carl@acme.com");
    let last = before[0]["seq"].as_u64().expect("seq");
    let rec = eventually("carl's record", Duration::from_secs(15), || {
        let msg = ctl.recv(Duration::from_millis(200))?;
        (msg["type"] == "activity" && msg["record"]["name"] == "carl@acme.com")
            .then(|| msg["record"].clone())
    });
    assert!(rec["seq"].as_u64().is_some_and(|s| s > last), "{rec}");
}
