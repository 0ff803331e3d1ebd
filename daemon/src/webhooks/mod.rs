//! Webhook delivery: a supervisor that keeps one delivery task per configured endpoint
//! (`[[orgs.NAME.webhooks]]`), started, updated and stopped as the config reloads, and the
//! pieces those tasks use: the signed POST (`client.rs`), the retry schedule (`backoff.rs`)
//! and the delivery loop itself (`worker.rs`); and `scimd webhook test` (`ping.rs`).
//!
//! Endpoints are keyed by org and endpoint id (a digest of the URL), the key of their durable
//! position in the store: editing an endpoint's secret or filter keeps its place in the feed,
//! while a new URL is a new endpoint that starts after the org's newest event.
//!
//! Logs, the dashboard, metrics and `scimd webhook test` name an endpoint by its id and host,
//! never its URL: a receiver's token often rides in the URL's path or query.

pub mod backoff;
pub mod client;
pub mod ping;
pub mod sign;
mod worker;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use scimd_config::{Config, OrgConfig, WebhookSecret};
use scimd_core::wire::WebhookSummary;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::store::hooks::{HookState, Lease};
use crate::store::{Store, StoreError};
use client::Target;

/// One endpoint as its delivery task sees it.
#[derive(Debug)]
pub struct Endpoint {
    /// The org's canonical name: the store's key and the events' `org`.
    pub org: String,
    /// The endpoint id, the key of its delivery state, and with the host (`target.host`) the
    /// endpoint's name wherever one is shown. The URL is not kept: only the target's parts.
    pub id: String,
    pub secret: WebhookSecret,
    /// The event types it receives; None for all.
    pub events: Option<Vec<String>>,
    pub target: Target,
    /// How long one event is retried before it is marked failed.
    pub retry_for: Duration,
    /// The org's SCIM base URL, for the events' `meta.location`.
    pub base: String,
}

impl Endpoint {
    /// Whether the endpoint receives events of `kind`.
    pub fn wants(&self, kind: &str) -> bool {
        self.events
            .as_ref()
            .is_none_or(|list| list.iter().any(|k| k == kind))
    }
}

/// How the daemon's own address is written in URLs, for orgs' base URLs without a
/// `public_url`.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub scheme: &'static str,
    pub addr: SocketAddr,
}

/// The endpoints `config` asks for, by (org, endpoint id). A disabled org's endpoints wait
/// until it is enabled again, keeping their place.
pub fn endpoints(config: &Config, origin: Origin) -> HashMap<(String, String), Endpoint> {
    let mut out = HashMap::new();
    for org in config.orgs.values().filter(|o| o.enabled) {
        for hook in &org.webhooks {
            let ep = Endpoint {
                org: org.name.clone(),
                id: hook.id(),
                secret: hook.secret.clone(),
                events: hook.events.clone(),
                target: Target {
                    host: hook.host().to_string(),
                    port: hook.port(),
                    https: hook.is_https(),
                    path_and_query: hook.path_and_query().to_string(),
                    connect_timeout: config.webhooks.connect_timeout,
                    timeout: config.webhooks.timeout,
                },
                retry_for: config.webhooks.retry_for,
                base: crate::site::base_url(
                    config,
                    origin.scheme,
                    &origin.addr.to_string(),
                    &org.name,
                ),
            };
            out.insert((ep.org.clone(), ep.id.clone()), ep);
        }
    }
    out
}

