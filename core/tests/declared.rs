//! Declared extensions through the public API, as the daemon uses it: the checks a config's
//! declarations pass, filters and sorts by full path, projection of custom extensions, and the
//! discovery documents.

use scimd_core::filter::{matches, matches_with, parse_filter};
use scimd_core::list::{Projection, SortSpec};
use scimd_core::schema::declared::{check_attr_name, check_urn, nests, parse_type};
use scimd_core::schema::{Declared, DeclaredExtension};
use scimd_core::ResourceType;
use serde_json::{json, Value};

const OKTA: &str = "urn:okta:custom:user:1.0";
const ENTRA: &str = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";

fn declared() -> Declared {
    let okta = [
        ("tshirtSize", "string", false),
        ("level", "integer", false),
        ("startDate", "dateTime", false),
        ("teams", "string", true),
    ];
    let team = [("budget", "decimal", false)];
    Declared::new(vec![
        DeclaredExtension::of(OKTA, ResourceType::User, &okta).expect("types"),
        DeclaredExtension::of("urn:acme:team:1.0", ResourceType::Group, &team).expect("types"),
    ])
}

fn user(size: &str, level: i64, start: &str) -> Value {
    json!({"schemas": [], "id": "1", "userName": format!("u{level}"),
        OKTA: {"tshirtSize": size, "level": level, "startDate": start, "teams": ["Red", "blue"]},
        ENTRA: {"costCode": "X1"}})
}

#[test]
fn urns_and_names_a_config_may_declare() {
    for ok in [OKTA, ENTRA, "urn:acme:ext", "URN:acme:ext_1-2.0"] {
        assert_eq!(check_urn(ok), Ok(()), "{ok}");
    }
    for bad in [
        "okta:custom",
        "urn:",
        "urn:okta",
        "urn:okta::x",
        "urn:okta:x:",
        "urn:okta:custom user",
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:Group:x",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0",
        "urn:ietf:params:scim:api:messages:2.0:PatchOp",
    ] {
        assert!(check_urn(bad).is_err(), "{bad}");
    }
    assert!(check_urn(&format!("urn:a:{}", "b".repeat(300))).is_err());
    for ok in ["tshirtSize", "a", "cost-code_2"] {
        assert_eq!(check_attr_name(ok), Ok(()), "{ok}");
    }
    for bad in ["", "2fa", "t shirt", "a.b", "$ref", "é"] {
        assert!(check_attr_name(bad).is_err(), "{bad}");
    }
    assert!(nests("urn:a:b", "URN:A:B:c") && nests("urn:a:b", "urn:a:b"));
    assert!(!nests("urn:a:b", "urn:a:bc"));
    assert_eq!(parse_type("datetime"), None);
    assert_eq!(parse_type("complex"), None);
}

#[test]
fn filters_compare_declared_attributes_by_type_and_case_insensitively() {
    let d = declared();
    let u = user("M", 3, "2024-01-31T09:00:00Z");
    let rt = ResourceType::User;
    let yes = [
        "urn:okta:custom:user:1.0:tshirtSize eq \"m\"",
        "URN:OKTA:CUSTOM:USER:1.0:TSHIRTSIZE eq \"M\"",
        "urn:okta:custom:user:1.0:level gt 2",
        "urn:okta:custom:user:1.0:level eq \"3\"",
        "urn:okta:custom:user:1.0:startDate lt \"2024-01-31T10:00:00+00:00\"",
        "urn:okta:custom:user:1.0:teams eq \"RED\"",
        "urn:okta:custom:user:1.0:level pr and userName eq \"u3\"",
    ];
    for f in yes {
        let f = parse_filter(f).expect(f);
        assert!(matches_with(&f, &u, rt, &d), "{f:?}");
        assert!(!matches(&f, &u, rt), "no declarations, no match: {f:?}");
    }
    let no = [
        "urn:okta:custom:user:1.0:tshirtSize eq \"L\"",
        "urn:okta:custom:user:1.0:level ge 4",
        "urn:okta:custom:user:1.0:nope eq \"M\"",
        // Undeclared: nothing says how to compare.
        "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:costCode eq \"X1\"",
    ];
    for f in no {
        let f = parse_filter(f).expect(f);
        assert!(!matches_with(&f, &u, rt, &d), "{f:?}");
    }
    // A user extension is not a group's.
    let f = parse_filter("urn:okta:custom:user:1.0:level gt 2").expect("filter");
    assert!(!matches_with(&f, &u, ResourceType::Group, &d));
}

