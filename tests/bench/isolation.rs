//! The `isolation` scenario (issue 8, tenant isolation inside the writer): how much one org's
//! expensive requests delay another org's durable writes. One client of org `bench` POSTs new
//! users, first alone, then while clients of org `noisy` keep sending the most expensive
//! requests a tenant may legitimately send: PATCHes of a user just under the 1 MiB body cap
//! with the most operations allowed (1000), PUTs of a user just under the cap (100 values in
//! each of five multi-valued attributes, long strings), and Bulk requests of 1000 small
//! PATCHes (prepared outside the writer, which only checks versions and writes). A last round
//! measures `bench` GETs of a user by id, alone and while eight clients of `noisy` filter by an
//! `externalId` that tens of thousands of its users share (a lookup on a non-unique index,
//! which must not run on the async workers). The noisy bodies are built once, two variants
//! per client alternating, so every request changes the stored user.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::Bytes;
use http::Method;
use serde_json::{json, Value};

use crate::daemon::{Instance, Running, ORG};
use crate::load::{self, mix, Gen, Plan, Req, Stats, Target};
use crate::pg;
use crate::report::{IsoRow, IsolationResult};
use crate::seed::{self, user_name};
use crate::PATCH_OP;

/// The org that sends the expensive requests.
pub const NOISY: &str = "noisy";
const NOISY_BASE: &str = "/scim/v2/noisy";
/// What a noisy body aims at: just under the daemon's 1 MiB cap (`http::MAX_BODY`).
const BODY_TARGET: usize = (1 << 20) - 8 * 1024;
/// The most operations a PATCH, and a Bulk request, may carry.
const MAX_OPS: usize = 1000;
/// The most values of one multi-valued attribute (`[limits] max_values_per_attribute`).
const MAX_VALUES: usize = 100;
/// The `externalId` the crowd of `noisy`'s users share.
const CROWD_EXTERNAL_ID: &str = "crowd-ext";
/// Noisy clients of the `externalId` round, as issue 19 measured it.
const CROWD_CLIENTS: usize = 8;
/// The noisy load runs this long before the measured `bench` client starts, and this long
/// after it stops.
const WARMUP: Duration = Duration::from_millis(500);

/// What the scenario needs from the command line.
pub struct Settings {
    /// Users seeded into org `bench`.
    pub users: usize,
    /// Noisy client counts, each a round of the noisy loads.
    pub noisy_clients: Vec<usize>,
    pub secs: Duration,
    pub seed_batch: usize,
    /// Users of `noisy` sharing one `externalId`.
    pub crowd: usize,
}

/// `len` lowercase letters, different for every `seed`.
fn filler(len: usize, seed: u64) -> String {
    let mut out = String::with_capacity(len);
    let mut x = mix(7, seed, 0);
    for i in 0..len {
        if i % 12 == 0 {
            x = mix(x, seed, i as u64);
        }
        out.push((b'a' + (x % 26) as u8) as char);
        x /= 26;
    }
    out
}

/// Builds a body whose filler strings are `len` long, with `len` chosen so the body is as near
/// [`BODY_TARGET`] as the filler count allows (the body grows linearly with `len`).
fn sized(build: impl Fn(usize) -> String) -> String {
    let (base, one) = (build(0).len(), build(1).len());
    let per = (one - base).max(1);
    build(BODY_TARGET.saturating_sub(base) / per)
}

fn email_of(tag: &str, variant: u8, k: usize) -> String {
    format!("{tag}-{variant}-{k:02}@noisy.example.org")
}

