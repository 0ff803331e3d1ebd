//! Validation and canonical form of User and Group resources, and their rendering.
//!
//! Identity providers send bodies that bend the RFC in known ways (echoed `id`/`meta`, string
//! booleans, misspelled or foreign attributes, bare member ids). `normalize` accepts those and
//! turns every body into one stored form, so that equality, indexes and PATCH work on a single
//! shape; `render` turns the stored form back into what clients read.

use std::collections::HashSet;
use std::fmt;

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::json_key::unseen;
use crate::schema::{
    Attr, AttrType, Declared, Mutability, ResourceType, Schema, COMMON_ATTRS, ENTERPRISE_SCHEMA,
};

/// Per-deployment limits on resource contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest Group `displayName`, in characters.
    pub team_name_max: usize,
    /// The most values one multi-valued attribute (emails, phoneNumbers, addresses, ims, photos,
    /// entitlements, roles, x509Certificates, ...) may hold; group `members` are not capped
    /// (they live in a membership table).
    pub max_values: usize,
    /// The longest value, in characters, of an indexed or unique attribute, or an id.
    pub max_indexed_length: usize,
    /// The longest value, in characters, of any other string.
    pub max_string_length: usize,
    /// The most bytes all undeclared extensions of one resource may take, serialized.
    pub max_extension_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            team_name_max: 100,
            max_values: 100,
            max_indexed_length: 512,
            max_string_length: 16_384,
            max_extension_bytes: 16_384,
        }
    }
}

/// A body in stored form, with Group member ids split off.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Normalized {
    pub attrs: Map<String, Value>,
    /// Group member ids in input order, deduplicated; `Some` only when the body had `members`.
    pub members: Option<Vec<String>>,
}

/// Server-maintained metadata of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// RFC 3339.
    pub created: String,
    /// RFC 3339.
    pub last_modified: String,
    pub version: u64,
}

/// The weak ETag of a resource version.
pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// An attribute path for error details: `name.givenName`, `urn:...:User:manager.value`.
struct Path {
    ext: Option<&'static str>,
    attr: &'static str,
    sub: Option<&'static str>,
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(ext) = self.ext {
            write!(f, "{ext}:")?;
        }
        f.write_str(self.attr)?;
        if let Some(sub) = self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// What a client wrote for one attribute. Borrowed, so that hostile input is never copied or
/// walked beyond the depth the schema defines.
enum Slot<'a> {
    Whole(&'a Value),
    /// Sub-attributes gathered from dotted keys (`name.givenName`), possibly on top of an object.
    Parts(Vec<(&'a str, &'a Value)>),
}

/// Where a body key points.
enum Target<'k> {
    Skip,
    Extension(&'static Schema),
    Attr {
        ext: Option<&'static Schema>,
        attr: &'static Attr,
        sub: Option<&'k str>,
    },
}

#[derive(Default)]
struct Gathered<'a> {
    slots: Vec<(Option<&'static str>, &'static Attr, Slot<'a>)>,
    members: Option<&'a Value>,
    undeclared: undeclared::Gathered,
}

impl<'a> Gathered<'a> {
    fn slot(&mut self, ext: Option<&'static str>, attr: &'static Attr) -> Option<&mut Slot<'a>> {
        self.slots
            .iter_mut()
            .find(|(e, a, _)| *e == ext && a.name == attr.name)
            .map(|(_, _, s)| s)
    }

    fn set(&mut self, ext: Option<&'static str>, attr: &'static Attr, value: &'a Value) {
        match self.slot(ext, attr) {
            Some(slot) => *slot = Slot::Whole(value),
            None => self.slots.push((ext, attr, Slot::Whole(value))),
        }
    }

    fn set_sub(
        &mut self,
        ext: Option<&'static str>,
        attr: &'static Attr,
        sub: &'a str,
        value: &'a Value,
    ) {
        let Some(slot) = self.slot(ext, attr) else {
            self.slots
                .push((ext, attr, Slot::Parts(vec![(sub, value)])));
            return;
        };
        match slot {
            Slot::Parts(parts) => parts.push((sub, value)),
            Slot::Whole(Value::Object(m)) => {
                let mut parts: Vec<(&'a str, &'a Value)> =
                    m.iter().map(|(k, v)| (k.as_str(), v)).collect();
                parts.push((sub, value));
                *slot = Slot::Parts(parts);
            }
            // A dotted key replaces a scalar or null written for the whole attribute.
            Slot::Whole(_) => *slot = Slot::Parts(vec![(sub, value)]),
        }
    }

