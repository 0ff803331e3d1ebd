//! The change feed through `GET /events/v1/{org}`: every committed change is one event (or
//! one per membership), in order, numbered without gaps; consumer tokens are scoped apart from
//! SCIM tokens; cursors page, long-polls wake on a commit, retention answers 410; events
//! survive a kill -9.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{assert_error, eventually, patch_body, Client, Daemon, GROUP, USER};

/// A daemon whose orgs each have an events token besides their SCIM token; returns the
/// events tokens by org.
pub fn start(tables: &str, orgs: &[&str]) -> (Daemon, BTreeMap<String, String>) {
    let orgs: Vec<(&str, String)> = orgs.iter().map(|o| (*o, String::new())).collect();
    start_with(tables, &orgs)
}

/// [`start`], with further lines (or tables of the org, such as webhooks) after each org's.
pub fn start_with(tables: &str, orgs: &[(&str, String)]) -> (Daemon, BTreeMap<String, String>) {
    let mut event_tokens = BTreeMap::new();
    let extra: Vec<(String, String)> = orgs
        .iter()
        .map(|(org, more)| {
            let token = scimd_config::token::generate();
            let lines = format!(
                "event_tokens = [\"{}\"]\n{more}",
                scimd_config::token::hash(&token)
            );
            event_tokens.insert(org.to_string(), token);
            (org.to_string(), lines)
        })
        .collect();
    let orgs: Vec<(&str, &str)> = extra
        .iter()
        .map(|(o, l)| (o.as_str(), l.as_str()))
        .collect();
    (Daemon::start_with(tables, &orgs), event_tokens)
}

/// A client of `org`'s events API with `token`.
pub fn consumer(d: &Daemon, org: &str, token: &str) -> Client {
    Client {
        base: format!("{}/events/v1/{org}", d.origin),
        token: Some(token.to_string()),
    }
}

