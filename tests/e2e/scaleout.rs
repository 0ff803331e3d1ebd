//! Several daemons on one PostgreSQL database, the schema's migrations, and moving a redb
//! install with `scimd store copy`. Only the `e2e-postgres` binary runs these: on redb each
//! daemon owns its file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{
    eventually, on_postgres, patch_body, scimd_bin, socket_path, teams_of, write_config, Ctl,
    Daemon,
};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// Two daemons serving org acme from one database (the second a copy of the first's config
/// in a dir of its own, so each has its own control socket).
fn pair() -> Option<(Daemon, Daemon)> {
    if !on_postgres() {
        println!("skipped: several daemons share a store only on PostgreSQL");
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, tokens) = write_config(dir.path(), &["acme"]);
    let dir2 = tempfile::tempdir().expect("tempdir");
    let config2 = dir2.path().join("scimd.toml");
    std::fs::copy(&config, &config2).expect("copy config");
    let a = Daemon::start_in(dir, config, tokens.clone());
    let b = Daemon::start_in(dir2, config2, tokens);
    Some((a, b))
}

/// The `[store] url` line of a daemon's config.
fn store_url(config: &PathBuf) -> String {
    let text = std::fs::read_to_string(config).expect("config");
    let line = text
        .lines()
        .find(|l| l.starts_with("url = "))
        .expect("a [store] url");
    line.trim_start_matches("url = ").trim_matches('"').to_string()
}

/// The shared cluster, or None (with a note) on the redb binary.
fn postgres_only(what: &str) -> Option<&'static scimd_tests::pg::PgCluster> {
    if !on_postgres() {
        println!("skipped: {what} (PostgreSQL only)");
        return None;
    }
    Some(scimd_tests::pg::require().expect("the cluster"))
}

/// The database name at the end of a URL.
fn db_name(url: &str) -> String {
    url.rsplit('/').next().expect("db name").to_string()
}

/// `scimd store copy --to url` of the install at `config`, as an operator runs it: what it
/// printed on stdout and stderr, after a line saying whether it exited 0.
pub(crate) fn store_copy(config: &Path, url: &str) -> String {
    let out = Command::new(scimd_bin())
        .args(["store", "copy", "--to", url, "--config"])
        .arg(config)
        .output()
        .expect("run store copy");
    format!(
        "exit ok: {}\n{}{}",
        out.status.success(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Whether a [`store_copy`] exited 0.
pub(crate) fn copied_ok(said: &str) -> bool {
    said.starts_with("exit ok: true\n")
}

/// A daemon serving org acme from the database at `url`.
pub(crate) fn daemon_on(url: &str) -> Daemon {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, tokens) = write_config(dir.path(), &["acme"]);
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, text.replace(&store_url(&config), url)).expect("point at url");
    Daemon::start_in(dir, config, tokens)
}

#[test]
fn racing_creates_of_one_user_name_through_two_daemons_give_exactly_one_201() {
    let Some((a, b)) = pair() else { return };
    let (ca, cb) = (a.client("acme"), b.client("acme"));
    for round in 0..20 {
        let body = json!({"schemas": [USER], "userName": format!("race{round}@acme.com")});
        let (ba, bb) = (body.clone(), body);
        let (ca2, cb2) = (ca.clone(), cb.clone());
        let ta = std::thread::spawn(move || ca2.post("/Users", &ba));
        let tb = std::thread::spawn(move || cb2.post("/Users", &bb));
        let (ra, rb) = (ta.join().expect("a"), tb.join().expect("b"));
        let mut statuses = [ra.status, rb.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409], "round {round}: {:?} {:?}", ra.body, rb.body);
        let loser = if ra.status == 409 { &ra } else { &rb };
        assert_eq!(loser.body["scimType"], "uniqueness", "{:?}", loser.body);
    }
    assert_eq!(ca.get("/Users").total(), 20);
    assert_eq!(cb.get("/Users").total(), 20);
}

