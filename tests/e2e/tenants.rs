//! One tenant cannot hurt another through its values: strings with U+0000 or past their length
//! caps are refused with 400 on either backend, never stored, and never take another org's
//! writes down with them; sorted pages are bounded; filters with such values match nothing.

use std::thread;

use serde_json::{json, Value};

use crate::harness::{assert_error, enc, filter_q, Client, Daemon, USER};

/// The attacker's requests of issue 19, each with the attribute its error must name.
fn bad_requests(acme: &Client) -> Vec<(&'static str, crate::harness::Resp)> {
    let long = |n: usize| "x".repeat(n);
    vec![
        (
            "userName",
            acme.post("/Users", &json!({"schemas": [USER], "userName": "nul\u{0}byte"})),
        ),
        (
            "externalId",
            acme.post(
                "/Users",
                &json!({"schemas": [USER], "userName": "ext@acme.com", "externalId": long(6000)}),
            ),
        ),
        (
            "userName",
            acme.post("/Users", &json!({"schemas": [USER], "userName": long(4000)})),
        ),
        ("id", acme.delete("/Users/%00")),
    ]
}

#[test]
fn bad_strings_are_refused_with_400_naming_the_attribute_and_never_stored() {
    let d = Daemon::start(&["acme"]);
    let acme = d.client("acme");
    for (attr, r) in bad_requests(&acme) {
        assert_error(&r, 400, Some("invalidValue"));
        let detail = r.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(attr), "{attr}: {detail}");
    }
    // The limit is named when a length is over it.
    let r = acme.post(
        "/Users",
        &json!({"schemas": [USER], "userName": "y@acme.com", "title": "t".repeat(16_385)}),
    );
    assert_error(&r, 400, Some("invalidValue"));
    let detail = r.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("title") && detail.contains("16384"), "{detail}");
    // At the caps, values are taken; multi-byte characters count as one.
    let at_cap = "é".repeat(512);
    let id = acme
        .post(
            "/Users",
            &json!({"schemas": [USER], "userName": at_cap, "title": "t".repeat(16_384),
                    "emails": [{"value": format!("{}@x.io", "e".repeat(500))}]}),
        )
        .expect(201)
        .id();
    assert_eq!(acme.get(&format!("/Users/{id}")).expect(200).body["userName"], at_cap);

    // PATCH and PUT are held to the same rules.
    let r = acme.patch_ops(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "displayName", "value": "a\u{0}b"}]),
    );
    assert_error(&r, 400, Some("invalidValue"));
    let r = acme.patch_ops(
        &format!("/Users/{id}"),
        json!([{"op": "add", "path": "emails", "value": [{"value": "z".repeat(513)}]}]),
    );
    assert_error(&r, 400, Some("invalidValue"));
    assert!(r.body["detail"].as_str().unwrap_or_default().contains("emails.value"));
    let r = acme.put(
        &format!("/Users/{id}"),
        &json!({"schemas": [USER], "userName": at_cap, "nickName": "n".repeat(20_000)}),
    );
    assert_error(&r, 400, Some("invalidValue"));
    // Team members are ids: the same rules.
    let r = acme.post(
        "/Groups",
        &json!({"displayName": "T", "members": [{"value": "m\u{0}"}]}),
    );
    assert_error(&r, 400, Some("invalidValue"));
    let team = acme.create_group("Team", &[]);
    let r = acme.patch_ops(
        &format!("/Groups/{team}"),
        json!([{"op": "add", "path": "members", "value": [{"value": "m".repeat(600)}]}]),
    );
    assert_error(&r, 400, Some("invalidValue"));
    // Removing by a filter no member can match removes nothing and is no error.
    let r = acme.patch_ops(
        &format!("/Groups/{team}"),
        json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", "m".repeat(600))}]),
    );
    assert!(r.status == 200 || r.status == 204, "{}: {}", r.status, r.body);
    // Path ids with NUL or past the cap: 400 on every method.
    for method in ["GET", "PUT", "PATCH", "DELETE"] {
        for id in ["a%00b".to_string(), "i".repeat(513)] {
            let body = json!({"schemas": [USER], "userName": "q@acme.com"});
            let r = acme.send(method, &format!("/Users/{id}"), Some(&body), &[]);
            assert_error(&r, 400, Some("invalidValue"));
        }
    }

    // Filters with such values (U+0000 written as the JSON escape a filter string takes)
    // match nothing, on indexed attributes and others.
    for filter in [
        format!("userName eq \"{}\"", "u".repeat(600)),
        "userName eq \"a\\u0000\"".to_string(),
        format!("externalId eq \"{}\"", "u".repeat(600)),
        "emails.value eq \"a\\u0000b\"".to_string(),
        "emails[value eq \"a\\u0000b\"]".to_string(),
        "title eq \"a\\u0000\"".to_string(),
    ] {
        let r = acme.get(&format!("/Users?filter={}", enc(&filter)));
        r.expect(200);
        assert_eq!(r.total(), 0, "{filter}");
    }
    let r = acme.get(&format!("/Groups{}", filter_q("displayName eq \"x\\u0000\"")));
    assert_eq!(r.expect(200).total(), 0);

    // Nothing of the refused writes was stored.
    assert_eq!(acme.get("/Users").expect(200).total(), 1);
}

