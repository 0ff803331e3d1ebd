//! Lists and queries: paging, sorting, projection, searches, the filter grammar, and discovery.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::harness::{enc, filter_q, Client, Daemon, ENT, GROUP, LIST, USER};

/// Creates `n` users `user-00@acme.com`… with varied attributes; returns their ids in order.
fn seed(c: &Client, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let r = c.post(
                "/Users",
                &json!({
                    "schemas": [USER, ENT],
                    "userName": format!("user-{i:02}@acme.com"),
                    "name": {"givenName": format!("G{i:02}"),
                             "familyName": if i % 2 == 0 { "Even" } else { "Odd" }},
                    "emails": [{"value": format!("user-{i:02}@acme.com"), "type": "work",
                                "primary": true}],
                    "title": if i % 5 == 0 { Some("Manager") } else { None },
                    "active": i % 3 != 0,
                    ENT: {"department": if i < 10 { "Sales" } else { "R&D" }}
                }),
            );
            r.expect(201);
            r.id()
        })
        .collect()
}

/// The userNames of a ListResponse, in order.
fn names(r: &crate::harness::Resp) -> Vec<String> {
    r.resources()
        .iter()
        .map(|u| u["userName"].as_str().expect("userName").to_string())
        .collect()
}

#[test]
fn paging_is_stable_and_complete() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let ids = seed(&c, 25);

    let page = |start: usize, count: usize| {
        let r = c.get(&format!("/Users?startIndex={start}&count={count}"));
        r.expect(200);
        assert_eq!(r.body["schemas"], json!([LIST]));
        assert_eq!(r.total(), 25);
        assert_eq!(r.body["startIndex"].as_u64(), Some(start as u64));
        assert_eq!(
            r.body["itemsPerPage"].as_u64(),
            Some(r.resources().len() as u64)
        );
        r.ids()
    };
    let mut walked = Vec::new();
    for start in [1, 11, 21] {
        walked.extend(page(start, 10));
    }
    assert_eq!(walked.len(), 25);
    assert_eq!(
        walked.iter().collect::<HashSet<_>>().len(),
        25,
        "no duplicates"
    );
    assert_eq!(
        walked.iter().collect::<HashSet<_>>(),
        ids.iter().collect::<HashSet<_>>()
    );
    // The same walk again, and with another page size, gives the same order.
    let again: Vec<String> = [1, 11, 21].iter().flat_map(|&s| page(s, 10)).collect();
    assert_eq!(again, walked);
    let sevens: Vec<String> = [1, 8, 15, 22].iter().flat_map(|&s| page(s, 7)).collect();
    assert_eq!(sevens, walked);
    // Stable with a filter too (the filtered path), and across writes to other resources.
    let f = |start: usize| {
        let r = c.get(&format!(
            "/Users{}&startIndex={start}&count=4",
            filter_q("userName sw \"user-\"")
        ));
        assert_eq!(r.total(), 25);
        r.ids()
    };
    let filtered: Vec<String> = (0..7).flat_map(|p| f(1 + p * 4)).collect();
    assert_eq!(filtered, walked);
    c.patch_ops(
        &format!("/Users/{}", walked[3]),
        json!([{"op": "replace", "path": "title", "value": "Changed"}]),
    )
    .expect(200);
    assert_eq!(page(1, 25), walked, "an update does not reorder the list");

    // Past the end: empty page, honest total.
    let r = c.get("/Users?startIndex=26&count=10");
    r.expect(200);
    assert_eq!(r.total(), 25);
    assert_eq!(r.resources().len(), 0);
    assert_eq!(r.body["itemsPerPage"].as_u64(), Some(0));
    // startIndex below 1 counts as 1 (RFC 7644 3.4.2.4).
    assert_eq!(page(1, 3), {
        let r = c.get("/Users?startIndex=0&count=3");
        r.expect(200);
        r.ids()
    });
    // Default count returns everything here (100 > 25).
    let r = c.get("/Users");
    assert_eq!(r.ids(), walked);
    // A non-integer count is refused.
    let r = c.get("/Users?count=ten");
    crate::harness::assert_error(&r, 400, None);

    // count=0: totals only.
    for path in [
        "/Users?count=0",
        "/Users?count=0&filter=userName%20sw%20%22user-1%22",
    ] {
        let r = c.get(path);
        r.expect(200);
        assert_eq!(r.resources().len(), 0, "{:#}", r.body);
        assert_eq!(r.body["itemsPerPage"].as_u64(), Some(0));
        assert!(r.total() == 25 || r.total() == 10, "{:#}", r.body);
    }
    assert_eq!(
        c.get("/Users?count=0&filter=userName%20sw%20%22user-1%22")
            .total(),
        10
    );
    // A count over maxResults is no error (the cap is checked with more users below).
    let r = c.get("/Users?count=100000");
    r.expect(200);
    assert_eq!(r.resources().len(), 25);
}