/// Every event of the feed from its start, following `next` until `hasMore` is false.
pub fn drain(c: &Client) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let page = c.get(&format!("?limit=3&after={after}"));
        page.expect(200);
        out.extend(page.body["data"].as_array().cloned().unwrap_or_default());
        after = page.body["next"].as_str().expect("next").to_string();
        if page.body["hasMore"] != json!(true) {
            return out;
        }
    }
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn every_change_is_one_event_in_order_and_no_op_writes_make_none() {
    let (d, tokens) = start("", &["acme"]);
    let scim = d.client("acme");
    let feed = consumer(&d, "acme", &tokens["acme"]);

    let empty = feed.get("");
    empty.expect(200);
    assert_eq!(empty.body, json!({"data": [], "next": "0", "hasMore": false}));
    assert_eq!(empty.content_type.as_deref(), Some("application/json"));

    let ann = scim.create_user("ann@acme.com");
    let bob = scim.create_user("bob@acme.com");
    let user = |name: &str, title: &str| {
        json!({"schemas": [USER], "userName": name, "title": title, "active": true})
    };
    scim.put(&format!("/Users/{ann}"), &user("ann@acme.com", "CTO"))
        .expect(200);
    // The same state again: no event.
    scim.put(&format!("/Users/{ann}"), &user("ann@acme.com", "CTO"))
        .expect(200);
    let active = |on: bool| patch_body(json!([{"op": "replace", "path": "active", "value": on}]));
    scim.patch(&format!("/Users/{bob}"), &active(false)).expect(200);
    scim.patch(&format!("/Users/{bob}"), &active(false)).expect(200);
    scim.patch(&format!("/Users/{bob}"), &active(true)).expect(200);
    let team = scim.create_group("Eng", &[&ann]);
    let members = |op: &str, id: &str| {
        patch_body(json!([{"op": op, "path": "members", "value": [{"value": id}]}]))
    };
    scim.patch(&format!("/Groups/{team}"), &members("add", &bob))
        .expect(204);
    // Already a member: nothing changes.
    scim.patch(&format!("/Groups/{team}"), &members("add", &bob))
        .expect(204);
    scim.patch(
        &format!("/Groups/{team}"),
        &patch_body(json!([{"op": "replace", "path": "displayName", "value": "Engineering"}])),
    )
    .expect(204);
    scim.patch(
        &format!("/Groups/{team}"),
        &patch_body(json!([{"op": "remove", "path": format!("members[value eq \"{ann}\"]")}])),
    )
    .expect(204);
    // Bob leaves the team by being deleted.
    scim.delete(&format!("/Users/{bob}")).expect(204);
    scim.delete(&format!("/Groups/{team}")).expect(204);
    // Refused writes make no event either.
    let dup = scim.post(
        "/Users",
        &json!({"schemas": [USER], "userName": "ANN@acme.com"}),
    );
    assert_error(&dup, 409, Some("uniqueness"));

    let events = drain(&feed);
    assert_eq!(
        types(&events),
        [
            "user.created",
            "user.created",
            "user.updated",
            "user.deactivated",
            "user.reactivated",
            "team.created",
            "team.member_added",
            "team.member_added",
            "team.updated",
            "team.member_removed",
            "team.member_removed",
            "user.deleted",
            "team.deleted",
        ]
    );
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["seq"], json!(i + 1), "numbers have no gap: {e}");
        assert_eq!(e["org"], "acme");
        assert!(e["id"].as_str().is_some_and(|s| s.len() == 36), "{e}");
        assert!(e["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{e}");
    }
    let ids: std::collections::BTreeSet<&str> =
        events.iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(ids.len(), events.len(), "event ids are unique");

    // Resources as SCIM renders them.
    let created = &events[0]["data"];
    assert_eq!(created["id"], ann.as_str());
    assert_eq!(created["userName"], "ann@acme.com");
    assert!(created["schemas"].as_array().is_some_and(|s| s.contains(&json!(USER))));
    assert_eq!(
        created["meta"]["location"],
        format!("{}/Users/{ann}", d.base("acme"))
    );
    assert_eq!(events[2]["data"]["title"], "CTO");
    assert_eq!(events[3]["data"]["active"], false);
    assert_eq!(events[4]["data"]["active"], true);
    assert!(events[5]["data"]["schemas"]
        .as_array()
        .is_some_and(|s| s.contains(&json!(GROUP))));
    assert_eq!(events[8]["data"]["displayName"], "Engineering");
    // Member events name both sides; the rename shows in the events after it.
    assert_eq!(
        events[7]["data"],
        json!({"team": {"id": team, "displayName": "Eng"}, "user": {"id": bob, "userName": "bob@acme.com"}})
    );
    assert_eq!(
        events[9]["data"],
        json!({"team": {"id": team, "displayName": "Engineering"}, "user": {"id": ann, "userName": "ann@acme.com"}})
    );
    assert_eq!(events[10]["data"]["user"]["id"], bob.as_str());
    assert_eq!(events[11]["data"]["id"], bob.as_str());
    assert_eq!(events[12]["data"]["displayName"], "Engineering");

    // A Bulk is one event per change it made.
    let bulk = scim.post(
        "/Bulk",
        &json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "c",
                 "data": {"schemas": [USER], "userName": "cy@acme.com"}},
                {"method": "POST", "path": "/Groups", "bulkId": "g",
                 "data": {"schemas": [GROUP], "displayName": "Ops", "members": [{"value": "bulkId:c"}]}}
            ]
        }),
    );
    bulk.expect(200);
    let page = feed.get("?after=13");
    assert_eq!(
        types(page.body["data"].as_array().expect("data")),
        ["user.created", "team.created", "team.member_added"]
    );
    assert_eq!(page.body["next"], "16");
}

#[test]
fn consumer_tokens_read_events_and_nothing_else() {
    let (d, tokens) = start("", &["acme", "beta"]);
    let scim = d.client("acme");
    scim.create_user("ann@acme.com");
    let feed = consumer(&d, "acme", &tokens["acme"]);
    feed.get("").expect(200);

    // The IdP's SCIM token cannot read events.
    let with_scim = consumer(&d, "acme", &d.tokens["acme"]);
    let r = with_scim.get("");
    assert_error(&r, 401, None);
    assert!(r.www_authenticate.is_some());
    // Another org's events token, no token, a malformed header.
    assert_error(&consumer(&d, "acme", &tokens["beta"]).get(""), 401, None);
    assert_error(&feed.with_token(None).get(""), 401, None);
    assert_error(
        &feed.send("GET", "", None, &[("Authorization", "Basic abc")]),
        401,
        None,
    );
    // An unknown org answers as a wrong token does.
    let ghost = consumer(&d, "ghost", &tokens["acme"]).get("");
    assert_error(&ghost, 401, None);
    // And the events token cannot use the SCIM API.
    let scim_with_events = scim.with_token(Some(&tokens["acme"]));
    assert_error(&scim_with_events.get("/Users"), 401, None);
    // Read-only, and only at /events/v1/{org}.
    let post = feed.send("POST", "", Some(&json!({})), &[]);
    assert_error(&post, 405, None);
    let deeper = feed.get("/more");
    assert_error(&deeper, 404, None);
}

