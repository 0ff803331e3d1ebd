//! The HTTP edge: accepts connections under a cap and per-connection deadlines, authenticates,
//! rate-limits, reads bounded bodies within a deadline, hands requests to the API handlers (on
//! the blocking pool; an embedded store's point reads inline, and what a networked store reads
//! in one statement, awaited first, inline), and renders their replies and
//! errors: [`error_response`] is the one place a `ScimError` becomes an HTTP response (a Bulk
//! reply carries its operations' statuses in its body; `/healthz` maps the store's health).
//! The events API (`events.rs`) shares the edge: its errors are rendered here too. Nothing a
//! client without a valid token causes is logged per request at the default level: such
//! refusals are counted (`auth_failures.rs`) and published a few times a minute at most.

mod accept;
mod auth;
mod auth_failures;
pub mod conn;
mod events;
mod gate;
mod health;
mod rate;
mod snapshot;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use scimd_config::Config;
use scimd_core::resource::{Limits, UserNames};
use scimd_core::ScimError;
use tokio::sync::watch;

use crate::activity::{client_name, Bus};
use crate::api::route::{Api, Route, ScimPath};
use crate::api::{self, Context, Reply};
use crate::store::{Store, Unknown};
use auth::Scope;
use auth_failures::{AuthFailures, Kind};
use conn::Gate;
use health::HealthLog;
use rate::RateLimiter;

pub use accept::serve;

/// The most resources an index lookup reads ahead on the async runtime (a filter by
/// `externalId` or email may find thousands; past this many they are streamed instead).
const LOOKUP_AHEAD_MOST: usize = 100;

/// The largest request body accepted: the API advertises it (Bulk `maxPayloadSize`).
pub use crate::api::MAX_BODY;
/// The largest request head (request line and headers) hyper buffers.
const MAX_HEAD: usize = 64 << 10;
const SCIM_JSON: &str = "application/scim+json; charset=utf-8";

/// What every request needs; shared by all connections.
pub struct AppState {
    pub config: watch::Receiver<Arc<Config>>,
    pub store: Store,
    pub bus: Bus,
    /// `http` or `https`, for base URLs derived from the Host header.
    pub scheme: &'static str,
    /// Open connections, against `limits.max_connections` and `max_connections_per_ip`.
    pub gate: Arc<Gate>,
    auth_failures: AuthFailures,
    health_log: HealthLog,
    rates: RateLimiter,
    pages: Arc<api::pages::PageEnds>,
    /// The snapshots streaming now (`snapshot.rs`).
    snapshots: snapshot::Slots,
}

/// Every response body: whole, or a snapshot's stream of chunks.
pub type Body = http_body_util::Either<Full<Bytes>, snapshot::ChunkBody>;

impl AppState {
    pub fn new(
        config: watch::Receiver<Arc<Config>>,
        store: Store,
        bus: Bus,
        scheme: &'static str,
    ) -> AppState {
        AppState {
            config,
            store,
            bus,
            scheme,
            gate: Arc::default(),
            auth_failures: AuthFailures::default(),
            health_log: HealthLog::default(),
            rates: RateLimiter::default(),
            pages: Arc::default(),
            snapshots: snapshot::Slots::default(),
        }
    }
}

/// Renders a reply.
fn reply_response(reply: Reply) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let body = reply.body.map(|b| {
        // Sized for a user, so most answers are written without growing the buffer.
        let mut buf = Vec::with_capacity(1024);
        let _ = serde_json::to_writer(&mut buf, &b);
        Bytes::from(buf)
    });
    let mut resp = Response::new(Full::new(body.clone().unwrap_or_default()));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    if body.is_some() {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    }
    let mut set = |name: header::HeaderName, v: Option<String>| {
        if let Some(v) = v.and_then(|v| HeaderValue::from_str(&v).ok()) {
            h.insert(name, v);
        }
    };
    set(header::ETAG, reply.etag);
    set(header::LOCATION, reply.location);
    set(header::ALLOW, reply.allow.map(str::to_string));
    resp
}