#[test]
fn count_over_max_results_is_capped() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let max = c.get("/ServiceProviderConfig").body["filter"]["maxResults"]
        .as_u64()
        .expect("maxResults") as usize;
    assert!((1..=5000).contains(&max), "maxResults {max}");
    // One more user than maxResults, created from a few threads.
    let n = max + 1;
    std::thread::scope(|s| {
        for t in 0..4 {
            let c = c.clone();
            s.spawn(move || {
                for i in (t..n).step_by(4) {
                    c.post(
                        "/Users",
                        &json!({"userName": format!("bulk-{i:05}@acme.com")}),
                    )
                    .expect(201);
                }
            });
        }
    });
    // Without count, a page holds the default 100.
    let r = c.get("/Users");
    r.expect(200);
    assert_eq!(r.total(), n as u64);
    assert_eq!(r.resources().len(), 100);
    let r = c.get(&format!("/Users?startIndex={n}"));
    assert_eq!(r.resources().len(), 1);
    let r = c.get(&format!("/Users?count={}", max * 10));
    r.expect(200);
    assert_eq!(r.total(), n as u64);
    assert_eq!(r.resources().len(), max);
    assert_eq!(r.body["itemsPerPage"].as_u64(), Some(max as u64));
    let r = c.get(&format!("/Users?count={}&startIndex={}", max * 10, max + 1));
    assert_eq!(r.resources().len(), 1);
    let r = c.post(
        "/Users/.search",
        &json!({"count": max * 10, "filter": "userName sw \"bulk-\""}),
    );
    r.expect(200);
    assert_eq!(r.total(), n as u64);
    assert_eq!(r.resources().len(), max);
}

#[test]
fn sorting_by_user_name_and_other_attributes() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    for n in [
        "carol@acme.com",
        "alice@acme.com",
        "Dave@acme.com",
        "bob@acme.com",
    ] {
        c.create_user(n);
    }
    let asc = c.get("/Users?sortBy=userName");
    asc.expect(200);
    assert_eq!(
        names(&asc),
        [
            "alice@acme.com",
            "bob@acme.com",
            "carol@acme.com",
            "Dave@acme.com"
        ],
        "userName sorts case-insensitively (caseExact false)"
    );
    let r = c.get("/Users?sortBy=userName&sortOrder=ascending");
    assert_eq!(names(&r), names(&asc));
    let r = c.get("/Users?sortBy=userName&sortOrder=descending");
    let mut rev = names(&asc);
    rev.reverse();
    assert_eq!(names(&r), rev);
    // Paging over a sorted list.
    let r = c.get("/Users?sortBy=userName&sortOrder=descending&startIndex=2&count=2");
    assert_eq!(names(&r), ["carol@acme.com", "bob@acme.com"]);
    assert_eq!(r.total(), 4);
    // Sorting with a filter, and in a .search body.
    let r = c.post(
        "/Users/.search",
        &json!({"filter": "userName co \"a\"", "sortBy": "userName", "sortOrder": "descending"}),
    );
    r.expect(200);
    assert_eq!(
        names(&r),
        [
            "Dave@acme.com",
            "carol@acme.com",
            "bob@acme.com",
            "alice@acme.com"
        ]
    );
    // Groups sort by displayName.
    for g in ["Zeta", "alpha", "Mid"] {
        c.create_group(g, &[]);
    }
    let r = c.get("/Groups?sortBy=displayName&sortOrder=descending");
    let shown: Vec<&str> = r.body["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .map(|g| g["displayName"].as_str().expect("displayName"))
        .collect();
    assert_eq!(shown, ["Zeta", "Mid", "alpha"]);
}

