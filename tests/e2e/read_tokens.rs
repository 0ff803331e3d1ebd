//! Read-only SCIM tokens (`read_tokens`, `scimd token rotate --scope read`): rotated with the
//! CLI into a running daemon, they read users, teams and the discovery endpoints (GET, HEAD,
//! POST .search); every kind of write answers 403 and changes nothing; the events API refuses
//! them as the SCIM API refuses events tokens; a revoke refuses them again; the org's SCIM
//! token writes throughout, and no token reaches the log.

use serde_json::{json, Value};

use crate::events::{consumer, drain};
use crate::harness::{assert_error, patch_body, scimd, store_table, Client, GROUP, USER};
use crate::reload::{client, config, new_token, org, start, until_status, Logs};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// What the SCIM token sees of `org`: every user and team, in full.
fn everything(scim: &Client) -> (Value, Value) {
    let users = scim.get("/Users?count=100");
    users.expect(200);
    let groups = scim.get("/Groups?count=100");
    groups.expect(200);
    (users.body, groups.body)
}

/// The token printed last by a `scimd token rotate`, which must have succeeded.
fn rotated(out: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "rotate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = stdout.lines().last().expect("a token line").to_string();
    assert!(token.starts_with("scimd_"), "{stdout}");
    token
}

fn assert_not_logged(logs: &mut Logs, tokens: &[&str]) {
    for line in logs.all() {
        for token in tokens {
            assert!(!line.contains(token), "a token reached the log: {line}");
        }
    }
}