#[test]
fn a_write_through_one_daemon_is_read_through_the_other_at_once() {
    let Some((a, b)) = pair() else { return };
    let (ca, cb) = (a.client("acme"), b.client("acme"));
    let ann = ca.create_user("ann@acme.com");
    let got = cb.get(&format!("/Users/{ann}"));
    assert_eq!(got.status, 200, "{:?}", got.body);
    assert_eq!(got.body["userName"], "ann@acme.com");

    let team = cb.create_group("Eng", &[&ann]);
    let seen = ca.get(&format!("/Groups/{team}"));
    assert_eq!(seen.body["members"][0]["value"], ann.as_str());
    let mine = ca.get(&format!("/Users/{ann}"));
    assert_eq!(mine.body["groups"][0]["value"], team.as_str());

    // Deleting the user through one daemon removes the membership the other one reads.
    assert_eq!(ca.delete(&format!("/Users/{ann}")).status, 204);
    let left = cb.get(&format!("/Groups/{team}"));
    assert!(
        left.body["members"]
            .as_array()
            .is_none_or(|m| m.is_empty()),
        "{:?}",
        left.body
    );
}

#[test]
fn if_match_holds_across_daemons() {
    let Some((a, b)) = pair() else { return };
    let (ca, cb) = (a.client("acme"), b.client("acme"));
    let ann = ca.create_user("ann@acme.com");
    let etag = ca
        .get(&format!("/Users/{ann}"))
        .etag
        .expect("an ETag");
    let change = |title: &str| {
        patch_body(json!([{"op": "replace", "path": "title", "value": title}]))
    };
    let first = ca.send(
        "PATCH",
        &format!("/Users/{ann}"),
        Some(&change("one")),
        &[("If-Match", &etag)],
    );
    assert_eq!(first.status, 200, "{:?}", first.body);
    // The same version through the other daemon is stale now.
    let second = cb.send(
        "PATCH",
        &format!("/Users/{ann}"),
        Some(&change("two")),
        &[("If-Match", &etag)],
    );
    assert_eq!(second.status, 412, "{:?}", second.body);
    assert_eq!(cb.get(&format!("/Users/{ann}")).body["title"], "one");
}

#[test]
fn killing_one_daemon_leaves_the_other_serving() {
    let Some((a, b)) = pair() else { return };
    let ca = a.client("acme");
    let cb = b.client("acme");
    let ann = ca.create_user("ann@acme.com");
    let _ = a.kill();
    let bob = cb.create_user("bob@acme.com");
    assert_eq!(cb.get(&format!("/Users/{ann}")).status, 200);
    assert_eq!(cb.get(&format!("/Users/{bob}")).status, 200);
    assert_eq!(cb.get("/Users").total(), 2);
}

#[test]
fn the_dashboard_of_one_daemon_shows_a_write_made_through_the_other() {
    let Some((a, b)) = pair() else { return };
    let mut ctl = Ctl::connect(&socket_path(&b));
    ctl.send(&json!({"type": "subscribe"}));
    let ann = a.client("acme").create_user("ann@acme.com");
    let record: Value = eventually("the record of a's write on b's feed", Duration::from_secs(20), || {
        let msg = ctl.recv(Duration::from_millis(200))?;
        (msg["type"] == "activity" && msg["record"]["id"] == ann.as_str())
            .then(|| msg["record"].clone())
    });
    assert_eq!(record["summary"], "created", "{record}");
    // And its history holds it too.
    let recent = ctl.recent(100);
    assert!(
        recent.iter().any(|r| r["id"] == ann.as_str()),
        "{recent:?}"
    );
}

#[test]
fn a_database_upgraded_from_the_first_migration_serves() {
    let Some(cluster) = postgres_only("migrations") else {
        return;
    };
    let url = cluster.create_database().expect("database");
    let db = db_name(&url);
    assert_eq!(
        scimd::pg_url::migrate(&url, Some(1)).expect("migration 1"),
        1
    );
    // A user written by a scimd that knew only the first migration.
    cluster
        .psql(
            &db,
            "INSERT INTO scimd_users (org, id, name_key, external_id, attrs, created, modified, version) \
             VALUES ('acme', 'u-old', 'old@acme.com', NULL, \
             '{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"old@acme.com\"}', \
             '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 3); \
             INSERT INTO scimd_counts VALUES ('acme', 'users', 1), ('acme', 'active', 1)",
        )
        .expect("seed");
    let d = daemon_on(&url);
    let c = d.client("acme");
    let old = c.get("/Users/u-old");
    assert_eq!(old.status, 200, "{:?}", old.body);
    assert_eq!(old.etag.as_deref(), Some("W/\"3\""));
    // The activity log came with the second migration; every later one was applied too.
    let bob = c.create_user("bob@acme.com");
    let mut ctl = Ctl::connect(&socket_path(&d));
    let recent: Vec<Value> = eventually("the activity record", Duration::from_secs(10), || {
        let r = ctl.recent(10);
        r.iter().any(|r| r["id"] == bob.as_str()).then_some(r)
    });
    assert!(!recent.is_empty());
    assert_eq!(
        cluster
            .psql(&db, "SELECT max(version) FROM scimd_schema")
            .expect("version"),
        scimd::store::POSTGRES_SCHEMA_VERSION.to_string()
    );
}

