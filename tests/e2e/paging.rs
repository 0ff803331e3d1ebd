//! startIndex paging as IdP imports do it: page after page until the end. Each walk returns
//! every resource exactly once, with and without a filter and a sort, and a walk while users
//! are created and deleted still returns every user that existed throughout exactly once.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::harness::{enc, Client, Daemon};

const USERS: usize = 10_000;

/// Creates `n` users through Bulk (1000 a request), every other one inactive; returns their
/// ids by userName.
fn seed(c: &Client, n: usize) -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    for start in (0..n).step_by(1000) {
        let ops: Vec<Value> = (start..(start + 1000).min(n))
            .map(|i| {
                json!({"method": "POST", "path": "/Users", "bulkId": format!("b{i}"),
                       "data": {"userName": format!("u{i:05}@acme.com"), "active": i % 2 == 0}})
            })
            .collect();
        let r = c.post(
            "/Bulk",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                    "Operations": ops}),
        );
        r.expect(200);
        for (i, op) in r.body["Operations"]
            .as_array()
            .expect("results")
            .iter()
            .enumerate()
        {
            assert_eq!(op["status"], "201", "{op}");
            let id = op["location"]
                .as_str()
                .and_then(|l| l.rsplit('/').next())
                .expect("location")
                .to_string();
            ids.insert(format!("u{:05}@acme.com", start + i), id);
        }
    }
    ids
}

/// Walks `/Users?{query}` by startIndex pages of `count` to the end; returns (id, userName)
/// in the order served. `between` runs after each page.
fn walk(
    c: &Client,
    query: &str,
    count: usize,
    mut between: impl FnMut(usize),
) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    let mut start = 1;
    for page in 0..100_000 {
        let r = c.get(&format!("/Users?{query}startIndex={start}&count={count}"));
        r.expect(200);
        let got = r.resources();
        if got.is_empty() {
            return seen;
        }
        assert_eq!(r.body["startIndex"].as_u64(), Some(start as u64));
        for u in &got {
            seen.push((
                u["id"].as_str().expect("id").to_string(),
                u["userName"].as_str().expect("userName").to_string(),
            ));
        }
        start += got.len();
        between(page);
    }
    panic!("the walk did not end");
}

fn assert_once(seen: &[(String, String)], want: &BTreeSet<String>) {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for (id, _) in seen {
        *count.entry(id).or_default() += 1;
    }
    let twice: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "returned more than once: {twice:?}");
    let got: BTreeSet<String> = count.keys().map(|k| k.to_string()).collect();
    let missing: Vec<_> = want.difference(&got).collect();
    assert!(
        missing.is_empty(),
        "never returned: {} of them",
        missing.len()
    );
}

#[test]
fn startindex_walks_return_each_user_exactly_once() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let ids = seed(&c, USERS);
    let all: BTreeSet<String> = ids.values().cloned().collect();

    let seen = walk(&c, "", 100, |_| {});
    assert_eq!(seen.len(), USERS);
    assert_once(&seen, &all);

    let active: BTreeSet<String> = ids
        .iter()
        .filter(|(name, _)| name[1..6].parse::<usize>().is_ok_and(|i| i % 2 == 0))
        .map(|(_, id)| id.clone())
        .collect();
    let filtered = walk(
        &c,
        &format!("filter={}&", enc("active eq true")),
        500,
        |_| {},
    );
    assert_eq!(filtered.len(), USERS / 2);
    assert_once(&filtered, &active);

    let sorted = walk(&c, "sortBy=userName&sortOrder=descending&", 1000, |_| {});
    assert_eq!(sorted.len(), USERS);
    assert_once(&sorted, &all);
    let names: Vec<&str> = sorted.iter().map(|(_, n)| n.as_str()).collect();
    assert!(
        names.windows(2).all(|w| w[0] > w[1]),
        "not in descending userName order"
    );
}

#[test]
fn a_walk_while_users_come_and_go_returns_every_lasting_user_once() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let ids = seed(&c, USERS);
    // Each page, one user from the part already walked and one from the part still ahead is
    // deleted, and a new user is created.
    let order: Vec<String> = ids.values().cloned().collect();
    let mut deleted = BTreeSet::new();
    let mut created = 0;
    let seen = walk(&c, "", 100, |page| {
        for victim in [&order[page * 50], &order[USERS - 1 - page * 50]] {
            if deleted.insert(victim.clone()) {
                c.delete(&format!("/Users/{victim}")).expect(204);
            }
        }
        c.create_user(&format!("new{page}@acme.com"));
        created += 1;
    });
    let lasting: BTreeSet<String> = ids
        .values()
        .filter(|id| !deleted.contains(*id))
        .cloned()
        .collect();
    assert!(
        created > 50 && deleted.len() > 100,
        "{created} created, {} deleted",
        deleted.len()
    );
    assert_once(&seen, &lasting);
}
