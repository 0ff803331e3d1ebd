//! `scimd-bench`: the benchmark harness of docs/performance.md. For each org size it seeds a
//! fresh store through the library, starts the real release `scimd serve` on 127.0.0.1, and
//! drives it with concurrent keep-alive clients, printing per-scenario throughput and p50/p99
//! latency as markdown, beside two ceilings measured in the same run (a bare hyper server and
//! redb's durable single-insert commits, and with `--postgres` the server's own single-row
//! commits) and the issue's targets as ratios of them. The
//! `isolation` scenario then measures one org's write latency beside another org's expensive
//! requests, and the `import` scenario walks whole orgs by `startIndex` and by cursor pages.
//! The `webhooks` part measures POST throughput with a webhook endpoint attached and the events
//! API's drain rate. `--only` picks some of `ceilings`, `sizes`, `isolation`, `import` and
//! `webhooks`. With
//! `--postgres ADMIN_URL` every daemon runs on a fresh PostgreSQL database instead of redb.
//!
//! ```sh
//! cargo run --release -p scimd-tests --bin scimd-bench -- \
//!     --users 1000,100000 --team-sizes 100,10000 --clients 32 --seconds 5
//! cargo run --release -p scimd-tests --bin scimd-bench -- --only isolation --users 1000
//! cargo run --release -p scimd-tests --bin scimd-bench -- --only import --users 100000 \
//!     --postgres postgres://scimd@127.0.0.1:5432/postgres
//! ```

mod ceiling;
mod daemon;
mod import;
mod isolation;
mod load;
mod pg;
mod report;
mod seed;
mod webhooks;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use http::Method;

use daemon::{Instance, Memory, Running, ORG};
use load::{encode, mix, Gen, Plan, Req, Stats, Target};
use report::{Ceilings, Row, SizeResult};
use seed::{email, user_name};

#[derive(Parser, Debug)]
#[command(
    name = "scimd-bench",
    about = "Seed, start and drive the real scimd; print markdown tables of throughput and latency"
)]
struct Args {
    /// Org sizes in users, comma-separated; each gets a fresh store.
    #[arg(long, value_delimiter = ',', default_value = "1000,100000")]
    users: Vec<usize>,
    /// Team sizes in members, comma-separated (a size that does not fit an org is skipped).
    #[arg(long, value_delimiter = ',', default_value = "100,10000")]
    team_sizes: Vec<usize>,
    /// Concurrent clients (one keep-alive connection each) for the concurrent scenarios.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Seconds each scenario runs.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Members of the team the PUT scenario replaces whole.
    #[arg(long, default_value_t = 10_000)]
    put_team: usize,
    /// Users per seeding transaction.
    #[arg(long, default_value_t = 10_000)]
    seed_batch: usize,
    /// Clients for the list-page scenarios (each deep page can be slow at large sizes).
    #[arg(long, default_value_t = 2)]
    list_clients: usize,
    /// Use this scimd binary instead of building the release one.
    #[arg(long)]
    scimd: Option<PathBuf>,
    /// Also write the report to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Run only these parts, comma-separated (default: all).
    #[arg(long, value_delimiter = ',', value_enum)]
    only: Vec<Part>,
    /// Clients of org `noisy` in the isolation scenario, comma-separated: one round of the
    /// noisy loads per count.
    #[arg(long, value_delimiter = ',', default_value = "1,4")]
    noisy_clients: Vec<usize>,
    /// Run every daemon on PostgreSQL: this URL's role must create databases; each instance
    /// gets a fresh database `bench_scimd_<what>` on the same server, seeded through redb and
    /// copied in, and dropped when the instance is done.
    #[arg(long, value_name = "ADMIN_URL")]
    postgres: Option<String>,
    /// `pool_size` of the daemons' `[store]` with `--postgres`.
    #[arg(long, default_value_t = scimd_config::DEFAULT_POOL_SIZE)]
    pg_pool_size: usize,
    /// Keep the instance databases of `--postgres` instead of dropping them.
    #[arg(long)]
    keep_databases: bool,
    /// The largest org size the `import` scenario walks: a daemon from before sequential
    /// `startIndex` pages continued from the last page's end (3b41244) walks in O(n²), hours
    /// at 1M users.
    #[arg(long, default_value_t = 1_000_000)]
    import_max_users: usize,
    /// Events in the feed the `webhooks` part drains through the events API.
    #[arg(long, default_value_t = 100_000)]
    drain_events: usize,
}

