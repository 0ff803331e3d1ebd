//! Every bad input the contract names, each answered with the right status and a SCIM Error body.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{
    assert_error, assert_team_members, enc, filter_q, sorted, values_of, Client, Daemon, GROUP,
    SCIM_JSON, USER,
};

#[test]
fn malformed_json_is_invalid_syntax_on_every_write() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let id = c.create_user("ann@acme.com");
    let gid = c.create_group("Team", &[]);
    let bad = r#"{"userName": "x@acme.com", "#;
    for (method, path) in [
        ("POST", "/Users".to_string()),
        ("PUT", format!("/Users/{id}")),
        ("PATCH", format!("/Users/{id}")),
        ("POST", "/Groups".to_string()),
        ("PUT", format!("/Groups/{gid}")),
        ("PATCH", format!("/Groups/{gid}")),
        ("POST", "/Users/.search".to_string()),
        ("POST", "/.search".to_string()),
    ] {
        let r = c.send_raw(method, &path, Some(bad), Some("application/scim+json"), &[]);
        assert_error(&r, 400, Some("invalidSyntax"));
    }
    // Not an object at all, and an empty body.
    let r = c.send_raw(
        "POST",
        "/Users",
        Some("[1,2]"),
        Some("application/scim+json"),
        &[],
    );
    assert_error(&r, 400, None);
    let r = c.send_raw(
        "POST",
        "/Users",
        Some(""),
        Some("application/scim+json"),
        &[],
    );
    assert_error(&r, 400, Some("invalidSyntax"));
    // A PATCH body that is JSON but not a PatchOp.
    let r = c.patch(&format!("/Users/{id}"), &json!({"Operations": "replace"}));
    assert_error(&r, 400, None);
    // Nothing changed.
    assert_eq!(c.get("/Users").total(), 1);
    assert_eq!(
        c.get(&format!("/Users/{id}")).body["meta"]["version"],
        "W/\"1\""
    );
}

#[test]
fn missing_required_attributes_are_invalid_value() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    for body in [
        json!({"schemas": [USER], "name": {"givenName": "Ann"}}),
        json!({"schemas": [USER], "userName": ""}),
        json!({"schemas": [USER], "userName": null}),
    ] {
        let r = c.post("/Users", &body);
        assert_error(&r, 400, Some("invalidValue"));
        assert!(
            r.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("userName")),
            "the detail names the attribute: {:#}",
            r.body
        );
    }
    let r = c.post("/Groups", &json!({"schemas": [GROUP], "members": []}));
    assert_error(&r, 400, Some("invalidValue"));
    assert!(r.body["detail"]
        .as_str()
        .is_some_and(|d| d.contains("displayName")));
    // A PUT without userName is refused too, and a PATCH cannot remove it.
    let id = c.create_user("ann@acme.com");
    let r = c.put(
        &format!("/Users/{id}"),
        &json!({"schemas": [USER], "displayName": "Ann"}),
    );
    assert_error(&r, 400, None);
    let r = c.patch_ops(
        &format!("/Users/{id}"),
        json!([{"op": "remove", "path": "userName"}]),
    );
    assert_error(&r, 400, None);
    assert_eq!(
        c.get(&format!("/Users/{id}")).body["userName"],
        "ann@acme.com"
    );
    assert_eq!(c.get("/Users").total(), 1);
    assert_eq!(c.get("/Groups").total(), 0);
}

