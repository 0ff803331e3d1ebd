//! The basics: health, auth, discovery, and a user's create-read-delete.

use serde_json::json;

use crate::harness::Daemon;

#[test]
fn healthz_needs_no_auth_and_scim_needs_a_token() {
    let d = Daemon::start(&["acme"]);
    let resp = ureq::get(&format!("{}/healthz", d.origin))
        .call()
        .expect("healthz");
    assert_eq!(resp.status(), 200);

    let mut anon = d.client("acme");
    anon.token = None;
    let r = anon.get("/Users");
    assert_eq!(r.status, 401);
    assert_eq!(r.body["status"], "401");
    assert_eq!(
        r.www_authenticate.as_deref(),
        Some("Bearer realm=\"scimd\"")
    );

    let c = d.client("acme");
    let r = c.post(
        "/Users",
        &json!({"userName": "ann@acme.com", "name": {"givenName": "Ann"}}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["id"].as_str().expect("id").to_string();
    assert!(r.location.as_deref().is_some_and(|l| l.ends_with(&id)));
    let r = c.get(&format!("/Users/{id}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body["userName"], "ann@acme.com");
    assert_eq!(
        r.content_type.as_deref(),
        Some("application/scim+json; charset=utf-8")
    );
    assert_eq!(c.delete(&format!("/Users/{id}")).status, 204);
    assert_eq!(c.get(&format!("/Users/{id}")).status, 404);
}
