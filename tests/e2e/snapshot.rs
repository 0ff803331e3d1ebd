//! `GET /events/v1/{org}/snapshot`: the whole directory from one read snapshot as NDJSON, with
//! the cursor that continues it exactly in the feed; a copy built from a snapshot taken while
//! writers churn, then the feed after its cursor, equals the directory; snapshots are bounded
//! per org and a client that stops reading is cut off.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::Duration;

use serde_json::{json, Value};

use crate::events::{consumer, drain, start};
use crate::harness::{assert_error, connect, eventually, Client, USER};

/// The snapshot's lines, parsed; panics on a line that is not JSON.
pub(crate) fn lines(r: &crate::harness::Resp) -> Vec<Value> {
    let text = match &r.body {
        Value::String(s) => s.clone(),
        // A one-line answer parses as JSON whole.
        other => other.to_string(),
    };
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn of_type<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["type"] == kind).collect()
}

fn events_after(c: &Client, cursor: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = cursor.to_string();
    loop {
        let page = c.get(&format!("?limit=1000&after={after}"));
        page.expect(200);
        out.extend(page.body["data"].as_array().cloned().unwrap_or_default());
        after = page.body["next"].as_str().expect("next").to_string();
        if page.body["hasMore"] != json!(true) {
            return out;
        }
    }
}

#[test]
fn a_snapshot_is_the_directory_with_the_cursor_that_continues_it() {
    let (d, tokens) = start("", &["acme"]);
    let c = d.client("acme");
    let feed = consumer(&d, "acme", &tokens["acme"]);
    let ann = c.create_user("ann@acme.com");
    let bob = c.create_user("bob@acme.com");
    c.patch_ops(
        &format!("/Users/{bob}"),
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .expect(200);
    let eng = c.create_group("Eng", &[&ann, &bob]);
    let ops = c.create_group("Ops", &[&ann]);

    let r = feed.get("/snapshot");
    r.expect(200);
    assert_eq!(r.content_type.as_deref(), Some("application/x-ndjson"));
    let all = lines(&r);
    let end = all.last().expect("an end line");
    assert_eq!(end["type"], "end", "{end}");
    assert_eq!((end["users"].as_u64(), end["teams"].as_u64()), (Some(2), Some(2)));
    assert_eq!(end["members"].as_u64(), Some(3));
    // Users and teams are rendered as the events render them; teams come without members.
    let users = of_type(&all, "user");
    let names: BTreeSet<&str> = users.iter().filter_map(|u| u["data"]["userName"].as_str()).collect();
    assert_eq!(names, BTreeSet::from(["ann@acme.com", "bob@acme.com"]));
    let bob_line = users.iter().find(|u| u["data"]["id"] == bob.as_str()).expect("bob");
    assert_eq!(bob_line["data"]["active"], false);
    assert!(bob_line["data"]["meta"]["location"].is_string());
    let teams = of_type(&all, "team");
    assert_eq!(teams.len(), 2);
    assert!(teams.iter().all(|t| t["data"].get("members").is_none()));
    let members: BTreeSet<(String, String, String, String)> = of_type(&all, "member")
        .iter()
        .map(|m| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (s(&m["team"]["id"]), s(&m["team"]["displayName"]), s(&m["user"]["id"]), s(&m["user"]["userName"]))
        })
        .collect();
    let want = BTreeSet::from([
        (eng.clone(), "Eng".to_string(), ann.clone(), "ann@acme.com".to_string()),
        (eng.clone(), "Eng".to_string(), bob.clone(), "bob@acme.com".to_string()),
        (ops.clone(), "Ops".to_string(), ann.clone(), "ann@acme.com".to_string()),
    ]);
    assert_eq!(members, want);
    // Its order: users, then teams, then members, then the end.
    let kinds: Vec<&str> = all.iter().filter_map(|l| l["type"].as_str()).collect();
    let mut sorted = kinds.clone();
    let rank = |k: &&str| ["user", "team", "member", "end"].iter().position(|x| x == k);
    sorted.sort_by_key(rank);
    assert_eq!(kinds, sorted);

    // The cursor is the newest event: the feed after it starts with the next change.
    let newest = drain(&feed).last().expect("events")["seq"].as_u64().expect("seq");
    assert_eq!(end["cursor"], newest.to_string());
    let cursor = end["cursor"].as_str().expect("cursor");
    assert!(events_after(&feed, cursor).is_empty());
    let carol = c.create_user("carol@acme.com");
    let after = events_after(&feed, cursor);
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0]["type"], "user.created");
    assert_eq!(after[0]["data"]["id"], carol.as_str());

    // The events token alone opens it; the snapshot is read-only.
    let scim_token = Client {
        base: feed.base.clone(),
        token: Some(d.tokens["acme"].clone()),
    };
    assert_error(&scim_token.get("/snapshot"), 401, None);
    assert_error(&feed.send("POST", "/snapshot", Some(&json!({})), &[]), 405, None);
    // An org with nothing in it: the end line alone.
    let (empty, tokens) = start("", &["globex"]);
    let r = consumer(&empty, "globex", &tokens["globex"]).get("/snapshot");
    let all = lines(r.expect(200));
    assert_eq!(all.len(), 1);
    assert_eq!(all[0], json!({"type": "end", "cursor": "0", "users": 0, "teams": 0, "members": 0}));
}