/// Eight bystander threads of globex creating users while `attack` runs over and over (at
/// least five times, and until they are done, so their writes share group-commit batches
/// with the attacker's); asserts that every bystander write succeeded and was kept.
fn with_bystanders(d: &Daemon, mut attack: impl FnMut()) {
    let globex = d.client("globex");
    const WRITERS: usize = 8;
    const EACH: usize = 40;
    let bystanders: Vec<_> = (0..WRITERS)
        .map(|w| {
            let globex = globex.clone();
            thread::spawn(move || {
                let mut failed = Vec::new();
                for i in 0..EACH {
                    let r = globex.post(
                        "/Users",
                        &json!({"schemas": [USER], "userName": format!("w{w}-{i}@globex.com")}),
                    );
                    if r.status != 201 {
                        failed.push(format!("{}: {}", r.status, r.body));
                    }
                }
                failed
            })
        })
        .collect();
    // The attacker keeps sending until every bystander is done, so their writes share
    // group-commit batches with the bad ones.
    let mut rounds = 0;
    while rounds < 5 || bystanders.iter().any(|t| !t.is_finished()) {
        attack();
        rounds += 1;
    }
    let mut failed = Vec::new();
    for t in bystanders {
        failed.extend(t.join().expect("writer thread"));
    }
    assert!(failed.is_empty(), "{} bystander writes failed: {failed:?}", failed.len());
    assert_eq!(globex.get("/Users?count=0").expect(200).total(), (WRITERS * EACH) as u64);
}

#[test]
fn one_orgs_bad_values_never_fail_another_orgs_writes() {
    let d = Daemon::start(&["acme", "globex"]);
    let acme = d.client("acme");
    with_bystanders(&d, || {
        for (attr, r) in bad_requests(&acme) {
            assert_error(&r, 400, Some("invalidValue"));
            assert!(r.body["detail"].as_str().unwrap_or_default().contains(attr));
        }
    });
    assert_eq!(acme.get("/Users?count=0").expect(200).total(), 0);
}

