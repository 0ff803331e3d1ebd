//! Tests of filter evaluation: User and Group rows, odd JSON, depth limits and numeric
//! comparison.

use super::*;
use crate::filter::parse_filter;
use serde_json::json;

fn user() -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "id": "abc-123",
        "externalId": "Ext-1",
        "userName": "bjensen",
        "name": {"familyName": "Jensen", "givenName": "Barbara", "formatted": "Ms. Barbara J Jensen III"},
        "displayName": "Babs Jensen",
        "title": "",
        "nickName": null,
        "active": false,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "phoneNumbers": [],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "manager": {"value": "26118915-6090", "displayName": "John Smith"}
        },
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34.123Z",
            "version": "W/\"a330bc54f0671c9\"",
            "location": "https://example.com/v2/Users/abc-123"
        }
    })
}

fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g-1",
        "displayName": "Tour Guides",
        "members": [
            {"value": "abc-123", "display": "Babs Jensen", "type": "User", "$ref": "https://example.com/v2/Users/abc-123"},
            {"value": "def-456", "display": "Mandy Pepperidge", "type": "User"}
        ],
        "meta": {"resourceType": "Group", "created": "2010-01-23T04:56:22+02:00", "lastModified": "2011-05-13T04:42:34Z"}
    })
}

fn check(rt: ResourceType, resource: &Value, rows: &[(&str, bool)]) {
    for (input, want) in rows {
        let filter = match parse_filter(input) {
            Ok(f) => f,
            Err(e) => panic!("{input}: {e}"),
        };
        assert_eq!(matches(&filter, resource, rt), *want, "{input}");
    }
}

