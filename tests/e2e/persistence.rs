//! Data survives a restart: stop the daemon with SIGTERM, start it on the same dir, and every
//! user, team, membership, version and index is still there.

use serde_json::{json, Value};

use crate::harness::{
    assert_error, assert_team_members, filter_q, sorted, values_of, Client, Daemon, ENT,
};

/// A resource as read through `origin`, with that origin taken out so reads from a daemon on
/// another port compare equal.
fn read(c: &Client, origin: &str, path: &str) -> Value {
    let r = c.get(path);
    r.expect(200);
    assert_eq!(r.etag.as_deref(), r.body["meta"]["version"].as_str());
    let text = r.body.to_string().replace(origin, "ORIGIN");
    serde_json::from_str(&text).expect("json")
}

#[test]
fn users_teams_memberships_and_versions_survive_a_restart() {
    let d = Daemon::start(&["acme", "globex"]);
    let c = d.client("acme");
    let r = c.post(
        "/Users",
        &json!({"userName": "ann@acme.com", "externalId": "ext-ann",
                "name": {"givenName": "Ann", "familyName": "Lee"},
                "emails": [{"value": "ann@acme.com", "type": "work", "primary": true},
                           {"value": "ann@home.example", "type": "home"}],
                "password": "never-stored",
                ENT: {"employeeNumber": "7", "department": "Sales"}}),
    );
    r.expect(201);
    let ann = r.id();
    let bob = c.create_user("bob@acme.com");
    let cy = c.create_user("cy@acme.com");
    c.patch_ops(
        &format!("/Users/{ann}"),
        json!([{"op": "Add", "path": format!("{ENT}:manager"), "value": bob}]),
    )
    .expect(200);
    // Deactivated users keep their memberships across the restart too.
    c.patch_ops(
        &format!("/Users/{cy}"),
        json!([{"op": "replace", "value": {"active": false}}]),
    )
    .expect(200);
    let team = c.create_group("Team", &[&ann, &bob, &cy]);
    let other = c.create_group("Other", &[&bob]);
    c.patch_ops(
        &format!("/Groups/{team}"),
        json!([{"op": "remove", "path": format!("members[value eq \"{bob}\"]")},
               {"op": "replace", "path": "displayName", "value": "Team A"}]),
    )
    .expect(204);
    let deleted = c.create_user("gone@acme.com");
    c.delete(&format!("/Users/{deleted}")).expect(204);
    let g = d.client("globex");
    let gann = g.create_user("ann@acme.com");

    let paths = [
        format!("/Users/{ann}"),
        format!("/Users/{bob}"),
        format!("/Users/{cy}"),
        format!("/Groups/{team}"),
        format!("/Groups/{other}"),
    ];
    let before: Vec<Value> = paths.iter().map(|p| read(&c, &d.origin, p)).collect();
    let list_before = c.get("/Users?startIndex=1&count=100").ids();
    assert!(before[0].get("password").is_none());
    assert_eq!(values_of(&before[3], "members"), sorted(&[&ann, &cy]));

    let old_origin = d.origin.clone();
    let (dir, config, tokens) = d.stop();
    let d = Daemon::start_in(dir, config, tokens);
    let c = d.client("acme");
    let g = d.client("globex");

    let after: Vec<Value> = paths.iter().map(|p| read(&c, &d.origin, p)).collect();
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(a, b, "changed across the restart (old origin {old_origin})");
    }
    assert_eq!(after[0][ENT]["manager"]["value"], bob);
    assert_eq!(after[2]["active"], false);
    assert_eq!(values_of(&after[2], "groups"), sorted(&[&team]));
    assert_eq!(values_of(&after[1], "groups"), sorted(&[&other]));
    assert_eq!(
        c.get("/Users?startIndex=1&count=100").ids(),
        list_before,
        "same order"
    );
    assert_eq!(c.get("/Users").total(), 3);
    assert_eq!(c.get("/Groups").total(), 2);
    assert_error(&c.get(&format!("/Users/{deleted}")), 404, None);
    assert_eq!(g.get("/Users").ids(), vec![gann]);

    // The indexes came back: lookups, uniqueness and the member tables.
    let one = |f: &str| c.get(&format!("/Users{}", filter_q(f))).ids();
    assert_eq!(one("userName eq \"ANN@acme.com\""), vec![ann.clone()]);
    assert_eq!(one("externalId eq \"ext-ann\""), vec![ann.clone()]);
    assert_eq!(
        one("emails.value eq \"ann@home.example\""),
        vec![ann.clone()]
    );
    assert_eq!(
        one("emails[type eq \"work\"].value eq \"ann@acme.com\""),
        vec![ann.clone()]
    );
    assert!(one("userName eq \"gone@acme.com\"").is_empty());
    let r = c.get(&format!("/Groups{}", filter_q("displayName eq \"team a\"")));
    assert_eq!(r.ids(), vec![team.clone()]);
    assert_error(
        &c.post("/Users", &json!({"userName": "Bob@Acme.com"})),
        409,
        Some("uniqueness"),
    );
    assert_error(
        &c.post("/Groups", &json!({"displayName": "OTHER"})),
        409,
        Some("uniqueness"),
    );
    c.create_user("gone@acme.com");

    // Writes continue from the stored versions, and membership edits still work.
    let v = after[3]["meta"]["version"]
        .as_str()
        .expect("version")
        .to_string();
    let r = c.send(
        "PATCH",
        &format!("/Groups/{team}"),
        Some(&crate::harness::patch_body(
            json!([{"op": "add", "path": "members", "value": [{"value": bob}]}]),
        )),
        &[("If-Match", &v)],
    );
    r.expect(204);
    assert_ne!(r.etag.as_deref(), Some(v.as_str()));
    assert_team_members(
        &c,
        &r,
        &format!("/Groups/{team}"),
        sorted(&[&ann, &bob, &cy]),
    );
    c.delete(&format!("/Users/{ann}")).expect(204);
    assert_eq!(
        values_of(&c.get(&format!("/Groups/{team}")).body, "members"),
        sorted(&[&bob, &cy])
    );

    // And a second restart keeps those post-restart writes.
    let (dir, config, tokens) = d.stop();
    let d = Daemon::start_in(dir, config, tokens);
    let c = d.client("acme");
    assert_eq!(
        values_of(&c.get(&format!("/Groups/{team}")).body, "members"),
        sorted(&[&bob, &cy])
    );
    assert_error(&c.get(&format!("/Users/{ann}")), 404, None);
    assert_eq!(c.get("/Users").total(), 3);
}

