//! `GET /events/v1/{org}`: the consumer's door to an org's change feed. Admits the org's
//! consumer token (scope events, never the IdP's SCIM token), shares the org's rate limit, and
//! long-polls with `wait=` until an event of the org is durable or the wait ends.

use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use scimd_config::{Config, OrgConfig};
use scimd_core::ScimError;

use super::{admit, auth, bearer, AppState};
use crate::api::events::{self as feed, Page, Query};

/// The org whose events token `req` carries ([`admit`], scope events); sets `authed` once the
/// token is accepted. Only GET and HEAD pass: the events API, its snapshot included, is
/// read-only.
pub(super) fn consumer<'c>(
    state: &AppState,
    config: &'c Config,
    org_name: &str,
    req: &http::request::Parts,
    started: Instant,
    authed: &mut bool,
) -> Result<&'c OrgConfig, ScimError> {
    let (org, _) = admit(state, config, org_name, req, auth::EVENTS, started, authed)?;
    if req.method != Method::GET && req.method != Method::HEAD {
        return Err(ScimError::MethodNotAllowed(
            "the events API is read-only: use GET /events/v1/<org>".into(),
        ));
    }
    super::check_rate(state, org, started)?;
    Ok(org)
}

/// Serves one events request for the org the path names; sets `authed` once its token is
/// accepted.
pub(super) async fn serve(
    state: &AppState,
    req: Request<Incoming>,
    org_name: &str,
    started: Instant,
    authed: &mut bool,
) -> Result<Response<Full<Bytes>>, ScimError> {
    let config = state.config.borrow().clone();
    let (req, _body) = req.into_parts();
    let org = consumer(state, &config, org_name, &req, started, authed)?;
    let headers = &req.headers;
    let query = super::query_of(&req.uri);
    let q = feed::parse_query(&query)?;
    // Per consumer token, for `scimd status` and the Orgs view: who polls, and how far behind.
    if let Some(token) = bearer(headers) {
        state.bus.consumer_poll(&org.name, &token, q.after);
    }
    let base = super::base_url(state, &config, headers, &org.name);
    let key = org.name.to_ascii_lowercase();
    let page = read(state, &key, &org.name, &base, q).await?;
    let page = if page.empty && !q.wait.is_zero() {
        long_poll(
            state,
            &key,
            &org.name,
            &base,
            q,
            config.events.max_long_polls,
        )
        .await?
    } else {
        page
    };
    let body = serde_json::to_vec(&page.body).unwrap_or_default();
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// One read of the feed, off the async threads.
async fn read(
    state: &AppState,
    key: &str,
    name: &str,
    base: &str,
    q: Query,
) -> Result<Page, ScimError> {
    let store = state.store.clone();
    let (key, name, base) = (key.to_string(), name.to_string(), base.to_string());
    tokio::task::spawn_blocking(move || feed::page(&store, &key, &name, &base, &q))
        .await
        .map_err(|err| {
            tracing::error!(cause = %err, "events read failed");
            ScimError::Internal
        })?
}

/// Waits for the org's next durable write and reads again, until an event is there or
/// `q.wait` has passed (then the empty page, with the same cursor). Past the org's bound on
/// waiting requests, the empty page is answered at once.
async fn long_poll(
    state: &AppState,
    key: &str,
    name: &str,
    base: &str,
    q: Query,
    max: usize,
) -> Result<Page, ScimError> {
    let feed = state.store.feed();
    let deadline = tokio::time::Instant::now() + q.wait;
    // Registered before the read below, so a commit between that read and the wait wakes it.
    let Some(mut waiter) = feed.wait(key, max) else {
        return read(state, key, name, base, q).await;
    };
    loop {
        let page = read(state, key, name, base, q).await?;
        if !page.empty || feed.is_closed() {
            return Ok(page);
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Ok(page);
        }
        // On a shared store whose listener is down, other daemons' commits wake nobody here:
        // read again now and then (the feed says how often; a change of it wakes this wait).
        let until = feed
            .poll_every()
            .map_or(deadline, |p| deadline.min(now + p));
        let woken = tokio::time::timeout_at(until, waiter.rx.changed()).await;
        if matches!(woken, Ok(Err(_))) {
            // The feed's sender went away: nothing will wake this wait again.
            return Ok(page);
        }
        waiter.rx.borrow_and_update();
    }
}
