//! Properties of the PATCH engine over generated PatchOp bodies: ops in any case (and garbage),
//! paths that are plain, dotted, URN-qualified, whole extensions, value filters or garbage, and
//! values of every JSON shape, applied to valid and to garbage stored resources.
//!
//! What is guaranteed, and checked here: `parse_patch` and `apply_patch` never panic;
//! `apply_patch` is all or nothing (an `Err` leaves the map it was given equal to what it was,
//! and one failing operation anywhere in a sequence makes the whole call fail); and applying
//! operations in one call equals applying them one call at a time (the engine's per-call
//! append index must never change an answer).

mod support;

use proptest::prelude::*;
use proptest::strategy::Union;
use scimd_core::filter::{parse_patch_path, AttrPath, CompValue, CompareOp, Filter, PatchPath};
use scimd_core::patch::{apply_patch, parse_patch, MemberOp, OpKind, PatchOperation};
use scimd_core::resource::{normalize, Limits};
use scimd_core::{ResourceType, ScimError};
use serde_json::{json, Map, Value};
use support::{
    as_serde_reads_numbers, attr_name, attr_path, awkward_string, body_key, case_flips, fuzz,
    json_body, json_scalar, json_value, leaf, recase, schema_attrs, shaped_body, sub_name, tree,
    writable_attrs_of, URNS,
};

const ID: &str = "r-1";

fn op_name() -> BoxedStrategy<Value> {
    prop_oneof![
        8 => (prop::sample::select(vec!["add", "replace", "remove"]), any::<u64>())
            .prop_map(|(op, f)| Value::String(recase(op, f))),
        1 => awkward_string().prop_map(Value::String),
        1 => json_scalar(),
    ]
    .boxed()
}

/// A PATCH path: `attr[filter].sub` when generated with a filter.
fn patch_path() -> BoxedStrategy<PatchPath> {
    let element_filter = tree(leaf(false), 2);
    prop_oneof![
        3 => attr_path(true).prop_map(|attr| PatchPath { attr, filter: None }),
        2 => (attr_path(false), element_filter, prop::option::of(sub_name())).prop_map(
            |(mut attr, filter, sub)| {
                attr.sub = sub;
                PatchPath {
                    attr,
                    filter: Some(filter),
                }
            }
        ),
    ]
    .boxed()
}

/// A path as a client might write it, mostly naming attributes of `rt`.
fn path_text(rt: ResourceType) -> BoxedStrategy<Value> {
    let attrs = writable_attrs_of(rt);
    let names: Vec<String> = attrs.iter().map(|(n, _)| n.clone()).collect();
    // Group members take no sub-attribute path; that error is left to the other generators.
    let with_subs: Vec<(String, Vec<&'static str>)> = attrs
        .into_iter()
        .filter(|(n, subs)| !subs.is_empty() && n != "members")
        .collect();
    let own = (prop::sample::select(names), case_flips()).prop_map(|(n, f)| recase(&n, f));
    let mut paths: Vec<(u32, BoxedStrategy<String>)> = vec![
        (12, own.boxed()),
        (2, attr_name()),
        (3, patch_path().prop_map(|p| p.to_string()).boxed()),
        (2, body_key()),
        (
            2,
            prop::sample::select(URNS.to_vec())
                .prop_map(str::to_string)
                .boxed(),
        ),
        (1, awkward_string()),
    ];
    // Groups have no complex attribute but members.
    if !with_subs.is_empty() {
        let sub_path = prop::sample::select(with_subs.clone()).prop_flat_map(|(name, subs)| {
            prop::sample::select(subs).prop_map(move |sub| format!("{name}.{sub}"))
        });
        let work_email = prop::sample::select(with_subs).prop_flat_map(|(name, subs)| {
            (prop::sample::select(subs), awkward_string()).prop_map(move |(sub, v)| {
                let v = serde_json::to_string(&v).unwrap_or_default();
                format!("{name}[{sub} eq {v}].{sub}")
            })
        });
        paths.push((4, sub_path.boxed()));
        paths.push((6, work_email.boxed()));
    }
    prop_oneof![
        30 => Union::new_weighted(paths).prop_map(Value::String),
        1 => json_scalar(),
    ]
    .boxed()
}

/// Values shaped like what identity providers send for multi-valued and complex attributes,
/// plus anything at all.
fn op_value() -> BoxedStrategy<Value> {
    let subs: Vec<&'static str> = schema_attrs()
        .into_iter()
        .flat_map(|(_, subs)| subs)
        .collect();
    let element = prop::collection::vec((prop::sample::select(subs), json_scalar()), 0..4)
        .prop_map(|entries| {
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            )
        });
    prop_oneof![
        3 => json_value(3),
        2 => prop::collection::vec(element.clone(), 0..5).prop_map(Value::Array),
        1 => element,
        1 => json_body(2).prop_map(Value::Object),
    ]
    .boxed()
}

