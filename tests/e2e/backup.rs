//! `scimd backup`, `restore`, `export` and `compact` against the real binary: a backup taken
//! during a burst of writes holds every write acknowledged before it started and serves; an
//! export re-imported through SCIM gives the same users and teams; restore and compact refuse
//! while a daemon serves.

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{eventually, on_postgres, scimd, scimd_bin, Client, Daemon, USER};

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_backup_during_a_burst_holds_every_acknowledged_write_and_serves() {
    let d = Daemon::start(&["acme"]);
    let backup = d.dir.path().join("nightly.redb");
    if on_postgres() {
        let out = scimd(&["backup", "--out", backup.to_str().unwrap()], &d.config);
        assert!(!out.status.success());
        assert!(text(&out).contains("pg_dump"), "{}", text(&out));
        return;
    }
    let c = d.client("acme");
    let mut acknowledged: Vec<(String, String)> = (0..40)
        .map(|i| {
            let name = format!("before-{i}@acme.com");
            (c.create_user(&name), name)
        })
        .collect();
    // A writer that keeps going while the backup is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let during = Arc::new(Mutex::new(Vec::new()));
    let writer = {
        let (c, stop, during) = (c.clone(), stop.clone(), during.clone());
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let name = format!("during-{i}@acme.com");
                let r = c.post("/Users", &json!({"userName": name}));
                assert_eq!(r.status, 201);
                during.lock().unwrap().push(name);
                i += 1;
            }
        })
    };
    crate::harness::eventually("writes in flight", std::time::Duration::from_secs(30), || {
        (during.lock().unwrap().len() >= 5).then_some(())
    });
    // Everything acknowledged up to here must be in the backup.
    let before: Vec<String> = during.lock().unwrap().clone();
    let out = scimd(&["backup", "--out", backup.to_str().unwrap()], &d.config);
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer");
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("running daemon"), "{said}");
    assert!(said.contains("org acme:"), "{said}");
    // A second backup to the same file is refused rather than overwriting it.
    let again = scimd(&["backup", "--out", backup.to_str().unwrap()], &d.config);
    assert!(!again.status.success());
    assert!(text(&again).contains("already exists"), "{}", text(&again));

    // Restore is refused while the daemon serves.
    let refused = scimd(&["restore", "--from", backup.to_str().unwrap()], &d.config);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("stop it"), "{}", text(&refused));

    // Writes after the backup; a restore takes the directory back to the backup.
    let after = c.create_user("after@acme.com");
    let (dir, config, tokens) = d.stop();
    let keep = dir.path().join("kept.redb");
    std::fs::copy(&backup, &keep).expect("keep the backup");
    let restored = scimd(&["restore", "--from", keep.to_str().unwrap()], &config);
    assert!(restored.status.success(), "{}", text(&restored));
    assert!(text(&restored).contains("before-restore"), "{}", text(&restored));
    let d = Daemon::start_in(dir, config, tokens);
    let c = d.client("acme");
    for (id, name) in acknowledged.drain(..) {
        let r = c.get(&format!("/Users/{id}"));
        assert_eq!(r.status, 200, "{name} acknowledged before the backup is missing");
    }
    for name in before {
        let r = c.get(&format!(
            "/Users{}",
            crate::harness::filter_q(&format!("userName eq \"{name}\""))
        ));
        assert_eq!(r.total(), 1, "{name} acknowledged before the backup is missing");
    }
    assert_eq!(c.get(&format!("/Users/{after}")).status, 404, "written after the backup");
    // The restored store takes writes.
    c.create_user("new@acme.com");
}

/// Strips what the server assigns, for a re-import through SCIM.
fn importable(mut v: Value) -> Value {
    let o = v.as_object_mut().expect("a resource");
    for k in ["id", "meta", "groups", "members"] {
        o.remove(k);
    }
    v
}

