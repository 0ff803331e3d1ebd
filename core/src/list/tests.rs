//! Tests of projection, sorting, top-k and the ListResponse envelope.

use super::*;
use crate::schema::{ENTERPRISE_SCHEMA as ENT, GROUP_SCHEMA, USER_SCHEMA};
use crate::ScimType;

fn user() -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENT],
        "id": "u1",
        "externalId": "e1",
        "userName": "ann",
        "name": {"familyName": "Smith", "givenName": "Ann"},
        "active": true,
        "emails": [
            {"value": "ann@work.com", "type": "work", "primary": true},
            {"value": "ann@home.org", "type": "home"}
        ],
        "groups": [{"value": "g1", "display": "Eng"}],
        ENT: {"employeeNumber": "7", "manager": {"value": "m1", "$ref": "http://h/Users/m1"}},
        "meta": {"resourceType": "User", "lastModified": "2024-01-01T00:00:00Z"}
    })
}

fn group() -> Value {
    json!({
        "schemas": [GROUP_SCHEMA],
        "id": "g1",
        "displayName": "Eng",
        "members": [{"value": "u1", "display": "ann"}],
        "meta": {"resourceType": "Group"}
    })
}

#[test]
fn projects_attributes() {
    let u = ResourceType::User;
    let g = ResourceType::Group;
    let user_without = |f: &dyn Fn(&mut Map<String, Value>)| {
        let mut v = user();
        if let Some(m) = v.as_object_mut() {
            f(m);
        }
        v
    };
    let rows: Vec<(ResourceType, Option<&str>, Option<&str>, Value)> = vec![
        (u, None, None, user()),
        (u, Some(""), Some(" "), user()),
        (
            u,
            Some("userName,emails"),
            None,
            json!({"schemas": [USER_SCHEMA, ENT], "id": "u1", "userName": "ann",
                "emails": user()["emails"]}),
        ),
        (
            u,
            Some(" USERNAME , emails[type eq \"work\"] ,,"),
            None,
            json!({"schemas": [USER_SCHEMA, ENT], "id": "u1", "userName": "ann",
                "emails": user()["emails"]}),
        ),
        (
            u,
            Some("emails[value eq \"a,b]\"].value"),
            None,
            json!({"schemas": [USER_SCHEMA, ENT], "id": "u1",
                "emails": [{"value": "ann@work.com"}, {"value": "ann@home.org"}]}),
        ),
        (
            u,
            Some("name.givenName"),
            None,
            json!({"schemas": [USER_SCHEMA, ENT], "id": "u1", "name": {"givenName": "Ann"}}),
        ),
        (
            u,
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"),
            None,
            json!({"schemas": [USER_SCHEMA, ENT], "id": "u1", ENT: {"employeeNumber": "7"}}),
        ),
        (
            u,
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"),
            None,
            json!({"schemas": [USER_SCHEMA, ENT], "id": "u1", ENT: {"manager": {"value": "m1"}}}),
        ),
        (
            u,
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"),
            None,
            json!({"schemas": [USER_SCHEMA, ENT], "id": "u1", ENT: user()[ENT]}),
        ),
        (
            u,
            Some("urn:ietf:params:scim:schemas:core:2.0:User:userName,meta.lastModified"),
            None,
            json!({"schemas": [USER_SCHEMA, ENT], "id": "u1", "userName": "ann",
                "meta": {"lastModified": "2024-01-01T00:00:00Z"}}),
        ),
        (
            u,
            Some("nickName,nope,urn:x:y:z"),
            None,
            json!({"schemas": [USER_SCHEMA, ENT], "id": "u1"}),
        ),
        (
            u,
            None,
            Some("emails,groups"),
            user_without(&|m| {
                m.shift_remove("emails");
                m.shift_remove("groups");
            }),
        ),
        (u, None, Some("id,nope"), user()),
        (
            u,
            None,
            Some("name.givenName"),
            user_without(&|m| {
                m.insert("name".into(), json!({"familyName": "Smith"}));
            }),
        ),
        (
            u,
            None,
            Some("emails.type,emails.primary"),
            user_without(&|m| {
                m.insert(
                    "emails".into(),
                    json!([{"value": "ann@work.com"}, {"value": "ann@home.org"}]),
                );
            }),
        ),
        (
            u,
            None,
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
            user_without(&|m| {
                m.insert(ENT.into(), json!({"employeeNumber": "7"}));
            }),
        ),
        (
            u,
            None,
            Some(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager,\
                 urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            ),
            user_without(&|m| {
                m.shift_remove(ENT);
            }),
        ),
        (
            u,
            None,
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
            user_without(&|m| {
                m.shift_remove(ENT);
            }),
        ),
        (
            u,
            Some("userName,emails"),
            Some("emails"),
            json!({"schemas": [USER_SCHEMA, ENT], "id": "u1", "userName": "ann"}),
        ),
        (
            g,
            None,
            Some("members"),
            json!({"schemas": [GROUP_SCHEMA], "id": "g1", "displayName": "Eng",
                "meta": {"resourceType": "Group"}}),
        ),
        (
            g,
            Some("displayName"),
            None,
            json!({"schemas": [GROUP_SCHEMA], "id": "g1", "displayName": "Eng"}),
        ),
    ];
    for (rt, attributes, excluded, want) in rows {
        let p = Projection::parse(rt, attributes, excluded)
            .unwrap_or_else(|e| panic!("{attributes:?} / {excluded:?}: {e}"));
        let mut doc = if rt == u { user() } else { group() };
        p.apply(rt, &mut doc);
        assert_eq!(
            doc.to_string(),
            want.to_string(),
            "{attributes:?} / {excluded:?}"
        );
    }
    let mut doc = user();
    Projection::all().apply(u, &mut doc);
    assert_eq!(doc, user());
}