/// One operation: mostly well-formed (so that whole bodies parse and the engine gets to work),
/// sometimes missing a path or value, sometimes garbage.
fn operation(rt: ResourceType) -> BoxedStrategy<Value> {
    let keys = (
        prop::sample::select(vec!["op", "OP", "Op"]),
        prop::sample::select(vec!["path", "Path", "PATH"]),
        prop::sample::select(vec!["value", "Value", "VALUE"]),
    );
    let kind = prop::sample::select(vec![OpKind::Add, OpKind::Replace, OpKind::Remove]);
    let flips = any::<u64>();
    let shaped = (
        keys,
        kind,
        flips,
        path_text(rt),
        op_value(),
        prop_oneof![2 => shaped_body(rt), 1 => json_body(2)],
        prop::bool::weighted(0.7),
        prop::bool::weighted(0.03),
    )
        .prop_map(
            |((k_op, k_path, k_value), kind, flips, path, value, attrs, pathed, odd)| {
                // A path-less add or replace carries an object of attributes.
                let unpathed = Value::Object(attrs);
                let (name, path, value) = match kind {
                    OpKind::Add if pathed => ("add", Some(path), value),
                    OpKind::Add => ("add", None, unpathed),
                    OpKind::Replace if pathed => ("replace", Some(path), value),
                    OpKind::Replace => ("replace", None, unpathed),
                    OpKind::Remove => ("remove", Some(path), value),
                };
                let value = (kind != OpKind::Remove || !pathed).then_some(value);
                let mut m = Map::new();
                m.insert(k_op.into(), Value::String(recase(name, flips)));
                // Now and then the path or the value goes missing where it is required.
                if let Some(p) = path.filter(|_| !odd) {
                    m.insert(k_path.into(), p);
                }
                if let Some(v) = value.filter(|_| !odd) {
                    m.insert(k_value.into(), v);
                }
                Value::Object(m)
            },
        );
    let garbage = (
        op_name(),
        prop::option::of(path_text(rt)),
        prop::option::of(op_value()),
    )
        .prop_map(|(op, path, value)| {
            let mut m = Map::new();
            m.insert("op".into(), op);
            if let Some(p) = path {
                m.insert("path".into(), p);
            }
            if let Some(v) = value {
                m.insert("value".into(), v);
            }
            Value::Object(m)
        });
    prop_oneof![
        60 => shaped,
        1 => garbage,
        1 => json_value(2),
    ]
    .boxed()
}

fn patch_body(rt: ResourceType) -> BoxedStrategy<Value> {
    let schemas = prop_oneof![
        6 => Just(Some(json!(["urn:ietf:params:scim:api:messages:2.0:PatchOp"]))),
        2 => Just(None),
        1 => json_scalar().prop_map(Some),
    ];
    prop_oneof![
        15 => (schemas, prop::collection::vec(operation(rt), 0..8)).prop_map(|(schemas, ops)| {
            let mut m = Map::new();
            if let Some(s) = schemas {
                m.insert("schemas".into(), s);
            }
            m.insert("Operations".into(), Value::Array(ops));
            Value::Object(m)
        }),
        1 => json_value(3),
    ]
    .boxed()
}

