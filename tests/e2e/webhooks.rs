//! Webhook delivery end to end, with a real HTTP receiver: Okta- and Entra-style changes
//! arrive once, in order, signed; a receiver that refuses for a while gets everything after;
//! a kill -9 mid-burst loses no acknowledged write's event; a dead endpoint of one org holds
//! up nobody else; `scimd webhook add`, `scimd webhook test` and `scimd webhook remove` work on
//! a live daemon.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::events::{consumer, drain, start_with as start};
use crate::harness::{eventually, patch_body, scimd, socket_path, Client, Ctl, Daemon, GROUP, USER};
use crate::receiver::{secret, Receiver};

const DELIVERY: Duration = Duration::from_secs(90);

/// The lines of one `[[orgs.NAME.webhooks]]` table.
fn hook(org: &str, url: &str, secret: &str) -> String {
    format!("\n[[orgs.{org}.webhooks]]\nurl = \"{url}\"\nsecret = \"{secret}\"\n")
}

/// Waits until the receiver has acknowledged `n` deliveries; returns them.
fn delivered(r: &Receiver, n: usize) -> Vec<crate::receiver::Delivery> {
    eventually(&format!("{n} deliveries"), DELIVERY, || {
        let got = r.delivered();
        (got.len() >= n).then_some(got)
    })
}

fn okta_sequence(c: &Client) {
    let ann = c.create_user("ann@acme.com");
    let bob = c.create_user("bob@acme.com");
    let path = format!("/Users/{ann}");
    // Okta's profile push is a PUT of the whole user.
    let mut full = c.get(&path).body;
    full["title"] = json!("Engineer");
    c.put(&path, &full).expect(200);
    // Deactivate, then reactivate, by PATCH.
    c.patch_ops(&path, json!([{"op": "replace", "value": {"active": false}}]))
        .expect(200);
    c.patch_ops(&path, json!([{"op": "replace", "value": {"active": true}}]))
        .expect(200);
    // Push Groups: an empty team, then members, a rename, a removal.
    let team = c.create_group("Engineering", &[]);
    let tpath = format!("/Groups/{team}");
    c.patch_ops(
        &tpath,
        json!([{"op": "add", "path": "members", "value": [{"value": ann}, {"value": bob}]}]),
    )
    .expect(204);
    c.patch_ops(
        &tpath,
        json!([{"op": "replace", "value": {"id": team, "displayName": "Platform"}}]),
    )
    .expect(204);
    c.patch_ops(
        &tpath,
        json!([{"op": "remove", "path": format!("members[value eq \"{bob}\"]")}]),
    )
    .expect(204);
    // A no-op produces no event.
    c.patch_ops(&path, json!([{"op": "replace", "value": {"active": true}}]))
        .expect(200);
    c.delete(&tpath).expect(204);
    c.delete(&format!("/Users/{bob}")).expect(204);
}

