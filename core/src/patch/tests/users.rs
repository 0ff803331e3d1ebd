//! PATCH rows against a User: paths, value filters, path-less values and their errors.

use super::*;

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
            "path-less echo: schemas, meta, equal id, groups, password, unknown keys skipped; undeclared URN kept",
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
            changed(json!({"title": "Boss", "urn:example:unknown:2.0:User": {"thing": "x"}})),
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
