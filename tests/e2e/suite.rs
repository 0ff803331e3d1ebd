// The modules of the end-to-end suite, included by both test roots (`main.rs` on redb,
// `postgres.rs` on PostgreSQL), so the same tests run once per store backend.

mod abuse;
mod backup;
mod bulk;
mod cli;
mod conformance;
mod crash;
mod cursor;
mod dashboard;
mod diskfull;
mod edge;
mod entra;
mod errors;
mod events;
mod harness;
mod heavy;
mod isolation;
mod lists;
mod load;
mod logs;
mod metrics;
mod okta;
mod paging;
mod permissions;
mod persistence;
mod races;
mod receiver;
mod reload;
mod reload_hardening;
mod scaleout;
mod shutdown;
mod smoke;
mod tls;
mod usernames;
mod webhooks;
mod webhooks_shared;