#[test]
fn attributes_and_excluded_attributes_everywhere() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    seed(&c, 3);
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    let only = ["emails", "id", "schemas", "userName"];

    // Lists.
    let r = c.get("/Users?attributes=userName,emails");
    r.expect(200);
    assert_eq!(r.resources().len(), 3);
    for u in r.resources() {
        assert_eq!(keys(&u), only, "{u:#}");
    }
    let r = c.get("/Users?attributes=name.familyName");
    for u in r.resources() {
        assert_eq!(keys(&u), ["id", "name", "schemas"], "{u:#}");
        assert_eq!(keys(&u["name"]), ["familyName"]);
    }
    let r = c.get("/Users?excludedAttributes=emails,name,meta");
    for u in r.resources() {
        assert!(u.get("emails").is_none() && u.get("name").is_none() && u.get("meta").is_none());
        assert!(u.get("userName").is_some() && u.get("active").is_some() && u.get("id").is_some());
    }
    // id and schemas cannot be excluded.
    let r = c.get("/Users?excludedAttributes=id,schemas,userName");
    for u in r.resources() {
        assert!(u.get("id").is_some() && u.get("schemas").is_some());
        assert!(u.get("userName").is_none());
    }
    // Enterprise attributes by URN.
    let r = c.get(&format!(
        "/Users?attributes={}",
        enc(&format!("{ENT}:department"))
    ));
    for u in r.resources() {
        assert_eq!(keys(&u[ENT]), ["department"], "{u:#}");
    }

    // Single GETs.
    let id = r.resources()[0]["id"].as_str().expect("id").to_string();
    let r = c.get(&format!("/Users/{id}?attributes=userName,emails"));
    r.expect(200);
    assert_eq!(keys(&r.body), only);
    let r = c.get(&format!("/Users/{id}?excludedAttributes=emails"));
    r.expect(200);
    assert!(r.body.get("emails").is_none());
    assert!(r.body.get("name").is_some());

    // Write responses: POST, PUT and PATCH.
    let r = c.post(
        "/Users?attributes=userName,emails",
        &json!({"userName": "proj@acme.com", "displayName": "P",
                "emails": [{"value": "proj@acme.com"}]}),
    );
    r.expect(201);
    assert_eq!(keys(&r.body), only);
    let pid = r.id();
    let r = c.put(
        &format!("/Users/{pid}?excludedAttributes=emails,meta"),
        &json!({"userName": "proj@acme.com", "displayName": "Q", "emails": [{"value": "q@acme.com"}]}),
    );
    r.expect(200);
    assert!(r.body.get("emails").is_none() && r.body.get("meta").is_none());
    assert_eq!(r.body["displayName"], "Q");
    let r = c.patch_ops(
        &format!("/Users/{pid}?attributes=displayName"),
        json!([{"op": "replace", "path": "displayName", "value": "R"}]),
    );
    r.expect(200);
    assert_eq!(keys(&r.body), ["displayName", "id", "schemas"]);
    // The projection only shapes the response; the whole resource was stored.
    let full = c.get(&format!("/Users/{pid}"));
    assert_eq!(full.body["emails"][0]["value"], "q@acme.com");
    assert_eq!(full.body["displayName"], "R");

    // Groups: members can be excluded or asked for alone.
    let uid = full.body["id"].as_str().expect("id").to_string();
    let gid = c.create_group("Team", &[&uid]);
    let r = c.get(&format!("/Groups/{gid}?attributes=members"));
    assert_eq!(keys(&r.body), ["id", "members", "schemas"]);
    let r = c.get("/Groups?attributes=displayName");
    assert_eq!(keys(&r.resources()[0]), ["displayName", "id", "schemas"]);
    let r = c.get(&format!("/Users/{uid}?excludedAttributes=groups"));
    assert!(r.body.get("groups").is_none());
    let r = c.get(&format!("/Users/{uid}?attributes=groups"));
    assert_eq!(r.body["groups"][0]["value"], gid);
}

