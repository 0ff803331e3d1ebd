//! Declared extensions (`[orgs.NAME.extensions."urn:..."]`): parsed into core's declarations,
//! refused with their key and line when a URN, name, type or count is wrong, and seen by a
//! reload as an org change that applies live.

use std::path::Path;

use scimd_core::schema::AttrType;
use scimd_core::ResourceType;

use crate::{Config, ConfigError};

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml_str(text, Path::new("/srv/scimd.toml"))
}

const OKTA: &str = r#"[orgs.acme]

[orgs.acme.extensions."urn:okta:custom:user:1.0"]
resource = "User"
attributes = { tshirtSize = "string", startDate = "dateTime", level = "integer", teams = ["string"] }

[orgs.acme.extensions."urn:acme:team:1.0"]
resource = "Group"
attributes = { budget = "decimal", open = "boolean", wiki = "reference" }
"#;

#[test]
fn declarations_parse_into_typed_attributes() {
    let config = load(OKTA).unwrap();
    let declared = &config.org("acme").unwrap().extensions;
    let okta = declared
        .find(ResourceType::User, "urn:okta:custom:user:1.0")
        .unwrap();
    let level = okta.attr("LEVEL").unwrap();
    assert_eq!(
        (level.name.as_str(), level.ty, level.multi),
        ("level", AttrType::Integer, false)
    );
    let teams = okta.attr("teams").unwrap();
    assert_eq!((teams.ty, teams.multi), (AttrType::String, true));
    assert_eq!(okta.attr("startDate").unwrap().ty, AttrType::DateTime);
    let team = declared
        .find(ResourceType::Group, "urn:acme:team:1.0")
        .unwrap();
    assert_eq!(team.attributes.len(), 3);
    assert!(declared
        .find(ResourceType::User, "urn:acme:team:1.0")
        .is_none());

    // A sub-table works as well as an inline table; no extensions is none.
    let sub = "[orgs.acme.extensions.\"urn:a:b\"]\nresource = \"User\"\n\
               [orgs.acme.extensions.\"urn:a:b\".attributes]\ncost = \"string\"\n";
    let config = load(sub).unwrap();
    assert_eq!(config.org("acme").unwrap().extensions.all().len(), 1);
    assert!(load("[orgs.acme]")
        .unwrap()
        .org("acme")
        .unwrap()
        .extensions
        .all()
        .is_empty());
}

/// The error for `text`, which must name `key` at `line`.
#[track_caller]
fn refused(text: &str, key: &str, line: usize, fragment: &str) {
    match load(text).unwrap_err() {
        ConfigError::Invalid {
            key: got,
            line_col,
            message,
            ..
        } => {
            assert_eq!(got, key, "{message}");
            assert_eq!(line_col.map(|(l, _)| l), Some(line), "{key}: {message}");
            assert!(message.contains(fragment), "{key}: {message}");
        }
        other => panic!("{other:?}"),
    }
}

fn ext(urn: &str, body: &str) -> String {
    format!("[orgs.acme]\n[orgs.acme.extensions.\"{urn}\"]\n{body}\n")
}

#[test]
fn bad_declarations_name_their_key_and_line() {
    let users = "resource = \"User\"";
    let e = "orgs.acme.extensions";
    refused(
        &ext("okta:custom", users),
        &format!("{e}.\"okta:custom\""),
        2,
        "not a URN",
    );
    refused(
        &ext("urn:x y:z", users),
        &format!("{e}.\"urn:x y:z\""),
        2,
        "segments",
    );
    let core = "urn:ietf:params:scim:schemas:core:2.0:User";
    refused(
        &ext(core, users),
        &format!("{e}.\"{core}\""),
        2,
        "defines itself",
    );
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    refused(
        &ext(ent, users),
        &format!("{e}.\"{ent}\""),
        2,
        "defines itself",
    );
    let key = format!("{e}.\"urn:a:b\".resource");
    refused(
        &ext("urn:a:b", "resource = \"user\""),
        &key,
        3,
        "\"User\" or \"Group\"",
    );
    let attrs = |a: &str| ext("urn:a:b", &format!("{users}\nattributes = {{ {a} }}"));
    let at = |name: &str| format!("{e}.\"urn:a:b\".attributes.{name}");
    refused(&attrs("size = \"datetime\""), &at("size"), 4, "dateTime");
    refused(
        &attrs("size = \"complex\""),
        &at("size"),
        4,
        "expected a type",
    );
    refused(
        &attrs("size = [\"string\", \"integer\"]"),
        &at("size"),
        4,
        "one-element",
    );
    refused(&attrs("size = 3"), &at("size"), 4, "expected a type");
    refused(
        &attrs("\"2fa\" = \"boolean\""),
        &at("2fa"),
        4,
        "attribute name",
    );
    refused(
        &attrs("Size = \"string\", size = \"string\""),
        &at("size"),
        4,
        "case-insensitive",
    );
    // Unknown keys are refused by stage one.
    let err = load(&ext("urn:a:b", &format!("{users}\ntype = \"x\""))).unwrap_err();
    assert!(err.to_string().contains("unknown field"), "{err}");
    let err = load(&ext("urn:a:b", "attributes = {}")).unwrap_err();
    assert!(err.to_string().contains("resource"), "{err}");
}

#[test]
fn urns_may_not_repeat_in_other_case_nor_nest() {
    let two = |a: &str, b: &str| {
        format!(
            "[orgs.acme]\n[orgs.acme.extensions.\"{a}\"]\nresource = \"User\"\n\
             [orgs.acme.extensions.\"{b}\"]\nresource = \"Group\"\n"
        )
    };
    let e = "orgs.acme.extensions";
    refused(
        &two("urn:a:b", "URN:A:B"),
        &format!("{e}.\"URN:A:B\""),
        4,
        "case-insensitive",
    );
    refused(
        &two("URN:A:B", "urn:a:b"),
        &format!("{e}.\"urn:a:b\""),
        4,
        "case-insensitive",
    );
    refused(
        &two("urn:a:b", "urn:a:b:c"),
        &format!("{e}.\"urn:a:b:c\""),
        4,
        "under the other",
    );
    assert!(load(&two("urn:a:b", "urn:a:bc")).is_ok());
}

#[test]
fn counts_are_bounded() {
    let mut many = String::from("[orgs.acme]\n");
    for i in 0..=scimd_core::schema::declared::MAX_EXTENSIONS {
        many.push_str(&format!(
            "[orgs.acme.extensions.\"urn:x:e{i}\"]\nresource = \"User\"\n"
        ));
    }
    refused(&many, "orgs.acme.extensions", 2, "at most 100");
    let attrs: Vec<String> = (0..=scimd_core::schema::declared::MAX_ATTRIBUTES)
        .map(|i| format!("a{i} = \"string\""))
        .collect();
    let text = ext(
        "urn:a:b",
        &format!(
            "resource = \"User\"\nattributes = {{ {} }}",
            attrs.join(", ")
        ),
    );
    refused(
        &text,
        "orgs.acme.extensions.\"urn:a:b\".attributes",
        4,
        "at most 1000",
    );
}

#[test]
fn a_changed_declaration_is_an_org_change_not_a_restart() {
    let before = load("[orgs.acme]\n").unwrap();
    let after = load(OKTA).unwrap();
    let diff = before.diff(&after);
    assert_eq!(diff.orgs_changed, ["acme"]);
    assert!(diff.restart_needed.is_empty(), "{diff:?}");
    assert!(after.diff(&load(OKTA).unwrap()).is_empty());
}