/// A PATCH of [`MAX_OPS`] operations: replace `emails` with [`MAX_VALUES`] values, then
/// replace, in turn, one email's `display` through a value filter (each matching against all
/// of them), `nickName`, `title` and `name.givenName`, each with a long string (of at most
/// `max_string_length`; `displayName` is indexed, so its cap is too short for them). `refused`
/// makes the last operation remove `userName`, which the daemon refuses (400) only after
/// applying all the others: the same work, nothing to write.
fn big_patch(tag: &str, variant: u8, refused: bool) -> String {
    sized(|len| {
        let emails: Vec<Value> = (0..MAX_VALUES)
            .map(|k| json!({"value": email_of(tag, variant, k), "type": "other"}))
            .collect();
        let mut ops = vec![json!({"op": "replace", "path": "emails", "value": emails})];
        for i in 1..MAX_OPS {
            let path = match i % 4 {
                0 => format!(
                    "emails[value eq \"{}\"].display",
                    email_of(tag, variant, i % MAX_VALUES)
                ),
                1 => "nickName".into(),
                2 => "title".into(),
                _ => "name.givenName".into(),
            };
            let value = filler(len, (i as u64) << 8 | u64::from(variant));
            ops.push(json!({"op": "replace", "path": path, "value": value}));
        }
        if refused {
            if let Some(last) = ops.last_mut() {
                *last = json!({"op": "remove", "path": "userName"});
            }
        }
        json!({"schemas": [PATCH_OP], "Operations": ops}).to_string()
    })
}

/// A PUT of user `i`: long name parts, nickName and title, and [`MAX_VALUES`] emails, phone
/// numbers, addresses, roles and entitlements, each with a long string.
fn big_put(i: usize, tag: &str, variant: u8) -> String {
    sized(|len| {
        let f = |n: usize| filler(len, (n as u64) << 8 | u64::from(variant));
        let many = |attr: usize, make: &dyn Fn(usize, String) -> Value| -> Vec<Value> {
            (0..MAX_VALUES)
                .map(|k| make(k, f(attr * 1000 + k)))
                .collect()
        };
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name(i),
            "name": {"givenName": f(1), "familyName": f(2), "formatted": f(3)},
            "nickName": f(4),
            "title": f(5),
            "active": true,
            "emails": many(1, &|k, s| json!({
                "value": email_of(tag, variant, k), "type": "other", "display": s
            })),
            "phoneNumbers": many(2, &|k, s| json!({
                "value": format!("+1 555 01{k:02}"), "type": "work", "display": s
            })),
            "addresses": many(3, &|_, s| json!({"formatted": s, "type": "work"})),
            "roles": many(4, &|_, s| json!({"value": s})),
            "entitlements": many(5, &|_, s| json!({"value": s})),
        })
        .to_string()
    })
}

/// A Bulk request of [`MAX_OPS`] PATCHes, one per user of `ids`, each replacing `title`.
fn bulk(ids: &[String], tag: &str, variant: u8) -> String {
    let ops: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({
                "method": "PATCH",
                "path": format!("/Users/{id}"),
                "data": {
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "replace", "path": "title", "value": format!("bulk {tag} {variant}")}]
                }
            })
        })
        .collect();
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops})
        .to_string()
}

/// One kind of noisy load.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Each client PATCHes its own user.
    Patch,
    /// The same PATCH refused at its last operation: the work outside the writer, no write.
    PatchRefused,
    /// Every client PATCHes the same user: the prepared changes keep finding it moved.
    PatchOne,
    Put,
    Bulk,
    /// A filter on the `externalId` the crowd shares, one result asked for (all counted).
    ExternalId,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::Patch => "patch",
            Kind::PatchRefused => "patch_refused",
            Kind::PatchOne => "patch_one",
            Kind::Put => "put",
            Kind::Bulk => "bulk",
            Kind::ExternalId => "external_id",
        }
    }

    /// The status every answer must have.
    fn expect(self) -> u16 {
        match self {
            Kind::PatchRefused => 400,
            _ => 200,
        }
    }

    fn label(self, body: usize) -> String {
        let kib = body as f64 / 1024.0;
        match self {
            Kind::Patch => {
                format!("PATCH of {MAX_OPS} ops ({kib:.0} KiB), each client its own user")
            }
            Kind::PatchRefused => format!(
                "PATCH of {MAX_OPS} ops ({kib:.0} KiB), refused at the last op (400, no write)"
            ),
            Kind::PatchOne => {
                format!("PATCH of {MAX_OPS} ops ({kib:.0} KiB), all clients one user")
            }
            Kind::Put => format!(
                "PUT user ({kib:.0} KiB, 5 × {MAX_VALUES} values), each client its own user"
            ),
            Kind::Bulk => format!(
                "Bulk of {MAX_OPS} one-op PATCHes ({kib:.0} KiB), prepared outside the writer"
            ),
            Kind::ExternalId => {
                format!("GET /Users?filter=externalId eq (shared by {body} users)&count=1")
            }
        }
    }
}

