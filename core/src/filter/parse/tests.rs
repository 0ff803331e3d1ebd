//! Tests of the filter, attribute path and PATCH path parsers, including their error messages.

use super::*;
use crate::error::ScimType;
use crate::filter::{CompValue, CompareOp};
use serde_json::Number;

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

fn p(name: &str) -> AttrPath {
    AttrPath::simple(name)
}
fn ps(name: &str, sub: &str) -> AttrPath {
    AttrPath {
        urn: None,
        name: name.into(),
        sub: Some(sub.into()),
    }
}
fn pu(urn: &str, name: &str, sub: Option<&str>) -> AttrPath {
    AttrPath {
        urn: Some(urn.into()),
        name: name.into(),
        sub: sub.map(Into::into),
    }
}
fn cmp(path: AttrPath, op: CompareOp, value: CompValue) -> Filter {
    Filter::Compare { path, op, value }
}
fn s(v: &str) -> CompValue {
    CompValue::Str(v.into())
}
fn n(v: &str) -> CompValue {
    CompValue::Number(v.parse::<Number>().unwrap())
}
fn eq(name: &str, v: &str) -> Filter {
    cmp(p(name), CompareOp::Eq, s(v))
}
fn and(a: Filter, b: Filter) -> Filter {
    Filter::And(Box::new(a), Box::new(b))
}
fn or(a: Filter, b: Filter) -> Filter {
    Filter::Or(Box::new(a), Box::new(b))
}
fn not(a: Filter) -> Filter {
    Filter::Not(Box::new(a))
}
fn vp(path: AttrPath, f: Filter) -> Filter {
    Filter::ValuePath {
        path,
        filter: Box::new(f),
    }
}
fn pr(path: AttrPath) -> Filter {
    Filter::Present(path)
}

