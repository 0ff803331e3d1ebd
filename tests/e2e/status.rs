//! `scimd status` against the real daemon: with two orgs and a few requests (a 401 and a 404
//! among them) its JSON counts each org's requests, refusals and 401s of the last hour, names
//! the last request and the last write, and follows an events consumer by its token's digest;
//! the table has a row per org; with no daemon it exits 1.

use std::time::Duration;

use serde_json::Value;

use crate::events::{consumer, start};
use crate::harness::{eventually, scimd};

/// `scimd status --json`: the exit code and the document.
fn status_json(config: &std::path::Path) -> (i32, Value) {
    let out = scimd(&["status", "--json"], config);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let code = out.status.code().unwrap_or(-1);
    let doc = serde_json::from_str(&text).unwrap_or(Value::Null);
    (code, doc)
}

/// `2025-03-04T12:02:47.250Z`: an RFC 3339 time in UTC, as the daemon writes them.
fn is_rfc3339(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 20 && b[4] == b'-' && b[10] == b'T' && b[13] == b':' && t.ends_with('Z')
}

fn org<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["orgs"]
        .as_array()
        .and_then(|orgs| orgs.iter().find(|o| o["name"] == name))
        .unwrap_or_else(|| panic!("no org {name} in {doc}"))
}

#[test]
fn status_reports_each_orgs_requests_last_request_last_write_and_consumers() {
    let (d, event_tokens) = start("", &["acme", "globex"]);
    let acme = d.client("acme");
    acme.create_user("ann@acme.com");
    acme.get("/Users/no-such-id").expect(404);
    acme.with_token(Some("scimd_wrong")).get("/Users").expect(401);
    acme.create_group("Engineering", &[]);
    d.client("globex").get("/Users").expect(200);
    // A consumer that has taken the first event only.
    consumer(&d, "acme", &event_tokens["acme"])
        .get("?after=1")
        .expect(200);

    // The last write reaches the tracker through the activity log, written in the background.
    let doc = eventually("acme's last write", Duration::from_secs(30), || {
        let (code, doc) = status_json(&d.config);
        assert_eq!(code, 0, "{doc}");
        (!org(&doc, "acme")["last_write"].is_null()).then_some(doc)
    });
    let daemon = &doc["daemon"];
    assert_eq!(daemon["healthy"], true, "{doc}");
    assert_eq!(daemon["version"], env!("CARGO_PKG_VERSION"));
    let store = if crate::harness::on_postgres() { "postgres" } else { "redb" };
    assert_eq!(daemon["store"], store);
    assert!(daemon["uptime_secs"].is_u64());

    let a = org(&doc, "acme");
    assert_eq!((a["users"].as_u64(), a["teams"].as_u64()), (Some(1), Some(1)), "{a}");
    // The events poll is a consumer's, not the IdP's: not among the requests.
    assert_eq!(a["requests_1h"], 4, "{a}");
    assert_eq!(a["refused_1h"], 1, "{a}");
    assert_eq!(a["unauthorized_1h"], 1, "{a}");
    let last = &a["last_request"];
    assert_eq!(
        (&last["method"], &last["resource"], &last["status"]),
        (&Value::from("POST"), &Value::from("Groups"), &Value::from(201)),
        "{a}"
    );
    assert!(is_rfc3339(last["time"].as_str().unwrap()), "{a}");
    assert!(is_rfc3339(a["last_write"].as_str().unwrap()), "{a}");
    let newest = a["events"]["newest"].as_u64().unwrap();
    assert!(newest >= 2, "{a}");
    let consumers = a["events"]["consumers"].as_array().unwrap();
    assert_eq!(consumers.len(), 1, "{a}");
    let label = &scimd_config::token::hash(&event_tokens["acme"])["sha256:".len()..][..8];
    assert_eq!(consumers[0]["token"], label);
    assert_eq!(consumers[0]["cursor"], 1);
    assert_eq!(consumers[0]["lag"].as_u64(), Some(newest - 1));
    assert_eq!(a["webhooks"], Value::Array(Vec::new()));

    let g = org(&doc, "globex");
    assert_eq!((g["requests_1h"].as_u64(), g["refused_1h"].as_u64()), (Some(1), Some(0)));
    assert_eq!(g["last_request"]["status"], 200);
    assert_eq!(g["last_write"], Value::Null);
    assert_eq!(g["events"]["consumers"], Value::Array(Vec::new()));

    // The table: the daemon's line, a header and a row per org.
    let table = scimd(&["status"], &d.config);
    let text = String::from_utf8_lossy(&table.stdout).to_string();
    assert!(table.status.success(), "{text}");
    assert!(text.lines().next().unwrap().ends_with(": healthy"), "{text}");
    let row = text.lines().find(|l| l.starts_with("acme ")).expect("acme's row");
    assert!(row.contains("POST Groups 201"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("globex ")), "{text}");

    // Nothing answers once the daemon is gone: exit 1, said on stderr.
    let (_dir, config, _) = d.stop();
    let out = scimd(&["status", "--json"], &config);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no daemon answers"), "{out:?}");
}
