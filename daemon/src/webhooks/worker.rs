//! One endpoint's delivery loop: hold its lease, read the org's events after the durable
//! position, send them one at a time in order, retry the one that fails with backoff until
//! the retry time runs out, and save the position as it moves.
//!
//! Each endpoint has its own task and connection, and store calls run on the blocking pool,
//! so a slow or dead endpoint holds up nothing but itself.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::backoff;
use super::client::Conn;
use super::Endpoint;
use crate::store::events::Event;
use crate::store::hooks::{HookState, Lease};
use crate::store::{Store, StoreError};

/// How many events one read of the feed brings.
const BATCH: usize = 100;
/// A lease runs this long without renewal; another daemon takes the endpoint over after.
pub const LEASE_TTL: Duration = Duration::from_secs(30);
/// How often a held lease is renewed, and how often a daemon without it asks again.
const RENEW: Duration = Duration::from_secs(10);
/// Progress is saved (durably, with the store's next group commit) at least this often while
/// events flow.
const SAVE_EVERY: Duration = Duration::from_millis(250);
/// The pause after a store error, before trying again.
const STORE_RETRY: Duration = Duration::from_secs(1);

/// Why the delivery loop ended.
enum Exit {
    Stop,
    LeaseLost,
}

pub(super) struct Worker {
    pub(super) store: Store,
    pub(super) lease: Lease,
    pub(super) endpoint: watch::Receiver<Arc<Endpoint>>,
    pub(super) stop: watch::Receiver<bool>,
    pub(super) wake: Option<watch::Receiver<u64>>,
    pub(super) conn: Conn,
}

fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

impl Worker {
    fn ep(&self) -> Arc<Endpoint> {
        self.endpoint.borrow().clone()
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
            || self.stop.has_changed().is_err()
            || self.endpoint.has_changed().is_err()
    }

