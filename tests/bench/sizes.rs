//! The `sizes` part: per org size, a fresh seeded store and the real daemon driven through
//! every scenario of docs/performance.md (reads, list and cursor pages, POST, PATCH, member
//! changes per team size, a whole-team PUT, DELETE), then one restart on the grown store.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::bail;
use http::Method;

use crate::daemon::{Instance, Memory, Running, ORG};
use crate::load::{self, encode, mix, Gen, Plan, Req, Stats, Target};
use crate::report::{self, Row, SizeResult};
use crate::seed::{self, email, user_name};
use crate::{pg, post_user, Args, BASE, PATCH_OP};

/// Runs one scenario and prints a progress line.
struct Runner<'a> {
    rt: &'a tokio::runtime::Runtime,
    daemon: &'a Running,
    target: Target,
    secs: Duration,
    rows: Vec<Row>,
}

impl Runner<'_> {
    fn run(
        &mut self,
        key: &str,
        label: String,
        clients: usize,
        expect: u16,
        gen: Gen,
        created: Option<Arc<Mutex<Vec<String>>>>,
    ) -> anyhow::Result<Stats> {
        let plan = Plan {
            clients,
            duration: self.secs,
            expect,
            gen,
            created,
        };
        let stats = self.rt.block_on(load::drive(&self.target, &plan))?;
        let mem = self.daemon.memory();
        eprintln!(
            "  {label}: {} ok, {} errors, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} B/answer, RSS {} MiB",
            stats.ok,
            stats.errors,
            stats.rps(),
            stats.p50(),
            stats.p99(),
            stats.bytes / stats.ok.max(1),
            mem.rss >> 20
        );
        if let Some(e) = &stats.first_error {
            eprintln!("    first error: {e}");
        }
        self.rows.push(Row {
            key: key.to_string(),
            label,
            stats: stats.clone(),
            rss_after: mem.rss,
        });
        Ok(stats)
    }

    /// One request before a read scenario: it must answer 200 with `needle` in the body.
    fn probe(&self, req: Req, needle: &str) -> anyhow::Result<()> {
        let path = req.path.clone();
        let a = self.rt.block_on(load::once(&self.target, req))?;
        let body = String::from_utf8_lossy(&a.body);
        if a.status != 200 || !body.contains(needle) {
            bail!(
                "probe {path}: status {}, body without {needle:?}: {}",
                a.status,
                body.chars().take(400).collect::<String>()
            );
        }
        Ok(())
    }
}

fn patch_body(op: &str, path: &str, value: Option<serde_json::Value>) -> String {
    let mut o = serde_json::json!({"op": op, "path": path});
    if let Some(v) = value {
        o["value"] = v;
    }
    serde_json::json!({"schemas": [PATCH_OP], "Operations": [o]}).to_string()
}

/// Adds (even `seq`) and removes (odd) user `uid` of team `gid`. Answered 204 with no body (a
/// team PATCH without `attributes=`, as Entra expects it).
fn member_toggle(gid: &str, uid: &str, seq: u64) -> Req {
    let body = if seq & 1 == 0 {
        patch_body(
            "add",
            "members",
            Some(serde_json::json!([{ "value": uid }])),
        )
    } else {
        patch_body("remove", &format!("members[value eq \"{uid}\"]"), None)
    };
    Req::with_body(Method::PATCH, format!("{BASE}/Groups/{gid}"), body)
}

