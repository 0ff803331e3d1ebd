//! Prometheus metrics: one process-wide registry that the HTTP layer, the group-commit writer,
//! the reloader and the activity log update as they work, served as text at `GET /metrics`
//! on the `[metrics] listen` address, a listener of its own and never the SCIM port.
//!
//! Every label takes its values from a fixed set or from the configured org names, never from
//! what a client sent: an unauthenticated flood of made-up paths must not grow the registry.

use std::borrow::Cow;
use std::convert::Infallible;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

use crate::store::Store;

/// One answered request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    org: Cow<'static, str>,
    method: &'static str,
    resource: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    resource: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OrgLabels {
    org: Cow<'static, str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// One webhook endpoint: the org and the endpoint id (a digest of its configured URL).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HookLabels {
    org: String,
    endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HookResultLabels {
    org: String,
    endpoint: String,
    result: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Histograms<RouteLabels>,
    auth_failures: Family<OrgLabels, Counter>,
    batch_size: Histogram,
    commit_latency: Histogram,
    store_size: Gauge,
    connections: Gauge,
    reloads: Family<ResultLabels, Counter>,
    activity_persisted: Counter,
    activity_dropped: Counter,
    activity_backlog: Gauge,
    webhook_backlog: Family<HookLabels, Gauge>,
    webhook_attempts: Family<HookResultLabels, Counter>,
    org_last_request: Family<OrgLabels, Gauge>,
    org_last_write: Family<OrgLabels, Gauge>,
    consumer_lag: Family<OrgLabels, Gauge>,
}

/// Latency buckets from 50 us to about 13 s: a point read of the embedded store takes tens
/// of microseconds, a large Bulk request seconds.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 19))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics, created at first use.
pub fn get() -> &'static Metrics {
    &METRICS
}

/// The store's figures (group commits, the activity log), reported into these metrics: what
/// `serve` installs with [`crate::store::observe::install`].
pub struct StoreFigures;

impl crate::store::observe::Observer for StoreFigures {
    fn commit(&self, jobs: usize, took: Duration) {
        get().commit(jobs, took);
    }

