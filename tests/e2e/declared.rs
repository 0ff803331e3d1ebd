//! Declared extensions (`[orgs.NAME.extensions."urn:..."]`) as Okta and Entra send them
//! (idp-wire): values type-checked on POST, PUT and every PATCH form, filtered and sorted by full
//! path, projected by `attributes=`, listed by `/Schemas` and `/ResourceTypes` per org. Reload
//! and the undeclared-URN log are in `declared_reload.rs`.

use serde_json::{json, Value};

use crate::harness::{assert_error, enc, filter_q, Client, Daemon, USER};

pub(crate) const OKTA: &str = "urn:okta:custom:user:1.0";
pub(crate) const ENTRA: &str =
    "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";
const TEAM: &str = "urn:acme:team:1.0";

/// The org's extension tables: Okta's and Entra's for users, one for groups.
pub(crate) fn declarations() -> String {
    format!(
        "[orgs.acme.extensions.\"{OKTA}\"]\nresource = \"User\"\n\
         attributes = {{ tshirtSize = \"string\", startDate = \"dateTime\", level = \"integer\", \
         teams = [\"string\"] }}\n\
         [orgs.acme.extensions.\"{ENTRA}\"]\nresource = \"User\"\n\
         attributes = {{ costCode = \"string\" }}\n\
         [orgs.acme.extensions.\"{TEAM}\"]\nresource = \"Group\"\n\
         attributes = {{ budget = \"decimal\" }}\n"
    )
}

fn start() -> Daemon {
    let tables = declarations();
    Daemon::start_with("", &[("acme", tables.as_str()), ("other", "")])
}

/// Okta's POST of a user with profile attributes mapped to its custom extension.
pub(crate) fn okta_user(user_name: &str, size: &str, level: Value) -> Value {
    json!({
        "schemas": [USER, OKTA],
        "userName": user_name,
        "active": true,
        OKTA: {"tshirtSize": size, "startDate": "2024-01-01", "level": level}
    })
}

fn get(c: &Client, id: &str) -> Value {
    let r = c.get(&format!("/Users/{id}"));
    r.expect(200);
    r.body.clone()
}

