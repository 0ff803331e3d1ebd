//! The in-process activity bus: every SCIM write (and its failure) becomes an event that the
//! dashboard and the activity log consume.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::broadcast;

pub use scimd_core::wire::ActivityRecord as Activity;

/// Sender side of the bus; cheap to clone. Sending never blocks: a subscriber that falls
/// behind loses the oldest events and is told how many.
#[derive(Clone)]
pub struct Bus {
    tx: broadcast::Sender<Activity>,
    counters: Arc<Counters>,
}

/// Request totals since start, for the dashboard's rate and error figures.
#[derive(Debug, Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub errors: AtomicU64,
}

impl Bus {
    /// A bus that buffers `capacity` events per subscriber.
    pub fn new(capacity: usize) -> Bus {
        let (tx, _) = broadcast::channel(capacity);
        Bus {
            tx,
            counters: Arc::default(),
        }
    }
    /// Counts one answered HTTP request; statuses of 500 and up count as errors, and so do
    /// 4xx answers, since for an IdP they are failed provisioning calls.
    pub fn count_request(&self, status: u16) {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        if status >= 400 {
            self.counters.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
    /// (requests, errors) since start.
    pub fn totals(&self) -> (u64, u64) {
        (
            self.counters.requests.load(Ordering::Relaxed),
            self.counters.errors.load(Ordering::Relaxed),
        )
    }
    /// Publishes an event (dropped when nobody listens).
    pub fn publish(&self, event: Activity) {
        tracing::debug!(org = %event.org, summary = %event.summary, status = event.status, "activity");
        let _ = self.tx.send(event);
    }
    /// A new subscriber that sees events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Activity> {
        self.tx.subscribe()
    }
}

/// The client's name from its User-Agent header.
pub fn client_name(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent else {
        return "unknown".into();
    };
    let lower = ua.to_ascii_lowercase();
    let known = [
        ("okta", "Okta"),
        ("azure", "Entra ID"),
        ("microsoft", "Entra ID"),
        ("authentik", "authentik"),
        ("onelogin", "OneLogin"),
    ];
    known
        .iter()
        .find(|(needle, _)| lower.contains(needle))
        .map(|(_, name)| (*name).to_string())
        .unwrap_or_else(|| ua.chars().take(64).collect())
}

#[cfg(test)]
mod tests {
    use super::client_name;

    #[test]
    fn recognises_idps() {
        assert_eq!(client_name(Some("Okta SCIM Client 1.0.0")), "Okta");
        assert_eq!(
            client_name(Some("Azure Active Directory SCIM Client")),
            "Entra ID"
        );
        assert_eq!(client_name(Some("goauthentik.io/2024.2")), "authentik");
        assert_eq!(client_name(Some("curl/8.0")), "curl/8.0");
        assert_eq!(client_name(None), "unknown");
    }
}
