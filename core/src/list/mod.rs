//! List responses: attribute projection (RFC 7644 §3.9), sorting (§3.4.2.3) and the envelope.
//!
//! Each concern has its own file; the types are re-exported here, so callers keep using
//! `scimd_core::list::{Projection, SortSpec, TopK, list_response}`.

mod projection;
mod sort;
mod topk;

use serde_json::{json, Map, Value};

use crate::filter::AttrPath;
use crate::schema::{Attr, ResourceType, LIST_SCHEMA};

pub use projection::Projection;
pub use sort::SortSpec;
pub use topk::TopK;

/// The ListResponse message; `itemsPerPage` is the number of resources on this page.
pub fn list_response(resources: Vec<Value>, total: usize, start_index: usize) -> Value {
    // Built by hand: `json!` would serialize the page into a second copy of itself.
    let mut body = serde_json::Map::new();
    body.insert("schemas".into(), json!([LIST_SCHEMA]));
    body.insert("totalResults".into(), total.into());
    body.insert("itemsPerPage".into(), resources.len().into());
    body.insert("startIndex".into(), start_index.into());
    body.insert("Resources".into(), Value::Array(resources));
    Value::Object(body)
}

// Name lookups that projection and sorting share.

/// Resolves a path against the schemas; `None` for names scimd does not know.
pub(super) fn resolve(
    rt: ResourceType,
    path: &AttrPath,
) -> Option<(Option<&'static str>, &'static Attr, Option<&'static Attr>)> {
    let r = rt.resolve(path.urn.as_deref(), &path.name, path.sub.as_deref())?;
    Some((r.extension, r.attr, r.sub))
}

/// The key in `m` that matches `name` case-insensitively, exact spelling first.
pub(super) fn find_key(m: &Map<String, Value>, name: &str) -> Option<String> {
    if m.contains_key(name) {
        return Some(name.to_string());
    }
    m.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

#[cfg(test)]
mod tests;
