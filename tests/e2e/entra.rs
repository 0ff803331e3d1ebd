//! Microsoft Entra ID's provisioning, replayed request by request (idp-wire §2).

use serde_json::{json, Value};

use crate::harness::{
    assert_error, assert_team_members, filter_q, sorted, values_of, Client, Daemon, ENT, GROUP,
    PATCH_OP, USER,
};

/// The ADSCIM schema Entra adds to a group it creates.
const ADSCIM: &str = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";

/// Entra's create body (MS-TUT), with client-sent `meta`, `roles:[]` and `name.formatted`.
fn entra_user(user_name: &str, external_id: &str, email: &str) -> Value {
    json!({
        "schemas": [USER, ENT],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": email}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName",
                 "givenName": "givenName"},
        "roles": [],
        ENT: {"employeeNumber": "701984", "department": "Tour Operations",
              "costCenter": "4130"}
    })
}

/// Entra always sends the tenant flag on the URL it was given.
fn users_filter(c: &Client, filter: &str) -> crate::harness::Resp {
    let r = c.get(&format!("/Users{}&aadOptscim062020", filter_q(filter)));
    r.expect(200);
    r
}

#[test]
fn entra_test_connection_and_create_with_enterprise_extension() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");

    // Test Connection: a random user that does not exist → 200 with zero results.
    let r = users_filter(&c, "userName eq \"7b7c0b3e-8b1a-4c51-9d17-0b9a5f1b2e44\"");
    assert_eq!(r.total(), 0);
    assert_eq!(r.resources().len(), 0);
    let r = c.get(&format!(
        "/Groups{}&excludedAttributes=members",
        filter_q("displayName eq \"2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2\"")
    ));
    r.expect(200);
    assert_eq!(r.total(), 0);

    let r = c.post(
        "/Users?aadOptscim062020",
        &entra_user(
            "Test_User_1@contoso.com",
            "0a21f0f2-8d2a",
            "Test_User_1@testuser.com",
        ),
    );
    r.expect(201);
    let id = r.id();
    let schemas = r.body["schemas"].as_array().expect("schemas").clone();
    assert!(
        schemas.contains(&json!(USER)) && schemas.contains(&json!(ENT)),
        "{schemas:?}"
    );
    assert_eq!(r.body[ENT]["employeeNumber"], "701984");
    assert_eq!(r.body[ENT]["department"], "Tour Operations");
    assert_eq!(r.body[ENT]["costCenter"], "4130");
    assert_eq!(r.body["name"]["formatted"], "givenName familyName");
    assert_eq!(r.body["name"]["givenName"], "givenName");
    assert_eq!(r.body["externalId"], "0a21f0f2-8d2a");
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["meta"]["resourceType"], "User");
    assert!(
        r.body["meta"]["created"].is_string(),
        "server meta, not the client's"
    );
    assert!(r.body.get(ENT).is_some_and(Value::is_object));
    let got = c.get(&format!("/Users/{id}"));
    got.expect(200);
    assert_eq!(got.body[ENT]["employeeNumber"], "701984");

    // Matching by externalId and by the work email value path.
    assert_eq!(
        users_filter(&c, "externalId eq \"0a21f0f2-8d2a\"").ids(),
        vec![id.clone()]
    );
    assert_eq!(
        users_filter(&c, "externalId eq \"0A21F0F2-8D2A\"").total(),
        0,
        "externalId is caseExact"
    );
    assert_eq!(
        users_filter(
            &c,
            "emails[type eq \"work\"].value eq \"Test_User_1@testuser.com\""
        )
        .ids(),
        vec![id.clone()]
    );
    assert_eq!(
        users_filter(
            &c,
            "emails[type eq \"home\"].value eq \"Test_User_1@testuser.com\""
        )
        .total(),
        0
    );
    assert_eq!(
        users_filter(
            &c,
            "userName eq \"Test_User_1@contoso.com\" and externalId eq \"0a21f0f2-8d2a\""
        )
        .ids(),
        vec![id.clone()]
    );
    // Entra's 409 follow-up: the same user again is a uniqueness conflict.
    let r = c.post(
        "/Users",
        &entra_user("test_user_1@CONTOSO.com", "other", "other@testuser.com"),
    );
    assert_error(&r, 409, Some("uniqueness"));
}

