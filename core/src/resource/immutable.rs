//! Immutable attributes between a resource's stored and new form: the `userName` rule
//! (`[orgs.NAME] usernames`), which a PUT or PATCH must keep.

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::schema::ResourceType;

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
