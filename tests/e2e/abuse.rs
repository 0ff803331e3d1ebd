//! Clients that anyone on the internet can be: a flood of failed authentications with huge
//! org names and User-Agents does not grow the store or push real history out, and an org
//! over its `rate_limit` is answered 429 while other orgs are served as usual.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{
    assert_error, connect, eventually, read_response, socket_path, Ctl, Daemon, RawResp,
};

/// Failed authentications sent by the flood.
const FLOOD: usize = 2_000;
/// Connections the flood is spread over (each keep-alive).
const FLOODERS: usize = 4;
/// The bound on `scimd.redb` after the flood. A fresh store measures 1,589,248 bytes here
/// (redb's first regions), and so does this one after the flood. The old daemon (6457fe5)
/// stored one record per 401 with its whole org name: 135 MB after this flood (its control
/// socket could not even list them in time), so 8 MiB leaves ample margin both ways.
const DB_BOUND: u64 = 8 << 20;

/// One keep-alive connection's answer to `req`, reconnecting (at most a few times) when the
/// daemon closed the connection after an earlier answer.
fn ask(addr: &str, conn: &mut Option<TcpStream>, req: &[u8]) -> RawResp {
    let mut tries = 0;
    loop {
        let s = conn.get_or_insert_with(|| connect(addr));
        let answer = s
            .write_all(req)
            .map_err(|e| e.to_string())
            .and_then(|()| read_response(s));
        match answer {
            Ok(r) if r.headers.get("connection").is_some_and(|c| c == "close") => {
                *conn = None;
                return r;
            }
            Ok(r) => return r,
            Err(e) => {
                *conn = None;
                tries += 1;
                assert!(tries < 3, "no answer after {tries} connections: {e}");
            }
        }
    }
}

/// The `n`th request of the flood: unknown org names of 50-60 KB, a wrong token on a real
/// org, User-Agents of 8 KB; each head stays under the daemon's 64 KiB head limit.
fn flood_request(addr: &str, n: usize) -> Vec<u8> {
    let big_agent = format!("flood/{}", "u".repeat(8 << 10));
    let (path, auth, agent) = match n % 4 {
        0 => (
            format!("/scim/v2/{n}{}/Users", "o".repeat(60_000)),
            String::new(),
            "flood/1".to_string(),
        ),
        1 => (
            format!("/scim/v2/{n}{}/Users", "p".repeat(50_000)),
            "Authorization: Bearer scimd_guess\r\n".to_string(),
            big_agent,
        ),
        2 => (
            "/scim/v2/acme/Users".to_string(),
            format!("Authorization: Bearer scimd_wrong_{n}\r\n"),
            big_agent,
        ),
        _ => (
            format!("/scim/v2/acme/Users/{}", "i".repeat(50_000)),
            String::new(),
            big_agent,
        ),
    };
    let method = if n % 4 == 3 { "DELETE" } else { "GET" };
    format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}User-Agent: {agent}\r\n\r\n")
        .into_bytes()
}

#[test]
fn a_flood_of_failed_logins_leaves_a_few_records_and_the_history_intact() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let ann = c.create_user("ann@acme.com");
    c.create_user("bob@acme.com");
    c.patch_ops(
        &format!("/Users/{ann}"),
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .expect(200);
    let mut ctl = Ctl::connect(&socket_path(&d));
    let history = eventually(
        "the real writes in the log",
        Duration::from_secs(15),
        || {
            let records = ctl.recent(100);
            (records.len() >= 3).then_some(records)
        },
    );

    std::thread::scope(|scope| {
        for t in 0..FLOODERS {
            let addr = d.addr();
            scope.spawn(move || {
                let mut conn = None;
                for n in (t..FLOOD).step_by(FLOODERS) {
                    let r = ask(addr, &mut conn, &flood_request(addr, n));
                    assert_eq!(r.status, 401, "request {n}: {r:?}");
                }
            });
        }
    });

    // Counted, not stored one by one: one record per bucket (the org, and every unknown
    // name together), each string clipped.
    let auth: Vec<Value> = eventually(
        "the failures of both buckets in the log",
        Duration::from_secs(15),
        || {
            let auth: Vec<Value> = ctl
                .recent(10_000)
                .into_iter()
                .filter(|r| r["resource"] == "auth")
                .collect();
            let buckets = |org: &str| auth.iter().any(|r| r["org"] == org);
            (buckets("acme") && buckets("")).then_some(auth)
        },
    );
    // One per bucket per minute; a run that crosses a minute boundary may add a count record.
    assert!(auth.len() <= 4, "{} auth records: {auth:#?}", auth.len());
    for r in &auth {
        assert_eq!(r["status"], 401, "{r}");
        for (field, max) in [
            ("org", 64),
            ("client", 64),
            ("method", 64),
            ("summary", 512),
        ] {
            let len = r[field].as_str().map_or(0, |s| s.chars().count());
            assert!(len <= max + 1, "{field} of {len} characters kept: {r}");
        }
    }

    // The real history is all still there, and so are the users.
    let after = ctl.recent(10_000);
    for rec in &history {
        assert!(after.contains(rec), "{rec} lost in the flood");
    }
    assert_eq!(c.get("/Users").total(), 2);
    assert_eq!(c.get(&format!("/Users/{ann}")).body["active"], false);

    // The bound on what the flood stored: the redb file, or on PostgreSQL the activity rows.
    if crate::harness::on_postgres() {
        let kept = ctl.recent(100_000).len();
        assert!(kept < 1000, "{kept} activity records kept after the flood");
        return;
    }
    let size = std::fs::metadata(d.data_dir().join("scimd.redb"))
        .expect("store file")
        .len();
    println!("scimd.redb after {FLOOD} failed logins: {size} bytes");
    assert!(size < DB_BOUND, "scimd.redb grew to {size} bytes");
}

#[test]
fn an_org_over_its_rate_limit_gets_429_and_others_do_not() {
    let d = Daemon::start_with(
        "",
        &[("limited", "rate_limit = 2\nrate_burst = 2"), ("free", "")],
    );
    let limited = d.client("limited");
    let free = d.client("free");
    // A fresh bucket holds the burst.
    limited.get("/Users?count=1").expect(200);

    // At 2 requests a second, rapid requests soon find the bucket empty.
    let mut sent = 1;
    let refused = loop {
        let r = limited.get("/Users?count=1");
        sent += 1;
        if r.status == 429 {
            break r;
        }
        r.expect(200);
        assert!(sent < 200, "no 429 after {sent} rapid requests");
    };
    assert_error(&refused, 429, None);
    let secs: u64 = refused
        .retry_after
        .as_deref()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After seconds: {refused:?}"));
    assert!(secs >= 1, "Retry-After {secs}");

    // Another org is not held back.
    for _ in 0..20 {
        free.get("/Users?count=1").expect(200);
    }
    // And the limited org is served again once its bucket refills.
    eventually(
        "the limited org served again",
        Duration::from_secs(10),
        || (limited.get("/Users?count=1").status == 200).then_some(()),
    );
}
