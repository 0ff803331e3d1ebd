//! PATCH of undeclared extensions in the forms Okta and Entra send (shared/reference/idp-wire.md):
//! path-less `URN:attr` keys, a value keyed by the URN, URN-qualified paths with `Add`,
//! `Replace` and `Remove`, and a remove of the whole URN.

use super::*;
use crate::resource::{normalize, Limits};

const OKTA: &str = "urn:okta:custom:user:1.0";
const ENTRA: &str = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";

/// A user holding Okta's custom extension, in stored form.
fn user() -> Map<String, Value> {
    let mut m = base(ResourceType::User);
    m.insert(
        OKTA.into(),
        json!({"tshirtSize": "M", "startDate": "2024-01-01"}),
    );
    m
}

/// Applies `operations` to `res`, then normalizes as the daemon does, and returns the stored
/// form.
fn patched(mut res: Map<String, Value>, operations: Value) -> Result<Value, ScimError> {
    let parsed = parse_patch(&ops(operations))?;
    apply_patch(&mut res, ResourceType::User, USER_ID, &parsed)?;
    let n = normalize(ResourceType::User, &Value::Object(res), &Limits::default())?;
    Ok(Value::Object(n.attrs))
}

#[test]
fn okta_path_less_urn_attr_key_replaces_the_attribute() {
    let out = patched(
        user(),
        json!([{"op": "replace", "value": {"urn:okta:custom:user:1.0:tshirtSize": "L"}}]),
    )
    .expect("patched");
    assert_eq!(
        out[OKTA],
        json!({"tshirtSize": "L", "startDate": "2024-01-01"})
    );
}

#[test]
fn okta_path_less_urn_attr_key_creates_the_extension() {
    let out = patched(
        base(ResourceType::User),
        json!([{"op": "replace", "value": {"urn:okta:custom:user:1.0:tshirtSize": "L"}}]),
    )
    .expect("patched");
    assert_eq!(out[OKTA], json!({"tshirtSize": "L"}));
}

#[test]
fn value_keyed_by_the_urn_merges_for_add_and_replace() {
    for op in ["add", "replace", "Replace"] {
        let out = patched(
            user(),
            json!([{"op": op, "value": {"URN:okta:custom:user:1.0": {"tshirtSize": "L",
                "teams": ["a", "b"]}}}]),
        )
        .expect(op);
        assert_eq!(
            out[OKTA],
            json!({"tshirtSize": "L", "startDate": "2024-01-01", "teams": ["a", "b"]}),
            "{op}"
        );
    }
}

#[test]
fn entra_urn_prefixed_path_add_replace_remove() {
    let path = format!("{ENTRA}:costCode");
    let out = patched(
        base(ResourceType::User),
        json!([{"op": "Add", "path": path, "value": "X1"}]),
    )
    .expect("add");
    assert_eq!(out[ENTRA], json!({"costCode": "X1"}));

    let Value::Object(stored) = out else {
        panic!("an object")
    };
    let out = patched(
        stored,
        json!([{"op": "Replace", "path": path.to_lowercase(), "value": "X2"}]),
    )
    .expect("replace");
    assert_eq!(out[ENTRA], json!({"costCode": "X2"}), "matched in any case");

    let Value::Object(stored) = out else {
        panic!("an object")
    };
    let out = patched(stored, json!([{"op": "Remove", "path": path}])).expect("remove");
    assert!(
        out.get(ENTRA).is_none(),
        "emptied extension is dropped: {out}"
    );
}

#[test]
fn remove_of_one_attribute_and_of_the_whole_urn() {
    let out = patched(
        user(),
        json!([{"op": "remove", "path": "urn:okta:custom:user:1.0:tshirtSize"}]),
    )
    .expect("remove attr");
    assert_eq!(out[OKTA], json!({"startDate": "2024-01-01"}));

    let out = patched(user(), json!([{"op": "remove", "path": OKTA}])).expect("remove urn");
    assert!(out.get(OKTA).is_none(), "{out}");

    let mut entra = base(ResourceType::User);
    entra.insert(ENTRA.into(), json!({"costCode": "X1"}));
    let out = patched(entra, json!([{"op": "Remove", "path": ENTRA}])).expect("remove entra");
    assert!(out.get(ENTRA).is_none(), "{out}");
}

#[test]
fn replace_with_null_unassigns() {
    let out = patched(
        user(),
        json!([{"op": "replace", "value": {"urn:okta:custom:user:1.0:tshirtSize": null}}]),
    )
    .expect("patched");
    assert_eq!(out[OKTA], json!({"startDate": "2024-01-01"}));
    let out = patched(user(), json!([{"op": "replace", "value": {OKTA: null}}])).expect("whole");
    assert!(out.get(OKTA).is_none(), "{out}");
}

#[test]
fn filters_and_sub_attributes_into_undeclared_extensions_are_invalid_paths() {
    for path in [
        "urn:okta:custom:user:1.0:teams[value eq \"a\"]",
        "urn:okta:custom:user:1.0:address.city",
    ] {
        let err = patched(
            user(),
            json!([{"op": "replace", "path": path, "value": "x"}]),
        )
        .expect_err(path);
        assert_eq!(
            err.scim_type(),
            Some(crate::ScimType::InvalidPath),
            "{path}"
        );
    }
}

#[test]
fn declared_paths_still_fail_as_before() {
    let err = patched(
        user(),
        json!([{"op": "add", "path": format!("{ENT}:nope"), "value": "x"}]),
    )
    .expect_err("unknown enterprise attribute");
    assert_eq!(err.scim_type(), Some(crate::ScimType::InvalidPath));
}

#[test]
fn too_deep_a_value_is_refused() {
    let err = patched(
        user(),
        json!([{"op": "add", "path": "urn:okta:custom:user:1.0:deep",
            "value": [[[[["too deep"]]]]]}]),
    )
    .expect_err("depth");
    assert_eq!(err.scim_type(), Some(crate::ScimType::InvalidValue));
}