#[test]
fn user_rows() {
    let rows: &[(&str, bool)] = &[
        // eq / ne and caseExact.
        (r#"userName eq "bjensen""#, true),
        (r#"userName eq "BJENSEN""#, true),
        (r#"USERNAME Eq "BJensen""#, true),
        (r#"userName eq "bjensen2""#, false),
        (r#"userName ne "BJENSEN""#, false),
        (r#"userName ne "other""#, true),
        (r#"id eq "abc-123""#, true),
        (r#"id eq "ABC-123""#, false),
        (r#"externalId eq "Ext-1""#, true),
        (r#"externalId eq "ext-1""#, false),
        (r#"externalId sw "ext""#, false),
        (r#"displayName eq "babs jensen""#, true),
        (r#"meta.resourceType eq "user""#, false),
        (r#"meta.resourceType eq "User""#, true),
        // co / sw / ew.
        (r#"userName co "jens""#, true),
        (r#"userName co "JENS""#, true),
        (r#"userName co "xyz""#, false),
        (r#"userName sw "bj""#, true),
        (r#"userName sw "jensen""#, false),
        (r#"userName ew "SEN""#, true),
        (r#"userName ew "bj""#, false),
        (r#"name.familyName co "O'Malley""#, false),
        (r#"name.familyName eq "jensen""#, true),
        (r#"NAME.FAMILYNAME sw "Jen""#, true),
        // Lexical order on strings.
        (r#"userName gt "a""#, true),
        (r#"userName gt "C""#, false),
        (r#"userName ge "bjensen""#, true),
        (r#"userName lt "c""#, true),
        (r#"userName le "BJENSEN""#, true),
        (r#"userName lt "b""#, false),
        // pr.
        ("userName pr", true),
        ("title pr", false),
        ("nickName pr", false),
        ("phoneNumbers pr", false),
        ("emails pr", true),
        ("name pr", true),
        ("addresses pr", false),
        ("emails.value pr", true),
        ("emails.display pr", false),
        ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager pr", true),
        // null.
        ("nickName eq null", true),
        ("profileUrl eq null", true),
        ("userName eq null", false),
        ("userName ne null", true),
        ("nickName ne null", false),
        // Absent attributes.
        (r#"nickName ne "x""#, true),
        (r#"nickName eq "x""#, false),
        (r#"addresses.locality eq "x""#, false),
        // Booleans.
        ("active eq false", true),
        ("active eq true", false),
        (r#"active eq "False""#, true),
        (r#"active eq "true""#, false),
        ("active ne true", true),
        ("active gt false", false),
        (r#"active co "f""#, false),
        ("active eq 0", false),
        ("emails.primary eq true", true),
        ("emails[primary eq true]", true),
        ("emails[primary eq false]", false),
        // dateTime as instants.
        (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, true),
        (r#"meta.lastModified gt "2011-05-13T04:42:34.123Z""#, false),
        (r#"meta.lastModified ge "2011-05-13T04:42:34.123000000Z""#, true),
        (r#"meta.lastModified eq "2011-05-13T04:42:34.1230Z""#, true),
        (r#"meta.lastModified eq "2011-05-13T06:42:34.123+02:00""#, true),
        (r#"meta.lastModified lt "2011-05-13T00:00:00-05:00""#, true),
        (r#"meta.lastModified gt "2011-05-13T00:00:00-05:00""#, false),
        (r#"meta.lastModified lt "2011-05-13T04:42:34.1231Z""#, true),
        (r#"meta.lastModified le "2011-05-13T04:42:34.1229999999Z""#, false),
        (r#"meta.lastModified gt "2011-05-13T04:42:34""#, true),
        (r#"meta.lastModified gt "not a date""#, false),
        (r#"meta.lastModified sw "2011-05""#, true),
        (r#"meta.created lt "2011-01-01T00:00:00Z""#, true),
        ("meta.Created gt 2009-10-10T14:38:21.8617979-07:00", true),
        ("meta.Created gt 2015-10-10T14:38:21.8617979-07:00", false),
        // Logic and precedence.
        (r#"userName eq "bjensen" and active eq false"#, true),
        (r#"userName eq "bjensen" and active eq true"#, false),
        (r#"userName eq "x" or active eq false"#, true),
        (r#"userName eq "x" or userName eq "y" and active eq false"#, false),
        (r#"(userName eq "x" or userName eq "bjensen") and active eq false"#, true),
        (r#"not (userName eq "bjensen")"#, false),
        (r#"not (userName eq "x")"#, true),
        (r#"not (not (userName pr))"#, true),
        // Multi-valued: any element, and `value` when no sub-attribute is named.
        (r#"emails co "example.com""#, true),
        (r#"emails eq "babs@jensen.org""#, true),
        (r#"emails eq "nobody@x.org""#, false),
        (r#"emails ne "babs@jensen.org""#, false),
        (r#"emails.value ew "@JENSEN.ORG""#, true),
        (r#"emails.type eq "home""#, true),
        (r#"emails.type eq "other""#, false),
        // Value paths: the conditions must hold on the same element.
        (r#"emails[type eq "work" and value co "@example.com"]"#, true),
        (r#"emails[type eq "work" and value co "@jensen.org"]"#, false),
        (r#"emails.type eq "work" and emails.value co "@jensen.org""#, true),
        (r#"emails[type eq "home" or primary eq true]"#, true),
        (r#"emails[not (type eq "work")]"#, true),
        (r#"emails[nope eq "x"]"#, false),
        (r#"userName[value eq "x"]"#, false),
        (r#"name[givenName eq "barbara"]"#, true),
        (r#"userType eq "Employee" and emails[type eq "work"]"#, false),
        // Entra's form.
        (r#"emails[type eq "work"].value eq "bjensen@example.com""#, true),
        (r#"emails[type eq "work"].value eq "babs@jensen.org""#, false),
        (r#"emails[type eq "home"].value eq "babs@jensen.org""#, true),
        (r#"emails[type eq "home"].primary pr"#, false),
        (r#"emails[type eq "work"].primary pr"#, true),
        // URN-qualified names.
        (r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen""#, true),
        (r#"URN:IETF:params:scim:schemas:core:2.0:User:userName eq "bjensen""#, true),
        (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#, true),
        (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber sw "70""#, true),
        ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq 701984", true),
        (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090""#, true),
        (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "26118915-6090""#, true),
        (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value sw "2611"]"#, true),
        (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName eq "bjensen""#, false),
        (r#"urn:ietf:params:scim:schemas:core:2.0:Group:userName eq "bjensen""#, false),
        (r#"employeeNumber eq "701984""#, false),
        // Microsoft's unquoted forms.
        ("userName sw B", true),
        ("userName sw O", false),
        ("name.FamilyName eq jensen and (emails.Value co example.com or emails.Value co example.org)", true),
        ("name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)", false),
        // Unknown attributes never match, so their negation does.
        (r#"nope eq "x""#, false),
        ("nope pr", false),
        (r#"nope ne "x""#, false),
        (r#"not (nope eq "x")"#, true),
        (r#"name.nope eq "x""#, false),
        (r#"members.value eq "abc-123""#, false),
        (r#"urn:x:y:userName eq "bjensen""#, false),
        // Type mismatches.
        ("userName eq true", false),
        ("userName gt 5", true),
        (r#"name eq "Jensen""#, false),
    ];
    check(ResourceType::User, &user(), rows);
}

#[test]
fn group_rows() {
    let rows: &[(&str, bool)] = &[
        (r#"displayName eq "tour guides""#, true),
        (r#"members.value eq "abc-123""#, true),
        (r#"members.value eq "ABC-123""#, true),
        (r#"members.value eq "zzz""#, false),
        (r#"members eq "def-456""#, true),
        (
            r#"members[value eq "def-456" and display sw "Mandy"]"#,
            true,
        ),
        (
            r#"members[value eq "def-456" and display sw "Babs"]"#,
            false,
        ),
        (r#"members[type eq "User"].value eq "def-456""#, true),
        ("members.$ref pr", true),
        (r#"members.$ref co "/Users/abc""#, true),
        (r#"meta.created eq "2010-01-23T02:56:22Z""#, true),
        (r#"meta.lastModified gt "2011-05-13T06:42:33+02:00""#, true),
        (r#"userName eq "x""#, false),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:Group:displayName sw "tour""#,
            true,
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber pr"#,
            false,
        ),
    ];
    check(ResourceType::Group, &group(), rows);
}

#[test]
fn odd_json_never_matches_and_never_panics() {
    let filters = [
        r#"userName eq "x""#,
        "addresses pr",
        r#"emails[type eq "work"]"#,
        r#"emails.value co "x""#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        "active eq true",
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x""#,
    ];
    let odd = [
        json!(null),
        json!(42),
        json!("userName"),
        json!([]),
        json!({"userName": 5, "addresses": [null, "", [], {}], "emails": "x", "meta": [1, 2], "active": "true"}),
        json!({"emails": [null, 3, [], {"type": 7, "value": {"a": 1}}]}),
        json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": [{"manager": 1}]}),
        json!({"meta": {"lastModified": 12}}),
    ];
    for f in filters {
        let filter = parse_filter(f).unwrap();
        for doc in &odd {
            assert!(!matches(&filter, doc, ResourceType::User), "{f} on {doc}");
        }
    }
}

#[test]
fn deep_filters_are_refused_before_evaluation() {
    let too_deep = format!("{}userName pr{}", "(".repeat(MAX + 1), ")".repeat(MAX + 1));
    assert!(parse_filter(&too_deep).is_err());
    let deepest = format!(
        "{}userName pr{}",
        "not (".repeat(MAX / 2),
        ")".repeat(MAX / 2)
    );
    let filter = parse_filter(&deepest).unwrap();
    assert!(matches(&filter, &user(), ResourceType::User));
}
const MAX: usize = crate::filter::MAX_DEPTH;

static INT: Attr = Attr::new("n", AttrType::Integer, "");
static DEC: Attr = Attr::new("n", AttrType::Decimal, "");

/// No schema attribute is numeric, so numbers are checked against made-up definitions.
#[test]
fn numbers_compare_numerically() {
    let (int, dec) = (&INT, &DEC);
    let num = |s: &str| CompValue::Number(s.parse().unwrap());
    use CompareOp::*;
    let rows: Vec<(&'static Attr, Value, CompareOp, CompValue, bool)> = vec![
        (int, json!(10), Eq, num("10"), true),
        (int, json!(10), Eq, num("10.0"), true),
        (int, json!(10), Gt, num("9"), true),
        (int, json!(10), Gt, num("1e2"), false),
        (int, json!(10), Lt, num("1e2"), true),
        (int, json!(10), Ge, num("10"), true),
        (int, json!(10), Le, num("-3"), false),
        (int, json!(10), Eq, CompValue::Str("10".into()), true),
        (int, json!(10), Co, num("1"), false),
        (int, json!("10"), Eq, num("10"), false),
        (int, json!(u64::MAX), Gt, num("1"), true),
        (int, json!(-5), Lt, num("18446744073709551615"), true),
        (dec, json!(1.5), Gt, num("1.25"), true),
        (dec, json!(1.5), Eq, num("1.5"), true),
        (dec, json!(1.5), Le, num("1"), false),
        (dec, json!(1.5), Eq, CompValue::Bool(true), false),
    ];
    for (attr, v, op, comp, want) in rows {
        let t = Target {
            leaf: attr,
            values: vec![&v],
        };
        assert_eq!(compare(&t, op, &comp), want, "{v} {op:?} {comp:?}");
    }
}