fn user_names(c: &Client, query: &str) -> Vec<String> {
    let r = c.get(&format!("/Users{query}"));
    r.expect(200);
    r.resources()
        .iter()
        .map(|u| u["userName"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[track_caller]
fn assert_invalid_value_naming(r: &crate::harness::Resp, attr: &str) {
    assert_error(r, 400, Some("invalidValue"));
    let detail = r.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(attr), "{attr}: {:#}", r.body);
}

#[test]
fn okta_declared_values_are_typed_filtered_and_sorted_by_full_path() {
    let d = start();
    let c = d.client("acme");
    let created = c.post("/Users", &okta_user("ann@acme.com", "M", json!("3")));
    created.expect(201);
    // Coerced like core attributes: Okta's date is a dateTime, Entra-style "3" an integer.
    assert_eq!(
        created.body[OKTA],
        json!({"tshirtSize": "M", "startDate": "2024-01-01T00:00:00Z", "level": 3})
    );
    assert!(created.body["schemas"]
        .as_array()
        .is_some_and(|s| s.contains(&json!(OKTA))));
    let ann = created.id();
    assert_eq!(get(&c, &ann)[OKTA], created.body[OKTA]);
    c.post("/Users", &okta_user("bob@acme.com", "L", json!(10)))
        .expect(201);
    c.post("/Users", &okta_user("cy@acme.com", "s", json!(7)))
        .expect(201);

    // A wrong type is refused naming the attribute, and nothing is stored.
    let r = c.post("/Users", &okta_user("dee@acme.com", "M", json!("senior")));
    assert_invalid_value_naming(&r, &format!("{OKTA}:level"));
    let mut bad = okta_user("dee@acme.com", "M", json!(1));
    bad[OKTA]["startDate"] = json!("next week");
    assert_invalid_value_naming(&c.post("/Users", &bad), &format!("{OKTA}:startDate"));
    assert_eq!(c.get("/Users").total(), 3);

    // Filters by full path: case-insensitive strings, typed numbers.
    let q = |f: &str| filter_q(f);
    assert_eq!(
        user_names(&c, &q(&format!("{OKTA}:tshirtSize eq \"m\""))),
        ["ann@acme.com"]
    );
    let mut over = user_names(&c, &q(&format!("{OKTA}:level gt 5")));
    over.sort();
    assert_eq!(over, ["bob@acme.com", "cy@acme.com"]);
    let f = format!("{OKTA}:level ge 3 and {OKTA}:TSHIRTSIZE ne \"l\"");
    assert_eq!(user_names(&c, &q(&f)).len(), 2);

    // Sorted numerically (3 < 7 < 10), not as text; descending too.
    let by = |order: &str| format!("?sortBy={}&sortOrder={order}", enc(&format!("{OKTA}:level")));
    assert_eq!(
        user_names(&c, &by("ascending")),
        ["ann@acme.com", "cy@acme.com", "bob@acme.com"]
    );
    assert_eq!(
        user_names(&c, &by("descending")),
        ["bob@acme.com", "cy@acme.com", "ann@acme.com"]
    );
    let sizes = format!("?sortBy={}", enc(&format!("{OKTA}:tshirtSize")));
    assert_eq!(
        user_names(&c, &sizes),
        ["bob@acme.com", "ann@acme.com", "cy@acme.com"],
        "L, M, s: case-insensitive"
    );
    let r = c.get(&format!("/Users?sortBy={}", enc(&format!("{OKTA}:nope"))));
    assert_error(&r, 400, Some("invalidPath"));

    // PUT replaces the extension and is checked like POST.
    let mut body = okta_user("ann@acme.com", "XL", json!(4));
    body[OKTA]["teams"] = json!("red");
    let r = c.put(&format!("/Users/{ann}"), &body);
    r.expect(200);
    assert_eq!(r.body[OKTA]["teams"], json!(["red"]), "{:#}", r.body);
    assert_eq!(r.body[OKTA]["level"], 4);
    body[OKTA]["level"] = json!(4.5);
    let r = c.put(&format!("/Users/{ann}"), &body);
    assert_invalid_value_naming(&r, &format!("{OKTA}:level"));
    assert_eq!(get(&c, &ann)[OKTA]["level"], 4);
}

#[test]
fn every_patch_form_okta_and_entra_send_is_typed() {
    let d = start();
    let c = d.client("acme");
    let id = c
        .post("/Users", &okta_user("ann@acme.com", "M", json!(1)))
        .id();
    let path = format!("/Users/{id}");
    let ext = |c: &Client| get(c, &id)[OKTA].clone();

    // Okta: a path-less replace keyed by `URN:attr`, then by the URN.
    c.patch_ops(
        &path,
        json!([{"op": "replace", "value": {format!("{OKTA}:tshirtSize"): "L"}}]),
    )
    .expect(200);
    assert_eq!(ext(&c)["tshirtSize"], "L");
    c.patch_ops(
        &path,
        json!([{"op": "replace", "value": {OKTA: {"LEVEL": "2", "startDate": "2024-02-01T08:00:00"}}}]),
    )
    .expect(200);
    assert_eq!(ext(&c)["level"], 2, "stored under the declared spelling, coerced");
    assert_eq!(ext(&c)["startDate"], "2024-02-01T08:00:00Z");
    // An add to a multi-valued attribute appends.
    c.patch_ops(
        &path,
        json!([{"op": "add", "path": format!("{OKTA}:teams"), "value": ["red"]}]),
    )
    .expect(200);
    c.patch_ops(
        &path,
        json!([{"op": "Add", "path": format!("{OKTA}:teams"), "value": "blue"}]),
    )
    .expect(200);
    assert_eq!(ext(&c)["teams"], json!(["red", "blue"]));

    // Entra: `Add`, `Replace`, `Remove` with a URN-qualified path.
    let cost = format!("{ENTRA}:costCode");
    c.patch_ops(&path, json!([{"op": "Add", "path": cost, "value": "X1"}]))
        .expect(200);
    c.patch_ops(&path, json!([{"op": "Replace", "path": cost, "value": "X2"}]))
        .expect(200);
    assert_eq!(get(&c, &id)[ENTRA], json!({"costCode": "X2"}));
    let by_cost = filter_q(&format!("{cost} eq \"x2\""));
    assert_eq!(user_names(&c, &by_cost), ["ann@acme.com"]);
    c.patch_ops(&path, json!([{"op": "Remove", "path": cost}]))
        .expect(200);
    assert!(get(&c, &id).get(ENTRA).is_none());

    // A wrong type through any form is refused, naming the attribute, and changes nothing.
    let before = ext(&c);
    for ops in [
        json!([{"op": "replace", "value": {format!("{OKTA}:level"): "high"}}]),
        json!([{"op": "Replace", "path": format!("{OKTA}:level"), "value": true}]),
        json!([{"op": "add", "value": {OKTA: {"startDate": "soon"}}}]),
        json!([{"op": "add", "path": format!("{OKTA}:tshirtSize"), "value": {"a": 1}}]),
    ] {
        let r = c.patch_ops(&path, ops.clone());
        assert_error(&r, 400, Some("invalidValue"));
        assert!(
            r.body["detail"].as_str().is_some_and(|s| s.contains(OKTA)),
            "{ops}: {:#}",
            r.body
        );
    }
    assert_eq!(ext(&c), before);

    // Remove one attribute, then the whole extension.
    c.patch_ops(&path, json!([{"op": "remove", "path": format!("{OKTA}:teams")}]))
        .expect(200);
    assert!(ext(&c).get("teams").is_none());
    c.patch_ops(&path, json!([{"op": "remove", "path": OKTA}]))
        .expect(200);
    assert!(get(&c, &id).get(OKTA).is_none());
}

#[test]
fn schemas_and_resource_types_list_an_orgs_declarations() {
    let d = start();
    let c = d.client("acme");
    let r = c.get("/Schemas");
    r.expect(200);
    let ids: Vec<String> = r
        .resources()
        .iter()
        .map(|s| s["id"].as_str().unwrap_or_default().to_string())
        .collect();
    for urn in [OKTA, ENTRA, TEAM] {
        assert!(ids.iter().any(|id| id == urn), "{urn} in {ids:?}");
    }
    let r = c.get(&format!("/Schemas/{OKTA}"));
    r.expect(200);
    let attrs = r.body["attributes"].as_array().expect("attributes").clone();
    let level = attrs
        .iter()
        .find(|a| a["name"] == "level")
        .expect("level");
    assert_eq!(level["type"], "integer");
    assert_eq!(level["multiValued"], false);
    let teams = attrs.iter().find(|a| a["name"] == "teams").expect("teams");
    assert_eq!((&teams["type"], &teams["multiValued"]), (&json!("string"), &json!(true)));
    assert_eq!(teams["caseExact"], false);

    let r = c.get("/ResourceTypes/User");
    r.expect(200);
    let exts = r.body["schemaExtensions"].as_array().expect("extensions").clone();
    for urn in [
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        OKTA,
        ENTRA,
    ] {
        assert!(
            exts.contains(&json!({"schema": urn, "required": false})),
            "{urn}: {exts:?}"
        );
    }
    let r = c.get("/ResourceTypes");
    let group = r
        .resources()
        .into_iter()
        .find(|t| t["id"] == "Group")
        .expect("Group");
    assert_eq!(
        group["schemaExtensions"],
        json!([{"schema": TEAM, "required": false}])
    );

    // Discovery is per org: another org declares nothing.
    let other = d.client("other");
    let r = other.get(&format!("/Schemas/{OKTA}"));
    assert_error(&r, 404, None);
    let r = other.get("/ResourceTypes/User");
    assert_eq!(r.body["schemaExtensions"].as_array().map(Vec::len), Some(1));
}

#[test]
fn attributes_name_declared_and_undeclared_extensions() {
    let d = start();
    let c = d.client("acme");
    let mut body = okta_user("ann@acme.com", "M", json!(2));
    body["urn:example:extra:1.0"] = json!({"note": "kept", "other": 1});
    let id = c.post("/Users", &body).id();
    let read = |query: &str| {
        let r = c.get(&format!("/Users/{id}?{query}"));
        r.expect(200);
        r.body.clone()
    };
    let v = read("attributes=userName");
    assert!(v.get(OKTA).is_none() && v.get("urn:example:extra:1.0").is_none(), "{v:#}");
    let v = read(&format!("attributes={}", enc(&format!("{OKTA},urn:example:extra:1.0:note"))));
    assert_eq!(v[OKTA]["level"], 2);
    assert_eq!(v["urn:example:extra:1.0"], json!({"note": "kept"}));
    assert!(v.get("userName").is_none(), "{v:#}");
    let v = read(&format!(
        "excludedAttributes={}",
        enc(&format!("{OKTA}:level,urn:example:extra:1.0"))
    ));
    assert!(v[OKTA].get("level").is_none() && v[OKTA]["tshirtSize"] == "M", "{v:#}");
    assert!(v.get("urn:example:extra:1.0").is_none(), "{v:#}");
    // The same on a list.
    let r = c.get(&format!("/Users?attributes={}", enc(&format!("{OKTA}:tshirtSize"))));
    assert_eq!(r.resources()[0][OKTA], json!({"tshirtSize": "M"}));
}

#[test]
fn a_group_extension_is_typed_and_filterable() {
    let d = start();
    let c = d.client("acme");
    let r = c.post(
        "/Groups",
        &json!({"displayName": "Core", TEAM: {"budget": "1200.50"}}),
    );
    r.expect(201);
    assert_eq!(r.body[TEAM]["budget"], 1200.5);
    let r = c.post("/Groups", &json!({"displayName": "Ops", TEAM: {"budget": "lots"}}));
    assert_invalid_value_naming(&r, &format!("{TEAM}:budget"));
    let r = c.get(&format!(
        "/Groups{}",
        filter_q(&format!("{TEAM}:budget gt 1000"))
    ));
    assert_eq!(r.total(), 1, "{:#}", r.body);
}