#[test]
fn entra_user_updates_value_paths_string_booleans_dotted_keys_and_manager() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let r = c.post(
        "/Users",
        &entra_user("ann@contoso.com", "ext-ann", "ann@contoso.com"),
    );
    r.expect(201);
    let id = r.id();
    let path = format!("/Users/{id}?aadOptscim062020");
    let boss = c.create_user("boss@contoso.com");

    // Value-path replace of the work email, plus a sub-attribute.
    let r = c.patch(
        &path,
        &json!({"schemas": [PATCH_OP], "Operations": [
            {"op": "Replace", "path": "emails[type eq \"work\"].value",
             "value": "updatedEmail@microsoft.com"},
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}
        ]}),
    );
    r.expect(200);
    let emails = r.body["emails"].as_array().expect("emails").clone();
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0]["value"], "updatedEmail@microsoft.com");
    assert_eq!(emails[0]["type"], "work");
    assert_eq!(emails[0]["primary"], true);
    assert_eq!(r.body["name"]["familyName"], "updatedFamilyName");
    assert_eq!(r.body["name"]["givenName"], "givenName");
    assert_eq!(
        users_filter(
            &c,
            "emails[type eq \"work\"].value eq \"updatedEmail@microsoft.com\""
        )
        .ids(),
        vec![id.clone()]
    );
    assert_eq!(
        users_filter(&c, "emails.value eq \"ann@contoso.com\"").total(),
        0
    );

    // Add for an attribute Entra believes empty.
    let r = c.patch_ops(
        &path,
        json!([{"op": "Add", "path": "nickName", "value": "Babs"}]),
    );
    r.expect(200);
    assert_eq!(r.body["nickName"], "Babs");

    // Disable and re-enable with string booleans, and with the flag's real booleans.
    for (value, want) in [
        (json!("False"), false),
        (json!("True"), true),
        (json!(false), false),
        (json!("true"), true),
    ] {
        let r = c.patch_ops(
            &path,
            json!([{"op": "Replace", "path": "active", "value": value}]),
        );
        r.expect(200);
        assert_eq!(r.body["active"], json!(want), "after {value}");
        let got = c.get(&format!("/Users/{id}"));
        assert_eq!(
            got.body["active"],
            json!(want),
            "stored as a boolean after {value}"
        );
    }
    // Disabled users stay matchable (Entra re-enables by lookup).
    c.patch_ops(
        &path,
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    )
    .expect(200);
    assert_eq!(
        users_filter(&c, "userName eq \"ann@contoso.com\"").ids(),
        vec![id.clone()]
    );
    assert_eq!(
        users_filter(&c, "externalId eq \"ext-ann\"").ids(),
        vec![id.clone()]
    );

    // aadOptscim062020: one path-less replace with dotted and URN-qualified keys.
    let r = c.patch_ops(
        &path,
        json!([{"op": "replace", "value": {
            "displayName": "Bjfe",
            "name.givenName": "Kkom",
            "name.familyName": "Unua",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
        }}]),
    );
    r.expect(200);
    assert_eq!(r.body["displayName"], "Bjfe");
    assert_eq!(r.body["name"]["givenName"], "Kkom");
    assert_eq!(r.body["name"]["familyName"], "Unua");
    assert_eq!(
        r.body["name"]["formatted"], "givenName familyName",
        "dotted keys replace one sub-attribute, not the whole name"
    );
    assert_eq!(r.body[ENT]["employeeNumber"], "Aklq");
    assert_eq!(
        r.body[ENT]["department"], "Tour Operations",
        "other extension attrs stay"
    );
    assert!(
        r.body.get("name.givenName").is_none()
            && r.body.get(format!("{ENT}:employeeNumber")).is_none()
    );
    // Without the flag: one Replace per attribute, URN-qualified paths included.
    let r = c.patch_ops(
        &path,
        json!([
            {"op": "Replace", "path": "externalId", "value": "ext-ann-2"},
            {"op": "Replace", "path": format!("{ENT}:department"), "value": "Finance"}
        ]),
    );
    r.expect(200);
    assert_eq!(r.body["externalId"], "ext-ann-2");
    assert_eq!(r.body[ENT]["department"], "Finance");
    assert_eq!(
        users_filter(&c, "externalId eq \"ext-ann-2\"").ids(),
        vec![id.clone()]
    );
    assert_eq!(users_filter(&c, "externalId eq \"ext-ann\"").total(), 0);

    // Manager as a plain id string, returned as {value, $ref}; then removed.
    let r = c.patch_ops(
        &path,
        json!([{"op": "Add", "path": format!("{ENT}:manager"), "value": boss}]),
    );
    r.expect(200);
    let manager = &r.body[ENT]["manager"];
    assert_eq!(manager["value"], boss, "{:#}", r.body);
    assert!(
        manager["$ref"]
            .as_str()
            .is_some_and(|s| s.starts_with("http://") && s.ends_with(&format!("/Users/{boss}"))),
        "{manager:#}"
    );
    assert_eq!(
        c.get(&format!("/Users/{id}")).body[ENT]["manager"]["value"],
        boss
    );
    // Re-sending the same manager (Entra re-PATCHes it) is fine.
    c.patch_ops(
        &path,
        json!([{"op": "Add", "path": format!("{ENT}:manager"), "value": boss}]),
    )
    .expect(200);
    let r = c.patch_ops(
        &path,
        json!([{"op": "Remove", "path": format!("{ENT}:manager")}]),
    );
    r.expect(200);
    assert!(r.body[ENT].get("manager").is_none(), "{:#}", r.body);
    assert_eq!(r.body[ENT]["employeeNumber"], "Aklq");
    assert!(c.get(&format!("/Users/{id}")).body[ENT]
        .get("manager")
        .is_none());

    // Hard delete: gone from reads and filters.
    c.delete(&format!("/Users/{id}")).expect(204);
    assert_error(&c.get(&format!("/Users/{id}")), 404, None);
    assert_eq!(users_filter(&c, "externalId eq \"ext-ann-2\"").total(), 0);
}

