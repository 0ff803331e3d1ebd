//! PATCH rows about the request body itself: schemas, the operation list and its limit.

use super::*;

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
