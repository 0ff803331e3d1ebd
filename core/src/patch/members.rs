//! Group membership in PATCH values and filters: turning them into member ids.

use super::parse::get_ci;
use crate::error::ScimError;
use crate::filter::{CompValue, CompareOp, Filter};
use serde_json::Value;

/// The member ids in a PATCH value: an array or a single item, each item an object with a
/// `value` or a bare id string (as Microsoft's validator sends). `null` means no ids.
pub(super) fn member_ids(value: &Value) -> Result<Vec<String>, ScimError> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().map(member_id).collect(),
        item => Ok(vec![member_id(item)?]),
    }
}

fn member_id(item: &Value) -> Result<String, ScimError> {
    let id = match item {
        Value::String(s) => Some(s.as_str()),
        Value::Object(obj) => get_ci(obj, "value").and_then(Value::as_str),
        _ => None,
    };
    match id.map(str::trim) {
        Some(id) if !id.is_empty() => Ok(id.to_string()),
        _ => Err(ScimError::invalid_value(
            "Each member needs a value: the id of a user",
        )),
    }
}

/// The ids named by a members filter, when it is `value eq "id"` or an `or` of those; `None`
/// for any other filter, since members carry nothing else worth selecting by.
pub(super) fn ids_from_filter(filter: &Filter) -> Option<Vec<String>> {
    let mut ids = Vec::new();
    collect_ids(filter, &mut ids).then_some(ids)
}

fn collect_ids(filter: &Filter, ids: &mut Vec<String>) -> bool {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.urn.is_none() => {
            let names_value = match &path.sub {
                None => path.name.eq_ignore_ascii_case("value"),
                Some(sub) => {
                    path.name.eq_ignore_ascii_case("members") && sub.eq_ignore_ascii_case("value")
                }
            };
            let id = match value {
                CompValue::Str(s) => s.clone(),
                // Microsoft's validator sends unquoted ids, which may parse as numbers.
                CompValue::Number(n) => n.to_string(),
                _ => return false,
            };
            if names_value {
                ids.push(id);
            }
            names_value
        }
        Filter::Or(a, b) => collect_ids(a, ids) && collect_ids(b, ids),
        _ => false,
    }
}
