//! Cursor paging (RFC 9865) beside startIndex: a full walk sees every resource once, in a
//! stable order, and bad cursors are refused.

use std::collections::BTreeSet;

use serde_json::json;

use crate::harness::{assert_error, filter_q, Daemon};

#[test]
fn a_cursor_walk_returns_every_user_once() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let mut created = BTreeSet::new();
    for i in 0..25 {
        created.insert(c.create_user(&format!("u{i:02}@acme.com")));
    }
    let spc = c.get("/ServiceProviderConfig").body;
    assert_eq!(spc["pagination"]["cursor"], true);

    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let r = c.get(&format!("/Users?count=10&cursor={cursor}"));
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["totalResults"], 25);
        assert!(r.body.get("startIndex").is_none());
        let items = r.body["Resources"].as_array().cloned().unwrap_or_default();
        assert_eq!(r.body["itemsPerPage"], items.len());
        seen.extend(
            items
                .iter()
                .map(|u| u["id"].as_str().unwrap_or("").to_string()),
        );
        pages += 1;
        match r.body["nextCursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
        assert!(pages < 10, "the walk does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 25);
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), created);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "cursor pages come in id order");

    // With a filter: only matches, no totalResults needed.
    let sw = filter_q("userName sw \"u1\"");
    let r = c.get(&format!("/Users{sw}&count=3&cursor="));
    assert_eq!(r.body["Resources"].as_array().map(Vec::len), Some(3));
    let next = r.body["nextCursor"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let r = c.get(&format!("/Users{sw}&count=30&cursor={next}"));
    assert_eq!(r.body["Resources"].as_array().map(Vec::len), Some(7));
    assert!(r.body.get("nextCursor").is_none());

    // The same through .search.
    let r = c.post("/Users/.search", &json!({"cursor": "", "count": 20}));
    assert_eq!(r.body["Resources"].as_array().map(Vec::len), Some(20));
    assert!(r.body["nextCursor"].is_string());

    assert_error(&c.get("/Users?cursor=not-ours"), 400, Some("invalidCursor"));
    assert_error(
        &c.get("/Users?cursor=&startIndex=2"),
        400,
        Some("invalidValue"),
    );
    assert_error(
        &c.get("/Users?cursor=&sortBy=userName"),
        400,
        Some("invalidValue"),
    );
}
