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
    Attr, AttrType, Mutability, ResourceType, Schema, COMMON_ATTRS, ENTERPRISE_SCHEMA,
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
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            team_name_max: 100,
            max_values: 100,
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
    ) -> Result<(), ScimError> {
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
/// scimd ignores (unknown, read-only, write-only, foreign URNs) come back as `Skip`.
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
/// idempotent on already-canonical input) into stored form.
pub fn normalize(
    rt: ResourceType,
    input: &Value,
    limits: &Limits,
) -> Result<Normalized, ScimError> {
    let Value::Object(body) = input else {
        return Err(ScimError::invalid_syntax(
            "The request body must be a JSON object",
        ));
    };
    let mut gathered = Gathered::default();
    for (key, value) in body {
        gathered.gather(rt, key, value)?;
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

    let members = match gathered.members {
        Some(v) => Some(member_ids(v)?),
        None => None,
    };
    Ok(Normalized { attrs, members })
}

/// Whether a changing request may give a user another `userName`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserNames {
    /// Set on create only (the rule IdPs are told to follow).
    #[default]
    Immutable,
    /// Any change is taken, as long as the store finds the new name unique.
    Mutable,
}

/// Checks immutable attributes between the stored and the new form. Under
/// [`UserNames::Immutable`] a `userName` that differs other than in case is a `mutability`
/// error, and one that differs only in case keeps the stored spelling, so a PUT echo in other
/// case neither fails nor renames. Under [`UserNames::Mutable`] the new name is taken as sent.
pub fn enforce_immutable(
    rt: ResourceType,
    old: &Map<String, Value>,
    mut new: Map<String, Value>,
    names: UserNames,
) -> Result<Map<String, Value>, ScimError> {
    if rt != ResourceType::User || names == UserNames::Mutable {
        return Ok(new);
    }
    let (Some(before), Some(after)) = (
        old.get("userName").and_then(Value::as_str),
        new.get("userName").and_then(Value::as_str),
    ) else {
        return Ok(new);
    };
    if before == after {
        return Ok(new);
    }
    if before.to_lowercase() != after.to_lowercase() {
        return Err(ScimError::mutability(format!(
            "Attribute 'userName' is immutable: it is '{before}' and cannot become '{after}'"
        )));
    }
    new.insert("userName".into(), Value::String(before.to_string()));
    Ok(new)
}

/// The full client JSON of a stored resource. `computed` is the User's `groups` or the Group's
/// `members`, already rendered by the caller; `None` leaves the key out.
pub fn render(
    rt: ResourceType,
    id: &str,
    attrs: &Map<String, Value>,
    meta: &Meta,
    base: &str,
    computed: Option<Vec<Value>>,
) -> Value {
    render_owned(rt, id, attrs.clone(), meta, base, computed)
}

/// [`render`] of a stored form the caller no longer needs: its values move into the answer
/// instead of being copied, which is most of a list page's rendering.
pub fn render_owned(
    rt: ResourceType,
    id: &str,
    mut attrs: Map<String, Value>,
    meta: &Meta,
    base: &str,
    computed: Option<Vec<Value>>,
) -> Value {
    let base = base.trim_end_matches('/');
    // Sized once: growing the map entry by entry rehashed it several times per resource.
    let mut out = Map::with_capacity(attrs.len() + 4);

    let mut schemas = vec![Value::String(rt.schema().id.to_string())];
    for ext in rt.extensions() {
        if attrs.get(ext.id).is_some_and(Value::is_object) {
            schemas.push(Value::String(ext.id.to_string()));
        }
    }
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), Value::String(id.to_string()));
    if let Some(v) = attrs.remove("externalId") {
        out.insert("externalId".into(), v);
    }

    let computed_name = match rt {
        ResourceType::User => "groups",
        ResourceType::Group => "members",
    };
    let mut computed = computed;
    for attr in rt.schema().attributes {
        if attr.name == computed_name {
            if let Some(values) = computed.take() {
                out.insert(attr.name.to_string(), Value::Array(values));
            }
        } else if attr.mutability != Mutability::WriteOnly {
            if let Some(v) = attrs.remove(attr.name) {
                out.insert(attr.name.to_string(), v);
            }
        }
    }

    for ext in rt.extensions() {
        let Some(Value::Object(mut stored)) = attrs.remove(ext.id) else {
            continue;
        };
        let mut obj = Map::new();
        for attr in ext.attributes {
            let Some(mut v) = stored.remove(attr.name) else {
                continue;
            };
            if is_manager(Some(ext.id), attr) {
                if let Value::Object(m) = &mut v {
                    let id = m.get("value").and_then(Value::as_str).unwrap_or_default();
                    if !id.is_empty() {
                        let uri = format!("{base}/Users/{id}");
                        m.insert("$ref".into(), Value::String(uri));
                    }
                }
            }
            obj.insert(attr.name.to_string(), v);
        }
        out.insert(ext.id.to_string(), Value::Object(obj));
    }

    let mut m = Map::with_capacity(5);
    m.insert("resourceType".into(), Value::String(rt.name().to_string()));
    m.insert("created".into(), Value::String(meta.created.clone()));
    m.insert(
        "lastModified".into(),
        Value::String(meta.last_modified.clone()),
    );
    let location = format!("{base}/{}/{id}", rt.endpoint());
    m.insert("location".into(), Value::String(location));
    m.insert("version".into(), Value::String(etag(meta.version)));
    out.insert("meta".into(), Value::Object(m));
    Value::Object(out)
}