#[test]
fn rejects_bad_projections() {
    let rows: &[(Option<&str>, Option<&str>)] = &[
        (Some("emails[type eq \"work\""), None),
        (Some("emails]"), None),
        (None, Some("user name")),
        (Some("name..givenName"), None),
        (None, Some("emails[type eq \"work]")),
    ];
    for (attributes, excluded) in rows {
        let got = Projection::parse(ResourceType::User, *attributes, *excluded);
        assert_eq!(
            got.err().and_then(|e| e.scim_type()),
            Some(ScimType::InvalidPath),
            "{attributes:?} / {excluded:?}"
        );
    }
}

/// (type, attributes, excludedAttributes, top-level name, appears)
type IncludesRow = (
    ResourceType,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
    bool,
);

#[test]
fn tells_whether_an_attribute_appears() {
    let g = ResourceType::Group;
    let u = ResourceType::User;
    let rows: &[IncludesRow] = &[
        (g, None, None, "members", true),
        (g, None, Some("members"), "members", false),
        (g, None, Some("MEMBERS"), "members", false),
        (g, None, Some("members.display"), "members", true),
        (g, Some("displayName"), None, "members", false),
        (g, Some("members.value"), None, "members", true),
        (g, Some("displayName"), None, "id", true),
        (g, None, Some("id"), "id", true),
        (u, None, Some("groups"), "groups", false),
        (u, Some("userName"), None, "groups", false),
        (u, Some("groups"), None, "groups", true),
        (
            u,
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
            None,
            ENT,
            true,
        ),
        (u, Some("userName"), None, ENT, false),
        (
            u,
            None,
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
            ENT,
            false,
        ),
    ];
    for (rt, attributes, excluded, name, want) in rows {
        let p = Projection::parse(*rt, *attributes, *excluded);
        let got = p.map(|p| p.includes(*rt, name));
        assert_eq!(
            got.ok(),
            Some(*want),
            "{attributes:?} / {excluded:?} / {name}"
        );
    }
}

/// (sortBy, sortOrder, outcome)
type SortRow = (
    Option<&'static str>,
    Option<&'static str>,
    Result<Option<SortSpec>, ScimType>,
);

#[test]
fn parses_sort_specs() {
    let u = ResourceType::User;
    let path = |urn: Option<&str>, name: &str, sub: Option<&str>| AttrPath {
        urn: urn.map(String::from),
        name: name.into(),
        sub: sub.map(String::from),
    };
    let rows: Vec<SortRow> = vec![
        (None, None, Ok(None)),
        (Some(" "), Some("descending"), Ok(None)),
        (
            Some("userName"),
            None,
            Ok(Some(SortSpec {
                path: path(None, "userName", None),
                descending: false,
                declared: None,
            })),
        ),
        (
            Some("USERNAME"),
            Some("Descending"),
            Ok(Some(SortSpec {
                path: path(None, "userName", None),
                descending: true,
                declared: None,
            })),
        ),
        (
            Some("name.FAMILYNAME"),
            Some("ascending"),
            Ok(Some(SortSpec {
                path: path(None, "name", Some("familyName")),
                descending: false,
                declared: None,
            })),
        ),
        (
            Some("emails"),
            None,
            Ok(Some(SortSpec {
                path: path(None, "emails", Some("value")),
                descending: false,
                declared: None,
            })),
        ),
        (
            Some("urn:ietf:params:scim:schemas:core:2.0:User:meta.created"),
            None,
            Ok(Some(SortSpec {
                path: path(None, "meta", Some("created")),
                descending: false,
                declared: None,
            })),
        ),
        (
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
            None,
            Ok(Some(SortSpec {
                path: path(Some(ENT), "manager", Some("value")),
                descending: false,
                declared: None,
            })),
        ),
        (Some("nope"), None, Err(ScimType::InvalidPath)),
        (Some("name.nope"), None, Err(ScimType::InvalidPath)),
        (Some("name"), None, Err(ScimType::InvalidPath)),
        (Some("user name"), None, Err(ScimType::InvalidPath)),
        (
            Some("userName"),
            Some("sideways"),
            Err(ScimType::InvalidValue),
        ),
        (None, Some("up"), Err(ScimType::InvalidValue)),
    ];
    for (sort_by, sort_order, want) in rows {
        let got = SortSpec::parse(u, sort_by, sort_order).map_err(|e| e.scim_type());
        assert_eq!(got, want.map_err(Some), "{sort_by:?} / {sort_order:?}");
    }
}

