//! `scimd org purge` against the real binary: refused while the org is configured; through the
//! running daemon once a reload dropped it, and on the store directly with the daemon stopped.
//! Either way the org comes back empty with its events numbered from 1, another org keeps
//! every row, and `check-config` and the start log name an org whose data is kept.

use std::process::Output;

use serde_json::json;

use crate::events::consumer;
use crate::harness::{scimd, store_table, Client};
use crate::reload::{self, config, new_token, org, save_by_rename, until_status, utf8};

fn said(out: &Output) -> String {
    format!("{}{}", utf8(&out.stdout), utf8(&out.stderr))
}

/// An org's lines with a SCIM token and an events token; returns both plaintexts too.
fn org_with_events(name: &str) -> (String, String, String) {
    let (token, hash) = new_token();
    let (events, events_hash) = new_token();
    let lines = org(name, &[&hash], &format!("event_tokens = [\"{events_hash}\"]\n"));
    (lines, token, events)
}

/// Fills org `c` with three users, a team of two, and their events.
fn fill(c: &Client, org: &str) {
    let ids: Vec<String> = (0..3)
        .map(|i| c.create_user(&format!("u{i}@{org}.com")))
        .collect();
    c.create_group("Engineering", &[&ids[0], &ids[1]]);
}

/// What a client of `org` sees: (users, teams).
fn totals(c: &Client) -> (u64, u64) {
    (c.get("/Users").total(), c.get("/Groups").total())
}

fn purge(path: &std::path::Path) -> Output {
    scimd(&["org", "purge", "--org", "globex"], path)
}

#[test]
fn an_org_purged_through_the_running_daemon_comes_back_empty_and_the_other_keeps_its_data() {
    let store = store_table();
    let (acme, acme_token, acme_events) = org_with_events("acme");
    let (globex, globex_token, _) = org_with_events("globex");
    let both = config(&store, &[acme.clone(), globex]);
    let (d, mut logs) = reload::start(&both, &[]);
    let a = reload::client(&d, "acme", &acme_token);
    let g = reload::client(&d, "globex", &globex_token);
    fill(&a, "acme");
    fill(&g, "globex");
    let acme_feed = consumer(&d, "acme", &acme_events).get("?limit=1000");
    acme_feed.expect(200);

    // Refused, with one line, while the file still has the org.
    let refused = purge(&d.config);
    assert!(!refused.status.success());
    assert!(said(&refused).contains("still in"), "{}", said(&refused));
    assert_eq!(said(&refused).trim().lines().count(), 1, "{}", said(&refused));
    assert_eq!(totals(&g), (3, 1));

    save_by_rename(&d.config, &config(&store, std::slice::from_ref(&acme)));
    logs.wait_for("config reloaded");
    until_status(&d, "globex", &globex_token, 401, "globex removed");
    let check = scimd(&["check-config"], &d.config);
    assert!(check.status.success(), "{}", said(&check));
    assert!(
        utf8(&check.stdout)
            .contains("org globex: data kept; purge with `scimd org purge --org globex`"),
        "{}",
        said(&check)
    );

    let out = purge(&d.config);
    assert!(out.status.success(), "{}", said(&out));
    let text = said(&out);
    assert!(text.contains("through the running daemon"), "{text}");
    assert!(
        text.contains("3 users, 1 teams, 2 memberships"),
        "{text}"
    );
    logs.wait_for("org purged");
    let check = scimd(&["check-config"], &d.config);
    assert!(!utf8(&check.stdout).contains("globex"), "{}", said(&check));

    // Back with a new token: nothing from before, and events numbered from 1 again.
    let (globex, globex_token, globex_events) = org_with_events("globex");
    save_by_rename(&d.config, &config(&store, &[acme, globex]));
    until_status(&d, "globex", &globex_token, 200, "globex back");
    let g = reload::client(&d, "globex", &globex_token);
    assert_eq!(totals(&g), (0, 0));
    let feed = consumer(&d, "globex", &globex_events);
    let empty = feed.get("");
    empty.expect(200);
    assert_eq!(empty.body, json!({"data": [], "next": "0", "hasMore": false}));
    g.create_user("new@globex.com");
    let first = feed.get("");
    assert_eq!(first.body["next"], "1", "{}", first.body);

    // acme lost nothing.
    assert_eq!(totals(&a), (3, 1));
    let after = consumer(&d, "acme", &acme_events).get("?limit=1000");
    assert_eq!(after.body, acme_feed.body);
    let members = a.get("/Groups?attributes=members");
    assert_eq!(members.resources()[0]["members"].as_array().map(Vec::len), Some(2));
}

#[test]
fn an_org_is_purged_offline_and_the_start_log_names_it_until_then() {
    let store = store_table();
    let (acme, acme_token, _) = org_with_events("acme");
    let (globex, globex_token, _) = org_with_events("globex");
    let (d, _logs) = reload::start(&config(&store, &[acme.clone(), globex]), &[]);
    fill(&reload::client(&d, "acme", &acme_token), "acme");
    fill(&reload::client(&d, "globex", &globex_token), "globex");
    let (dir, path, _) = d.stop();

    // Started without globex, the daemon says its data is kept and how to purge it.
    save_by_rename(&path, &config(&store, std::slice::from_ref(&acme)));
    let (d, mut logs) = reload::start_at(dir, path, &[]);
    logs.wait_for("org globex: data kept; purge with `scimd org purge --org globex`");
    let (dir, path, _) = d.stop();

    let out = purge(&path);
    assert!(out.status.success(), "{}", said(&out));
    let text = said(&out);
    assert!(text.contains("no daemon was running"), "{text}");
    assert!(text.contains("3 users, 1 teams, 2 memberships"), "{text}");
    // A second purge finds nothing left.
    let again = purge(&path);
    assert!(said(&again).contains("0 users, 0 teams"), "{}", said(&again));

    let (globex, globex_token, _) = org_with_events("globex");
    save_by_rename(&path, &config(&store, &[acme, globex]));
    let (d, _logs) = reload::start_at(dir, path, &[]);
    assert_eq!(totals(&reload::client(&d, "globex", &globex_token)), (0, 0));
    assert_eq!(totals(&reload::client(&d, "acme", &acme_token)), (3, 1));
}