#[test]
fn uniqueness_is_409_on_post_put_and_patch_case_insensitively() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    c.create_user("ann@acme.com");
    let r = c.post("/Users", &json!({"userName": "ANN@Acme.COM"}));
    assert_error(&r, 409, Some("uniqueness"));
    assert!(r.body["detail"]
        .as_str()
        .is_some_and(|d| d.contains("ANN@Acme.COM") || d.contains("ann@acme.com")));
    // Beyond ASCII: case folding is Unicode-aware in the index and in filters alike.
    let ae = c.create_user("Ännie@acme.com");
    let r = c.post("/Users", &json!({"userName": "ännie@ACME.com"}));
    assert_error(&r, 409, Some("uniqueness"));
    let r = c.get(&format!(
        "/Users{}",
        filter_q("userName eq \"ÄNNIE@acme.com\"")
    ));
    assert_eq!(r.ids(), vec![ae]);
    assert_eq!(c.get("/Users").total(), 2);

    let red = c.create_group("Red", &[]);
    let blue = c.create_group("Blue", &[]);
    let r = c.post("/Groups", &json!({"displayName": "RED"}));
    assert_error(&r, 409, Some("uniqueness"));
    // PUT renaming onto another team's name.
    let r = c.put(&format!("/Groups/{blue}"), &json!({"displayName": "red"}));
    assert_error(&r, 409, Some("uniqueness"));
    // PATCH with a path, and Okta's path-less rename.
    let r = c.patch_ops(
        &format!("/Groups/{blue}"),
        json!([{"op": "replace", "path": "displayName", "value": "Red"}]),
    );
    assert_error(&r, 409, Some("uniqueness"));
    let r = c.patch_ops(
        &format!("/Groups/{blue}"),
        json!([{"op": "replace", "value": {"id": blue, "displayName": "rEd"}}]),
    );
    assert_error(&r, 409, Some("uniqueness"));
    let b = c.get(&format!("/Groups/{blue}"));
    assert_eq!(b.body["displayName"], "Blue");
    assert_eq!(b.body["meta"]["version"], "W/\"1\"");
    // A team may change the case of its own name.
    let r = c.patch_ops(
        &format!("/Groups/{red}"),
        json!([{"op": "replace", "path": "displayName", "value": "RED"}]),
    );
    r.expect(204);
    assert_eq!(c.get(&format!("/Groups/{red}")).body["displayName"], "RED");
    // The freed name is usable again after a rename.
    c.patch_ops(
        &format!("/Groups/{red}"),
        json!([{"op": "replace", "path": "displayName", "value": "Crimson"}]),
    )
    .expect(204);
    c.put(&format!("/Groups/{blue}"), &json!({"displayName": "Red"}))
        .expect(200);
}

#[test]
fn user_name_is_immutable_by_put_and_patch() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let id = c.create_user("ann@acme.com");
    let path = format!("/Users/{id}");
    let mut full = c.get(&path).body;
    full["userName"] = json!("anna@acme.com");
    let r = c.put(&path, &full);
    assert_error(&r, 400, Some("mutability"));
    assert!(r.body["detail"]
        .as_str()
        .is_some_and(|d| d.contains("userName")));

    let r = c.patch_ops(
        &path,
        json!([{"op": "replace", "path": "userName", "value": "anna@acme.com"}]),
    );
    assert_error(&r, 400, Some("mutability"));
    let r = c.patch_ops(
        &path,
        json!([{"op": "Replace", "value": {"userName": "anna@acme.com"}}]),
    );
    assert_error(&r, 400, Some("mutability"));
    let r = c.patch_ops(
        &path,
        json!([{"op": "add", "path": "userName", "value": "anna@acme.com"}]),
    );
    assert_error(&r, 400, Some("mutability"));

    let got = c.get(&path);
    assert_eq!(got.body["userName"], "ann@acme.com");
    assert_eq!(got.body["meta"]["version"], "W/\"1\"");
    assert_eq!(
        c.get(&format!(
            "/Users{}",
            filter_q("userName eq \"anna@acme.com\"")
        ))
        .total(),
        0
    );

    // The same userName (in any case) echoed back is not a change.
    let mut echo = c.get(&path).body;
    echo["userName"] = json!("ANN@ACME.COM");
    echo["displayName"] = json!("Ann");
    let r = c.put(&path, &echo);
    r.expect(200);
    assert_eq!(r.body["userName"], "ann@acme.com");
    assert_eq!(r.body["displayName"], "Ann");
}

#[test]
fn team_display_name_over_100_characters_is_invalid_value() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let long = "x".repeat(101);
    let max = "y".repeat(100);
    let r = c.post("/Groups", &json!({"displayName": long}));
    assert_error(&r, 400, Some("invalidValue"));
    // Characters, not bytes: 100 multi-byte characters are fine.
    let wide = "é".repeat(100);
    c.post("/Groups", &json!({"displayName": wide})).expect(201);
    let gid = c.create_group(&max, &[]);
    let path = format!("/Groups/{gid}");
    let r = c.put(&path, &json!({"displayName": long}));
    assert_error(&r, 400, Some("invalidValue"));
    let r = c.patch_ops(
        &path,
        json!([{"op": "replace", "path": "displayName", "value": long}]),
    );
    assert_error(&r, 400, Some("invalidValue"));
    assert_eq!(c.get(&path).body["displayName"], max);
    assert_eq!(c.get("/Groups").total(), 2);
}

