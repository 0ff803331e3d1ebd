//! Declared extensions in the feed: the typed values (a dateTime normalised, an integer
//! coerced from Entra's string) reach the events, a webhook-ready body, and the snapshot
//! exactly as GET returns them, on every backend.

use serde_json::json;

use crate::declared::{declarations, okta_user, ENTRA, OKTA};
use crate::events::{consumer, drain, start_with};
use crate::snapshot::lines;

#[test]
fn declared_values_reach_the_events_and_the_snapshot_as_get_returns_them() {
    let (d, tokens) = start_with("", &[("acme", declarations())]);
    let c = d.client("acme");
    let created = c.post("/Users", &okta_user("ann@acme.com", "M", json!("3")));
    created.expect(201);
    let id = created.body["id"].as_str().expect("id").to_string();
    // Entra's form: a URN-prefixed path.
    c.patch(
        &format!("/Users/{id}"),
        &json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Add", "path": format!("{ENTRA}:costCode"), "value": "X1"}]
        }),
    )
    .expect(200);
    let got = c.get(&format!("/Users/{id}"));
    got.expect(200);
    assert_eq!(got.body[OKTA]["level"], json!(3), "coerced to an integer");
    assert_eq!(got.body[OKTA]["startDate"], json!("2024-01-01T00:00:00Z"));
    assert_eq!(got.body[ENTRA]["costCode"], json!("X1"));

    let feed = consumer(&d, "acme", &tokens["acme"]);
    let events = drain(&feed);
    let last = events
        .iter()
        .rev()
        .find(|e| e["data"]["id"] == id.as_str())
        .expect("an event of the user");
    assert_eq!(last["data"][OKTA], got.body[OKTA], "{last:#}");
    assert_eq!(last["data"][ENTRA], got.body[ENTRA], "{last:#}");

    let r = feed.get("/snapshot");
    r.expect(200);
    let line = lines(&r)
        .into_iter()
        .find(|l| l["type"] == "user")
        .expect("a user line");
    assert_eq!(line["data"][OKTA], got.body[OKTA], "{line:#}");
    assert_eq!(line["data"][ENTRA], got.body[ENTRA], "{line:#}");
}