#[test]
fn search_by_post_per_type_and_at_the_root() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let ids = seed(&c, 6);
    let g1 = c.create_group("user-team", &[&ids[0]]);
    c.create_group("other", &[]);

    let r = c.post(
        "/Users/.search",
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": "name.familyName eq \"Even\"", "attributes": ["userName"],
                "sortBy": "userName", "startIndex": 2, "count": 2}),
    );
    r.expect(200);
    assert_eq!(r.total(), 3);
    assert_eq!(r.body["startIndex"].as_u64(), Some(2));
    assert_eq!(names(&r), ["user-02@acme.com", "user-04@acme.com"]);
    for u in r.resources() {
        assert!(u.get("emails").is_none());
    }
    let r = c.post(
        "/Groups/.search",
        &json!({"filter": "displayName eq \"USER-TEAM\""}),
    );
    r.expect(200);
    assert_eq!(r.ids(), vec![g1.clone()]);
    // An empty SearchRequest lists everything.
    assert_eq!(c.post("/Users/.search", &json!({})).total(), 6);

    // At the org root: both resource types, one filter.
    let r = c.post(
        "/.search",
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}),
    );
    r.expect(200);
    assert_eq!(r.total(), 8);
    let types: HashSet<String> = r
        .resources()
        .iter()
        .map(|x| {
            x["meta"]["resourceType"]
                .as_str()
                .expect("type")
                .to_string()
        })
        .collect();
    assert_eq!(
        types,
        ["User", "Group"].iter().map(|s| s.to_string()).collect()
    );
    let r = c.post(
        "/.search",
        &json!({"filter": "meta.resourceType eq \"Group\""}),
    );
    r.expect(200);
    assert_eq!(r.total(), 2);
    let r = c.post(
        "/.search",
        &json!({"filter": "id eq \"".to_string() + &g1 + "\""}),
    );
    r.expect(200);
    assert_eq!(r.ids(), vec![g1.clone()]);
    // Paging across the two types is consistent.
    let all = c.post("/.search", &json!({})).ids();
    let paged: Vec<String> = (0..4)
        .flat_map(|p| {
            c.post("/.search", &json!({"startIndex": 1 + p * 2, "count": 2}))
                .ids()
        })
        .collect();
    assert_eq!(paged, all);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 8);
}