#[test]
fn team_names_beside_memberships_stay_true_from_an_upgrade_and_from_older_daemons() {
    let Some(cluster) = postgres_only("team names beside memberships") else {
        return;
    };
    let url = cluster.create_database().expect("database");
    let db = db_name(&url);
    scimd::pg_url::migrate(&url, Some(5)).expect("migration 5");
    let user = |id: &str| {
        format!(
            "INSERT INTO scimd_users (org, id, name_key, attrs, created, modified, version) \
             VALUES ('acme', '{id}', '{id}@acme.com', \
             '{{\"schemas\":[\"{USER}\"],\"userName\":\"{id}@acme.com\"}}', \
             '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 1);"
        )
    };
    let team = |id: &str, name: &str| {
        format!(
            "INSERT INTO scimd_groups (org, id, name_key, attrs, created, modified, version) \
             VALUES ('acme', '{id}', lower('{name}'), '{{\"displayName\":\"{name}\"}}', \
             '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 1);"
        )
    };
    // A membership written before migration 6, which the upgrade must name.
    cluster
        .psql(
            &db,
            &format!(
                "{}{}{}{}INSERT INTO scimd_members (org, gid, uid, display) \
                 VALUES ('acme', 'g-eng', 'u-ann', 'ann'); \
                 INSERT INTO scimd_counts VALUES ('acme', 'users', 2), ('acme', 'active', 2);",
                user("u-ann"),
                user("u-bo"),
                team("g-eng", "Eng"),
                team("g-ops", "Ops")
            ),
        )
        .expect("seed at migration 5");
    let d = daemon_on(&url);
    let c = d.client("acme");
    let groups = |uid: &str| -> BTreeMap<String, String> {
        let r = c.get(&format!("/Users/{uid}"));
        assert_eq!(r.status, 200, "{:?}", r.body);
        teams_of(&r.body)
    };
    let named = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(g, n)| (g.to_string(), n.to_string()))
            .collect()
    };
    assert_eq!(groups("u-ann"), named(&[("g-eng", "Eng")]), "named by the upgrade");
    // A daemon from before migration 6 writes a membership without the team's name, and
    // renames a team in the row alone: the database keeps the names true.
    cluster
        .psql(
            &db,
            "INSERT INTO scimd_members (org, gid, uid, display) \
             VALUES ('acme', 'g-ops', 'u-bo', 'bo'); \
             UPDATE scimd_groups SET attrs = '{\"displayName\":\"Operations\"}' \
             WHERE org = 'acme' AND id = 'g-ops'",
        )
        .expect("an older daemon's writes");
    assert_eq!(groups("u-bo"), named(&[("g-ops", "Operations")]));
    // This daemon's own rename, with a member added in the same PATCH.
    let r = c.patch(
        "/Groups/g-eng",
        &patch_body(json!([
            {"op": "replace", "value": {"displayName": "Platform"}},
            {"op": "add", "path": "members", "value": [{"value": "u-bo"}]}
        ])),
    );
    assert!(r.status == 200 || r.status == 204, "{:?}", r.body);
    assert_eq!(groups("u-ann"), named(&[("g-eng", "Platform")]));
    let both = named(&[("g-eng", "Platform"), ("g-ops", "Operations")]);
    assert_eq!(groups("u-bo"), both);
    // A page of users reads the same names.
    let page = c.get("/Users?startIndex=1&count=10");
    assert_eq!(page.status, 200, "{:?}", page.body);
    let bo = page
        .resources()
        .into_iter()
        .find(|u| u["id"] == "u-bo")
        .expect("bo on the page");
    assert_eq!(teams_of(&bo), both);
}

