//! Table tests of the PATCH engine, one row per request body, most taken from what Okta, Entra ID
//! and authentik send (shared/reference/idp-wire.md).
//!
//! The harness (base resources, rows, `check`) is here; the rows are in `users`, `groups` and
//! `bodies`, and the tests of whole requests at scale in `scale`.

mod bodies;
mod declared;
mod groups;
mod scale;
mod undeclared;
mod users;

use super::{apply_patch, parse_patch, MemberOp, MAX_OPERATIONS};
use crate::error::ScimError;
use crate::schema::{ResourceType, PATCH_SCHEMA};
use serde_json::{json, Map, Value};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const USER_ID: &str = "u-1";
const GROUP_ID: &str = "g-1";

enum Want {
    /// Top-level keys that differ from the base map (`null`: gone) and the membership changes.
    Ok(Value, Vec<MemberOp>),
    /// Status, scimType and a fragment of the detail.
    Err(u16, &'static str, &'static str),
}

struct Row {
    name: &'static str,
    rt: ResourceType,
    body: Value,
    want: Want,
}

fn base(rt: ResourceType) -> Map<String, Value> {
    let v = match rt {
        ResourceType::User => json!({
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "displayName": "Babs Jensen",
            "active": true,
            "externalId": "ext-1",
            "emails": [
                {"value": "bjensen@work.example", "type": "work", "primary": true},
                {"value": "babs@home.example", "type": "home"}
            ],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "701984",
                "manager": {"value": "m-1"}
            }
        }),
        ResourceType::Group => json!({"displayName": "Team A", "externalId": "g-ext"}),
    };
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

/// A PatchOp body with these operations.
fn ops(operations: Value) -> Value {
    json!({"schemas": [PATCH_SCHEMA], "Operations": operations})
}

fn u(name: &'static str, body: Value, want: Want) -> Row {
    Row {
        name,
        rt: ResourceType::User,
        body,
        want,
    }
}

fn g(name: &'static str, body: Value, want: Want) -> Row {
    Row {
        name,
        rt: ResourceType::Group,
        body,
        want,
    }
}

fn same() -> Want {
    Want::Ok(json!({}), vec![])
}

fn changed(diff: Value) -> Want {
    Want::Ok(diff, vec![])
}

fn members(diff: Value, ops: Vec<MemberOp>) -> Want {
    Want::Ok(diff, ops)
}

fn err(scim_type: &'static str) -> Want {
    Want::Err(400, scim_type, "")
}

fn err_detail(scim_type: &'static str, detail: &'static str) -> Want {
    Want::Err(400, scim_type, detail)
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn run(rt: ResourceType, body: &Value) -> (Map<String, Value>, Result<Vec<MemberOp>, ScimError>) {
    let mut map = base(rt);
    let id = if rt == ResourceType::User {
        USER_ID
    } else {
        GROUP_ID
    };
    let result = parse_patch(body).and_then(|parsed| apply_patch(&mut map, rt, id, &parsed));
    (map, result)
}

/// Runs every row and reports all failing rows at once.
fn check(rows: Vec<Row>) {
    let mut failures = Vec::new();
    for row in &rows {
        let (map, result) = run(row.rt, &row.body);
        match (&row.want, result) {
            (Want::Ok(diff, want_ops), Ok(got_ops)) => {
                let mut want = base(row.rt);
                for (k, v) in diff.as_object().into_iter().flatten() {
                    if v.is_null() {
                        want.shift_remove(k);
                    } else {
                        want.insert(k.clone(), v.clone());
                    }
                }
                if map != want {
                    failures.push(format!(
                        "{}: map\n  got  {}\n  want {}",
                        row.name,
                        Value::Object(map),
                        Value::Object(want)
                    ));
                } else if &got_ops != want_ops {
                    failures.push(format!(
                        "{}: members got {got_ops:?}, want {want_ops:?}",
                        row.name
                    ));
                }
            }
            (Want::Err(status, scim_type, detail), Err(e)) => {
                let got_type = e.scim_type().map(|t| t.as_str()).unwrap_or("");
                if map != base(row.rt) {
                    failures.push(format!(
                        "{}: failed, but changed the resource to {}",
                        row.name,
                        Value::Object(map)
                    ));
                } else if e.status() != *status
                    || got_type != *scim_type
                    || !e.to_string().contains(detail)
                {
                    failures.push(format!(
                        "{}: got {} {got_type} {:?}, want {status} {scim_type} containing {detail:?}",
                        row.name,
                        e.status(),
                        e.to_string()
                    ));
                }
            }
            (Want::Ok(..), Err(e)) => {
                failures.push(format!("{}: unexpected error {e:?}", row.name))
            }
            (Want::Err(..), Ok(got)) => failures.push(format!(
                "{}: expected an error, got Ok({got:?}) with map {}",
                row.name,
                Value::Object(map)
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}
