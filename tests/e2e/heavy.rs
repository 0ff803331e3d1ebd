//! Pathological and heavy PATCHes: too many values for one attribute are refused with 400
//! invalidValue and change nothing, and a heavy but valid PATCH of one org does not hold up
//! another org's write.
//!
//! The old daemon (6457fe5) had no cap on values (a PATCH adding 36,000 emails was stored) and
//! computed every PATCH inside the single writer thread, so one org's seconds-long PATCH made
//! every other org's writes wait for it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{assert_error, eventually, patch_body, Daemon, USER};

/// The daemon's CPU time so far, in clock ticks (user + system, all threads).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the line; `rest` starts at field 3.
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

#[test]
fn too_many_values_are_400_invalid_value_and_change_nothing() {
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let id = c.create_user("victim@acme.com");
    let path = format!("/Users/{id}");
    let before = c.get(&path).body;

    // 36,000 emails in one operation, about 750 KB.
    let emails: Vec<Value> = (0..36_000)
        .map(|i| json!({"value": format!("e{i}@x")}))
        .collect();
    let r = c.patch_ops(
        &path,
        json!([{"op": "add", "path": "emails", "value": emails}]),
    );
    assert_error(&r, 400, Some("invalidValue"));
    // 1,000 operations (the most a PATCH may carry) of one email each.
    let ops: Vec<Value> = (0..1_000)
        .map(|i| json!({"op": "add", "path": "emails", "value": [{"value": format!("o{i}@x")}]}))
        .collect();
    let r = c.patch_ops(&path, Value::Array(ops));
    assert_error(&r, 400, Some("invalidValue"));
    // And a POST or PUT with too many is refused the same way.
    let many: Vec<Value> = (0..101)
        .map(|i| json!({"value": format!("p{i}@x")}))
        .collect();
    let r = c.put(
        &path,
        &json!({"schemas": [USER], "userName": "victim@acme.com", "emails": many}),
    );
    assert_error(&r, 400, Some("invalidValue"));
    let r = c.post(
        "/Users",
        &json!({"schemas": [USER], "userName": "other@acme.com", "emails": many}),
    );
    assert_error(&r, 400, Some("invalidValue"));

    assert_eq!(
        c.get(&path).body,
        before,
        "a refused write changed the user"
    );
    assert_eq!(c.get("/Users").total(), 1);
}

/// Rounds of a heavy PATCH with another org's POST sent while it is being applied.
const ROUNDS: usize = 2;
/// Daemon CPU time (clock ticks, 100 a second) spent on a heavy PATCH before the other org
/// writes: far past reading and parsing its 76 KB body (a few milliseconds), well inside
/// applying its operations (seconds in a debug build).
const INTO_THE_PATCH: u64 = 10;

/// 100 emails (the cap) of 1 KB each.
fn big_emails(tag: &str) -> Vec<Value> {
    (0..100)
        .map(|i| json!({"value": format!("{tag}{}{i}@x.io", "a".repeat(490))}))
        .collect()
}

#[test]
fn a_heavy_patch_of_one_org_does_not_hold_up_another_orgs_write() {
    let d = Daemon::start(&["alpha", "beta"]);
    let (a, b) = (d.client("alpha"), d.client("beta"));
    let pid = d.child.id();
    // 1,000 operations (the cap) that each filter 100 emails (the cap) of 500 bytes (near
    // `max_indexed_length`) by substring:
    // valid, and seconds of work.
    let id = a
        .post(
            "/Users",
            &json!({"schemas": [USER], "userName": "heavy@alpha.io", "emails": big_emails("h")}),
        )
        .expect(201)
        .id();
    let seq = AtomicUsize::new(0);
    let mut checked = 0;
    for round in 0..ROUNDS {
        let ops: Vec<Value> = (0..1_000)
            .map(|i| {
                json!({"op": "replace", "path": "emails[value co \"@x.io\"].display",
                       "value": format!("r{round}-{i}")})
            })
            .collect();
        let heavy_body = patch_body(Value::Array(ops));
        let cpu0 = cpu_ticks(pid);
        std::thread::scope(|s| {
            let heavy = s.spawn(|| {
                // A short answer: once written, the PATCH is answered within milliseconds.
                let r = a.patch(&format!("/Users/{id}?attributes=id"), &heavy_body);
                (r, seq.fetch_add(1, Ordering::SeqCst))
            });
            // Polled, not slept: the daemon has worked on the PATCH for a while.
            eventually(
                "the daemon to work on the heavy PATCH",
                Duration::from_secs(60),
                || (cpu_ticks(pid) >= cpu0 + INTO_THE_PATCH || heavy.is_finished()).then_some(()),
            );
            // A user with 100 emails: its write, with its index entries, takes longer than the
            // heavy PATCH's answer. So on the old daemon, where it had to wait for the writer
            // to finish the PATCH, it always finished second.
            let light_done = (!heavy.is_finished()).then(|| {
                let name = format!("light{round}@beta.io");
                let body = json!({"schemas": [USER], "userName": name,
                                  "emails": big_emails(&format!("b{round}"))});
                b.post("/Users", &body).expect(201);
                seq.fetch_add(1, Ordering::SeqCst)
            });
            let (r, heavy_done) = heavy.join().expect("heavy thread");
            r.expect(200);
            if let Some(light_done) = light_done {
                assert!(
                    light_done < heavy_done,
                    "round {round}: alpha's heavy PATCH finished before beta's POST"
                );
                checked += 1;
            }
        });
    }
    // A machine so fast that the PATCH ended before the daemon had spent 0.1 s on it would
    // check nothing; a debug build here takes seconds per round.
    assert!(checked > 0, "every heavy PATCH ended too soon to test");
    let u = a.get(&format!("/Users/{id}")).body;
    assert_eq!(u["emails"][99]["display"], format!("r{}-999", ROUNDS - 1));
    assert_eq!(b.get("/Users").total(), checked);
}