/// A consumer's copy: users and teams by id, and memberships.
#[derive(Debug, Default, PartialEq)]
struct Copy {
    users: BTreeMap<String, (String, bool, String)>,
    teams: BTreeMap<String, String>,
    members: BTreeSet<(String, String)>,
}

fn user_row(u: &Value) -> (String, bool, String) {
    let s = |k: &str| u[k].as_str().unwrap_or_default().to_string();
    (s("userName"), u["active"] != false, s("title"))
}

impl Copy {
    fn from_snapshot(all: &[Value]) -> Copy {
        let mut copy = Copy::default();
        for l in all {
            let id = |v: &Value| v["id"].as_str().unwrap_or_default().to_string();
            match l["type"].as_str() {
                Some("user") => {
                    copy.users.insert(id(&l["data"]), user_row(&l["data"]));
                }
                Some("team") => {
                    let name = l["data"]["displayName"].as_str().unwrap_or_default();
                    copy.teams.insert(id(&l["data"]), name.to_string());
                }
                Some("member") => {
                    copy.members.insert((id(&l["team"]), id(&l["user"])));
                }
                _ => {}
            }
        }
        copy
    }

    fn apply(&mut self, e: &Value) {
        let data = &e["data"];
        let id = |v: &Value| v["id"].as_str().unwrap_or_default().to_string();
        match e["type"].as_str().unwrap_or_default() {
            "user.created" | "user.updated" | "user.deactivated" | "user.reactivated" => {
                self.users.insert(id(data), user_row(data));
            }
            "user.deleted" => {
                let uid = id(data);
                self.users.remove(&uid);
                self.members.retain(|(_, u)| *u != uid);
            }
            "team.created" | "team.updated" => {
                let name = data["displayName"].as_str().unwrap_or_default();
                self.teams.insert(id(data), name.to_string());
            }
            "team.deleted" => {
                let gid = id(data);
                self.teams.remove(&gid);
                self.members.retain(|(g, _)| *g != gid);
            }
            "team.member_added" => {
                self.members.insert((id(&data["team"]), id(&data["user"])));
            }
            "team.member_removed" => {
                self.members.remove(&(id(&data["team"]), id(&data["user"])));
            }
            other => panic!("unknown event type {other}"),
        }
    }

    /// The directory as SCIM reads it.
    fn from_scim(c: &Client) -> Copy {
        let mut copy = Copy::default();
        for u in c.get("/Users?count=1000").expect(200).resources() {
            copy.users.insert(u["id"].as_str().unwrap_or_default().into(), user_row(&u));
        }
        for t in c.get("/Groups?count=1000").expect(200).resources() {
            let gid = t["id"].as_str().unwrap_or_default().to_string();
            for m in t["members"].as_array().cloned().unwrap_or_default() {
                copy.members.insert((gid.clone(), m["value"].as_str().unwrap_or_default().into()));
            }
            copy.teams.insert(gid, t["displayName"].as_str().unwrap_or_default().into());
        }
        copy
    }
}

#[test]
fn a_copy_from_a_snapshot_taken_while_writers_churn_and_the_feed_equals_the_directory() {
    let (d, tokens) = start("", &["acme"]);
    let c = d.client("acme");
    let feed = consumer(&d, "acme", &tokens["acme"]);
    let team = c.create_group("Churn", &[]);
    let gone_team = c.create_group("Gone", &[]);
    let writer = {
        let c = c.clone();
        let (team, gone_team) = (team.clone(), gone_team.clone());
        std::thread::spawn(move || {
            let mut ids = Vec::new();
            for i in 0..60 {
                let id = c.create_user(&format!("u{i}@acme.com"));
                let members = |op: &str, id: &str| {
                    json!([{"op": op, "path": "members", "value": [{"value": id}]}])
                };
                c.patch_ops(&format!("/Groups/{team}"), members("add", &id));
                let path_user = format!("/Users/{id}");
                let path_team = format!("/Groups/{team}");
                match i % 6 {
                    1 => {
                        let op = json!([{"op": "replace", "path": "title", "value": format!("t{i}")}]);
                        c.patch_ops(&path_user, op).expect(200);
                    }
                    2 => {
                        let op = json!([{"op": "replace", "path": "active", "value": false}]);
                        c.patch_ops(&path_user, op).expect(200);
                    }
                    3 => {
                        let filter = format!("members[value eq \"{id}\"]");
                        c.patch_ops(&path_team, json!([{"op": "remove", "path": filter}]));
                    }
                    4 => {
                        c.delete(&path_user).expect(204);
                    }
                    5 => {
                        let body = json!({"displayName": format!("Churn {i}"), "members": [{"value": id}]});
                        c.put(&path_team, &body).expect(200);
                    }
                    _ => {}
                }
                if i == 40 {
                    c.delete(&format!("/Groups/{gone_team}")).expect(204);
                }
                ids.push(id);
            }
            ids
        })
    };
    // Snapshots while the writer runs: each must continue exactly into the feed.
    let mut snapshots = Vec::new();
    while !writer.is_finished() || snapshots.is_empty() {
        let r = feed.get("/snapshot");
        let all = lines(r.expect(200));
        assert_eq!(all.last().expect("end")["type"], "end");
        snapshots.push(all);
    }
    writer.join().expect("writer");
    let want = Copy::from_scim(&c);
    assert!(snapshots.len() >= 2, "only {} snapshots during the churn", snapshots.len());
    for all in &snapshots {
        let mut copy = Copy::from_snapshot(all);
        let cursor = all.last().expect("end")["cursor"].as_str().expect("cursor").to_string();
        for e in events_after(&feed, &cursor) {
            copy.apply(&e);
        }
        assert_eq!(copy, want, "from cursor {cursor}");
    }
}

