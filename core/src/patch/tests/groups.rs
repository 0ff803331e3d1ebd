//! PATCH rows against a Group: membership changes and the member operations they report.

use super::*;

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