#[test]
fn sorts_resources() {
    let u = ResourceType::User;
    let people = vec![
        json!({"id": "1", "userName": "bob", "externalId": "b", "active": true,
            "emails": [{"value": "z@x", "primary": false}, {"value": "a@x", "primary": true}],
            "meta": {"created": "2024-01-01T10:00:00+02:00"}}),
        json!({"id": "2", "userName": "Alice", "externalId": "B", "active": false,
            "title": "CTO", "emails": [{"value": "m@x"}],
            "meta": {"created": "2024-01-01T09:00:00Z"}}),
        json!({"id": "3", "userName": "carol", "externalId": "a", "title": "cfo",
            "emails": [{"value": "b@x"}, {"value": "0@x", "primary": "junk"}],
            ENT: {"manager": {"value": "m2"}},
            "meta": {"created": "2023-12-31T23:00:00Z"}}),
    ];
    let rows: &[(&str, Option<&str>, [&str; 3])] = &[
        ("userName", None, ["2", "1", "3"]),
        ("userName", Some("descending"), ["3", "1", "2"]),
        ("externalId", None, ["2", "3", "1"]),
        ("emails", None, ["1", "3", "2"]),
        ("emails.value", Some("descending"), ["2", "3", "1"]),
        ("title", None, ["3", "2", "1"]),
        ("title", Some("descending"), ["1", "2", "3"]),
        ("active", None, ["2", "1", "3"]),
        ("meta.created", None, ["3", "1", "2"]),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            None,
            ["3", "1", "2"],
        ),
    ];
    for (sort_by, order, want) in rows {
        let spec = SortSpec::parse(u, Some(sort_by), *order);
        let Ok(Some(spec)) = spec else {
            panic!("{sort_by}: {spec:?}");
        };
        let mut sorted = people.clone();
        sorted.sort_by(|a, b| spec.compare(u, a, b));
        let ids: Vec<&str> = sorted.iter().filter_map(|p| p["id"].as_str()).collect();
        assert_eq!(ids, want, "{sort_by} {order:?}");
    }
}

#[test]
fn list_response_envelope() {
    let doc = list_response(vec![json!({"id": "a"}), json!({"id": "b"})], 7, 3);
    assert_eq!(
        doc.to_string(),
        json!({"schemas": [LIST_SCHEMA], "totalResults": 7, "itemsPerPage": 2,
            "startIndex": 3, "Resources": [{"id": "a"}, {"id": "b"}]})
        .to_string()
    );
    let empty = list_response(Vec::new(), 0, 1);
    assert_eq!(empty["Resources"], json!([]));
    assert_eq!(empty["itemsPerPage"], 0);
    assert!(empty["totalResults"].is_u64());
}

#[test]
fn top_k_equals_a_stable_sort_then_truncate() {
    // (key, push number): equal keys must come out in push order.
    let items: Vec<(u8, usize)> = [5u8, 1, 3, 1, 9, 0, 3, 3, 7, 1, 0, 2, 8, 3]
        .iter()
        .enumerate()
        .map(|(i, k)| (*k, i))
        .collect();
    for k in 0..=items.len() + 2 {
        let mut top = TopK::new(k, |a: &(u8, usize), b: &(u8, usize)| a.0.cmp(&b.0));
        for item in &items {
            top.push(*item);
        }
        let mut want = items.clone();
        want.sort_by_key(|item| item.0);
        want.truncate(k);
        assert_eq!(top.into_sorted(), want, "k = {k}");
    }
}

#[test]
fn top_k_holds_at_most_twice_k() {
    let mut top = TopK::new(3, |a: &u32, b: &u32| b.cmp(a));
    for i in 0..10_000 {
        top.push(i);
        assert!(top.buf.len() < 6);
    }
    assert_eq!(top.into_sorted(), [9999, 9998, 9997]);
    let none: TopK<u32, _> = TopK::new(2, |a: &u32, b: &u32| a.cmp(b));
    assert!(none.into_sorted().is_empty());
}

#[test]
fn top_k_sorts_resources_like_sort_spec() {
    let rt = ResourceType::User;
    let spec = SortSpec::parse(rt, Some("userName"), Some("descending"))
        .ok()
        .flatten();
    let Some(spec) = spec else {
        panic!("sortBy userName is valid");
    };
    let users: Vec<Value> = ["b", "A", "c", "a", "B"]
        .iter()
        .map(|n| json!({"userName": n}))
        .collect();
    let mut top = TopK::new(2, |a: &Value, b: &Value| spec.compare(rt, a, b));
    for u in users {
        top.push(u);
    }
    let names: Vec<Value> = top
        .into_sorted()
        .into_iter()
        .map(|u| u["userName"].clone())
        .collect();
    assert_eq!(names, [json!("c"), json!("b")]);
}
