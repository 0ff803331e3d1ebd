//! Whole requests: a failing operation undoes the ones before it, and large arrays are patched
//! in linear time with the same result as one operation at a time.

use super::*;
use crate::patch::PatchOperation;

fn parsed(operations: Value) -> Vec<PatchOperation> {
    parse_patch(&ops(operations)).unwrap_or_else(|e| panic!("{e}"))
}

fn email(i: usize) -> Value {
    json!({"value": format!("u{i}@example.org"), "type": "work", "primary": i % 1000 == 999})
}

/// 36,000 emails in one add and in a thousand adds: both end with every distinct email once, in
/// order, with the last primary one the only primary, and neither takes quadratic time.
#[test]
fn a_failing_operation_undoes_the_ones_before_it() {
    let body = ops(json!([
        {"op": "replace", "path": "displayName", "value": "Changed"},
        {"op": "add", "path": "emails", "value": [{"value": "new@x"}]},
        {"op": "remove", "path": "name"},
        {"op": "remove", "path": "userName"},
        {"op": "replace", "path": "active", "value": false},
    ]));
    let (map, result) = run(ResourceType::User, &body);
    assert_eq!(
        result.err().map(|e| e.to_string()).as_deref(),
        Some("userName is required")
    );
    assert_eq!(map, base(ResourceType::User));
}

#[test]
fn appends_many_emails_in_linear_time() {
    let n = 36_000;
    let all: Vec<Value> = (0..n).map(email).collect();
    let mut with_dupes = all.clone();
    with_dupes.extend(all.iter().step_by(7).cloned());
    let one_op = parsed(json!([{"op": "add", "path": "emails", "value": with_dupes}]));
    let many_ops = parsed(Value::Array(
        all.chunks(n / MAX_OPERATIONS)
            .map(|chunk| json!({"op": "add", "path": "emails", "value": chunk}))
            .collect(),
    ));
    for ops in [one_op, many_ops] {
        let mut map = base(ResourceType::User);
        let got = apply_patch(&mut map, ResourceType::User, USER_ID, &ops);
        assert_eq!(got, Ok(vec![]));
        let emails = map["emails"].as_array().cloned().unwrap_or_default();
        assert_eq!(emails.len(), n + 2);
        let primaries: Vec<usize> = emails
            .iter()
            .enumerate()
            .filter(|(_, e)| e["primary"] == json!(true))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(primaries, [n + 1]);
        assert_eq!(emails[2]["value"], "u0@example.org");
        assert_eq!(emails[n + 1]["value"], format!("u{}@example.org", n - 1));
    }
}

/// Removing thousands of listed values from thousands of elements is linear too, and still
/// honours caseExact (email values are not case-exact) and the rule that an item naming
/// nothing removes nothing.
#[test]
fn removes_many_listed_emails_in_linear_time() {
    let n = 20_000;
    let listed: Vec<Value> = (0..n)
        .filter(|i| i % 2 == 0)
        .map(|i| json!({"value": format!("U{i}@EXAMPLE.ORG")}))
        .chain([json!({"value": null}), json!({})])
        .collect();
    let ops = parsed(json!([
        {"op": "add", "path": "emails", "value": (0..n).map(email).collect::<Vec<_>>()},
        {"op": "remove", "path": "emails", "value": listed},
    ]));
    let mut map = base(ResourceType::User);
    assert_eq!(
        apply_patch(&mut map, ResourceType::User, USER_ID, &ops),
        Ok(vec![])
    );
    let emails = map["emails"].as_array().cloned().unwrap_or_default();
    assert_eq!(emails.len(), n / 2 + 2);
    assert_eq!(emails[2]["value"], "u1@example.org");
}

/// Appends keep an index of the attribute across operations; every other kind of write must
/// invalidate it. Applying the operations together must equal applying them one by one.
#[test]
fn appends_across_operations_equal_one_by_one() {
    let sequences = vec![
        json!([
            {"op": "add", "path": "emails", "value": [{"value": "a@x", "primary": true}]},
            {"op": "replace", "path": "emails[value eq \"a@x\"].primary", "value": false},
            {"op": "add", "path": "emails", "value": [{"value": "a@x", "primary": false}]},
            {"op": "add", "path": "emails", "value": [{"value": "a@x", "primary": true}]},
        ]),
        json!([
            {"op": "add", "path": "emails", "value": [{"value": "a@x"}, {"value": "b@x"}]},
            {"op": "remove", "path": "emails[value eq \"a@x\"]"},
            {"op": "add", "path": "emails", "value": [{"value": "a@x"}]},
            {"op": "replace", "path": "emails", "value": [{"value": "c@x"}]},
            {"op": "add", "path": "emails", "value": [{"value": "b@x"}, {"value": "c@x"}]},
            {"op": "remove", "path": "emails"},
            {"op": "add", "value": {"emails": [{"value": "b@x"}]}},
            {"op": "add", "path": "emails.type", "value": "home"},
            {"op": "add", "path": "emails", "value": [{"value": "b@x", "type": "home"}]},
            {"op": "add", "path": "emails", "value": [{"value": "b@x"}]},
        ]),
        json!([
            {"op": "add", "path": "emails", "value": [{"value": "p@x", "primary": true}]},
            {"op": "add", "path": "emails", "value": [{"value": "bjensen@work.example", "type": "work", "primary": false}]},
            {"op": "add", "path": "emails", "value": [{"value": "q@x", "primary": true}]},
            {"op": "add", "path": "emails", "value": [{"value": "p@x", "primary": false}]},
            {"op": "add", "path": "roles", "value": ["r1", "r2"]},
            {"op": "remove", "path": "roles", "value": ["R1"]},
            {"op": "add", "path": "roles", "value": ["r1", "r2"]},
            {"op": "replace", "value": {"roles": null}},
            {"op": "add", "path": "roles", "value": ["r2"]},
        ]),
    ];
    for seq in sequences {
        let ops = parsed(seq.clone());
        let mut together = base(ResourceType::User);
        let got = apply_patch(&mut together, ResourceType::User, USER_ID, &ops);
        assert_eq!(got, Ok(vec![]), "{seq}");
        let mut one_by_one = base(ResourceType::User);
        for op in &ops {
            let got = apply_patch(
                &mut one_by_one,
                ResourceType::User,
                USER_ID,
                std::slice::from_ref(op),
            );
            assert_eq!(got, Ok(vec![]), "{seq}");
        }
        assert_eq!(
            Value::Object(together).to_string(),
            Value::Object(one_by_one).to_string(),
            "{seq}"
        );
    }
}