#[test]
fn a_database_with_a_newer_schema_or_out_of_reach_is_refused_at_start() {
    let Some(cluster) = postgres_only("schema versions") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, _tokens) = write_config(dir.path(), &["acme"]);
    let url = store_url(&config);
    let db = db_name(&url);
    scimd::pg_url::migrate(&url, None).expect("migrate");
    cluster
        .psql(&db, "INSERT INTO scimd_schema (version) VALUES (99)")
        .expect("a newer scimd's migration");
    // `scimd serve` must refuse to start; what it said on stderr.
    let refused = |config: &PathBuf| {
        let out = Command::new(scimd_bin())
            .arg("serve")
            .arg("--config")
            .arg(config)
            .output()
            .expect("run scimd");
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let err = refused(&config);
    assert!(err.contains("version 99") && err.contains("newer"), "{err}");

    // Nothing listens on this port: the daemon says so and exits instead of serving 503s.
    let text = std::fs::read_to_string(&config).expect("config");
    let port = cluster.port();
    std::fs::write(&config, text.replace(&format!(":{port}/"), ":1/")).expect("bad port");
    let err = refused(&config);
    assert!(err.contains("cannot connect to PostgreSQL"), "{err}");
}

#[test]
fn store_copy_moves_a_redb_install_to_postgres_with_ids_versions_and_history() {
    let Some(cluster) = postgres_only("store copy") else {
        return;
    };
    // An install on redb: the config without its [store] table.
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, tokens) = write_config(dir.path(), &["acme", "beta"]);
    let url = store_url(&config);
    let text = std::fs::read_to_string(&config).expect("config");
    let start = text.find("\n[store]").expect("[store]");
    let end = start + text[start..].find("pool_size").expect("pool_size");
    let end = end + text[end..].find('\n').expect("line end");
    let redb_text = format!("{}{}", &text[..start], &text[end..]);
    std::fs::write(&config, &redb_text).expect("redb config");
    let d = Daemon::start_in(dir, config, tokens);
    let c = d.client("acme");
    let ann = c.create_user("ann@acme.com");
    let bob = c.create_user("bob@acme.com");
    let team = c.create_group("Eng", &[&ann, &bob]);
    let patched = c.patch(
        &format!("/Users/{bob}"),
        &patch_body(json!([{"op": "replace", "path": "active", "value": false}])),
    );
    assert_eq!(patched.status, 200);
    d.client("beta").create_user("cat@beta.com");
    let before_bob = c.get(&format!("/Users/{bob}"));
    let before_team = c.get(&format!("/Groups/{team}"));
    let (dir, config, tokens) = d.stop();

    let said = store_copy(&config, &url);
    assert!(copied_ok(&said), "{said}");
    assert!(said.contains("2 org(s): 3 users, 1 teams, 2 memberships"), "{said}");
    // acme: 3 created, 2 members added, 1 deactivated; beta: 1 created.
    assert!(said.contains("7 events"), "{said}");
    // The copy ends with the planner's statistics of what it wrote.
    let analyzed = cluster
        .psql(
            &db_name(&url),
            "SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL \
             AND relname IN ('scimd_users', 'scimd_groups', 'scimd_members')",
        )
        .expect("statistics");
    assert_eq!(analyzed.trim(), "3", "{said}");
    // A second copy into the same database is refused: it holds data now.
    let again = store_copy(&config, &url);
    assert!(!copied_ok(&again), "a second copy into a database that holds data: {again}");

    // The same config, now on PostgreSQL.
    std::fs::write(&config, &text).expect("postgres config");
    let d = Daemon::start_in(dir, config, tokens);
    let c = d.client("acme");
    // Everything but the URLs, which name the new daemon's port.
    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(k, _)| *k != "location" && *k != "$ref")
                    .map(|(k, v)| (k.clone(), strip(v)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
            other => other.clone(),
        }
    }
    let same = |before: &Value, after: &Value| assert_eq!(strip(after), strip(before));
    let after_bob = c.get(&format!("/Users/{bob}"));
    same(&before_bob.body, &after_bob.body);
    assert_eq!(after_bob.etag, before_bob.etag);
    same(&before_team.body, &c.get(&format!("/Groups/{team}")).body);
    assert_eq!(c.get("/Users").total(), 2);
    assert_eq!(d.client("beta").get("/Users").total(), 1);
    let mut ctl = Ctl::connect(&socket_path(&d));
    let history = ctl.recent(100);
    assert!(
        history.iter().any(|r| r["id"] == ann.as_str() && r["summary"] == "created"),
        "{history:?}"
    );
    // The feed goes on from the copied numbers, so consumers' cursors stay valid.
    d.client("beta").create_user("dan@beta.com");
    let seqs = cluster
        .psql(
            &db_name(&url),
            "SELECT string_agg(seq::text || ':' || kind, ',' ORDER BY seq) FROM scimd_events WHERE org = 'beta'",
        )
        .expect("events");
    assert_eq!(seqs, "1:user.created,2:user.created");
}

