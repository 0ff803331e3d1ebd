//! `GET /healthz`: a fixed word for anyone who asks, never the fault's text (which can name
//! files or quote PostgreSQL), and that text in the log instead, once per change of health
//! rather than once per probe.

use std::sync::Mutex;

use crate::api::Reply;
use crate::store::{Health, Store};

/// The one mapping of the store's health to what `/healthz` says: the status code, the word,
/// and the reason that only the log gets.
fn describe(health: &Health) -> (u16, &'static str, Option<&str>) {
    match health {
        Health::Ok => (200, "ok", None),
        Health::Recovering { reason, .. } => (503, "recovering", Some(reason)),
        Health::Failed(reason) => (503, "unavailable", Some(reason)),
        Health::Degraded(reason) => (503, "degraded", Some(reason)),
    }
}

/// The health last logged, so each change is logged once.
#[derive(Debug)]
pub(super) struct HealthLog {
    last: Mutex<Health>,
}

impl Default for HealthLog {
    fn default() -> HealthLog {
        // The store opened before the first request, so it starts healthy.
        HealthLog {
            last: Mutex::new(Health::Ok),
        }
    }
}

impl HealthLog {
    /// Logs `now` when it differs from the health last seen: a fault with its reason at warn,
    /// the return to health at info. Called on each probe and on a timer, so a change nobody
    /// probes is still logged.
    pub(super) fn observe(&self, now: &Health) {
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if *last == *now {
            return;
        }
        match describe(now) {
            (_, word, Some(reason)) => {
                let disk_full = matches!(
                    now,
                    Health::Recovering {
                        disk_full: true,
                        ..
                    }
                );
                tracing::warn!(status = word, %reason, disk_full, "store health changed");
            }
            (_, word, None) => tracing::info!(status = word, "store health changed"),
        }
        *last = now.clone();
    }
}

/// The `/healthz` answer: 200 `{"status": "ok"}` while the store can serve, else 503 with the
/// word alone.
pub(super) fn reply(store: &Store, log: &HealthLog) -> Reply {
    let health = store.health();
    log.observe(&health);
    let (status, word, _) = describe(&health);
    Reply {
        status,
        body: Some(serde_json::json!({ "status": word })),
        etag: None,
        location: None,
        allow: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_never_carries_the_reason() {
        let secret = "/var/lib/scimd/scimd.redb: Input/output error";
        for h in [
            Health::Recovering {
                reason: secret.into(),
                disk_full: false,
            },
            Health::Failed(secret.into()),
        ] {
            let (status, word, reason) = describe(&h);
            assert_eq!(status, 503);
            assert!(!word.contains("scimd.redb"));
            assert_eq!(reason, Some(secret));
        }
        assert_eq!(describe(&Health::Ok), (200, "ok", None));
    }

    #[test]
    fn only_a_change_is_remembered() {
        let log = HealthLog::default();
        let bad = Health::Failed("gone".into());
        log.observe(&bad);
        assert_eq!(*log.last.lock().unwrap(), bad);
        log.observe(&Health::Ok);
        assert_eq!(*log.last.lock().unwrap(), Health::Ok);
    }
}
