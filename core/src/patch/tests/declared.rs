//! PATCH of declared extensions in every form Okta and Entra send: a URN-qualified path, a
//! path-less value keyed by `URN:attr` or by the URN, `Add`/`Replace`/`Remove` in any case,
//! then type-checked by the normalizer as the daemon runs it.

use super::*;
use crate::resource::{normalize_with, Limits};
use crate::schema::{Declared, DeclaredExtension};

const OKTA: &str = "urn:okta:custom:user:1.0";
const ENTRA: &str = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";
/// A URN whose last segment reads like an attribute name: only the declaration tells.
const ACME: &str = "urn:acme:ext";

fn declared() -> Declared {
    let ext = |urn: &str, attrs: &[(&str, &str, bool)]| {
        DeclaredExtension::of(urn, ResourceType::User, attrs).expect("types")
    };
    Declared::new(vec![
        ext(
            OKTA,
            &[("tshirtSize", "string", false), ("level", "integer", false)],
        ),
        ext(ENTRA, &[("costCode", "string", false)]),
        ext(
            ACME,
            &[("tags", "string", true), ("level", "integer", false)],
        ),
    ])
}

fn user() -> Map<String, Value> {
    let mut m = base(ResourceType::User);
    m.insert(OKTA.into(), json!({"tshirtSize": "M", "level": 1}));
    m
}

/// Applies `operations` to `res` and normalizes as the daemon does.
fn patched(mut res: Map<String, Value>, operations: Value) -> Result<Value, ScimError> {
    let d = declared();
    let stored = res.clone();
    let parsed = parse_patch(&ops(operations))?;
    super::super::apply_patch_with(&mut res, ResourceType::User, USER_ID, &parsed, &d)?;
    let n = normalize_with(
        ResourceType::User,
        &Value::Object(res),
        &Limits::default(),
        &d,
        Some(&stored),
    )?;
    Ok(Value::Object(n.attrs))
}

#[test]
fn every_okta_and_entra_form_sets_the_attribute() {
    let forms = [
        json!([{"op": "replace", "value": {"urn:okta:custom:user:1.0:tshirtSize": "L"}}]),
        json!([{"op": "Replace", "value": {OKTA: {"TSHIRTSIZE": "L"}}}]),
        json!([{"op": "Add", "path": "urn:okta:custom:user:1.0:tshirtSize", "value": "L"}]),
        json!([{"op": "REPLACE", "path": "URN:OKTA:CUSTOM:USER:1.0:tshirtsize", "value": "L"}]),
        json!([{"op": "add", "path": OKTA, "value": {"tshirtSize": "L"}}]),
    ];
    for form in forms {
        let out = patched(user(), form.clone()).expect("patched");
        assert_eq!(out[OKTA], json!({"tshirtSize": "L", "level": 1}), "{form}");
    }
    let out = patched(
        base(ResourceType::User),
        json!([{"op": "Add", "path": format!("{ENTRA}:costCode"), "value": "X1"}]),
    )
    .expect("patched");
    assert_eq!(out[ENTRA], json!({"costCode": "X1"}));
}

#[test]
fn values_are_coerced_and_a_wrong_type_is_refused() {
    let out = patched(
        user(),
        json!([{"op": "replace", "value": {"urn:okta:custom:user:1.0:level": "4"}}]),
    )
    .expect("patched");
    assert_eq!(out[OKTA]["level"], 4);
    for form in [
        json!([{"op": "replace", "value": {"urn:okta:custom:user:1.0:level": "four"}}]),
        json!([{"op": "Add", "path": "urn:okta:custom:user:1.0:level", "value": true}]),
        json!([{"op": "replace", "value": {OKTA: {"level": [1]}}}]),
    ] {
        let e = patched(user(), form.clone()).expect_err("refused");
        assert_eq!(e.status(), 400, "{form}");
        assert!(
            e.to_string().contains("urn:okta:custom:user:1.0:level"),
            "{e}"
        );
    }
}

#[test]
fn remove_takes_one_attribute_or_the_whole_extension() {
    let out = patched(
        user(),
        json!([{"op": "Remove", "path": "urn:okta:custom:user:1.0:TshirtSize"}]),
    )
    .expect("patched");
    assert_eq!(out[OKTA], json!({"level": 1}));
    let out = patched(user(), json!([{"op": "remove", "path": OKTA}])).expect("patched");
    assert!(out.get(OKTA).is_none(), "{out}");
    let out = patched(
        user(),
        json!([{"op": "replace", "value": {"urn:okta:custom:user:1.0:level": null}}]),
    )
    .expect("patched");
    assert_eq!(out[OKTA], json!({"tshirtSize": "M"}));
}

#[test]
fn a_declared_urn_ending_in_a_name_is_whole_and_add_appends_to_a_list() {
    let mut res = base(ResourceType::User);
    res.insert(ACME.into(), json!({"tags": ["a"], "level": 2}));
    let out = patched(
        res.clone(),
        json!([{"op": "add", "path": "urn:acme:ext:tags", "value": ["b", "a"]}]),
    )
    .expect("patched");
    assert_eq!(out[ACME], json!({"tags": ["a", "b"], "level": 2}));
    let out = patched(
        res.clone(),
        json!([{"op": "replace", "path": "urn:acme:ext:tags", "value": "c"}]),
    )
    .expect("patched");
    assert_eq!(out[ACME], json!({"tags": ["c"], "level": 2}));
    // Without the declaration `urn:acme:ext` would read as attribute `ext` of `urn:acme`.
    let out = patched(
        res.clone(),
        json!([{"op": "remove", "path": "urn:acme:ext"}]),
    )
    .expect("patched");
    assert!(
        out.get(ACME).is_none() && out.get("urn:acme").is_none(),
        "{out}"
    );
    let out = patched(
        base(ResourceType::User),
        json!([{"op": "add", "value": {"urn:acme:ext": {"level": "5"}}}]),
    )
    .expect("patched");
    assert_eq!(out[ACME], json!({"level": 5}));
}