#[test]
fn a_burst_of_reads_at_start_shares_a_few_connections_and_stays_within_the_pool() {
    let Some(cluster) = postgres_only("shared point-read connections") else {
        return;
    };
    let url = cluster.create_database().expect("database");
    let db = db_name(&url);
    let d = daemon_on(&url);
    let c = d.client("acme");
    let ann = c.create_user("ann@acme.com");
    // Many GETs at once, the first reads of this daemon: none waits for a connection the
    // others took, and every one is answered.
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let gets: Vec<_> = (0..32)
            .map(|i| {
                let (c, ann) = (&c, &ann);
                s.spawn(move || {
                    if i % 2 == 0 {
                        c.get(&format!("/Users/{ann}")).status
                    } else {
                        c.get("/Users?filter=userName%20eq%20%22ann@acme.com%22")
                            .status
                    }
                })
            })
            .collect();
        gets.into_iter().map(|g| g.join().expect("a GET")).collect()
    });
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    let pages: Vec<u16> = (0..4).map(|_| c.get("/Users?count=10").status).collect();
    assert!(pages.iter().all(|&s| s == 200), "{pages:?}");
    // The harness's pool_size is 4; the group-commit writer has one more of its own.
    let open: usize = cluster
        .psql(
            "postgres",
            &format!(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = '{db}' AND application_name = 'scimd'"
            ),
        )
        .expect("connections")
        .trim()
        .parse()
        .expect("a count");
    assert!((1..=5).contains(&open), "{open} connections");
}

#[test]
fn a_database_outage_is_503_and_the_daemon_recovers_by_itself() {
    if postgres_only("an outage").is_none() {
        return;
    }
    // A cluster of its own: the shared one serves every other test.
    let cluster = match scimd_tests::pg::PgCluster::start() {
        Ok(c) => c,
        Err(why) => panic!("a second cluster: {why}"),
    };
    let d = daemon_on(&cluster.create_database().expect("database"));
    let c = d.client("acme");
    let ann = c.create_user("ann@acme.com");
    let health = || {
        let health = crate::harness::Client {
            base: d.origin.clone(),
            token: None,
        };
        health.get("/healthz").status
    };
    assert_eq!(health(), 200);
    // The point reads' shared connections are open before the outage.
    for _ in 0..4 {
        assert_eq!(c.get(&format!("/Users/{ann}")).status, 200);
    }

    cluster.stop_now();
    eventually("/healthz to say 503", Duration::from_secs(20), || {
        (health() == 503).then_some(())
    });
    // Anyone may ask, so the answer is a fixed word, never PostgreSQL's message.
    let body = crate::harness::Client {
        base: d.origin.clone(),
        token: None,
    }
    .get("/healthz")
    .body;
    assert_eq!(body, json!({"status": "recovering"}), "{body}");
    let refused = c.post(
        "/Users",
        &json!({"schemas": [USER], "userName": "bob@acme.com"}),
    );
    assert_eq!(refused.status, 503, "{:?}", refused.body);
    assert!(refused.retry_after.is_some());
    assert_eq!(c.get(&format!("/Users/{ann}")).status, 503);

    cluster.restart().expect("restart");
    eventually("/healthz to say 200 again", Duration::from_secs(20), || {
        (health() == 200).then_some(())
    });
    let bob = eventually("a write to succeed again", Duration::from_secs(20), || {
        let r = c.post(
            "/Users",
            &json!({"schemas": [USER], "userName": "bob@acme.com"}),
        );
        (r.status == 201).then(|| r.id())
    });
    // Every read succeeds at once: a shared connection the outage closed is replaced, not
    // kept failing.
    for _ in 0..4 {
        assert_eq!(c.get(&format!("/Users/{ann}")).status, 200);
        assert_eq!(c.get(&format!("/Users/{bob}")).status, 200);
    }
}
