//! The end-to-end suite on the embedded redb store: the real `scimd` over HTTP, step by step
//! as IdPs play it. `postgres.rs` runs the same modules on PostgreSQL.

/// The store backend every daemon of this binary uses.
pub const BACKEND: harness::Backend = harness::Backend::Redb;

include!("suite.rs");
