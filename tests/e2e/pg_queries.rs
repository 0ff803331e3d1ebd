//! What a page of users with their teams costs on PostgreSQL, counted by PostgreSQL itself
//! (issue 21): a page takes a fixed number of queries whatever its size, not one per user and
//! one per team (an unfiltered one a single statement). And the teams a listing shows are a
//! single GET's, read ahead in one statement or when the memberships of a page take several
//! windows. A team's whole member list is written and read in a fixed
//! number of statements too. Only the `e2e-postgres` binary runs these.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::harness::{on_postgres, teams_of, Client, Daemon};
use crate::scaleout::daemon_on;

/// What every page statement of `store/pg/page.rs` holds.
const PAGE_STATEMENT: &str = "FROM (SELECT coalesce((SELECT n FROM scimd_counts";

/// What opens a read snapshot (`store/pg/view.rs`): how a read is told from a write.
const SNAPSHOT_BEGIN: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

/// The queries of each read snapshot in `log` between the lines naming `start` and `end`:
/// per backend, the statements it executed after its snapshot's BEGIN and before its COMMIT.
/// The log's default prefix names the backend (`[pid]`); the BEGIN goes as a simple query,
/// every read as an extended one (`execute`).
fn snapshot_queries(log: &str, start: &str, end: &str) -> Vec<(u32, Vec<String>)> {
    let mut open: HashMap<u32, usize> = HashMap::new();
    let mut snapshots: Vec<(u32, Vec<String>)> = Vec::new();
    let lines = log
        .lines()
        .skip_while(|l| !l.contains(start))
        .take_while(|l| !l.contains(end));
    for line in lines {
        let Some(pid) = line
            .split_once('[')
            .and_then(|(_, rest)| rest.split_once(']'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some((_, sql)) = line.split_once("LOG:  statement: ") {
            if sql.starts_with(SNAPSHOT_BEGIN) {
                open.insert(pid, snapshots.len());
                snapshots.push((pid, Vec::new()));
            } else if sql.starts_with("COMMIT") {
                open.remove(&pid);
            }
        } else if let Some((_, sql)) = line.split_once("LOG:  execute ") {
            if let Some(&i) = open.get(&pid) {
                snapshots[i].1.push(sql.to_string());
            }
        }
    }
    snapshots
}

/// Runs `f` between two markers in the log of `cluster`, and returns the queries of the read
/// snapshots it made. The markers are statements in `db`, which logs every statement: each is
/// in the log once psql returns, and so is every query of a request that has been answered.
fn count_reads(
    cluster: &scimd_tests::pg::PgCluster,
    db: &str,
    tag: &str,
    f: impl FnOnce(),
) -> Vec<(u32, Vec<String>)> {
    let (start, end) = (format!("marker-{tag}-start"), format!("marker-{tag}-end"));
    cluster
        .psql(db, &format!("SELECT '{start}'"))
        .expect("marker");
    f();
    cluster.psql(db, &format!("SELECT '{end}'")).expect("marker");
    let log = std::fs::read_to_string(cluster.log_file()).expect("server log");
    snapshot_queries(&log, &start, &end)
}

/// How many of the async user reads (`store/pg/point.rs`) ran between the markers of `tag`.
fn user_statements(cluster: &scimd_tests::pg::PgCluster, tag: &str) -> usize {
    statements(cluster, tag, "FROM scimd_users r LEFT JOIN LATERAL")
}

/// How many logged statements between the markers of `tag` contain `needle`.
fn statements(cluster: &scimd_tests::pg::PgCluster, tag: &str, needle: &str) -> usize {
    let log = std::fs::read_to_string(cluster.log_file()).expect("server log");
    let (from, to) = (
        log.find(&format!("marker-{tag}-start")).expect("start marker"),
        log.find(&format!("marker-{tag}-end")).expect("end marker"),
    );
    log[from..to].lines().filter(|l| l.contains(needle)).count()
}

/// A cluster of the test's own, so its log holds that test's statements only; a database in
/// it that logs every statement; and a daemon serving org `acme` on it.
fn logging_daemon() -> (scimd_tests::pg::PgCluster, String, Daemon) {
    let cluster = scimd_tests::pg::PgCluster::start().expect("a cluster");
    let url = cluster.create_database().expect("database");
    let db = url.rsplit('/').next().expect("db name").to_string();
    cluster
        .psql(&db, &format!("ALTER DATABASE {db} SET log_statement = 'all'"))
        .expect("log statements");
    let d = daemon_on(&url);
    (cluster, db, d)
}

#[test]
fn a_page_of_users_with_their_teams_takes_at_most_three_queries_whatever_its_size() {
    if !on_postgres() {
        println!("skipped: counting PostgreSQL's queries (PostgreSQL only)");
        return;
    }
    let (cluster, db, d) = logging_daemon();
    let c = d.client("acme");
    let users: Vec<String> = (0..120)
        .map(|i| c.create_user(&format!("u{i:03}@acme.com")))
        .collect();
    // Eight teams, each user in five or six of them: ~530 memberships on a page of 100.
    for t in 0..8 {
        let members: Vec<&str> = users
            .iter()
            .enumerate()
            .filter(|(i, _)| (i + t) % 3 != 0)
            .map(|(_, u)| u.as_str())
            .collect();
        c.create_group(&format!("team-{t}"), &members);
    }
    // Every size is measured before any is judged, so a failure shows how the cost grows.
    // An unfiltered page is one statement on the async runtime, count included, in no read
    // snapshot; a filtered one (`active eq true`: every user, by a scan) reads in a snapshot.
    let mut costs = Vec::new();
    for count in [10, 50, 100] {
        for (how, filter) in [("plain", ""), ("filtered", "&filter=active%20eq%20true")] {
            let mut page = Vec::new();
            let tag = format!("page{count}{how}");
            let reads = count_reads(&cluster, &db, &tag, || {
                let r = c.get(&format!("/Users?count={count}&startIndex=1{filter}"));
                r.expect(200);
                assert_eq!(r.total(), 120, "{how}");
                page = r.resources();
            });
            assert_eq!(page.len(), count);
            assert!(
                page.iter()
                    .all(|u| u["groups"].as_array().is_some_and(|g| g.len() >= 5)),
                "every user of the page with their teams"
            );
            let per_read: Vec<usize> = reads.iter().map(|(_, q)| q.len()).collect();
            let pages = statements(&cluster, &tag, PAGE_STATEMENT);
            println!(
                "a {how} page of {count} users with teams: {pages} page statement(s), queries \
                 per read snapshot {per_read:?}"
            );
            costs.push((count, how, pages, per_read, reads));
        }
    }
    for (count, how, pages, per_read, reads) in &costs {
        if *how == "plain" {
            assert!(reads.is_empty(), "a page of {count} opened a snapshot: {reads:#?}");
            assert_eq!(*pages, 1, "a page of {count}");
            continue;
        }
        // The filtered page's snapshot: one scan, the first user's teams, and one window of
        // the rest.
        let total: usize = per_read.iter().sum();
        assert!(
            *pages == 0 && per_read.iter().all(|&n| n <= 3) && total <= 3,
            "a filtered page of {count}: {total} queries, per snapshot {per_read:?}: {reads:#?}"
        );
    }
    // A single GET of a user: one statement, on the async runtime, in no read snapshot.
    let reads = count_reads(&cluster, &db, "one", || {
        let got = c.get(&format!("/Users/{}", users[7]));
        got.expect(200);
        assert_eq!(got.body["groups"].as_array().map(Vec::len), Some(teams_of(&got.body).len()));
        assert!(teams_of(&got.body).len() >= 5, "{:#}", got.body);
    });
    assert!(reads.is_empty(), "a single GET opened a snapshot: {reads:#?}");
    let one = user_statements(&cluster, "one");
    println!("a single GET of a user in teams: {one} statement(s)");
    assert_eq!(one, 1);

    // A lookup by userName, likewise: one statement, in no snapshot, the same user.
    let reads = count_reads(&cluster, &db, "byname", || {
        let r = c.get("/Users?filter=userName%20eq%20%22U007@ACME.com%22");
        r.expect(200);
        let found = r.resources();
        assert_eq!(found.len(), 1, "{:#}", r.body);
        assert_eq!(found[0]["id"], users[7].as_str());
        assert!(teams_of(&found[0]).len() >= 5, "{:#}", found[0]);
        let none = c.get("/Users?filter=userName%20eq%20%22nobody@acme.com%22");
        assert_eq!(none.body["totalResults"], 0, "{:#}", none.body);
    });
    assert!(reads.is_empty(), "a lookup opened a snapshot: {reads:#?}");
    assert_eq!(user_statements(&cluster, "byname"), 2);

    // An email (not unique: found in one statement while a few share it), likewise.
    let reads = count_reads(&cluster, &db, "byemail", || {
        let r = c.get("/Users?filter=emails.value%20eq%20%22U007@acme.COM%22");
        assert_eq!(r.ids(), [users[7].as_str()], "{:#}", r.body);
    });
    assert!(reads.is_empty(), "an email lookup opened a snapshot: {reads:#?}");
    assert_eq!(user_statements(&cluster, "byemail"), 1);
    // More than a read ahead holds (101 users sharing an externalId) stream from a
    // snapshot: one statement finds too many, then the snapshot reads them all.
    for i in 0..101 {
        let r = c.post(
            "/Users",
            &serde_json::json!({"schemas": [crate::harness::USER],
                "userName": format!("crowd{i:03}@acme.com"), "externalId": "crowd"}),
        );
        r.expect(201);
    }
    let reads = count_reads(&cluster, &db, "crowd", || {
        let r = c.get("/Users?filter=externalId%20eq%20%22crowd%22&count=5");
        r.expect(200);
        assert_eq!(r.total(), 101, "{:#}", r.body);
        assert_eq!(r.resources().len(), 5);
    });
    assert_eq!(user_statements(&cluster, "crowd"), 1);
    assert_eq!(reads.len(), 1, "{reads:#?}");

    // A team without its members, by id and by displayName, likewise; with its members, a
    // read snapshot on the blocking pool (a member list can be long).
    let team = c.get("/Groups?filter=displayName%20eq%20%22team-3%22&excludedAttributes=members");
    let gid = team.resources()[0]["id"].as_str().expect("an id").to_string();
    let reads = count_reads(&cluster, &db, "team", || {
        let one = c.get(&format!("/Groups/{gid}?excludedAttributes=members"));
        one.expect(200);
        assert_eq!(one.body["displayName"], "team-3");
        assert!(one.body.get("members").is_none(), "{:#}", one.body);
        let r = c.get("/Groups?filter=displayName%20eq%20%22TEAM-3%22&excludedAttributes=members");
        assert_eq!(r.ids(), [gid.as_str()], "{:#}", r.body);
    });
    assert!(reads.is_empty(), "a team's read opened a snapshot: {reads:#?}");
    assert_eq!(statements(&cluster, "team", "FROM scimd_groups r LEFT JOIN LATERAL"), 2);
    let reads = count_reads(&cluster, &db, "members", || {
        let whole = c.get(&format!("/Groups/{gid}"));
        whole.expect(200);
        assert!(whole.body["members"].as_array().is_some_and(|m| m.len() > 50));
    });
    assert_eq!(reads.len(), 1, "{reads:#?}");
    // A page of teams: without members one statement on the shared connections; with them
    // (member lists can be long) in read snapshots, on connections of their own.
    let reads = count_reads(&cluster, &db, "teams", || {
        let r = c.get("/Groups?count=5&excludedAttributes=members");
        assert_eq!(r.resources().len(), 5, "{:#}", r.body);
    });
    assert!(reads.is_empty(), "{reads:#?}");
    assert_eq!(statements(&cluster, "teams", PAGE_STATEMENT), 1);
    let reads = count_reads(&cluster, &db, "teams-whole", || {
        let r = c.get("/Groups?count=5");
        assert!(r.resources().iter().all(|t| t["members"].is_array()), "{:#}", r.body);
    });
    assert!(!reads.is_empty(), "read in snapshots of its own");
    assert_eq!(statements(&cluster, "teams-whole", PAGE_STATEMENT), 0);
}


/// Every user of `c` by startIndex pages of `count`, with `filter` (a query part) added.
fn listed(c: &Client, count: usize, filter: &str) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let start = out.len() + 1;
        let r = c.get(&format!("/Users?count={count}&startIndex={start}{filter}"));
        r.expect(200);
        let page = r.resources();
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

#[test]
fn a_listings_teams_match_single_gets_when_a_page_takes_several_windows() {
    if !on_postgres() {
        println!("skipped: PostgreSQL's membership windows (PostgreSQL only)");
        return;
    }
    let d = Daemon::start(&["acme"]);
    let c = d.client("acme");
    let users: Vec<String> = (0..70)
        .map(|i| c.create_user(&format!("w{i:03}@acme.com")))
        .collect();
    // 40 teams; most users in most of them (~2200 memberships, more than two windows of
    // 1024), every ninth user in none: users with no teams inside a window's range.
    let mut want: BTreeMap<String, BTreeMap<String, String>> = users
        .iter()
        .map(|u| (u.clone(), BTreeMap::new()))
        .collect();
    for t in 0..40 {
        let name = format!("squad-{t:02}");
        let members: Vec<&str> = users
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 9 != 0 && (i * 7 + t) % 5 != 0)
            .map(|(_, u)| u.as_str())
            .collect();
        let gid = c.create_group(&name, &members);
        for m in members {
            want.get_mut(m).expect("a user").insert(gid.clone(), name.clone());
        }
    }
    // Unfiltered pages are read ahead in one statement; filtered ones (every user matches)
    // in a snapshot, their memberships a window at a time.
    let walks = [100, 7]
        .into_iter()
        .flat_map(|n| [(n, ""), (n, "&filter=active%20eq%20true")]);
    for (count, filter) in walks {
        let listed = listed(&c, count, filter);
        assert_eq!(listed.len(), users.len(), "pages of {count}");
        for user in &listed {
            let id = user["id"].as_str().expect("id");
            let single = c.get(&format!("/Users/{id}"));
            single.expect(200);
            let what = format!("user {id}, pages of {count} {filter}");
            assert_eq!(user["groups"], single.body["groups"], "{what}");
            assert_eq!(teams_of(user), want[id], "{what}");
        }
    }
}

#[test]
fn a_teams_whole_member_list_costs_the_same_statements_whatever_its_size() {
    if !on_postgres() {
        println!("skipped: counting PostgreSQL's statements (PostgreSQL only)");
        return;
    }
    let (cluster, db, d) = logging_daemon();
    let c = d.client("acme");
    let users: Vec<String> = (0..240)
        .map(|i| c.create_user(&format!("m{i:03}@acme.com")))
        .collect();
    let mut costs = Vec::new();
    for size in [20, 200] {
        let team = c.create_group(&format!("team-{size}"), &[]);
        let members: Vec<Value> = users[..size]
            .iter()
            .map(|u| serde_json::json!({"value": u}))
            .collect();
        let body = serde_json::json!({"displayName": format!("team-{size}"), "members": members});
        // Joining all at once, then the same list again (nothing to change), then the team's
        // delete, which ends every membership.
        let mut cost = Vec::new();
        for (step, tag) in [("join", "put"), ("again", "same"), ("delete", "del")] {
            let tag = format!("{tag}{size}");
            let (start, end) = (format!("marker-{tag}-start"), format!("marker-{tag}-end"));
            cluster.psql(&db, &format!("SELECT '{start}'")).expect("marker");
            match step {
                "delete" => assert_eq!(c.delete(&format!("/Groups/{team}")).status, 204),
                _ => {
                    c.put(&format!("/Groups/{team}"), &body).expect(200);
                }
            }
            cluster.psql(&db, &format!("SELECT '{end}'")).expect("marker");
            cost.push(statements(&cluster, &tag, "scimd_members"));
        }
        println!("a team of {size}: statements on scimd_members (join, again, delete) {cost:?}");
        costs.push(cost);
    }
    assert_eq!(costs[0], costs[1], "the cost grew with the team: {costs:?}");
    assert!(costs[1].iter().all(|&n| n <= 4), "{costs:?}");
    let left = c.get("/Users?count=0");
    assert_eq!(left.total(), 240, "the users stay when their team goes");
}
