//! `GET /events/v1/{org}/snapshot`: the whole directory of an org from one read snapshot, for a
//! consumer building its copy, streamed with backpressure as it is read (never built whole):
//! a blocking task reads and renders, and hands chunks through a small bounded channel to the
//! response body. A client that stops reading for the idle timeout is cut off and its snapshot
//! released. Snapshots are bounded per org (`[events] max_snapshots`) and, on a shared
//! database, to a quarter of the daemon's connection pool, so they cannot starve SCIM requests.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use scimd_config::{Config, StoreBackend};
use scimd_core::ScimError;
use tokio::sync::mpsc;

use super::{events, AppState};

/// Chunks waiting for the client at most: with 64 KiB chunks, what one snapshot holds in
/// memory beyond the read itself.
const QUEUED_CHUNKS: usize = 4;
/// How long a full queue waits for the client when told to retry (`Retry-After`).
const RETRY_AFTER_SECS: u64 = 5;

/// A response body fed by a channel of chunks; it ends when the sender is dropped.
pub struct ChunkBody {
    rx: mpsc::Receiver<Bytes>,
}

impl Body for ChunkBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx.poll_recv(cx).map(|c| c.map(|b| Ok(Frame::data(b))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// The snapshots streaming now: per org, and in all.
#[derive(Debug, Default)]
pub(super) struct Slots {
    running: Mutex<(HashMap<String, usize>, usize)>,
}

/// One snapshot's place, given back when the snapshot ends (however it ends).
struct Slot {
    slots: Arc<AppState>,
    org: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut r) = self.slots.snapshots.running.lock() {
            let (per_org, all) = &mut *r;
            if let Some(n) = per_org.get_mut(&self.org) {
                *n -= 1;
                if *n == 0 {
                    per_org.remove(&self.org);
                }
            }
            *all = all.saturating_sub(1);
        }
    }
}

/// The most snapshots of all orgs at once: a quarter of the pool on a shared database (each
/// holds a connection while it streams), unbounded but per org on the embedded file.
fn global_cap(config: &Config) -> usize {
    match &config.store.backend {
        StoreBackend::Postgres(pg) => (pg.pool_size / 4).max(1),
        _ => usize::MAX,
    }
}

fn take_slot(state: &Arc<AppState>, config: &Config, org: &str) -> Result<Slot, ScimError> {
    let per_org_cap = config.events.max_snapshots;
    let mut r = state
        .snapshots
        .running
        .lock()
        .map_err(|_| ScimError::Internal)?;
    let (per_org, all) = &mut *r;
    let mine = per_org.get(org).copied().unwrap_or(0);
    if mine >= per_org_cap || *all >= global_cap(config) {
        return Err(ScimError::TooManyRequests {
            retry_after: RETRY_AFTER_SECS,
            detail: format!(
                "{} snapshots are streaming already (at most {per_org_cap} per org, \
                 [events] max_snapshots); retry after {RETRY_AFTER_SECS} s.",
                if mine >= per_org_cap { mine } else { *all }
            ),
        });
    }
    *per_org.entry(org.to_string()).or_insert(0) += 1;
    *all += 1;
    Ok(Slot {
        slots: state.clone(),
        org: org.to_string(),
    })
}

/// Serves one snapshot request for the org the path names; sets `authed` once its token is
/// accepted.
pub(super) async fn serve(
    state: &Arc<AppState>,
    req: Request<Incoming>,
    org_name: &str,
    started: Instant,
    authed: &mut bool,
) -> Result<Response<ChunkBody>, ScimError> {
    let config = state.config.borrow().clone();
    let (req, _body) = req.into_parts();
    let org = events::consumer(state, &config, org_name, &req, started, authed)?;
    let key = org.name.to_ascii_lowercase();
    let slot = take_slot(state, &config, &key)?;
    let base = super::base_url(state, &config, &req.headers, &org.name);
    let idle = config.limits.idle_timeout;
    let (tx, rx) = mpsc::channel::<Bytes>(QUEUED_CHUNKS);
    let store = state.store.clone();
    let rt = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        // A chunk the client has not taken room for within the idle timeout ends the
        // snapshot: its read transaction (and, on PostgreSQL, its connection) goes back.
        let mut send = |chunk: Bytes| {
            rt.block_on(tokio::time::timeout(idle, tx.send(chunk)))
                .is_ok_and(|sent| sent.is_ok())
        };
        if let Err(err) = crate::api::snapshot::stream(&store, &key, &base, &mut send) {
            tracing::error!(org = %key, cause = %err, "snapshot failed; its stream ends without the end line");
        }
    });
    let mut resp = Response::new(ChunkBody { rx });
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
