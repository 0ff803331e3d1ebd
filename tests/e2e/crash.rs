//! SIGKILL under load, over and over: every write acknowledged before a kill is there after
//! the restart, intact, and no userName is stored twice.
//!
//! The old daemon (6457fe5) also committed before it answered; this guards the rewritten write
//! path (PATCH changes prepared outside the writer and written only if the version still
//! matches, batches re-run after a panic) against ever answering before the commit.

use crate::harness::Daemon;
use crate::load::{burst, check, Acked};

/// Kill and restart cycles.
const CYCLES: usize = 20;
/// Concurrent writers per burst.
const WRITERS: usize = 16;
/// Acknowledged creates a burst reaches before its kill (the kill lands mid-burst: the
/// writers keep going until the daemon is gone).
const BEFORE_KILL: usize = 24;

#[test]
fn every_acknowledged_write_survives_repeated_kills_under_load() {
    let d = Daemon::start(&["acme"]);
    let (mut dir, config, tokens) = d.stop();
    let mut acked: Vec<Acked> = Vec::new();
    for cycle in 0..CYCLES {
        let d = Daemon::start_in(dir, config.clone(), tokens.clone());
        check(&d.client("acme"), &acked);
        let b = burst(&d, "acme", &format!("c{cycle}"), WRITERS);
        b.wait_for(BEFORE_KILL);
        (dir, _, _) = d.kill();
        acked.extend(b.join());
    }
    let d = Daemon::start_in(dir, config, tokens);
    check(&d.client("acme"), &acked);
    println!(
        "{CYCLES} kills, {} acknowledged creates checked",
        acked.len()
    );
}