    fn activity(&self, written: u64, dropped: u64, backlog: usize) {
        get().activity(written, dropped, backlog);
    }
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("scimd");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "Answered HTTP requests by org (\"-\" before authentication), method, resource and status",
            requests.clone(),
        );
        let latency: Histograms<RouteLabels> = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its answer, by method and resource",
            latency.clone(),
        );
        let auth_failures = Family::<OrgLabels, Counter>::default();
        registry.register(
            "auth_failures",
            "Requests refused with 401, by org (\"-\" for a name that is not configured)",
            auth_failures.clone(),
        );
        let batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 9));
        registry.register(
            "commit_batch_size",
            "Write requests per group-commit transaction",
            batch_size.clone(),
        );
        let commit_latency = latency_histogram();
        registry.register(
            "commit_duration_seconds",
            "Time one group-commit transaction took, from its first write to durable",
            commit_latency.clone(),
        );
        let store_size = Gauge::default();
        registry.register(
            "store_size_bytes",
            "Size of the redb store file (0 for PostgreSQL: ask the database)",
            store_size.clone(),
        );
        let connections = Gauge::default();
        registry.register(
            "open_connections",
            "Client connections open on the SCIM listener",
            connections.clone(),
        );
        let reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "config_reloads",
            "Config file reloads, by result (applied or rejected)",
            reloads.clone(),
        );
        let activity_persisted = Counter::default();
        registry.register(
            "activity_persisted",
            "Activity records written to the persisted activity log",
            activity_persisted.clone(),
        );
        let activity_dropped = Counter::default();
        registry.register(
            "activity_dropped",
            "Activity records never persisted because the log fell behind",
            activity_dropped.clone(),
        );
        let activity_backlog = Gauge::default();
        registry.register(
            "activity_backlog",
            "Activity records published but not yet persisted",
            activity_backlog.clone(),
        );
        let webhook_backlog = Family::<HookLabels, Gauge>::default();
        registry.register(
            "webhook_backlog",
            "Events of the org after a webhook endpoint's position, as its delivery task last saw",
            webhook_backlog.clone(),
        );
        let webhook_attempts = Family::<HookResultLabels, Counter>::default();
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts by org, endpoint and result (delivered, failed, given_up)",
            webhook_attempts.clone(),
        );
        // Per-org health, set every few seconds from `control::status`: what alerts on a silent
        // IdP or a stuck consumer look at.
        let org_last_request = Family::<OrgLabels, Gauge>::default();
        registry.register(
            "org_last_request_timestamp_seconds",
            "Unix time of the org's last SCIM request this daemon answered (401s included)",
            org_last_request.clone(),
        );
        let org_last_write = Family::<OrgLabels, Gauge>::default();
        registry.register(
            "org_last_write_timestamp_seconds",
            "Unix time of the org's last committed SCIM write, on any daemon sharing the store",
            org_last_write.clone(),
        );
        let consumer_lag = Family::<OrgLabels, Gauge>::default();
        registry.register(
            "events_consumer_lag",
            "Events of the org after the cursor of its furthest-behind events consumer",
            consumer_lag.clone(),
        );
        Metrics {
            registry,
            org_last_request,
            org_last_write,
            consumer_lag,
            requests,
            latency,
            auth_failures,
            batch_size,
            commit_latency,
            store_size,
            connections,
            reloads,
            activity_persisted,
            activity_dropped,
            activity_backlog,
            webhook_backlog,
            webhook_attempts,
        }
    }

    /// Counts one answered request. `org` is the configured org's name, or None when the
    /// path named none that exists; `resource` is from a fixed set (`api::route::Route::label`).
    pub fn request(
        &self,
        org: Option<&str>,
        method: &Method,
        resource: &'static str,
        status: u16,
        elapsed: Duration,
    ) {
        let method = method_label(method);
        let org = org.map_or(Cow::Borrowed("-"), |o| Cow::Owned(o.to_string()));
        self.requests
            .get_or_create(&RequestLabels {
                org,
                method,
                resource,
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { method, resource })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts one 401; `org` as for [`Metrics::request`].
    pub fn auth_failure(&self, org: Option<&str>) {
        let org = org.map_or(Cow::Borrowed("-"), |o| Cow::Owned(o.to_string()));
        self.auth_failures.get_or_create(&OrgLabels { org }).inc();
    }

    /// One group-commit transaction of `jobs` requests that took `elapsed`.
    pub fn commit(&self, jobs: usize, elapsed: Duration) {
        self.batch_size.observe(jobs as f64);
        self.commit_latency.observe(elapsed.as_secs_f64());
    }

    /// One config reload, applied or rejected.
    pub fn reload(&self, applied: bool) {
        let result = if applied { "applied" } else { "rejected" };
        self.reloads.get_or_create(&ResultLabels { result }).inc();
    }

    /// `n` activity records persisted, `dropped` lost to lag, `backlog` still queued.
    pub fn activity(&self, persisted: u64, dropped: u64, backlog: usize) {
        self.activity_persisted.inc_by(persisted);
        self.activity_dropped.inc_by(dropped);
        self.activity_backlog.set(backlog as i64);
    }

    /// How far endpoint `endpoint` of `org` is behind the org's newest event.
    pub fn webhook_backlog(&self, org: &str, endpoint: &str, backlog: u64) {
        let labels = HookLabels {
            org: org.to_string(),
            endpoint: endpoint.to_string(),
        };
        self.webhook_backlog
            .get_or_create(&labels)
            .set(i64::try_from(backlog).unwrap_or(i64::MAX));
    }

    /// One delivery attempt's result: `delivered`, `failed` (to be retried) or `given_up`.
    pub fn webhook_attempt(&self, org: &str, endpoint: &str, result: &'static str) {
        let labels = HookResultLabels {
            org: org.to_string(),
            endpoint: endpoint.to_string(),
            result,
        };
        self.webhook_attempts.get_or_create(&labels).inc();
    }

    /// `org`'s health gauges; a None leaves that series out (no request, write or consumer
    /// yet), rather than a 0 an alert would read as 1970.
    pub fn org_health(
        &self,
        org: &str,
        last_request: Option<i64>,
        last_write: Option<i64>,
        worst_lag: Option<u64>,
    ) {
        let labels = OrgLabels {
            org: Cow::Owned(org.to_string()),
        };
        let lag = worst_lag.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
        for (family, value) in [
            (&self.org_last_request, last_request),
            (&self.org_last_write, last_write),
            (&self.consumer_lag, lag),
        ] {
            match value {
                Some(v) => {
                    family.get_or_create(&labels).set(v);
                }
                None => {
                    family.remove(&labels);
                }
            }
        }
    }

    /// Drops the health series of an org no longer configured.
    pub fn forget_org_health(&self, org: &str) {
        let labels = OrgLabels {
            org: Cow::Owned(org.to_string()),
        };
        for family in [
            &self.org_last_request,
            &self.org_last_write,
            &self.consumer_lag,
        ] {
            family.remove(&labels);
        }
    }

    /// The registry as Prometheus (OpenMetrics) text, with the gauges read at scrape time.
    pub fn render(&self, scrape: &Scrape) -> String {
        self.connections.set((scrape.open_connections)() as i64);
        self.store_size
            .set(scrape.store.size_bytes().unwrap_or(0) as i64);
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

pub(crate) fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// What a scrape reads besides the registry.
pub struct Scrape {
    /// How many client connections are open now (the HTTP edge's count: metrics does not reach
    /// up into the edge).
    pub open_connections: Box<dyn Fn() -> usize + Send + Sync>,
    pub store: Store,
}

/// The most scrapes served at once: Prometheus sends one at a time; more is someone else.
const MAX_SCRAPERS: usize = 8;
/// A scrape's request must arrive within this, and the connection closes after it.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `GET /metrics` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    scrape: Arc<Scrape>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_SCRAPERS));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    continue;
                };
                let scrape = scrape.clone();
                tokio::spawn(async move {
                    let _slot = slot;
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let scrape = scrape.clone();
                        async move { Ok::<_, Infallible>(answer(&req, &scrape)) }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .keep_alive(false)
                        .serve_connection(TokioIo::new(stream), svc);
                    let _ = tokio::time::timeout(SCRAPE_TIMEOUT, conn).await;
                });
            }
            () = &mut shutdown => return,
        }
    }
}

fn answer(req: &Request<Incoming>, scrape: &Scrape) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match (req.method(), req.uri().path()) {
        (&Method::GET | &Method::HEAD, "/metrics") => (
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            get().render(scrape),
        ),
        (_, "/metrics") => (
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "use GET /metrics\n".to_string(),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "metrics are at /metrics\n".to_string(),
        ),
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
