//! Values of declared extensions (see [`crate::schema::declared`]): type-checked and coerced
//! when written, the way core attributes are, then stored where an undeclared extension's would
//! be, under the declared spelling of the URN and of each attribute.
//!
//! Only writes are checked. A value already stored that does not fit its declaration (stored
//! before the extension was declared, or under another declaration) stays as it is while a
//! write leaves it unchanged, so declaring an extension never makes a resource unwritable.
//! Attributes a declaration does not list are kept as sent, as an undeclared extension's are.

use serde_json::{Map, Number, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::Limits;
use crate::error::ScimError;
use crate::json_key::unseen;
use crate::schema::{AttrType, Declared, DeclaredAttr, DeclaredExtension, ResourceType};

/// Checks and coerces the values of every extension `declared` declares for `rt` in `attrs`
/// (stored form), renaming URN keys and attribute names to their declared spelling. `stored`
/// is the resource as stored before this write, whose unchanged values are not checked.
pub(super) fn apply(
    rt: ResourceType,
    declared: &Declared,
    attrs: &mut Map<String, Value>,
    stored: Option<&Map<String, Value>>,
    limits: &Limits,
) -> Result<(), ScimError> {
    for ext in declared.of(rt) {
        let Some(key) = find_key(attrs, &ext.urn) else {
            continue;
        };
        let before = stored
            .and_then(|s| find_key(s, &ext.urn).and_then(|k| s.get(&k)))
            .and_then(Value::as_object);
        let Some(Value::Object(obj)) = attrs.get(&key) else {
            continue;
        };
        let checked = check_extension(ext, obj, before, limits)?;
        if key == ext.urn {
            if checked.is_empty() {
                attrs.shift_remove(&key);
            } else {
                attrs.insert(key, Value::Object(checked));
            }
        } else {
            rename(attrs, &key, &ext.urn, checked);
        }
    }
    Ok(())
}

/// Replaces the entry `from` with `to` holding `obj`, in the same place, or drops it when `obj`
/// is empty.
fn rename(attrs: &mut Map<String, Value>, from: &str, to: &str, obj: Map<String, Value>) {
    let mut obj = Some(obj).filter(|o| !o.is_empty());
    for (k, v) in std::mem::take(attrs) {
        if k != from {
            attrs.insert(k, v);
        } else if let Some(obj) = obj.take() {
            attrs.insert(to.to_string(), Value::Object(obj));
        }
    }
}

/// The key of `m` equal to `name` case-insensitively, exact spelling first.
fn find_key(m: &Map<String, Value>, name: &str) -> Option<String> {
    if m.contains_key(name) {
        return Some(name.to_string());
    }
    m.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

fn check_extension(
    ext: &DeclaredExtension,
    obj: &Map<String, Value>,
    before: Option<&Map<String, Value>>,
    limits: &Limits,
) -> Result<Map<String, Value>, ScimError> {
    let mut out = Map::new();
    for (name, v) in obj {
        let Some(attr) = ext.attr(name) else {
            out.insert(name.clone(), v.clone());
            continue;
        };
        let unchanged = before
            .and_then(|b| find_key(b, name).and_then(|k| b.get(&k)))
            .is_some_and(|old| old == v);
        match coerce(attr, v, limits) {
            Ok(Some(value)) => {
                out.insert(attr.name.clone(), value);
            }
            Ok(None) => {}
            // Stored before the declaration said otherwise: returned as stored, never refused.
            Err(_) if unchanged => {
                out.insert(attr.name.clone(), v.clone());
            }
            Err(expected) => {
                return Err(ScimError::invalid_value(format!(
                    "Attribute '{}:{}' must be {expected}, as the org's config declares it",
                    ext.urn, attr.name
                )))
            }
        }
    }
    Ok(out)
}

/// The stored form of a value of `attr`, `None` for no value, or what was expected instead.
pub fn coerce(attr: &DeclaredAttr, v: &Value, limits: &Limits) -> Result<Option<Value>, String> {
    if !attr.multi {
        return match v {
            Value::Null => Ok(None),
            Value::Array(_) => Err(format!("{} (a single value)", expected(attr.ty))),
            v => coerce_one(attr.ty, v).map(Some),
        };
    }
    let items: Vec<&Value> = match v {
        Value::Array(items) => items.iter().collect(),
        // A lone value stands for a one-element array, as for core attributes.
        other => vec![other],
    };
    if items.len() > limits.max_values {
        return Err(format!(
            "a list of at most {} values ([limits] max_values_per_attribute), not {}",
            limits.max_values,
            items.len()
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::Null => {}
            Value::Array(_) => return Err(format!("a list of {}", expected(attr.ty))),
            item => out.push(coerce_one(attr.ty, item).map_err(|e| format!("a list of {e}"))?),
        }
    }
    let out = unseen(&[], out);
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

fn expected(ty: AttrType) -> &'static str {
    match ty {
        AttrType::Boolean => "a boolean (true or false)",
        AttrType::Integer => "an integer",
        AttrType::Decimal => "a number",
        AttrType::DateTime => "a dateTime such as \"2024-01-31T09:00:00Z\" or \"2024-01-31\"",
        AttrType::Reference => "a string holding a URI",
        _ => "a string",
    }
}

/// One simple value. Lenient where identity providers are: Entra sends every custom attribute
/// as a string (`"3"`, `"True"`), Okta a date without time for a date field.
fn coerce_one(ty: AttrType, v: &Value) -> Result<Value, String> {
    let fail = || Err(expected(ty).to_string());
    match (ty, v) {
        (_, Value::Object(_) | Value::Array(_) | Value::Null) => fail(),
        (AttrType::Boolean, Value::Bool(_)) => Ok(v.clone()),
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => {
            Ok(Value::Bool(true))
        }
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => {
            Ok(Value::Bool(false))
        }
        (AttrType::Integer, Value::Number(n)) => integer(n).map_or_else(fail, Ok),
        (AttrType::Integer, Value::String(s)) => match s.trim().parse::<Number>() {
            Ok(n) => integer(&n).map_or_else(fail, Ok),
            Err(_) => fail(),
        },
        (AttrType::Decimal, Value::Number(_)) => Ok(v.clone()),
        (AttrType::Decimal, Value::String(s)) => match s.trim().parse::<f64>() {
            Ok(f) if f.is_finite() => Number::from_f64(f).map_or_else(fail, |n| Ok(n.into())),
            _ => fail(),
        },
        (AttrType::DateTime, Value::String(s)) => date_time(s).map_or_else(fail, Ok),
        (AttrType::String, Value::String(_)) | (AttrType::Reference, Value::String(_)) => {
            Ok(v.clone())
        }
        // A number or boolean where a string belongs has an obvious string form, as in core.
        (AttrType::String, Value::Number(n)) => Ok(Value::String(n.to_string())),
        (AttrType::String, Value::Bool(b)) => Ok(Value::String(b.to_string())),
        _ => fail(),
    }
}

/// An integral number as an integer; `3.0` is 3, `3.5` is not an integer.
fn integer(n: &Number) -> Option<Value> {
    if n.is_i64() || n.is_u64() {
        return Some(Value::Number(n.clone()));
    }
    let f = n.as_f64()?;
    // i64::MAX as f64 rounds up to 2^63, so the bound is exclusive.
    (f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64)
        .then(|| Value::Number((f as i64).into()))
}

/// RFC 3339, kept as sent; a timestamp without offset is taken as UTC and a date alone as its
/// midnight UTC, each stored in full so that filters and sorts compare instants.
fn date_time(s: &str) -> Option<Value> {
    let s = s.trim();
    let parses = |t: &str| OffsetDateTime::parse(t, &Rfc3339).is_ok();
    let full = if parses(s) {
        s.to_string()
    } else if parses(&format!("{s}Z")) {
        format!("{s}Z")
    } else if s.len() == 10 && parses(&format!("{s}T00:00:00Z")) {
        format!("{s}T00:00:00Z")
    } else {
        return None;
    };
    Some(Value::String(full))
}
