//! Undeclared extensions: schema URNs an identity provider sends that scimd has no definition
//! for (Okta's `urn:okta:custom:user:1.0`, Entra's
//! `urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User`).
//!
//! Without types there is nothing to coerce, so their attributes are kept exactly as sent, under
//! the URN key, as an object of attribute name → JSON value. Dropping them made every
//! provisioning cycle look like a change to the IdP (Entra retried the user forever), so keeping
//! them is the lesser evil; they are bounded in depth, in total size and by the string rules so
//! that a client cannot use them to store arbitrary documents.
//!
//! Keys are matched case-insensitively: a URN against the URN keys already there, an attribute
//! against the attribute names already in that extension; the first spelling stays.

use std::io;

use serde_json::{Map, Value};

use super::Limits;
use crate::error::ScimError;
use crate::schema::{Declared, ResourceType};

/// The most levels of arrays and objects one attribute value of an undeclared extension may
/// nest: Okta sends arrays of strings, nothing deeper needs more than a few levels, and a cap
/// keeps hostile documents out of the store.
pub const MAX_DEPTH: usize = 4;

/// The most attributes one undeclared extension may hold, and the most undeclared extensions
/// one resource may carry. Keys are matched case-insensitively by a scan, so these keep a hostile
/// body from costing time quadratic in its size; real ones hold a few dozen at most.
pub const MAX_ATTRS: usize = 1000;
pub const MAX_EXTENSIONS: usize = 100;

/// Prefixes of URNs that are not extensions: the SCIM 1.x core schema (OneLogin templates echo
/// it), SCIM 2.0's core schemas, and SCIM's API messages (a PatchOp echoed into a body).
const NOT_EXTENSIONS: [&str; 3] = [
    "urn:scim:schemas:core:",
    "urn:ietf:params:scim:schemas:core:",
    "urn:ietf:params:scim:api:",
];

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
}

/// Whether `key` is `urn` itself or something under it (`urn:` then more), case-insensitively.
fn under(key: &str, urn: &str) -> bool {
    starts_with_ci(key, urn) && matches!(key.as_bytes().get(urn.len()), None | Some(b':'))
}

/// Whether `key` names an undeclared extension (or something inside one): a `urn:` that is not
/// a schema scimd declares for any resource type, nor under one.
pub fn is_undeclared(key: &str) -> bool {
    if !starts_with_ci(key, "urn:") || key.len() <= 4 {
        return false;
    }
    if NOT_EXTENSIONS.iter().any(|p| starts_with_ci(key, p)) {
        return false;
    }
    !ResourceType::ALL.iter().any(|rt| {
        under(key, rt.schema().id) || rt.extensions().iter().any(|ext| under(key, ext.id))
    })
}

/// ATTRNAME of RFC 7643: a letter, then letters, digits, `-` or `_`.
fn is_attr_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Where a key under an undeclared URN points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place<'k> {
    /// The whole extension, under this URN key (the spelling already stored, if any).
    Whole(String),
    /// One attribute of the extension under this URN key.
    Attr(String, &'k str),
}

/// The stored spelling of URN key `urn` in `attrs`, matched case-insensitively.
pub fn stored_urn(attrs: &Map<String, Value>, urn: &str) -> Option<String> {
    if let Some((k, _)) = attrs.get_key_value(urn) {
        return Some(k.clone());
    }
    attrs
        .keys()
        .find(|k| k.eq_ignore_ascii_case(urn) && is_undeclared(k))
        .cloned()
}

/// Resolves an undeclared key against `attrs`. URNs carry colons and dots of their own, so the
/// attribute is what follows the last colon, unless the key is a whole URN: one already stored,
/// one the org declares for `rt`, one whose last segment cannot be an attribute name
/// (`...:1.0`), one ending in the resource type's name (`...:2.0:User`, the convention for
/// extension URNs), or one whose value is an object and whose prefix is not a stored or
/// declared URN (`object` says the value is one). `None` for a key that is not under a URN
/// scimd defines itself. Declared extensions are stored as undeclared ones are, so they are
/// placed here too; knowing their URNs settles keys the heuristics could read both ways.
pub fn place<'k>(
    rt: ResourceType,
    key: &'k str,
    attrs: &Map<String, Value>,
    object: bool,
    declared: &Declared,
) -> Option<Place<'k>> {
    if !is_undeclared(key) {
        return None;
    }
    if let Some(urn) = stored_urn(attrs, key) {
        return Some(Place::Whole(urn));
    }
    if let Some(ext) = declared.find(rt, key) {
        return Some(Place::Whole(ext.urn.clone()));
    }
    let (prefix, last) = key.rsplit_once(':')?;
    if let Some(ext) = declared.find(rt, prefix).filter(|_| is_attr_name(last)) {
        let urn = stored_urn(attrs, prefix).unwrap_or_else(|| ext.urn.clone());
        return Some(Place::Attr(urn, last));
    }
    if !is_attr_name(last) || last.eq_ignore_ascii_case(rt.name()) {
        return Some(Place::Whole(key.to_string()));
    }
    if let Some(urn) = stored_urn(attrs, prefix) {
        return Some(Place::Attr(urn, last));
    }
    if object || !is_undeclared(prefix) {
        return Some(Place::Whole(key.to_string()));
    }
    Some(Place::Attr(prefix.to_string(), last))
}

/// Sets attribute `name` of extension `urn` (its object `ext`) to `value`, replacing one
/// spelled in another case in place.
pub fn set_attr(
    urn: &str,
    ext: &mut Map<String, Value>,
    name: &str,
    value: Value,
) -> Result<(), ScimError> {
    check_depth(urn, name, &value)?;
    let existing = ext.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned();
    if existing.is_none() && ext.len() >= MAX_ATTRS {
        return Err(ScimError::invalid_value(format!(
            "The undeclared extension '{urn}' has more than {MAX_ATTRS} attributes"
        )));
    }
    ext.insert(existing.unwrap_or_else(|| name.to_string()), value);
    Ok(())
}

