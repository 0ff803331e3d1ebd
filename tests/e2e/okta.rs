//! Okta's provisioning, replayed request by request as OIN and AIW apps send it (idp-wire §1).

use serde_json::{json, Value};

use crate::harness::{
    assert_error, assert_team_members, enc, filter_q, sorted, values_of, Client, Daemon, GROUP,
    LIST, SCIM_JSON, USER,
};

/// The body Okta POSTs for a new assignment (OKTA-REF), with `groups` and a `password`.
fn okta_user(user_name: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

/// Okta's user lookup: `filter=userName eq "x"&startIndex=1&count=100`.
fn lookup(c: &Client, user_name: &str) -> crate::harness::Resp {
    let r = c.get(&format!(
        "/Users{}&startIndex=1&count=100",
        filter_q(&format!("userName eq \"{user_name}\""))
    ));
    r.expect(200);
    r
}

#[track_caller]
fn assert_list_shape(r: &crate::harness::Resp, total: u64, per_page: u64, start: u64) {
    assert_eq!(r.body["schemas"], json!([LIST]), "{:#}", r.body);
    assert_eq!(r.body["totalResults"].as_u64(), Some(total), "{:#}", r.body);
    assert_eq!(
        r.body["itemsPerPage"].as_u64(),
        Some(per_page),
        "{:#}",
        r.body
    );
    assert_eq!(r.body["startIndex"].as_u64(), Some(start), "{:#}", r.body);
    assert!(r.body["Resources"].is_array(), "Resources: {:#}", r.body);
    assert_eq!(r.resources().len() as u64, per_page);
}

/// The user as Okta sees it after any write: the full resource, never a password.
#[track_caller]
fn assert_full_user(u: &Value, id: &str, user_name: &str) {
    assert_eq!(u["id"], id, "{u:#}");
    assert_eq!(u["userName"], user_name, "{u:#}");
    assert!(u["schemas"]
        .as_array()
        .is_some_and(|s| s.contains(&json!(USER))));
    assert_eq!(u["meta"]["resourceType"], "User");
    assert!(
        u["meta"]["location"]
            .as_str()
            .is_some_and(|l| l.starts_with("http://") && l.ends_with(&format!("/Users/{id}"))),
        "{u:#}"
    );
    assert!(u["meta"]["version"]
        .as_str()
        .is_some_and(|v| v.starts_with("W/\"")));
    assert!(u.get("password").is_none(), "password returned: {u:#}");
}

#[test]
fn okta_connection_test_lookup_create_and_read() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");

    // Test API Credentials on an empty org: integers and an empty Resources array.
    let r = c.get("/Users?startIndex=1&count=2");
    r.expect(200);
    assert_list_shape(&r, 0, 0, 1);
    assert_eq!(r.content_type.as_deref(), Some(SCIM_JSON));

    // Assign: lookup finds nothing, in the exact shape Okta expects.
    let r = lookup(&c, "test.user@okta.local");
    assert_list_shape(&r, 0, 0, 1);

    // Create with Okta's exact body (sent the way Okta does: Accept + its Content-Type).
    let r = c.send(
        "POST",
        "/Users",
        Some(&okta_user("test.user@okta.local")),
        &[
            ("Accept", "application/scim+json"),
            ("User-Agent", "Okta SCIM Client 1.0.0"),
        ],
    );
    r.expect(201);
    let id = r.id();
    assert_full_user(&r.body, &id, "test.user@okta.local");
    assert_eq!(
        r.body["name"],
        json!({"givenName": "Test", "familyName": "User"})
    );
    assert_eq!(r.body["emails"][0]["value"], "test.user@okta.local");
    assert_eq!(r.body["emails"][0]["type"], "work");
    assert_eq!(r.body["emails"][0]["primary"], true);
    assert_eq!(r.body["displayName"], "Test User");
    assert_eq!(r.body["locale"], "en-US");
    assert_eq!(r.body["externalId"], "00ujl29u0le5T6Aj10h7");
    assert_eq!(r.body["active"], true);
    assert_eq!(values_of(&r.body, "groups"), Vec::<String>::new());
    assert_eq!(
        r.location.as_deref(),
        r.body["meta"]["location"].as_str(),
        "Location header must be the resource's meta.location"
    );
    assert_eq!(r.etag.as_deref(), r.body["meta"]["version"].as_str());
    assert_eq!(r.content_type.as_deref(), Some(SCIM_JSON));

    // GET by id.
    let r = c.get(&format!("/Users/{id}"));
    r.expect(200);
    assert_full_user(&r.body, &id, "test.user@okta.local");
    assert_eq!(r.body["active"], true);
    assert_eq!(r.etag.as_deref(), r.body["meta"]["version"].as_str());

    // The lookup now links to it.
    let r = lookup(&c, "test.user@okta.local");
    assert_list_shape(&r, 1, 1, 1);
    assert_eq!(r.ids(), vec![id.clone()]);
    assert!(r.resources()[0].get("password").is_none());

    // Re-assign with the same body (a second Okta instance, a retry): 409 uniqueness.
    let r = c.post("/Users", &okta_user("test.user@okta.local"));
    assert_error(&r, 409, Some("uniqueness"));

    // The connection test again, now with users: count=2 caps the page, totals stay honest.
    c.create_user("second@okta.local");
    c.create_user("third@okta.local");
    let r = c.get("/Users?startIndex=1&count=2");
    r.expect(200);
    assert_list_shape(&r, 3, 2, 1);
    let first = &r.resources()[0];
    for key in ["id", "userName", "name", "active", "emails"] {
        assert!(first.get(key).is_some(), "{key} missing in {first:#}");
    }
}

