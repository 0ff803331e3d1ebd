//! Evaluates a filter against a resource's JSON, honouring each attribute's type and caseExact.
//!
//! Paths are resolved against the schema, never guessed from the JSON, so the type and caseExact
//! of the definition decide how a comparison behaves. Anything that does not fit (unknown
//! attribute, wrong JSON type, unparsable date) simply does not match.

use super::{AttrPath, CompValue, CompareOp, Filter};
use crate::schema::{Attr, AttrType, ResourceType};
use serde_json::{Number, Value};
use std::borrow::Cow;
use std::cmp::Ordering;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Whether `resource` (the full JSON, as returned to clients) matches `filter`.
pub fn matches(filter: &Filter, resource: &Value, rt: ResourceType) -> bool {
    eval(filter, Scope::Resource(resource, rt))
}

/// Whether one element of the complex attribute `attr` matches the inner filter of a value path
/// `attr[filter]` (paths relative to the element). The PATCH engine selects elements this way;
/// evaluating in place spares it wrapping a copy of every element in a resource of its own.
pub(crate) fn element_matches(filter: &Filter, element: &Value, attr: &'static Attr) -> bool {
    attr.ty == AttrType::Complex
        && element.is_object()
        && eval(filter, Scope::Element(element, attr))
}

/// What the paths of a filter are relative to.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Resource(&'a Value, ResourceType),
    /// One element of a complex attribute, inside a value path `attr[...]`.
    Element(&'a Value, &'static Attr),
}

/// The values a path selects, with the definition that governs how to compare them.
struct Target<'a> {
    leaf: &'static Attr,
    values: Vec<&'a Value>,
}

fn eval(filter: &Filter, scope: Scope<'_>) -> bool {
    match filter {
        Filter::And(a, b) => eval(a, scope) && eval(b, scope),
        Filter::Or(a, b) => eval(a, scope) || eval(b, scope),
        Filter::Not(a) => !eval(a, scope),
        Filter::Present(path) => {
            target(path, scope, false).is_some_and(|t| t.values.iter().any(|v| is_present(v)))
        }
        Filter::Compare { path, op, value } => {
            target(path, scope, true).is_some_and(|t| compare(&t, *op, value))
        }
        Filter::ValuePath { path, filter } => {
            let Scope::Resource(resource, rt) = scope else {
                return false;
            };
            let Some(r) = rt.resolve(path.urn.as_deref(), &path.name, None) else {
                return false;
            };
            if r.attr.ty != AttrType::Complex || path.sub.is_some() {
                return false;
            }
            let Some(container) = container(resource, r.extension) else {
                return false;
            };
            let Some(found) = get_key(container, r.attr.name) else {
                return false;
            };
            flatten(found)
                .into_iter()
                .any(|e| e.is_object() && eval(filter, Scope::Element(e, r.attr)))
        }
    }
}

/// Where a resolved attribute lives: the resource itself or its extension's URN object.
fn container<'a>(resource: &'a Value, extension: Option<&str>) -> Option<&'a Value> {
    match extension {
        Some(urn) => get_key(resource, urn),
        None => Some(resource),
    }
}

/// `compare` is set for comparisons: a complex attribute named without sub-attribute then stands
/// for its `value` (RFC 7644: `emails co "x"`), while `pr` looks at the attribute itself.
fn target<'a>(path: &AttrPath, scope: Scope<'a>, compare: bool) -> Option<Target<'a>> {
    match scope {
        Scope::Resource(resource, rt) => {
            let r = rt.resolve(path.urn.as_deref(), &path.name, path.sub.as_deref())?;
            let top = get_key(container(resource, r.extension)?, r.attr.name);
            let sub = match r.sub {
                Some(sub) => Some(sub),
                None if compare && r.attr.ty == AttrType::Complex => r.attr.sub_attr("value"),
                None => None,
            };
            let tops = top.map(flatten).unwrap_or_default();
            match sub {
                Some(sub) => Some(Target {
                    leaf: sub,
                    values: sub_values(&tops, sub),
                }),
                None => Some(Target {
                    leaf: r.attr,
                    values: tops,
                }),
            }
        }
        Scope::Element(element, attr) => {
            // Element paths are relative: a URN or a second level cannot name a sub-attribute.
            if path.urn.is_some() || path.sub.is_some() {
                return None;
            }
            let sub = attr.sub_attr(&path.name)?;
            Some(Target {
                leaf: sub,
                values: sub_values(&[element], sub),
            })
        }
    }
}

fn sub_values<'a>(parents: &[&'a Value], sub: &Attr) -> Vec<&'a Value> {
    parents
        .iter()
        .filter_map(|p| get_key(p, sub.name))
        .flat_map(flatten)
        .collect()
}

