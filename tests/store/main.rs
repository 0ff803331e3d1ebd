//! The backend conformance suite: the store's rules checked through `scimd::store::Store` on
//! every backend, the embedded redb file and PostgreSQL (a throwaway cluster this binary
//! starts). A new backend adds one line to [`backend::Backend`] and must pass all of it: this
//! is its checklist. Each test runs once per backend (`conformance!`), on a fresh store.

mod backend;

mod activity;
mod feed;
mod hooks;
mod purge;
mod resources;