/// A stored resource: the normalised form of a generated body when it is valid, otherwise a
/// valid base; or the raw generated map, since the engine must not trust what is stored.
fn stored(rt: ResourceType) -> BoxedStrategy<Map<String, Value>> {
    let base = match rt {
        ResourceType::User => json!({"userName": "ann", "emails": [
            {"value": "ann@work.example", "type": "work", "primary": true},
            {"value": "ann@home.example", "type": "home"}],
            "roles": [{"value": "r1"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m"}}}),
        ResourceType::Group => json!({"displayName": "Team"}),
    };
    let base = base.as_object().cloned().unwrap_or_default();
    prop_oneof![
        3 => prop_oneof![3 => shaped_body(rt), 1 => json_body(2)].prop_map(move |body| {
            let mut merged = base.clone();
            merged.extend(body);
            normalize(rt, &Value::Object(merged), &Limits::default())
                .map(|n| n.attrs)
                .unwrap_or_else(|_| base.clone())
        }),
        1 => json_body(2),
    ]
    .boxed()
}

/// A resource type, a stored resource of that type, and whatever `more` makes for the type.
fn with_stored<T: std::fmt::Debug + Clone + 'static>(
    more: fn(ResourceType) -> BoxedStrategy<T>,
) -> BoxedStrategy<(ResourceType, Map<String, Value>, T)> {
    // Built once per type: a flat_map would rebuild the whole generator for every case.
    let of = |rt| (Just(rt), stored(rt), more(rt));
    prop_oneof![of(ResourceType::User), of(ResourceType::Group)].boxed()
}

#[test]
fn fuzz_patch_never_panics() {
    let input = with_stored(patch_body);
    fuzz("fuzz_patch_never_panics", input, |(rt, mut res, body)| {
        let Ok(ops) = parse_patch(&body) else {
            return Ok(());
        };
        let before = res.clone();
        match apply_patch(&mut res, rt, ID, &ops) {
            // What the daemon does next.
            Ok(_) => {
                let _ = normalize(rt, &Value::Object(res), &Limits::default());
            }
            Err(_) => prop_assert_eq!(res, before, "a failed PATCH changed the resource"),
        }
        Ok(())
    });
}

/// Operations that fail whatever state the resource is in, for either resource type.
fn failing_op() -> BoxedStrategy<PatchOperation> {
    let path = |s: &str| parse_patch_path(s).ok();
    let rows: Vec<(OpKind, Option<PatchPath>, Option<Value>)> = vec![
        (OpKind::Add, path("id"), Some(json!("other"))),
        (
            OpKind::Replace,
            path("meta.created"),
            Some(json!("2020-01-01T00:00:00Z")),
        ),
        (OpKind::Remove, path("id"), None),
        (OpKind::Add, path("noSuchAttribute"), Some(json!(1))),
        // An undeclared extension's attribute is removed whole; a sub-attribute of it is not a
        // path scimd can follow.
        (OpKind::Remove, path("urn:x:y:z.sub"), None),
        (OpKind::Remove, None, None),
        (
            OpKind::Replace,
            None,
            Some(json!({"id": "someone-else", "displayName": "x"})),
        ),
        (OpKind::Add, None, Some(json!("not an object"))),
        (
            OpKind::Replace,
            Some(PatchPath {
                attr: AttrPath::simple("externalId"),
                filter: Some(Filter::Compare {
                    path: AttrPath::simple("value"),
                    op: CompareOp::Eq,
                    value: CompValue::Str("x".into()),
                }),
            }),
            Some(json!("y")),
        ),
    ];
    prop::sample::select(rows)
        .prop_map(|(op, path, value)| PatchOperation { op, path, value })
        .boxed()
}

#[test]
fn fuzz_one_failing_operation_fails_the_patch() {
    let input = (
        with_stored(|rt| prop::collection::vec(operation(rt), 0..6).boxed()),
        failing_op(),
        any::<prop::sample::Index>(),
    );
    fuzz(
        "fuzz_one_failing_operation_fails_the_patch",
        input,
        |((rt, mut res, ops), bad, at)| {
            let mut ops: Vec<PatchOperation> = ops
                .into_iter()
                .filter_map(|op| parse_patch(&json!({"Operations": [op]})).ok())
                .flatten()
                .collect();
            ops.insert(at.index(ops.len() + 1), bad);
            let before = res.clone();
            let result = apply_patch(&mut res, rt, ID, &ops);
            prop_assert!(result.is_err(), "succeeded: {:?}", result);
            prop_assert_eq!(res, before);
            Ok(())
        },
    );
}

/// Applies `ops` one call per operation, stopping at the first error.
fn one_by_one(
    res: &mut Map<String, Value>,
    rt: ResourceType,
    ops: &[PatchOperation],
) -> Result<Vec<MemberOp>, ScimError> {
    let mut members = Vec::new();
    for op in ops {
        members.extend(apply_patch(res, rt, ID, std::slice::from_ref(op))?);
    }
    Ok(members)
}

/// Sequences that stress the append index: adds to the same few multi-valued attributes mixed
/// with every other kind of write to them.
fn multi_valued_ops() -> BoxedStrategy<Vec<Value>> {
    let attr = prop::sample::select(vec!["emails", "roles", "phoneNumbers"]);
    let element = (
        prop::sample::select(vec!["a", "b", "c", "A"]),
        prop::option::of(prop::sample::select(vec!["work", "home"])),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(v, t, p)| {
            let mut m = Map::new();
            m.insert("value".into(), json!(v));
            if let Some(t) = t {
                m.insert("type".into(), json!(t));
            }
            if let Some(p) = p {
                m.insert("primary".into(), json!(p));
            }
            Value::Object(m)
        });
    let values = prop::collection::vec(element, 0..4).prop_map(Value::Array);
    // Half appends; the rest change elements in place, often without changing their number.
    let op = (attr, values, 0u8..14).prop_map(|(attr, values, kind)| match kind {
        0..=6 => json!({"op": "add", "path": attr, "value": values}),
        7 => json!({"op": "replace", "path": attr, "value": values}),
        8 => json!({"op": "remove", "path": attr, "value": values}),
        9 => json!({"op": "replace", "path": format!("{attr}[value eq \"a\"].primary"), "value": true}),
        10 => json!({"op": "remove", "path": format!("{attr}.type")}),
        11 => json!({"op": "add", "path": format!("{attr}.primary"), "value": false}),
        12 => json!({"op": "remove", "path": format!("{attr}[type eq \"work\"].primary")}),
        _ => json!({"op": "add", "value": {attr: values}}),
    });
    prop::collection::vec(op, 0..12).boxed()
}

#[test]
fn fuzz_ops_together_equal_ops_one_by_one() {
    let ops = |rt| {
        prop_oneof![
            1 => prop::collection::vec(operation(rt), 0..8),
            2 => multi_valued_ops(),
        ]
        .boxed()
    };
    fuzz(
        "fuzz_ops_together_equal_ops_one_by_one",
        with_stored(ops),
        |(rt, res, ops)| {
            let Ok(ops) = parse_patch(&json!({"Operations": ops})) else {
                return Ok(());
            };
            let mut together = res.clone();
            let mut apart = res;
            let got = apply_patch(&mut together, rt, ID, &ops);
            let want = one_by_one(&mut apart, rt, &ops);
            prop_assert_eq!(&got, &want);
            if got.is_ok() {
                prop_assert_eq!(
                    Value::Object(together).to_string(),
                    Value::Object(apart).to_string()
                );
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_patch_path_round_trips() {
    fuzz("fuzz_patch_path_round_trips", patch_path(), |p| {
        let text = p.to_string();
        let want = PatchPath {
            filter: p.filter.map(as_serde_reads_numbers),
            ..p
        };
        prop_assert_eq!(parse_patch_path(&text), Ok(want), "text: {}", text);
        Ok(())
    });
}