pub fn run_size(
    rt: &tokio::runtime::Runtime,
    bin: &std::path::Path,
    args: &Args,
    pg: Option<&pg::Server>,
    n: usize,
    secs: Duration,
) -> anyhow::Result<SizeResult> {
    let c = args.clients;
    // Users at the end of the range are kept out of every team: the member scenarios add and
    // remove them, two scenarios (1 and `c` clients) per team, `c` users each.
    let reserve = 2 * c * args.team_sizes.len().max(1) + c;
    if n <= reserve + 1 {
        bail!("--users {n} is too small for {c} clients (needs more than {reserve})");
    }
    let fits = n - reserve;
    let (team_sizes, skipped): (Vec<usize>, Vec<usize>) =
        args.team_sizes.iter().partition(|&&t| t <= fits);
    let put_size = args.put_team.min(fits);
    eprintln!("size {n} users: seeding (teams {team_sizes:?}, PUT team {put_size})");
    let inst = Instance::new()?;
    // Declared before the daemons, so it is dropped after them even on an error.
    let db = pg.map(|p| p.fresh(&format!("users_{n}"))).transpose()?;
    let seeded = seed::seed(
        &inst.store_path(),
        ORG,
        n,
        &team_sizes,
        put_size,
        args.seed_batch,
    )?;
    eprintln!(
        "  users {:.1?}, teams {:.1?}, {} bytes",
        seeded.users_time, seeded.teams_time, seeded.file_bytes
    );
    let loaded = db.as_ref().map(|db| db.load(&inst)).transpose()?;
    let daemon = Running::start(bin, &inst)?;
    let mem_start = daemon.memory();
    eprintln!(
        "  started: listening {:.1?}, healthy {:.1?}, RSS {} MiB",
        daemon.to_listening,
        daemon.to_healthy,
        mem_start.rss >> 20
    );
    let mut r = Runner {
        rt,
        daemon: &daemon,
        target: Target {
            addr: daemon.addr,
            token: Some(inst.token.clone()),
        },
        secs,
        rows: Vec::new(),
    };
    let ids = Arc::new(seeded.user_ids.clone());

    // Reads.
    r.probe(
        Req::get(format!("{BASE}/Users/{}", ids[n / 2])),
        &ids[n / 2],
    )?;
    let g = ids.clone();
    r.run(
        "get",
        "GET user by id".into(),
        c,
        200,
        Arc::new(move |cl, seq| {
            let i = (mix(1, cl as u64, seq) % g.len() as u64) as usize;
            Some(Req::get(format!("{BASE}/Users/{}", g[i])))
        }),
        None,
    )?;
    let by_name = |i: usize| {
        let f = format!("userName eq \"{}\"", user_name(i));
        format!("{BASE}/Users?filter={}", encode(&f))
    };
    r.probe(Req::get(by_name(n / 3)), "\"totalResults\":1")?;
    r.run(
        "username",
        "`filter=userName eq`".into(),
        c,
        200,
        Arc::new(move |cl, seq| {
            let i = (mix(2, cl as u64, seq) % n as u64) as usize;
            Some(Req::get(by_name(i)))
        }),
        None,
    )?;
    r.run(
        "username1",
        "`filter=userName eq`, 1 client".into(),
        1,
        200,
        Arc::new(move |cl, seq| {
            let i = (mix(5, cl as u64, seq) % n as u64) as usize;
            Some(Req::get(by_name(i)))
        }),
        None,
    )?;
    let by_email = |i: usize| {
        let f = format!("emails.value eq \"{}\"", email(i));
        format!("{BASE}/Users?filter={}", encode(&f))
    };
    r.probe(Req::get(by_email(n / 4)), "\"totalResults\":1")?;
    r.run(
        "email",
        "`filter=emails.value eq`".into(),
        c,
        200,
        Arc::new(move |cl, seq| {
            let i = (mix(3, cl as u64, seq) % n as u64) as usize;
            Some(Req::get(by_email(i)))
        }),
        None,
    )?;
    let lc = args.list_clients.max(1);
    // No index serves it: every user is read, by the database on PostgreSQL (only rows that
    // hold the value come back), by the daemon on redb.
    let by_family = |i: usize| {
        let f = format!("name.familyName eq \"Family{i}\"");
        format!("{BASE}/Users?filter={}", encode(&f))
    };
    r.probe(Req::get(by_family(n / 5)), "\"totalResults\":1")?;
    r.run(
        "scan",
        "`filter=name.familyName eq` (no index: a scan)".into(),
        lc,
        200,
        Arc::new(move |cl, seq| {
            let i = (mix(6, cl as u64, seq) % n as u64) as usize;
            Some(Req::get(by_family(i)))
        }),
        None,
    )?;
    let first = format!("{BASE}/Users?startIndex=1&count=100");
    r.probe(Req::get(first.clone()), "\"itemsPerPage\":100")?;
    r.run(
        "list_first",
        "list page 1 (`count=100`)".into(),
        lc,
        200,
        Arc::new(move |_, _| Some(Req::get(first.clone()))),
        None,
    )?;
    let deep_start = n - 99;
    let deep = format!("{BASE}/Users?startIndex={deep_start}&count=100");
    r.probe(Req::get(deep.clone()), "\"itemsPerPage\":100")?;
    r.run(
        "list_deep",
        format!("list page deep (`startIndex={deep_start}&count=100`)"),
        lc,
        200,
        Arc::new(move |_, _| Some(Req::get(deep.clone()))),
        None,
    )?;

    // Cursor paging (RFC 9865): scimd's cursors are resource ids, pages in id order, so the
    // cursor of the last page is the id 101st from the end.
    let first = format!("{BASE}/Users?cursor=&count=100");
    r.probe(Req::get(first.clone()), "\"nextCursor\"")?;
    r.run(
        "cursor_first",
        "list page 1 by cursor (`cursor=&count=100`)".into(),
        lc,
        200,
        Arc::new(move |_, _| Some(Req::get(first.clone()))),
        None,
    )?;
    let mut sorted: Vec<&String> = ids.iter().collect();
    sorted.sort_unstable();
    let deep = format!("{BASE}/Users?cursor={}&count=100", sorted[n - 101]);
    r.probe(Req::get(deep.clone()), "\"itemsPerPage\":100")?;
    r.run(
        "cursor_deep",
        "list page deep by cursor (last 100 users)".into(),
        lc,
        200,
        Arc::new(move |_, _| Some(Req::get(deep.clone()))),
        None,
    )?;

    // Writes.
    let created = Arc::new(Mutex::new(Vec::new()));
    let post = |tag: &'static str| -> Gen {
        Arc::new(move |cl, seq| Some(post_user(&format!("new-{tag}-{cl}-{seq}"), "New")))
    };
    r.run(
        "post1",
        "POST create user, 1 client".into(),
        1,
        201,
        post("a"),
        Some(created.clone()),
    )?;
    r.run(
        "postN",
        format!("POST create user, {c} clients"),
        c,
        201,
        post("b"),
        Some(created.clone()),
    )?;
    let g = ids.clone();
    let deactivate = patch_body("replace", "active", Some(serde_json::json!(false)));
    r.run(
        "deactivate",
        "PATCH deactivate user".into(),
        c,
        200,
        Arc::new(move |cl, seq| {
            let i = (mix(4, cl as u64, seq) % fits as u64) as usize;
            Some(Req::with_body(
                Method::PATCH,
                format!("{BASE}/Users/{}", g[i]),
                deactivate.clone(),
            ))
        }),
        None,
    )?;
    let mem_before_teams = daemon.memory();

    for (k, team) in seeded.teams.iter().enumerate() {
        // As Okta and Entra send it, first one change at a time, then many clients at once.
        let slice = n - 1 - 2 * k * c;
        let (gid, uid) = (team.id.clone(), ids[slice].clone());
        r.run(
            &format!("member1_{}", team.size),
            format!(
                "PATCH add/remove 1 member, team of {}, 1 client",
                report::count(team.size as u64)
            ),
            1,
            204,
            Arc::new(move |_, seq| Some(member_toggle(&gid, &uid, seq))),
            None,
        )?;
        let slice = n - 1 - (2 * k + 1) * c;
        let (gid, g) = (team.id.clone(), ids.clone());
        r.run(
            &format!("memberN_{}", team.size),
            format!(
                "PATCH add/remove 1 member, team of {}, {c} clients",
                report::count(team.size as u64)
            ),
            c,
            204,
            Arc::new(move |cl, seq| Some(member_toggle(&gid, &g[slice - cl], seq))),
            None,
        )?;
    }

    // PUT the PUT team whole, each time without one (rotating) member: a full-list sync that
    // changes two memberships.
    let items: Vec<String> = ids[..put_size]
        .iter()
        .map(|id| format!("{{\"value\":\"{id}\"}}"))
        .collect();
    let items = Arc::new(items);
    let put_team = seeded.put_team.clone();
    let (gid, name) = (put_team.id.clone(), put_team.name.clone());
    r.run(
        "put",
        format!(
            "PUT team with {} members (whole list), 1 client",
            report::count(put_size as u64)
        ),
        1,
        200,
        Arc::new(move |_, seq| {
            let skip = (seq as usize) % items.len();
            let mut members = String::with_capacity(items.len() * 50);
            for (i, it) in items.iter().enumerate() {
                if i == skip {
                    continue;
                }
                if !members.is_empty() {
                    members.push(',');
                }
                members.push_str(it);
            }
            let body = format!(
                "{{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\
                 \"displayName\":\"{name}\",\"members\":[{members}]}}"
            );
            Some(Req::with_body(
                Method::PUT,
                format!("{BASE}/Groups/{gid}"),
                body,
            ))
        }),
        None,
    )?;

    let pool = created.clone();
    let created_count = pool.lock().map(|p| p.len()).unwrap_or(0);
    r.run(
        "delete",
        format!("DELETE user, {c} clients"),
        c,
        204,
        Arc::new(move |_, _| {
            let id = pool.lock().ok()?.pop()?;
            Some(Req {
                method: Method::DELETE,
                path: format!("{BASE}/Users/{id}"),
                body: None,
            })
        }),
        None,
    )?;
    let mem_end = daemon.memory();
    let rows = r.rows;
    let (to_listening, to_healthy) = (daemon.to_listening, daemon.to_healthy);
    let stopped = daemon.stop()?;
    eprintln!("  stopped in {:.1?} ({})", stopped.took, stopped.status);
    // Restart once on the grown store: startup must not depend on what was done before.
    let again = Running::start(bin, &inst)?;
    let restart = again.to_healthy;
    let mem_restart: Memory = again.memory();
    eprintln!(
        "  restarted: healthy {restart:.1?}, RSS {} MiB",
        mem_restart.rss >> 20
    );
    let stopped_again = again.stop()?;
    let file_after = pg::store_bytes(&inst, db.as_ref());
    Ok(SizeResult {
        users: n,
        teams: seeded.teams.iter().map(|t| t.size).collect(),
        skipped_teams: skipped,
        put_size,
        users_time: seeded.users_time,
        teams_time: seeded.teams_time,
        file_bytes: seeded.file_bytes,
        file_after,
        loaded,
        to_listening,
        to_healthy,
        restart,
        mem_start,
        mem_restart,
        mem_before_teams,
        mem_end,
        created: created_count,
        stopped,
        stopped_again,
        rows,
    })
}
