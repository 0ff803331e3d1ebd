//! PATCH of undeclared extensions (see [`crate::resource::undeclared`]), in every form Okta and
//! Entra send: a URN-qualified path (`urn:...:User:costCode`), a path-less value keyed by
//! `URN:attr` or by the URN itself, and a remove of one attribute or of the whole URN.
//!
//! Declared extensions (see [`crate::schema::declared`]) are stored the same way and go through
//! here too; the org's declarations settle which part of a key is the URN, and let `add` append
//! to a declared multi-valued attribute. Without a declaration there is no multi-valued
//! attribute to append to, so `add` sets an attribute the way `replace` does. Values stay raw:
//! the normalizer type-checks declared ones and bounds all of them afterwards.

use serde_json::Value;

use super::values::Object;
use super::OpKind;
use crate::error::ScimError;
use crate::filter::PatchPath;
use crate::resource::undeclared::{
    ext_mut, is_undeclared, place, remove_attr, set_attr, stored_urn, Place,
};
use crate::schema::{Declared, ResourceType};

/// What an operation on a custom extension works with: the resource type and the org's
/// declarations.
#[derive(Clone, Copy)]
pub(super) struct Custom<'d> {
    pub(super) rt: ResourceType,
    pub(super) declared: &'d Declared,
}

/// Applies one key of a path-less value; `false` when the key is not under an undeclared URN.
pub(super) fn apply_key(
    res: &mut Object,
    c: Custom<'_>,
    kind: OpKind,
    key: &str,
    v: &Value,
) -> Result<bool, ScimError> {
    let Some(place) = place(c.rt, key, res, v.is_object(), c.declared) else {
        return Ok(false);
    };
    write(res, c, kind, place, v)?;
    Ok(true)
}

/// Applies an operation whose path is under an undeclared URN; `false` when it is not.
pub(super) fn apply_path(
    res: &mut Object,
    c: Custom<'_>,
    kind: OpKind,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<bool, ScimError> {
    let a = &path.attr;
    let Some(urn) = &a.urn else {
        return Ok(false);
    };
    let key = if a.name.is_empty() {
        urn.clone()
    } else {
        format!("{urn}:{}", a.name)
    };
    if !is_undeclared(&key) {
        return Ok(false);
    }
    if path.filter.is_some() || a.sub.is_some() {
        return Err(ScimError::invalid_path(format!(
            "{key} is in an undeclared extension: its attributes can only be set or removed \
             whole, without a filter or sub-attribute"
        )));
    }
    let place = if a.name.is_empty() {
        Place::Whole(stored_urn(res, urn).unwrap_or_else(|| urn.clone()))
    } else {
        match place(c.rt, &key, res, false, c.declared) {
            Some(p) => p,
            None => return Ok(false),
        }
    };
    match (kind, place) {
        (OpKind::Remove, Place::Whole(urn)) => {
            res.shift_remove(&urn);
        }
        (OpKind::Remove, Place::Attr(urn, name)) => remove(res, &urn, name),
        (_, place) => write(res, c, kind, place, value.unwrap_or(&Value::Null))?,
    }
    Ok(true)
}

/// An add or replace of a whole extension (its object merges in) or of one attribute.
fn write(
    res: &mut Object,
    c: Custom<'_>,
    kind: OpKind,
    place: Place<'_>,
    v: &Value,
) -> Result<(), ScimError> {
    match place {
        Place::Attr(urn, name) => write_attr(res, c, kind, &urn, name, v),
        Place::Whole(urn) => match v {
            Value::Null => {
                // Replacing with null unassigns (RFC 7644 section 3.5.2.3); adding null adds nothing.
                if kind == OpKind::Replace {
                    res.shift_remove(&urn);
                }
                Ok(())
            }
            Value::Object(m) => m
                .iter()
                .try_for_each(|(name, v)| write_attr(res, c, kind, &urn, name, v)),
            _ => Err(ScimError::invalid_value(format!("{urn} must be an object"))),
        },
    }
}

fn write_attr(
    res: &mut Object,
    c: Custom<'_>,
    kind: OpKind,
    urn: &str,
    name: &str,
    v: &Value,
) -> Result<(), ScimError> {
    if v.is_null() {
        if kind == OpKind::Replace {
            remove(res, urn, name);
        }
        return Ok(());
    }
    let appends = kind == OpKind::Add
        && c.declared
            .resolve(c.rt, urn, name)
            .is_some_and(|(_, a)| a.multi);
    let ext = ext_mut(res, urn)?;
    let value = match (appends, existing(ext, name)) {
        // RFC 7644 3.5.2.1: an add to a multi-valued attribute appends; the normalizer drops
        // the duplicates and coerces the values.
        (true, Some(have)) => {
            let mut all = match have {
                Value::Array(have) => have.clone(),
                one => vec![one.clone()],
            };
            match v {
                Value::Array(items) => all.extend(items.iter().cloned()),
                item => all.push(item.clone()),
            }
            Value::Array(all)
        }
        _ => v.clone(),
    };
    set_attr(urn, ext, name, value)
}

/// The value of attribute `name` of `ext`, whatever its case.
fn existing<'a>(ext: &'a Object, name: &str) -> Option<&'a Value> {
    ext.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Removes one attribute, and the extension with it when it was the last.
fn remove(res: &mut Object, urn: &str, name: &str) {
    let Some(ext) = res.get_mut(urn).and_then(Value::as_object_mut) else {
        return;
    };
    remove_attr(ext, name);
    if ext.is_empty() {
        res.shift_remove(urn);
    }
}
