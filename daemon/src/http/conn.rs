//! One client connection's deadlines, enforced outside hyper: a request's headers must arrive
//! within `header_read_timeout`, and a connection with no request in flight and no bytes moving
//! for `idle_timeout` is closed. hyper's own header timer also runs while a keep-alive
//! connection waits for its next request, which would make the two one limit; this keeps them
//! apart and covers a client that stops reading its response too. The [`Gate`] (`gate.rs`) may
//! also close a connection early, through its tracker, to make room for a new one.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
// tokio's clock, so the tests can run it paused.
use tokio::time::Instant;

/// Why the watchdog closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// Bytes of a request arrived, but not its whole header in time.
    Header,
    /// Nothing in flight and nothing moving.
    Idle,
}

/// What the connection's IO, its requests and its watchdog share.
#[derive(Debug)]
pub struct Tracker {
    epoch: Instant,
    /// Microseconds since `epoch` when bytes last moved either way (fine enough for the gate to
    /// tell which of two connections served one after the other rested longer).
    last_io: AtomicU64,
    /// 1 + microseconds since `epoch` when the first byte of a not yet parsed request
    /// arrived; 0 while there is none.
    head_started: AtomicU64,
    in_flight: AtomicUsize,
    /// Told when the gate closes this connection to make room for another.
    evict: Notify,
}

impl Tracker {
    pub fn new() -> Arc<Tracker> {
        Arc::new(Tracker {
            epoch: Instant::now(),
            last_io: AtomicU64::new(0),
            head_started: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            evict: Notify::new(),
        })
    }

    fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    fn moved(&self, read: bool) {
        let now = self.now_us();
        self.last_io.store(now, Ordering::Relaxed);
        if read
            && self.in_flight.load(Ordering::Relaxed) == 0
            && self.head_started.load(Ordering::Relaxed) == 0
        {
            self.head_started.store(now + 1, Ordering::Relaxed);
        }
    }

    /// Marks a request as parsed and being handled until the guard drops.
    pub fn start_request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_started.store(0, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// How long the connection has rested between requests: None while a request is in flight
    /// or the bytes of one are arriving, since closing it then would lose that request.
    pub fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::Relaxed) > 0
            || self.head_started.load(Ordering::Relaxed) != 0
        {
            return None;
        }
        let idle = self
            .now_us()
            .saturating_sub(self.last_io.load(Ordering::Relaxed));
        Some(Duration::from_micros(idle))
    }

    /// Asks the connection to close (see [`Tracker::evicted`]).
    pub fn evict(&self) {
        // `notify_one` keeps a permit when nobody waits yet, so an early eviction is not lost.
        self.evict.notify_one();
    }

    /// Resolves once the gate has closed this connection to make room for another.
    pub async fn evicted(&self) {
        self.evict.notified().await;
    }

    /// Resolves when the connection has outlived one of its deadlines.
    pub async fn expired(&self, header: Duration, idle: Duration) -> Expired {
        let tick = (header.min(idle) / 4).clamp(Duration::from_millis(25), Duration::from_secs(1));
        let (header, idle) = (header.as_micros() as u64, idle.as_micros() as u64);
        loop {
            tokio::time::sleep(tick).await;
            if self.in_flight.load(Ordering::Relaxed) > 0 {
                continue;
            }
            let now = self.now_us();
            let started = self.head_started.load(Ordering::Relaxed);
            if started != 0 && now.saturating_sub(started - 1) >= header {
                return Expired::Header;
            }
            if now.saturating_sub(self.last_io.load(Ordering::Relaxed)) >= idle {
                return Expired::Idle;
            }
        }
    }
}

/// A request being handled; dropping it (also on cancellation) ends it.
pub struct InFlight(Arc<Tracker>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.moved(false);
    }
}

/// A stream that reports to its [`Tracker`] whenever bytes move.
pub struct Tracked<S> {
    inner: S,
    tracker: Arc<Tracker>,
}

impl<S> Tracked<S> {
    pub fn new(inner: S, tracker: Arc<Tracker>) -> Tracked<S> {
        Tracked { inner, tracker }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.tracker.moved(true);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.tracker.moved(false);
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.tracker.moved(false);
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

// The gate lives in its own module; metrics reads it by this path.
pub use super::gate::Gate;

/// What a refused connection reads before it is closed: a SCIM error, so an IdP's log says why.
pub const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/scim+json; charset=utf-8\r\n\
retry-after: 1\r\nconnection: close\r\ncontent-length: 127\r\n\r\n\
{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:Error\"],\"status\":\"503\",\"detail\":\"Too many open connections; retry shortly.\"}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_a_whole_http_response() {
        let text = std::str::from_utf8(REFUSED).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["status"], "503");
    }

    #[tokio::test(start_paused = true)]
    async fn idle_counts_only_between_requests() {
        let t = Tracker::new();
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(t.idle_for(), Some(Duration::from_secs(3)));
        let guard = t.start_request();
        assert_eq!(t.idle_for(), None);
        drop(guard);
        assert_eq!(t.idle_for(), Some(Duration::ZERO));
        // The first bytes of the next request: no longer idle.
        t.moved(true);
        assert_eq!(t.idle_for(), None);
    }

    #[tokio::test]
    async fn an_eviction_before_anyone_waits_is_kept() {
        let t = Tracker::new();
        t.evict();
        tokio::time::timeout(Duration::from_secs(5), t.evicted())
            .await
            .expect("the eviction was lost");
    }

    #[tokio::test(start_paused = true)]
    async fn a_partial_header_expires_before_idle() {
        let t = Tracker::new();
        t.moved(true);
        let why = t
            .expired(Duration::from_secs(1), Duration::from_secs(60))
            .await;
        assert_eq!(why, Expired::Header);
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_expires_while_a_request_is_in_flight() {
        let t = Tracker::new();
        let guard = t.start_request();
        let waited = tokio::time::timeout(
            Duration::from_secs(30),
            t.expired(Duration::from_secs(1), Duration::from_secs(2)),
        )
        .await;
        assert!(waited.is_err(), "expired with a request in flight");
        drop(guard);
        assert_eq!(
            t.expired(Duration::from_secs(1), Duration::from_secs(2))
                .await,
            Expired::Idle
        );
    }
}