/// The lowercased `userName`, for the per-org unique index.
pub fn user_name_key(attrs: &Map<String, Value>) -> Option<String> {
    attrs
        .get("userName")
        .and_then(Value::as_str)
        .map(str::to_lowercase)
}

/// The lowercased Group `displayName`, for the per-org unique index.
pub fn display_name_key(attrs: &Map<String, Value>) -> Option<String> {
    attrs
        .get("displayName")
        .and_then(Value::as_str)
        .map(str::to_lowercase)
}

/// The lowercased, deduplicated, non-empty `emails[].value`s, for the email index.
pub fn email_keys(attrs: &Map<String, Value>) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let emails = attrs
        .get("emails")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for email in emails {
        if let Some(v) = email
            .get("value")
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
        {
            let key = v.to_lowercase();
            if !seen.contains(&key) {
                seen.insert(key.clone());
                keys.push(key);
            }
        }
    }
    keys
}

/// The `externalId`, for the externalId index.
pub fn external_id(attrs: &Map<String, Value>) -> Option<&str> {
    attrs.get("externalId").and_then(Value::as_str)
}

/// How a member user is shown in a Group's `members[].display`: displayName, else userName.
pub fn member_display(user_attrs: &Map<String, Value>) -> String {
    let non_empty = |k: &str| {
        user_attrs
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    non_empty("displayName")
        .or_else(|| non_empty("userName"))
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{GROUP_SCHEMA, USER_SCHEMA};
    use crate::ScimType;
    use serde_json::json;

    const ENT: &str = ENTERPRISE_SCHEMA;

    fn limits() -> Limits {
        Limits::default()
    }

    fn nested_junk(depth: usize) -> Value {
        let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// (what, type, body, stored attrs in order, member ids)
    type OkRow = (
        &'static str,
        ResourceType,
        Value,
        Value,
        Option<Vec<&'static str>>,
    );

    fn ok_rows() -> Vec<OkRow> {
        let u = ResourceType::User;
        let g = ResourceType::Group;
        vec![
            (
                "okta create with password and groups:[]",
                u,
                json!({"schemas":[USER_SCHEMA],"userName":"test.user@okta.local",
                    "name":{"givenName":"Test","familyName":"User"},
                    "emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],
                    "displayName":"Test User","locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7",
                    "groups":[],"password":"1mz050nq","active":true}),
                json!({"externalId":"00ujl29u0le5T6Aj10h7","userName":"test.user@okta.local",
                    "name":{"familyName":"User","givenName":"Test"},"displayName":"Test User",
                    "locale":"en-US","active":true,
                    "emails":[{"value":"test.user@okta.local","type":"work","primary":true}]}),
                None,
            ),
            (
                "okta PUT echo with id, meta, groups and an empty middleName",
                u,
                json!({"schemas":[USER_SCHEMA],"id":"0b6c","userName":"test.user@okta.local",
                    "name":{"givenName":"Test","middleName":"","familyName":"User"},
                    "emails":[{"primary":true,"value":"test.user@okta.local","type":"work",
                        "display":"test.user@okta.local"}],
                    "displayName":"Test User","active":false,
                    "groups":[{"value":"g1","display":"Eng"}],
                    "meta":{"resourceType":"User","created":"2024-01-01T00:00:00Z",
                        "lastModified":"2024-01-01T00:00:00Z","version":"W/\"3\""}}),
                json!({"userName":"test.user@okta.local",
                    "name":{"familyName":"User","givenName":"Test","middleName":""},
                    "displayName":"Test User","active":false,
                    "emails":[{"value":"test.user@okta.local","display":"test.user@okta.local",
                        "type":"work","primary":true}]}),
                None,
            ),
            (
                "entra create with the enterprise URN, meta and roles:[]",
                u,
                json!({"schemas":[USER_SCHEMA, ENT],
                    "externalId":"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef","userName":"Test_User_ab6490ee",
                    "active":true,
                    "emails":[{"primary":true,"type":"work","value":"Test_User_ab6490ee@testuser.com"}],
                    "meta":{"resourceType":"User"},
                    "name":{"formatted":"givenName familyName","familyName":"familyName",
                        "givenName":"givenName"},
                    "roles":[]}),
                json!({"externalId":"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
                    "userName":"Test_User_ab6490ee",
                    "name":{"formatted":"givenName familyName","familyName":"familyName",
                        "givenName":"givenName"},
                    "active":true,
                    "emails":[{"value":"Test_User_ab6490ee@testuser.com","type":"work",
                        "primary":true}]}),
                None,
            ),
            (
                "microsoft suite: active as the string True, null sub-attributes",
                u,
                json!({"userName":"emp1","active":"True",
                    "addresses":[
                        {"country":"Bermuda","locality":"West Mercedes","type":"work","primary":false},
                        {"country":null,"formatted":"18522 Lisa Unions","locality":null,
                            "type":"other","primary":false}],
                    "meta":{"created":"2019-09-18T18:15:26.5788954+00:00","resourceType":"User"},
                    "name":{"formatted":"Daniel Mcgee","familyName":"Employee","givenName":"Darl",
                        "honorificPrefix":null,"honorificSuffix":null},
                    "phoneNumbers":[{"type":"fax","primary":false,"value":"312-320-0500"}],
                    "preferredLanguage":"xh","roles":[],"title":"Site engineer",
                    "externalId":"22fbc523","schemas":[USER_SCHEMA]}),
                json!({"externalId":"22fbc523","userName":"emp1",
                    "name":{"formatted":"Daniel Mcgee","familyName":"Employee","givenName":"Darl"},
                    "title":"Site engineer","preferredLanguage":"xh","active":true,
                    "phoneNumbers":[{"value":"312-320-0500","type":"fax","primary":false}],
                    "addresses":[
                        {"locality":"West Mercedes","country":"Bermuda","type":"work","primary":false},
                        {"formatted":"18522 Lisa Unions","type":"other","primary":false}]}),
                None,
            ),
            (
                "entra string booleans in any case",
                u,
                json!({"userName":"a","active":"fALSE","emails":[{"value":"a@x","primary":"TRUE"}]}),
                json!({"userName":"a","active":false,"emails":[{"value":"a@x","primary":true}]}),
                None,
            ),
            (
                "microsoft suite: misspelled attribute and echoed id are dropped",
                u,
                json!({"id":"u1","userName":"OMalley","active":false,
                    "adreses":[{"country":"Germany"}],"displayName":"Kimberly Baker"}),
                json!({"userName":"OMalley","displayName":"Kimberly Baker","active":false}),
                None,
            ),
            (
                "onelogin template with a core:1.0 schema and an unknown URN object",
                u,
                json!({"schemas":["urn:scim:schemas:core:1.0"],"userName":"jdoe@acme.com",
                    "name":{"formatted":"J Doe"},"urn:scim:schemas:core:1.0":{"userName":"other"},
                    "urn:example:custom:1.0:User:badge":"7"}),
                json!({"userName":"jdoe@acme.com","name":{"formatted":"J Doe"}}),
                None,
            ),
            (
                "microsoft suite enterprise user: capitalized sub-attributes",
                u,
                json!({"userName":"UserName222","schemas":[ENT, USER_SCHEMA],
                    "emails":[{"Primary":true,"type":"work","value":"testing@bob2.com"},
                        {"Primary":false,"type":"home","value":"testinghome@bob3.com"}],
                    ENT: {"Department":"bob","Manager":{"Value":"SuzzyQ"}}}),
                json!({"userName":"UserName222",
                    "emails":[{"value":"testing@bob2.com","type":"work","primary":true},
                        {"value":"testinghome@bob3.com","type":"home","primary":false}],
                    ENT: {"department":"bob","manager":{"value":"SuzzyQ"}}}),
                None,
            ),
            (
                "URN-qualified extension keys, manager as a bare id, lowercase URN object",
                u,
                json!({"userName":"a",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:employeeNumber":"Aklq",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager":"2c2f6fb8",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user":{"costCenter":"4130"}}),
                json!({"userName":"a",
                    ENT: {"employeeNumber":"Aklq","costCenter":"4130","manager":{"value":"2c2f6fb8"}}}),
                None,
            ),
            (
                "manager object keeps only value",
                u,
                json!({"userName":"a", ENT: {"manager":{"value":"m1","$ref":"http://x/Users/m1",
                    "displayName":"Boss"}}}),
                json!({"userName":"a", ENT: {"manager":{"value":"m1"}}}),
                None,
            ),
            (
                "dotted keys merge into the complex attribute",
                u,
                json!({"userName":"a","name":{"familyName":"Unua"},"name.givenName":"Kkom",
                    "NAME.middleName":"M","emails.value":"ignored@x"}),
                json!({"userName":"a","name":{"familyName":"Unua","givenName":"Kkom",
                    "middleName":"M"}}),
                None,
            ),
            (
                "case-insensitive keys and the core URN prefix",
                u,
                json!({"USERNAME":"Bob","Name":{"GivenName":"Bob"},
                    "urn:ietf:params:scim:schemas:core:2.0:User:displayName":"Bobby"}),
                json!({"userName":"Bob","name":{"givenName":"Bob"},"displayName":"Bobby"}),
                None,
            ),
            (
                "numbers become strings, a single object becomes an array",
                u,
                json!({"userName":12345,"externalId":42,"emails":{"value":"a@x"},
                    ENT: {"employeeNumber":7}}),
                json!({"externalId":"42","userName":"12345","emails":[{"value":"a@x"}],
                    ENT: {"employeeNumber":"7"}}),
                None,
            ),
            (
                "nulls, empty objects and empty arrays are dropped, empty strings kept",
                u,
                json!({"userName":"a","nickName":null,"name":{},"emails":[],"title":"",
                    "phoneNumbers":[null,{}], ENT: {}}),
                json!({"userName":"a","title":""}),
                None,
            ),
            (
                "exact duplicate entries are deduplicated",
                u,
                json!({"userName":"a","emails":[{"value":"a@x","type":"work"},
                    {"type":"work","value":"a@x"},{"value":"a@x","type":"home"}]}),
                json!({"userName":"a","emails":[{"value":"a@x","type":"work"},
                    {"value":"a@x","type":"home"}]}),
                None,
            ),
            (
                "deeply nested junk under unknown keys is never walked",
                u,
                json!({"userName":"a","junk":nested_junk(120),
                    "name":{"givenName":"G","nope":nested_junk(120)}}),
                json!({"userName":"a","name":{"givenName":"G"}}),
                None,
            ),
            (
                "okta group push with members:[]",
                g,
                json!({"schemas":[GROUP_SCHEMA],"displayName":"Test SCIMv2","members":[]}),
                json!({"displayName":"Test SCIMv2"}),
                Some(vec![]),
            ),
            (
                "entra group with a foreign schema URN and meta, no members",
                g,
                json!({"schemas":[GROUP_SCHEMA,
                    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                    "externalId":"8aa1","displayName":"displayName","meta":{"resourceType":"Group"}}),
                json!({"externalId":"8aa1","displayName":"displayName"}),
                None,
            ),
            (
                "member objects with display, $ref null and duplicates",
                g,
                json!({"displayName":"G","members":[{"value":"u3","display":"VP"},
                    {"$ref":null,"value":"u4"},{"Value":"u3"}]}),
                json!({"displayName":"G"}),
                Some(vec!["u3", "u4"]),
            ),
            (
                "bare string members (microsoft suite) and a lone member object",
                g,
                json!({"displayName":"G","Members":["string id 1",{"value":"u2"},"string id 1"]}),
                json!({"displayName":"G"}),
                Some(vec!["string id 1", "u2"]),
            ),
            (
                "a single member object",
                g,
                json!({"displayName":"G","members":{"value":"u1"}}),
                json!({"displayName":"G"}),
                Some(vec!["u1"]),
            ),
            (
                "members: null clears",
                g,
                json!({"displayName":"G","members":null}),
                json!({"displayName":"G"}),
                Some(vec![]),
            ),
            (
                "authentik group replace echoes schemas and id",
                g,
                json!({"schemas":[GROUP_SCHEMA],"id":"g1","externalId":"ak-1","displayName":"Ops",
                    "groups":[{"value":"x"}]}),
                json!({"externalId":"ak-1","displayName":"Ops"}),
                None,
            ),
            (
                "team name of exactly 100 characters",
                g,
                json!({"displayName":"x".repeat(100)}),
                json!({"displayName":"x".repeat(100)}),
                None,
            ),
            (
                "team name of 100 multibyte characters",
                g,
                json!({"displayName":"é".repeat(100)}),
                json!({"displayName":"é".repeat(100)}),
                None,
            ),
        ]
    }

    #[test]
    fn normalizes_what_identity_providers_send() {
        for (what, rt, body, want, members) in ok_rows() {
            let got = normalize(rt, &body, &limits()).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(
                Value::Object(got.attrs.clone()).to_string(),
                want.to_string(),
                "{what}"
            );
            let want_members = members.map(|m| m.into_iter().map(String::from).collect());
            assert_eq!(got.members, want_members, "{what}");

            let again = normalize(rt, &Value::Object(got.attrs.clone()), &limits())
                .unwrap_or_else(|e| panic!("{what}, second pass: {e}"));
            assert_eq!(
                Value::Object(again.attrs).to_string(),
                Value::Object(got.attrs).to_string(),
                "{what}: not idempotent"
            );
            assert_eq!(again.members, None, "{what}");
        }
    }

    #[test]
    fn rejects_bad_bodies() {
        let u = ResourceType::User;
        let g = ResourceType::Group;
        let rows: Vec<(ResourceType, Value, ScimType, &str)> = vec![
            (u, json!([]), ScimType::InvalidSyntax, "JSON object"),
            (u, json!("userName"), ScimType::InvalidSyntax, "JSON object"),
            (u, Value::Null, ScimType::InvalidSyntax, "JSON object"),
            (
                u,
                json!({"active":true}),
                ScimType::InvalidValue,
                "Attribute 'userName' is required",
            ),
            (
                u,
                json!({"userName":""}),
                ScimType::InvalidValue,
                "Attribute 'userName' is required",
            ),
            (
                u,
                json!({"userName":" \t"}),
                ScimType::InvalidValue,
                "'userName' is required",
            ),
            (
                u,
                json!({"userName":null}),
                ScimType::InvalidValue,
                "'userName' is required",
            ),
            (
                u,
                json!({"userName":{"a":1}}),
                ScimType::InvalidValue,
                "'userName' must be a string",
            ),
            (
                u,
                json!({"userName":nested_junk(120)}),
                ScimType::InvalidValue,
                "'userName' must be",
            ),
            (
                u,
                json!({"userName":"a","active":"yes"}),
                ScimType::InvalidValue,
                "'active' must be a boolean",
            ),
            (
                u,
                json!({"userName":"a","active":1}),
                ScimType::InvalidValue,
                "'active' must be a boolean",
            ),
            (
                u,
                json!({"userName":"a","name":"John"}),
                ScimType::InvalidValue,
                "'name' must be an object",
            ),
            (
                u,
                json!({"userName":"a","name":{"givenName":["a"]}}),
                ScimType::InvalidValue,
                "'name.givenName' must be a string",
            ),
            (
                u,
                json!({"userName":"a","name":{"givenName":nested_junk(120)}}),
                ScimType::InvalidValue,
                "'name.givenName'",
            ),
            (
                u,
                json!({"userName":"a","emails":["a@x"]}),
                ScimType::InvalidValue,
                "'emails' must be an object",
            ),
            (
                u,
                json!({"userName":"a","emails":[{"value":"a@x","primary":"maybe"}]}),
                ScimType::InvalidValue,
                "'emails.primary' must be a boolean",
            ),
            (
                u,
                json!({"userName":"a", ENT: "x"}),
                ScimType::InvalidValue,
                "enterprise:2.0:User' must be an object",
            ),
            (
                u,
                json!({"userName":"a", ENT: {"manager":5}}),
                ScimType::InvalidValue,
                "enterprise:2.0:User:manager' must be an object",
            ),
            (
                u,
                json!({"userName":"a", ENT: {"employeeNumber":{}}}),
                ScimType::InvalidValue,
                "enterprise:2.0:User:employeeNumber' must be a string",
            ),
            (
                u,
                json!({"userName":"a", ENT: {"manager":{"value":[1]}}}),
                ScimType::InvalidValue,
                "manager.value' must be a string",
            ),
            (
                u,
                emails(101),
                ScimType::InvalidValue,
                "emails has 101 values; at most 100 are allowed",
            ),
            (
                g,
                json!({"members":[]}),
                ScimType::InvalidValue,
                "Attribute 'displayName' is required",
            ),
            (
                g,
                json!({"displayName":"  "}),
                ScimType::InvalidValue,
                "Attribute 'displayName' is required",
            ),
            (
                g,
                json!({"displayName":"x".repeat(101)}),
                ScimType::InvalidValue,
                "Display name is too long. It must be 100 characters or less",
            ),
            (
                g,
                json!({"displayName":"日".repeat(101)}),
                ScimType::InvalidValue,
                "Display name is too long",
            ),
            (
                g,
                json!({"displayName":"G","members":[5]}),
                ScimType::InvalidValue,
                "member",
            ),
            (
                g,
                json!({"displayName":"G","members":[{"display":"x"}]}),
                ScimType::InvalidValue,
                "string 'value'",
            ),
            (
                g,
                json!({"displayName":"G","members":[{"value":5}]}),
                ScimType::InvalidValue,
                "string 'value'",
            ),
            (
                g,
                json!({"displayName":"G","members":[["u1"]]}),
                ScimType::InvalidValue,
                "member",
            ),
            (
                g,
                json!({"displayName":"G","members":true}),
                ScimType::InvalidValue,
                "member",
            ),
        ];
        for (rt, body, scim_type, detail) in rows {
            match normalize(rt, &body, &limits()) {
                Err(ScimError::BadRequest {
                    scim_type: t,
                    detail: d,
                }) => {
                    assert_eq!(t, scim_type, "{body}: {d}");
                    assert!(d.contains(detail), "{body}: got {d:?}, want {detail:?}");
                }
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn team_name_limit_is_configurable() {
        let short = Limits {
            team_name_max: 40,
            ..Limits::default()
        };
        let body = json!({"displayName":"x".repeat(41)});
        let err = normalize(ResourceType::Group, &body, &short)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("Display name is too long. It must be 40 characters or less")
        );
    }

    fn emails(n: usize) -> Value {
        let emails: Vec<Value> = (0..n)
            .map(|i| json!({"value": format!("u{i}@example.org")}))
            .collect();
        json!({"userName": "ann", "emails": emails})
    }

    #[test]
    fn multi_valued_attributes_are_capped() {
        let detail = |r: Result<Normalized, ScimError>| match r {
            Err(ScimError::BadRequest {
                scim_type: ScimType::InvalidValue,
                detail,
            }) => Some(detail),
            _ => None,
        };
        let u = ResourceType::User;
        let at_limit = normalize(u, &emails(100), &limits());
        assert_eq!(
            at_limit.map(|n| n.attrs["emails"].as_array().map(Vec::len)),
            Ok(Some(100))
        );
        assert_eq!(
            detail(normalize(u, &emails(101), &limits())).as_deref(),
            Some("emails has 101 values; at most 100 are allowed")
        );
        // Counted as sent: duplicates and nulls that normalisation would drop count too.
        let mut body = emails(100);
        if let Some(a) = body["emails"].as_array_mut() {
            a.push(Value::Null);
        }
        assert!(detail(normalize(u, &body, &limits())).is_some());
        let roles: Vec<Value> = (0..3).map(|i| json!({"value": format!("r{i}")})).collect();
        let small = Limits {
            max_values: 2,
            ..Limits::default()
        };
        assert_eq!(
            detail(normalize(
                u,
                &json!({"userName": "a", "roles": roles}),
                &small
            ))
            .as_deref(),
            Some("roles has 3 values; at most 2 are allowed")
        );
        // A lone object stands for one value.
        let one = json!({"userName": "a", "phoneNumbers": {"value": "1"}});
        assert!(normalize(
            u,
            &one,
            &Limits {
                max_values: 1,
                ..Limits::default()
            }
        )
        .is_ok());
        // Computed `groups` are read-only and skipped before any counting.
        let groups: Vec<Value> = (0..500)
            .map(|i| json!({"value": format!("g{i}")}))
            .collect();
        assert!(normalize(u, &json!({"userName": "a", "groups": groups}), &limits()).is_ok());
    }

    #[test]
    fn team_members_are_not_capped() {
        let ids: Vec<String> = (0..1000).map(|i| format!("u{i}")).collect();
        let body = json!({"displayName": "Big", "members": ids});
        let n = normalize(ResourceType::Group, &body, &limits());
        assert_eq!(n.map(|n| n.members.map(|m| m.len())), Ok(Some(1000)));
    }

    /// The body that took 19.8 s before values were deduplicated linearly: now refused by
    /// the cap before any value is looked at.
    #[test]
    fn huge_email_list_is_refused_quickly() {
        let err = normalize(ResourceType::User, &emails(36_000), &limits()).err();
        assert_eq!(
            err.map(|e| e.to_string()).as_deref(),
            Some("emails has 36000 values; at most 100 are allowed")
        );
        let lifted = Limits {
            max_values: usize::MAX,
            ..Limits::default()
        };
        let n = normalize(ResourceType::User, &emails(36_000), &lifted);
        assert_eq!(
            n.map(|n| n.attrs["emails"].as_array().map(Vec::len)),
            Ok(Some(36_000))
        );
    }

    #[test]
    fn immutable_user_name() {
        let attrs = |v: Value| v.as_object().cloned().unwrap_or_default();
        let old = attrs(json!({"userName":"Ann@Acme.com","active":true}));
        let rows: Vec<(ResourceType, Value, Result<Value, ScimType>)> = vec![
            (
                ResourceType::User,
                json!({"userName":"Ann@Acme.com","active":false}),
                Ok(json!({"userName":"Ann@Acme.com","active":false})),
            ),
            (
                ResourceType::User,
                json!({"userName":"ann@acme.com","active":false}),
                Ok(json!({"userName":"Ann@Acme.com","active":false})),
            ),
            (
                ResourceType::User,
                json!({"userName":"ANN@ACME.COM"}),
                Ok(json!({"userName":"Ann@Acme.com"})),
            ),
            (
                ResourceType::User,
                json!({"userName":"bob@acme.com"}),
                Err(ScimType::Mutability),
            ),
            (
                ResourceType::User,
                json!({"userName":"Ann@Acme.co"}),
                Err(ScimType::Mutability),
            ),
            (
                ResourceType::Group,
                json!({"userName":"other","displayName":"New"}),
                Ok(json!({"userName":"other","displayName":"New"})),
            ),
        ];
        for (rt, new, want) in rows {
            let got = enforce_immutable(rt, &old, attrs(new.clone()), UserNames::Immutable);
            match (got, want) {
                (Ok(got), Ok(want)) => assert_eq!(Value::Object(got), want, "{new}"),
                (Err(e), Err(t)) => {
                    assert_eq!(e.scim_type(), Some(t), "{new}");
                    assert!(
                        e.to_string()
                            .starts_with("Attribute 'userName' is immutable"),
                        "{e}"
                    );
                }
                (got, want) => panic!("{new}: got {got:?}, want {want:?}"),
            }
        }
        let no_old = enforce_immutable(
            ResourceType::User,
            &Map::new(),
            old.clone(),
            UserNames::Immutable,
        );
        assert_eq!(no_old.ok(), Some(old));
    }

    fn meta() -> Meta {
        Meta {
            created: "2024-05-01T10:00:00Z".into(),
            last_modified: "2024-05-02T11:00:00Z".into(),
            version: 3,
        }
    }

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    #[test]
    fn renders_users() {
        let stored = normalize(
            ResourceType::User,
            &json!({"userName":"ann","externalId":"e1","active":true,
                "name":{"givenName":"Ann"}, ENT: {"manager":"m1","department":"R&D"}}),
            &limits(),
        )
        .map(|n| n.attrs)
        .unwrap_or_default();
        let groups = vec![json!({"value":"g1","display":"Eng"})];
        let base = "https://scim.example/scim/v2/acme/";
        let doc = render(
            ResourceType::User,
            "u1",
            &stored,
            &meta(),
            base,
            Some(groups),
        );
        assert_eq!(
            keys(&doc),
            [
                "schemas",
                "id",
                "externalId",
                "userName",
                "name",
                "active",
                "groups",
                ENT,
                "meta"
            ]
        );
        assert_eq!(doc["schemas"], json!([USER_SCHEMA, ENT]));
        assert_eq!(doc["groups"], json!([{"value":"g1","display":"Eng"}]));
        assert_eq!(
            doc[ENT],
            json!({"department":"R&D",
                "manager":{"value":"m1","$ref":"https://scim.example/scim/v2/acme/Users/m1"}})
        );
        assert_eq!(
            doc["meta"],
            json!({"resourceType":"User","created":"2024-05-01T10:00:00Z",
                "lastModified":"2024-05-02T11:00:00Z",
                "location":"https://scim.example/scim/v2/acme/Users/u1","version":"W/\"3\""})
        );

        let plain = normalize(ResourceType::User, &json!({"userName":"bob"}), &limits())
            .map(|n| n.attrs)
            .unwrap_or_default();
        let doc = render(
            ResourceType::User,
            "u2",
            &plain,
            &meta(),
            "http://h",
            Some(vec![]),
        );
        assert_eq!(doc["schemas"], json!([USER_SCHEMA]));
        assert_eq!(keys(&doc), ["schemas", "id", "userName", "groups", "meta"]);
        assert_eq!(doc["groups"], json!([]));
        let doc = render(ResourceType::User, "u2", &plain, &meta(), "http://h", None);
        assert_eq!(keys(&doc), ["schemas", "id", "userName", "meta"]);
    }

    #[test]
    fn renders_groups() {
        let stored = normalize(
            ResourceType::Group,
            &json!({"displayName":"Eng","externalId":"x1","members":["u1"]}),
            &limits(),
        )
        .map(|n| n.attrs)
        .unwrap_or_default();
        let doc = render(
            ResourceType::Group,
            "g1",
            &stored,
            &meta(),
            "http://h/scim/v2/o",
            Some(vec![]),
        );
        assert_eq!(
            keys(&doc),
            [
                "schemas",
                "id",
                "externalId",
                "displayName",
                "members",
                "meta"
            ]
        );
        assert_eq!(doc["schemas"], json!([GROUP_SCHEMA]));
        assert_eq!(doc["members"], json!([]));
        assert_eq!(doc["meta"]["location"], "http://h/scim/v2/o/Groups/g1");
        assert_eq!(doc["meta"]["resourceType"], "Group");
        assert_eq!(etag(0), "W/\"0\"");
        assert_eq!(etag(42), "W/\"42\"");
    }

    #[test]
    fn index_keys() {
        let attrs = json!({"userName":"Ann@Acme.COM","displayName":"Ann A","externalId":"E-1",
            "emails":[{"value":"Ann@Acme.com"},{"value":"ann@acme.com"},{"value":""},
                {"type":"home"},{"value":"ann@home.org"}]});
        let attrs = attrs.as_object().cloned().unwrap_or_default();
        assert_eq!(user_name_key(&attrs).as_deref(), Some("ann@acme.com"));
        assert_eq!(display_name_key(&attrs).as_deref(), Some("ann a"));
        assert_eq!(email_keys(&attrs), ["ann@acme.com", "ann@home.org"]);
        assert_eq!(external_id(&attrs), Some("E-1"));
        assert_eq!(member_display(&attrs), "Ann A");

        let many: Vec<Value> = (0..36_000)
            .flat_map(|i| {
                [
                    json!({"value": format!("U{i}@x")}),
                    json!({"value": format!("u{i}@X")}),
                ]
            })
            .collect();
        let many = json!({"emails": many});
        let keys = email_keys(many.as_object().unwrap_or(&Map::new()));
        assert_eq!(keys.len(), 36_000);
        assert_eq!(keys.first().map(String::as_str), Some("u0@x"));
        assert_eq!(keys.last().map(String::as_str), Some("u35999@x"));

        let bare = json!({"userName":"bob","displayName":""});
        let bare = bare.as_object().cloned().unwrap_or_default();
        assert_eq!(member_display(&bare), "bob");
        assert!(email_keys(&bare).is_empty());
        assert_eq!(external_id(&bare), None);
        assert_eq!(display_name_key(&Map::new()), None);
        assert_eq!(member_display(&Map::new()), "");
    }
}
