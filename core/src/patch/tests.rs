//! Table tests of the PATCH engine, one row per request body, most taken from what Okta, Entra ID
//! and authentik send (shared/reference/idp-wire.md).

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

#[test]
fn user_rows() {
    let work = json!({"value": "bjensen@work.example", "type": "work", "primary": true});
    let home = json!({"value": "babs@home.example", "type": "home"});
    let rows = vec![
        // Okta
        u(
            "okta deactivate: path-less replace of active",
            ops(json!([{"op": "replace", "value": {"active": false}}])),
            changed(json!({"active": false})),
        ),
        u(
            "okta deactivate then reactivate",
            ops(json!([
                {"op": "replace", "value": {"active": false}},
                {"op": "replace", "value": {"active": true}}
            ])),
            same(),
        ),
        // Entra
        u(
            "entra disable with the string False, left for the normalizer",
            ops(json!([{"op": "Replace", "path": "active", "value": "False"}])),
            changed(json!({"active": "False"})),
        ),
        u(
            "entra disable with a boolean",
            ops(json!([{"op": "replace", "path": "active", "value": false}])),
            changed(json!({"active": false})),
        ),
        u(
            "entra update: work email through a value path, family name through a sub path",
            ops(json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
                {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}
            ])),
            changed(json!({
                "emails": [{"value": "updatedEmail@microsoft.com", "type": "work", "primary": true}, home],
                "name": {"givenName": "Barbara", "familyName": "updatedFamilyName"}
            })),
        ),
        u(
            "entra Add through a value path creates the missing work email",
            ops(json!([
                {"op": "Remove", "path": "emails[type eq \"work\"]"},
                {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "new@work.example"}
            ])),
            changed(json!({"emails": [home, {"type": "work", "value": "new@work.example"}]})),
        ),
        u(
            "replace through an and-filter creates the element it describes",
            ops(json!([
                {"op": "remove", "path": "emails"},
                {"op": "replace", "path": "emails[type eq \"work\" and primary eq true].value", "value": "x@y.example"}
            ])),
            changed(json!({"emails": [{"type": "work", "primary": true, "value": "x@y.example"}]})),
        ),
        u(
            "value filter matching nothing and describing nothing: noTarget",
            ops(
                json!([{"op": "replace", "path": "emails[value co \"nomatch\"].display", "value": "x"}]),
            ),
            err("noTarget"),
        ),
        u(
            "value filter case-insensitive match on type",
            ops(
                json!([{"op": "replace", "path": "emails[type eq \"WORK\"].display", "value": "W"}]),
            ),
            changed(json!({"emails": [
                {"value": "bjensen@work.example", "type": "work", "primary": true, "display": "W"},
                home
            ]})),
        ),
        u(
            "entra Add of an attribute it believes empty",
            ops(json!([{"op": "Add", "path": "nickName", "value": "Babs"}])),
            changed(json!({"nickName": "Babs"})),
        ),
        u(
            "entra aadOptscim062020: path-less replace with dotted and URN keys",
            ops(json!([{"op": "replace", "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
            }}])),
            changed(json!({
                "displayName": "Bjfe",
                "name": {"givenName": "Kkom", "familyName": "Unua"},
                ENT: {"employeeNumber": "Aklq", "manager": {"value": "m-1"}}
            })),
        ),
        u(
            "entra one Replace per attribute, externalId and a URN path",
            ops(json!([
                {"op": "Replace", "path": "externalId", "value": "ext-2"},
                {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "9"}
            ])),
            changed(json!({
                "externalId": "ext-2",
                ENT: {"employeeNumber": "9", "manager": {"value": "m-1"}}
            })),
        ),
        u(
            "entra manager as a plain string",
            ops(json!([{
                "op": "Add",
                "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                "value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"
            }])),
            changed(json!({ENT: {
                "employeeNumber": "701984",
                "manager": {"value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}
            }})),
        ),
        u(
            "entra manager removal",
            ops(
                json!([{"op": "Remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]),
            ),
            changed(json!({ENT: {"employeeNumber": "701984"}})),
        ),
        u(
            "manager.value through a URN path",
            ops(
                json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", "value": "m-2"}]),
            ),
            changed(json!({ENT: {"employeeNumber": "701984", "manager": {"value": "m-2"}}})),
        ),
        u(
            "removing the last extension attributes drops the extension",
            ops(json!([
                {"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"},
                {"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"}
            ])),
            changed(json!({ENT: null})),
        ),
        u(
            "path-less extension object merges, plain-string manager wrapped",
            ops(json!([{"op": "add", "value": {
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales", "manager": "m-3"}
            }}])),
            changed(json!({ENT: {
                "employeeNumber": "701984", "manager": {"value": "m-3"}, "department": "Sales"
            }})),
        ),
        u(
            "the extension URN as a path merges",
            ops(
                json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "value": {"costCenter": "CC1"}}]),
            ),
            changed(json!({ENT: {
                "employeeNumber": "701984", "manager": {"value": "m-1"}, "costCenter": "CC1"
            }})),
        ),
        u(
            "the extension URN as a remove path drops the extension",
            ops(
                json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}]),
            ),
            changed(json!({ENT: null})),
        ),
        u(
            "the core URN as a path prefix",
            ops(
                json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName", "value": "B"}]),
            ),
            changed(json!({"name": {"givenName": "B", "familyName": "Jensen"}})),
        ),
        u(
            "path-less echo: schemas, meta, equal id, groups, password, unknown keys skipped",
            ops(json!([{"op": "replace", "value": {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": USER_ID,
                "meta": {"resourceType": "User"},
                "groups": [],
                "password": "1mz050nq",
                "foo": "bar",
                "name.nope": "x",
                "urn:example:unknown:2.0:User:thing": "x",
                "title": "Boss"
            }}])),
            changed(json!({"title": "Boss"})),
        ),
        u(
            "path-less value with another id: mutability",
            ops(json!([{"op": "replace", "value": {"id": "someone-else", "title": "Boss"}}])),
            err("mutability"),
        ),
        u(
            "path-less string booleans left raw",
            ops(json!([{"op": "Replace", "value": {"active": "True"}}])),
            changed(json!({"active": "True"})),
        ),
        u(
            "add appends one object and skips an element already present",
            ops(json!([
                {"op": "add", "path": "emails", "value": {"value": "babs@home.example", "type": "home"}},
                {"op": "add", "path": "emails", "value": [{"value": "o@x.example", "type": "other"}]}
            ])),
            changed(json!({"emails": [work, home, {"value": "o@x.example", "type": "other"}]})),
        ),
        u(
            "adding a primary email demotes the old primary",
            ops(
                json!([{"op": "add", "path": "emails", "value": [{"value": "p@x.example", "type": "other", "primary": true}]}]),
            ),
            changed(json!({"emails": [
                {"value": "bjensen@work.example", "type": "work", "primary": false},
                home,
                {"value": "p@x.example", "type": "other", "primary": true}
            ]})),
        ),
        u(
            "replace of a multi-valued attribute replaces the array, canonical sub names",
            ops(
                json!([{"op": "replace", "path": "emails", "value": [{"Value": "only@x.example", "TYPE": "work", "primary": true}]}]),
            ),
            changed(
                json!({"emails": [{"value": "only@x.example", "type": "work", "primary": true}]}),
            ),
        ),
        u(
            "path-less add of emails appends",
            ops(
                json!([{"op": "add", "value": {"emails": [{"value": "o@x.example", "type": "other"}]}}]),
            ),
            changed(json!({"emails": [work, home, {"value": "o@x.example", "type": "other"}]})),
        ),
        u(
            "replace of a complex attribute merges its sub-attributes",
            ops(
                json!([{"op": "replace", "path": "name", "value": {"givenName": "Barb", "middleName": "J"}}]),
            ),
            changed(
                json!({"name": {"givenName": "Barb", "familyName": "Jensen", "middleName": "J"}}),
            ),
        ),
        u(
            "add of a sub path creates its parent",
            ops(json!([
                {"op": "remove", "path": "name"},
                {"op": "add", "path": "name.givenName", "value": "B"}
            ])),
            changed(json!({"name": {"givenName": "B"}})),
        ),
        u(
            "names resolve case-insensitively to canonical keys",
            ops(json!([
                {"op": "replace", "path": "DISPLAYNAME", "value": "x"},
                {"op": "add", "path": "Name.MiddleName", "value": "M"}
            ])),
            changed(json!({
                "displayName": "x",
                "name": {"givenName": "Barbara", "familyName": "Jensen", "middleName": "M"}
            })),
        ),
        u(
            "remove a sub-attribute",
            ops(json!([{"op": "remove", "path": "name.givenName"}])),
            changed(json!({"name": {"familyName": "Jensen"}})),
        ),
        u(
            "remove elements matching a filter",
            ops(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])),
            changed(json!({"emails": [work]})),
        ),
        u(
            "remove a sub-attribute of matching elements",
            ops(json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}])),
            changed(json!({"emails": [{"value": "bjensen@work.example", "type": "work"}, home]})),
        ),
        u(
            "remove with a value array removes only the listed elements",
            ops(
                json!([{"op": "remove", "path": "emails", "value": [{"value": "BABS@home.example"}]}]),
            ),
            changed(json!({"emails": [work]})),
        ),
        u(
            "remove of an absent attribute is a no-op",
            ops(json!([{"op": "remove", "path": "nickName"}])),
            same(),
        ),
        u(
            "remove a whole multi-valued attribute",
            ops(json!([{"op": "remove", "path": "emails"}])),
            changed(json!({"emails": null})),
        ),
        u(
            "replace through a filter with an object merges into matching elements",
            ops(
                json!([{"op": "replace", "path": "emails[type eq \"work\"]", "value": {"display": "Work mail"}}]),
            ),
            changed(json!({"emails": [
                {"value": "bjensen@work.example", "type": "work", "primary": true, "display": "Work mail"},
                home
            ]})),
        ),
        u(
            "the password path is accepted and dropped",
            ops(json!([{"op": "replace", "path": "password", "value": "s3cret"}])),
            same(),
        ),
        u(
            "replace with null unassigns",
            ops(json!([{"op": "replace", "path": "displayName", "value": null}])),
            changed(json!({"displayName": null})),
        ),
        u(
            "replace of userName is left to the normalizer's immutability check",
            ops(json!([{"op": "Replace", "path": "userName", "value": "new"}])),
            changed(json!({"userName": "new"})),
        ),
        u(
            "unknown path",
            ops(json!([{"op": "add", "path": "foo", "value": 1}])),
            err_detail("invalidPath", "Unknown path: foo"),
        ),
        u(
            "unknown sub-attribute",
            ops(json!([{"op": "add", "path": "name.nope", "value": 1}])),
            err_detail("invalidPath", "Unknown path: name.nope"),
        ),
        u(
            "unknown extension attribute",
            ops(
                json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:nope", "value": 1}]),
            ),
            err("invalidPath"),
        ),
        u(
            "members is not a User attribute",
            ops(json!([{"op": "add", "path": "members", "value": []}])),
            err("invalidPath"),
        ),
        u(
            "readOnly groups",
            ops(json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}])),
            err("mutability"),
        ),
        u(
            "readOnly id",
            ops(json!([{"op": "replace", "path": "id", "value": "x"}])),
            err("mutability"),
        ),
        u(
            "readOnly meta sub-attribute",
            ops(json!([{"op": "replace", "path": "meta.created", "value": "x"}])),
            err("mutability"),
        ),
        u(
            "readOnly manager displayName",
            ops(
                json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName", "value": "x"}]),
            ),
            err("mutability"),
        ),
        u(
            "remove without a path",
            ops(json!([{"op": "remove"}])),
            err("noTarget"),
        ),
        u(
            "remove of a required attribute",
            ops(json!([{"op": "remove", "path": "userName"}])),
            err_detail("invalidValue", "userName is required"),
        ),
        u(
            "replace of a required attribute with null",
            ops(json!([{"op": "replace", "value": {"userName": null}}])),
            err_detail("invalidValue", "userName is required"),
        ),
        u(
            "a filter on a single-valued attribute",
            ops(
                json!([{"op": "replace", "path": "name[givenName eq \"B\"].familyName", "value": "x"}]),
            ),
            err("invalidPath"),
        ),
        u(
            "path-less value not an object",
            ops(json!([{"op": "replace", "value": "x"}])),
            err("invalidValue"),
        ),
        u(
            "a later failing operation fails the whole patch",
            ops(json!([
                {"op": "replace", "path": "displayName", "value": "ok"},
                {"op": "replace", "path": "nope", "value": "x"}
            ])),
            err("invalidPath"),
        ),
    ];
    check(rows);
}