#[test]
fn a_read_token_reads_everything_and_writes_nothing() {
    let (scim_token, scim_hash) = new_token();
    let (events_token, events_hash) = new_token();
    let (beta_token, beta_hash) = new_token();
    let text = config(
        &store_table(),
        &[
            org(
                "acme",
                &[&scim_hash],
                &format!("event_tokens = [\"{events_hash}\"]\n"),
            ),
            org("beta", &[&beta_hash], ""),
        ],
    );
    let (d, mut logs) = start(&text, &[("acme", &scim_token), ("beta", &beta_token)]);
    let scim = d.client("acme");
    let ann = scim.create_user("ann@acme.com");
    let eng = scim.create_group("Eng", &[&ann]);

    // Rotated with the CLI into the running daemon: only its hash reaches the file.
    let out = scimd(
        &["token", "rotate", "--org", "acme", "--scope", "read"],
        &d.config,
    );
    let read = rotated(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("read token of org acme"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let file = std::fs::read_to_string(&d.config).expect("read config");
    assert!(!file.contains(&read), "{file}");
    assert!(
        file.contains(&format!(
            "read_tokens = [\"{}\"]",
            scimd_config::token::hash(&read)
        )),
        "{file}"
    );
    until_status(&d, "acme", &read, 200, "the read token accepted after reload");
    let reader = client(&d, "acme", &read);

    // Reads: lists, single resources, filters, the three searches, discovery.
    let users = reader.get("/Users");
    users.expect(200);
    assert_eq!(users.total(), 1);
    let one = reader.get(&format!("/Users/{ann}"));
    one.expect(200);
    assert_eq!(one.body["userName"], "ann@acme.com");
    assert!(one.etag.is_some());
    let team = reader.get(&format!("/Groups/{eng}"));
    team.expect(200);
    assert_eq!(team.body["members"][0]["value"], json!(ann));
    let filtered = reader.get("/Users?filter=userName%20eq%20%22ann%40acme.com%22");
    assert_eq!(filtered.ids(), std::slice::from_ref(&ann));
    let search = json!({"schemas": [SEARCH], "filter": "userName sw \"ann\""});
    for path in ["/Users/.search", "/.search"] {
        let found = reader.post(path, &search);
        found.expect(200);
        assert_eq!(found.total(), 1, "{path}");
    }
    let teams = reader.post(
        "/Groups/.search",
        &json!({"schemas": [SEARCH], "filter": "displayName eq \"Eng\""}),
    );
    assert_eq!(teams.ids(), std::slice::from_ref(&eng));
    for path in [
        "/ServiceProviderConfig",
        "/ResourceTypes",
        "/ResourceTypes/User",
        "/Schemas",
        &format!("/Schemas/{USER}"),
    ] {
        reader.get(path).expect(200);
    }
    // HEAD passes the read-only check: GET's head, as to the SCIM token.
    let head = reader.send("HEAD", "/Users", None, &[]);
    assert_eq!(head.status, scim.send("HEAD", "/Users", None, &[]).status);
    assert_eq!(head.status, 200);

    // Every kind of write: 403, saying why, and nothing changes (no resource, no event).
    let feed = consumer(&d, "acme", &events_token);
    let before = (everything(&scim), drain(&feed).len());
    let user = json!({"schemas": [USER], "userName": "ann@acme.com", "title": "CTO"});
    let writes: Vec<(&str, String, Option<Value>)> = vec![
        (
            "POST",
            "/Users".into(),
            Some(json!({"schemas": [USER], "userName": "eve@acme.com"})),
        ),
        (
            "POST",
            "/Groups".into(),
            Some(json!({"schemas": [GROUP], "displayName": "Ops"})),
        ),
        ("PUT", format!("/Users/{ann}"), Some(user)),
        (
            "PATCH",
            format!("/Users/{ann}"),
            Some(patch_body(
                json!([{"op": "replace", "path": "active", "value": false}]),
            )),
        ),
        (
            "PATCH",
            format!("/Groups/{eng}"),
            Some(patch_body(
                json!([{"op": "replace", "path": "displayName", "value": "X"}]),
            )),
        ),
        ("DELETE", format!("/Users/{ann}"), None),
        ("DELETE", format!("/Groups/{eng}"), None),
        (
            "POST",
            "/Bulk".into(),
            Some(json!({"schemas": [BULK], "Operations": [{
                "method": "DELETE", "path": format!("/Users/{ann}")
            }]})),
        ),
    ];
    for (method, path, body) in &writes {
        let r = reader.send(method, path, body.as_ref(), &[]);
        assert_error(&r, 403, None);
        let detail = r.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("read-only"), "{method} {path}: {detail}");
    }
    assert_eq!((everything(&scim), drain(&feed).len()), before);

    // The events API takes only events tokens, and the SCIM API refuses those.
    let with_read = consumer(&d, "acme", &read);
    assert_error(&with_read.get(""), 401, None);
    assert_error(&with_read.get("/snapshot"), 401, None);
    assert_error(&scim.with_token(Some(&events_token)).get("/Users"), 401, None);
    // A read token is its org's only.
    assert_error(&client(&d, "beta", &read).get("/Users"), 401, None);
    assert_error(&client(&d, "ghost", &read).get("/Users"), 401, None);

    // The SCIM token writes as before.
    let bob = scim.create_user("bob@acme.com");
    reader.get(&format!("/Users/{bob}")).expect(200);

    // A revoke refuses the read token again, and only it.
    let out = scimd(
        &["token", "revoke", "--org", "acme", "--scope", "read"],
        &d.config,
    );
    assert!(
        out.status.success(),
        "revoke failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    until_status(&d, "acme", &read, 401, "the revoked read token refused");
    assert_error(&reader.post("/Users/.search", &search), 401, None);
    scim.delete(&format!("/Users/{bob}")).expect(204);
    feed.get("").expect(200);
    assert_not_logged(&mut logs, &[&read, &scim_token, &events_token, &beta_token]);
}

#[test]
fn a_read_token_of_a_disabled_org_gets_the_disabled_answer() {
    let (scim_token, scim_hash) = new_token();
    let (read, read_hash) = new_token();
    let text = config(
        &store_table(),
        &[org(
            "acme",
            &[&scim_hash],
            &format!("read_tokens = [\"{read_hash}\"]\nenabled = false\n"),
        )],
    );
    let (d, _logs) = start(&text, &[("acme", &scim_token)]);
    // The org's 403 comes before the read-only check, for reads and writes alike.
    let reader = client(&d, "acme", &read);
    for r in [
        reader.get("/Users"),
        reader.post("/Users", &json!({"schemas": [USER], "userName": "x"})),
    ] {
        assert_error(&r, 403, None);
        let detail = r.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("disabled"), "{detail}");
    }
}