    fn take(&mut self, ext: Option<&'static str>, attr: &'static Attr) -> Option<Slot<'a>> {
        let i = self
            .slots
            .iter()
            .position(|(e, a, _)| *e == ext && a.name == attr.name)?;
        Some(self.slots.swap_remove(i).2)
    }

    fn gather(
        &mut self,
        rt: ResourceType,
        key: &'a str,
        value: &'a Value,
        declared: &Declared,
    ) -> Result<(), ScimError> {
        if self.undeclared.gather(rt, key, value, declared)? {
            return Ok(());
        }
        match classify(rt, None, key) {
            Target::Skip => {}
            Target::Extension(ext) => match value {
                Value::Object(m) => {
                    for (k, v) in m {
                        self.gather_attr(rt, classify(rt, Some(ext), k), v);
                    }
                }
                // Unassigning the whole extension.
                Value::Null => self.slots.retain(|(e, _, _)| *e != Some(ext.id)),
                _ => {
                    return Err(ScimError::invalid_value(format!(
                        "Attribute '{}' must be an object",
                        ext.id
                    )))
                }
            },
            target => self.gather_attr(rt, target, value),
        }
        Ok(())
    }

    fn gather_attr(&mut self, rt: ResourceType, target: Target<'a>, value: &'a Value) {
        let Target::Attr { ext, attr, sub } = target else {
            return;
        };
        let ext = ext.map(|s| s.id);
        if rt == ResourceType::Group && ext.is_none() && attr.name == "members" {
            self.members = Some(value);
            return;
        }
        match sub {
            Some(sub) => self.set_sub(ext, attr, sub, value),
            None => self.set(ext, attr, value),
        }
    }
}

/// `key` without its `urn` prefix and colon, when it has that prefix (case-insensitively).
fn strip_urn<'k>(key: &'k str, urn: &str) -> Option<&'k str> {
    let head = key.get(..urn.len())?;
    if !head.eq_ignore_ascii_case(urn) {
        return None;
    }
    key.get(urn.len()..)?.strip_prefix(':')
}

/// Resolves a body key: `name`, `name.sub`, `urn:…:name[.sub]`, or an extension's URN. Keys that
/// scimd ignores (unknown, read-only, write-only, non-extension URNs) come back as `Skip`;
/// undeclared extensions are taken before this.
fn classify<'k>(rt: ResourceType, scope: Option<&'static Schema>, key: &'k str) -> Target<'k> {
    let (scope, path) = match scope {
        Some(ext) => (Some(ext), key),
        None => {
            if let Some(ext) = rt.extension(key) {
                return Target::Extension(ext);
            }
            let qualified = rt
                .extensions()
                .iter()
                .find_map(|ext| strip_urn(key, ext.id).map(|rest| (Some(*ext), rest)))
                .or_else(|| strip_urn(key, rt.schema().id).map(|rest| (None, rest)));
            match qualified {
                Some(q) => q,
                None if key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) => {
                    return Target::Skip
                }
                None => (None, key),
            }
        }
    };
    let (name, sub) = match path.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (path, None),
    };
    let attr = match scope {
        Some(ext) => ext.attr(name),
        None => rt.top_attr(name),
    };
    let Some(attr) = attr else {
        return Target::Skip;
    };
    if matches!(
        attr.mutability,
        Mutability::ReadOnly | Mutability::WriteOnly
    ) {
        return Target::Skip;
    }
    // A dotted key into a multi-valued attribute does not say which element it means.
    if sub.is_some() && (attr.multi || attr.ty != AttrType::Complex) {
        return Target::Skip;
    }
    Target::Attr {
        ext: scope,
        attr,
        sub,
    }
}

fn is_manager(ext: Option<&'static str>, attr: &Attr) -> bool {
    ext == Some(ENTERPRISE_SCHEMA) && attr.name == "manager"
}