/// The prebuilt noisy bodies: two variants per client.
struct Bodies {
    patch: Vec<[Bytes; 2]>,
    refused: Vec<[Bytes; 2]>,
    put: Vec<[Bytes; 2]>,
    bulk: Vec<[Bytes; 2]>,
}

/// Noisy users: `0..k` are PATCHed, `k..2k` PUT, `2k` PATCHed by all, the rest go to Bulk.
struct Layout {
    k: usize,
    ids: Arc<Vec<String>>,
}

impl Layout {
    fn users(k: usize) -> usize {
        2 * k + 1 + MAX_OPS
    }
    fn patch(&self, c: usize) -> &str {
        &self.ids[c]
    }
    fn put(&self, c: usize) -> (usize, &str) {
        (self.k + c, &self.ids[self.k + c])
    }
    fn shared(&self) -> &str {
        &self.ids[2 * self.k]
    }
    fn bulk(&self) -> &[String] {
        &self.ids[2 * self.k + 1..]
    }
}

fn two(f: impl Fn(u8) -> String) -> [Bytes; 2] {
    [Bytes::from(f(0)), Bytes::from(f(1))]
}

impl Bodies {
    fn build(l: &Layout) -> Bodies {
        let tag = |c: usize| format!("c{c}");
        Bodies {
            patch: (0..l.k)
                .map(|c| two(|v| big_patch(&tag(c), v, false)))
                .collect(),
            refused: (0..l.k)
                .map(|c| two(|v| big_patch(&tag(c), v, true)))
                .collect(),
            put: (0..l.k)
                .map(|c| two(|v| big_put(l.put(c).0, &tag(c), v)))
                .collect(),
            bulk: (0..l.k)
                .map(|c| two(|v| bulk(l.bulk(), &tag(c), v)))
                .collect(),
        }
    }

    fn of(&self, kind: Kind) -> &[[Bytes; 2]] {
        match kind {
            Kind::Patch | Kind::PatchOne => &self.patch,
            Kind::PatchRefused => &self.refused,
            Kind::Put => &self.put,
            Kind::Bulk | Kind::ExternalId => &self.bulk,
        }
    }
}

/// Client `c`'s request number `seq` of `kind`.
fn noisy_req(l: &Layout, b: &Bodies, kind: Kind, c: usize, seq: u64) -> Req {
    if kind == Kind::ExternalId {
        // A read, the same for every client (there may be more of them than bodies).
        return Req::get(format!(
            "{NOISY_BASE}/Users?filter=externalId%20eq%20%22{CROWD_EXTERNAL_ID}%22&count=1"
        ));
    }
    let variant = ((c as u64 + seq) % 2) as usize;
    let body = Some(b.of(kind)[c][variant].clone());
    let (method, path) = match kind {
        Kind::Patch | Kind::PatchRefused => {
            (Method::PATCH, format!("{NOISY_BASE}/Users/{}", l.patch(c)))
        }
        Kind::PatchOne => (Method::PATCH, format!("{NOISY_BASE}/Users/{}", l.shared())),
        Kind::Put => (Method::PUT, format!("{NOISY_BASE}/Users/{}", l.put(c).1)),
        Kind::Bulk => (Method::POST, format!("{NOISY_BASE}/Bulk")),
        Kind::ExternalId => unreachable!("answered above"),
    };
    Req { method, path, body }
}

/// What org `bench`'s measured client sends.
#[derive(Clone)]
enum Measured {
    /// POST a new small user (201, durable).
    Post,
    /// GET one of these users by id (200).
    Get(Arc<Vec<String>>),
}

impl Measured {
    fn name(&self) -> &'static str {
        match self {
            Measured::Post => "POST",
            Measured::Get(_) => "GET",
        }
    }

    fn plan(&self, tag: usize, secs: Duration) -> Plan {
        let (expect, gen): (u16, Gen) = match self {
            Measured::Post => (
                201,
                Arc::new(move |_, seq| Some(crate::post_user(&format!("iso-{tag}-{seq}"), "Iso"))),
            ),
            Measured::Get(ids) => {
                let ids = ids.clone();
                (
                    200,
                    Arc::new(move |_, seq| {
                        let id = &ids[seq as usize % ids.len().max(1)];
                        Some(Req::get(format!("/scim/v2/{ORG}/Users/{id}")))
                    }),
                )
            }
        };
        Plan {
            clients: 1,
            duration: secs,
            expect,
            gen,
            created: None,
        }
    }
}

