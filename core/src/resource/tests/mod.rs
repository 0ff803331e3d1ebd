//! Tests of normalizing, checking and rendering resources.
//!
//! Shared helpers are here; the tests are in `normalize` (bodies identity providers send, and
//! bad ones), `bounds` (configured limits, caps and the immutable userName) and `render`.

mod bounds;
mod declared;
mod normalize;
mod render;
mod undeclared;

use super::*;
use crate::schema::{GROUP_SCHEMA, USER_SCHEMA};
use crate::ScimType;
use serde_json::json;

const ENT: &str = ENTERPRISE_SCHEMA;

fn limits() -> Limits {
    Limits::default()
}

fn nested_junk(depth: usize) -> Value {
    let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A User whose `emails` holds `n` distinct addresses.
fn emails(n: usize) -> Value {
    let emails: Vec<Value> = (0..n)
        .map(|i| json!({"value": format!("u{i}@example.org")}))
        .collect();
    json!({"userName": "ann", "emails": emails})
}
