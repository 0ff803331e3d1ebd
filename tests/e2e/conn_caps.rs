//! Connection caps against raw sockets from 127.0.0.1: past `max_connections_per_ip` a new
//! connection from the address reads the canned 503 and is closed while its others are served;
//! at `max_connections` a new connection is served by closing the longest-idle keep-alive one.
//!
//! The old daemon (60f2e91) had no per-address cap, and at `max_connections` it refused every
//! newcomer even when all the open connections were only resting between requests.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::harness::{
    assert_raw_error, closed_within, connect, eventually, read_response, Daemon,
};

/// How long any connection the daemon should close may take to be seen closed.
const CLOSE: Duration = Duration::from_secs(20);

fn healthz(d: &Daemon) -> Vec<u8> {
    format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", d.addr()).into_bytes()
}

/// A keep-alive connection served once, so the daemon surely holds a place for it.
fn served_connection(d: &Daemon, what: &str) -> TcpStream {
    let mut s = connect(d.addr());
    s.write_all(&healthz(d)).expect("write");
    let r = read_response(&mut s).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(r.status, 200, "{what}: {r:?}");
    s
}

/// Asserts that `s` is still served.
#[track_caller]
fn assert_served(d: &Daemon, s: &mut TcpStream, what: &str) {
    s.write_all(&healthz(d)).expect("write");
    let r = read_response(s).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(r.status, 200, "{what}: {r:?}");
}

#[test]
fn past_max_connections_per_ip_a_new_connection_reads_a_503_and_the_others_are_served() {
    let d = Daemon::start_with("[limits]\nmax_connections_per_ip = 3\n", &[("acme", "")]);
    let mut held: Vec<TcpStream> = (0..3)
        .map(|i| served_connection(&d, &format!("connection {i}")))
        .collect();

    // The fourth reads the canned answer without sending anything, then the socket closes.
    let mut fourth = connect(d.addr());
    let r = read_response(&mut fourth).expect("the refusal");
    assert_raw_error(&r, 503);
    assert_eq!(r.headers.get("connection").map(String::as_str), Some("close"));
    let deadline = Instant::now() + CLOSE;
    while !closed_within(&mut fourth, Duration::from_millis(200)) {
        assert!(Instant::now() < deadline, "the refused connection stays open");
    }

    // The three are not disturbed, and none was closed to make room.
    for (i, s) in held.iter_mut().enumerate() {
        assert_served(&d, s, &format!("held connection {i}"));
    }

    // Once one goes, its place is free again: the daemon frees it when it sees the close.
    drop(held.pop());
    eventually("a place for a new connection", CLOSE, || {
        // Until then the daemon answers 503 and closes, maybe before the request is written.
        let mut s = connect(d.addr());
        let served = s.write_all(&healthz(&d)).is_ok()
            && read_response(&mut s).is_ok_and(|r| r.status == 200);
        served.then_some(())
    });
}

#[test]
fn at_max_connections_a_new_connection_is_served_and_an_idle_one_closed() {
    const N: usize = 4;
    let d = Daemon::start_with(
        &format!("[limits]\nmax_connections = {N}\n"),
        &[("acme", "")],
    );
    // N keep-alive connections served one after the other, so the first has rested longest;
    // all rest well inside the default 60 s idle deadline.
    let mut held: Vec<TcpStream> = (0..N)
        .map(|i| served_connection(&d, &format!("connection {i}")))
        .collect();

    // One more is served, not refused.
    let mut newcomer = served_connection(&d, "the connection past the cap");

    // Room was made by closing one idle connection (the longest idle: the first, as the
    // daemon's unit tests check with a paused clock); the others stay open and served.
    let deadline = Instant::now() + CLOSE;
    let closed = loop {
        let closed: Vec<usize> = (0..N)
            .filter(|&i| closed_within(&mut held[i], Duration::from_millis(50)))
            .collect();
        if !closed.is_empty() {
            break closed;
        }
        assert!(
            Instant::now() < deadline,
            "no idle connection was closed to make room"
        );
    };
    assert_eq!(closed.len(), 1, "more than one closed: {closed:?}");
    if closed != [0] {
        println!("the idle connection closed was number {}, not the first", closed[0]);
    }
    for (i, s) in held.iter_mut().enumerate() {
        if i != closed[0] {
            assert_served(&d, s, &format!("held connection {i}"));
        }
    }
    assert_served(&d, &mut newcomer, "the newcomer");
}