/// Renders an error: the one place a `ScimError` becomes HTTP.
pub fn error_response(err: &ScimError) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec(&err.to_json()).unwrap_or_default();
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() =
        StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    if err.status() == 401 {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"scimd\""),
        );
    }
    if let Some(secs) = err.retry_after() {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

async fn handle(state: Arc<AppState>, req: Request<Incoming>) -> Response<Body> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    // The one parse of the path: everything below reads the route.
    let route = Route::parse(&path);
    let label = route.label();
    // A cheap handle (shared bytes), kept for the count of a refusal.
    let agent = req.headers().get(header::USER_AGENT).cloned();
    let mut authed = false;
    let whole = |r: Response<Full<Bytes>>| r.map(Body::Left);
    // What the counts below need once the route has moved into its handler.
    let (org, scim, health) = (
        route.org().map(str::to_string),
        matches!(route, Route::Scim { .. }),
        route == Route::Health,
    );
    let result = match route {
        Route::Snapshot { org } => snapshot::serve(&state, req, &org, started, &mut authed)
            .await
            .map(|r| r.map(Body::Right)),
        Route::Events { org } => events::serve(&state, req, &org, started, &mut authed)
            .await
            .map(whole),
        Route::Scim { org, path } => serve_scim(&state, req, &org, path, started, &mut authed)
            .await
            .map(reply_response)
            .map(whole),
        Route::Health => match method {
            Method::GET | Method::HEAD => Ok(whole(reply_response(health::reply(
                &state.store,
                &state.health_log,
            )))),
            _ => Err(ScimError::MethodNotAllowed("use GET /healthz".into())),
        },
        Route::NotFound(Api::Scim) => Err(ScimError::NotFound(format!(
            "no endpoint at {path}; the SCIM API is under /scim/v2/<org>"
        ))),
        Route::NotFound(Api::Events) => Err(ScimError::NotFound(format!(
            "no endpoint at {}; the events API is GET /events/v1/<org> (and \
             /events/v1/<org>/snapshot)",
            crate::activity::clip(&path, 256)
        ))),
    };
    let resp = match result {
        Ok(resp) => resp,
        Err(err) => {
            if err.status() >= 500 {
                tracing::error!(%method, %path, status = err.status(), "request failed");
            } else if authed {
                log_refusal(&method, &path, org.as_deref(), &err);
            } else if err.status() != 401 {
                // 401s were counted where they were decided, with their org's bucket.
                let client = client_name(agent.as_ref().and_then(|v| v.to_str().ok()));
                let record = state.auth_failures.refuse(
                    Kind::NotFound,
                    auth_failures::UNKNOWN,
                    client,
                    method.to_string(),
                    started,
                );
                if let Some(record) = record {
                    state.bus.publish(record);
                }
            }
            whole(error_response(&err))
        }
    };
    let status = resp.status().as_u16();
    {
        // A borrow, not a clone of the Arc: nothing awaits while it is held. The configured
        // org, by its canonical name: a metric label never carries what a client made up.
        let config = state.config.borrow();
        let org = org.and_then(|o| config.org(&o)).map(|o| o.name.as_str());
        if !health {
            // Only the SCIM API's requests count in an org's health: events polls are a
            // consumer's, counted per consumer.
            state
                .bus
                .count_request(org.filter(|_| scim), &method, label, status);
        }
        crate::metrics::get().request(org, &method, label, status, started.elapsed());
    }
    tracing::debug!(%method, %path, status = resp.status().as_u16(), latency_us = started.elapsed().as_micros() as u64, "request");
    resp
}

/// Logs a refused SCIM or events request that presented its org's token, at info: org,
/// method, path, status and scimType, never the token or the body. Requests without a valid
/// token (401s, unknown paths) are left to the counters (`auth_failures.rs`), which bound what
/// an unauthenticated flood can make scimd write.
fn log_refusal(method: &hyper::Method, path: &str, org: Option<&str>, err: &ScimError) {
    let Some(org) = org else {
        return;
    };
    if err.status() == 401 {
        return;
    }
    let org = crate::activity::clip(org, 64);
    let path = crate::activity::clip(path, 256);
    tracing::info!(
        org = %org,
        %method,
        path = %path,
        status = err.status(),
        scim_type = %err.scim_type().map(|t| t.as_str()).unwrap_or("-"),
        "request refused"
    );
}

