//! Configured limits on names, caps on multi-valued attributes, and the immutable userName.

use super::*;

#[test]
fn team_name_limit_is_configurable() {
    let short = Limits {
        team_name_max: 40,
        ..Limits::default()
    };
    let body = json!({"displayName":"x".repeat(41)});
    let err = normalize(ResourceType::Group, &body, &short)
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("Display name is too long. It must be 40 characters or less")
    );
}

#[test]
fn multi_valued_attributes_are_capped() {
    let detail = |r: Result<Normalized, ScimError>| match r {
        Err(ScimError::BadRequest {
            scim_type: ScimType::InvalidValue,
            detail,
        }) => Some(detail),
        _ => None,
    };
    let u = ResourceType::User;
    let at_limit = normalize(u, &emails(100), &limits());
    assert_eq!(
        at_limit.map(|n| n.attrs["emails"].as_array().map(Vec::len)),
        Ok(Some(100))
    );
    assert_eq!(
        detail(normalize(u, &emails(101), &limits())).as_deref(),
        Some("emails has 101 values; at most 100 are allowed")
    );
    // Counted as sent: duplicates and nulls that normalisation would drop count too.
    let mut body = emails(100);
    if let Some(a) = body["emails"].as_array_mut() {
        a.push(Value::Null);
    }
    assert!(detail(normalize(u, &body, &limits())).is_some());
    let roles: Vec<Value> = (0..3).map(|i| json!({"value": format!("r{i}")})).collect();
    let small = Limits {
        max_values: 2,
        ..Limits::default()
    };
    assert_eq!(
        detail(normalize(
            u,
            &json!({"userName": "a", "roles": roles}),
            &small
        ))
        .as_deref(),
        Some("roles has 3 values; at most 2 are allowed")
    );
    // A lone object stands for one value.
    let one = json!({"userName": "a", "phoneNumbers": {"value": "1"}});
    assert!(normalize(
        u,
        &one,
        &Limits {
            max_values: 1,
            ..Limits::default()
        }
    )
    .is_ok());
    // Computed `groups` are read-only and skipped before any counting.
    let groups: Vec<Value> = (0..500)
        .map(|i| json!({"value": format!("g{i}")}))
        .collect();
    assert!(normalize(u, &json!({"userName": "a", "groups": groups}), &limits()).is_ok());
}

#[test]
fn team_members_are_not_capped() {
    let ids: Vec<String> = (0..1000).map(|i| format!("u{i}")).collect();
    let body = json!({"displayName": "Big", "members": ids});
    let n = normalize(ResourceType::Group, &body, &limits());
    assert_eq!(n.map(|n| n.members.map(|m| m.len())), Ok(Some(1000)));
}

/// The body that took 19.8 s before values were deduplicated linearly: now refused by
/// the cap before any value is looked at.
#[test]
fn huge_email_list_is_refused_quickly() {
    let err = normalize(ResourceType::User, &emails(36_000), &limits()).err();
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("emails has 36000 values; at most 100 are allowed")
    );
    let lifted = Limits {
        max_values: usize::MAX,
        ..Limits::default()
    };
    let n = normalize(ResourceType::User, &emails(36_000), &lifted);
    assert_eq!(
        n.map(|n| n.attrs["emails"].as_array().map(Vec::len)),
        Ok(Some(36_000))
    );
}

#[test]
fn immutable_user_name() {
    let attrs = |v: Value| v.as_object().cloned().unwrap_or_default();
    let old = attrs(json!({"userName":"Ann@Acme.com","active":true}));
    let rows: Vec<(ResourceType, Value, Result<Value, ScimType>)> = vec![
        (
            ResourceType::User,
            json!({"userName":"Ann@Acme.com","active":false}),
            Ok(json!({"userName":"Ann@Acme.com","active":false})),
        ),
        (
            ResourceType::User,
            json!({"userName":"ann@acme.com","active":false}),
            Ok(json!({"userName":"Ann@Acme.com","active":false})),
        ),
        (
            ResourceType::User,
            json!({"userName":"ANN@ACME.COM"}),
            Ok(json!({"userName":"Ann@Acme.com"})),
        ),
        (
            ResourceType::User,
            json!({"userName":"bob@acme.com"}),
            Err(ScimType::Mutability),
        ),
        (
            ResourceType::User,
            json!({"userName":"Ann@Acme.co"}),
            Err(ScimType::Mutability),
        ),
        (
            ResourceType::Group,
            json!({"userName":"other","displayName":"New"}),
            Ok(json!({"userName":"other","displayName":"New"})),
        ),
    ];
    for (rt, new, want) in rows {
        let got = enforce_immutable(rt, &old, attrs(new.clone()), UserNames::Immutable);
        match (got, want) {
            (Ok(got), Ok(want)) => assert_eq!(Value::Object(got), want, "{new}"),
            (Err(e), Err(t)) => {
                assert_eq!(e.scim_type(), Some(t), "{new}");
                assert!(
                    e.to_string()
                        .starts_with("Attribute 'userName' is immutable"),
                    "{e}"
                );
            }
            (got, want) => panic!("{new}: got {got:?}, want {want:?}"),
        }
    }
    let no_old = enforce_immutable(
        ResourceType::User,
        &Map::new(),
        old.clone(),
        UserNames::Immutable,
    );
    assert_eq!(no_old.ok(), Some(old));
}