#[test]
fn okta_groups_attribute_is_read_only_on_create() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let gid = c.create_group("Admins", &[]);
    let mut body = okta_user("sneaky@okta.local");
    body["groups"] = json!([{"value": gid, "display": "Admins"}]);
    let r = c.post("/Users", &body);
    r.expect(201);
    let uid = r.id();
    assert_eq!(values_of(&r.body, "groups"), Vec::<String>::new());
    let g = c.get(&format!("/Groups/{gid}"));
    g.expect(200);
    assert_eq!(values_of(&g.body, "members"), Vec::<String>::new());
    let u = c.get(&format!("/Users/{uid}"));
    assert_eq!(values_of(&u.body, "groups"), Vec::<String>::new());
}

#[test]
fn okta_profile_update_deactivate_and_reactivate_by_patch_and_put() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let r = c.post("/Users", &okta_user("test.user@okta.local"));
    r.expect(201);
    let id = r.id();
    let path = format!("/Users/{id}");

    // Profile update: GET, then PUT the whole echo with id, meta, groups, middleName "".
    let got = c.get(&path);
    got.expect(200);
    let v1 = got.body["meta"]["version"].clone();
    let mut echo = got.body.clone();
    echo["name"]["givenName"] = json!("Tess");
    echo["name"]["middleName"] = json!("");
    echo["groups"] = json!([]);
    echo["emails"][0]["display"] = json!("test.user@okta.local");
    echo["password"] = json!("rotated-secret");
    let r = c.put(&path, &echo);
    r.expect(200);
    assert_full_user(&r.body, &id, "test.user@okta.local");
    assert_eq!(r.body["name"]["givenName"], "Tess");
    assert_eq!(r.body["name"]["familyName"], "User");
    assert_eq!(r.body["displayName"], "Test User");
    assert_eq!(r.body["externalId"], "00ujl29u0le5T6Aj10h7");
    assert_eq!(r.body["active"], true);
    assert_ne!(
        r.body["meta"]["version"], v1,
        "a change must bump the version"
    );
    assert_eq!(r.body["meta"]["created"], got.body["meta"]["created"]);
    let after_put = c.get(&path);
    assert_eq!(after_put.body["name"]["givenName"], "Tess");
    assert!(after_put.body.get("password").is_none());

    // OIN deactivate: path-less replace.
    let deactivate = json!([{"op": "replace", "value": {"active": false}}]);
    let r = c.patch_ops(&path, deactivate);
    r.expect(200);
    assert_full_user(&r.body, &id, "test.user@okta.local");
    assert_eq!(r.body["active"], false);
    assert_eq!(
        r.body["name"]["givenName"], "Tess",
        "a PATCH keeps the rest"
    );
    // Still readable, still matched by Okta's lookup (re-assignment relies on it).
    let r = c.get(&path);
    r.expect(200);
    assert_eq!(r.body["active"], false);
    let r = lookup(&c, "test.user@okta.local");
    assert_eq!(r.ids(), vec![id.clone()]);
    assert_eq!(r.resources()[0]["active"], false);
    let r = c.get(&format!("/Users{}", filter_q("active eq false")));
    assert_eq!(r.ids(), vec![id.clone()]);

    // OIN reactivate.
    let r = c.patch_ops(&path, json!([{"op": "replace", "value": {"active": true}}]));
    r.expect(200);
    assert_eq!(r.body["active"], true);
    assert_eq!(c.get(&path).body["active"], true);

    // AIW deactivate: PUT the full user with active false.
    let mut full = c.get(&path).body;
    full["active"] = json!(false);
    let r = c.put(&path, &full);
    r.expect(200);
    assert_eq!(r.body["active"], false);
    assert_eq!(r.body["name"]["givenName"], "Tess");
    assert_eq!(c.get(&path).body["active"], false);
    let r = lookup(&c, "test.user@okta.local");
    assert_eq!(r.ids(), vec![id.clone()]);

    // AIW reactivate.
    full["active"] = json!(true);
    let r = c.put(&path, &full);
    r.expect(200);
    assert_eq!(r.body["active"], true);
    assert_eq!(c.get(&path).body["active"], true);

    // Re-lookup with the userName upper-cased: userName is caseExact false.
    let r = lookup(&c, "TEST.USER@OKTA.LOCAL");
    assert_eq!(r.total(), 1);
    assert_eq!(r.ids(), vec![id.clone()]);
    assert_eq!(r.resources()[0]["userName"], "test.user@okta.local");
}

