//! scimd's org config file: parse and validate it, edit its tokens, and watch it for live reload.
//!
//! # Layout
//! - `raw`: stage one, the file as serde reads it (`deny_unknown_fields`).
//! - `model`: stage two, the validated [`Config`] and the checks producing it.
//! - `limits`: the `[limits]` table ([`LimitsConfig`]), its defaults and upper bounds.
//! - `org`: one `[orgs.<name>]` table ([`OrgConfig`]) and its token checks.
//! - `extensions`: an org's declared extensions (`[orgs.<name>.extensions."urn:..."]`).
//! - `span`: key paths and line:col positions, so every error points into the file.
//! - `events`: the `[events]` table and the orgs' consumer tokens (`event_tokens`); the
//!   read-only SCIM tokens (`read_tokens`) are checked the same way.
//! - `store`: the `[store]` table ([`StoreConfig`]), and keeping the Postgres password out of
//!   logs.
//! - `pg_tls`: the TLS parameters of a Postgres URL (`sslmode`, `sslrootcert`, `sslcert`,
//!   `sslkey`), read as libpq reads them ([`split_tls`]).
//! - `webhooks`: the `[webhooks]` table, the orgs' `[[orgs.NAME.webhooks]]` endpoints
//!   ([`WebhookConfig`]) and their secrets ([`WebhookSecret`]).
//! - `diff`: what a reload changed ([`ConfigDiff`]).
//! - [`token`]: minting tokens and hashing them for the file.
//! - `edit`: [`rotate_token`], [`revoke_tokens`], [`add_webhook`], [`remove_webhook`],
//!   [`write_starter`], all atomic writes.
//! - `watch`: the live-reload [`Watcher`].
//!
//! This crate has no async runtime and sets up no logging: the daemon bridges the watcher's
//! callback into its own runtime and decides what to log.

#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod diff;
mod edit;
mod error;
mod events;
mod exposure;
mod extensions;
mod limits;
mod model;
mod org;
mod pg_tls;
mod raw;
mod span;
mod store;
pub mod token;
mod validator;
mod watch;
mod webhooks;

#[cfg(test)]
mod tests;

pub use diff::ConfigDiff;
pub use edit::{
    add_webhook, remove_webhook, revoke_tokens, revoke_tokens_in, rotate_token, rotate_token_in,
    write_starter, TokenScope,
};
pub use error::ConfigError;
pub use events::{
    EventsConfig, DEFAULT_EVENTS_MAX_AGE_DAYS, DEFAULT_EVENTS_MAX_LONG_POLLS,
    DEFAULT_EVENTS_MAX_RECORDS, MAX_EVENTS_MAX_AGE_DAYS, MAX_EVENTS_MAX_LONG_POLLS,
    MAX_EVENTS_MAX_RECORDS,
};
pub use exposure::exposed_secrets;
pub use limits::{
    LimitsConfig, DEFAULT_BODY_READ_TIMEOUT_SECS, DEFAULT_HEADER_READ_TIMEOUT_SECS,
    DEFAULT_IDLE_TIMEOUT_SECS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_VALUES_PER_ATTRIBUTE,
    DEFAULT_SHUTDOWN_TIMEOUT_SECS, MAX_MAX_CONNECTIONS, MAX_MAX_VALUES_PER_ATTRIBUTE,
    MAX_TIMEOUT_SECS,
};
pub use model::{
    ActivityConfig, Config, LogConfig, LogFormat, TlsConfig, DEFAULT_ACTIVITY_MAX_AGE_DAYS,
    DEFAULT_ACTIVITY_MAX_RECORDS, DEFAULT_DATA_DIR, DEFAULT_LISTEN, DEFAULT_SOCKET_NAME,
    MAX_ACTIVITY_MAX_AGE_DAYS, MAX_ACTIVITY_MAX_RECORDS,
};
pub use org::{
    OrgConfig, RateLimit, UnknownMembers, Usernames, DEFAULT_TEAM_NAME_MAX, MAX_ORG_NAME_LEN,
    MAX_RATE_BURST, MAX_RATE_LIMIT, MAX_TEAM_NAME_MAX,
};
pub use pg_tls::{split_tls, PgTls, PgTlsError, SslMode};
pub use store::{
    url_has_password, PostgresConfig, StoreBackend, StoreConfig, DATABASE_URL_ENV,
    DEFAULT_POOL_SIZE, MAX_POOL_SIZE,
};
pub use watch::Watcher;
pub use webhooks::{
    WebhookConfig, WebhookSecret, WebhookSecretError, WebhooksConfig,
    DEFAULT_WEBHOOK_CONNECT_TIMEOUT_SECS, DEFAULT_WEBHOOK_RETRY_HOURS,
    DEFAULT_WEBHOOK_TIMEOUT_SECS, EVENT_TYPES, MAX_WEBHOOKS_PER_ORG,
    MAX_WEBHOOK_CONNECT_TIMEOUT_SECS, MAX_WEBHOOK_RETRY_HOURS, MAX_WEBHOOK_SECRET_BYTES,
    MAX_WEBHOOK_TIMEOUT_SECS, MAX_WEBHOOK_URL_LEN, MIN_WEBHOOK_SECRET_BYTES, WEBHOOK_SECRET_PREFIX,
};