#[test]
fn filters_parse_into_the_expected_tree() {
    use CompareOp::*;
    let rows: Vec<(&str, Filter)> = vec![
        (r#"userName eq "bjensen""#, eq("userName", "bjensen")),
        (r#"UserName EQ "x""#, eq("UserName", "x")),
        (r#"  userName   eq   "x"  "#, eq("userName", "x")),
        (r#"userName eq"x""#, eq("userName", "x")),
        (r#"userName ne "x""#, cmp(p("userName"), Ne, s("x"))),
        (r#"userName co "x""#, cmp(p("userName"), Co, s("x"))),
        (r#"userName sw "J""#, cmp(p("userName"), Sw, s("J"))),
        (r#"userName ew "n""#, cmp(p("userName"), Ew, s("n"))),
        (r#"userName gt "a""#, cmp(p("userName"), Gt, s("a"))),
        (r#"userName ge "a""#, cmp(p("userName"), Ge, s("a"))),
        (r#"userName lt "a""#, cmp(p("userName"), Lt, s("a"))),
        (r#"userName Le "a""#, cmp(p("userName"), Le, s("a"))),
        ("title pr", pr(p("title"))),
        ("title PR", pr(p("title"))),
        (
            r#"name.familyName co "O'Malley""#,
            cmp(ps("name", "familyName"), Co, s("O'Malley")),
        ),
        (
            r#"emails.value ew "@example.com""#,
            cmp(ps("emails", "value"), Ew, s("@example.com")),
        ),
        (
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            cmp(ps("meta", "lastModified"), Gt, s("2011-05-13T04:42:34Z")),
        ),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            cmp(pu(CORE, "userName", None), Sw, s("J")),
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26""#,
            cmp(pu(ENT, "manager", Some("value")), Eq, s("26")),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber pr",
            pr(pu(ENT, "employeeNumber", None)),
        ),
        (r#"a eq "q\"uote""#, eq("a", "q\"uote")),
        (r#"a eq "caf\u00e9""#, eq("a", "café")),
        (r#"a eq "back\\slash""#, eq("a", "back\\slash")),
        (
            r#"a eq "with ) and ] inside""#,
            eq("a", "with ) and ] inside"),
        ),
        (r#"a eq """#, eq("a", "")),
        ("a eq true", cmp(p("a"), Eq, CompValue::Bool(true))),
        ("a eq FALSE", cmp(p("a"), Eq, CompValue::Bool(false))),
        ("a eq Null", cmp(p("a"), Eq, CompValue::Null)),
        ("a eq 42", cmp(p("a"), Eq, n("42"))),
        ("a gt -1.5", cmp(p("a"), Gt, n("-1.5"))),
        ("a lt 1.5e3", cmp(p("a"), Lt, n("1.5e3"))),
        ("a lt 2E-2", cmp(p("a"), Lt, n("2E-2"))),
        // Microsoft's unquoted forms.
        ("userName sw O", cmp(p("userName"), Sw, s("O"))),
        ("a eq 007", eq("a", "007")),
        (
            "meta.Created gt 2015-10-10T14:38:21.8617979-07:00",
            cmp(
                ps("meta", "Created"),
                Gt,
                s("2015-10-10T14:38:21.8617979-07:00"),
            ),
        ),
        (
            "name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co \
             example.org)",
            and(
                cmp(ps("name", "FamilyName"), Eq, s("Employee")),
                or(
                    cmp(ps("emails", "Value"), Co, s("example.com")),
                    cmp(ps("emails", "Value"), Co, s("example.org")),
                ),
            ),
        ),
        // Precedence: not > and > or, left-associative.
        (
            r#"a eq "1" or b eq "2" and c eq "3""#,
            or(eq("a", "1"), and(eq("b", "2"), eq("c", "3"))),
        ),
        (
            r#"a eq "1" and b eq "2" or c eq "3""#,
            or(and(eq("a", "1"), eq("b", "2")), eq("c", "3")),
        ),
        (
            r#"a eq "1" AND b eq "2" And c eq "3""#,
            and(and(eq("a", "1"), eq("b", "2")), eq("c", "3")),
        ),
        (r#"a eq "1" OR b pr"#, or(eq("a", "1"), pr(p("b")))),
        (
            r#"(a eq "1" or b eq "2") and c eq "3""#,
            and(or(eq("a", "1"), eq("b", "2")), eq("c", "3")),
        ),
        (r#"not (a eq "1")"#, not(eq("a", "1"))),
        (r#"NOT(a eq "1")"#, not(eq("a", "1"))),
        (
            r#"not (a eq "1") and b pr"#,
            and(not(eq("a", "1")), pr(p("b"))),
        ),
        (r#"((a pr))"#, pr(p("a"))),
        (r#"(a pr)and(b pr)"#, and(pr(p("a")), pr(p("b")))),
        (r#"notes pr"#, pr(p("notes"))),
        (r#"android eq "x""#, eq("android", "x")),
        // Value paths.
        (
            r#"emails[type eq "work" and value co "@example.com"]"#,
            vp(
                p("emails"),
                and(eq("type", "work"), eq_op("value", Co, "@example.com")),
            ),
        ),
        (
            r#"emails[type eq "work" and primary eq true]"#,
            vp(
                p("emails"),
                and(
                    eq("type", "work"),
                    cmp(p("primary"), Eq, CompValue::Bool(true)),
                ),
            ),
        ),
        (
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            and(
                eq("userType", "Employee"),
                vp(
                    p("emails"),
                    and(eq("type", "work"), eq_op("value", Co, "@example.com")),
                ),
            ),
        ),
        (
            r#"emails[not (type eq "home")]"#,
            vp(p("emails"), not(eq("type", "home"))),
        ),
        (
            r#"emails[(type eq "work")]"#,
            vp(p("emails"), eq("type", "work")),
        ),
        (
            r#"members[value eq "2819c223"]"#,
            vp(p("members"), eq("value", "2819c223")),
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq "x"]"#,
            vp(pu(ENT, "manager", None), eq("value", "x")),
        ),
        // Entra's trailing sub-attribute form.
        (
            r#"emails[type eq "work"].value eq "x""#,
            vp(p("emails"), and(eq("type", "work"), eq("value", "x"))),
        ),
        (
            r#"emails[type eq "work"].value pr"#,
            vp(p("emails"), and(eq("type", "work"), pr(p("value")))),
        ),
        (
            r#"emails[type eq "work" or primary eq true].value eq "x" and active eq true"#,
            and(
                vp(
                    p("emails"),
                    and(
                        or(
                            eq("type", "work"),
                            cmp(p("primary"), Eq, CompValue::Bool(true)),
                        ),
                        eq("value", "x"),
                    ),
                ),
                cmp(p("active"), Eq, CompValue::Bool(true)),
            ),
        ),
        ("members.$ref pr", pr(ps("members", "$ref"))),
    ];
    for (input, want) in rows {
        match parse_filter(input) {
            Ok(got) => assert_eq!(got, want, "{input}"),
            Err(e) => panic!("{input}: {e}"),
        }
    }
}

fn eq_op(name: &str, op: CompareOp, v: &str) -> Filter {
    cmp(p(name), op, s(v))
}

#[test]
fn bad_filters_are_invalid_filter_errors() {
    let deep_ok = format!("{}a pr{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(parse_filter(&deep_ok).is_ok());
    let not_ok = format!(
        "{}a pr{}",
        "not (".repeat(MAX_DEPTH / 2),
        ")".repeat(MAX_DEPTH / 2)
    );
    assert!(parse_filter(&not_ok).is_ok());
    let too_deep = format!(
        "{}a pr{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    let not_too_deep = format!("{}a pr{}", "not (".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    let rows: Vec<(String, &str)> = vec![
        ("".into(), "empty"),
        ("   ".into(), "empty"),
        ("ANN@ACME.COM".into(), "operator"),
        (r#""bjensen""#.into(), "attribute path"),
        ("bjensen".into(), "operator"),
        ("userName".into(), "operator"),
        ("userName eq".into(), "value"),
        ("userName eq ".into(), "value"),
        (r#"userName xx "a""#.into(), "unknown operator 'xx'"),
        (r#"userName = "a""#.into(), "operator"),
        (r#"userName eqq "a""#.into(), "unknown operator"),
        (r#"userName pr "a""#.into(), "'pr' takes no value"),
        ("userName pr x".into(), "'pr' takes no value"),
        (r#"(userName eq "a""#.into(), "missing ')'"),
        (r#"userName eq "a")"#.into(), "unbalanced ')'"),
        (r#"(userName eq "a"))"#.into(), "unbalanced ')'"),
        (r#"emails[type eq "a""#.into(), "missing ']'"),
        (
            r#"emails[type eq "a")"#.into(),
            "expected 'and', 'or' or ']'",
        ),
        (r#"emails[type eq "a"]]"#.into(), "unbalanced ']'"),
        (r#"userName eq "a" foo"#.into(), "expected 'and' or 'or'"),
        (r#"userName eq "a" and"#.into(), "end of input"),
        (r#"userName eq "a" or or"#.into(), "operator"),
        (r#"and userName eq "a""#.into(), "operator"),
        ("()".into(), "attribute path"),
        (r#"not userName eq "a""#.into(), "'(' after 'not'"),
        (r#"emails[type[value eq "1"]]"#.into(), "nested"),
        (r#"emails[type eq "work"].value"#.into(), "operator"),
        (r#"emails[type eq "work"]."#.into(), "sub-attribute name"),
        (
            r#"emails[type eq "work"] eq "x""#.into(),
            "expected 'and' or 'or'",
        ),
        (r#"name.givenName[value eq "x"]"#.into(), "sub-attribute"),
        (r#"a.b.c eq "x""#.into(), "sub-attribute name"),
        (r#"1abc eq "x""#.into(), "attribute name"),
        (r#"name. eq "x""#.into(), "sub-attribute"),
        (r#"foo:userName eq "x""#.into(), "URN"),
        (r#"urn:: eq "x""#.into(), "URN"),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User: eq "x""#.into(),
            "attribute name",
        ),
        (r#"userName eq "unterminated"#.into(), "unterminated"),
        (r#"userName eq "bad \q escape""#.into(), "invalid string"),
        (r#"userName eq ab"c"#.into(), "quote values"),
        (r#"userName eq f(x)"#.into(), "quote values"),
        (r#"emails[]"#.into(), "attribute path"),
        (too_deep, "deeper than 32"),
        (not_too_deep, "deeper than 32"),
        (
            format!("{}a pr{}", "(".repeat(4000), ")".repeat(4000)),
            "deeper than 32",
        ),
        ("(".repeat(100_000), "limit"),
        (format!("userName eq \"{}\"", "x".repeat(MAX_LEN)), "limit"),
        (format!("{}a pr]", "emails[".repeat(2)), "nested"),
    ];
    for (input, want) in rows {
        let shown: String = input.chars().take(60).collect();
        match parse_filter(&input) {
            Ok(f) => panic!("{shown}: expected an error, got {f:?}"),
            Err(e) => {
                assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter), "{shown}: {e}");
                let detail = e.to_string();
                assert!(detail.contains(want), "{shown}: {detail:?} lacks {want:?}");
            }
        }
    }
}

#[test]
fn attribute_paths() {
    let ok: Vec<(&str, AttrPath)> = vec![
        ("userName", p("userName")),
        (" userName ", p("userName")),
        ("name.givenName", ps("name", "givenName")),
        ("members.$ref", ps("members", "$ref")),
        ("x509Certificates", p("x509Certificates")),
        ("cost-center_2", p("cost-center_2")),
        (
            "urn:ietf:params:scim:schemas:core:2.0:User:userName",
            pu(CORE, "userName", None),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            pu(ENT, "manager", Some("value")),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            pu(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0",
                "User",
                None,
            ),
        ),
    ];
    for (input, want) in ok {
        match parse_attr_path(input) {
            Ok(got) => assert_eq!(got, want, "{input}"),
            Err(e) => panic!("{input}: {e}"),
        }
    }
    let err = [
        "",
        "  ",
        "1name",
        "name.",
        ".name",
        "a.b.c",
        "user name",
        "userName,",
        "emails[type eq \"x\"]",
        "$foo",
        "na$me",
        "urn:",
        "foo:bar",
        "urn:x::name",
        "name..x",
        "é",
    ];
    for input in err {
        match parse_attr_path(input) {
            Ok(got) => panic!("{input}: expected an error, got {got:?}"),
            Err(e) => assert_eq!(e.scim_type(), Some(ScimType::InvalidPath), "{input}: {e}"),
        }
    }
}

#[test]
fn patch_paths() {
    let ok: Vec<(&str, AttrPath, Option<Filter>)> = vec![
        ("userName", p("userName"), None),
        ("name.givenName", ps("name", "givenName"), None),
        ("members", p("members"), None),
        (
            r#"members[value eq "2819c223"]"#,
            p("members"),
            Some(eq("value", "2819c223")),
        ),
        (
            r#"emails[type eq "work"].value"#,
            ps("emails", "value"),
            Some(eq("type", "work")),
        ),
        (
            r#"addresses[type eq "work"].streetAddress"#,
            ps("addresses", "streetAddress"),
            Some(eq("type", "work")),
        ),
        (
            r#"emails[type eq "work" and primary eq true]"#,
            p("emails"),
            Some(and(
                eq("type", "work"),
                cmp(p("primary"), CompareOp::Eq, CompValue::Bool(true)),
            )),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            pu(ENT, "manager", None),
            None,
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            pu(ENT, "manager", Some("value")),
            None,
        ),
        (
            "urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq \"work\"].value",
            AttrPath {
                urn: Some(CORE.into()),
                name: "emails".into(),
                sub: Some("value".into()),
            },
            Some(eq("type", "work")),
        ),
    ];
    for (input, attr, filter) in ok {
        match parse_patch_path(input) {
            Ok(got) => assert_eq!(got, PatchPath { attr, filter }, "{input}"),
            Err(e) => panic!("{input}: {e}"),
        }
    }
    let err: &[(&str, ScimType)] = &[
        ("", ScimType::InvalidPath),
        ("1bad", ScimType::InvalidPath),
        ("a.b.c", ScimType::InvalidPath),
        ("name.givenName[value eq \"x\"]", ScimType::InvalidPath),
        ("emails[type eq \"work\"", ScimType::InvalidPath),
        ("emails[type eq \"work\"].", ScimType::InvalidPath),
        ("emails[type eq \"work\"].value.x", ScimType::InvalidPath),
        ("emails[type eq \"work\"]x", ScimType::InvalidPath),
        ("emails x", ScimType::InvalidPath),
        ("emails[type xx \"work\"]", ScimType::InvalidFilter),
        ("emails[]", ScimType::InvalidFilter),
        ("emails[type[value eq 1]]", ScimType::InvalidFilter),
    ];
    for (input, kind) in err {
        match parse_patch_path(input) {
            Ok(got) => panic!("{input}: expected an error, got {got:?}"),
            Err(e) => assert_eq!(e.scim_type(), Some(*kind), "{input}: {e}"),
        }
    }
}

#[test]
fn error_details_say_where() {
    let e = parse_filter(r#"userName eq "a" foo"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("position 16") && e.contains("'foo'"), "{e}");
    let e = parse_filter(r#"(a pr"#).unwrap_err().to_string();
    assert!(e.contains("position 0"), "{e}");
}
