//! Parsing of the PatchOp request body into [`PatchOperation`]s.

use super::{OpKind, PatchOperation, MAX_OPERATIONS};
use crate::error::ScimError;
use crate::filter::{parse_patch_path, AttrPath, PatchPath};
use crate::resource::undeclared::is_undeclared;
use crate::schema::{ResourceType, PATCH_SCHEMA};
use serde_json::{Map, Value};

/// Parses a PatchOp request body.
///
/// Errors: invalidSyntax for a malformed body or `op`, invalidPath for a malformed `path`,
/// invalidValue for an add or replace without `value`, noTarget for a remove without `path`,
/// 413 for more than [`MAX_OPERATIONS`] operations. An empty `Operations` array is a no-op.
pub fn parse_patch(body: &Value) -> Result<Vec<PatchOperation>, ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("The PATCH body must be a JSON object"))?;
    // Some clients omit `schemas`; only a list that names other messages is refused.
    if let Some(schemas) = get_ci(obj, "schemas") {
        if !names_patch_schema(schemas) {
            return Err(ScimError::invalid_syntax(format!(
                "schemas must contain {PATCH_SCHEMA}"
            )));
        }
    }
    let ops = match get_ci(obj, "Operations") {
        Some(Value::Array(ops)) => ops,
        Some(_) => return Err(ScimError::invalid_syntax("Operations must be an array")),
        None => {
            return Err(ScimError::invalid_syntax(
                "The PATCH body has no Operations",
            ))
        }
    };
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::PayloadTooLarge(format!(
            "A PATCH may carry at most {MAX_OPERATIONS} operations, this one has {}",
            ops.len()
        )));
    }
    ops.iter()
        .enumerate()
        .map(|(i, op)| parse_operation(i, op))
        .collect()
}

fn parse_operation(i: usize, op: &Value) -> Result<PatchOperation, ScimError> {
    let obj = op
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax(format!("Operations[{i}] must be an object")))?;
    let kind = match get_ci(obj, "op").and_then(Value::as_str) {
        Some(s) if s.eq_ignore_ascii_case("add") => OpKind::Add,
        Some(s) if s.eq_ignore_ascii_case("replace") => OpKind::Replace,
        Some(s) if s.eq_ignore_ascii_case("remove") => OpKind::Remove,
        _ => {
            return Err(ScimError::invalid_syntax(format!(
                "Operations[{i}].op must be one of add, replace, remove"
            )))
        }
    };
    let path = match get_ci(obj, "path") {
        None | Some(Value::Null) => None,
        // An empty path is what some clients write for "no path".
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(parse_path(s.trim())?),
        Some(_) => {
            return Err(ScimError::invalid_path(format!(
                "Operations[{i}].path must be a string"
            )))
        }
    };
    let value = get_ci(obj, "value").cloned();
    match kind {
        OpKind::Add | OpKind::Replace if value.is_none() => Err(ScimError::invalid_value(format!(
            "Operations[{i}]: {} needs a value",
            if kind == OpKind::Add {
                "add"
            } else {
                "replace"
            }
        ))),
        OpKind::Remove if path.is_none() => Err(ScimError::no_target(format!(
            "Operations[{i}]: remove needs a path"
        ))),
        _ => Ok(PatchOperation {
            op: kind,
            path,
            value,
        }),
    }
}

/// Parses a path, recognising a bare extension URN (a path to the whole extension object) that
/// the filter grammar would otherwise split into a URN and an attribute name. Such a path comes
/// back with the URN in `attr.urn` and an empty `attr.name`.
fn parse_path(s: &str) -> Result<PatchPath, ScimError> {
    let whole_extension = ResourceType::ALL
        .iter()
        .flat_map(|rt| rt.extensions())
        .find(|ext| ext.id.eq_ignore_ascii_case(s));
    // An undeclared URN whose last segment is a version (`urn:okta:custom:user:1.0`) cannot be
    // split into a URN and an attribute name: it names the whole extension.
    let undeclared_whole = is_undeclared(s)
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        && s.rsplit(':')
            .next()
            .is_some_and(|last| !last.starts_with(|c: char| c.is_ascii_alphabetic()));
    if undeclared_whole {
        let attr = AttrPath {
            urn: Some(s.to_string()),
            name: String::new(),
            sub: None,
        };
        return Ok(PatchPath { attr, filter: None });
    }
    if let Some(ext) = whole_extension {
        let attr = AttrPath {
            urn: Some(ext.id.to_string()),
            name: String::new(),
            sub: None,
        };
        return Ok(PatchPath { attr, filter: None });
    }
    // RFC 7644 answers any malformed path with invalidPath, even when a filter inside it is at fault.
    parse_patch_path(s).map_err(|e| match e {
        ScimError::BadRequest { detail, .. } => ScimError::invalid_path(detail),
        other => other,
    })
}

fn names_patch_schema(schemas: &Value) -> bool {
    match schemas {
        Value::Null => true,
        Value::String(s) => s.eq_ignore_ascii_case(PATCH_SCHEMA),
        Value::Array(list) => list.iter().any(|s| {
            s.as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(PATCH_SCHEMA))
        }),
        _ => false,
    }
}

/// The member `key`, preferring the exact spelling and falling back to any casing.
pub(super) fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}