#[test]
fn okta_push_groups_lifecycle() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let u1 = c.create_user("ann@acme.com");
    let u2 = c.create_user("bob@acme.com");
    let u3 = c.create_user("cy@acme.com");

    // Existence check, then create with members: [].
    let by_name = |name: &str| {
        let r = c.get(&format!(
            "/Groups{}&startIndex=1&count=100",
            filter_q(&format!("displayName eq \"{name}\""))
        ));
        r.expect(200);
        r
    };
    let r = by_name("Test SCIMv2");
    assert_eq!(r.total(), 0);
    assert_eq!(r.body["itemsPerPage"].as_u64(), Some(0));
    assert_eq!(r.resources().len(), 0);

    let r = c.post(
        "/Groups",
        &json!({"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []}),
    );
    r.expect(201);
    let empty = r.id();
    assert_eq!(r.body["displayName"], "Test SCIMv2");
    assert_eq!(r.body["meta"]["resourceType"], "Group");
    assert!(r
        .location
        .as_deref()
        .is_some_and(|l| l.ends_with(&format!("/Groups/{empty}"))));
    assert_eq!(values_of(&r.body, "members"), Vec::<String>::new());
    assert_eq!(by_name("Test SCIMv2").ids(), vec![empty.clone()]);
    assert_eq!(
        by_name("test scimv2").ids(),
        vec![empty.clone()],
        "displayName eq ignores case"
    );

    // The original Group Push also creates a group with members.
    let r = c.post(
        "/Groups",
        &json!({"schemas": [GROUP], "displayName": "Engineering",
                "members": [{"value": u1, "display": "ann@acme.com"},
                            {"value": u2, "display": "bob@acme.com"}]}),
    );
    r.expect(201);
    let eng = r.id();
    assert_eq!(values_of(&r.body, "members"), sorted(&[&u1, &u2]));
    let gpath = format!("/Groups/{eng}");

    // Membership push: remove one by value filter, add another.
    let r = c.patch_ops(
        &gpath,
        json!([
            {"op": "remove", "path": format!("members[value eq \"{u1}\"]")},
            {"op": "add", "path": "members", "value": [{"value": u3, "display": "cy@acme.com"}]}
        ]),
    );
    assert_team_members(&c, &r, &gpath, sorted(&[&u2, &u3]));
    assert_eq!(
        values_of(&c.get(&gpath).body, "members"),
        sorted(&[&u2, &u3])
    );

    // The same-name rename Okta sends with every membership update: idempotent.
    let r = c.patch_ops(
        &gpath,
        json!([{"op": "replace", "value": {"id": eng, "displayName": "Engineering"}}]),
    );
    assert_eq!(c.get(&gpath).body["displayName"], "Engineering");
    assert_team_members(&c, &r, &gpath, sorted(&[&u2, &u3]));

    // A real rename, still path-less with the echoed id.
    let r = c.patch_ops(
        &gpath,
        json!([{"op": "replace", "value": {"id": eng, "displayName": "Engineering Team"}}]),
    );
    assert_eq!(c.get(&gpath).body["displayName"], "Engineering Team");
    assert_team_members(&c, &r, &gpath, sorted(&[&u2, &u3]));
    assert_eq!(by_name("Engineering").total(), 0);
    assert_eq!(by_name("Engineering Team").ids(), vec![eng.clone()]);

    // Group import: list, then GET each with members {value, display, $ref}.
    let r = c.get("/Groups?startIndex=1&count=100");
    r.expect(200);
    assert_eq!(r.total(), 2);
    assert_eq!(r.body["itemsPerPage"].as_u64(), Some(2));
    assert_eq!(r.body["startIndex"].as_u64(), Some(1));
    let mut listed = r.ids();
    listed.sort();
    assert_eq!(listed, sorted(&[&empty, &eng]));
    let g = c.get(&gpath);
    g.expect(200);
    assert_eq!(g.etag.as_deref(), g.body["meta"]["version"].as_str());
    let members = g.body["members"].as_array().expect("members").clone();
    assert_eq!(members.len(), 2);
    for m in &members {
        let value = m["value"].as_str().expect("value");
        let want = if value == u2 {
            "bob@acme.com"
        } else {
            "cy@acme.com"
        };
        assert_eq!(m["display"], want, "{m:#}");
        assert!(
            m["$ref"].as_str().is_some_and(
                |r| r.starts_with("http://") && r.ends_with(&format!("/Users/{value}"))
            ),
            "{m:#}"
        );
    }

    // The user's read-only `groups` shows the team.
    let u = c.get(&format!("/Users/{u2}"));
    u.expect(200);
    let groups = u.body["groups"].as_array().expect("groups").clone();
    assert_eq!(groups.len(), 1, "{:#}", u.body);
    assert_eq!(groups[0]["value"], eng);
    assert_eq!(groups[0]["display"], "Engineering Team");
    assert!(groups[0]["$ref"]
        .as_str()
        .is_some_and(|r| r.ends_with(&format!("/Groups/{eng}"))));
    assert_eq!(
        values_of(&c.get(&format!("/Users/{u1}")).body, "groups"),
        Vec::<String>::new()
    );

    // An AIW deactivation echoes `groups: []`: read-only, so the membership stays, and a
    // deactivated user keeps its teams.
    let mut echo = u.body.clone();
    echo["groups"] = json!([]);
    echo["active"] = json!(false);
    let r = c.put(&format!("/Users/{u2}"), &echo);
    r.expect(200);
    assert_eq!(r.body["active"], false);
    assert_eq!(values_of(&r.body, "groups"), sorted(&[&eng]));
    assert_eq!(
        values_of(&c.get(&gpath).body, "members"),
        sorted(&[&u2, &u3])
    );
    let r = c.patch_ops(
        &format!("/Users/{u2}"),
        json!([{"op": "replace", "value": {"active": true}}]),
    );
    assert_eq!(values_of(&r.body, "groups"), sorted(&[&eng]));

    // Deleting a user removes it from the team.
    c.delete(&format!("/Users/{u3}")).expect(204);
    assert_eq!(values_of(&c.get(&gpath).body, "members"), sorted(&[&u2]));
    let r = c.get(&format!(
        "/Groups{}",
        filter_q(&format!("members.value eq \"{u3}\""))
    ));
    r.expect(200);
    assert_eq!(r.total(), 0);

    // Unlink with "Delete the group in the target app".
    let r = c.delete(&gpath);
    r.expect(204);
    assert_eq!(r.body, Value::Null, "204 has no body");
    assert_error(&c.get(&gpath), 404, None);
    assert_error(&c.delete(&gpath), 404, None);
    assert_eq!(
        values_of(&c.get(&format!("/Users/{u2}")).body, "groups"),
        Vec::<String>::new()
    );
    assert_eq!(
        c.get(&format!("/Users/{u2}")).body["userName"],
        "bob@acme.com"
    );
    assert_eq!(c.get("/Groups").total(), 1);
}

#[test]
fn okta_aiw_group_update_by_put() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let u1 = c.create_user("ann@acme.com");
    let u2 = c.create_user("bob@acme.com");
    let gid = c.create_group("Ops", &[&u1]);
    let path = format!("/Groups/{gid}");

    // PUT the whole group: rename and the full member list.
    let r = c.put(
        &path,
        &json!({"schemas": [GROUP], "id": gid, "displayName": "Operations",
                "members": [{"value": u2, "display": "bob@acme.com"}]}),
    );
    r.expect(200);
    assert_eq!(r.body["displayName"], "Operations");
    assert_eq!(values_of(&r.body, "members"), sorted(&[&u2]));
    assert_eq!(
        values_of(&c.get(&format!("/Users/{u1}")).body, "groups"),
        Vec::<String>::new()
    );
    assert_eq!(
        values_of(&c.get(&format!("/Users/{u2}")).body, "groups"),
        sorted(&[&gid])
    );

    // A full push by PATCH replace members.
    let r = c.patch_ops(
        &path,
        json!([{"op": "replace", "path": "members",
                "value": [{"value": u1, "display": "ann@acme.com"}, {"value": u2}]}]),
    );
    assert_team_members(&c, &r, &path, sorted(&[&u1, &u2]));
}

