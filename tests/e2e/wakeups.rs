//! Wake-ups across daemons on one PostgreSQL database: a long-poll on daemon B answers a
//! commit made through daemon A because A's commit notifies B's listener, not because B polls;
//! and B's listener reconnects after its connection is killed. Only `e2e-postgres` has it.
//!
//! While B's listener is connected, B reads the feed on its own only every `SAFETY_POLL`
//! (10 s). A long-poll that answers A's event within half of that since it was sent cannot
//! have been answered by the poll: it was woken, or its first read already found the event
//! (the commit won the race with the request). Each test runs a few rounds, so a listener
//! that does not work fails them however the races go.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use scimd::store::events::SAFETY_POLL;
use serde_json::Value;

use crate::events::consumer;
use crate::harness::{eventually, write_config_with, Client, Daemon};

/// Rounds of long-poll and commit per check.
const ROUNDS: usize = 3;

struct Pair {
    a: Daemon,
    b: Daemon,
    /// The events token of org acme, on both.
    events: String,
    /// The database both serve.
    db: String,
}

/// Two daemons serving org acme (with an events token) from one fresh database.
fn pair() -> Pair {
    let token = scimd_config::token::generate();
    let extra = format!("event_tokens = [\"{}\"]", scimd_config::token::hash(&token));
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, tokens) = write_config_with(dir.path(), "", &[("acme", extra.as_str())]);
    let text = std::fs::read_to_string(&config).expect("config");
    let url = text
        .lines()
        .find_map(|l| l.strip_prefix("url = "))
        .expect("a [store] url")
        .trim_matches('"')
        .to_string();
    let db = url.rsplit('/').next().expect("db name").to_string();
    let dir2 = tempfile::tempdir().expect("tempdir");
    let config2 = dir2.path().join("scimd.toml");
    std::fs::copy(&config, &config2).expect("copy config");
    Pair {
        a: Daemon::start_in(dir, config, tokens.clone()),
        b: Daemon::start_in(dir2, config2, tokens),
        events: token,
        db,
    }
}

/// `sql` in database `db`, one value.
fn psql(db: &str, sql: &str) -> String {
    let cluster = scimd_tests::pg::require().expect("the cluster");
    cluster.psql(db, sql).expect("psql")
}

/// The process ids of the listeners on `db` whose `LISTEN` holds.
fn listeners(db: &str) -> BTreeSet<String> {
    psql(
        db,
        &format!(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'scimd-listen' \
             AND datname = '{db}' AND query ILIKE 'LISTEN%'"
        ),
    )
    .lines()
    .map(str::to_string)
    .collect()
}

/// Waits until both daemons' listeners hold `LISTEN`, none of them in `old`.
fn listening(db: &str, old: &BTreeSet<String>) -> BTreeSet<String> {
    eventually("both daemons to listen", Duration::from_secs(30), || {
        let now = listeners(db);
        (now.len() == 2 && now.is_disjoint(old)).then_some(now)
    })
}

/// The feed's newest number, as B's events API says.
fn last_seq(feed: &Client) -> u64 {
    let page = feed.get("?after=0&limit=1000");
    page.expect(200);
    page.body["next"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .expect("next")
}

/// Rounds of: a long-poll on B after the newest event, a user created through A; B's answer
/// must carry that user's event, well before B's own safety poll could have read it.
fn b_wakes_for_commits_through_a(p: &Pair, tag: &str) {
    let feed = consumer(&p.b, "acme", &p.events);
    let scim_a = p.a.client("acme");
    for round in 0..ROUNDS {
        let after = last_seq(&feed);
        let sent = Instant::now();
        let waiting = {
            let feed = feed.clone();
            std::thread::spawn(move || feed.get(&format!("?after={after}&wait=25")))
        };
        let id = scim_a.create_user(&format!("{tag}{round}@acme.com"));
        // Half the poll's interval: whatever the checks' own delays, a poll cannot pass.
        let left = (SAFETY_POLL / 2).saturating_sub(sent.elapsed());
        eventually(
            "B's long-poll to answer before its safety poll could have",
            left,
            || waiting.is_finished().then_some(()),
        );
        let got = waiting.join().expect("the long-poll thread");
        got.expect(200);
        let data: Vec<Value> = got.body["data"].as_array().cloned().unwrap_or_default();
        assert_eq!(data.len(), 1, "round {round}: {}", got.body);
        assert_eq!(data[0]["type"], "user.created");
        assert_eq!(data[0]["data"]["id"], id.as_str());
    }
}

#[test]
fn a_long_poll_on_one_daemon_wakes_for_a_commit_through_another() {
    let p = pair();
    listening(&p.db, &BTreeSet::new());
    b_wakes_for_commits_through_a(&p, "first");
}

#[test]
fn a_killed_listener_reconnects_and_wakes_again() {
    let p = pair();
    let before = listening(&p.db, &BTreeSet::new());
    let killed = psql(
        &p.db,
        &format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = 'scimd-listen' AND datname = '{}'",
            p.db
        ),
    );
    assert_eq!(killed, "2");
    // New connections (new pids), each with its LISTEN back.
    listening(&p.db, &before);
    b_wakes_for_commits_through_a(&p, "again");
}
