//! Undeclared extensions (custom attributes) as Okta and Entra send them (idp-wire): kept as
//! sent, returned with their URN in `schemas`, changed by PATCH in each IdP's form, carried by
//! events and the snapshot, and bounded by `[limits] max_extension_bytes`.

use serde_json::{json, Value};

use crate::events::{consumer, drain, start};
use crate::harness::{assert_error, filter_q, Client, USER};

const OKTA: &str = "urn:okta:custom:user:1.0";
const ENTRA: &str = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";

/// Okta's POST for a user with profile attributes mapped to its custom extension.
fn okta_user(user_name: &str) -> Value {
    json!({
        "schemas": [USER, OKTA],
        "userName": user_name,
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "active": true,
        OKTA: {"tshirtSize": "M", "startDate": "2024-01-01", "teams": ["a", "b"]}
    })
}

#[track_caller]
fn assert_schemas_name(doc: &Value, urn: &str) {
    let schemas = doc["schemas"].as_array().expect("schemas");
    assert!(schemas.contains(&json!(urn)), "{doc:#}");
    assert!(schemas.contains(&json!(USER)), "{doc:#}");
}

fn get(c: &Client, id: &str) -> Value {
    let r = c.get(&format!("/Users/{id}"));
    r.expect(200);
    r.body.clone()
}

#[test]
fn okta_custom_extension_is_kept_returned_and_replaced() {
    let (d, tokens) = start("", &["acme"]);
    let c = d.client("acme");
    let created = c.post("/Users", &okta_user("ann@acme.com"));
    created.expect(201);
    assert_schemas_name(&created.body, OKTA);
    assert_eq!(
        created.body[OKTA],
        json!({"tshirtSize": "M", "startDate": "2024-01-01", "teams": ["a", "b"]})
    );
    let id = created.body["id"].as_str().expect("id").to_string();
    let got = get(&c, &id);
    assert_eq!(got[OKTA], created.body[OKTA]);
    assert_schemas_name(&got, OKTA);

    // Okta's profile push: a path-less replace keyed by `URN:attr`.
    let r = c.patch_ops(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "value": {"urn:okta:custom:user:1.0:tshirtSize": "L"}}]),
    );
    r.expect(200);
    assert_eq!(r.body[OKTA]["tshirtSize"], "L", "{:#}", r.body);
    assert_eq!(get(&c, &id)[OKTA]["tshirtSize"], "L");
    assert_eq!(get(&c, &id)[OKTA]["startDate"], "2024-01-01");

    // A value keyed by the URN merges into the extension.
    c.patch_ops(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "value": {OKTA: {"startDate": "2024-02-01"}}}]),
    )
    .expect(200);
    assert_eq!(
        get(&c, &id)[OKTA],
        json!({"tshirtSize": "L", "startDate": "2024-02-01", "teams": ["a", "b"]})
    );

    // A filter on an undeclared attribute matches nothing, without an error.
    let r = c.get(&format!(
        "/Users{}",
        filter_q("urn:okta:custom:user:1.0:tshirtSize eq \"L\"")
    ));
    r.expect(200);
    assert_eq!(r.body["totalResults"], 0, "{:#}", r.body);

    // PUT replaces the extensions like every other attribute.
    let mut body = okta_user("ann@acme.com");
    body[OKTA] = json!({"tshirtSize": "S"});
    c.put(&format!("/Users/{id}"), &body).expect(200);
    assert_eq!(get(&c, &id)[OKTA], json!({"tshirtSize": "S"}));

    // Events render the stored form: the create and the updates carry the extension.
    let feed = consumer(&d, "acme", &tokens["acme"]);
    let events = drain(&feed);
    let sizes: Vec<&Value> = events
        .iter()
        .filter(|e| e["data"]["id"] == id.as_str())
        .map(|e| &e["data"][OKTA]["tshirtSize"])
        .collect();
    assert_eq!(sizes, [&json!("M"), &json!("L"), &json!("L"), &json!("S")]);
    assert!(events
        .iter()
        .all(|e| e["data"]["schemas"].as_array().is_some_and(|s| s.contains(&json!(OKTA)))));

    // So does the snapshot.
    let r = feed.get("/snapshot");
    r.expect(200);
    let line = crate::snapshot::lines(&r)
        .into_iter()
        .find(|l| l["type"] == "user")
        .expect("a user line");
    assert_eq!(line["data"][OKTA], json!({"tshirtSize": "S"}), "{line:#}");
    assert_schemas_name(&line["data"], OKTA);
}

#[test]
fn entra_custom_attribute_path_add_replace_and_remove() {
    let (d, _) = start("", &["acme"]);
    let c = d.client("acme");
    let id = c.create_user("bob@acme.com");
    let path = format!("{ENTRA}:costCode");

    // Entra's form: capitalized op, a URN-qualified path, a bare value.
    let r = c.patch_ops(
        &format!("/Users/{id}"),
        json!([{"op": "Add", "path": path, "value": "X1"}]),
    );
    r.expect(200);
    assert_eq!(r.body[ENTRA], json!({"costCode": "X1"}), "{:#}", r.body);
    let got = get(&c, &id);
    assert_eq!(got[ENTRA], json!({"costCode": "X1"}));
    assert_schemas_name(&got, ENTRA);

    c.patch_ops(
        &format!("/Users/{id}"),
        json!([{"op": "Replace", "path": path, "value": "X2"}]),
    )
    .expect(200);
    assert_eq!(get(&c, &id)[ENTRA], json!({"costCode": "X2"}));

    c.patch_ops(&format!("/Users/{id}"), json!([{"op": "Remove", "path": path}]))
        .expect(200);
    let got = get(&c, &id);
    assert!(got.get(ENTRA).is_none(), "{got:#}");
    assert!(
        !got["schemas"].as_array().expect("schemas").contains(&json!(ENTRA)),
        "{got:#}"
    );

    // The whole URN goes in one remove too.
    c.patch_ops(
        &format!("/Users/{id}"),
        json!([{"op": "Add", "path": path, "value": "X3"}]),
    )
    .expect(200);
    c.patch_ops(&format!("/Users/{id}"), json!([{"op": "Remove", "path": ENTRA}]))
        .expect(200);
    assert!(get(&c, &id).get(ENTRA).is_none());
}

#[test]
fn extensions_over_max_extension_bytes_are_refused_and_never_stored() {
    let (d, _) = start("[limits]\nmax_extension_bytes = 200\n", &["acme"]);
    let c = d.client("acme");
    let mut big = okta_user("ann@acme.com");
    big[OKTA]["bio"] = json!("x".repeat(300));
    let r = c.post("/Users", &big);
    assert_error(&r, 400, Some("invalidValue"));
    assert!(
        r.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("max_extension_bytes")),
        "{:#}",
        r.body
    );
    assert_eq!(c.get("/Users").body["totalResults"], 0);

    let created = c.post("/Users", &okta_user("ann@acme.com"));
    created.expect(201);
    let id = created.body["id"].as_str().expect("id");
    let r = c.patch_ops(
        &format!("/Users/{id}"),
        json!([{"op": "add", "path": format!("{ENTRA}:bio"), "value": "y".repeat(300)}]),
    );
    assert_error(&r, 400, Some("invalidValue"));
    assert!(get(&c, id).get(ENTRA).is_none());
}
