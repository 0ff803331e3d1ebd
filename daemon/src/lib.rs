//! scimd's daemon: the HTTP server, auth, routing, the redb store and the activity bus.
//! The `scimd` binary in `main.rs` is a thin command-line shell over [`serve::run`].

pub mod activity;
pub mod api;
pub mod control;
pub mod http;
pub mod precondition;
pub mod serve;
pub mod store;
pub mod tls;