#[test]
fn cursors_page_in_order_and_bad_queries_are_refused() {
    let (d, tokens) = start("", &["acme"]);
    let scim = d.client("acme");
    for i in 0..5 {
        scim.create_user(&format!("u{i}@acme.com"));
    }
    let feed = consumer(&d, "acme", &tokens["acme"]);
    let first = feed.get("?limit=2");
    first.expect(200);
    assert_eq!(first.body["data"].as_array().map(Vec::len), Some(2));
    assert_eq!((first.body["next"].clone(), first.body["hasMore"].clone()), (json!("2"), json!(true)));
    let rest = feed.get("?after=2&limit=100");
    let seqs: Vec<u64> = rest.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|e| e["seq"].as_u64())
        .collect();
    assert_eq!(seqs, [3, 4, 5]);
    assert_eq!((rest.body["next"].clone(), rest.body["hasMore"].clone()), (json!("5"), json!(false)));
    // At the end, the cursor stays where it is.
    let end = feed.get("?after=5");
    assert_eq!(end.body, json!({"data": [], "next": "5", "hasMore": false}));

    for q in ["?after=x", "?after=-1", "?limit=0", "?limit=1001", "?wait=61", "?wait=abc"] {
        assert_error(&feed.get(q), 400, Some("invalidValue"));
    }
    // A cursor this server never gave.
    let future = feed.get("?after=99");
    assert_error(&future, 400, Some("invalidValue"));
    assert!(future.body["detail"].as_str().is_some_and(|t| t.contains("past the newest")));
}

#[test]
fn a_long_poll_returns_once_an_event_is_committed() {
    let (d, tokens) = start("", &["acme", "beta"]);
    let scim = d.client("acme");
    scim.create_user("ann@acme.com");
    let feed = consumer(&d, "acme", &tokens["acme"]);
    // Nothing new within the wait: the empty page, with the same cursor.
    let quiet = feed.get("?after=1&wait=1");
    assert_eq!(quiet.body, json!({"data": [], "next": "1", "hasMore": false}));

    let waiting = {
        let feed = feed.clone();
        std::thread::spawn(move || feed.get("?after=1&wait=25"))
    };
    // Writes of another org wake acme's wait for nothing: it reads again and waits on. If
    // the poll is not registered yet when acme writes, its first read finds the event: the
    // answer is the same, so the order of the two threads cannot fail the test.
    let beta = d.client("beta");
    for i in 0..3 {
        beta.create_user(&format!("b{i}@beta.com"));
    }
    let bob = scim.create_user("bob@acme.com");
    let got = waiting.join().expect("the long-poll thread");
    got.expect(200);
    let data = got.body["data"].as_array().expect("data");
    assert_eq!(data.len(), 1, "{}", got.body);
    assert_eq!(data[0]["type"], "user.created");
    assert_eq!(data[0]["data"]["id"], bob.as_str());
    assert_eq!(got.body["next"], "2");
}

#[test]
fn retention_prunes_the_oldest_and_an_older_cursor_is_gone() {
    let (d, tokens) = start("[events]\nmax_records = 3\n", &["acme"]);
    let scim = d.client("acme");
    for i in 0..7 {
        scim.create_user(&format!("u{i}@acme.com"));
    }
    let feed = consumer(&d, "acme", &tokens["acme"]);
    // The pruner runs every few seconds.
    let kept = eventually("the feed to be pruned to 3 events", Duration::from_secs(30), || {
        let page = feed.get("");
        let seqs: Vec<u64> = page.body["data"]
            .as_array()?
            .iter()
            .filter_map(|e| e["seq"].as_u64())
            .collect();
        (seqs.len() == 3).then_some(seqs)
    });
    assert_eq!(kept, [5, 6, 7]);
    let gone = feed.get("?after=2");
    assert_error(&gone, 410, None);
    let detail = gone.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("no longer kept") && detail.contains("Resync"), "{detail}");
    // The cursor right before the oldest kept event lost nothing.
    feed.get("?after=4").expect(200);
    assert_eq!(
        feed.get("?after=4").body["data"].as_array().map(Vec::len),
        Some(3)
    );
}

#[test]
fn events_of_acknowledged_writes_survive_a_kill() {
    let (d, tokens) = start("", &["acme"]);
    let scim = d.client("acme");
    let ids: Vec<String> = (0..20)
        .map(|i| scim.create_user(&format!("u{i}@acme.com")))
        .collect();
    let (dir, config, scim_tokens) = d.kill();
    let d = Daemon::start_in(dir, config, scim_tokens);
    let feed = consumer(&d, "acme", &tokens["acme"]);
    let events = drain(&feed);
    let created: Vec<&str> = events
        .iter()
        .filter_map(|e| e["data"]["id"].as_str())
        .collect();
    assert_eq!(created, ids.iter().map(String::as_str).collect::<Vec<_>>());
    // Numbers go on from where they were.
    d.client("acme").create_user("late@acme.com");
    let next = feed.get("?after=20");
    assert_eq!(next.body["data"][0]["seq"], 21);
}