/// The org named `org_name` whose token of one of the `accepts` scopes the request carries,
/// with the scope it holds ([`auth::authenticate`]). A 401 is counted here, where it is
/// decided, in the org's bucket (an unknown org's in one shared bucket); `authed` is set once
/// the token is accepted (a disabled org's 403 also answers a valid token).
fn admit<'c>(
    state: &AppState,
    config: &'c Config,
    org_name: &str,
    req: &http::request::Parts,
    accepts: &[Scope],
    started: Instant,
    authed: &mut bool,
) -> Result<(&'c scimd_config::OrgConfig, Scope), ScimError> {
    let token = bearer(&req.headers);
    let admitted = auth::authenticate(config, org_name, token.as_deref(), accepts);
    *authed = admitted
        .as_ref()
        .map_or_else(|e| e.status() != 401, |_| true);
    if let Err(err) = &admitted {
        if err.status() == 401 {
            let known = config.org(org_name).map(|o| o.name.as_str());
            crate::metrics::get().auth_failure(known);
            let bucket = known.unwrap_or(auth_failures::UNKNOWN);
            let agent = header_str(&req.headers, header::USER_AGENT);
            let client = client_name(agent.as_deref());
            let method = req.method.to_string();
            if let Some(record) = state.auth_failures.fail(bucket, client, method, started) {
                state.bus.publish(record);
            }
        }
    }
    admitted
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The bearer token of the request, if it has a well-formed one.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}

/// Serves a request of the SCIM API; sets `authed` once its token is accepted.
async fn serve_scim(
    state: &AppState,
    req: Request<Incoming>,
    org_name: &str,
    path: ScimPath,
    started: Instant,
    authed: &mut bool,
) -> Result<Reply, ScimError> {
    let config = state.config.borrow().clone();
    let (parts, body) = req.into_parts();
    let (org, scope) = admit(
        state,
        &config,
        org_name,
        &parts,
        auth::SCIM,
        started,
        authed,
    )?;
    let headers = &parts.headers;
    let user_agent = header_str(headers, header::USER_AGENT);
    check_rate(state, org, started)?;
    // Refused before the body is read: a read token's write gets nowhere near the store.
    if scope == Scope::Read && !api::is_read(&parts.method, &path) {
        return Err(ScimError::Forbidden(format!(
            "This token of org '{}' is read-only: it may GET and HEAD, and POST to .search; \
             writes (POST, PUT, PATCH, DELETE, Bulk) need the org's SCIM token.",
            org.name
        )));
    }

    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
    {
        if len.parse::<u64>().is_ok_and(|n| n > MAX_BODY as u64) {
            return Err(too_large());
        }
    }
    let method = parts.method.clone();
    let query = query_of(&parts.uri);
    let body = if hyper::body::Body::is_end_stream(&body) {
        // A GET has no body to wait for; skipping the deadline keeps a timer off every read.
        Bytes::new()
    } else {
        read_body(body, config.limits.body_read_timeout).await?
    };

    let base = base_url(state, &config, headers, &org.name);
    let request = api::Request {
        method,
        path,
        query,
        body,
        if_match: header_str(headers, header::IF_MATCH),
        if_none_match: header_str(headers, header::IF_NONE_MATCH),
        user_agent,
    };
    let store = state.store.clone();
    let parts = Parts {
        org_key: org.name.to_ascii_lowercase(),
        base,
        store: store.clone(),
        bus: state.bus.clone(),
        limits: Limits {
            team_name_max: org.team_name_max,
            max_values: config.limits.max_values_per_attribute,
            max_indexed_length: config.limits.max_indexed_length,
            max_string_length: config.limits.max_string_length,
            max_extension_bytes: config.limits.max_extension_bytes,
        },
        sorted_window: config.limits.max_sorted_window,
        unknown: match org.unknown_members {
            scimd_config::UnknownMembers::Skip => Unknown::Skip,
            scimd_config::UnknownMembers::Reject => Unknown::Reject,
        },
        usernames: match org.usernames {
            scimd_config::Usernames::Immutable => UserNames::Immutable,
            scimd_config::Usernames::Mutable => UserNames::Mutable,
        },
        declared: org.extensions.clone(),
        pages: state.pages.clone(),
        started,
    };
    let cheap = store.capabilities().cheap_point_reads;
    let point_read = cheap && api::is_point_read(&request);
    if !cheap {
        // A networked store reads a user or a team on the async runtime in one statement: no
        // blocking pool hand-off, no read transaction.
        let point = api::point(&parts.context(), &request);
        if let Some((point, read)) = point.and_then(|p| {
            let read = store.get_now(&parts.org_key, p.rt, &p.id, p.with_links)?;
            Some((p, read))
        }) {
            let got = read.await;
            return inline(|| api::answer_point(&parts.context(), &request, &point, got));
        }
        // So does what an index finds for a filter, when it is a few, and an unfiltered page
        // with its count; the listing then runs on what was read. More found are streamed
        // from a read snapshot on the blocking pool.
        match api::list_ahead(&parts.context(), &request) {
            Some(api::ListAhead::Found(rt, lookup, with_links)) => {
                let read =
                    store.found_now(&parts.org_key, rt, &lookup, with_links, LOOKUP_AHEAD_MOST);
                if let Some(read) = read {
                    if let Some(found) = read.await.map_err(api::internal)? {
                        return inline(|| {
                            let mut ctx = parts.context();
                            ctx.read_before = Some(&found);
                            api::handle(&ctx, &request)
                        });
                    }
                }
            }
            Some(api::ListAhead::Page(ask)) => {
                if let Some(read) = store.page_now(&parts.org_key, ask) {
                    let page = read.await.map_err(api::internal)?;
                    return inline(|| {
                        let mut ctx = parts.context();
                        ctx.page_read = Some(&page);
                        api::handle(&ctx, &request)
                    });
                }
            }
            None => {}
        }
    }
    let run = move || api::handle(&parts.context(), &request);
    if point_read {
        // A point read of an embedded store takes microseconds; the two thread hand-offs of
        // the blocking pool would cost more than the read itself. Scans, writes, and every
        // other read of a networked store still go to the pool.
        return inline(run);
    }
    tokio::task::spawn_blocking(run).await.map_err(|err| {
        tracing::error!(cause = %err, "handler task failed");
        ScimError::Internal
    })?
}

