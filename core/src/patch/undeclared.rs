//! PATCH of undeclared extensions (see [`crate::resource::undeclared`]), in every form Okta and
//! Entra send: a URN-qualified path (`urn:...:User:costCode`), a path-less value keyed by
//! `URN:attr` or by the URN itself, and a remove of one attribute or of the whole URN.
//!
//! Without a schema there is no multi-valued attribute to append to, so `add` sets an
//! attribute the way `replace` does; values stay raw and the normalizer bounds them afterwards.

use serde_json::Value;

use super::values::Object;
use super::OpKind;
use crate::error::ScimError;
use crate::filter::PatchPath;
use crate::resource::undeclared::{
    ext_mut, is_undeclared, place, remove_attr, set_attr, stored_urn, Place,
};
use crate::schema::ResourceType;

/// Applies one key of a path-less value; `false` when the key is not under an undeclared URN.
pub(super) fn apply_key(
    res: &mut Object,
    rt: ResourceType,
    kind: OpKind,
    key: &str,
    v: &Value,
) -> Result<bool, ScimError> {
    let Some(place) = place(rt, key, res, v.is_object()) else {
        return Ok(false);
    };
    write(res, kind, place, v)?;
    Ok(true)
}

/// Applies an operation whose path is under an undeclared URN; `false` when it is not.
pub(super) fn apply_path(
    res: &mut Object,
    rt: ResourceType,
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
        match place(rt, &key, res, false) {
            Some(p) => p,
            None => return Ok(false),
        }
    };
    match (kind, place) {
        (OpKind::Remove, Place::Whole(urn)) => {
            res.shift_remove(&urn);
        }
        (OpKind::Remove, Place::Attr(urn, name)) => remove(res, &urn, name),
        (_, place) => write(res, kind, place, value.unwrap_or(&Value::Null))?,
    }
    Ok(true)
}

/// An add or replace of a whole extension (its object merges in) or of one attribute.
fn write(res: &mut Object, kind: OpKind, place: Place<'_>, v: &Value) -> Result<(), ScimError> {
    match place {
        Place::Attr(urn, name) => write_attr(res, kind, &urn, name, v),
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
                .try_for_each(|(name, v)| write_attr(res, kind, &urn, name, v)),
            _ => Err(ScimError::invalid_value(format!("{urn} must be an object"))),
        },
    }
}

fn write_attr(
    res: &mut Object,
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
    set_attr(urn, ext_mut(res, urn)?, name, v.clone())
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
