//! Errors of the HTTP layer rather than of a resource: oversized bodies, wrong methods, unknown
//! paths, ETag preconditions, bad credentials and content types.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{assert_error, Client, Daemon, SCIM_JSON, USER};

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
    // HEAD is GET without the body, with GET's status and headers.
    for path in [format!("/Users/{id}"), "/Users".into(), "/Schemas".into()] {
        let get = c.get(&path);
        let head = c.send("HEAD", &path, None, &[]);
        assert_eq!(head.status, 200, "HEAD {path}");
        assert_eq!(head.body, serde_json::Value::Null, "HEAD {path} has no body");
        assert_eq!((head.etag, head.content_type), (get.etag, get.content_type));
    }
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