/// The Standard Webhooks headers of one attempt to send `body` as message `id`: the id, the
/// attempt's time, and the signature over both and the body.
pub fn signed_headers(
    secret: &WebhookSecret,
    id: &str,
    body: &[u8],
) -> [(&'static str, String); 3] {
    let ts = time::OffsetDateTime::now_utc().unix_timestamp();
    [
        ("webhook-id", id.to_string()),
        ("webhook-timestamp", ts.to_string()),
        ("webhook-signature", sign::sign(secret, id, ts, body)),
    ]
}

struct Running {
    config: watch::Sender<Arc<Endpoint>>,
    task: JoinHandle<()>,
}

/// The running delivery; [`Webhooks::stop`] ends it.
pub struct Webhooks {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Starts delivery for the endpoints of `config`, following its reloads. Each endpoint's
/// position exists in the store when this returns, so an event committed after the daemon
/// starts serving reaches every endpoint configured at start.
pub async fn start(
    store: Store,
    mut config: watch::Receiver<Arc<Config>>,
    origin: Origin,
) -> Webhooks {
    let owner = uuid::Uuid::new_v4().to_string();
    let lease = Lease {
        owner,
        ttl: worker::LEASE_TTL,
    };
    let wanted = endpoints(&config.borrow_and_update(), origin);
    for key in wanted.keys() {
        let (store, lease, (org, id)) = (store.clone(), lease.clone(), key.clone());
        let claimed =
            tokio::task::spawn_blocking(move || store.hook_claim(&org, &id, &lease)).await;
        if let Ok(Err(cause)) = claimed {
            tracing::warn!(org = %key.0, %cause, "cannot read a webhook's delivery state");
        }
    }
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut running: HashMap<(String, String), Running> = HashMap::new();
        let mut wanted = wanted;
        loop {
            running.retain(|key, r| {
                let keep = wanted.contains_key(key) && !r.task.is_finished();
                if !keep {
                    tracing::info!(org = %key.0, endpoint = %key.1, "webhook delivery stopped");
                }
                keep
            });
            for (key, ep) in wanted.drain() {
                let ep = Arc::new(ep);
                if let Some(r) = running.get(&key) {
                    r.config.send_replace(ep);
                    continue;
                }
                // The position of an endpoint added by a reload exists before it is said to
                // have started, as at start: an event committed after this line reaches it.
                let (s, l, (org, id)) = (store.clone(), lease.clone(), key.clone());
                let claimed =
                    tokio::task::spawn_blocking(move || s.hook_claim(&org, &id, &l)).await;
                if let Ok(Err(cause)) = claimed {
                    tracing::warn!(org = %key.0, %cause, "cannot read a webhook's delivery state");
                }
                tracing::info!(org = %ep.org, endpoint = %ep.id, host = %ep.target.host, "webhook delivery started");
                let (tx, rx) = watch::channel(ep.clone());
                let w = worker::Worker {
                    store: store.clone(),
                    lease: lease.clone(),
                    wake: store.feed().subscribe(&ep.org),
                    endpoint: rx,
                    stop: stopped.clone(),
                    conn: client::Conn::default(),
                };
                running.insert(
                    key,
                    Running {
                        config: tx,
                        task: tokio::spawn(w.run()),
                    },
                );
            }
            let mut stopping = stopped.clone();
            tokio::select! {
                changed = config.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                _ = stopping.changed() => break,
            }
            wanted = endpoints(&config.borrow_and_update(), origin);
        }
        // Every task sees the stop and saves where it got to.
        for (_, r) in running {
            let _ = r.task.await;
        }
    });
    Webhooks { stop, task }
}

impl Webhooks {
    /// Stops every delivery task, each saving its position first. An event in flight is
    /// abandoned, and sent again after a restart.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

fn rfc3339(ms: Option<i64>) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms?) * 1_000_000).ok()?;
    t.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// Where each endpoint of `org` stands, for the dashboard; an endpoint that has not started
/// yet shows nothing delivered and nothing behind. Blocks: a store read.
pub fn summaries(store: &Store, org: &OrgConfig) -> Result<Vec<WebhookSummary>, StoreError> {
    if org.webhooks.is_empty() {
        return Ok(Vec::new());
    }
    let states: HashMap<String, _> = store.hook_states(&org.name)?.into_iter().collect();
    let last = store.events(&org.name, None, 0)?.last;
    Ok(org
        .webhooks
        .iter()
        .map(|hook| {
            // An endpoint without a state yet will start after the newest event.
            let state = states.get(&hook.id()).cloned().unwrap_or(HookState {
                delivered: last,
                ..HookState::default()
            });
            let delivered = state.delivered;
            WebhookSummary {
                endpoint: hook.id(),
                host: hook.host().to_string(),
                delivered,
                backlog: last.saturating_sub(delivered),
                failed: state.failed,
                attempts: state.attempts,
                last_error: state.last_error.clone(),
                next_retry: rfc3339(state.next_attempt),
                last_success: rfc3339(state.last_success),
            }
        })
        .collect())
}
