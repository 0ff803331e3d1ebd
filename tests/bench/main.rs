//! `scimd-bench`: the benchmark harness of docs/performance.md. For each org size it seeds a
//! fresh store through the library, starts the real release `scimd serve` on 127.0.0.1, and
//! drives it with concurrent keep-alive clients, printing per-scenario throughput and p50/p99
//! latency as markdown, beside two ceilings measured in the same run (a bare hyper server and
//! redb's durable single-insert commits, and with `--postgres` the server's own single-row
//! commits) and the issue's targets as ratios of them. The
//! `isolation` scenario then measures one org's write latency beside another org's expensive
//! requests, and the `import` scenario walks whole orgs by `startIndex` and by cursor pages.
//! The `webhooks` part measures POST throughput with a webhook endpoint attached and the events
//! API's drain rate. The `wakeup` part (PostgreSQL only) times how long a long-poll on one
//! daemon takes to answer a commit through another. The `snapshot` part times
//! `GET /events/v1/{org}/snapshot` per org size, with the daemon's peak RSS added. `--only`
//! picks some of `ceilings`, `sizes`, `isolation`, `import`, `webhooks`, `wakeup` and
//! `snapshot`. With
//! `--postgres ADMIN_URL` every daemon runs on a fresh PostgreSQL database instead of redb;
//! `--side-by-side` adds each size on redb just before it, and issue 21's targets as ratios.
//!
//! ```sh
//! cargo run --release -p scimd-tests --bin scimd-bench -- \
//!     --users 1000,100000 --team-sizes 100,10000 --clients 32 --seconds 5
//! cargo run --release -p scimd-tests --bin scimd-bench -- --only isolation --users 1000
//! cargo run --release -p scimd-tests --bin scimd-bench -- --only snapshot --users 100000,1000000
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
mod sizes;
mod snapshot;
mod wakeup;
mod webhooks;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use http::Method;

use load::Req;
use sizes::run_size;

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
    /// Users of org `noisy` sharing one `externalId`, which eight of its clients filter by
    /// in the isolation scenario's last round.
    #[arg(long, default_value_t = 60_000)]
    crowd_users: usize,
    /// Run every daemon on PostgreSQL: this URL's role must create databases; each instance
    /// gets a fresh database `bench_scimd_<what>` on the same server, seeded through redb and
    /// copied in, and dropped when the instance is done.
    #[arg(long, value_name = "ADMIN_URL")]
    postgres: Option<String>,
    /// With `--postgres`: run each size on redb too, just before PostgreSQL, and report
    /// issue 21's targets as ratios of the two.
    #[arg(long, requires = "postgres")]
    side_by_side: bool,
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
    /// Rounds of the `wakeup` part (one long-poll answered by one POST each).
    #[arg(long, default_value_t = 200)]
    wakeup_rounds: usize,
    /// Teams of the org the `snapshot` part reads.
    #[arg(long, default_value_t = 20)]
    snapshot_teams: usize,
    /// Percent of the users who are members (each of one team) in the `snapshot` part.
    #[arg(long, default_value_t = 10)]
    snapshot_members: usize,
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
    /// Two daemons on one PostgreSQL database: from a POST's 201 through one to the answer
    /// of a long-poll on the other (`--postgres` only; left out of a run without it).
    Wakeup,
    /// `GET /events/v1/{org}/snapshot` read whole per `--users` size, `--snapshot-teams`
    /// teams holding `--snapshot-members` percent of the users: time, lines, bytes and the
    /// daemon's peak RSS added.
    Snapshot,
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
    if args.only.contains(&Part::Wakeup) && args.postgres.is_none() {
        bail!("--only wakeup needs --postgres: it measures two daemons on one database");
    }
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
        Some(ceiling::ceilings(&rt, &args, pg.as_ref(), secs)?)
    } else {
        None
    };
    let (mut sizes, mut redb_sizes) = (Vec::new(), Vec::new());
    if part(Part::Sizes) {
        for &n in &args.users {
            if args.side_by_side {
                eprintln!("on redb first:");
                redb_sizes.push(run_size(&rt, &bin, &args, None, n, secs)?);
                eprintln!("then on PostgreSQL:");
            }
            sizes.push(run_size(&rt, &bin, &args, pg.as_ref(), n, secs)?);
        }
    }
    let iso = if part(Part::Isolation) {
        let settings = isolation::Settings {
            users: args.users[0],
            noisy_clients: args.noisy_clients.clone(),
            secs,
            seed_batch: args.seed_batch,
            crowd: args.crowd_users,
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
    let wake = if pg.is_some() && part(Part::Wakeup) {
        let settings = wakeup::Settings {
            rounds: args.wakeup_rounds.max(1),
            seed_batch: args.seed_batch,
        };
        Some(wakeup::run(&rt, &bin, pg.as_ref(), &settings)?)
    } else {
        None
    };
    let snaps = if part(Part::Snapshot) {
        let settings = snapshot::Settings {
            users: args.users.clone(),
            teams: args.snapshot_teams,
            member_pct: args.snapshot_members,
            seed_batch: args.seed_batch,
        };
        Some(snapshot::run(&rt, &bin, pg.as_ref(), &settings)?)
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
    let text = if redb_sizes.is_empty() {
        text
    } else {
        text + &report::render_side(&redb_sizes, &sizes, ceilings.as_ref())
    };
    let text = match &hooks {
        Some(h) => text + &webhooks::render(h, args.clients),
        None => text,
    };
    let text = match &wake {
        Some(w) => text + &wakeup::render(w),
        None => text,
    };
    let text = match &snaps {
        Some(r) => text + &report::render_snapshot(r, pg.is_none()),
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