/// Runs `bench`'s client for `secs` on its own thread and runtime (so the noisy clients'
/// big bodies never hold up its task), beside `noisy` on `rt` when given.
fn measure(
    rt: &tokio::runtime::Runtime,
    bench: &Target,
    (what, tag): (&Measured, usize),
    secs: Duration,
    noisy: Option<(&Target, Plan)>,
) -> anyhow::Result<(Stats, Option<Stats>)> {
    let plan = what.plan(tag, secs);
    let wait = noisy.is_some();
    std::thread::scope(|s| {
        let measured = s.spawn(move || -> anyhow::Result<Stats> {
            if wait {
                std::thread::sleep(WARMUP);
            }
            let own = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            own.block_on(load::drive(bench, &plan))
        });
        let noisy = match noisy {
            Some((t, plan)) => Some(rt.block_on(load::drive(t, &plan))?),
            None => None,
        };
        let bench = measured
            .join()
            .map_err(|_| anyhow::anyhow!("the bench client panicked"))??;
        Ok((bench, noisy))
    })
}

/// One noisy request before a round: it must answer as expected (and a Bulk, 200 for every
/// operation).
fn probe(rt: &tokio::runtime::Runtime, t: &Target, req: Req, kind: Kind) -> anyhow::Result<()> {
    let path = req.path.clone();
    let a = rt.block_on(load::once(t, req))?;
    let body = String::from_utf8_lossy(&a.body);
    let ok = a.status == kind.expect()
        && (kind != Kind::ExternalId || body.contains("\"totalResults\":"))
        && (kind != Kind::Bulk || body.matches("\"status\":\"200\"").count() == MAX_OPS);
    if !ok {
        bail!(
            "probe {path}: status {}: {}",
            a.status,
            body.chars().take(400).collect::<String>()
        );
    }
    Ok(())
}

