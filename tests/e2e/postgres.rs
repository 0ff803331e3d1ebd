//! The end-to-end suite on PostgreSQL: the same modules as `main.rs`, every daemon on a fresh
//! database of a throwaway cluster this binary starts (`scimd_tests::pg`), plus the tests of
//! several daemons sharing one database.

/// The store backend every daemon of this binary uses.
pub const BACKEND: harness::Backend = harness::Backend::Postgres;

include!("suite.rs");

// PostgreSQL only: one daemon's commits wake another's long-polls (`LISTEN`/`NOTIFY`).
mod wakeups;