/// A simple (non-complex) value, or `None` for null.
fn norm_leaf(attr: &Attr, v: &Value, path: &Path) -> Result<Option<Value>, ScimError> {
    let out = match (attr.ty, v) {
        (_, Value::Null) => None,
        // Sub-attributes are never complex in scimd's schemas; never walk deeper than that.
        (AttrType::Complex, _) => None,
        (AttrType::Boolean, Value::Bool(b)) => Some(Value::Bool(*b)),
        // Entra and Microsoft's suite send "True"/"False".
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => {
            Some(Value::Bool(true))
        }
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => {
            Some(Value::Bool(false))
        }
        (AttrType::Boolean, _) => {
            return Err(ScimError::invalid_value(format!(
                "Attribute '{path}' must be a boolean (true or false)"
            )))
        }
        (AttrType::Integer | AttrType::Decimal, Value::Number(n)) => Some(Value::Number(n.clone())),
        (AttrType::Integer | AttrType::Decimal, _) => {
            return Err(ScimError::invalid_value(format!(
                "Attribute '{path}' must be a number"
            )))
        }
        (_, Value::String(s)) => Some(Value::String(s.clone())),
        // Lenient: a number or boolean where a string belongs has an obvious string form.
        (_, Value::Number(n)) => Some(Value::String(n.to_string())),
        (_, Value::Bool(b)) => Some(Value::String(b.to_string())),
        (_, Value::Array(_) | Value::Object(_)) => {
            return Err(ScimError::invalid_value(format!(
                "Attribute '{path}' must be a string"
            )))
        }
    };
    Ok(out)
}

