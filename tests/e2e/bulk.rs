//! Bulk (RFC 7644 3.7): bulkId references, per-operation results in order, failOnErrors,
//! and the advertised limits.

use serde_json::{json, Value};

use crate::harness::{assert_error, Daemon};

fn bulk(ops: Value, fail_on_errors: Option<u64>) -> Value {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": ops,
    });
    if let Some(n) = fail_on_errors {
        body["failOnErrors"] = json!(n);
    }
    body
}

fn statuses(r: &Value) -> Vec<String> {
    r["Operations"]
        .as_array()
        .map(|ops| {
            ops.iter()
                .map(|o| o["status"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_user_created_and_added_to_a_new_team_in_one_request() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let spc = c.get("/ServiceProviderConfig");
    assert_eq!(spc.body["bulk"]["supported"], true);
    assert_eq!(spc.body["bulk"]["maxOperations"], 1000);
    assert_eq!(spc.body["bulk"]["maxPayloadSize"], 1 << 20);

    let r = c.post(
        "/Bulk",
        &bulk(
            json!([
                {"method": "POST", "path": "/Users", "bulkId": "ann",
                 "data": {"userName": "ann@acme.com"}},
                {"method": "POST", "path": "/Groups", "bulkId": "eng",
                 "data": {"displayName": "Eng", "members": [{"value": "bulkId:ann"}]}},
                {"method": "PATCH", "path": "/Users/bulkId:ann",
                 "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                          "Operations": [{"op": "replace", "value": {"active": false}}]}},
                {"method": "POST", "path": "/Users", "bulkId": "dup",
                 "data": {"userName": "ANN@acme.com"}},
                {"method": "POST", "path": "/Groups",
                 "data": {"displayName": "Ops", "members": [{"value": "bulkId:dup"}]}},
            ]),
            None,
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
    );
    assert_eq!(statuses(&r.body), ["201", "201", "200", "409", "400"]);
    let ops = r.body["Operations"].as_array().cloned().unwrap_or_default();
    assert_eq!(ops[0]["bulkId"], "ann");
    assert_eq!(ops[3]["response"]["scimType"], "uniqueness");
    assert_eq!(ops[4]["response"]["scimType"], "invalidValue");
    let group = ops[1]["location"].as_str().expect("location").to_string();
    let user = ops[0]["location"].as_str().expect("location").to_string();
    let user_id = user.rsplit('/').next().unwrap_or_default();

    let g = c.get(&group[group.find("/Groups").unwrap_or(0)..]);
    assert_eq!(g.body["members"][0]["value"], user_id);
    let u = c.get(&format!("/Users/{user_id}"));
    assert_eq!(u.body["active"], false);
    assert_eq!(u.body["groups"][0]["display"], "Eng");
    // The failed operations left nothing behind.
    assert_eq!(c.get("/Groups").body["totalResults"], 1);
    assert_eq!(c.get("/Users").body["totalResults"], 1);
}

#[test]
fn fail_on_errors_stops_and_limits_are_enforced() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    c.create_user("bob@acme.com");
    let r = c.post(
        "/Bulk",
        &bulk(
            json!([
                {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "bob@acme.com"}},
                {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "cy@acme.com"}},
            ]),
            Some(1),
        ),
    );
    assert_eq!(r.status, 200);
    assert_eq!(statuses(&r.body), ["409"]);
    assert_eq!(c.get("/Users").body["totalResults"], 1);

    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
        .collect();
    assert_error(
        &c.post("/Bulk", &bulk(Value::Array(many), None)),
        413,
        Some("tooMany"),
    );
    assert_error(
        &c.post("/Bulk", &json!({"nope": 1})),
        400,
        Some("invalidSyntax"),
    );
    assert_error(&c.get("/Bulk"), 405, None);
}

/// Operations are prepared before the writer against a snapshot; one whose target an earlier
/// operation of the same request wrote sees that write, as if worked out in order.
#[test]
fn operations_on_one_resource_see_the_earlier_ones_of_the_same_request() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let ann = c.create_user("ann@acme.com");
    let gone = c.create_user("gone@acme.com");
    let patch = |attr: &str, value: &str| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "replace", "path": attr, "value": value}]})
    };
    let r = c.post(
        "/Bulk",
        &bulk(
            json!([
                {"method": "PATCH", "path": format!("/Users/{ann}"), "data": patch("title", "A")},
                {"method": "PATCH", "path": format!("/Users/{ann}"), "data": patch("nickName", "N")},
                // The version the request started from is stale by now.
                {"method": "PATCH", "path": format!("/Users/{ann}"), "version": "W/\"1\"",
                 "data": patch("title", "B")},
                {"method": "PUT", "path": format!("/Users/{ann}"), "version": "W/\"3\"",
                 "data": {"userName": "ann@acme.com", "title": "C", "nickName": "N"}},
                {"method": "DELETE", "path": format!("/Users/{gone}")},
                {"method": "PATCH", "path": format!("/Users/{gone}"), "data": patch("title", "X")},
            ]),
            None,
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        statuses(&r.body),
        ["200", "200", "412", "200", "204", "404"],
        "{}",
        r.body
    );
    let u = c.get(&format!("/Users/{ann}"));
    assert_eq!(u.expect(200).body["title"], "C");
    assert_eq!(u.body["nickName"], "N");
    assert_eq!(u.body["meta"]["version"], "W/\"4\"");
    assert_error(&c.get(&format!("/Users/{gone}")), 404, None);
}
