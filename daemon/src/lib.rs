//! scimd's daemon: the HTTP server, auth, routing, the store, the activity bus, the change
//! feed's upkeep, webhook delivery, the control socket and metrics.
//! The `scimd` binary in `main.rs` (and `cmd.rs`) is a command-line shell over [`serve::run`],
//! [`admin`], [`status`] and the dashboard.

pub mod activity;
pub mod admin;
pub mod api;
pub mod control;
pub mod http;
pub mod metrics;
pub mod org_health;
pub mod pg_url;
pub mod prune;
pub mod serve;
pub mod site;
pub mod status;
pub mod store;
pub mod tls;
pub mod webhooks;

/// The current time as RFC 3339 in UTC, at millisecond precision: short, and still ordering
/// writes. The clock is read here, at the edge; `core` takes time as a parameter.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now
        .replace_nanosecond(now.millisecond() as u32 * 1_000_000)
        .unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