/// A multi-valued attribute's elements, or the single value itself.
fn flatten(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// Looks up a key by its canonical spelling, falling back to a case-insensitive match because
/// attribute names are case-insensitive in SCIM and stored JSON may not be canonical.
fn get_key<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let obj = v.as_object()?;
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// RFC 7643 treats null, "" and empty arrays or objects as unassigned. Deliberately shallow, so
/// arbitrarily deep JSON cannot drive recursion.
fn is_present(v: &Value) -> bool {
    fn shallow(v: &Value) -> bool {
        match v {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            Value::Bool(_) | Value::Number(_) => true,
        }
    }
    match v {
        Value::Array(a) => a.iter().any(shallow),
        Value::Object(o) => o.values().any(shallow),
        other => shallow(other),
    }
}

fn compare(t: &Target<'_>, op: CompareOp, comp: &CompValue) -> bool {
    match (op, comp) {
        (CompareOp::Eq, CompValue::Null) => !t.values.iter().any(|v| is_present(v)),
        // `ne` is the negation of `eq`: an absent attribute is "not equal", and a multi-valued
        // attribute is "not equal" only when no element equals.
        (CompareOp::Ne, _) => !compare(t, CompareOp::Eq, comp),
        (_, CompValue::Null) => false,
        _ => t.values.iter().any(|v| compare_value(t.leaf, v, op, comp)),
    }
}

/// Compares one JSON value of an attribute defined by `leaf`; `op` is never `Ne`.
fn compare_value(leaf: &Attr, v: &Value, op: CompareOp, comp: &CompValue) -> bool {
    match leaf.ty {
        AttrType::String | AttrType::Reference | AttrType::Binary => {
            match (v.as_str(), comp_text(comp)) {
                (Some(a), Some(b)) => compare_str(a, &b, op, leaf.case_exact),
                _ => false,
            }
        }
        AttrType::DateTime => {
            let (Some(a), Some(b)) = (v.as_str(), comp_text(comp)) else {
                return false;
            };
            match op {
                CompareOp::Co | CompareOp::Sw | CompareOp::Ew => compare_str(a, &b, op, false),
                _ => match (parse_instant(a), parse_instant(&b)) {
                    (Some(x), Some(y)) => ordering_matches(x.cmp(&y), op),
                    _ => op == CompareOp::Eq && a == b,
                },
            }
        }
        AttrType::Boolean => {
            let wanted = match comp {
                CompValue::Bool(b) => Some(*b),
                CompValue::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
                CompValue::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
                _ => None,
            };
            op == CompareOp::Eq && wanted.is_some() && v.as_bool() == wanted
        }
        AttrType::Integer | AttrType::Decimal => {
            if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
                return false;
            }
            let wanted = match comp {
                CompValue::Number(n) => Some(n.clone()),
                CompValue::Str(s) => s.trim().parse::<Number>().ok(),
                _ => None,
            };
            match (v.as_number(), wanted) {
                (Some(a), Some(b)) => {
                    compare_numbers(a, &b).is_some_and(|o| ordering_matches(o, op))
                }
                _ => false,
            }
        }
        AttrType::Complex => false,
    }
}

/// A filter value as text for string attributes; unquoted numbers and booleans from lenient
/// clients (`externalId eq 1234`) still compare against the string they spell.
fn comp_text(comp: &CompValue) -> Option<Cow<'_, str>> {
    match comp {
        CompValue::Str(s) => Some(Cow::Borrowed(s)),
        CompValue::Number(n) => Some(Cow::Owned(n.to_string())),
        CompValue::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        CompValue::Null => None,
    }
}

fn compare_str(a: &str, b: &str, op: CompareOp, case_exact: bool) -> bool {
    let (a, b): (Cow<'_, str>, Cow<'_, str>) = if case_exact {
        (Cow::Borrowed(a), Cow::Borrowed(b))
    } else {
        (Cow::Owned(a.to_lowercase()), Cow::Owned(b.to_lowercase()))
    };
    match op {
        CompareOp::Co => a.contains(b.as_ref()),
        CompareOp::Sw => a.starts_with(b.as_ref()),
        CompareOp::Ew => a.ends_with(b.as_ref()),
        _ => ordering_matches(a.cmp(&b), op),
    }
}

fn ordering_matches(o: Ordering, op: CompareOp) -> bool {
    match op {
        CompareOp::Eq => o == Ordering::Equal,
        CompareOp::Ne => o != Ordering::Equal,
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::Ge => o != Ordering::Less,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::Le => o != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

/// RFC 3339 with any fraction length and offset; a timestamp without offset is taken as UTC,
/// as some clients omit the `Z`.
fn parse_instant(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339))
        .ok()
}

#[cfg(test)]
mod tests {
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
}
