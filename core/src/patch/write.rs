//! Writes of one resolved attribute into its container: a single value, the elements a value
//! filter selects, and the cleanup of attributes left empty.

use super::values::{
    array_slot, demote_other_primaries, element_from_filter, is_primary, merge_into, object_slot,
    wrap_value, wraps_scalar, ElementMatcher, Object,
};
use crate::error::ScimError;
use crate::filter::Filter;
use crate::schema::{Attr, AttrType, Resolved};
use serde_json::{Map, Value};

/// Sets a single-valued attribute; a complex one merges the given sub-attributes (RFC 7644
/// section 3.5.2.3), or takes a bare scalar as its `value` (Entra's manager id).
pub(super) fn set_single(
    container: &mut Object,
    attr: &Attr,
    value: &Value,
) -> Result<(), ScimError> {
    if attr.ty != AttrType::Complex {
        container.insert(attr.name.to_string(), value.clone());
        return Ok(());
    }
    match value {
        Value::Object(given) => {
            merge_into(attr, object_slot(container, attr.name)?, given);
            drop_empty(container, attr.name);
            Ok(())
        }
        // A bare id names a different manager: stale sub-attributes must not survive.
        v if wraps_scalar(attr, v) => {
            container.insert(attr.name.to_string(), Value::Object(wrap_value(v)));
            Ok(())
        }
        _ => Err(ScimError::invalid_value(format!(
            "{} must be an object",
            attr.name
        ))),
    }
}

/// An add or replace through a value filter: sets `sub` (or merges an object) in every matching
/// element, or creates the element the filter describes when none matches.
pub(super) fn write_filtered(
    container: &mut Object,
    r: &Resolved,
    f: &Filter,
    sub: Option<&Attr>,
    value: &Value,
) -> Result<(), ScimError> {
    let attr = r.attr;
    let given = match (sub, value) {
        (Some(sub), v) => {
            let mut obj = Map::new();
            obj.insert(sub.name.to_string(), v.clone());
            obj
        }
        (None, Value::Object(obj)) => obj.clone(),
        (None, v) if wraps_scalar(attr, v) => wrap_value(v),
        (None, _) => {
            return Err(ScimError::invalid_value(format!(
                "A value for {}[...] must be an object",
                attr.name
            )))
        }
    };
    let makes_primary = is_primary(&Value::Object(given.clone()));
    let matcher = ElementMatcher::new(attr, f);
    let arr = array_slot(container, attr.name)?;
    let hits: Vec<usize> = arr
        .iter()
        .enumerate()
        .filter(|(_, e)| matcher.matches(e))
        .map(|(i, _)| i)
        .collect();
    let touched = if hits.is_empty() {
        let mut created = element_from_filter(attr, f).ok_or_else(|| {
            ScimError::no_target(format!(
                "No element of {} matches the filter, and the filter does not describe one to create",
                attr.name
            ))
        })?;
        merge_into(attr, &mut created, &given);
        arr.push(Value::Object(created));
        vec![arr.len() - 1]
    } else {
        for &i in &hits {
            if let Some(Value::Object(obj)) = arr.get_mut(i) {
                merge_into(attr, obj, &given);
            }
        }
        hits
    };
    if makes_primary {
        demote_other_primaries(arr, &touched);
    }
    Ok(())
}

/// Removes an attribute whose value became empty (an emptied array, object, or elements that
/// lost their last sub-attribute), so that "no values" reads as unassigned.
pub(super) fn drop_empty(container: &mut Object, name: &str) {
    let empty = match container.get_mut(name) {
        Some(Value::Array(arr)) => {
            arr.retain(|e| !e.as_object().is_some_and(Map::is_empty));
            arr.is_empty()
        }
        Some(Value::Object(obj)) => obj.is_empty(),
        _ => false,
    };
    if empty {
        container.shift_remove(name);
    }
}