#[test]
fn the_filter_grammar() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let ids = seed(&c, 12);
    let q = |f: &str| -> Vec<usize> {
        let r = c.get(&format!("/Users{}", filter_q(f)));
        r.expect(200);
        let mut found: Vec<usize> = r
            .ids()
            .iter()
            .map(|id| ids.iter().position(|x| x == id).expect("known id"))
            .collect();
        found.sort_unstable();
        assert_eq!(r.total() as usize, found.len());
        found
    };
    let all: Vec<usize> = (0..12).collect();
    let odd: Vec<usize> = (0..12).filter(|i| i % 2 == 1).collect();
    let even: Vec<usize> = (0..12).filter(|i| i % 2 == 0).collect();
    let active: Vec<usize> = (0..12).filter(|i| i % 3 != 0).collect();

    assert_eq!(q("userName sw \"user-1\""), [10, 11]);
    assert_eq!(q("userName sw \"USER-1\""), [10, 11], "caseExact false");
    assert_eq!(q("userName co \"-0\""), (0..10).collect::<Vec<_>>());
    assert_eq!(q("userName ew \"1@acme.com\""), [1, 11]);
    assert_eq!(
        q("userName ne \"user-00@acme.com\""),
        (1..12).collect::<Vec<_>>()
    );
    assert_eq!(q("title pr"), [0, 5, 10]);
    assert_eq!(
        q("not (title pr)"),
        (0..12).filter(|i| i % 5 != 0).collect::<Vec<_>>()
    );
    assert_eq!(q("title eq \"Manager\" and active eq true"), [5, 10]);
    assert_eq!(
        q("title eq \"Manager\" or userName eq \"user-01@acme.com\""),
        [0, 1, 5, 10]
    );
    assert_eq!(
        q("(userName eq \"user-01@acme.com\" or userName eq \"user-02@acme.com\") and not (active eq false)"),
        [1, 2]
    );
    assert_eq!(q("active eq true"), active);
    assert_eq!(q("name.familyName eq \"Odd\""), odd);
    assert_eq!(
        q("NAME.FAMILYNAME EQ \"odd\""),
        odd,
        "attribute names and operators ignore case"
    );
    assert_eq!(q("name.givenName gt \"G09\""), [10, 11]);
    assert_eq!(q("name.givenName le \"G01\""), [0, 1]);
    assert_eq!(q("emails.value eq \"user-03@acme.com\""), [3]);
    assert_eq!(q("emails[type eq \"work\" and primary eq true]"), all);
    assert_eq!(q("emails[type eq \"home\"]"), Vec::<usize>::new());
    assert_eq!(q("emails[value ew \"7@acme.com\"]"), [7]);
    assert_eq!(q("emails pr and name.familyName eq \"Even\""), even);
    // URN-qualified names, core and enterprise.
    assert_eq!(q(&format!("{USER}:userName eq \"user-04@acme.com\"")), [4]);
    assert_eq!(q(&format!("{USER}:name.familyName eq \"Even\"")), even);
    assert_eq!(
        q(&format!("{ENT}:department eq \"Sales\"")),
        (0..10).collect::<Vec<_>>()
    );
    assert_eq!(q(&format!("{ENT}:department eq \"R&D\"")), [10, 11]);
    // Metadata.
    assert_eq!(q("meta.resourceType eq \"User\""), all);
    assert_eq!(q("meta.created gt \"2000-01-01T00:00:00Z\""), all);
    assert_eq!(
        q("meta.lastModified lt \"2000-01-01T00:00:00Z\""),
        Vec::<usize>::new()
    );
    assert_eq!(q(&format!("id eq \"{}\"", ids[6])), [6]);
    assert_eq!(q(&format!("externalId pr or id eq \"{}\"", ids[8])), [8]);

    // meta.lastModified gt: touch one user and ask for what changed after another's stamp.
    let r = c.get(&format!("/Users/{}", ids[11]));
    let stamp = r.body["meta"]["lastModified"]
        .as_str()
        .expect("lastModified")
        .to_string();
    let later = q(&format!("meta.lastModified gt \"{stamp}\""));
    assert!(!later.contains(&11), "strictly after its own stamp");
    assert!(q(&format!("meta.lastModified ge \"{stamp}\"")).contains(&11));
    let patched = c.patch_ops(
        &format!("/Users/{}", ids[0]),
        json!([{"op": "replace", "path": "title", "value": "Touched"}]),
    );
    patched.expect(200);
    let touched = patched.body["meta"]["lastModified"]
        .as_str()
        .expect("lm")
        .to_string();
    assert!(touched >= stamp, "{touched} < {stamp}");
    assert_eq!(
        q(&format!("meta.lastModified ge \"{touched}\"")).first(),
        Some(&0)
    );
    assert!(!q(&format!("meta.lastModified gt \"{touched}\"")).contains(&0));

    // Groups: members value path and displayName operators.
    let gid = c.create_group("Platform", &[&ids[1], &ids[2]]);
    c.create_group("Plumbing", &[]);
    let g = |f: &str| {
        let r = c.get(&format!("/Groups{}", filter_q(f)));
        r.expect(200);
        r.ids()
    };
    assert_eq!(
        g(&format!("members[value eq \"{}\"]", ids[2])),
        vec![gid.clone()]
    );
    assert_eq!(
        g(&format!("members.value eq \"{}\"", ids[1])),
        vec![gid.clone()]
    );
    assert_eq!(g("displayName sw \"Pl\"").len(), 2);
    assert_eq!(g("displayName co \"form\""), vec![gid.clone()]);
    assert_eq!(
        g(&format!("{GROUP}:displayName eq \"platform\"")),
        vec![gid]
    );
}