#[test]
fn entra_replace_work_email_creates_it_when_absent() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let r = c.post(
        "/Users",
        &json!({"schemas": [USER], "userName": "noemail@contoso.com"}),
    );
    r.expect(201);
    let id = r.id();
    assert!(r.body.get("emails").is_none(), "{:#}", r.body);
    let r = c.patch_ops(
        &format!("/Users/{id}"),
        json!([{"op": "Replace", "path": "emails[type eq \"work\"].value",
                "value": "new@contoso.com"}]),
    );
    r.expect(200);
    let emails = r.body["emails"].as_array().expect("emails created").clone();
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0]["type"], "work");
    assert_eq!(emails[0]["value"], "new@contoso.com");
    assert_eq!(
        users_filter(&c, "emails[type eq \"work\"].value eq \"new@contoso.com\"").ids(),
        vec![id.clone()]
    );

    // A home email exists, no work one: the replace adds a work entry and keeps the home one.
    let r = c.post(
        "/Users",
        &json!({"userName": "home@contoso.com",
                "emails": [{"type": "home", "value": "home@example.com"}]}),
    );
    r.expect(201);
    let hid = r.id();
    let r = c.patch_ops(
        &format!("/Users/{hid}"),
        json!([{"op": "Replace", "path": "emails[type eq \"work\"].value",
                "value": "work@contoso.com"}]),
    );
    r.expect(200);
    let mut pairs: Vec<(String, String)> = r.body["emails"]
        .as_array()
        .expect("emails")
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or("").into(),
                e["value"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    pairs.sort();
    assert_eq!(
        pairs,
        vec![
            ("home".to_string(), "home@example.com".to_string()),
            ("work".to_string(), "work@contoso.com".to_string())
        ]
    );
}

