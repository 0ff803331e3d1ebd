//! Tests of name resolution against the schemas and of the published schema documents.

use super::*;

#[test]
fn resolves_names_case_insensitively_with_and_without_urns() {
    let u = ResourceType::User;
    let ok: &[(Option<&str>, &str, Option<&str>, &str)] = &[
        (None, "username", None, "userName"),
        (None, "NAME", Some("familyname"), "familyName"),
        (Some(USER_SCHEMA), "userName", None, "userName"),
        (Some(ENTERPRISE_SCHEMA), "manager", Some("value"), "value"),
        (None, "meta", Some("lastmodified"), "lastModified"),
        (None, "externalId", None, "externalId"),
    ];
    for (urn, name, sub, leaf) in ok {
        let r = u.resolve(*urn, name, *sub).expect(name);
        assert_eq!(r.leaf().name, *leaf);
    }
    let err: &[(Option<&str>, &str, Option<&str>)] = &[
        (None, "nope", None),
        (None, "name", Some("nope")),
        (Some("urn:x:y"), "userName", None),
        (Some(ENTERPRISE_SCHEMA), "userName", None),
    ];
    for (urn, name, sub) in err {
        assert!(u.resolve(*urn, name, *sub).is_none(), "{name}");
    }
    assert!(ResourceType::Group
        .resolve(None, "members", Some("value"))
        .is_some());
}

#[test]
fn published_definitions_have_the_rfc_fields() {
    let doc = USER.to_json("http://x/Schemas/u");
    let user_name = &doc["attributes"][0];
    assert_eq!(user_name["name"], "userName");
    assert_eq!(user_name["caseExact"], false);
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_name["required"], true);
    let emails = doc["attributes"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == "emails"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(emails["multiValued"], true);
    assert!(emails["subAttributes"]
        .as_array()
        .is_some_and(|s| s.len() == 4));
}