/// The object of undeclared extension `urn` in `attrs`, created if missing; `urn` is the stored
/// spelling.
pub fn ext_mut<'a>(
    attrs: &'a mut Map<String, Value>,
    urn: &str,
) -> Result<&'a mut Map<String, Value>, ScimError> {
    if !attrs.contains_key(urn)
        && attrs.keys().filter(|k| is_undeclared(k)).count() >= MAX_EXTENSIONS
    {
        return Err(ScimError::invalid_value(format!(
            "A resource may carry at most {MAX_EXTENSIONS} undeclared extensions"
        )));
    }
    if !attrs.get(urn).is_some_and(Value::is_object) {
        attrs.insert(urn.to_string(), Value::Object(Map::new()));
    }
    attrs
        .get_mut(urn)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| ScimError::invalid_value(format!("Attribute '{urn}' must be an object")))
}

/// Removes attribute `name` of `ext`, whatever its case.
pub fn remove_attr(ext: &mut Map<String, Value>, name: &str) {
    if let Some(k) = ext.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned() {
        ext.shift_remove(&k);
    }
}

/// Whether `v` nests at most `left` levels of arrays and objects.
fn shallow(v: &Value, left: usize) -> bool {
    match v {
        Value::Array(items) => left > 0 && items.iter().all(|i| shallow(i, left - 1)),
        Value::Object(m) => left > 0 && m.values().all(|i| shallow(i, left - 1)),
        _ => true,
    }
}

/// Checks the depth of one attribute value of an undeclared extension.
pub fn check_depth(urn: &str, name: &str, v: &Value) -> Result<(), ScimError> {
    if shallow(v, MAX_DEPTH) {
        return Ok(());
    }
    Err(ScimError::invalid_value(format!(
        "Attribute '{urn}:{name}' nests deeper than {MAX_DEPTH} levels of arrays and objects, \
         which an undeclared extension may not"
    )))
}

/// Counts bytes without keeping them.
struct Count(usize);

impl io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The serialized size of every undeclared extension of a stored form, keys included.
pub fn size(attrs: &Map<String, Value>) -> usize {
    let mut count = Count(0);
    for (key, v) in attrs.iter().filter(|(k, _)| is_undeclared(k)) {
        // Writing to a counter cannot fail.
        let _ = serde_json::to_writer(&mut count, v);
        count.0 += key.len() + 3;
    }
    count.0
}

/// Checks the total size of the undeclared extensions against `max_extension_bytes`. With
/// `unchanged_from`, a resource whose undeclared extensions are what is stored there passes,
/// so a limit lowered later never blocks writes to its other attributes.
pub fn check_size(
    attrs: &Map<String, Value>,
    limits: &Limits,
    unchanged_from: Option<&Map<String, Value>>,
) -> Result<(), ScimError> {
    if let Some(old) = unchanged_from {
        let mine = attrs.iter().filter(|(k, _)| is_undeclared(k));
        let theirs = old.iter().filter(|(k, _)| is_undeclared(k));
        if mine.eq(theirs) {
            return Ok(());
        }
    }
    let n = size(attrs);
    if n > limits.max_extension_bytes {
        return Err(ScimError::invalid_value(format!(
            "The undeclared extensions take {n} bytes; at most {} are allowed \
             ([limits] max_extension_bytes)",
            limits.max_extension_bytes
        )));
    }
    Ok(())
}

/// An undeclared extension gathered from a body, keyed by its stored URN spelling.
#[derive(Default)]
pub(super) struct Gathered {
    pub(super) exts: Map<String, Value>,
}

impl Gathered {
    /// Takes a body key under an undeclared (or declared) URN; `Ok(false)` when it is not one.
    pub(super) fn gather(
        &mut self,
        rt: ResourceType,
        key: &str,
        value: &Value,
        declared: &Declared,
    ) -> Result<bool, ScimError> {
        if !is_undeclared(key) {
            return Ok(false);
        }
        // An object is always a whole extension here, so that the stored form (URN keys holding
        // objects) normalizes to itself; only `URN:attr` keys with other values are split.
        let place = if value.is_object() {
            Place::Whole(stored_urn(&self.exts, key).unwrap_or_else(|| key.to_string()))
        } else {
            match place(rt, key, &self.exts, false, declared) {
                Some(p) => p,
                None => return Ok(true),
            }
        };
        match place {
            Place::Whole(urn) => match value {
                Value::Object(m) => {
                    for (name, v) in m {
                        self.set(&urn, name, v)?;
                    }
                }
                // Unassigning the whole extension.
                Value::Null => {
                    self.exts.shift_remove(&urn);
                }
                _ => {
                    return Err(ScimError::invalid_value(format!(
                        "Attribute '{urn}' must be an object"
                    )))
                }
            },
            Place::Attr(urn, name) => self.set(&urn, name, value)?,
        }
        Ok(true)
    }

    fn set(&mut self, urn: &str, name: &str, v: &Value) -> Result<(), ScimError> {
        set_attr(urn, ext_mut(&mut self.exts, urn)?, name, v.clone())
    }

    /// Moves the non-empty extensions into `attrs`.
    pub(super) fn finish(self, attrs: &mut Map<String, Value>) {
        for (urn, v) in self.exts {
            if v.as_object().is_some_and(|m| !m.is_empty()) {
                attrs.insert(urn, v);
            }
        }
    }
}
