//! The background task that keeps each org's change feed within `[events]` retention: every
//! few seconds, each configured org's events past `max_records` or `max_age_days` go, oldest
//! first, in bounded transactions (see the backends' `prune_events`).

use std::sync::Arc;
use std::time::Duration;

use scimd_config::Config;
use tokio::sync::watch;

use crate::store::events::EventRetention;
use crate::store::Store;

/// How often the feed is checked. A check that finds nothing to prune is a read.
const EVERY: Duration = Duration::from_secs(5);

/// Prunes until `stop` fires. Retention is read from the live config, so a reload applies at
/// the next round.
pub async fn run(
    store: Store,
    config: watch::Receiver<Arc<Config>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let (keep, orgs) = {
            let c = config.borrow();
            let keep = EventRetention {
                max_records: c.events.max_records,
                max_age: c.events.max_age,
            };
            let orgs: Vec<String> = c
                .orgs
                .values()
                .map(|o| o.name.to_ascii_lowercase())
                .collect();
            (keep, orgs)
        };
        let store = store.clone();
        let round = tokio::task::spawn_blocking(move || {
            let now = time::OffsetDateTime::now_utc();
            for org in orgs {
                match store.prune_events(&org, &keep, now) {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(org = %org, removed = n, "pruned the change feed"),
                    Err(err) => {
                        tracing::warn!(org = %org, cause = %err, "cannot prune the change feed")
                    }
                }
            }
        });
        let _ = round.await;
    }
}