#[test]
fn unknown_member_ids_are_skipped_and_readding_is_a_no_op() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let u1 = c.create_user("ann@acme.com");
    let u2 = c.create_user("bob@acme.com");
    let stale = "0190f3b4-0000-7000-8000-000000000000";

    let r = c.post(
        "/Groups",
        &json!({"displayName": "Team", "members": [{"value": u1}, {"value": stale}]}),
    );
    r.expect(201);
    let gid = r.id();
    let path = format!("/Groups/{gid}");
    assert_eq!(values_of(&r.body, "members"), sorted(&[&u1]));

    let r = c.patch_ops(
        &path,
        json!([{"op": "add", "path": "members", "value": [{"value": stale}, {"value": u2}]}]),
    );
    assert_team_members(&c, &r, &path, sorted(&[&u1, &u2]));

    // Re-adding a member: 200, no duplicate.
    let r = c.patch_ops(
        &path,
        json!([{"op": "add", "path": "members", "value": [{"value": u1}]}]),
    );
    assert_team_members(&c, &r, &path, sorted(&[&u1, &u2]));
    assert_eq!(
        c.get(&path).body["members"].as_array().map(Vec::len),
        Some(2)
    );

    // PUT with a stale id among good ones, and the same member twice.
    let r = c.put(
        &path,
        &json!({"displayName": "Team", "members": [{"value": u2}, {"value": stale}, {"value": u2}]}),
    );
    r.expect(200);
    assert_eq!(values_of(&r.body, "members"), sorted(&[&u2]));

    // A group id is not a user: skipped too.
    let other = c.create_group("Other", &[]);
    let r = c.patch_ops(
        &path,
        json!([{"op": "add", "path": "members", "value": [{"value": other}]}]),
    );
    assert_team_members(&c, &r, &path, sorted(&[&u2]));

    // Removing a member who is not there is fine as well.
    let r = c.patch_ops(
        &path,
        json!([{"op": "remove", "path": format!("members[value eq \"{u1}\"]")}]),
    );
    assert!(r.status == 200 || r.status == 204, "{:#}", r.body);
    assert_eq!(values_of(&c.get(&path).body, "members"), sorted(&[&u2]));
}

/// Sends raw HTTP/1.1 and returns (status, body); the connection is closed by `Connection: close`.
fn raw_http(origin: &str, head: &str, body: &[u8]) -> (u16, Value) {
    let addr = origin.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(head.as_bytes()).expect("write head");
    // The server may answer and stop reading before the body is done; that is the point.
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let json = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.trim())
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