fn entra_sequence(c: &Client) {
    let r = c.post(
        "/Users",
        &json!({
            "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "externalId": "e-1",
            "userName": "cy@acme.com",
            "active": true,
            "displayName": "Cy",
            "emails": [{"primary": true, "type": "work", "value": "cy@acme.com"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"},
        }),
    );
    r.expect(201);
    let cy = r.id();
    let path = format!("/Users/{cy}");
    c.patch(
        &path,
        &patch_body(json!([
            {"op": "Replace", "path": "displayName", "value": "Cy Young"},
            {"op": "Add", "path": "title", "value": "Lead"},
        ])),
    )
    .expect(200);
    let r = c.post(
        "/Groups",
        &json!({"schemas": [GROUP], "displayName": "Sales", "externalId": "g-1"}),
    );
    r.expect(201);
    let team = r.id();
    c.patch(
        &format!("/Groups/{team}"),
        &patch_body(json!([{"op": "Add", "path": "members", "value": [{"value": cy}]}])),
    )
    .expect(204);
    c.patch(
        &path,
        &patch_body(json!([{"op": "Replace", "path": "active", "value": "False"}])),
    )
    .expect(200);
}

#[test]
fn okta_and_entra_changes_arrive_once_in_order_and_signed() {
    let receiver = Receiver::start();
    let key = secret();
    let (d, tokens) = start("", &[("acme", hook("acme", &receiver.url(), &key))]);
    let c = d.client("acme");
    okta_sequence(&c);
    entra_sequence(&c);
    let feed = drain(&consumer(&d, "acme", &tokens["acme"]));
    let kinds: BTreeSet<&str> = feed.iter().filter_map(|e| e["type"].as_str()).collect();
    for kind in scimd_config::EVENT_TYPES {
        assert!(kinds.contains(kind), "the sequence lacks {kind}: {kinds:?}");
    }
    let got = delivered(&receiver, feed.len());
    // Once each: nothing was retried, nothing came twice.
    assert_eq!(receiver.all().len(), feed.len(), "every event exactly once");
    for (sent, event) in got.iter().zip(&feed) {
        // The body is the event as the events API gives it.
        assert_eq!(&sent.json(), event);
        assert_eq!(sent.header("webhook-id"), event["id"].as_str().unwrap());
        assert_eq!(sent.header("content-type"), "application/json");
        assert!(sent.verifies(&key), "the signature verifies: {sent:?}");
        assert!(!sent.verifies(&secret()), "a wrong secret must not verify");
        let ts: i64 = sent.header("webhook-timestamp").parse().expect("a timestamp");
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert!((now - ts).abs() < 300, "timestamp {ts} is now");
    }
    // A body changed in transit fails the check.
    let mut forged = got[0].clone();
    forged.body = serde_json::to_vec(&json!({"type": "user.deleted"})).unwrap();
    assert!(!forged.verifies(&key));
}

#[test]
fn a_receiver_that_refuses_for_a_while_gets_every_event_in_order_after() {
    let mut receiver = Receiver::start();
    let key = secret();
    let (d, tokens) = start("", &[("acme", hook("acme", &receiver.url(), &key))]);
    let c = d.client("acme");
    receiver.answer(503);
    for i in 0..3 {
        c.create_user(&format!("u{i}@acme.com"));
    }
    // Tried, refused, and tried again.
    eventually("a retry after a 503", DELIVERY, || {
        (receiver.all().len() >= 2).then_some(())
    });
    assert!(receiver.delivered().is_empty());
    // The dashboard sees the endpoint failing: nothing delivered, a backlog, the error.
    let mut ctl = Ctl::connect(&socket_path(&d));
    let hook = |ctl: &mut Ctl| -> Value {
        let snap = ctl.ask(json!({"type": "snapshot"}), "snapshot");
        snap["orgs"][0]["webhooks"][0].clone()
    };
    let failing = eventually("the failure on the dashboard", DELIVERY, || {
        let h = hook(&mut ctl);
        (h["attempts"].as_u64() >= Some(1)).then_some(h)
    });
    // Named by host and endpoint id: the URL's path and query stay off the wire.
    assert_eq!(failing["host"], "127.0.0.1");
    assert_eq!(failing["endpoint"].as_str().map(str::len), Some(16), "{failing}");
    assert!(failing.get("url").is_none(), "{failing}");
    assert_eq!(failing["delivered"], 0);
    assert_eq!(failing["backlog"], 3);
    assert!(failing["last_error"].as_str().unwrap_or_default().contains("503"), "{failing}");
    assert!(failing["next_retry"].is_string(), "{failing}");
    // Then not even listening.
    receiver.down();
    for i in 3..5 {
        c.create_user(&format!("u{i}@acme.com"));
    }
    receiver.up();
    receiver.answer(200);
    let feed = drain(&consumer(&d, "acme", &tokens["acme"]));
    assert_eq!(feed.len(), 5);
    let got = delivered(&receiver, 5);
    let seqs: Vec<u64> = got.iter().map(|g| g.json()["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5], "in order, each once delivered");
    let caught_up = eventually("the dashboard caught up", DELIVERY, || {
        let h = hook(&mut ctl);
        (h["delivered"] == 5).then_some(h)
    });
    assert_eq!(caught_up["backlog"], 0);
    assert_eq!(caught_up["attempts"], 0);
    assert!(caught_up["last_success"].is_string(), "{caught_up}");
    // Every retry of an event carried the same id, and verified.
    for attempt in receiver.all() {
        let seq = attempt.json()["seq"].as_u64().unwrap() as usize;
        assert_eq!(attempt.header("webhook-id"), feed[seq - 1]["id"].as_str().unwrap());
        assert!(attempt.verifies(&key));
    }
}

#[test]
fn a_kill_9_mid_burst_loses_no_acknowledged_writes_event() {
    let receiver = Receiver::start();
    let key = secret();
    let (d, _tokens) = start("", &[("acme", hook("acme", &receiver.url(), &key))]);
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let writer = {
        let c = d.client("acme");
        let acked = acked.clone();
        std::thread::spawn(move || {
            for i in 0..100_000 {
                let r = c.try_send(
                    "POST",
                    "/Users",
                    Some(&json!({"schemas": [USER], "userName": format!("burst{i}@acme.com")})),
                );
                match r {
                    Ok(r) if r.status == 201 => acked.lock().unwrap().push(r.id()),
                    _ => return,
                }
            }
        })
    };
    eventually("deliveries under way", DELIVERY, || {
        (receiver.delivered().len() >= 20).then_some(())
    });
    // A backlog at the kill: the receiver refuses while the burst goes on.
    receiver.answer(503);
    eventually("refused deliveries", DELIVERY, || {
        (receiver.all().len() > receiver.delivered().len()).then_some(())
    });
    let (dir, config, tokens) = d.kill();
    writer.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    let before: BTreeSet<String> = receiver
        .delivered()
        .iter()
        .filter_map(|g| g.json()["data"]["id"].as_str().map(str::to_string))
        .collect();
    assert!(
        acked.iter().any(|id| !before.contains(id)),
        "some acknowledged writes were not delivered before the kill"
    );
    receiver.answer(200);
    // On PostgreSQL the killed daemon's lease runs out first (30 s).
    let _d = Daemon::start_in(dir, config, tokens);
    let got = eventually("every acknowledged user's event", DELIVERY, || {
        let got = receiver.delivered();
        let created: BTreeSet<String> = got
            .iter()
            .map(|g| g.json())
            .filter(|e| e["type"] == "user.created")
            .filter_map(|e| e["data"]["id"].as_str().map(str::to_string))
            .collect();
        acked.iter().all(|id| created.contains(id)).then_some(got)
    });
    // A duplicate is the same event again: same id, same number.
    let mut ids: BTreeMap<u64, String> = BTreeMap::new();
    let mut last = 0;
    for g in &got {
        assert!(g.verifies(&key));
        let seq = g.json()["seq"].as_u64().unwrap();
        let id = g.header("webhook-id").to_string();
        assert_eq!(ids.entry(seq).or_insert_with(|| id.clone()), &id);
        // In order, though a restart may go back to resend what it had not saved.
        assert!(seq <= last + 1, "no event skipped: {seq} after {last}");
        last = last.max(seq);
    }
}

#[test]
fn a_dead_endpoint_of_one_org_holds_up_no_other() {
    // Accepts connections (the kernel does) and never answers.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/hook", dead.local_addr().unwrap());
    let receiver = Receiver::start();
    let key = secret();
    let (d, _tokens) = start(
        "[webhooks]\ntimeout_secs = 300\n",
        &[
            ("globex", hook("globex", &dead_url, &secret())),
            ("acme", hook("acme", &receiver.url(), &key)),
        ],
    );
    let g = d.client("globex");
    for i in 0..5 {
        g.create_user(&format!("g{i}@globex.com"));
    }
    let c = d.client("acme");
    for i in 0..5 {
        c.create_user(&format!("a{i}@acme.com"));
    }
    // Well before globex's first attempt could time out.
    let got = eventually("acme's events", Duration::from_secs(30), || {
        let got = receiver.delivered();
        (got.len() >= 5).then_some(got)
    });
    assert!(got.iter().all(|g| g.json()["org"] == "acme" && g.verifies(&key)));
    drop(dead);
}

#[test]
fn webhook_add_applies_live_with_its_filter_and_webhook_test_pings() {
    let receiver = Receiver::start();
    let (token, hash) = crate::reload::new_token();
    let text = crate::reload::config(
        &format!("{}\n", crate::harness::store_table()),
        &[crate::reload::org("acme", &[&hash], "")],
    );
    let (d, mut logs) = crate::reload::start(&text, &[("acme", &token)]);
    let c = d.client("acme");
    c.create_user("before@acme.com");
    let added = scimd(
        &[
            "webhook",
            "add",
            "--org",
            "acme",
            "--url",
            &receiver.url(),
            "--events",
            "user.created,user.deleted",
        ],
        &d.config,
    );
    assert!(added.status.success(), "{added:?}");
    let out = String::from_utf8_lossy(&added.stdout).to_string();
    let key = out.lines().last().unwrap().trim().to_string();
    assert!(key.starts_with("whsec_"), "{out}");
    logs.wait_for("webhook delivery started");
    let id = c.create_user("after@acme.com");
    c.patch_ops(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "value": {"title": "x"}}]),
    )
    .expect(200);
    c.delete(&format!("/Users/{id}")).expect(204);
    let got = delivered(&receiver, 2);
    let kinds: Vec<Value> = got.iter().map(|g| g.json()["type"].clone()).collect();
    // Only what the filter asks for, and nothing from before the endpoint existed.
    assert_eq!(kinds, [json!("user.created"), json!("user.deleted")]);
    assert_eq!(got[0].json()["data"]["userName"], "after@acme.com");
    assert!(got.iter().all(|g| g.verifies(&key)));

    let pinged = scimd(&["webhook", "test", "--org", "acme"], &d.config);
    let said = String::from_utf8_lossy(&pinged.stdout).to_string();
    assert!(pinged.status.success(), "{said} {pinged:?}");
    assert!(said.contains("ok (HTTP 200)"), "{said}");
    let ping = receiver.delivered().last().cloned().unwrap();
    assert_eq!(ping.json()["type"], "webhook.test");
    assert_eq!(ping.json()["org"], "acme");
    assert!(ping.verifies(&key));

    // A redirect is not followed: the test says so and fails.
    receiver.answer(302);
    let redirected = scimd(&["webhook", "test", "--org", "acme"], &d.config);
    assert!(!redirected.status.success());
    let said = String::from_utf8_lossy(&redirected.stdout).to_string();
    assert!(said.contains("redirect"), "{said}");

    // A bad URL is refused and the file is left as it was.
    let before = std::fs::read_to_string(&d.config).unwrap();
    let bad = scimd(
        &["webhook", "add", "--org", "acme", "--url", "ftp://x.example/"],
        &d.config,
    );
    assert!(!bad.status.success());
    assert_eq!(std::fs::read_to_string(&d.config).unwrap(), before);
}

#[test]
fn webhook_remove_names_the_endpoint_keeps_the_rest_of_the_file_and_applies_live() {
    use std::os::unix::fs::PermissionsExt;
    // The removed endpoint's path and query carry a receiver's token: never printed.
    let secret_url = "http://hooks.example.com/in/PATHSECRET?token=QSECRET";
    let kept_url = "http://127.0.0.1:9/kept";
    let (token, hash) = crate::reload::new_token();
    let hooks = format!(
        "# the CRM's receiver\n{}{}",
        hook("acme", secret_url, &secret()),
        hook("acme", kept_url, &secret())
    );
    let text = crate::reload::config(
        &format!("# operator's note\n{}\n", crate::harness::store_table()),
        &[crate::reload::org("acme", &[&hash], &hooks)],
    );
    let (d, mut logs) = crate::reload::start(&text, &[("acme", &token)]);
    let mut ctl = Ctl::connect(&socket_path(&d));
    let hosts = |ctl: &mut Ctl| -> Vec<String> {
        let snap = ctl.ask(json!({"type": "snapshot"}), "snapshot");
        snap["orgs"][0]["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["host"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(hosts(&mut ctl), ["hooks.example.com", "127.0.0.1"]);

    // Respelled scheme and host, as an operator might type it: still the same endpoint.
    let removed = scimd(
        &[
            "webhook",
            "remove",
            "--org",
            "acme",
            "--url",
            "HTTP://Hooks.Example.com:80/in/PATHSECRET?token=QSECRET",
        ],
        &d.config,
    );
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&removed.stdout),
        String::from_utf8_lossy(&removed.stderr)
    );
    assert!(removed.status.success(), "{said}");
    let id = scimd_config::Config::from_toml_str(&text, &d.config)
        .unwrap()
        .org("acme")
        .unwrap()
        .webhooks[0]
        .id();
    assert!(said.contains(&format!("endpoint {id} (hooks.example.com)")), "{said}");
    assert!(!said.contains("PATHSECRET") && !said.contains("QSECRET"), "{said}");

    let after = std::fs::read_to_string(&d.config).unwrap();
    assert!(after.contains("# operator's note") && after.contains(kept_url), "{after}");
    assert!(!after.contains("PATHSECRET"), "{after}");
    let mode = std::fs::metadata(&d.config).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    logs.wait_for("config reloaded");
    eventually("the endpoint gone from the daemon", DELIVERY, || {
        (hosts(&mut ctl) == ["127.0.0.1"]).then_some(())
    });

    // Nothing matches now: refused, the URL not echoed, the file untouched.
    let again = scimd(
        &["webhook", "remove", "--org", "acme", "--url", secret_url],
        &d.config,
    );
    let said = String::from_utf8_lossy(&again.stderr).to_string();
    assert!(!again.status.success());
    assert!(said.contains("has no webhook with that URL"), "{said}");
    assert!(!said.contains("PATHSECRET"), "{said}");
    assert_eq!(std::fs::read_to_string(&d.config).unwrap(), after);
}