/// The parts of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Part {
    /// The bare hyper server and redb commit ceilings (and PostgreSQL's, with `--postgres`).
    Ceilings,
    /// The scenarios per org size (`--users`).
    Sizes,
    /// Org `bench`'s POST latency beside org `noisy`'s expensive requests, at the smallest
    /// `--users` size.
    Isolation,
    /// A whole-org walk by `startIndex` pages of 100 and by cursor, per `--users` size from
    /// 1,000 to `--import-max-users`.
    Import,
    /// POST throughput with and without one webhook endpoint, and the events API draining
    /// `--drain-events` events.
    Webhooks,
}

const BASE: &str = "/scim/v2/bench";
/// A POST of a new small user named `name` (unique per request), the durable write every
/// write scenario measures.
fn post_user(name: &str, given: &str) -> Req {
    let body = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("{name}@example.com"),
        "name": {"givenName": given, "familyName": name},
        "emails": [{"value": format!("{name}@work.example.org"), "type": "work", "primary": true}],
        "active": true
    });
    Req::with_body(Method::POST, format!("{BASE}/Users"), body.to_string())
}

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if args.clients == 0 || args.users.is_empty() || args.seconds <= 0.0 {
        bail!("--clients, --users and --seconds must be positive");
    }
    if args.noisy_clients.is_empty() || args.noisy_clients.contains(&0) {
        bail!("--noisy-clients must be positive");
    }
    args.users.sort_unstable();
    args.team_sizes.sort_unstable();
    let part = |p: Part| args.only.is_empty() || args.only.contains(&p);
    // Before the build and any seeding: a server that cannot be reached fails the run at once.
    let pg = args
        .postgres
        .as_deref()
        .map(|url| pg::Server::connect(url, args.pg_pool_size, args.keep_databases))
        .transpose()?;
    let bin = daemon::scimd_bin(args.scimd.clone())?;
    let rt = tokio::runtime::Runtime::new().context("starting tokio")?;
    let secs = Duration::from_secs_f64(args.seconds);
    let mut command = std::env::args().collect::<Vec<_>>().join(" ");
    if let Some(url) = &args.postgres {
        // The report is for sharing; the URL may carry a password.
        command = command.replace(url.as_str(), &pg::redacted(url));
    }
    let mut machine = report::machine();
    machine.push(("store backend".into(), backend(pg.as_ref(), &args)));
    if let Some(path) = &args.scimd {
        // The checkout describes the harness, not a binary given from elsewhere.
        for (k, v) in &mut machine {
            if k == "scimd source" {
                *v = format!("`{}` (given with --scimd); harness at {v}", path.display());
            }
        }
    }
    let load_before = report::loadavg();

    let ceilings = if part(Part::Ceilings) {
        Some(ceilings(&rt, &args, pg.as_ref(), secs)?)
    } else {
        None
    };
    let mut sizes = Vec::new();
    if part(Part::Sizes) {
        for &n in &args.users {
            sizes.push(run_size(&rt, &bin, &args, pg.as_ref(), n, secs)?);
        }
    }
    let iso = if part(Part::Isolation) {
        let settings = isolation::Settings {
            users: args.users[0],
            noisy_clients: args.noisy_clients.clone(),
            secs,
            seed_batch: args.seed_batch,
        };
        Some(isolation::run(&rt, &bin, pg.as_ref(), &settings)?)
    } else {
        None
    };
    let imports = if part(Part::Import) {
        let settings = import::Settings {
            users: args.users.clone(),
            max_users: args.import_max_users,
            seed_batch: args.seed_batch,
        };
        Some(import::run(&rt, &bin, pg.as_ref(), &settings)?)
    } else {
        None
    };
    let hooks = if part(Part::Webhooks) {
        let settings = webhooks::Settings {
            clients: args.clients,
            secs,
            drain_events: args.drain_events,
            seed_batch: args.seed_batch,
        };
        Some(webhooks::run(&rt, &bin, pg.as_ref(), &settings)?)
    } else {
        None
    };
    machine.push((
        "load average (1/5/15 min), start → end".into(),
        format!("{load_before} → {}", report::loadavg()),
    ));
    let text = report::render(
        &machine,
        &command,
        &args_line(&args),
        ceilings.as_ref(),
        &sizes,
        iso.as_ref(),
        imports.as_ref(),
    );
    let text = match &hooks {
        Some(h) => text + &webhooks::render(h, args.clients),
        None => text,
    };
    println!("{text}");
    if let Some(path) = &args.out {
        std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The store backend line of the report's machine table.
fn backend(pg: Option<&pg::Server>, args: &Args) -> String {
    match (pg, &args.postgres) {
        (Some(pg), Some(url)) => format!(
            "PostgreSQL {} at `{}` ({}); one fresh database per instance, seeded into redb \
             and copied in with `Store::copy_into`, daemon `pool_size` {}. Daemon RSS figures \
             are scimd's own, without the server's processes",
            pg.version,
            pg::redacted(url),
            pg.settings,
            pg.pool_size
        ),
        _ => "redb (`data_dir/scimd.redb`)".into(),
    }
}

/// The bare hyper server and redb durable commit ceilings, and with `--postgres` the server's.
fn ceilings(
    rt: &tokio::runtime::Runtime,
    args: &Args,
    pg: Option<&pg::Server>,
    secs: Duration,
) -> anyhow::Result<Ceilings> {
    eprintln!("ceilings: bare hyper server, {} clients", args.clients);
    let bare = ceiling::BareServer::start()?;
    let bare_target = Target {
        addr: bare.addr,
        token: None,
    };
    let gen: Gen = Arc::new(|_, _| Some(Req::get(format!("{BASE}/Users/x"))));
    let hyper = rt.block_on(load::drive(
        &bare_target,
        &Plan {
            clients: args.clients,
            duration: secs,
            expect: 200,
            gen,
            created: None,
        },
    ))?;
    drop(bare);
    eprintln!("  {:.0} req/s", hyper.rps());
    eprintln!("ceilings: redb single-insert durable commits");
    let disk = ceiling::redb_commits(secs)?;
    eprintln!("  {:.0} commits/s", disk.per_sec());
    let pg = match pg {
        None => None,
        Some(server) => {
            eprintln!("ceilings: PostgreSQL single-row commits (pgbench, 1 connection)");
            Some(match server.commit_ceiling(secs)? {
                Some(c) => {
                    eprintln!("  {:.0} commits/s", c.per_sec());
                    Ok(c)
                }
                None => Err("no pgbench on PATH or in /usr/lib/postgresql/*/bin".to_string()),
            })
        }
    };
    Ok(Ceilings { hyper, disk, pg })
}

fn args_line(a: &Args) -> String {
    format!(
        "users {:?}, team sizes {:?}, {} clients, {} s per scenario, PUT team {}, list clients {}, \
         noisy clients {:?}, import up to {} users, backend {}, parts {}",
        a.users,
        a.team_sizes,
        a.clients,
        a.seconds,
        a.put_team,
        a.list_clients,
        a.noisy_clients,
        a.import_max_users,
        if a.postgres.is_some() {
            format!("postgres (pool_size {})", a.pg_pool_size)
        } else {
            "redb".into()
        },
        if a.only.is_empty() {
            "all".to_string()
        } else {
            format!("{:?}", a.only)
        }
    )
}

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

fn run_size(
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