#[test]
fn snapshots_are_bounded_per_org_and_a_client_that_stops_reading_is_cut_off() {
    let (d, tokens) = start("[limits]\nidle_timeout_secs = 2\n[events]\nmax_snapshots = 1\n", &["acme"]);
    let c = d.client("acme");
    // About 32 MB of snapshot: far more than the socket buffers on both ends hold (a few
    // MB each), so a client that reads nothing holds the snapshot open.
    let title = "t".repeat(16_000);
    for b in 0..32 {
        let ops: Vec<Value> = (0..60)
            .map(|i| json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"),
                            "data": {"schemas": [USER], "userName": format!("u{b}-{i}@acme.com"), "title": title}}))
            .collect();
        let r = c.post("/Bulk", &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops}));
        r.expect(200);
    }
    let token = &tokens["acme"];
    let mut stuck = connect(d.addr());
    write!(
        stuck,
        "GET /events/v1/acme/snapshot HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .expect("send");
    // Its head only (a byte at a time, so nothing of the body is taken): once it is here the
    // snapshot holds its place, and the second request below cannot come first.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        std::io::Read::read_exact(&mut stuck, &mut byte).expect("the stalled snapshot's head");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let feed = consumer(&d, "acme", token);
    // While it streams (and stalls), a second one is refused with Retry-After.
    let refused = eventually("the second snapshot refused", Duration::from_secs(10), || {
        let r = feed.get("/snapshot");
        (r.status == 429).then_some(r)
    });
    assert_error(&refused, 429, None);
    assert!(refused.retry_after.is_some());
    // The stalled one is cut after the idle timeout and its place given back, while its
    // client still holds the connection open.
    let url = format!("{}/snapshot", feed.base);
    let reader = eventually("a snapshot after the stalled one was cut", Duration::from_secs(30), || {
        let r = ureq::get(&url)
            .set("Authorization", &format!("Bearer {token}"))
            .timeout(Duration::from_secs(60))
            .call();
        r.ok().filter(|r| r.status() == 200).map(|r| r.into_reader())
    });
    // Read as a stream: the whole answer is larger than the test client buffers at once.
    let mut last = String::new();
    let mut count = 0;
    for line in std::io::BufRead::lines(std::io::BufReader::new(reader)) {
        last = line.expect("a line");
        count += 1;
    }
    let end: Value = serde_json::from_str(&last).expect("the end line");
    assert_eq!(end["type"], "end");
    assert_eq!(end["users"], 32 * 60);
    assert_eq!(count, 32 * 60 + 1);
    drop(stuck);
}

#[test]
fn export_writes_the_snapshot_lines_or_scim_json_from_one_snapshot() {
    let (d, tokens) = start("public_url = \"https://scim.example.test\"\n", &["acme"]);
    let c = d.client("acme");
    let ann = c.create_user("ann@acme.com");
    c.create_user("bob@acme.com");
    c.create_group("Eng", &[&ann]);
    let served = feed_text(&consumer(&d, "acme", &tokens["acme"]).get("/snapshot"));
    let out = crate::harness::scimd(&["export", "--org", "acme", "--snapshot"], &d.config);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), served);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2 users and 1 teams"), "{stderr}");
    // The SCIM form: users, then teams with their members.
    let out = crate::harness::scimd(&["export", "--org", "acme"], &d.config);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let resources: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(resources.len(), 3);
    assert_eq!(resources[2]["members"][0]["value"], ann.as_str());
}

/// A snapshot answer's body as text.
fn feed_text(r: &crate::harness::Resp) -> String {
    r.expect(200);
    match &r.body {
        Value::String(s) => s.clone(),
        other => format!("{other}\n"),
    }
}
