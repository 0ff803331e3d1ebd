//! The `[limits]` of the HTTP edge against raw sockets: slow and idle connections are closed,
//! a keep-alive connection may rest between requests, the connection cap answers a canned 503
//! when no open connection is idle, and a body that stops arriving is answered 408.
//!
//! The old daemon (6457fe5) had none of this: hyper ran without a timer, so a connection that
//! sent half a request, nothing, or one byte at a time kept its socket and task forever; there
//! was no cap on connections and no deadline on a body (and `[limits]` itself was an unknown
//! key, so these daemons would not even start).

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::harness::{assert_raw_error, closed_within, connect, eventually, read_response, Daemon};

/// How long any connection the daemon should close may take to be seen closed: far above the
/// configured deadlines, so a loaded machine does not fail the test.
const CLOSE: Duration = Duration::from_secs(20);

/// Polls `s` until the daemon closes it, for at most [`CLOSE`].
fn until_closed(s: &mut TcpStream, what: &str) {
    let deadline = Instant::now() + CLOSE;
    while !closed_within(s, Duration::from_millis(200)) {
        assert!(
            Instant::now() < deadline,
            "{what} is still open after {CLOSE:?}"
        );
    }
}

/// A keep-alive GET of `/healthz`.
fn healthz(d: &Daemon) -> String {
    format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", d.addr())
}

#[test]
fn slow_and_idle_connections_are_closed_while_others_are_served() {
    // idle 3 s rather than 2 leaves room for the keep-alive pause below on a loaded machine.
    let d = Daemon::start_with(
        "[limits]\nheader_read_timeout_secs = 1\nidle_timeout_secs = 3\n",
        &[("acme", "")],
    );
    let done = AtomicBool::new(false);

    let (c, addr, hz) = (d.client("acme"), d.addr(), healthz(&d));
    std::thread::scope(|scope| {
        // A normal client keeps being served while the bad ones hold their sockets.
        let served = scope.spawn(|| {
            let mut n = 0u32;
            let deadline = Instant::now() + CLOSE * 2;
            while !done.load(Ordering::SeqCst) && Instant::now() < deadline {
                c.get("/Users?count=1").expect(200);
                n += 1;
            }
            n
        });

        // A keep-alive connection between requests is idle, not in a header: it survives
        // longer than the header deadline, and only the idle deadline closes it.
        let kept = scope.spawn(|| {
            let mut s = connect(addr);
            s.write_all(hz.as_bytes()).expect("write");
            assert_eq!(read_response(&mut s).expect("first answer").status, 200);
            let rested = Instant::now();
            // Waiting for time to pass is the point here; the polls watch for an early close.
            while rested.elapsed() < Duration::from_millis(1500) {
                assert!(
                    !closed_within(&mut s, Duration::from_millis(100)),
                    "closed after {:?}, before the idle deadline",
                    rested.elapsed()
                );
            }
            s.write_all(hz.as_bytes()).expect("write");
            assert_eq!(read_response(&mut s).expect("second answer").status, 200);
            until_closed(&mut s, "an idle keep-alive connection");
        });

        // (a) Half a request line, then nothing: the header deadline closes it.
        let mut half = connect(addr);
        half.write_all(b"GET /scim/v2/acme/Us").expect("write");
        // (b) Nothing at all: the idle deadline closes it.
        let mut silent = connect(addr);
        // (c) Slowloris: one more header byte every 300 ms keeps bytes moving, so only the
        // header deadline can close it. The read timeout paces the loop; no blind sleep.
        let mut slow = connect(addr);
        slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .expect("write");
        let mut sent = 0;
        loop {
            if closed_within(&mut slow, Duration::from_millis(300)) {
                break;
            }
            if slow.write_all(b"a").is_err() {
                break; // reset by the daemon: closed too
            }
            sent += 1;
            assert!(
                sent < 60,
                "a slowloris connection is still open after {sent} bytes"
            );
        }
        until_closed(&mut half, "a connection with half a request line");
        until_closed(&mut silent, "a connection that sent nothing");
        kept.join().expect("keep-alive thread");

        done.store(true, Ordering::SeqCst);
        let n = served.join().expect("client thread");
        assert!(n > 0, "the normal client was served");
    });
}

#[test]
fn over_max_connections_a_new_one_reads_a_503_and_is_closed() {
    // At the cap an idle connection would be closed to make room (`conn_caps.rs`), so the
    // eight held here are busy: each has a request in flight, a POST whose body is still to
    // come. The `100 Continue` proves its handler runs; the body deadline is far away.
    let d = Daemon::start_with(
        "[limits]\nmax_connections = 8\nbody_read_timeout_secs = 120\n",
        &[("acme", "")],
    );
    let body = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u0"}"#;
    let mut held: Vec<TcpStream> = (0..8)
        .map(|i| {
            let mut s = connect(d.addr());
            let head = format!(
                "POST /scim/v2/acme/Users HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
                 Content-Type: application/scim+json\r\nContent-Length: {}\r\n\
                 Expect: 100-continue\r\n\r\n",
                d.addr(),
                d.tokens["acme"],
                body.len()
            );
            s.write_all(head.as_bytes()).expect("write");
            let r = read_response(&mut s).unwrap_or_else(|e| panic!("connection {i}: {e}"));
            assert_eq!(r.status, 100, "connection {i}: {r:?}");
            s
        })
        .collect();

    // The ninth reads the canned answer without sending anything, then the socket closes.
    let mut ninth = connect(d.addr());
    let r = read_response(&mut ninth).expect("the refusal");
    assert_raw_error(&r, 503);
    assert_eq!(r.headers.get("retry-after").map(String::as_str), Some("1"));
    until_closed(&mut ninth, "the refused connection");

    // The held ones were not disturbed: each request completes.
    for (i, s) in held.iter_mut().enumerate() {
        // The same length as announced: one digit for one digit.
        let body = body.replace("u0", &format!("u{i}"));
        s.write_all(body.as_bytes()).expect("write the body");
        let r = read_response(s).unwrap_or_else(|e| panic!("connection {i}: {e}"));
        assert_eq!(r.status, 201, "connection {i}: {r:?}");
    }

    // Once they go, their slots are free again.
    drop(held);
    let c = d.client("acme");
    eventually("a request after the held connections closed", CLOSE, || {
        (c.try_send("GET", "/Users?count=1", None).ok()?.status == 200).then_some(())
    });
}

#[test]
fn a_body_that_stops_arriving_is_answered_408() {
    let d = Daemon::start_with("[limits]\nbody_read_timeout_secs = 1\n", &[("acme", "")]);
    let mut s = connect(d.addr());
    let head = format!(
        "POST /scim/v2/acme/Users HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: 100\r\n\r\n",
        d.addr(),
        d.tokens["acme"]
    );
    s.write_all(head.as_bytes()).expect("head");
    s.write_all(b"{\"userName").expect("ten body bytes");
    let r = read_response(&mut s).expect("an answer within the read timeout");
    assert_raw_error(&r, 408);
    // Nothing was written.
    assert_eq!(d.client("acme").get("/Users").total(), 0);
}