#[track_caller]
fn assert_413(status: u16, body: &Value) {
    assert_eq!(status, 413, "{body:#}");
    assert_eq!(body["status"], "413", "{body:#}");
    assert_eq!(body["schemas"][0], crate::harness::ERROR);
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

#[test]
fn body_over_one_mebibyte_is_413() {
    let d = Daemon::start(&["acme"]);
    let token = &d.tokens["acme"];
    let host = d.origin.trim_start_matches("http://");

    // Declared too large: refused before the body is read.
    let head = format!(
        "POST /scim/v2/acme/Users HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        2 * 1024 * 1024
    );
    let (status, body) = raw_http(&d.origin, &head, b"");
    assert_413(status, &body);

    // Chunked, no length announced: refused once it passes 1 MiB.
    let filler = format!(
        "{{\"userName\":\"big@acme.com\",\"displayName\":\"{}\"}}",
        "x".repeat(1024 * 1024)
    );
    let mut chunked = Vec::new();
    for part in filler.as_bytes().chunks(64 * 1024) {
        chunked.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        chunked.extend_from_slice(part);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let head = format!(
        "POST /scim/v2/acme/Users HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/scim+json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let (status, body) = raw_http(&d.origin, &head, &chunked);
    assert_413(status, &body);

    // Just under the limit is an ordinary request: 61 addresses of 16,000 characters each
    // (strings stay within `max_string_length`).
    let c = d.client("acme");
    let addresses: Vec<_> = (0..61)
        .map(|i| json!({"formatted": format!("{i}{}", "y".repeat(16_000)), "type": "work"}))
        .collect();
    let r = c.post(
        "/Users",
        &json!({"userName": "fits@acme.com", "addresses": addresses}),
    );
    r.expect(201);
    assert_eq!(
        c.get("/Users").total(),
        1,
        "the oversized user was not created"
    );
}

#[test]
fn bad_filters_are_invalid_filter() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    c.create_user("ann@acme.com");
    let deep = format!("{}userName eq \"x\"{}", "(".repeat(200), ")".repeat(200));
    let deep_not = format!(
        "{}userName eq \"x\"{}",
        "not (".repeat(100),
        ")".repeat(100)
    );
    for f in [
        "ANN@ACME.COM",
        "ann@acme.com",
        "userName",
        "userName eq",
        "userName zz \"x\"",
        "userName eq \"unterminated",
        "userName eq \"x\" and",
        "(userName eq \"x\"",
        "emails[type eq \"work\"",
        "userName eq \"x\" userName eq \"y\"",
        deep.as_str(),
        deep_not.as_str(),
    ] {
        let r = c.get(&format!("/Users?filter={}", enc(f)));
        assert_error(&r, 400, Some("invalidFilter"));
        let r = c.post("/Users/.search", &json!({"filter": f}));
        assert_error(&r, 400, Some("invalidFilter"));
    }
    let r = c.get(&format!("/Groups?filter={}", enc("Team")));
    assert_error(&r, 400, Some("invalidFilter"));
    // A deep but allowed filter still works.
    let ok = format!(
        "{}userName eq \"ann@acme.com\"{}",
        "(".repeat(5),
        ")".repeat(5)
    );
    assert_eq!(c.get(&format!("/Users{}", filter_q(&ok))).total(), 1);
}

#[test]
fn unknown_patch_path_is_invalid_path_and_patch_is_all_or_nothing() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let uid = c.create_user("ann@acme.com");
    let u2 = c.create_user("bob@acme.com");
    let path = format!("/Users/{uid}");
    for bad in [
        "favoriteColor",
        "name.nickname",
        "urn:example:params:scim:Foo:bar",
        "emails[type eq",
    ] {
        let r = c.patch_ops(&path, json!([{"op": "replace", "path": bad, "value": "x"}]));
        assert_error(&r, 400, None);
        let t = r.body["scimType"].as_str().unwrap_or_default();
        assert!(
            t == "invalidPath" || t == "invalidFilter",
            "{bad}: {:#}",
            r.body
        );
    }
    let r = c.patch_ops(
        &path,
        json!([{"op": "replace", "path": "favoriteColor", "value": "x"}]),
    );
    assert_error(&r, 400, Some("invalidPath"));
    let r = c.patch_ops(
        &path,
        json!([{"op": "frobnicate", "path": "displayName", "value": "x"}]),
    );
    assert_error(&r, 400, None);

    // One bad op after good ones: nothing applies, the version stays.
    let before = c.get(&path);
    let r = c.patch_ops(
        &path,
        json!([
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "replace", "path": "active", "value": false},
            {"op": "replace", "path": "nonsense", "value": "x"}
        ]),
    );
    assert_error(&r, 400, Some("invalidPath"));
    let after = c.get(&path);
    assert_eq!(after.body, before.body);
    assert_eq!(after.etag, before.etag);
    // A bad value type after a good op, likewise.
    let r = c.patch_ops(
        &path,
        json!([
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "replace", "path": "active", "value": "maybe"}
        ]),
    );
    assert_error(&r, 400, Some("invalidValue"));
    assert_eq!(c.get(&path).body, before.body);

    // Groups: a rename plus a member add, then a conflicting rename: all or nothing.
    c.create_group("Taken", &[]);
    let gid = c.create_group("Team", &[&uid]);
    let gpath = format!("/Groups/{gid}");
    let gbefore = c.get(&gpath);
    let r = c.patch_ops(
        &gpath,
        json!([
            {"op": "add", "path": "members", "value": [{"value": u2}]},
            {"op": "remove", "path": format!("members[value eq \"{uid}\"]")},
            {"op": "replace", "path": "displayName", "value": "taken"}
        ]),
    );
    assert_error(&r, 409, Some("uniqueness"));
    let gafter = c.get(&gpath);
    assert_eq!(gafter.body, gbefore.body);
    assert_eq!(values_of(&gafter.body, "members"), sorted(&[&uid]));
    assert_eq!(
        values_of(&c.get(&format!("/Users/{u2}")).body, "groups"),
        Vec::<String>::new()
    );
    let r = c.patch_ops(
        &gpath,
        json!([
            {"op": "add", "path": "members", "value": [{"value": u2}]},
            {"op": "replace", "path": "owner", "value": "x"}
        ]),
    );
    assert_error(&r, 400, Some("invalidPath"));
    assert_eq!(c.get(&gpath).body, gbefore.body);

    // An empty Operations array is a no-op.
    let r = c.patch_ops(&path, json!([]));
    r.expect(200);
    assert_eq!(r.body["userName"], "ann@acme.com");
    assert_eq!(
        c.get(&path).body["meta"]["version"],
        before.body["meta"]["version"]
    );
}

