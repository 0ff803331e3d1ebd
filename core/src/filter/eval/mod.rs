//! Evaluates a filter against a resource's JSON, honouring each attribute's type and caseExact.
//!
//! Paths are resolved against the schema, never guessed from the JSON, so the type and caseExact
//! of the definition decide how a comparison behaves. Anything that does not fit (unknown
//! attribute, wrong JSON type, unparsable date) simply does not match.

use super::{AttrPath, CompValue, CompareOp, Filter};
use crate::schema::{Attr, AttrType, Declared, ResourceType};
use serde_json::{Number, Value};
use std::borrow::Cow;
use std::cmp::Ordering;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Whether `resource` (the full JSON, as returned to clients) matches `filter`.
pub fn matches(filter: &Filter, resource: &Value, rt: ResourceType) -> bool {
    matches_with(filter, resource, rt, Declared::none())
}

/// [`matches`] for an org that declares the extensions `declared`, whose attributes a filter
/// names by full path (`urn:okta:custom:user:1.0:tshirtSize eq "M"`). Undeclared extensions
/// match nothing: without a type there is no telling how to compare.
pub fn matches_with(
    filter: &Filter,
    resource: &Value,
    rt: ResourceType,
    declared: &Declared,
) -> bool {
    eval(filter, Scope::Resource(resource, rt, declared))
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
    Resource(&'a Value, ResourceType, &'a Declared),
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
            let Scope::Resource(resource, rt, _) = scope else {
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
        Scope::Resource(resource, rt, declared) => {
            let Some(r) = rt.resolve(path.urn.as_deref(), &path.name, path.sub.as_deref()) else {
                return declared_target(path, resource, rt, declared);
            };
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

/// The values of a declared extension's attribute, named by full path and without a
/// sub-attribute (declared attributes are simple).
fn declared_target<'a>(
    path: &AttrPath,
    resource: &'a Value,
    rt: ResourceType,
    declared: &Declared,
) -> Option<Target<'a>> {
    if path.sub.is_some() {
        return None;
    }
    let (ext, attr) = declared.resolve(rt, path.urn.as_deref()?, &path.name)?;
    let values = get_key(resource, &ext.urn)
        .and_then(|obj| get_key(obj, &attr.name))
        .map(flatten)
        .unwrap_or_default();
    Some(Target {
        leaf: attr.leaf(),
        values,
    })
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
mod tests;