    /// Waits up to `d`, or less when the feed of the org moves (with `woken`), the endpoint's
    /// config changes, or the daemon stops.
    async fn pause(&mut self, d: Duration, woken: bool) {
        let wake = async {
            match (&mut self.wake, woken) {
                (Some(rx), true) => {
                    if rx.changed().await.is_err() {
                        std::future::pending::<()>().await
                    }
                }
                _ => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = wake => {}
            _ = self.stop.changed() => {}
            _ = self.endpoint.changed() => {}
        }
    }

    pub(super) async fn run(mut self) {
        loop {
            let state = loop {
                if self.stopping() {
                    return;
                }
                let ep = self.ep();
                let (store, lease) = (self.store.clone(), self.lease.clone());
                match blocking(move || store.hook_claim(&ep.org, &ep.id, &lease)).await {
                    Ok(Some(s)) => break s,
                    Ok(None) => {}
                    Err(cause) => {
                        let ep = self.ep();
                        tracing::warn!(org = %ep.org, endpoint = %ep.id, host = %ep.target.host, %cause, "cannot read the webhook's delivery state");
                    }
                }
                self.pause(RENEW, false).await;
            };
            match self.deliver(state).await {
                Exit::Stop => return,
                Exit::LeaseLost => {
                    let ep = self.ep();
                    tracing::info!(org = %ep.org, endpoint = %ep.id, host = %ep.target.host, "another daemon delivers to this webhook now");
                }
            }
        }
    }

    async fn save(&mut self, state: &HookState) -> Result<bool, String> {
        let ep = self.ep();
        let (store, lease, state) = (self.store.clone(), self.lease.clone(), state.clone());
        blocking(move || store.hook_save(&ep.org, &ep.id, &lease, &state)).await
    }

    async fn deliver(&mut self, mut state: HookState) -> Exit {
        let shared = self.store.capabilities().shared;
        let mut buffer: VecDeque<Event> = VecDeque::new();
        let mut dirty = false;
        // Set when a save should not wait for SAVE_EVERY (a failure, for the dashboard and a
        // restart to see, and going idle).
        let mut save_now = false;
        let mut last_save = Instant::now();
        let mut renew_at = Instant::now() + RENEW;
        loop {
            if self.stopping() {
                if dirty {
                    let _ = self.save(&state).await;
                }
                let ep = self.ep();
                let (store, lease) = (self.store.clone(), self.lease.clone());
                let _ = blocking(move || store.hook_release(&ep.org, &ep.id, &lease)).await;
                return Exit::Stop;
            }
            let due_save = dirty && (save_now || last_save.elapsed() >= SAVE_EVERY);
            if due_save || (shared && Instant::now() >= renew_at) {
                match self.save(&state).await {
                    Ok(true) => {}
                    Ok(false) => return Exit::LeaseLost,
                    Err(cause) => {
                        tracing::warn!(%cause, "cannot save a webhook's delivery state");
                        self.pause(STORE_RETRY, false).await;
                        continue;
                    }
                }
                (dirty, save_now) = (false, false);
                last_save = Instant::now();
                renew_at = Instant::now() + RENEW;
            }
            let ep = self.ep();
            let Some(event) = buffer.front().cloned() else {
                // Marked seen before the read: a commit after it wakes the wait below.
                if let Some(rx) = &mut self.wake {
                    rx.borrow_and_update();
                }
                let (store, org, after) = (self.store.clone(), ep.org.clone(), state.delivered);
                let page = match blocking(move || store.events(&org, Some(after), BATCH)).await {
                    Ok(p) => p,
                    Err(cause) => {
                        tracing::warn!(org = %ep.org, %cause, "cannot read the change feed for a webhook");
                        self.pause(STORE_RETRY, false).await;
                        continue;
                    }
                };
                if page.pruned > state.delivered {
                    let lost = page.pruned - state.delivered;
                    tracing::warn!(org = %ep.org, endpoint = %ep.id, host = %ep.target.host, lost, "events were removed by retention before this webhook got them");
                    state.failed += lost;
                    state.delivered = page.pruned;
                    state.last_error = Some(format!(
                        "{lost} events were removed by retention before they could be sent"
                    ));
                    dirty = true;
                    continue;
                }
                if state.delivered > page.last {
                    // The store holds fewer events than this position (a restored backup):
                    // follow the store.
                    state.delivered = page.last;
                    dirty = true;
                    continue;
                }
                crate::metrics::get().webhook_backlog(
                    &ep.org,
                    &ep.id,
                    page.last.saturating_sub(state.delivered),
                );
                if page.events.is_empty() {
                    if dirty {
                        // Idle: save the position now rather than at the next write.
                        save_now = true;
                        continue;
                    }
                    // Other daemons' commits wake this worker through the feed; it reads
                    // on its own only as often as the feed asks (a lost listener).
                    let idle = self
                        .store
                        .feed()
                        .poll_every()
                        .map_or(RENEW, |p| p.min(RENEW));
                    self.pause(
                        idle.min(renew_at.saturating_duration_since(Instant::now())),
                        true,
                    )
                    .await;
                    continue;
                }
                buffer.extend(page.events);
                continue;
            };
            if !ep.wants(&event.kind) {
                buffer.pop_front();
                state.delivered = event.seq;
                dirty = true;
                continue;
            }
            if let Some(next) = state.next_attempt {
                let wait = next - now_ms();
                if wait > 0 {
                    let until_renew = renew_at.saturating_duration_since(Instant::now());
                    let d = Duration::from_millis(wait as u64);
                    let changed = self.endpoint.clone();
                    self.pause(if shared { d.min(until_renew) } else { d }, false)
                        .await;
                    if changed.has_changed().unwrap_or(false) {
                        // A reloaded endpoint (a fixed URL or secret) is tried at once.
                        state.next_attempt = None;
                    }
                    continue;
                }
            }
            let sent = self.send(&ep, &event).await;
            let Some(sent) = sent else {
                continue; // stopping: the event is sent again after the restart
            };
            let now = now_ms();
            match sent {
                Ok(()) => {
                    crate::metrics::get().webhook_attempt(&ep.org, &ep.id, "delivered");
                    buffer.pop_front();
                    if state.attempts > 0 {
                        tracing::info!(org = %ep.org, endpoint = %ep.id, host = %ep.target.host, seq = event.seq, attempts = state.attempts + 1, "webhook delivered after retries");
                    }
                    backoff::succeeded(&mut state, event.seq, now);
                    dirty = true;
                }
                Err(cause) => {
                    let first = state.attempts == 0;
                    let jitter = rand::random::<f64>();
                    let given_up = backoff::failed(
                        &mut state,
                        event.seq,
                        now,
                        ep.retry_for,
                        cause.clone(),
                        jitter,
                    );
                    let result = if given_up { "given_up" } else { "failed" };
                    crate::metrics::get().webhook_attempt(&ep.org, &ep.id, result);
                    if given_up {
                        tracing::warn!(org = %ep.org, endpoint = %ep.id, host = %ep.target.host, seq = event.seq, %cause, "webhook delivery failed for good; moving on");
                        buffer.pop_front();
                    } else if first {
                        tracing::warn!(org = %ep.org, endpoint = %ep.id, host = %ep.target.host, seq = event.seq, %cause, "webhook delivery failed; retrying with backoff");
                    }
                    // Saved at once, so the dashboard and a restart see the failure.
                    (dirty, save_now) = (true, true);
                }
            }
        }
    }

    /// One attempt; None when the daemon began stopping meanwhile.
    async fn send(&mut self, ep: &Endpoint, event: &Event) -> Option<Result<(), String>> {
        let body = serde_json::to_vec(&crate::api::events::event_json(
            &ep.org,
            &ep.base,
            event.clone(),
        ))
        .unwrap_or_default();
        let headers = super::signed_headers(&ep.secret, &event.id, &body);
        let mut stop = self.stop.clone();
        tokio::select! {
            r = self.conn.post(&ep.target, &headers, Bytes::from(body)) => Some(r.map(|_| ()).map_err(|e| e.to_string())),
            _ = stop.changed() => None,
        }
    }
}