#[test]
fn wrong_method_is_405_with_a_scim_error() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let id = c.create_user("ann@acme.com");
    // (method, path, what Allow must list: RFC 7231 6.5.5 requires the header on a 405)
    let cases: Vec<(&str, String, &str)> = vec![
        ("DELETE", "/Users".into(), "GET, POST"),
        ("PUT", "/Users".into(), "GET, POST"),
        ("PATCH", "/Groups".into(), "GET, POST"),
        ("POST", format!("/Users/{id}"), "GET, PUT, PATCH, DELETE"),
        ("POST", "/ServiceProviderConfig".into(), "GET"),
        ("POST", "/ResourceTypes".into(), "GET"),
        ("POST", "/Schemas".into(), "GET"),
        ("DELETE", "/Schemas".into(), "GET"),
        ("GET", "/.search".into(), "POST"),
        ("GET", "/Users/.search".into(), "POST"),
    ];
    for (method, path, allowed) in cases {
        let body = (method != "GET" && method != "DELETE").then_some("test");
        let r = c.send_raw(method, &path, body, Some("application/scim+json"), &[]);
        assert_error(&r, 405, None);
        let mut got: Vec<String> = r
            .allow
            .as_deref()
            .unwrap_or_else(|| panic!("{method} {path}: 405 without an Allow header"))
            .split(',')
            .map(|m| m.trim().to_string())
            .collect();
        got.sort();
        let mut want: Vec<&str> = allowed.split(", ").collect();
        want.sort_unstable();
        assert_eq!(got, want, "{method} {path}");
    }
    assert_eq!(c.get(&format!("/Users/{id}")).status, 200);
    assert_eq!(c.get("/Users").total(), 1);
}

#[test]
fn unknown_ids_and_endpoints_are_404() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let bogus = "0190f3b4-0000-7000-8000-00000000beef";
    for kind in ["Users", "Groups"] {
        let path = format!("/{kind}/{bogus}");
        assert_error(&c.get(&path), 404, None);
        assert_error(
            &c.put(&path, &json!({"userName": "x", "displayName": "x"})),
            404,
            None,
        );
        assert_error(
            &c.patch_ops(
                &path,
                json!([{"op": "replace", "path": "displayName", "value": "x"}]),
            ),
            404,
            None,
        );
        assert_error(&c.delete(&path), 404, None);
    }
    assert_error(&c.get("/Widgets"), 404, None);
    assert_error(&c.get("/ResourceTypes/Widget"), 404, None);
    assert_error(&c.get("/Schemas/urn:example:nope"), 404, None);
    // A group id is not a user id.
    let gid = c.create_group("Team", &[]);
    assert_error(&c.get(&format!("/Users/{gid}")), 404, None);
}

