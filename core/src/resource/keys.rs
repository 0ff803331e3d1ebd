//! The keys the store indexes a resource by, how a member user is displayed, and whether a
//! user is active, read from its stored form.

use std::collections::HashSet;

use serde_json::{Map, Value};

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

/// Whether a user in stored form is active. RFC 7643 leaves `active` optional; a user without
/// it is treated as active.
pub fn is_active(user_attrs: &Map<String, Value>) -> bool {
    user_attrs
        .get("active")
        .and_then(Value::as_bool)
        .unwrap_or(true)
}
