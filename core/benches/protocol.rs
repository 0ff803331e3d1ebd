//! criterion benchmarks of the protocol hot paths every request walks: filter parsing, filter
//! evaluation against a rendered user, and PATCH parsing and application (user attributes and
//! team membership). Run with `cargo bench -p scimd-core`; see docs/performance.md.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use scimd_core::filter::{matches, parse_filter};
use scimd_core::patch::{apply_patch, parse_patch};
use scimd_core::resource::{normalize, render, Limits, Meta};
use scimd_core::ResourceType;
use serde_json::{json, Map, Value};

/// Filters an IdP sends, from the index lookups to a compound one with a value path.
const FILTERS: [(&str, &str); 4] = [
    ("userName_eq", r#"userName eq "ann.lee@example.com""#),
    (
        "emails_value_eq",
        r#"emails.value eq "ann.lee@work.example.org""#,
    ),
    ("externalId_eq", r#"externalId eq "00u1abcd2EFGH3ijk4l5""#),
    (
        "compound",
        r#"(userName sw "ann" or name.familyName eq "Lee") and emails[type eq "work" and value co "@work."] and active eq true and meta.lastModified gt "2024-01-01T00:00:00Z""#,
    ),
];

/// A user in stored form, as `normalize` makes it.
fn stored_user() -> Map<String, Value> {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ann.lee@example.com",
        "externalId": "00u1abcd2EFGH3ijk4l5",
        "name": {"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"},
        "displayName": "Ann Lee",
        "emails": [
            {"value": "ann.lee@work.example.org", "type": "work", "primary": true},
            {"value": "ann@home.example.net", "type": "home"}
        ],
        "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": "Engineering", "employeeNumber": "4711"
        }
    });
    normalize(ResourceType::User, &body, &Limits::default())
        .expect("valid user")
        .attrs
}

fn rendered_user() -> Value {
    let meta = Meta {
        created: "2024-05-01T10:00:00Z".into(),
        last_modified: "2024-05-02T10:00:00Z".into(),
        version: 3,
    };
    render(
        ResourceType::User,
        "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        &stored_user(),
        &meta,
        "https://scim.example.com/scim/v2/acme",
        Some(Vec::new()),
    )
}

fn filter_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("filter_parse");
    for (name, text) in FILTERS {
        g.bench_function(name, |b| b.iter(|| parse_filter(black_box(text))));
    }
    g.finish();
}

fn filter_eval(c: &mut Criterion) {
    let user = rendered_user();
    let mut g = c.benchmark_group("filter_eval");
    for (name, text) in FILTERS {
        let filter = parse_filter(text).expect("valid filter");
        assert!(
            matches(&filter, &user, ResourceType::User),
            "{name} matches"
        );
        g.bench_function(name, |b| {
            b.iter(|| matches(black_box(&filter), black_box(&user), ResourceType::User))
        });
    }
    g.finish();
}

fn patch(c: &mut Criterion) {
    let user = stored_user();
    let deactivate = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}]
    });
    // Okta's profile push: a path-less replace of several attributes, one of them an extension.
    let profile = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {
            "name": {"givenName": "Annie", "familyName": "Lee"},
            "displayName": "Annie Lee",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Research"
        }}]
    });
    // Entra's email change: a value-path filter into a multi-valued attribute.
    let email = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "emails[type eq \"work\"].value",
                        "value": "ann.lee@new.example.org"}]
    });
    let team = normalize(
        ResourceType::Group,
        &json!({"displayName": "Engineering"}),
        &Limits::default(),
    )
    .expect("valid group")
    .attrs;
    let add_member = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members",
                        "value": [{"value": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}]}]
    });
    let remove_member = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove",
                        "path": "members[value eq \"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\"]"}]
    });
    let cases: [(&str, ResourceType, &Map<String, Value>, &Value); 5] = [
        ("user_deactivate", ResourceType::User, &user, &deactivate),
        ("user_profile_replace", ResourceType::User, &user, &profile),
        ("user_email_value_path", ResourceType::User, &user, &email),
        ("team_add_member", ResourceType::Group, &team, &add_member),
        (
            "team_remove_member",
            ResourceType::Group,
            &team,
            &remove_member,
        ),
    ];

    let mut g = c.benchmark_group("patch_parse");
    for (name, _, _, body) in &cases {
        g.bench_function(*name, |b| b.iter(|| parse_patch(black_box(body))));
    }
    g.finish();

    let mut g = c.benchmark_group("patch_apply");
    for (name, rt, attrs, body) in &cases {
        let ops = parse_patch(body).expect("valid patch");
        g.bench_function(*name, |b| {
            b.iter_batched_ref(
                || (*attrs).clone(),
                |a| apply_patch(a, *rt, "id-1", black_box(&ops)).expect("applies"),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();

    // What a PATCH costs end to end in core: parse, apply, and re-normalize the result.
    let mut g = c.benchmark_group("patch_full");
    for (name, rt, attrs, body) in &cases {
        g.bench_function(*name, |b| {
            b.iter(|| {
                let ops = parse_patch(black_box(body)).expect("valid patch");
                let mut a = (*attrs).clone();
                let members = apply_patch(&mut a, *rt, "id-1", &ops).expect("applies");
                let n = normalize(*rt, &Value::Object(a), &Limits::default()).expect("valid");
                (n, members)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, filter_parse, filter_eval, patch);
criterion_main!(benches);