#[test]
fn group_rows() {
    let rows = vec![
        // Okta
        g(
            "okta membership push: remove by filter, then add",
            ops(json!([
                {"op": "remove", "path": "members[value eq \"89bb1940-b905-4575-9e7f-6f887cfb368e\"]"},
                {"op": "add", "path": "members", "value": [{"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "test.user@okta.local"}]}
            ])),
            members(
                json!({}),
                vec![
                    MemberOp::Remove(ids(&["89bb1940-b905-4575-9e7f-6f887cfb368e"])),
                    MemberOp::Add(ids(&["23a35c27-23d3-4c03-b4c5-6443c09e7173"])),
                ],
            ),
        ),
        g(
            "okta full push: replace members",
            ops(
                json!([{"op": "replace", "path": "members", "value": [{"value": "a", "display": "A"}, {"value": "b"}]}]),
            ),
            members(
                json!({}),
                vec![MemberOp::Clear, MemberOp::Add(ids(&["a", "b"]))],
            ),
        ),
        g(
            "okta rename with the id echoed in the value",
            ops(
                json!([{"op": "replace", "value": {"id": GROUP_ID, "displayName": "Test SCIMv2"}}]),
            ),
            changed(json!({"displayName": "Test SCIMv2"})),
        ),
        g(
            "okta rename with a different id",
            ops(json!([{"op": "replace", "value": {"id": "other", "displayName": "Test SCIMv2"}}])),
            err("mutability"),
        ),
        g(
            "replace members with an empty array clears",
            ops(json!([{"op": "replace", "path": "members", "value": []}])),
            members(json!({}), vec![MemberOp::Clear]),
        ),
        // Entra
        g(
            "entra rename",
            ops(json!([{"op": "Replace", "path": "displayName", "value": "Renamed"}])),
            changed(json!({"displayName": "Renamed"})),
        ),
        g(
            "entra Add member with a null $ref",
            ops(
                json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "f648f8d5ea4e4cd38e9c"}]}]),
            ),
            members(
                json!({}),
                vec![MemberOp::Add(ids(&["f648f8d5ea4e4cd38e9c"]))],
            ),
        ),
        g(
            "entra Remove members listed in the value removes only those",
            ops(json!([{"op": "Remove", "path": "members", "value": [{"value": "u1091"}]}])),
            members(json!({}), vec![MemberOp::Remove(ids(&["u1091"]))]),
        ),
        g(
            "entra remove members by filter",
            ops(
                json!([{"op": "remove", "path": "members[value eq \"7f4bc1a3-285e-48ae-8202-5accb43efb0e\"]"}]),
            ),
            members(
                json!({}),
                vec![MemberOp::Remove(ids(&[
                    "7f4bc1a3-285e-48ae-8202-5accb43efb0e",
                ]))],
            ),
        ),
        g(
            "remove members by an or of value filters",
            ops(json!([{"op": "remove", "path": "members[value eq \"a\" or value eq \"b\"]"}])),
            members(json!({}), vec![MemberOp::Remove(ids(&["a", "b"]))]),
        ),
        g(
            "members filtered by something else than value",
            ops(json!([{"op": "remove", "path": "members[display eq \"x\"]"}])),
            err_detail("invalidFilter", "members can only be filtered by value"),
        ),
        g(
            "members value path with a sub-attribute",
            ops(json!([{"op": "remove", "path": "members[value eq \"x\"].display"}])),
            err("invalidPath"),
        ),
        g(
            "members sub path",
            ops(json!([{"op": "replace", "path": "members.display", "value": "x"}])),
            err("invalidPath"),
        ),
        g(
            "replace through a members filter",
            ops(
                json!([{"op": "replace", "path": "members[value eq \"x\"]", "value": {"value": "y"}}]),
            ),
            err("invalidPath"),
        ),
        g(
            "remove members without a value clears",
            ops(json!([{"op": "remove", "path": "members"}])),
            members(json!({}), vec![MemberOp::Clear]),
        ),
        g(
            "add members as a bare string and as a single object",
            ops(json!([
                {"op": "add", "path": "members", "value": "string id 1"},
                {"op": "add", "path": "members", "value": {"value": "u2"}}
            ])),
            members(
                json!({}),
                vec![
                    MemberOp::Add(ids(&["string id 1"])),
                    MemberOp::Add(ids(&["u2"])),
                ],
            ),
        ),
        g(
            "add a member object without value",
            ops(json!([{"op": "add", "path": "members", "value": [{"display": "x"}]}])),
            err("invalidValue"),
        ),
        // authentik
        g(
            "authentik whole-group replace with schemas, id, externalId, members",
            ops(json!([{"op": "replace", "value": {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "id": GROUP_ID,
                "externalId": "ak-1",
                "displayName": "New name",
                "members": [{"value": "u1"}, {"value": "u2"}]
            }}])),
            members(
                json!({"displayName": "New name", "externalId": "ak-1"}),
                vec![MemberOp::Clear, MemberOp::Add(ids(&["u1", "u2"]))],
            ),
        ),
        g(
            "authentik one member per operation",
            ops(json!([
                {"op": "add", "path": "members", "value": [{"value": "u1"}]},
                {"op": "add", "path": "members", "value": [{"value": "u2"}]},
                {"op": "remove", "path": "members", "value": [{"value": "u1"}]}
            ])),
            members(
                json!({}),
                vec![
                    MemberOp::Add(ids(&["u1"])),
                    MemberOp::Add(ids(&["u2"])),
                    MemberOp::Remove(ids(&["u1"])),
                ],
            ),
        ),
        g(
            "path-less add with members",
            ops(json!([{"op": "add", "value": {"members": [{"value": "u3"}]}}])),
            members(json!({}), vec![MemberOp::Add(ids(&["u3"]))]),
        ),
        g(
            "remove of the required displayName",
            ops(json!([{"op": "remove", "path": "displayName"}])),
            err_detail("invalidValue", "displayName is required"),
        ),
        g(
            "a User attribute on a Group",
            ops(json!([{"op": "add", "path": "emails", "value": []}])),
            err("invalidPath"),
        ),
        g(
            "the enterprise extension on a Group",
            ops(
                json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "x"}]),
            ),
            err("invalidPath"),
        ),
    ];
    check(rows);
}