#[test]
fn okta_spec_bare_uppercase_filter_is_invalid_but_eq_matches() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let id = c.create_user("Mixed.Case@Okta.Local");
    let r = c.get(&format!("/Users?filter={}", enc("MIXED.CASE@OKTA.LOCAL")));
    assert_error(&r, 400, Some("invalidFilter"));
    let r = lookup(&c, "mixed.case@okta.local");
    assert_eq!(r.ids(), vec![id]);
    assert_eq!(r.resources()[0]["userName"], "Mixed.Case@Okta.Local");
}

#[test]
fn okta_password_sync_by_patch_is_accepted_and_dropped() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let r = c.post("/Users", &okta_user("pw@okta.local"));
    r.expect(201);
    let id = r.id();
    let path = format!("/Users/{id}");
    let v1 = r.body["meta"]["version"].clone();
    for op in [
        json!({"op": "replace", "value": {"password": "n3w-Secret"}}),
        json!({"op": "replace", "path": "password", "value": "n3w-Secret"}),
    ] {
        let r = c.patch_ops(&path, json!([op]));
        r.expect(200);
        assert!(r.body.get("password").is_none(), "{:#}", r.body);
        assert_eq!(r.body["userName"], "pw@okta.local");
    }
    let r = c.get(&path);
    assert!(r.body.get("password").is_none());
    assert_eq!(
        r.body["meta"]["version"], v1,
        "nothing stored, nothing changed"
    );
    let r = c.get(&format!(
        "/Users?attributes=password{}",
        filter_q("userName eq \"pw@okta.local\"").replace('?', "&")
    ));
    r.expect(200);
    assert!(r.resources()[0].get("password").is_none());
}