#[test]
fn an_export_reimported_through_scim_gives_the_same_users_and_teams() {
    let d = Daemon::start(&["acme", "beta"]);
    let c = d.client("acme");
    let ann = c.create_user("ann@acme.com");
    let bob = c.create_user("bob@acme.com");
    c.create_user("cy@acme.com");
    c.patch_ops(
        &format!("/Users/{bob}"),
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .expect(200);
    c.create_group("Engineering", &[&ann, &bob]);
    c.create_group("Empty team", &[]);

    let out = scimd(&["export", "--org", "acme"], &d.config);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Exported 3 users and 2 teams"), "{}", text(&out));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 5);

    // Re-import into the empty org: users first, then teams with the new member ids.
    let beta = d.client("beta");
    let mut new_ids = BTreeMap::new();
    let mut teams = Vec::new();
    for line in lines {
        let is_user = line["schemas"]
            .as_array()
            .is_some_and(|s| s.iter().any(|x| x.as_str().is_some_and(|x| x.ends_with(":User"))));
        if is_user {
            let old = line["id"].as_str().unwrap().to_string();
            let r = beta.post("/Users", &importable(line));
            new_ids.insert(old, r.expect(201).id());
        } else {
            teams.push(line);
        }
    }
    for team in teams {
        let members: Vec<Value> = team["members"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|m| json!({"value": new_ids[m["value"].as_str().unwrap()]}))
            .collect();
        let mut body = importable(team);
        body["members"] = Value::Array(members);
        beta.post("/Groups", &body).expect(201);
    }
    assert_eq!(directory(&c), directory(&beta));
}

/// An org's users (userName, active) and teams (name, member userNames), sorted.
type Directory = (Vec<(String, bool)>, Vec<(String, Vec<String>)>);

fn directory(c: &Client) -> Directory {
    let users = c.get("/Users?count=1000").resources();
    let name_of: BTreeMap<String, String> = users
        .iter()
        .map(|u| (u["id"].as_str().unwrap().into(), u["userName"].as_str().unwrap().into()))
        .collect();
    let mut people: Vec<(String, bool)> = users
        .iter()
        .map(|u| {
            (
                u["userName"].as_str().unwrap().to_string(),
                u["active"].as_bool().unwrap_or(true),
            )
        })
        .collect();
    people.sort();
    let mut teams: Vec<(String, Vec<String>)> = c
        .get("/Groups?count=1000")
        .resources()
        .iter()
        .map(|g| {
            let mut members: Vec<String> = g["members"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|m| name_of[m["value"].as_str().unwrap()].clone())
                .collect();
            members.sort();
            (g["displayName"].as_str().unwrap().to_string(), members)
        })
        .collect();
    teams.sort();
    (people, teams)
}

#[test]
fn compact_refuses_while_serving_and_shrinks_offline() {
    if on_postgres() {
        return;
    }
    // The change feed would keep every deleted user's last state; with one event kept, the
    // deletes leave the file mostly free pages.
    let (d, feed_tokens) = crate::events::start("[events]\nmax_records = 1\n", &["acme"]);
    let c = d.client("acme");
    let kept = c.create_user("kept@acme.com");
    // Past the few MiB a new redb file starts with, so that there is something to give back.
    let title = "x".repeat(8000);
    let ids: Vec<String> = (0..500)
        .map(|i| {
            let r = c.post(
                "/Users",
                &json!({"schemas": [USER], "userName": format!("user-{i}@acme.com"), "title": title}),
            );
            r.expect(201);
            r.id()
        })
        .collect();
    for id in &ids {
        c.delete(&format!("/Users/{id}")).expect(204);
    }
    let feed = crate::events::consumer(&d, "acme", &feed_tokens["acme"]);
    eventually("the feed to be pruned to 1 event", Duration::from_secs(30), || {
        let page = feed.get("");
        (page.body["data"].as_array()?.len() == 1).then_some(())
    });
    let refused = scimd(&["compact"], &d.config);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("stop it"), "{}", text(&refused));
    let (dir, config, tokens) = d.stop();
    let done = scimd(&["compact"], &config);
    assert!(done.status.success(), "{}", text(&done));
    let said = text(&done);
    let sizes: Vec<u64> = said
        .split(|ch: char| !ch.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    assert!(sizes.len() >= 2 && sizes[sizes.len() - 1] < sizes[sizes.len() - 2], "{said}");
    // The compacted store still serves.
    let d = Daemon::start_in(dir, config, tokens);
    let c = d.client("acme");
    let got = c.get(&format!("/Users/{kept}"));
    got.expect(200);
    assert_eq!(got.body["userName"], "kept@acme.com");
    c.create_user("after@acme.com");
}

#[test]
fn a_store_file_of_a_newer_layout_is_refused_at_start() {
    if on_postgres() {
        return; // scaleout.rs covers the database's schema table
    }
    let d = Daemon::start(&["acme"]);
    d.client("acme").create_user("ann@acme.com");
    let (dir, config, _tokens) = d.stop();
    let file = dir.path().join("data").join("scimd.redb");
    {
        let db = redb::Database::create(&file).expect("open the stopped store");
        let txn = db.begin_write().expect("write");
        {
            let meta: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("meta");
            let mut meta = txn.open_table(meta).expect("meta");
            meta.insert("schema_version", 99).expect("a newer scimd's layout");
        }
        txn.commit().expect("commit");
    }
    let out = Command::new(scimd_bin())
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .output()
        .expect("run scimd");
    assert!(!out.status.success(), "served a newer layout");
    let said = text(&out);
    assert!(said.contains("newer scimd") && said.contains("layout 99"), "{said}");
}
