//! `GET /events/v1/{org}`: the consumer's door to an org's change feed. Authenticates the
//! org's consumer token (never the IdP's SCIM token), shares the org's rate limit, and
//! long-polls with `wait=` until an event of the org is durable or the wait ends.

use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use scimd_config::{Config, OrgConfig};
use scimd_core::ScimError;

use super::{auth_failures, bearer, header_str, percent_decode, AppState};
use crate::activity::client_name;
use crate::api::events::{self as feed, Page, Query};

/// Whether `path` is the events API's.
pub(super) fn is_events(path: &str) -> bool {
    path == "/events" || path.starts_with("/events/")
}

/// The org an events path names, as written; None when the path is not `/events/v1/{org}`.
pub(super) fn org_segment(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/events/")?;
    let mut parts = rest.split('/').filter(|s| !s.is_empty());
    let version = parts.next()?;
    let org = parts.next()?;
    (version.eq_ignore_ascii_case("v1") && parts.next().is_none()).then(|| percent_decode(org))
}

/// The org a snapshot path names, as written; None when the path is not
/// `/events/v1/{org}/snapshot`.
pub(super) fn snapshot_org(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/events/")?;
    let mut parts = rest.split('/').filter(|s| !s.is_empty());
    let (version, org, what) = (parts.next()?, parts.next()?, parts.next()?);
    (version.eq_ignore_ascii_case("v1") && what == "snapshot" && parts.next().is_none())
        .then(|| percent_decode(org))
}

fn authenticate(
    config: &Config,
    org_name: &str,
    headers: &HeaderMap,
) -> Result<OrgConfig, ScimError> {
    let Some(token) = bearer(headers) else {
        return Err(ScimError::Unauthorized(
            "Missing or malformed Authorization header; send 'Authorization: Bearer <token>' \
             with the org's events token."
                .into(),
        ));
    };
    let shown = crate::activity::clip(org_name, scimd_config::MAX_ORG_NAME_LEN + 1);
    // One message for an unknown org and a wrong token, as on the SCIM API.
    let refused = || {
        ScimError::Unauthorized(format!(
            "The token is not an events token of org '{shown}'. Make one with \
             'scimd token rotate --org {shown} --scope events'."
        ))
    };
    // Hashed and compared whether the org exists or not, as on the SCIM API (`auth.rs`).
    let org = config.org(org_name);
    let valid = super::auth::token_valid(org.map(|o| o.event_tokens.as_slice()), &token);
    let Some(org) = org.filter(|_| valid) else {
        return Err(refused());
    };
    if !org.enabled {
        return Err(ScimError::Forbidden(format!(
            "Org '{org_name}' is disabled in the server's configuration."
        )));
    }
    Ok(org.clone())
}

/// The org whose events token `req` carries, with the 401 counted as the SCIM API counts
/// them; sets `authed` once the token is accepted. Only GET and HEAD pass: the events API,
/// its snapshot included, is read-only.
pub(super) fn consumer(
    state: &AppState,
    config: &Config,
    org_name: &str,
    req: &Request<Incoming>,
    started: Instant,
    authed: &mut bool,
) -> Result<OrgConfig, ScimError> {
    let headers = req.headers();
    let authenticated = authenticate(config, org_name, headers);
    *authed = authenticated
        .as_ref()
        .map_or_else(|e| e.status() != 401, |_| true);
    let org = match authenticated {
        Ok(org) => org,
        Err(err) => {
            if err.status() == 401 {
                let known = config.org(org_name).map(|o| o.name.as_str());
                crate::metrics::get().auth_failure(known);
                let bucket = known.unwrap_or(auth_failures::UNKNOWN);
                let agent = header_str(headers, header::USER_AGENT);
                let client = client_name(agent.as_deref());
                let method = req.method().to_string();
                if let Some(record) = state.auth_failures.fail(bucket, client, method, started) {
                    state.bus.publish(record);
                }
            }
            return Err(err);
        }
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Err(ScimError::MethodNotAllowed(
            "the events API is read-only: use GET /events/v1/<org>".into(),
        ));
    }
    super::check_rate(state, &org, started)?;
    Ok(org)
}

/// Serves one events request; sets `authed` once its token is accepted.
pub(super) async fn serve(
    state: &AppState,
    req: Request<Incoming>,
    started: Instant,
    authed: &mut bool,
) -> Result<Response<Full<Bytes>>, ScimError> {
    let path = req.uri().path().to_string();
    let Some(org_name) = org_segment(&path) else {
        return Err(ScimError::NotFound(format!(
            "no endpoint at {}; the events API is GET /events/v1/<org> (and \
             /events/v1/<org>/snapshot)",
            crate::activity::clip(&path, 256)
        )));
    };
    let config = state.config.borrow().clone();
    let org = consumer(state, &config, &org_name, &req, started, authed)?;
    let headers = req.headers();
    let query = super::query_of(req.uri());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_v1_org_path_names_an_org() {
        assert_eq!(org_segment("/events/v1/acme").as_deref(), Some("acme"));
        assert_eq!(org_segment("/events/V1/acme/").as_deref(), Some("acme"));
        assert_eq!(org_segment("/events/v1/a%20b").as_deref(), Some("a b"));
        // A path is not a form: `&` and `+` are themselves, and bytes that are not UTF-8 are
        // replaced rather than dropped.
        assert_eq!(
            org_segment("/events/v1/a%26b&c+d").as_deref(),
            Some("a&b&c+d")
        );
        assert_eq!(
            org_segment("/events/v1/a%FFb").as_deref(),
            Some("a\u{FFFD}b")
        );
        assert_eq!(org_segment("/events/v1"), None);
        assert_eq!(org_segment("/events/v2/acme"), None);
        assert_eq!(org_segment("/events/v1/acme/extra"), None);
        assert!(is_events("/events") && is_events("/events/v1/x") && !is_events("/eventsx"));
    }
}