/// A team's PATCH answers 204 No Content, so changing one member of a huge team costs the same
/// as of a small one; `attributes=` or `excludedAttributes=` ask for a 200 with exactly those.
#[test]
fn team_patch_answers_204_unless_attributes_are_asked_for() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let u = c.create_user("ann@acme.com");
    let g = c.create_group("Eng", &[]);
    let add = json!([{"op": "add", "path": "members", "value": [{"value": u}]}]);
    let r = c.patch_ops(&format!("/Groups/{g}"), add.clone());
    r.expect(204);
    assert!(r.body.is_null());
    assert_eq!(r.etag.as_deref(), Some("W/\"2\""));
    let r = c.patch_ops(&format!("/Groups/{g}?attributes=members"), add);
    r.expect(200);
    assert_eq!(values_of(&r.body, "members"), sorted(&[&u]));
    // Exactly what was asked for: displayName alone leaves members out.
    let r = c.patch_ops(
        &format!("/Groups/{g}?attributes=displayName"),
        json!([{"op": "replace", "path": "displayName", "value": "Eng 2"}]),
    );
    r.expect(200);
    assert_eq!(r.body["displayName"], "Eng 2");
    assert!(r.body.get("members").is_none());
    // excludedAttributes asks for everything else, members included.
    let r = c.patch_ops(
        &format!("/Groups/{g}?excludedAttributes=displayName"),
        json!([{"op": "replace", "path": "displayName", "value": "Eng 3"}]),
    );
    r.expect(200);
    assert!(r.body.get("displayName").is_none());
    assert_eq!(values_of(&r.body, "members"), sorted(&[&u]));
}
