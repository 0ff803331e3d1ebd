//! The in-process activity bus: every SCIM write (and its failure) becomes an event that the
//! dashboard and the activity log consume. A change's record is already in the store (written
//! in the change's own transaction) and goes out on its own channel ([`Bus::publish_stored`]);
//! refusals and the rest still need writing and may be dropped under a flood
//! ([`Bus::publish`]). It also counts every answered request, in total and per org
//! ([`crate::org_health`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::broadcast;

use crate::org_health::Tracker;

pub use scimd_core::wire::ActivityRecord as Activity;

/// Sender side of the bus; cheap to clone. Sending never blocks: a subscriber that falls
/// behind loses the oldest events and is told how many.
#[derive(Clone)]
pub struct Bus {
    tx: broadcast::Sender<Activity>,
    stored: broadcast::Sender<Activity>,
    counters: Arc<Counters>,
    health: Arc<Tracker>,
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
        let (stored, _) = broadcast::channel(capacity);
        Bus {
            tx,
            stored,
            counters: Arc::default(),
            health: Arc::default(),
        }
    }
    /// Counts one answered HTTP request; statuses of 500 and up count as errors, and so do
    /// 4xx answers, since for an IdP they are failed provisioning calls. A SCIM request of a
    /// configured org (`org`, as the config names it; None for every other request, events
    /// polls included, which are counted per consumer) also counts in that org's health, under
    /// `resource` (`api::route::Route::label`).
    pub fn count_request(
        &self,
        org: Option<&str>,
        method: &hyper::Method,
        resource: &'static str,
        status: u16,
    ) {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        if status >= 400 {
            self.counters.errors.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(org) = org {
            self.health.request(
                org,
                crate::metrics::method_label(method),
                resource,
                status,
                time::OffsetDateTime::now_utc(),
            );
        }
    }
    /// Counts a poll of `org`'s events by a consumer presenting `token` (already accepted),
    /// after event number `after` (None: from the oldest kept, so nothing consumed yet).
    pub fn consumer_poll(&self, org: &str, token: &str, after: Option<u64>) {
        let label = crate::org_health::token_label(token);
        let now = time::OffsetDateTime::now_utc();
        self.health.poll(org, label, after.unwrap_or(0), now);
    }
    /// Every org's health, as counted so far.
    pub fn health(&self) -> &Arc<Tracker> {
        &self.health
    }
    /// (requests, errors) since start.
    pub fn totals(&self) -> (u64, u64) {
        (
            self.counters.requests.load(Ordering::Relaxed),
            self.counters.errors.load(Ordering::Relaxed),
        )
    }
    /// Publishes an event for the activity log to write (dropped when nobody listens). Every
    /// string is cut to a short bound first: records are kept, and many of their strings come
    /// from clients.
    pub fn publish(&self, mut event: Activity) {
        bound(&mut event);
        tracing::debug!(org = %event.org, summary = %event.summary, status = event.status, "activity");
        let _ = self.tx.send(event);
    }
    /// Publishes the record of a change that the store wrote in the change's own transaction
    /// (made by [`Bus::bounded`]), for live viewers only.
    pub fn publish_stored(&self, event: Activity) {
        tracing::debug!(org = %event.org, summary = %event.summary, status = event.status, "activity");
        let _ = self.stored.send(event);
    }
    /// `event` with every string cut to its bound, as the store must keep it.
    pub fn bounded(mut event: Activity) -> Activity {
        bound(&mut event);
        event
    }
    /// A new subscriber that sees events to be written, published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Activity> {
        self.tx.subscribe()
    }
    /// A new subscriber that sees the records of changes the store has written, from now on.
    pub fn subscribe_stored(&self) -> broadcast::Receiver<Activity> {
        self.stored.subscribe()
    }
}

/// The longest org, client, method and resource strings a record keeps, in characters.
const SHORT: usize = 64;
/// The longest id and name a record keeps.
const NAME: usize = 256;
/// The longest summary a record keeps.
const SUMMARY: usize = 512;

/// `s` cut to at most `max` characters, marked with an ellipsis when cut.
pub fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((i, _)) => {
            let mut out = s[..i].to_string();
            out.push('…');
            out
        }
    }
}

fn clip_in_place(s: &mut String, max: usize) {
    if s.len() > max {
        *s = clip(s, max);
    }
}

/// Cuts every string of a record to its bound.
fn bound(event: &mut Activity) {
    for (s, max) in [
        (&mut event.org, SHORT),
        (&mut event.client, SHORT),
        (&mut event.method, SHORT),
        (&mut event.resource, SHORT),
        (&mut event.summary, SUMMARY),
    ] {
        clip_in_place(s, max);
    }
    for s in [&mut event.id, &mut event.name, &mut event.scim_type]
        .into_iter()
        .flatten()
    {
        clip_in_place(s, NAME);
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
        .unwrap_or_else(|| clip(ua, SHORT))
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

    #[test]
    fn published_records_are_bounded() {
        let bus = super::Bus::new(4);
        let mut rx = bus.subscribe();
        let huge = "x".repeat(60_000);
        bus.publish(super::Activity {
            seq: 0,
            time: String::new(),
            org: huge.clone(),
            client: client_name(Some(&huge)),
            method: "GET".into(),
            resource: "auth".into(),
            id: Some(huge.clone()),
            name: Some("é".repeat(10_000)),
            summary: huge,
            status: 401,
            scim_type: None,
            latency_us: 0,
        });
        let got = rx.try_recv().unwrap();
        assert!(got.org.chars().count() <= 65);
        assert!(got.client.chars().count() <= 65);
        assert!(got.id.unwrap().chars().count() <= 257);
        assert!(got.name.unwrap().chars().count() <= 257);
        assert!(got.summary.chars().count() <= 513);
    }
}