#[test]
fn discovery_endpoints_tell_the_truth() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");

    let r = c.get("/ServiceProviderConfig");
    r.expect(200);
    let spc = &r.body;
    assert_eq!(
        spc["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
    );
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["filter"]["supported"], true);
    assert!(spc["filter"]["maxResults"].as_u64().is_some_and(|m| m > 0));
    assert_eq!(spc["sort"]["supported"], true);
    assert_eq!(spc["etag"]["supported"], true);
    assert_eq!(spc["changePassword"]["supported"], false);
    assert_eq!(spc["bulk"]["supported"], true);
    assert!(spc["bulk"]["maxOperations"].is_u64() && spc["bulk"]["maxPayloadSize"].is_u64());
    let scheme = &spc["authenticationSchemes"][0];
    assert_eq!(scheme["type"], "oauthbearertoken");
    assert!(scheme["description"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert!(scheme["name"].as_str().is_some_and(|s| !s.is_empty()));

    let r = c.get("/ResourceTypes");
    r.expect(200);
    assert_eq!(r.total(), 2);
    let rts = r.resources();
    let user = rts.iter().find(|t| t["name"] == "User").expect("User type");
    let group = rts
        .iter()
        .find(|t| t["name"] == "Group")
        .expect("Group type");
    assert_eq!(user["endpoint"], "/Users");
    assert_eq!(user["schema"], USER);
    assert_eq!(user["schemaExtensions"][0]["schema"], ENT);
    assert_eq!(user["schemaExtensions"][0]["required"], false);
    assert_eq!(group["endpoint"], "/Groups");
    assert_eq!(group["schema"], GROUP);
    let r = c.get("/ResourceTypes/User");
    r.expect(200);
    assert_eq!(r.body["endpoint"], "/Users");

    let r = c.get("/Schemas");
    r.expect(200);
    let schemas = r.resources();
    let ids: HashSet<&str> = schemas.iter().filter_map(|s| s["id"].as_str()).collect();
    for want in [USER, GROUP, ENT] {
        assert!(ids.contains(want), "{want} missing from {ids:?}");
    }
    let keys = [
        "type",
        "multiValued",
        "required",
        "caseExact",
        "mutability",
        "returned",
        "uniqueness",
    ];
    for schema in &schemas {
        let attrs = schema["attributes"].as_array().expect("attributes");
        assert!(!attrs.is_empty());
        for a in attrs {
            for k in [
                "name",
                "type",
                "multiValued",
                "required",
                "mutability",
                "returned",
            ] {
                assert!(a.get(k).is_some(), "{k} missing in {a:#}");
            }
            if a["type"] == "string" {
                for k in keys {
                    assert!(a.get(k).is_some(), "{k} missing in {a:#}");
                }
            }
            if a["type"] == "complex" {
                let subs = a["subAttributes"].as_array().expect("subAttributes");
                assert!(!subs.is_empty(), "{a:#}");
            }
        }
    }
    let user_schema = schemas
        .iter()
        .find(|s| s["id"] == USER)
        .expect("User schema");
    let attr = |name: &str| {
        user_schema["attributes"]
            .as_array()
            .expect("attributes")
            .iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .clone()
    };
    let user_name = attr("userName");
    assert_eq!(user_name["type"], "string");
    assert_eq!(user_name["required"], true);
    assert_eq!(user_name["caseExact"], false);
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_name["multiValued"], false);
    let emails = attr("emails");
    assert_eq!(emails["multiValued"], true);
    assert_eq!(emails["type"], "complex");
    assert!(emails["subAttributes"]
        .as_array()
        .is_some_and(|s| s.iter().any(|x| x["name"] == "value")));
    assert_eq!(attr("groups")["mutability"], "readOnly");
    assert_eq!(attr("password")["returned"], "never");
    assert_eq!(attr("password")["mutability"], "writeOnly");
    let r = c.get(&format!("/Schemas/{USER}"));
    r.expect(200);
    assert_eq!(r.body["id"], USER);
    let r = c.get(&format!("/Schemas/{GROUP}"));
    let gattrs = r.body["attributes"].as_array().expect("attributes").clone();
    let dn = gattrs
        .iter()
        .find(|a| a["name"] == "displayName")
        .expect("displayName");
    assert_eq!(dn["required"], true);
    assert_eq!(dn["uniqueness"], "server");
    assert!(gattrs.iter().any(|a| a["name"] == "members"));
}
