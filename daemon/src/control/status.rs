//! The orgs' health as `scimd status` and the dashboard's Orgs view see it: the in-memory
//! counts of [`crate::org_health`] joined with what the store knows (users, teams, the newest
//! event, the webhook positions); the task that feeds the last write in from the activity
//! log; and the task that keeps the per-org health gauges of `/metrics` current.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use scimd_config::Config;
use scimd_core::wire::{
    ActivityRecord, ConsumerHealth, DaemonStatus, EventsHealth, LastRequest, OrgHealth, OrgSummary,
};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::{broadcast, watch};

use crate::org_health::{digest_label, is_write, rfc3339, Tracker};
use crate::store::{Health, Store, StoreError};

/// How often the health gauges of `/metrics` are recomputed: alerts look at hours and
/// quarter-hours, and each round reads every org's newest event number.
const GAUGES_EVERY: Duration = Duration::from_secs(5);
/// Activity records read at start to find each org's last write before this daemon ran.
const SEED_RECORDS: usize = 10_000;

/// The daemon's own line of `scimd status`.
pub(super) fn daemon_status(state: &super::ControlState) -> DaemonStatus {
    DaemonStatus {
        version: env!("CARGO_PKG_VERSION").to_string(),
        uptime_secs: state.started.elapsed().as_secs(),
        store: if state.store.capabilities().shared {
            "postgres"
        } else {
            "redb"
        }
        .to_string(),
        // What `/healthz` answers 200 for: a full disk's read-only service is not healthy.
        healthy: matches!(state.store.health(), Health::Ok),
        now: rfc3339(OffsetDateTime::now_utc()),
    }
}

/// Every configured org's summary (the dashboard's counters) and health, from one set of
/// store reads. Blocks.
pub(super) fn orgs(
    store: &Store,
    config: &Config,
    tracker: &Tracker,
    now: OffsetDateTime,
) -> Result<(Vec<OrgSummary>, Vec<OrgHealth>), StoreError> {
    let mut summaries = Vec::with_capacity(config.orgs.len());
    let mut health = Vec::with_capacity(config.orgs.len());
    for org in config.orgs.values() {
        let stats = store.org_stats(&org.name)?;
        let webhooks = crate::webhooks::summaries(store, org)?;
        let newest = store.events(&org.name, None, 0)?.last;
        let view = tracker.view(&org.name, now);
        // Only tokens the config still has: a revoked or rotated consumer is gone.
        let configured: HashSet<String> = org.event_tokens.iter().map(digest_label).collect();
        let consumers = view
            .consumers
            .into_iter()
            .filter(|(label, _, _)| configured.contains(label))
            .map(|(token, at, cursor)| ConsumerHealth {
                token,
                last_poll: rfc3339(at),
                cursor,
                lag: newest.saturating_sub(cursor),
            })
            .collect();
        health.push(OrgHealth {
            name: org.name.clone(),
            users: stats.users,
            teams: stats.teams,
            last_request: view.last_request.map(|r| LastRequest {
                time: rfc3339(r.at),
                method: r.method.to_string(),
                resource: r.resource.to_string(),
                status: r.status,
            }),
            last_write: view.last_write.map(rfc3339),
            requests_1h: view.requests_1h,
            refused_1h: view.refused_1h,
            unauthorized_1h: view.unauthorized_1h,
            unauthorized_1m: view.unauthorized_1m,
            requests_10m: view.requests_10m,
            events: EventsHealth { newest, consumers },
            webhooks: webhooks.clone(),
        });
        summaries.push(OrgSummary {
            name: org.name.clone(),
            display_name: org.display_name.clone(),
            enabled: org.enabled,
            users: stats.users,
            active_users: stats.active_users,
            teams: stats.teams,
            webhooks,
        });
    }
    Ok((summaries, health))
}

fn write_time(record: &ActivityRecord) -> Option<OffsetDateTime> {
    is_write(record)
        .then(|| OffsetDateTime::parse(&record.time, &Rfc3339).ok())
        .flatten()
}

/// Feeds each org's last write into `tracker`: first from the newest records the log keeps,
/// then from every record the log gains (`feed`: on PostgreSQL, every daemon's).
pub(super) async fn follow_writes(
    store: Store,
    tracker: Arc<Tracker>,
    mut feed: broadcast::Receiver<ActivityRecord>,
    mut stop: watch::Receiver<bool>,
) {
    // Subscribed before this read, so a write in between is seen by one or the other.
    let seed = tokio::task::spawn_blocking(move || store.recent_activity(SEED_RECORDS)).await;
    match seed {
        Ok(Ok(records)) => {
            for r in &records {
                if let Some(at) = write_time(r) {
                    tracker.write(&r.org, at);
                }
            }
        }
        Ok(Err(err)) => tracing::warn!(cause = %err, "cannot read the last writes of the orgs"),
        Err(err) => tracing::warn!(cause = %err, "last-write task failed"),
    }
    loop {
        tokio::select! {
            got = feed.recv() => match got {
                Ok(r) => {
                    if let Some(at) = write_time(&r) {
                        tracker.write(&r.org, at);
                    }
                }
                // Missed records are older than the ones still coming: nothing to catch up on.
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
        }
    }
}

/// Keeps `scimd_org_last_request_timestamp_seconds`, `scimd_org_last_write_timestamp_seconds`
/// and `scimd_events_consumer_lag` current while the daemon serves metrics.
pub(super) async fn publish_gauges(
    store: Store,
    config: watch::Receiver<Arc<Config>>,
    tracker: Arc<Tracker>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(GAUGES_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut shown: HashSet<String> = HashSet::new();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
        }
        let (store, config, tracker) = (store.clone(), config.borrow().clone(), tracker.clone());
        let computed = tokio::task::spawn_blocking(move || {
            orgs(&store, &config, &tracker, OffsetDateTime::now_utc()).map(|(_, h)| h)
        })
        .await;
        let health = match computed {
            Ok(Ok(health)) => health,
            Ok(Err(err)) => {
                tracing::debug!(cause = %err, "cannot compute the org health gauges");
                continue;
            }
            Err(_) => continue,
        };
        let metrics = crate::metrics::get();
        let now: HashSet<String> = health.iter().map(|h| h.name.clone()).collect();
        // An org gone from the config takes its series with it.
        for gone in shown.difference(&now) {
            metrics.forget_org_health(gone);
        }
        for h in &health {
            let secs = |t: &str| {
                OffsetDateTime::parse(t, &Rfc3339)
                    .ok()
                    .map(|t| t.unix_timestamp())
            };
            metrics.org_health(
                &h.name,
                h.last_request.as_ref().and_then(|r| secs(&r.time)),
                h.last_write.as_deref().and_then(secs),
                h.events.consumers.iter().map(|c| c.lag).max(),
            );
        }
        shown = now;
    }
}
