//! Nothing a client without a valid token sends is logged one by one at the default level:
//! 2,000 requests of many shapes (unknown paths and orgs, a 2,000-character events path,
//! malformed request lines and headers, wrong tokens on both APIs) grow the daemon's log by
//! less than 10 KB, and are counted in the activity log instead.
//!
//! Before this, each unknown path under `/scim/v2/` or `/events/v1/` was a `request refused`
//! line at info with its path clipped to 256 characters: by estimate (not measured) some 80 KB
//! for this flood's 222 long events paths alone, lines of about 360 bytes.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{connect, eventually, read_response, write_config, Ctl, RawResp};
use crate::logs::serve_logging_to;

/// Requests in the flood.
const FLOOD: usize = 2_000;
/// Threads the flood is spread over, each on its own keep-alive connection.
const SENDERS: usize = 4;
/// What the whole flood may add to the log.
const LOG_BOUND: u64 = 10 << 10;

/// The `n`th request of the flood, and whether the daemon closes the connection after it.
fn shape(host: &str, n: usize) -> (Vec<u8>, u16, bool) {
    let long = "b".repeat(2_000);
    let (req, status, closes) = match n % 9 {
        0 => (format!("GET /no/such/path HTTP/1.1\r\nHost: {host}\r\n\r\n"), 404, false),
        1 => (
            format!("GET /scim/v2/nosuchorg{n}/Users HTTP/1.1\r\nHost: {host}\r\n\r\n"),
            401,
            false,
        ),
        2 => (
            format!(
                "GET /scim/v2/nosuchorg/Users HTTP/1.1\r\nHost: {host}\r\n\
                 Authorization: Bearer scimd_guess_{n}\r\n\r\n"
            ),
            401,
            false,
        ),
        3 => (
            format!("GET /events/v1/a/b{long} HTTP/1.1\r\nHost: {host}\r\n\r\n"),
            404,
            false,
        ),
        4 => (
            format!(
                "GET /events/v1/acme HTTP/1.1\r\nHost: {host}\r\n\
                 Authorization: Bearer scimd_wrong_{n}\r\n\r\n"
            ),
            401,
            false,
        ),
        5 => (format!("GET /scim/v2/ HTTP/1.1\r\nHost: {host}\r\n\r\n"), 404, false),
        6 => (format!("POST /healthz HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n"), 405, false),
        // Malformed: hyper answers these itself, then closes.
        7 => ("NONSENSE\r\n\r\n".to_string(), 400, true),
        _ => (format!("GET / HTTP/1.1\r\nHost: {host}\r\nno colon here\r\n\r\n"), 400, true),
    };
    (req.into_bytes(), status, closes)
}

/// Sends one request on `conn` (connecting when there is none) and reads its answer.
fn send(addr: &str, conn: &mut Option<TcpStream>, req: &[u8], closes: bool) -> RawResp {
    let s = conn.get_or_insert_with(|| connect(addr));
    s.write_all(req).expect("write");
    let r = read_response(s).unwrap_or_else(|e| panic!("no answer: {e}"));
    if closes || r.headers.get("connection").is_some_and(|c| c == "close") {
        *conn = None;
    }
    r
}

fn log_len(log: &Path) -> u64 {
    std::fs::metadata(log).map_or(0, |m| m.len())
}

#[test]
fn an_unauthenticated_flood_is_counted_not_logged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, _tokens) = write_config(dir.path(), &["acme"]);
    let log = dir.path().join("stderr.log");
    // RUST_LOG unset: the daemon's default level, info.
    let (mut child, origin) = serve_logging_to(&config, &log, None);
    let addr = origin.trim_start_matches("http://").to_string();
    // Startup lines are written before the listening line is printed.
    let before = log_len(&log);

    std::thread::scope(|scope| {
        for t in 0..SENDERS {
            let addr = addr.as_str();
            scope.spawn(move || {
                let mut conn = None;
                for n in (t..FLOOD).step_by(SENDERS) {
                    let (req, status, closes) = shape(addr, n);
                    let r = send(addr, &mut conn, &req, closes);
                    assert_eq!(r.status, status, "request {n}: {r:?}");
                }
            });
        }
    });

    // Counted instead: each kind has its record in the activity log.
    let mut ctl = Ctl::connect(&dir.path().join("data").join("scimd.sock"));
    let records: Vec<Value> = eventually(
        "the counts of every kind in the activity log",
        Duration::from_secs(15),
        || {
            let records = ctl.recent(10_000);
            let has = |status: u64| records.iter().any(|r| r["status"] == status);
            (has(401) && has(404) && has(400)).then_some(records)
        },
    );
    assert!(
        records.len() <= 12,
        "{} records for the flood: {records:#?}",
        records.len()
    );

    let grown = log_len(&log) - before;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    println!("the log grew by {grown} bytes over {FLOOD} unauthenticated requests");
    assert!(
        grown < LOG_BOUND,
        "the log grew by {grown} bytes over {FLOOD} requests:\n{text}"
    );
    assert!(!text.contains("bbbbbbbbbb"), "a request's path reached the log:\n{text}");
}
