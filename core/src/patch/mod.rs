//! The PATCH engine (RFC 7644 section 3.5.2): parses a PatchOp body and applies it to a resource.
//!
//! The engine works on the stored form of a resource (canonical attribute names, no `id`, `meta`,
//! `schemas`, User `groups` or Group `members`) and leaves value types raw: the caller runs the
//! normalizer over the result, which coerces, validates and enforces immutability. Group
//! membership never enters the map; it comes back as [`MemberOp`]s so the store can change one
//! membership without rewriting the whole group.
//!
//! Leniencies, all driven by what Okta, Entra ID and authentik send: `op` is matched
//! case-insensitively, `schemas` may be omitted, a path-less value may carry dotted keys,
//! URN-qualified keys, a whole extension object, echoed `schemas`/`meta`/`id`, read-only and
//! unknown attributes (all skipped; keys under a URN scimd does not declare are kept, see
//! `undeclared`), a complex attribute given a bare string (Entra's manager) is
//! wrapped into `{"value": ...}`, and a value filter that matches nothing creates the element it
//! describes (Entra's `emails[type eq "work"].value` on a user without a work email).

mod append;
mod apply;
mod keys;
mod members;
mod parse;
#[cfg(test)]
mod tests;
mod undeclared;
mod values;
mod write;

pub use apply::{apply_patch, apply_patch_with};
pub use parse::parse_patch;

use crate::filter::PatchPath;
use serde_json::Value;

/// The most operations one PATCH request may carry; more is answered with 413.
pub const MAX_OPERATIONS: usize = 1000;

/// The kind of a PATCH operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

/// One parsed operation of a PatchOp request.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    pub op: OpKind,
    /// `None` for a path-less add or replace, whose value is an object of attributes.
    pub path: Option<PatchPath>,
    /// Always `Some` for add and replace coming from [`parse_patch`]; an explicit JSON `null`
    /// is kept as `Some(Value::Null)`.
    pub value: Option<Value>,
}

/// A change to team membership, applied by the store in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberOp {
    Add(Vec<String>),
    Remove(Vec<String>),
    Clear,
}