#[test]
fn sorts_by_full_path_with_the_declared_type() {
    let d = declared();
    let rt = ResourceType::User;
    let by_level = SortSpec::parse_with(rt, &d, Some("urn:okta:custom:user:1.0:LEVEL"), None)
        .expect("parsed")
        .expect("a sort");
    assert_eq!(by_level.path.urn.as_deref(), Some(OKTA));
    assert_eq!(by_level.path.name, "level");
    let mut users = [
        user("s", 10, "2024-03-01T00:00:00Z"),
        user("M", 9, "2024-01-01T00:00:00+05:00"),
        user("l", 2, "2024-02-01T00:00:00Z"),
    ];
    users.sort_by(|a, b| by_level.compare(rt, a, b));
    let levels: Vec<&Value> = users.iter().map(|u| &u[OKTA]["level"]).collect();
    assert_eq!(
        levels,
        [&json!(2), &json!(9), &json!(10)],
        "numeric, not text"
    );
    let by_size = SortSpec::parse_with(rt, &d, Some(&format!("{OKTA}:tshirtSize")), None)
        .expect("parsed")
        .expect("a sort");
    users.sort_by(|a, b| by_size.compare(rt, a, b));
    let sizes: Vec<&Value> = users.iter().map(|u| &u[OKTA]["tshirtSize"]).collect();
    assert_eq!(
        sizes,
        [&json!("l"), &json!("M"), &json!("s")],
        "case-insensitive"
    );
    let by_date = SortSpec::parse_with(rt, &d, Some(&format!("{OKTA}:startDate")), None)
        .expect("parsed")
        .expect("a sort");
    users.sort_by(|a, b| by_date.compare(rt, a, b));
    assert_eq!(users[0][OKTA]["level"], 9, "an instant, offset and all");
    for unknown in [format!("{OKTA}:nope"), format!("{ENTRA}:costCode")] {
        let e = SortSpec::parse_with(rt, &d, Some(&unknown), None).expect_err("unknown");
        assert_eq!(e.status(), 400);
    }
}

#[test]
fn attributes_and_excluded_attributes_name_custom_extensions() {
    let d = declared();
    let rt = ResourceType::User;
    let project = |attributes: Option<&str>, excluded: Option<&str>| {
        let mut v = user("M", 3, "2024-01-01T00:00:00Z");
        Projection::parse_with(rt, &d, attributes, excluded)
            .expect("parsed")
            .apply(rt, &mut v);
        v
    };
    let v = project(Some("userName"), None);
    assert!(v.get(OKTA).is_none() && v.get(ENTRA).is_none(), "{v}");
    let v = project(Some(&format!("userName,{OKTA}")), None);
    assert_eq!(v[OKTA]["level"], 3);
    assert!(v.get(ENTRA).is_none(), "{v}");
    let v = project(
        Some(&format!("{ENTRA}:COSTCODE,urn:okta:custom:user:1.0:level")),
        None,
    );
    assert_eq!(v[ENTRA], json!({"costCode": "X1"}));
    assert_eq!(v[OKTA], json!({"level": 3}));
    assert!(v.get("userName").is_none(), "{v}");
    let v = project(None, Some(&format!("{ENTRA},{OKTA}:teams")));
    assert!(v.get(ENTRA).is_none(), "{v}");
    assert!(
        v[OKTA].get("teams").is_none() && v[OKTA]["level"] == 3,
        "{v}"
    );
    let v = project(None, Some(&format!("{ENTRA}:costCode")));
    assert!(v.get(ENTRA).is_none(), "the emptied extension goes: {v}");
}

#[test]
fn discovery_lists_declared_extensions_per_resource_type() {
    let d = declared();
    let users = d.resource_type_json(ResourceType::User, "https://x/scim/v2/acme");
    assert_eq!(
        users["schemaExtensions"],
        json!([
            {"schema": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
             "required": false},
            {"schema": OKTA, "required": false}
        ])
    );
    let groups = d.resource_type_json(ResourceType::Group, "https://x/scim/v2/acme");
    assert_eq!(
        groups["schemaExtensions"],
        json!([{"schema": "urn:acme:team:1.0", "required": false}])
    );
    let none = Declared::default().resource_type_json(ResourceType::Group, "https://x");
    assert!(none.get("schemaExtensions").is_none());
    let ext = d
        .find(ResourceType::User, "URN:OKTA:custom:user:1.0")
        .expect("found");
    let doc = ext.to_json("https://x/Schemas/urn:okta:custom:user:1.0");
    assert_eq!(doc["id"], OKTA);
    let attrs = doc["attributes"].as_array().expect("attributes");
    assert_eq!(attrs.len(), 4);
    assert_eq!(attrs[1]["name"], "level");
    assert_eq!(attrs[1]["type"], "integer");
    assert_eq!(attrs[3]["multiValued"], true);
    assert_eq!(attrs[0]["caseExact"], false);
    assert_eq!(attrs[2]["type"], "dateTime");
}

#[test]
fn an_extension_with_an_unknown_type_is_not_made() {
    let attrs = [("level", "integer", false), ("shoe", "size", false)];
    assert!(DeclaredExtension::of(OKTA, ResourceType::User, &attrs).is_none());
    let made = DeclaredExtension::of(OKTA, ResourceType::User, &attrs[..1]).expect("types");
    assert_eq!(made.attr("LEVEL").map(|a| a.name.as_str()), Some("level"));
}
