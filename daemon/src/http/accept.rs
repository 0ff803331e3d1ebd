//! The accept loop: admits each connection through the [`Gate`] (a cap in all and per client
//! address, room made by closing the longest-idle connection), serves it under its deadlines,
//! publishes the counts of refused unauthenticated requests, and drains at shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};

use super::auth_failures::{self, Kind};
use super::conn::{self, Tracked, Tracker};
use super::gate::{Caps, Refused};
use super::{handle, AppState, MAX_HEAD};

/// How often the counts of refused requests are published and the store's health is looked at.
const TICK: Duration = Duration::from_secs(5);

/// Accepts connections until `shutdown` resolves, then lets in-flight requests finish for
/// `limits.shutdown_timeout`. With `tls`, every connection is a TLS handshake with the
/// configuration current at accept time.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    tls: Option<Arc<crate::tls::Current>>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(err) => {
                        // Out of file descriptors and the like: back off rather than spin.
                        tracing::warn!(cause = %err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                admit(&state, &graceful, tls.as_deref(), stream, peer);
            }
            _ = tick.tick() => {
                for record in state.auth_failures.flush(Instant::now()) {
                    state.bus.publish(record);
                }
                state.health_log.observe(&state.store.health());
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    // Long-polls answer now; otherwise each would hold the graceful shutdown for its wait.
    state.store.feed().close();
    let grace = state.config.borrow().limits.shutdown_timeout;
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => tracing::warn!(open = state.gate.open(), "shutdown: connections still open after the shutdown timeout"),
    }
    for record in state
        .auth_failures
        .flush(Instant::now() + auth_failures::WINDOW)
    {
        state.bus.publish(record);
    }
}

/// Admits one accepted connection and spawns its task, or refuses it without a task: one
/// non-blocking write of a canned answer, then the socket closes.
fn admit(
    state: &Arc<AppState>,
    graceful: &GracefulShutdown,
    tls: Option<&crate::tls::Current>,
    stream: TcpStream,
    peer: SocketAddr,
) {
    let limits = state.config.borrow().limits;
    let caps = Caps {
        total: limits.max_connections,
        per_ip: limits.max_connections_per_ip,
    };
    let tracker = Tracker::new();
    let slot = match state.gate.enter(peer.ip(), caps, tracker.clone()) {
        Ok(slot) => slot,
        Err(why) => {
            let _ = stream.try_write(conn::REFUSED);
            // Debug only: anyone can open connections, so nothing per refusal reaches the log
            // at the default level.
            match why {
                Refused::PerIp => {
                    tracing::debug!(%peer, "connection refused: at max_connections_per_ip");
                }
                Refused::Full => {
                    tracing::debug!(%peer, "connection refused: at max_connections, none idle");
                }
            }
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    let state = state.clone();
    let watcher = graceful.watcher();
    let tls = tls.map(|t| t.get());
    tokio::spawn(async move {
        let _slot = slot;
        let stream = Tracked::new(stream, tracker.clone());
        let svc = {
            let tracker = tracker.clone();
            let state = state.clone();
            service_fn(move |req| {
                let state = state.clone();
                let in_flight = tracker.start_request();
                async move {
                    let resp = handle(state, req).await;
                    drop(in_flight);
                    Ok::<_, Infallible>(resp)
                }
            })
        };
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.max_buf_size(MAX_HEAD);
        let expired = tracker.expired(limits.header_read_timeout, limits.idle_timeout);
        let served = async {
            match tls {
                None => {
                    watcher
                        .watch(builder.serve_connection(TokioIo::new(stream), svc))
                        .await
                }
                Some(config) => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(config);
                    match acceptor.accept(stream).await {
                        Ok(tls_stream) => {
                            watcher
                                .watch(builder.serve_connection(TokioIo::new(tls_stream), svc))
                                .await
                        }
                        Err(err) => {
                            tracing::debug!(cause = %err, %peer, "TLS handshake failed");
                            Ok(())
                        }
                    }
                }
            }
        };
        tokio::select! {
            result = served => if let Err(err) = result {
                if err.is_parse() || err.is_parse_too_large() {
                    // hyper answered it 400 or 431; counted, as nobody authenticated it.
                    malformed(&state);
                }
                tracing::debug!(cause = %err, "connection closed with error");
            },
            why = expired => tracing::debug!(%peer, ?why, "connection closed: deadline passed"),
            () = tracker.evicted() => tracing::debug!(%peer, "connection closed: idle at max_connections"),
        }
    });
}

/// Counts a request hyper could not parse.
fn malformed(state: &AppState) {
    if let Some(record) = state.auth_failures.refuse(
        Kind::Malformed,
        auth_failures::UNKNOWN,
        "unknown".into(),
        "-".into(),
        Instant::now(),
    ) {
        state.bus.publish(record);
    }
}
