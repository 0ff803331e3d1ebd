//! Rendering stored resources for responses, and their index keys.

use super::*;

fn meta() -> Meta {
    Meta {
        created: "2024-05-01T10:00:00Z".into(),
        last_modified: "2024-05-02T11:00:00Z".into(),
        version: 3,
    }
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn renders_users() {
    let stored = normalize(
        ResourceType::User,
        &json!({"userName":"ann","externalId":"e1","active":true,
            "name":{"givenName":"Ann"}, ENT: {"manager":"m1","department":"R&D"}}),
        &limits(),
    )
    .map(|n| n.attrs)
    .unwrap_or_default();
    let groups = vec![json!({"value":"g1","display":"Eng"})];
    let base = "https://scim.example/scim/v2/acme/";
    let doc = render(
        ResourceType::User,
        "u1",
        &stored,
        &meta(),
        base,
        Some(groups),
    );
    assert_eq!(
        keys(&doc),
        [
            "schemas",
            "id",
            "externalId",
            "userName",
            "name",
            "active",
            "groups",
            ENT,
            "meta"
        ]
    );
    assert_eq!(doc["schemas"], json!([USER_SCHEMA, ENT]));
    assert_eq!(doc["groups"], json!([{"value":"g1","display":"Eng"}]));
    assert_eq!(
        doc[ENT],
        json!({"department":"R&D",
            "manager":{"value":"m1","$ref":"https://scim.example/scim/v2/acme/Users/m1"}})
    );
    assert_eq!(
        doc["meta"],
        json!({"resourceType":"User","created":"2024-05-01T10:00:00Z",
            "lastModified":"2024-05-02T11:00:00Z",
            "location":"https://scim.example/scim/v2/acme/Users/u1","version":"W/\"3\""})
    );

    let plain = normalize(ResourceType::User, &json!({"userName":"bob"}), &limits())
        .map(|n| n.attrs)
        .unwrap_or_default();
    let doc = render(
        ResourceType::User,
        "u2",
        &plain,
        &meta(),
        "http://h",
        Some(vec![]),
    );
    assert_eq!(doc["schemas"], json!([USER_SCHEMA]));
    assert_eq!(keys(&doc), ["schemas", "id", "userName", "groups", "meta"]);
    assert_eq!(doc["groups"], json!([]));
    let doc = render(ResourceType::User, "u2", &plain, &meta(), "http://h", None);
    assert_eq!(keys(&doc), ["schemas", "id", "userName", "meta"]);
}

#[test]
fn renders_groups() {
    let stored = normalize(
        ResourceType::Group,
        &json!({"displayName":"Eng","externalId":"x1","members":["u1"]}),
        &limits(),
    )
    .map(|n| n.attrs)
    .unwrap_or_default();
    let doc = render(
        ResourceType::Group,
        "g1",
        &stored,
        &meta(),
        "http://h/scim/v2/o",
        Some(vec![]),
    );
    assert_eq!(
        keys(&doc),
        [
            "schemas",
            "id",
            "externalId",
            "displayName",
            "members",
            "meta"
        ]
    );
    assert_eq!(doc["schemas"], json!([GROUP_SCHEMA]));
    assert_eq!(doc["members"], json!([]));
    assert_eq!(doc["meta"]["location"], "http://h/scim/v2/o/Groups/g1");
    assert_eq!(doc["meta"]["resourceType"], "Group");
    assert_eq!(etag(0), "W/\"0\"");
    assert_eq!(etag(42), "W/\"42\"");
}

#[test]
fn index_keys() {
    let attrs = json!({"userName":"Ann@Acme.COM","displayName":"Ann A","externalId":"E-1",
        "emails":[{"value":"Ann@Acme.com"},{"value":"ann@acme.com"},{"value":""},
            {"type":"home"},{"value":"ann@home.org"}]});
    let attrs = attrs.as_object().cloned().unwrap_or_default();
    assert_eq!(user_name_key(&attrs).as_deref(), Some("ann@acme.com"));
    assert_eq!(display_name_key(&attrs).as_deref(), Some("ann a"));
    assert_eq!(email_keys(&attrs), ["ann@acme.com", "ann@home.org"]);
    assert_eq!(external_id(&attrs), Some("E-1"));
    assert_eq!(member_display(&attrs), "Ann A");

    let many: Vec<Value> = (0..36_000)
        .flat_map(|i| {
            [
                json!({"value": format!("U{i}@x")}),
                json!({"value": format!("u{i}@X")}),
            ]
        })
        .collect();
    let many = json!({"emails": many});
    let keys = email_keys(many.as_object().unwrap_or(&Map::new()));
    assert_eq!(keys.len(), 36_000);
    assert_eq!(keys.first().map(String::as_str), Some("u0@x"));
    assert_eq!(keys.last().map(String::as_str), Some("u35999@x"));

    let bare = json!({"userName":"bob","displayName":""});
    let bare = bare.as_object().cloned().unwrap_or_default();
    assert_eq!(member_display(&bare), "bob");
    assert!(email_keys(&bare).is_empty());
    assert_eq!(external_id(&bare), None);
    assert_eq!(display_name_key(&Map::new()), None);
    assert_eq!(member_display(&Map::new()), "");
}
