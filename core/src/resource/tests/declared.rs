//! Declared extensions in bodies: values type-checked and coerced, stored under the declared
//! spelling, checked only where a write changes them.

use super::*;
use crate::schema::DeclaredExtension;

const OKTA: &str = "urn:okta:custom:user:1.0";
const ENTRA: &str = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";

/// Okta's extension with one attribute of each type, and Entra's with a cost code.
fn declared() -> Declared {
    let okta = [
        ("tshirtSize", "string", false),
        ("startDate", "dateTime", false),
        ("level", "integer", false),
        ("score", "decimal", false),
        ("vip", "boolean", false),
        ("homepage", "reference", false),
        ("teams", "string", true),
    ];
    let entra = [("costCode", "string", false)];
    Declared::new(vec![
        DeclaredExtension::of(OKTA, ResourceType::User, &okta).expect("types"),
        DeclaredExtension::of(ENTRA, ResourceType::User, &entra).expect("types"),
    ])
}

fn norm(body: Value) -> Result<Map<String, Value>, ScimError> {
    normalize_with(ResourceType::User, &body, &limits(), &declared(), None).map(|n| n.attrs)
}

#[test]
fn values_are_coerced_to_their_declared_types() {
    let attrs = norm(json!({"userName": "ann", OKTA: {
        "tshirtSize": 42, "startDate": "2024-01-01", "level": "3", "score": "2.5",
        "vip": "True", "homepage": "https://x.example/ann", "teams": "a"}}))
    .expect("normalized");
    assert_eq!(
        attrs[OKTA],
        json!({"tshirtSize": "42", "startDate": "2024-01-01T00:00:00Z", "level": 3,
            "score": 2.5, "vip": true, "homepage": "https://x.example/ann", "teams": ["a"]})
    );
    for (sent, stored) in [
        ("2024-01-31T09:00:00Z", "2024-01-31T09:00:00Z"),
        ("2024-01-31T09:00:00.5+02:00", "2024-01-31T09:00:00.5+02:00"),
        ("2024-01-31T09:00:00", "2024-01-31T09:00:00Z"),
    ] {
        let attrs = norm(json!({"userName": "ann", OKTA: {"startDate": sent}})).expect(sent);
        assert_eq!(attrs[OKTA]["startDate"], stored, "{sent}");
    }
    let attrs = norm(json!({"userName": "ann", OKTA: {"level": 7.0, "teams": ["a", "a", null]}}))
        .expect("normalized");
    assert_eq!(attrs[OKTA], json!({"level": 7, "teams": ["a"]}));
}

#[test]
fn a_value_of_the_wrong_type_is_invalid_value_naming_the_attribute() {
    let rows = [
        json!({"level": "three"}),
        json!({"level": 3.5}),
        json!({"vip": "yes"}),
        json!({"score": "x"}),
        json!({"startDate": "last tuesday"}),
        json!({"startDate": 20240101}),
        json!({"tshirtSize": ["M"]}),
        json!({"tshirtSize": {"size": "M"}}),
        json!({"homepage": 3}),
        json!({"teams": [["a"]]}),
        json!({"teams": [1, {"x": 1}]}),
    ];
    for ext in rows {
        let name = ext.as_object().and_then(|m| m.keys().next().cloned());
        let name = name.unwrap_or_default();
        let err = norm(json!({"userName": "ann", OKTA: ext.clone()})).expect_err("refused");
        assert_eq!(err.status(), 400, "{ext}");
        assert_eq!(err.scim_type(), Some(ScimType::InvalidValue), "{ext}");
        let want = format!("{OKTA}:{name}");
        assert!(err.to_string().contains(&want), "{ext}: {err}");
    }
}

#[test]
fn names_take_the_declared_spelling_and_undeclared_attributes_stay() {
    let attrs = norm(json!({"userName": "ann",
        "URN:OKTA:custom:user:1.0": {"TSHIRTSIZE": "M", "hobby": ["x", {"y": 1}]},
        "urn:ietf:params:scim:schemas:extension:customextensionname:2.0:user:COSTCODE": "X1"}))
    .expect("normalized");
    assert_eq!(
        attrs[OKTA],
        json!({"tshirtSize": "M", "hobby": ["x", {"y": 1}]})
    );
    assert_eq!(attrs[ENTRA], json!({"costCode": "X1"}));
    assert_eq!(attrs.len(), 3, "{attrs:?}");
}

#[test]
fn only_what_a_write_changes_is_checked() {
    // Stored before the declaration: a level that is not an integer.
    let stored = json!({"userName": "ann", OKTA: {"level": "senior", "tshirtSize": "M"}});
    let stored = stored.as_object().cloned().expect("object");
    let d = declared();
    let write = |body: Value| {
        normalize_with(ResourceType::User, &body, &limits(), &d, Some(&stored)).map(|n| n.attrs)
    };
    let kept = write(json!({"userName": "ann", OKTA: {"level": "senior", "tshirtSize": "L"}}))
        .expect("an unchanged value is not checked");
    assert_eq!(kept[OKTA], json!({"level": "senior", "tshirtSize": "L"}));
    let err = write(json!({"userName": "ann", OKTA: {"level": "junior"}})).expect_err("changed");
    assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
    // Without a declaration the same values are kept as sent.
    let n = normalize(
        ResourceType::User,
        &Value::Object(stored.clone()),
        &limits(),
    )
    .expect("ok");
    assert_eq!(n.attrs, stored);
}

#[test]
fn a_user_extension_is_undeclared_on_groups_and_lists_are_bounded() {
    let n = normalize_with(
        ResourceType::Group,
        &json!({"displayName": "T", OKTA: {"level": "x"}}),
        &limits(),
        &declared(),
        None,
    )
    .expect("undeclared for groups");
    assert_eq!(n.attrs[OKTA], json!({"level": "x"}));
    let many: Vec<String> = (0..=limits().max_values).map(|i| format!("t{i}")).collect();
    let err = norm(json!({"userName": "ann", OKTA: {"teams": many}})).expect_err("too many");
    assert!(
        err.to_string().contains("max_values_per_attribute"),
        "{err}"
    );
}