/// A complex value from its (sub-name, value) entries: known writable subs only, in schema order.
fn norm_complex<'a>(
    ext: Option<&'static str>,
    attr: &'static Attr,
    entries: impl Iterator<Item = (&'a str, &'a Value)>,
) -> Result<Option<Value>, ScimError> {
    let manager = is_manager(ext, attr);
    let mut found: Vec<(&'static str, Value)> = Vec::new();
    for (key, v) in entries {
        let Some(sub) = attr.sub_attr(key) else {
            continue;
        };
        // The manager's `$ref` and `displayName` are derived from its id when rendering.
        if sub.mutability == Mutability::ReadOnly || (manager && sub.name != "value") {
            continue;
        }
        let path = Path {
            ext,
            attr: attr.name,
            sub: Some(sub.name),
        };
        let value = norm_leaf(sub, v, &path)?;
        found.retain(|(name, _)| *name != sub.name);
        if let Some(value) = value {
            found.push((sub.name, value));
        }
    }
    let mut out = Map::new();
    for sub in attr.sub {
        if let Some(i) = found.iter().position(|(name, _)| *name == sub.name) {
            let (_, value) = found.swap_remove(i);
            out.insert(sub.name.to_string(), value);
        }
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

/// One value (one element, for a multi-valued attribute).
fn norm_single(
    ext: Option<&'static str>,
    attr: &'static Attr,
    v: &Value,
) -> Result<Option<Value>, ScimError> {
    let path = Path {
        ext,
        attr: attr.name,
        sub: None,
    };
    if attr.ty != AttrType::Complex {
        return norm_leaf(attr, v, &path);
    }
    match v {
        Value::Null => Ok(None),
        Value::Object(m) => norm_complex(ext, attr, m.iter().map(|(k, v)| (k.as_str(), v))),
        // Entra sends the manager as a bare id (AZ-ISSUES #73842).
        Value::String(s) if is_manager(ext, attr) => {
            let mut m = Map::new();
            m.insert("value".into(), Value::String(s.clone()));
            Ok(Some(Value::Object(m)))
        }
        _ => Err(ScimError::invalid_value(format!(
            "Attribute '{path}' must be an object"
        ))),
    }
}

fn norm_attr(
    ext: Option<&'static str>,
    attr: &'static Attr,
    slot: Slot<'_>,
) -> Result<Option<Value>, ScimError> {
    let v = match slot {
        Slot::Parts(parts) => return norm_complex(ext, attr, parts.into_iter()),
        Slot::Whole(v) => v,
    };
    if !attr.multi {
        return norm_single(ext, attr, v);
    }
    let items: Vec<&Value> = match v {
        Value::Array(items) => items.iter().collect(),
        // A lone object stands for a one-element array.
        other => vec![other],
    };
    let mut out: Vec<Value> = Vec::new();
    for item in items {
        if let Some(value) = norm_single(ext, attr, item)? {
            out.push(value);
        }
    }
    let out = unseen(&[], out);
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

fn member_ids(v: &Value) -> Result<Vec<String>, ScimError> {
    let items: Vec<&Value> = match v {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    for item in items {
        let id = match item {
            Value::Null => continue,
            // Microsoft's suite adds members as bare ids ("string id 1").
            Value::String(s) => s,
            Value::Object(m) => match m.iter().find(|(k, _)| k.eq_ignore_ascii_case("value")) {
                Some((_, Value::String(s))) => s,
                _ => {
                    return Err(ScimError::invalid_value(
                        "Each member must have a string 'value' holding a user id",
                    ))
                }
            },
            _ => {
                return Err(ScimError::invalid_value(
                    "Each member must be an object with a string 'value' holding a user id",
                ))
            }
        };
        if seen.insert(id.as_str()) {
            ids.push(id.clone());
        }
    }
    Ok(ids)
}

/// Validates and canonicalizes a client body (POST/PUT, or the stored form after PATCH — must be
/// idempotent on already-canonical input) into stored form, for an org that declares no
/// extensions.
pub fn normalize(
    rt: ResourceType,
    input: &Value,
    limits: &Limits,
) -> Result<Normalized, ScimError> {
    normalize_with(rt, input, limits, Declared::none(), None)
}

/// [`normalize`] for an org that declares the extensions `declared`, whose values are then
/// type-checked and coerced. `stored` is the resource's stored form before this write (PUT,
/// PATCH): declared values it already holds unchanged are not checked again.
pub fn normalize_with(
    rt: ResourceType,
    input: &Value,
    limits: &Limits,
    declared: &Declared,
    stored: Option<&Map<String, Value>>,
) -> Result<Normalized, ScimError> {
    let Value::Object(body) = input else {
        return Err(ScimError::invalid_syntax(
            "The request body must be a JSON object",
        ));
    };
    let mut gathered = Gathered::default();
    for (key, value) in body {
        gathered.gather(rt, key, value, declared)?;
    }
    // Before any per-value work, so that a body with a huge array costs one length check.
    for (ext, attr, slot) in &gathered.slots {
        let count = match slot {
            Slot::Whole(Value::Array(items)) if attr.multi => items.len(),
            _ => continue,
        };
        if count > limits.max_values {
            let path = Path {
                ext: *ext,
                attr: attr.name,
                sub: None,
            };
            return Err(ScimError::invalid_value(format!(
                "{path} has {count} values; at most {} are allowed",
                limits.max_values
            )));
        }
    }

    let mut attrs = Map::new();
    for attr in COMMON_ATTRS.iter().chain(rt.schema().attributes) {
        if let Some(slot) = gathered.take(None, attr) {
            if let Some(value) = norm_attr(None, attr, slot)? {
                attrs.insert(attr.name.to_string(), value);
            }
        }
    }
    for ext in rt.extensions() {
        let mut obj = Map::new();
        for attr in ext.attributes {
            if let Some(slot) = gathered.take(Some(ext.id), attr) {
                if let Some(value) = norm_attr(Some(ext.id), attr, slot)? {
                    obj.insert(attr.name.to_string(), value);
                }
            }
        }
        if !obj.is_empty() {
            attrs.insert(ext.id.to_string(), Value::Object(obj));
        }
    }
    std::mem::take(&mut gathered.undeclared).finish(&mut attrs);
    declared::apply(rt, declared, &mut attrs, stored, limits)?;

    for attr in rt.schema().attributes.iter().filter(|a| a.required) {
        let present = match attrs.get(attr.name) {
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(_) => true,
            None => false,
        };
        if !present {
            return Err(ScimError::invalid_value(format!(
                "Attribute '{}' is required",
                attr.name
            )));
        }
    }
    if rt == ResourceType::Group {
        let len = attrs
            .get("displayName")
            .and_then(Value::as_str)
            .map_or(0, |s| s.chars().count());
        if len > limits.team_name_max {
            return Err(ScimError::invalid_value(format!(
                "Display name is too long. It must be {} characters or less",
                limits.team_name_max
            )));
        }
    }

    bounds::check_strings(&attrs, limits, None)?;
    undeclared::check_size(&attrs, limits, None)?;
    let members = match gathered.members {
        Some(v) => {
            let ids = member_ids(v)?;
            for id in &ids {
                bounds::check_id("members.value", id, limits)?;
            }
            Some(ids)
        }
        None => None,
    };
    Ok(Normalized { attrs, members })
}

mod bounds;
pub mod declared;
mod immutable;
mod keys;
pub mod precondition;
mod render;
#[cfg(test)]
mod tests;
pub mod undeclared;

pub use bounds::{check_id, check_strings, fits_index};
pub use immutable::{enforce_immutable, UserNames};
pub use keys::{
    display_name_key, email_keys, external_id, is_active, member_display, user_name_key,
};
pub use render::{render, render_owned};
