//! Bounds on string values, the same whichever backend stores them: no U+0000 anywhere (a
//! PostgreSQL `text` cannot hold it), and a length cap per attribute, shorter for the indexed
//! and unique ones (an index entry has a size limit, and a lookup key should be small).

use serde_json::{Map, Value};

use super::Limits;
use crate::error::ScimError;
use crate::schema::ENTERPRISE_SCHEMA;

/// Whether an attribute of the stored form is indexed, unique or an id, so it gets the shorter
/// cap: `userName`, `externalId`, `displayName`, `emails.value`, the manager's id.
fn is_indexed(ext: Option<&str>, name: &str, sub: Option<&str>) -> bool {
    match (ext, sub) {
        (None, None) => matches!(name, "userName" | "externalId" | "displayName"),
        (None, Some("value")) => name == "emails",
        (Some(e), Some("value")) => e.eq_ignore_ascii_case(ENTERPRISE_SCHEMA) && name == "manager",
        _ => false,
    }
}

fn path(ext: Option<&str>, name: &str, sub: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(ext) = ext {
        out.push_str(ext);
        out.push(':');
    }
    out.push_str(name);
    if let Some(sub) = sub {
        out.push('.');
        out.push_str(sub);
    }
    out
}

/// The error for a value of `attr` that breaks the rules, if it does.
fn check_value(
    attr: &dyn Fn() -> String,
    s: &str,
    indexed: bool,
    limits: &Limits,
) -> Result<(), ScimError> {
    if s.contains('\0') {
        return Err(ScimError::invalid_value(format!(
            "Attribute '{}' contains the character U+0000, which is not allowed",
            attr()
        )));
    }
    let (max, key) = if indexed {
        (limits.max_indexed_length, "max_indexed_length")
    } else {
        (limits.max_string_length, "max_string_length")
    };
    // A string of no more bytes than the cap has no more characters either: most values are
    // judged without counting.
    if s.len() > max {
        let chars = s.chars().count();
        if chars > max {
            return Err(ScimError::invalid_value(format!(
                "Attribute '{}' is {chars} characters long; at most {max} are allowed \
                 ([limits] {key})",
                attr()
            )));
        }
    }
    Ok(())
}

/// Checks one value of the stored form, as deep as normalizing builds it: a string, an array
/// of strings or objects, or an object of strings.
fn check_attr(ext: Option<&str>, name: &str, v: &Value, limits: &Limits) -> Result<(), ScimError> {
    let leaf = |sub: Option<&str>, v: &Value| match v {
        Value::String(s) => check_value(
            &|| path(ext, name, sub),
            s,
            is_indexed(ext, name, sub),
            limits,
        ),
        _ => Ok(()),
    };
    let object = |m: &Map<String, Value>| {
        m.iter()
            .try_for_each(|(sub, sv)| leaf(Some(sub.as_str()), sv))
    };
    match v {
        Value::Array(items) => items.iter().try_for_each(|item| match item {
            Value::Object(m) => object(m),
            other => leaf(None, other),
        }),
        Value::Object(m) => object(m),
        other => leaf(None, other),
    }
}

/// Checks every string of an undeclared extension's attribute, object keys included, however
/// deep (its depth is bounded before this runs).
fn check_deep(attr: &dyn Fn() -> String, v: &Value, limits: &Limits) -> Result<(), ScimError> {
    match v {
        Value::String(s) => check_value(attr, s, false, limits),
        Value::Array(items) => items.iter().try_for_each(|i| check_deep(attr, i, limits)),
        Value::Object(m) => m.iter().try_for_each(|(k, i)| {
            check_value(attr, k, false, limits)?;
            check_deep(attr, i, limits)
        }),
        _ => Ok(()),
    }
}

/// Checks every string of a resource in stored form. With `unchanged_from`, attributes whose
/// value equals the one stored there are passed over, so a limit lowered later never blocks
/// writes to other attributes of a resource stored before.
pub fn check_strings(
    attrs: &Map<String, Value>,
    limits: &Limits,
    unchanged_from: Option<&Map<String, Value>>,
) -> Result<(), ScimError> {
    for (key, v) in attrs {
        let is_ext = key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
        match (is_ext, v) {
            (true, Value::Object(ext)) => {
                let before = unchanged_from
                    .and_then(|old| old.get(key))
                    .and_then(Value::as_object);
                for (name, v) in ext {
                    if before.and_then(|b| b.get(name)) == Some(v) {
                        continue;
                    }
                    if super::undeclared::is_undeclared(key) {
                        check_deep(&|| path(Some(key), name, None), v, limits)?;
                    } else {
                        check_attr(Some(key), name, v, limits)?;
                    }
                }
            }
            _ => {
                if unchanged_from.and_then(|old| old.get(key)) == Some(v) {
                    continue;
                }
                check_attr(None, key, v, limits)?;
            }
        }
    }
    Ok(())
}

/// Checks an id that names a resource (in a URL path, a member, a Bulk path): no U+0000, no
/// longer than `max_indexed_length`. `what` names it in the error.
pub fn check_id(what: &str, id: &str, limits: &Limits) -> Result<(), ScimError> {
    check_value(&|| what.to_string(), id, true, limits)
}

/// Whether `value` could be stored in an indexed attribute at all; a filter comparing an
/// indexed attribute with one that could not simply matches nothing.
pub fn fits_index(value: &str, limits: &Limits) -> bool {
    check_value(&String::new, value, true, limits).is_ok()
}
