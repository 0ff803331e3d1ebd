//! Declared extensions across a live reload: adding a declaration over values stored
//! undeclared keeps them readable (only writes are checked) and makes them filterable;
//! removing it keeps the values, undeclared again. And the once-per-(org, URN) log line that
//! tells an operator how to declare a URN stored undeclared.

use serde_json::json;

use crate::declared::{declarations, okta_user, OKTA};
use crate::harness::{assert_error, eventually, filter_q, store_table, Client, Daemon};
use crate::reload::{self, save_by_rename, RELOAD};

/// Polls until `/Schemas/{OKTA}` answers `want`: the reloaded file is then in force.
fn until_schema(c: &Client, want: u16, what: &str) {
    eventually(what, RELOAD, || {
        (c.get(&format!("/Schemas/{OKTA}")).status == want).then_some(())
    });
}

fn matches(c: &Client, filter: &str) -> u64 {
    let r = c.get(&format!("/Users{}", filter_q(filter)));
    r.expect(200);
    r.total()
}

#[test]
fn a_declaration_added_and_removed_by_reload_keeps_the_stored_values() {
    let d = Daemon::start_with("", &[("acme", "")]);
    let plain = std::fs::read_to_string(&d.config).expect("read config");
    let c = d.client("acme");
    // Stored undeclared: a level that the declaration will call an integer.
    let id = c
        .post("/Users", &okta_user("ann@acme.com", "M", json!("senior")))
        .id();
    let path = format!("/Users/{id}");
    let size_is_m = format!("{OKTA}:tshirtSize eq \"m\"");
    assert_eq!(matches(&c, &size_is_m), 0, "undeclared: not filterable");

    save_by_rename(&d.config, &format!("{plain}\n{}", declarations()));
    until_schema(&c, 200, "the declaration to apply");
    // Read as stored, though `level` does not fit the declaration.
    let got = c.get(&path);
    got.expect(200);
    assert_eq!(
        got.body[OKTA],
        json!({"tshirtSize": "M", "startDate": "2024-01-01", "level": "senior"})
    );
    assert_eq!(matches(&c, &size_is_m), 1, "declared: filterable");
    // A write that leaves `level` alone passes; one that changes it is checked.
    let r = c.patch_ops(
        &path,
        json!([{"op": "replace", "value": {format!("{OKTA}:tshirtSize"): "L"}}]),
    );
    r.expect(200);
    assert_eq!(r.body[OKTA]["level"], "senior");
    assert_eq!(r.body[OKTA]["startDate"], "2024-01-01T00:00:00Z", "checked once written");
    let r = c.patch_ops(
        &path,
        json!([{"op": "replace", "path": format!("{OKTA}:level"), "value": "junior"}]),
    );
    assert_error(&r, 400, Some("invalidValue"));
    c.patch_ops(
        &path,
        json!([{"op": "replace", "path": format!("{OKTA}:level"), "value": 5}]),
    )
    .expect(200);

    save_by_rename(&d.config, &plain);
    until_schema(&c, 404, "the declaration to go");
    let got = c.get(&path);
    got.expect(200);
    assert_eq!(
        got.body[OKTA],
        json!({"tshirtSize": "L", "startDate": "2024-01-01T00:00:00Z", "level": 5}),
        "the values stay, undeclared again"
    );
    assert_eq!(matches(&c, &format!("{OKTA}:level eq 5")), 0);
    // And take any value again.
    c.patch_ops(
        &path,
        json!([{"op": "replace", "path": format!("{OKTA}:level"), "value": "top"}]),
    )
    .expect(200);
}

#[test]
fn an_undeclared_urn_is_logged_once_per_org_with_how_to_declare_it() {
    let (token, hash) = reload::new_token();
    let (beta_token, beta_hash) = reload::new_token();
    let beta_tables = declarations().replace("orgs.acme", "orgs.beta");
    let text = reload::config(
        &format!("{}\n", store_table()),
        &[
            reload::org("acme", &[&hash], ""),
            reload::org("beta", &[&beta_hash], &beta_tables),
        ],
    );
    let (d, mut logs) = reload::start(&text, &[("acme", &token), ("beta", &beta_token)]);
    let acme = reload::client(&d, "acme", &token);
    let beta = reload::client(&d, "beta", &beta_token);
    acme.post("/Users", &okta_user("ann@acme.com", "M", json!(1)))
        .expect(201);
    let line = logs.wait_for("stored undeclared");
    assert!(line.contains(OKTA) && line.contains("acme"), "{line}");
    assert!(line.contains("[orgs.acme.extensions."), "{line}");
    // The same URN again, in other case: no second line. A new URN is logged.
    acme.post("/Users", &okta_user("bob@acme.com", "M", json!(1)))
        .expect(201);
    let mut other = okta_user("cy@acme.com", "M", json!(1));
    other["URN:OKTA:CUSTOM:USER:1.0"] = other[OKTA].clone();
    other.as_object_mut().map(|o| o.remove(OKTA));
    acme.post("/Users", &other).expect(201);
    acme.post(
        "/Users",
        &json!({"userName": "dee@acme.com", "urn:example:second:1.0": {"x": "y"}}),
    )
    .expect(201);
    logs.wait_for("urn:example:second:1.0");
    // Where it is declared, it is not logged.
    beta.post("/Users", &okta_user("ann@beta.com", "M", json!(1)))
        .expect(201);
    beta.post(
            "/Users",
            &json!({"userName": "eve@beta.com", "urn:example:third:1.0": {"x": "y"}}),
        )
        .expect(201);
    logs.wait_for("urn:example:third:1.0");
    let about_okta = logs
        .all()
        .iter()
        .filter(|l| l.contains("stored undeclared") && l.to_lowercase().contains(OKTA))
        .count();
    assert_eq!(about_okta, 1, "{:#?}", logs.all());
}