#[test]
fn etag_preconditions() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let id = c.create_user("ann@acme.com");
    let path = format!("/Users/{id}");
    let r = c.get(&path);
    let v1 = r.etag.clone().expect("ETag on GET");
    assert_eq!(r.body["meta"]["version"], v1.as_str());

    // If-None-Match with the current version: 304 without a body; a stale one: 200.
    let r = c.send("GET", &path, None, &[("If-None-Match", &v1)]);
    assert_eq!(r.status, 304);
    assert_eq!(r.body, Value::Null);
    let r = c.send("GET", &path, None, &[("If-None-Match", "W/\"999\"")]);
    r.expect(200);

    // A write with the current version succeeds and moves the version on.
    let body = json!({"userName": "ann@acme.com", "displayName": "Ann"});
    let r = c.send("PUT", &path, Some(&body), &[("If-Match", &v1)]);
    r.expect(200);
    let v2 = r.etag.clone().expect("ETag on PUT");
    assert_ne!(v1, v2);
    assert_eq!(r.body["meta"]["version"], v2.as_str());

    // The stale version is refused on PUT, PATCH and DELETE, changing nothing.
    let r = c.send(
        "PUT",
        &path,
        Some(&json!({"userName": "ann@acme.com"})),
        &[("If-Match", &v1)],
    );
    assert_error(&r, 412, None);
    let ops =
        crate::harness::patch_body(json!([{"op": "replace", "path": "displayName", "value": "X"}]));
    let r = c.send("PATCH", &path, Some(&ops), &[("If-Match", &v1)]);
    assert_error(&r, 412, None);
    let r = c.send("DELETE", &path, None, &[("If-Match", &v1)]);
    assert_error(&r, 412, None);
    let r = c.get(&path);
    assert_eq!(r.body["displayName"], "Ann");
    assert_eq!(r.etag.as_deref(), Some(v2.as_str()));

    // Current version on PATCH, then on DELETE.
    let r = c.send("PATCH", &path, Some(&ops), &[("If-Match", &v2)]);
    r.expect(200);
    assert_eq!(r.body["displayName"], "X");
    let v3 = r.etag.clone().expect("ETag on PATCH");
    let r = c.send("GET", &path, None, &[("If-None-Match", &v2)]);
    r.expect(200);
    let r = c.send("DELETE", &path, None, &[("If-Match", &v2)]);
    assert_error(&r, 412, None);
    let r = c.send("DELETE", &path, None, &[("If-Match", &v3)]);
    r.expect(204);
    assert_error(&c.get(&path), 404, None);

    // Groups carry ETags as well.
    let gid = c.create_group("Team", &[]);
    let gpath = format!("/Groups/{gid}");
    let g = c.get(&gpath);
    let gv = g.etag.clone().expect("group ETag");
    assert_eq!(
        c.send("GET", &gpath, None, &[("If-None-Match", &gv)])
            .status,
        304
    );
    let r = c.send("PATCH", &gpath, Some(&ops), &[("If-Match", "W/\"41\"")]);
    assert_error(&r, 412, None);
    let r = c.send("PATCH", &gpath, Some(&ops), &[("If-Match", &gv)]);
    r.expect(204);
    // The 204 still carries the new version.
    assert_eq!(r.etag.as_deref(), Some("W/\"2\""));
}