#[test]
fn entra_group_provisioning() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let u1 = c.create_user("u1@contoso.com");
    let u2 = c.create_user("u2@contoso.com");
    let u3 = c.create_user("u3@contoso.com");
    let find = |name: &str| {
        let r = c.get(&format!(
            "/Groups?excludedAttributes=members&filter={}&aadOptscim062020",
            crate::harness::enc(&format!("displayName eq \"{name}\""))
        ));
        r.expect(200);
        r
    };
    assert_eq!(find("Sales").total(), 0);

    let r = c.post(
        "/Groups",
        &json!({"schemas": [GROUP, ADSCIM], "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "Sales", "meta": {"resourceType": "Group"}}),
    );
    r.expect(201);
    let gid = r.id();
    assert_eq!(r.body["displayName"], "Sales");
    assert_eq!(r.body["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");
    assert_eq!(values_of(&r.body, "members"), Vec::<String>::new());
    let gpath = format!("/Groups/{gid}");

    let r = c.get(&format!("{gpath}?excludedAttributes=members"));
    r.expect(200);
    assert!(r.body.get("members").is_none(), "{:#}", r.body);
    assert_eq!(r.body["displayName"], "Sales");

    // Members: Add with a null $ref, one op per user as Entra batches them.
    let r = c.patch_ops(
        &gpath,
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": u1}]}]),
    );
    assert_team_members(&c, &r, &gpath, sorted(&[&u1]));
    let r = c.patch_ops(
        &format!("{gpath}?excludedAttributes=members"),
        json!([{"op": "Add", "path": "members",
                "value": [{"$ref": null, "value": u2}, {"$ref": null, "value": u3}]}]),
    );
    r.expect(200);
    assert!(
        r.body.get("members").is_none(),
        "excludedAttributes on a PATCH response"
    );
    assert_eq!(
        values_of(&c.get(&gpath).body, "members"),
        sorted(&[&u1, &u2, &u3])
    );

    // The list lookup with excludedAttributes=members has no members key, but finds the group.
    let r = find("Sales");
    assert_eq!(r.ids(), vec![gid.clone()]);
    assert!(r.resources()[0].get("members").is_none(), "{:#}", r.body);
    assert_eq!(
        c.get(&format!(
            "/Groups{}&excludedAttributes=members",
            filter_q("externalId eq \"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159\"")
        ))
        .ids(),
        vec![gid.clone()]
    );

    // Remove with a value array removes only the listed members.
    let r = c.patch_ops(
        &gpath,
        json!([{"op": "Remove", "path": "members", "value": [{"value": u1}]}]),
    );
    assert_team_members(&c, &r, &gpath, sorted(&[&u2, &u3]));
    // With the flag: a value filter.
    let r = c.patch_ops(
        &gpath,
        json!([{"op": "remove", "path": format!("members[value eq \"{u2}\"]")}]),
    );
    assert_team_members(&c, &r, &gpath, sorted(&[&u3]));
    assert_eq!(
        values_of(&c.get(&format!("/Users/{u1}")).body, "groups"),
        Vec::<String>::new()
    );
    assert_eq!(
        values_of(&c.get(&format!("/Users/{u3}")).body, "groups"),
        sorted(&[&gid])
    );

    // Rename with a path.
    let r = c.patch_ops(
        &gpath,
        json!([{"op": "Replace", "path": "displayName", "value": "Sales EMEA"}]),
    );
    r.expect(204);
    assert_eq!(c.get(&gpath).body["displayName"], "Sales EMEA");
    assert_eq!(find("Sales").total(), 0);
    assert_eq!(find("Sales EMEA").ids(), vec![gid.clone()]);
    assert_eq!(
        c.get(&format!("/Users/{u3}")).body["groups"][0]["display"],
        "Sales EMEA"
    );

    // replace members [] clears.
    c.patch_ops(
        &gpath,
        json!([{"op": "Add", "path": "members", "value": [{"value": u1}]}]),
    )
    .expect(204);
    let r = c.patch_ops(
        &gpath,
        json!([{"op": "replace", "path": "members", "value": []}]),
    );
    assert_team_members(&c, &r, &gpath, Vec::<String>::new());
    assert_eq!(
        values_of(&c.get(&gpath).body, "members"),
        Vec::<String>::new()
    );
    assert_eq!(
        values_of(&c.get(&format!("/Users/{u1}")).body, "groups"),
        Vec::<String>::new()
    );

    // Hard delete.
    c.delete(&gpath).expect(204);
    assert_error(&c.get(&gpath), 404, None);
    assert_eq!(find("Sales EMEA").total(), 0);
}

#[test]
fn entra_unknown_query_parameters_are_ignored_everywhere() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let id = c.create_user("ann@contoso.com");
    for path in [
        "/Users?aadOptscim062020".to_string(),
        "/Users?aadOptscim062020=&AzureAdScimPatch2017=1".to_string(),
        format!("/Users/{id}?aadOptscim062020"),
        "/Groups?aadOptscim062020".to_string(),
        "/ServiceProviderConfig?aadOptscim062020".to_string(),
    ] {
        let r = c.get(&path);
        r.expect(200);
    }
    let r = c.patch_ops(
        &format!("/Users/{id}?aadOptscim062020&unknown=x"),
        json!([{"op": "Replace", "path": "displayName", "value": "Ann"}]),
    );
    r.expect(200);
    assert_eq!(r.body["displayName"], "Ann");
    let r = c.post(
        "/Groups?aadOptscim062020",
        &json!({"displayName": "Flagged"}),
    );
    r.expect(201);
}

#[test]
fn email_and_external_id_lookups_follow_every_kind_of_write() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let r = c.post(
        "/Users",
        &json!({"userName": "idx@contoso.com", "externalId": "X1",
                "emails": [{"value": "a@contoso.com", "type": "work"},
                           {"value": "b@contoso.com", "type": "home"}]}),
    );
    r.expect(201);
    let id = r.id();
    let path = format!("/Users/{id}");
    let hits = |f: &str| users_filter(&c, f).total();
    assert_eq!(
        hits("emails.value eq \"A@CONTOSO.COM\""),
        1,
        "email values ignore case"
    );
    assert_eq!(
        hits("emails[type eq \"work\"].value eq \"b@contoso.com\""),
        0,
        "b is a home email"
    );

    // Path-less add appends, path-less replace replaces.
    let r = c.patch_ops(
        &path,
        json!([{"op": "Add", "value": {"emails": [{"value": "c@contoso.com", "type": "other"}]}}]),
    );
    r.expect(200);
    assert_eq!(r.body["emails"].as_array().map(Vec::len), Some(3));
    assert_eq!(hits("emails.value eq \"c@contoso.com\""), 1);
    let r = c.patch_ops(
        &path,
        json!([{"op": "Replace", "value": {"emails": [{"value": "d@contoso.com", "type": "work"}],
                                          "externalId": "X2"}}]),
    );
    r.expect(200);
    assert_eq!(r.body["emails"].as_array().map(Vec::len), Some(1));
    for gone in ["a@contoso.com", "b@contoso.com", "c@contoso.com"] {
        assert_eq!(hits(&format!("emails.value eq \"{gone}\"")), 0, "{gone}");
    }
    assert_eq!(
        hits("emails[type eq \"work\"].value eq \"d@contoso.com\""),
        1
    );
    assert_eq!(hits("externalId eq \"X1\""), 0);
    assert_eq!(hits("externalId eq \"X2\""), 1);

    // Remove by value filter, and remove externalId.
    let r = c.patch_ops(
        &path,
        json!([{"op": "Remove", "path": "emails[value eq \"d@contoso.com\"]"},
               {"op": "Remove", "path": "externalId"}]),
    );
    r.expect(200);
    assert!(
        r.body.get("emails").is_none() && r.body.get("externalId").is_none(),
        "{:#}",
        r.body
    );
    assert_eq!(hits("emails.value eq \"d@contoso.com\""), 0);
    assert_eq!(hits("externalId eq \"X2\""), 0);

    // A PUT sets both again; another PUT without them drops them.
    c.put(
        &path,
        &json!({"userName": "idx@contoso.com", "externalId": "X3",
                "emails": [{"value": "e@contoso.com", "type": "work"}]}),
    )
    .expect(200);
    assert_eq!(hits("emails.value eq \"e@contoso.com\""), 1);
    assert_eq!(hits("externalId eq \"X3\""), 1);
    c.put(&path, &json!({"userName": "idx@contoso.com"}))
        .expect(200);
    assert_eq!(hits("emails.value eq \"e@contoso.com\""), 0);
    assert_eq!(hits("externalId eq \"X3\""), 0);
    assert_eq!(hits("userName eq \"idx@contoso.com\""), 1);
}