/// Seeds a fresh instance with orgs `bench` and `noisy` (on `pg`, then copies it into a fresh
/// database), starts the daemon, and measures.
pub fn run(
    rt: &tokio::runtime::Runtime,
    bin: &std::path::Path,
    pg: Option<&pg::Server>,
    s: &Settings,
) -> anyhow::Result<IsolationResult> {
    let k = s.noisy_clients.iter().copied().max().unwrap_or(1).max(1);
    let noisy_users = Layout::users(k);
    eprintln!(
        "isolation: seeding {} users into `{ORG}`, {noisy_users} into `{NOISY}`",
        s.users
    );
    let inst = Instance::with_orgs(&[NOISY])?;
    let db = pg.map(|p| p.fresh("isolation")).transpose()?;
    let bench_ids = Arc::new(seed::users(&inst.store_path(), ORG, s.users, s.seed_batch)?);
    let ids = seed::users(&inst.store_path(), NOISY, noisy_users, s.seed_batch)?;
    eprintln!(
        "isolation: seeding {} users of `{NOISY}` that share one externalId",
        s.crowd
    );
    seed::crowd(
        &inst.store_path(),
        NOISY,
        noisy_users,
        s.crowd,
        CROWD_EXTERNAL_ID,
        s.seed_batch,
    )?;
    if let Some(db) = &db {
        db.load(&inst)?;
    }
    let layout = Layout {
        k,
        ids: Arc::new(ids),
    };
    let bodies = Arc::new(Bodies::build(&layout));
    let layout = Arc::new(layout);
    let daemon = Running::start(bin, &inst)?;
    let bench = Target {
        addr: daemon.addr,
        token: Some(inst.token.clone()),
    };
    let noisy = Target {
        addr: daemon.addr,
        token: inst.token_of(NOISY).map(str::to_string),
    };
    for kind in [
        Kind::Patch,
        Kind::PatchRefused,
        Kind::Put,
        Kind::Bulk,
        Kind::ExternalId,
    ] {
        probe(rt, &noisy, noisy_req(&layout, &bodies, kind, 0, 0), kind)
            .with_context(|| format!("the noisy {} request", kind.key()))?;
    }

    let mut rows = Vec::new();
    let post = Measured::Post;
    let alone = measure(rt, &bench, (&post, 0), s.secs, None)?;
    record(
        &mut rows,
        ("alone".into(), "none (alone)".into(), &post),
        0,
        alone,
        &daemon,
    );
    let mut tag = 1;
    for &clients in &s.noisy_clients {
        for kind in [
            Kind::PatchRefused,
            Kind::Patch,
            Kind::PatchOne,
            Kind::Put,
            Kind::Bulk,
        ] {
            if kind == Kind::PatchOne && clients < 2 {
                continue;
            }
            let body = bodies.of(kind)[0][0].len();
            let (l, b) = (layout.clone(), bodies.clone());
            let plan = Plan {
                clients,
                duration: s.secs + 2 * WARMUP,
                expect: kind.expect(),
                gen: Arc::new(move |c, seq| Some(noisy_req(&l, &b, kind, c, seq))),
                created: None,
            };
            let got = measure(rt, &bench, (&post, tag), s.secs, Some((&noisy, plan)))?;
            tag += 1;
            let key = format!("{}_{clients}", kind.key());
            record(
                &mut rows,
                (key, kind.label(body), &post),
                clients,
                got,
                &daemon,
            );
        }
    }
    let again = measure(rt, &bench, (&post, tag), s.secs, None)?;
    record(
        &mut rows,
        ("alone_again".into(), "none (alone, again)".into(), &post),
        0,
        again,
        &daemon,
    );
    // Reads beside the non-unique lookups.
    let get = Measured::Get(bench_ids);
    let alone = measure(rt, &bench, (&get, 0), s.secs, None)?;
    let label = "none (alone, GET by id)".to_string();
    record(
        &mut rows,
        ("get_alone".into(), label, &get),
        0,
        alone,
        &daemon,
    );
    let (l, b) = (layout.clone(), bodies.clone());
    let plan = Plan {
        clients: CROWD_CLIENTS,
        duration: s.secs + 2 * WARMUP,
        expect: 200,
        gen: Arc::new(move |c, seq| Some(noisy_req(&l, &b, Kind::ExternalId, c, seq))),
        created: None,
    };
    let got = measure(rt, &bench, (&get, 0), s.secs, Some((&noisy, plan)))?;
    let key = format!("{}_{CROWD_CLIENTS}", Kind::ExternalId.key());
    let label = Kind::ExternalId.label(s.crowd);
    record(&mut rows, (key, label, &get), CROWD_CLIENTS, got, &daemon);
    let mem_end = daemon.memory();
    let stopped = daemon.stop()?;
    eprintln!("  stopped in {:.1?} ({})", stopped.took, stopped.status);
    Ok(IsolationResult {
        users: s.users,
        noisy_users: noisy_users + s.crowd,
        crowd: s.crowd,
        rows,
        mem_end,
    })
}

/// Prints a round's progress line and keeps its row.
fn record(
    rows: &mut Vec<IsoRow>,
    (key, label, what): (String, String, &Measured),
    clients: usize,
    (bench, noisy): (Stats, Option<Stats>),
    daemon: &Running,
) {
    let rss = daemon.memory().rss;
    let noisy_line = noisy.as_ref().map_or(String::new(), |n| {
        format!(
            "; noisy {} ok, {} errors, {:.1} req/s, p50 {:.0} ms, p99 {:.0} ms",
            n.ok,
            n.errors,
            n.rps(),
            n.p50(),
            n.p99()
        )
    });
    eprintln!(
        "  {label}, {clients} noisy clients: bench p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms \
         ({} {}s, {} errors){noisy_line}",
        bench.p50(),
        bench.p99(),
        bench.max_ms(),
        bench.ok,
        what.name(),
        bench.errors,
    );
    let noisy_error = noisy.as_ref().and_then(|n| n.first_error.as_ref());
    for e in [bench.first_error.as_ref(), noisy_error]
        .into_iter()
        .flatten()
    {
        eprintln!("    first error: {e}");
    }
    rows.push(IsoRow {
        key,
        label,
        measured: what.name(),
        noisy_clients: clients,
        bench,
        noisy,
        rss_after: rss,
    });
}