/// Runs a handler on the async thread, a panic answered as a 500 like one on the pool.
fn inline(run: impl FnOnce() -> Result<api::Reply, ScimError>) -> Result<api::Reply, ScimError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_else(|_| {
        tracing::error!("handler panicked");
        Err(ScimError::Internal)
    })
}

/// What a request's [`Context`] is made of, owned, so the request can move to the blocking
/// pool with it.
struct Parts {
    org_key: String,
    base: String,
    store: Store,
    bus: crate::activity::Bus,
    limits: Limits,
    sorted_window: usize,
    unknown: Unknown,
    usernames: UserNames,
    declared: std::sync::Arc<scimd_core::schema::Declared>,
    pages: std::sync::Arc<api::pages::PageEnds>,
    started: Instant,
}

impl Parts {
    fn context(&self) -> Context<'_> {
        Context {
            org: &self.org_key,
            base: &self.base,
            store: &self.store,
            bus: &self.bus,
            limits: self.limits,
            sorted_window: self.sorted_window,
            unknown: self.unknown,
            usernames: self.usernames,
            declared: self.declared.clone(),
            pages: &self.pages,
            now: std::cell::OnceCell::new(),
            started: self.started,
            read_before: None,
            page_read: None,
        }
    }
}

/// The request body, bounded by [`MAX_BODY`] and by `deadline` for its arrival.
async fn read_body(body: Incoming, deadline: Duration) -> Result<Bytes, ScimError> {
    Ok(
        tokio::time::timeout(deadline, Limited::new(body, MAX_BODY).collect())
            .await
            .map_err(|_| {
                ScimError::RequestTimeout(format!(
                    "The request body did not arrive within {} s.",
                    deadline.as_secs()
                ))
            })?
            .map_err(|err| {
                if err
                    .downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    too_large()
                } else {
                    ScimError::invalid_syntax(format!("could not read the request body: {err}"))
                }
            })?
            .to_bytes(),
    )
}

/// Takes one request from the org's rate limit (shared by the SCIM and events APIs).
fn check_rate(
    state: &AppState,
    org: &scimd_config::OrgConfig,
    started: Instant,
) -> Result<(), ScimError> {
    let Some(limit) = org.rate_limit else {
        return Ok(());
    };
    state
        .rates
        .take(&org.name, limit, started)
        .map_err(|retry_after| ScimError::TooManyRequests {
            retry_after,
            detail: format!(
                "Org '{}' is over its rate limit of {} requests per second; retry after {retry_after} s.",
                org.name, limit.per_second
            ),
        })
}

/// The query parameters, keys lowercased (SCIM's are case-insensitive).
fn query_of(uri: &http::Uri) -> HashMap<String, String> {
    uri.query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The absolute base URL of an org's SCIM API: `public_url` when set, else the Host header.
fn base_url(state: &AppState, config: &Config, headers: &HeaderMap, org: &str) -> String {
    let host = header_str(headers, header::HOST).unwrap_or_else(|| config.listen.to_string());
    crate::site::base_url(config, state.scheme, &host, org)
}

fn too_large() -> ScimError {
    ScimError::PayloadTooLarge(format!("The request body is larger than {MAX_BODY} bytes."))
}