#[test]
fn bad_credentials_are_401_with_a_bearer_challenge() {
    let d = Daemon::start(&["acme", "globex"]);
    let acme = d.client("acme");
    let wrong = format!("{}x", d.tokens["acme"]);
    let cases: Vec<(Client, Vec<(&str, &str)>)> = vec![
        (acme.with_token(None), vec![]),
        (acme.with_token(Some("not-a-real-token")), vec![]),
        (acme.with_token(Some(&wrong)), vec![]),
        (acme.with_token(Some(&d.tokens["globex"])), vec![]),
        // Unknown org, with a token that is valid elsewhere.
        (
            Client {
                base: d.base("initech"),
                token: Some(d.tokens["acme"].clone()),
            },
            vec![],
        ),
    ];
    for (client, headers) in &cases {
        for (method, path) in [
            ("GET", "/Users"),
            ("POST", "/Users"),
            ("GET", "/ServiceProviderConfig"),
        ] {
            let body = (method == "POST").then_some(r#"{"userName":"x@acme.com"}"#);
            let r = client.send_raw(method, path, body, Some("application/scim+json"), headers);
            assert_error(&r, 401, None);
            assert!(
                r.www_authenticate
                    .as_deref()
                    .is_some_and(|h| h.starts_with("Bearer")),
                "{:?}",
                r.www_authenticate
            );
        }
    }
    // Malformed Authorization headers.
    let anon = acme.with_token(None);
    let token = d.tokens["acme"].clone();
    for header in [
        format!("Basic {token}"),
        token.clone(),
        "Bearer".to_string(),
        "Bearer ".to_string(),
        format!("Token {token}"),
    ] {
        let r = anon.send("GET", "/Users", None, &[("Authorization", &header)]);
        assert_error(&r, 401, None);
        assert!(r
            .www_authenticate
            .as_deref()
            .is_some_and(|h| h.starts_with("Bearer")));
    }
    // Nothing was written by the refused POSTs.
    assert_eq!(acme.get("/Users").total(), 0);
    assert_eq!(d.client("globex").get("/Users").total(), 0);
    // The scheme is case-insensitive (RFC 7235).
    let r = anon.send(
        "GET",
        "/Users",
        None,
        &[("Authorization", &format!("bearer {token}"))],
    );
    r.expect(200);
}

#[test]
fn content_types_in_and_out() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let body = r#"{"userName":"json@acme.com","displayName":"Json"}"#;
    let r = c.send_raw("POST", "/Users", Some(body), Some("application/json"), &[]);
    r.expect(201);
    assert_eq!(r.body["displayName"], "Json");
    assert_eq!(r.content_type.as_deref(), Some(SCIM_JSON));
    let body = r#"{"userName":"none@acme.com","displayName":"None"}"#;
    let r = c.send_raw(
        "POST",
        "/Users",
        Some(body),
        None,
        &[("Accept", "application/scim+json")],
    );
    r.expect(201);
    assert_eq!(r.body["displayName"], "None");
    let id = r.id();
    let body = r#"{"userName":"charset@acme.com"}"#;
    let r = c.send_raw(
        "POST",
        "/Users",
        Some(body),
        Some("application/scim+json; charset=utf-8"),
        &[],
    );
    r.expect(201);
    let ops = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                  "Operations":[{"op":"replace","path":"displayName","value":"Patched"}]}"#;
    let r = c.send_raw(
        "PATCH",
        &format!("/Users/{id}"),
        Some(ops),
        Some("application/json"),
        &[],
    );
    r.expect(200);
    assert_eq!(r.body["displayName"], "Patched");
    let r = c.send_raw("PATCH", &format!("/Users/{id}"), Some(ops), None, &[]);
    r.expect(200);

    // Every kind of response is application/scim+json; charset=utf-8.
    let mut seen = Vec::new();
    for path in [
        "/Users".to_string(),
        format!("/Users/{id}"),
        "/ServiceProviderConfig".into(),
        "/ResourceTypes".into(),
        "/ResourceTypes/User".into(),
        "/Schemas".into(),
        format!("/Schemas/{USER}"),
        "/Users/nope".into(),
    ] {
        let r = c.get(&path);
        seen.push((path, r.status));
        assert_eq!(r.content_type.as_deref(), Some(SCIM_JSON), "{seen:?}");
    }
    let r = c.post(
        "/Users/.search",
        &json!({"filter": "userName eq \"json@acme.com\""}),
    );
    r.expect(200);
    assert_eq!(r.content_type.as_deref(), Some(SCIM_JSON));
    assert_eq!(r.total(), 1);
}

#[test]
fn unknown_attributes_in_post_and_put_are_ignored() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let r = c.post(
        "/Users",
        &json!({"schemas": [USER, "urn:scim:schemas:core:1.0"], "userName": "ann@acme.com",
                "favoriteColor": "teal", "urn:example:custom:1.0:User:shoe": 42,
                "id": "client-chosen", "meta": {"created": "1999-01-01T00:00:00Z"}}),
    );
    r.expect(201);
    let id = r.id();
    assert_ne!(id, "client-chosen", "the server assigns ids");
    assert!(r.body.get("favoriteColor").is_none());
    assert_ne!(r.body["meta"]["created"], "1999-01-01T00:00:00Z");
    let r = c.put(
        &format!("/Users/{id}"),
        &json!({"userName": "ann@acme.com", "favoriteColor": "red", "title": "CEO"}),
    );
    r.expect(200);
    assert_eq!(r.body["title"], "CEO");
    assert!(r.body.get("favoriteColor").is_none());
}