/// What PostgreSQL refuses that scimd's own checks let through (here made so by a trigger:
/// data exceptions, limits, constraint violations) is the refusal of the one request whose
/// value it was: undone to its savepoint, while the rest of its batch commits.
#[test]
fn a_value_postgres_refuses_fails_only_its_own_request() {
    if !crate::harness::on_postgres() {
        println!("skipped: PostgreSQL's own refusals (PostgreSQL only)");
        return;
    }
    let d = Daemon::start(&["acme", "globex"]);
    let text = std::fs::read_to_string(&d.config).expect("config");
    let url = text
        .lines()
        .find_map(|l| l.strip_prefix("url = "))
        .expect("a [store] url")
        .trim_matches('"');
    let db = url.rsplit('/').next().expect("database name");
    let cluster = scimd_tests::pg::require().expect("the cluster");
    cluster
        .psql(
            db,
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN \
               IF NEW.attrs::text LIKE '%refuse-22%' THEN RAISE EXCEPTION 'x' USING ERRCODE = '22001'; END IF; \
               IF NEW.attrs::text LIKE '%refuse-54%' THEN RAISE EXCEPTION 'x' USING ERRCODE = '54000'; END IF; \
               IF NEW.attrs::text LIKE '%refuse-23%' THEN RAISE EXCEPTION 'x' USING ERRCODE = '23514'; END IF; \
               RETURN NEW; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON scimd_users \
               FOR EACH ROW EXECUTE FUNCTION refuse();",
        )
        .expect("install the trigger");
    let acme = d.client("acme");
    let mut n = 0;
    with_bystanders(&d, || {
        for code in ["22", "54", "23"] {
            n += 1;
            let r = acme.post(
                "/Users",
                &json!({"schemas": [USER], "userName": format!("a{n}@acme.com"),
                        "title": format!("refuse-{code}")}),
            );
            assert_error(&r, 400, Some("invalidValue"));
        }
    });
    assert_eq!(acme.get("/Users?count=0").expect(200).total(), 0);
    // The org itself goes on writing.
    acme.create_user("fine@acme.com");
}

#[test]
fn sorted_pages_stop_at_the_sorted_window_and_unsorted_paging_goes_on() {
    let d = Daemon::start_with("[limits]\nmax_sorted_window = 50\n", &[("acme", "")]);
    let acme = d.client("acme");
    for i in 0..60 {
        acme.create_user(&format!("u{i:02}@acme.com"));
    }
    // Within the window: sorted, and the page holds whole resources read again by id.
    let r = acme.get("/Users?sortBy=userName&sortOrder=descending&startIndex=41&count=10");
    r.expect(200);
    let names: Vec<Value> = r.resources().iter().map(|u| u["userName"].clone()).collect();
    let want: Vec<Value> = (10..20).rev().map(|i| json!(format!("u{i:02}@acme.com"))).collect();
    assert_eq!(names, want);
    assert_eq!(r.total(), 60);
    assert!(r.resources()[0]["meta"]["location"].is_string());
    // Past it: 400 that says how to go deeper, on GET and POST .search.
    for r in [
        acme.get("/Users?sortBy=userName&startIndex=42&count=10"),
        acme.get(&format!(
            "/Users?sortBy=name.givenName&startIndex=45&count=10{}",
            filter_q("userName sw \"u\"").replace('?', "&")
        )),
        acme.post(
            "/Users/.search",
            &json!({"sortBy": "userName", "startIndex": 50, "count": 5}),
        ),
    ] {
        assert_error(&r, 400, Some("invalidValue"));
        let detail = r.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("max_sorted_window") && detail.contains("cursor"), "{detail}");
    }
    // A page past the last result is empty, as unsorted, filtered or not: counting them
    // holds no candidates.
    let deep = "/Users?sortBy=name.givenName&startIndex=9000000000000000000&count=1";
    let r = acme.get(deep);
    assert_eq!(r.expect(200).resources().len(), 0);
    assert_eq!(r.total(), 60);
    let r = acme.get(&format!("{deep}{}", filter_q("userName sw \"u0\"").replace('?', "&")));
    assert_eq!(r.expect(200).resources().len(), 0);
    assert_eq!(r.total(), 10);
    // Unsorted paging works at any depth.
    let r = acme.get("/Users?startIndex=56&count=10");
    assert_eq!(r.expect(200).resources().len(), 5);
    let r = acme.get("/Users?startIndex=9000000000000000000&count=1");
    assert_eq!(r.expect(200).resources().len(), 0);
}