#[test]
fn every_acknowledged_write_survives_a_kill() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let mut users = Vec::new();
    for i in 0..20 {
        users.push(c.create_user(&format!("k{i:02}@acme.com")));
    }
    let team = c.create_group("Killers", &[&users[0], &users[1]]);
    c.patch_ops(
        &format!("/Groups/{team}"),
        json!([{"op": "add", "path": "members", "value": [{"value": users[2]}]}]),
    )
    .expect(204);
    c.patch_ops(
        &format!("/Users/{}", users[3]),
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .expect(200);
    c.delete(&format!("/Users/{}", users[4])).expect(204);
    let before = read(&c, &d.origin, &format!("/Groups/{team}"));

    // No SIGTERM, no flush on the way out: a 2xx must already be on disk.
    let (dir, config, tokens) = d.kill();
    let d = Daemon::start_in(dir, config, tokens);
    let c = d.client("acme");
    assert_eq!(read(&c, &d.origin, &format!("/Groups/{team}")), before);
    assert_eq!(c.get("/Users").total(), 19);
    assert_eq!(c.get(&format!("/Users/{}", users[3])).body["active"], false);
    assert_error(&c.get(&format!("/Users/{}", users[4])), 404, None);
    assert_eq!(
        values_of(&c.get(&format!("/Users/{}", users[2])).body, "groups"),
        sorted(&[&team])
    );
    assert_error(
        &c.post("/Users", &json!({"userName": "K00@acme.com"})),
        409,
        Some("uniqueness"),
    );
    c.create_user("after-kill@acme.com");
    assert_eq!(c.get("/Users").total(), 20);
}
