//! SIGTERM while serving: requests in flight finish and are answered, every acknowledged write
//! is there after a restart, the daemon exits 0, and a second signal exits at once.
//!
//! The old daemon (6457fe5) also passes the burst test (it too committed before answering and
//! exited 0); it guards the new shutdown path, which closes the store after the last request.
//! The second test needs what is new: `shutdown_timeout_secs` and the second signal.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use serde_json::json;

use crate::harness::{connect, eventually, read_response, write_config_with, Daemon};
use crate::load::{burst, check};

const WRITERS: usize = 16;
/// How long a shutdown may take here at most: in-flight requests are quick ones.
const EXIT: Duration = Duration::from_secs(30);

#[test]
fn sigterm_mid_burst_keeps_every_acknowledged_write_and_exits_0() {
    let mut d = Daemon::start(&["acme"]);
    let b = burst(&d, "acme", "term", WRITERS);
    b.wait_for(24);
    d.signal("TERM");
    let status = d.wait_exit(EXIT).expect("scimd exits after SIGTERM");
    // Every request was answered with success or not at all (refused after the listener
    // closed): `join` fails on any other answer.
    let acked = b.join();
    assert!(status.success(), "exit status {status}");
    let (dir, config, tokens) = d.kill();
    let d = Daemon::start_in(dir, config, tokens);
    check(&d.client("acme"), &acked);
}

/// Starts a POST of a user whose body (of `len` bytes) is never sent here, and returns once
/// the daemon is reading that body: with `Expect: 100-continue`, hyper sends its `100 Continue`
/// when the handler first asks for the body, so the request is surely in flight.
fn start_post(d: &Daemon, len: usize) -> std::net::TcpStream {
    let mut s = connect(d.addr());
    let head = format!(
        "POST /scim/v2/acme/Users HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: {len}\r\n\
         Expect: 100-continue\r\n\r\n",
        d.addr(),
        d.tokens["acme"]
    );
    s.write_all(head.as_bytes()).expect("head");
    let r = read_response(&mut s).expect("100 Continue");
    assert_eq!(r.status, 100, "{r:?}");
    s
}

#[test]
fn in_flight_requests_finish_after_sigterm_and_a_second_signal_exits_at_once() {
    // The old daemon (6457fe5) waited a fixed 5 s for in-flight requests, then exited 0, and
    // ignored a second signal.
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, tokens) = write_config_with(
        dir.path(),
        "[limits]\nshutdown_timeout_secs = 3600\nbody_read_timeout_secs = 3600\n",
        &[("acme", "")],
    );
    let mut d = Daemon::start_in(dir, config, tokens);
    let body = json!({"userName": "late@acme.com"}).to_string();
    // Two requests in flight, their bodies not sent yet.
    let mut finishing = start_post(&d, body.len());
    let _stuck = start_post(&d, body.len());

    d.signal("TERM");
    // The listener closes...
    eventually("the listener to close", Duration::from_secs(10), || {
        TcpStream::connect(d.addr()).is_err().then_some(())
    });
    // ...and a request in flight is still finished and answered.
    finishing.write_all(body.as_bytes()).expect("body");
    let r = read_response(&mut finishing).expect("an answer after SIGTERM");
    assert_eq!(r.status, 201, "{r:?}");
    // The other one holds the shutdown open (for up to an hour), until a second signal.
    assert!(d.running(), "scimd exited with a request still in flight");
    d.signal("TERM");
    let status = d.wait_exit(EXIT).expect("scimd exits at a second signal");
    assert_eq!(status.code(), Some(130), "exit status {status}");

    let (dir, config, tokens) = d.kill();
    let d = Daemon::start_in(dir, config, tokens);
    let users = d.client("acme").get("/Users");
    assert_eq!(users.total(), 1, "{:#}", users.body);
    assert_eq!(users.resources()[0]["userName"], "late@acme.com");
}
