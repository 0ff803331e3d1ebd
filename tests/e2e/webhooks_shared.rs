//! Webhooks of several daemons on one PostgreSQL database: they share the delivery work by
//! lease, so each event reaches the endpoint once, in order, whichever daemon took the write,
//! and a daemon that stops hands its endpoints to the others. PostgreSQL only.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::harness::{eventually, on_postgres, write_config_with, Daemon};
use crate::receiver::{secret, Receiver};

#[test]
fn two_daemons_deliver_each_event_once_and_a_stopped_one_hands_over() {
    if !on_postgres() {
        println!("skipped: several daemons share a store only on PostgreSQL");
        return;
    }
    let receiver = Receiver::start();
    let key = secret();
    let hook = format!(
        "\n[[orgs.acme.webhooks]]\nurl = \"{}\"\nsecret = \"{key}\"\n",
        receiver.url()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, tokens) = write_config_with(dir.path(), "", &[("acme", hook.as_str())]);
    let dir2 = tempfile::tempdir().expect("tempdir");
    let config2 = dir2.path().join("scimd.toml");
    std::fs::copy(&config, &config2).expect("copy config");
    let a = Daemon::start_in(dir, config, tokens.clone());
    let b = Daemon::start_in(dir2, config2, tokens);
    let (ca, cb) = (a.client("acme"), b.client("acme"));
    for i in 0..20 {
        let c = if i % 2 == 0 { &ca } else { &cb };
        c.create_user(&format!("u{i}@acme.com"));
    }
    let seqs = |r: &Receiver| -> Vec<u64> {
        r.all()
            .iter()
            .map(|d| d.json()["seq"].as_u64().unwrap_or(0))
            .collect()
    };
    eventually("20 deliveries", Duration::from_secs(60), || {
        (receiver.delivered().len() >= 20).then_some(())
    });
    assert_eq!(seqs(&receiver), (1..=20).collect::<Vec<u64>>(), "once each, in order");
    // Whichever daemon held the endpoint, the other carries on after this one stops.
    let _ = a.stop();
    for i in 20..30 {
        cb.create_user(&format!("u{i}@acme.com"));
    }
    eventually("30 deliveries", Duration::from_secs(60), || {
        (receiver.delivered().len() >= 30).then_some(())
    });
    let got = seqs(&receiver);
    assert_eq!(got, (1..=30).collect::<Vec<u64>>(), "once each, in order: {got:?}");
    let ids: BTreeSet<String> = receiver
        .all()
        .iter()
        .map(|d| d.header("webhook-id").to_string())
        .collect();
    assert_eq!(ids.len(), 30);
    assert!(receiver.all().iter().all(|d| d.verifies(&key)));
}
