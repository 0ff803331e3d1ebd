//! Every bad input the contract names, each answered with the right status and a SCIM Error body.
//!
//! Bad resources, filters and PATCH paths are here; errors of the HTTP layer are in `protocol`.

mod protocol;

use serde_json::json;

use crate::harness::{assert_error, assert_team_members, enc, filter_q, sorted, values_of, Daemon, GROUP, USER};

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
        // Under the core schema's URN, an unknown attribute is still no path (a URN scimd does
        // not know is an undeclared extension, kept as sent: tests/e2e/extensions.rs).
        "urn:ietf:params:scim:schemas:core:2.0:User:favoriteColor",
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