#[test]
fn body_rows() {
    let mut too_many = Vec::new();
    too_many.resize(
        MAX_OPERATIONS + 1,
        json!({"op": "replace", "path": "active", "value": false}),
    );
    let mut at_limit = too_many.clone();
    at_limit.pop();
    let rows = vec![
        u("empty Operations is a no-op", ops(json!([])), same()),
        u(
            "schemas may be omitted",
            json!({"Operations": [{"op": "replace", "value": {"active": false}}]}),
            changed(json!({"active": false})),
        ),
        u(
            "op and member names matched case-insensitively",
            json!({"schemas": [PATCH_SCHEMA], "operations": [{"OP": "ADD", "Path": "nickName", "Value": "B"}]}),
            changed(json!({"nickName": "B"})),
        ),
        u(
            "an empty path means no path",
            ops(json!([{"op": "replace", "path": "", "value": {"active": false}}])),
            changed(json!({"active": false})),
        ),
        u(
            "add with a null value adds nothing",
            ops(json!([{"op": "add", "path": "nickName", "value": null}])),
            same(),
        ),
        u("body not an object", json!([]), err("invalidSyntax")),
        u(
            "Operations missing",
            json!({"schemas": [PATCH_SCHEMA]}),
            err("invalidSyntax"),
        ),
        u(
            "Operations not an array",
            json!({"schemas": [PATCH_SCHEMA], "Operations": {}}),
            err("invalidSyntax"),
        ),
        u(
            "schemas without the PatchOp URN",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "Operations": []}),
            err("invalidSyntax"),
        ),
        u(
            "operation not an object",
            ops(json!(["add"])),
            err("invalidSyntax"),
        ),
        u(
            "op missing",
            ops(json!([{"path": "nickName", "value": "x"}])),
            err("invalidSyntax"),
        ),
        u(
            "op unknown",
            ops(json!([{"op": "move", "path": "nickName", "value": "x"}])),
            err("invalidSyntax"),
        ),
        u(
            "op not a string",
            ops(json!([{"op": 1, "path": "nickName", "value": "x"}])),
            err("invalidSyntax"),
        ),
        u(
            "add without a value",
            ops(json!([{"op": "add", "path": "nickName"}])),
            err("invalidValue"),
        ),
        u(
            "replace without a value",
            ops(json!([{"op": "replace"}])),
            err("invalidValue"),
        ),
        u(
            "path not a string",
            ops(json!([{"op": "add", "path": 3, "value": "x"}])),
            err("invalidPath"),
        ),
        u(
            "malformed path",
            ops(json!([{"op": "add", "path": "emails[type eq \"work\"", "value": "x"}])),
            err("invalidPath"),
        ),
        u(
            "1001 operations",
            ops(Value::Array(too_many)),
            Want::Err(413, "tooMany", "1001"),
        ),
        u(
            "1000 operations",
            ops(Value::Array(at_limit)),
            changed(json!({"active": false})),
        ),
    ];
    check(rows);
}

fn parsed(operations: Value) -> Vec<super::PatchOperation> {
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
