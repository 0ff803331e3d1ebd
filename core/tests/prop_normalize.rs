//! Properties of normalisation over arbitrary JSON bodies with schema attribute names mixed in:
//! it never panics, its output is a fixed point (normalising the stored form, or the rendered
//! form, gives the same attributes back), the cap on multi-valued attributes is exact, and no
//! stored string holds U+0000 or runs past its length cap.

mod support;

use proptest::prelude::*;
use scimd_core::resource::{normalize, render, Limits, Meta};
use scimd_core::ResourceType;
use serde_json::{json, Map, Value};
use support::{fuzz, json_body, json_value, shaped_body};

/// A body that is valid often enough to reach the deep end: a valid base overlaid with
/// generated keys (which may well break it).
fn body(rt: ResourceType) -> BoxedStrategy<Value> {
    let base = match rt {
        ResourceType::User => json!({"userName": "ann"}),
        ResourceType::Group => json!({"displayName": "Team", "members": [{"value": "u1"}]}),
    };
    let base = base.as_object().cloned().unwrap_or_default();
    let over = move |extra: Map<String, Value>| {
        let mut m = base.clone();
        m.extend(extra);
        Value::Object(m)
    };
    prop_oneof![
        4 => shaped_body(rt).prop_map(over.clone()),
        2 => json_body(3).prop_map(over),
        1 => shaped_body(rt).prop_map(Value::Object),
        1 => json_body(3).prop_map(Value::Object),
        1 => json_value(3),
    ]
    .boxed()
}

fn limits() -> impl Strategy<Value = Limits> {
    prop_oneof![
        3 => Just(Limits::default()),
        1 => (0usize..4, 0usize..20).prop_map(|(max_values, team_name_max)| Limits {
            team_name_max,
            max_values,
            ..Limits::default()
        }),
        1 => (0usize..40, 0usize..80).prop_map(|(indexed, other)| Limits {
            max_indexed_length: indexed,
            max_string_length: other,
            ..Limits::default()
        }),
    ]
}

fn typed_body() -> BoxedStrategy<(ResourceType, Value)> {
    let of = |rt| (Just(rt), body(rt));
    prop_oneof![of(ResourceType::User), of(ResourceType::Group)].boxed()
}

#[test]
fn fuzz_normalize_never_panics() {
    fuzz(
        "fuzz_normalize_never_panics",
        (typed_body(), limits()),
        |((rt, body), limits)| {
            for rt in [rt, other(rt)] {
                let _ = normalize(rt, &body, &limits);
            }
            Ok(())
        },
    );
}

/// Every string of a stored form with whether it is indexed (the shorter cap).
fn strings<'a>(key: &str, v: &'a Value, indexed: bool, out: &mut Vec<(&'a str, bool)>) {
    match v {
        Value::String(s) => out.push((s, indexed)),
        Value::Array(items) => items.iter().for_each(|i| strings(key, i, indexed, out)),
        Value::Object(m) => {
            for (k, v) in m {
                let sub_indexed = k == "value" && (key == "emails" || key == "manager");
                strings(k, v, sub_indexed, out);
            }
        }
        _ => {}
    }
}

#[test]
fn fuzz_stored_strings_are_bounded_and_clean() {
    fuzz(
        "fuzz_stored_strings_are_bounded_and_clean",
        (typed_body(), limits()),
        |((rt, body), limits)| {
            let Ok(n) = normalize(rt, &body, &limits) else {
                return Ok(());
            };
            let mut found = Vec::new();
            for (k, v) in &n.attrs {
                let indexed = matches!(k.as_str(), "userName" | "externalId" | "displayName");
                strings(k, v, indexed, &mut found);
            }
            for (s, indexed) in found {
                let max = if indexed {
                    limits.max_indexed_length
                } else {
                    limits.max_string_length
                };
                prop_assert!(!s.contains('\0'), "stored a NUL: {s:?}");
                prop_assert!(
                    s.chars().count() <= max,
                    "stored {} chars past {max}",
                    s.len()
                );
            }
            for id in n.members.unwrap_or_default() {
                prop_assert!(!id.contains('\0'));
                prop_assert!(id.chars().count() <= limits.max_indexed_length);
            }
            Ok(())
        },
    );
}

fn other(rt: ResourceType) -> ResourceType {
    match rt {
        ResourceType::User => ResourceType::Group,
        ResourceType::Group => ResourceType::User,
    }
}

fn text(attrs: &Map<String, Value>) -> String {
    Value::Object(attrs.clone()).to_string()
}

#[test]
fn fuzz_normalize_is_a_fixed_point() {
    let meta = Meta {
        created: "2024-05-01T10:00:00Z".into(),
        last_modified: "2024-05-02T11:00:00Z".into(),
        version: 7,
    };
    fuzz(
        "fuzz_normalize_is_a_fixed_point",
        typed_body(),
        |(rt, body)| {
            let limits = Limits::default();
            let Ok(first) = normalize(rt, &body, &limits) else {
                return Ok(());
            };
            // The stored form, as a PATCH feeds it back.
            let again = normalize(rt, &Value::Object(first.attrs.clone()), &limits);
            let again =
                again.map_err(|e| TestCaseError::fail(format!("stored form refused: {e}")))?;
            prop_assert_eq!(text(&again.attrs), text(&first.attrs));
            prop_assert_eq!(again.members, None);
            // The rendered form, as a client echoes a GET in a PUT.
            let computed = first.members.as_ref().map(|ids| {
                ids.iter()
                    .map(|id| json!({"value": id, "display": "x"}))
                    .collect::<Vec<_>>()
            });
            let doc = render(
                rt,
                "r-1",
                &first.attrs,
                &meta,
                "https://h/scim/v2/o",
                computed,
            );
            let echoed = normalize(rt, &doc, &limits);
            let echoed =
                echoed.map_err(|e| TestCaseError::fail(format!("rendered form refused: {e}")))?;
            prop_assert_eq!(text(&echoed.attrs), text(&first.attrs));
            if rt == ResourceType::Group {
                prop_assert_eq!(echoed.members, first.members);
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_max_values_is_exact() {
    let input = (
        prop::sample::select(vec![
            "emails",
            "phoneNumbers",
            "roles",
            "addresses",
            "x509Certificates",
        ]),
        0usize..12,
        0usize..12,
        0usize..3000,
    );
    fuzz(
        "fuzz_max_values_is_exact",
        input,
        |(attr, count, max_values, members)| {
            let values: Vec<Value> = (0..count)
                // `formatted` for addresses, which have no `value`.
                .map(|i| json!({"value": format!("v{i}"), "formatted": format!("v{i}")}))
                .collect();
            let limits = Limits {
                max_values,
                ..Limits::default()
            };
            let user = normalize(
                ResourceType::User,
                &json!({"userName": "a", attr: values}),
                &limits,
            );
            if count <= max_values {
                let stored = user.map_err(|e| TestCaseError::fail(e.to_string()))?;
                let held = stored
                    .attrs
                    .get(attr)
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                prop_assert_eq!(held, count);
            } else {
                let want = format!("{attr} has {count} values; at most {max_values} are allowed");
                prop_assert_eq!(user.err().map(|e| e.to_string()), Some(want));
            }
            // Team members are never capped.
            let ids: Vec<String> = (0..members).map(|i| format!("u{i}")).collect();
            let team = normalize(
                ResourceType::Group,
                &json!({"displayName": "T", "members": ids}),
                &limits,
            );
            prop_assert_eq!(team.map(|n| n.members.map_or(0, |m| m.len())), Ok(members));
            Ok(())
        },
    );
}
