//! Cross-org isolation: one org's token never reads or writes another org's data.

use serde_json::json;

use crate::harness::{assert_error, assert_team_members, filter_q, sorted, values_of, Daemon};

#[test]
fn one_orgs_token_and_ids_mean_nothing_in_another() {
    let d = Daemon::start(&["acme", "globex"]);
    let acme = d.client("acme");
    let globex = d.client("globex");

    let ann = acme.create_user("ann@shared.com");
    let team = acme.create_group("Shared Team", &[&ann]);

    // acme's token on globex's URL: 401, on reads and writes.
    let stolen = globex.with_token(Some(&d.tokens["acme"]));
    for (method, path) in [
        ("GET", "/Users".to_string()),
        ("GET", format!("/Users/{ann}")),
        ("DELETE", format!("/Users/{ann}")),
        ("GET", "/Groups".to_string()),
    ] {
        let r = stolen.send(method, &path, None, &[]);
        assert_error(&r, 401, None);
    }
    let r = stolen.post("/Users", &json!({"userName": "intruder@acme.com"}));
    assert_error(&r, 401, None);

    // acme's ids under globex (with globex's own token): 404 for every method.
    for (kind, id) in [("Users", &ann), ("Groups", &team)] {
        let path = format!("/{kind}/{id}");
        assert_error(&globex.get(&path), 404, None);
        assert_error(
            &globex.put(
                &path,
                &json!({"userName": "x@globex.com", "displayName": "X"}),
            ),
            404,
            None,
        );
        assert_error(
            &globex.patch_ops(
                &path,
                json!([{"op": "replace", "path": "displayName", "value": "X"}]),
            ),
            404,
            None,
        );
        assert_error(&globex.delete(&path), 404, None);
    }
    // Untouched in acme.
    let r = acme.get(&format!("/Users/{ann}"));
    r.expect(200);
    assert_eq!(r.body["meta"]["version"], "W/\"1\"");
    assert_eq!(
        acme.get(&format!("/Groups/{team}")).body["displayName"],
        "Shared Team"
    );

    // The same userName and team name in both orgs is fine, with distinct ids.
    let gann = globex.create_user("ann@shared.com");
    assert_ne!(gann, ann);
    let gteam = globex.create_group("Shared Team", &[&gann]);
    assert_ne!(gteam, team);
    // Uniqueness still holds inside each org.
    assert_error(
        &globex.post("/Users", &json!({"userName": "ANN@shared.com"})),
        409,
        Some("uniqueness"),
    );

    // A member id from the other org is skipped, not linked.
    let r = globex.patch_ops(
        &format!("/Groups/{gteam}"),
        json!([{"op": "add", "path": "members", "value": [{"value": ann}]}]),
    );
    assert_team_members(&globex, &r, &format!("/Groups/{gteam}"), sorted(&[&gann]));
    let r = globex.post(
        "/Groups",
        &json!({"displayName": "Poached", "members": [{"value": ann}]}),
    );
    r.expect(201);
    assert_eq!(values_of(&r.body, "members"), Vec::<String>::new());
    assert_eq!(
        values_of(&acme.get(&format!("/Users/{ann}")).body, "groups"),
        sorted(&[&team])
    );

    // Filters, lists and searches never leak.
    let only_acme = acme.create_user("only-acme@acme.com");
    for f in [
        "userName eq \"only-acme@acme.com\"".to_string(),
        "emails.value eq \"only-acme@acme.com\"".to_string(),
        "emails[type eq \"work\"].value eq \"only-acme@acme.com\"".to_string(),
        format!("id eq \"{only_acme}\""),
        "userName co \"acme\"".to_string(),
    ] {
        let r = globex.get(&format!("/Users{}", filter_q(&f)));
        r.expect(200);
        assert_eq!(r.total(), 0, "{f} leaked: {:#}", r.body);
    }
    let r = globex.get(&format!(
        "/Users{}",
        filter_q("userName eq \"ann@shared.com\"")
    ));
    assert_eq!(r.ids(), vec![gann.clone()]);
    let r = acme.get(&format!(
        "/Users{}",
        filter_q("userName eq \"ann@shared.com\"")
    ));
    assert_eq!(r.ids(), vec![ann.clone()]);
    let r = globex.get(&format!(
        "/Groups{}",
        filter_q(&format!("members.value eq \"{ann}\""))
    ));
    assert_eq!(r.total(), 0);
    assert_eq!(globex.get("/Users").total(), 1);
    assert_eq!(acme.get("/Users").total(), 2);
    assert_eq!(globex.get("/Groups").total(), 2);
    assert_eq!(acme.get("/Groups").total(), 1);
    let r = globex.post("/.search", &json!({}));
    r.expect(200);
    assert_eq!(r.total(), 3);
    let mut mine = r.ids();
    mine.sort();
    let r = globex.get("/Groups");
    let mut want = r.ids();
    want.push(gann.clone());
    want.sort();
    assert_eq!(mine, want);
    // Paging counters are per org too.
    let r = globex.get("/Users?startIndex=1&count=2");
    assert_eq!(r.total(), 1);
    assert_eq!(r.body["itemsPerPage"].as_u64(), Some(1));

    // Deleting in one org leaves the other's twin alone.
    globex.delete(&format!("/Users/{gann}")).expect(204);
    assert_eq!(acme.get(&format!("/Users/{ann}")).status, 200);
    assert_eq!(
        values_of(&acme.get(&format!("/Groups/{team}")).body, "members"),
        sorted(&[&ann])
    );
    assert_eq!(
        values_of(&globex.get(&format!("/Groups/{gteam}")).body, "members"),
        Vec::<String>::new()
    );
    // And the name is free again only in that org.
    globex.create_user("ann@shared.com");
    assert_error(
        &acme.post("/Users", &json!({"userName": "ann@shared.com"})),
        409,
        Some("uniqueness"),
    );
}

#[test]
fn org_names_in_the_url_and_resource_locations_stay_per_org() {
    let d = Daemon::start(&["acme", "globex"]);
    let acme = d.client("acme");
    let r = acme.post("/Users", &json!({"userName": "ann@acme.com"}));
    r.expect(201);
    let loc = r.body["meta"]["location"]
        .as_str()
        .expect("location")
        .to_string();
    assert!(loc.contains("/scim/v2/acme/Users/"), "{loc}");
    assert_eq!(r.location.as_deref(), Some(loc.as_str()));
    let r = d
        .client("globex")
        .post("/Groups", &json!({"displayName": "G"}));
    r.expect(201);
    assert!(r.body["meta"]["location"]
        .as_str()
        .is_some_and(|l| l.contains("/scim/v2/globex/Groups/")));
    let spc = acme.get("/ServiceProviderConfig");
    assert!(spc.body["meta"]["location"]
        .as_str()
        .is_some_and(|l| l.contains("/scim/v2/acme/")));
}
