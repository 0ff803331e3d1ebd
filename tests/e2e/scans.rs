//! Filters that scan: a database leaves out the records that lack a filter's values, and no
//! record that matches is ever among them (case folding, non-ASCII text, attributes kept
//! beside the record, `or`, value paths, extensions).

use serde_json::json;

use crate::harness::{filter_q, Daemon, ENT, USER};

#[test]
fn a_scanning_filter_finds_every_match_and_nothing_else() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let user = |name: &str, family: &str, title: &str, dept: &str| {
        let r = c.post(
            "/Users",
            &json!({
                "schemas": [USER, ENT],
                "userName": name,
                "name": {"familyName": family},
                "title": title,
                "emails": [{"value": format!("x.{name}"), "type": "work"}],
                ENT: {"department": dept}
            }),
        );
        r.expect(201);
        r.id()
    };
    let smith = user("smith@acme.com", "SMITH", "Engineer", "R&D");
    // A Kelvin sign lowercases to an ASCII k: a record with it must reach the daemon (and no
    // other text of the record holds "kel").
    let kelvin = user("scientist@acme.com", "\u{212A}elvin", "Scientist", "Lab");
    let jose = user("jose@acme.com", "José", "Manager \"Ops\"", "Sales");
    let ann = user("ann@acme.com", "Ann", "Engineer", "Sales");
    let found = |filter: &str| -> Vec<String> {
        let r = c.get(&format!("/Users{}&count=100", filter_q(filter)));
        r.expect(200);
        let mut ids = r.ids();
        ids.sort();
        assert_eq!(r.total() as usize, ids.len(), "{filter}");
        ids
    };
    let sorted = |ids: &[&String]| {
        let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(found(r#"name.familyName eq "smith""#), sorted(&[&smith]));
    assert_eq!(found(r#"name.familyName sw "kel""#), sorted(&[&kelvin]));
    assert_eq!(found(r#"name.familyName co "OS""#), sorted(&[&jose]));
    assert_eq!(found(r#"title co "engineer""#), sorted(&[&smith, &ann]));
    assert_eq!(
        found(r#"title eq "Engineer" and name.familyName ew "ITH""#),
        sorted(&[&smith])
    );
    assert_eq!(
        found(r#"title eq "Scientist" or name.familyName eq "Ann""#),
        sorted(&[&kelvin, &ann])
    );
    assert_eq!(found(r#"not (title eq "Engineer")"#), sorted(&[&kelvin, &jose]));
    assert_eq!(
        found(r#"emails[type eq "work" and value co "x.ann"]"#),
        sorted(&[&ann])
    );
    assert_eq!(
        found(&format!(r#"{ENT}:department eq "sales""#)),
        sorted(&[&jose, &ann])
    );
    // Attributes kept beside the record: a text search of the record would miss them.
    assert_eq!(found(&format!(r#"id eq "{ann}""#)), sorted(&[&ann]));
    assert_eq!(
        found(r#"meta.resourceType eq "User" and title co "sci""#),
        sorted(&[&kelvin])
    );
    let team = c.create_group("Platform", &[ann.as_str()]);
    assert_eq!(found(r#"groups.display eq "platform""#), sorted(&[&ann]));
    assert_eq!(found(&format!(r#"groups.value eq "{team}""#)), sorted(&[&ann]));
    // A value JSON escapes is never looked for as text, and still matches.
    assert_eq!(found(r#"title co "\"ops\"""#), sorted(&[&jose]));
    assert!(found(r#"title eq "nobody""#).is_empty());
}
