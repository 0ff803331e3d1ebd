//! Undeclared extensions in bodies: kept as sent, merged case-insensitively, rendered with
//! their URN in `schemas`, and bounded (depth, size, strings).

use super::*;

const OKTA: &str = "urn:okta:custom:user:1.0";
const ENTRA: &str = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";

fn okta_user() -> Value {
    json!({"schemas": [USER_SCHEMA, OKTA], "userName": "ann",
        OKTA: {"tshirtSize": "M", "startDate": "2024-01-01", "teams": ["a", "b"],
            "score": 3, "vip": false, "note": null}})
}

#[test]
fn okta_extension_is_kept_exactly_as_sent() {
    let n = normalize(ResourceType::User, &okta_user(), &limits()).expect("normalized");
    assert_eq!(
        n.attrs[OKTA],
        json!({"tshirtSize": "M", "startDate": "2024-01-01", "teams": ["a", "b"],
            "score": 3, "vip": false, "note": null})
    );
}

#[test]
fn urn_attr_keys_merge_into_one_extension_case_insensitively() {
    let body = json!({"userName": "ann",
        "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:costCode": "X1",
        "URN:ietf:params:scim:schemas:extension:customextensionname:2.0:user": {"CostCode": "X2",
            "site": "B"}});
    let n = normalize(ResourceType::User, &body, &limits()).expect("normalized");
    assert_eq!(n.attrs[ENTRA], json!({"costCode": "X2", "site": "B"}));
    assert_eq!(n.attrs.len(), 2, "{:?}", n.attrs);
}

#[test]
fn groups_keep_them_too_and_core_urns_are_not_extensions() {
    let body = json!({"displayName": "T", "urn:acme:group:1.0": {"cost": "9"},
        "urn:ietf:params:scim:schemas:core:2.0:Group": {"displayName": "other"},
        "urn:scim:schemas:core:1.0": {"displayName": "x"}});
    let n = normalize(ResourceType::Group, &body, &limits()).expect("normalized");
    assert_eq!(
        Value::Object(n.attrs),
        json!({"displayName": "T", "urn:acme:group:1.0": {"cost": "9"}})
    );
}

#[test]
fn null_unassigns_and_empty_objects_are_dropped() {
    let body = json!({"userName": "ann", OKTA: null, "urn:acme:empty:1.0": {}});
    let n = normalize(ResourceType::User, &body, &limits()).expect("normalized");
    assert_eq!(Value::Object(n.attrs), json!({"userName": "ann"}));
}

#[test]
fn rendered_with_the_urn_in_schemas_and_echo_is_a_fixed_point() {
    let n = normalize(ResourceType::User, &okta_user(), &limits()).expect("normalized");
    let meta = Meta {
        created: "2024-05-01T10:00:00Z".into(),
        last_modified: "2024-05-01T10:00:00Z".into(),
        version: 1,
    };
    let doc = render(
        ResourceType::User,
        "u1",
        &n.attrs,
        &meta,
        "https://h/o",
        None,
    );
    assert_eq!(doc["schemas"], json!([USER_SCHEMA, OKTA]));
    assert_eq!(doc[OKTA], n.attrs[OKTA]);
    let again = normalize(ResourceType::User, &doc, &limits()).expect("echo");
    assert_eq!(again.attrs, n.attrs);
}

#[test]
fn a_non_object_for_a_whole_urn_is_invalid() {
    let body = json!({"userName": "ann", OKTA: "M"});
    let err = normalize(ResourceType::User, &body, &limits()).expect_err("not an object");
    assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
}

#[test]
fn depth_is_bounded() {
    let ok = json!({"userName": "ann", OKTA: {"a": [[[["four"]]]]}});
    normalize(ResourceType::User, &ok, &limits()).expect("four levels");
    let deep = json!({"userName": "ann", OKTA: {"a": [[[[["five"]]]]]}});
    let err = normalize(ResourceType::User, &deep, &limits()).expect_err("five levels");
    assert!(err.to_string().contains("deeper"), "{err}");
    let junk = json!({"userName": "ann", OKTA: {"a": nested_junk(100)}});
    normalize(ResourceType::User, &junk, &limits()).expect_err("junk");
}

#[test]
fn total_size_is_bounded_by_max_extension_bytes() {
    let small = Limits {
        max_extension_bytes: 64,
        ..Limits::default()
    };
    let fits = json!({"userName": "ann", OKTA: {"a": "x"}});
    normalize(ResourceType::User, &fits, &small).expect("fits");
    let over = json!({"userName": "ann", OKTA: {"a": "x".repeat(40)},
        "urn:acme:b:1.0": {"b": "y".repeat(10)}});
    let err = normalize(ResourceType::User, &over, &small).expect_err("over");
    assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
    assert!(err.to_string().contains("max_extension_bytes"), "{err}");
}

#[test]
fn string_rules_apply_inside_at_any_depth() {
    let nul = json!({"userName": "ann", OKTA: {"a": ["ok", {"b": "x\u{0}y"}]}});
    let err = normalize(ResourceType::User, &nul, &limits()).expect_err("nul");
    assert!(err.to_string().contains("U+0000"), "{err}");
    let short = Limits {
        max_string_length: 8,
        ..Limits::default()
    };
    let long = json!({"userName": "ann", OKTA: {"a": [["0123456789"]]}});
    let err = normalize(ResourceType::User, &long, &short).expect_err("long");
    assert!(err.to_string().contains("max_string_length"), "{err}");
}

#[test]
fn check_size_passes_an_unchanged_resource_over_a_lowered_limit() {
    let n = normalize(ResourceType::User, &okta_user(), &limits()).expect("normalized");
    let tiny = Limits {
        max_extension_bytes: 1,
        ..Limits::default()
    };
    crate::resource::undeclared::check_size(&n.attrs, &tiny, Some(&n.attrs)).expect("unchanged");
    crate::resource::undeclared::check_size(&n.attrs, &tiny, None).expect_err("checked");
}
