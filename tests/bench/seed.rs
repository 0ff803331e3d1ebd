//! Seeds an org straight through the store library, the daemon not running: users in batches
//! of one durable transaction each, then the teams, each in its own transaction.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use scimd::store::{Stamp, Store, Target, Unknown};
use scimd_core::resource::{normalize, Limits};
use scimd_core::ResourceType;
use serde_json::{json, Map, Value};

/// User `i`'s userName.
pub fn user_name(i: usize) -> String {
    format!("user{i:07}@example.com")
}

/// User `i`'s work email (not its userName, so `emails.value eq` needs the email index).
pub fn email(i: usize) -> String {
    format!("u{i:07}@work.example.org")
}

/// A team: its id, name and member count.
#[derive(Debug, Clone)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub size: usize,
}

/// What seeding made and what it cost.
pub struct Seeded {
    /// Every user's id; user `i` has index `i`.
    pub user_ids: Vec<String>,
    /// Teams whose members are users `0..size`, smallest first.
    pub teams: Vec<Team>,
    /// The team the PUT scenario replaces.
    pub put_team: Team,
    pub users_time: Duration,
    pub teams_time: Duration,
    pub file_bytes: u64,
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// User `i` in stored form, exactly as the API would store it.
pub fn user_attrs(i: usize) -> Map<String, Value> {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name(i),
        "externalId": format!("ext-{i:07}"),
        "name": {"givenName": format!("Given{i}"), "familyName": format!("Family{i}")},
        "emails": [{"value": email(i), "type": "work", "primary": true}],
        "active": true
    });
    // The input is fixed and valid, so normalizing cannot fail.
    normalize(ResourceType::User, &body, &Limits::default())
        .map(|n| n.attrs)
        .unwrap_or_default()
}

/// Seeds `users` users and one team per size in `team_sizes` (members: the first `size`
/// users), plus a team of `put_size` for the PUT scenario, into a new store at `path`.
pub fn seed(
    path: &Path,
    org: &str,
    users: usize,
    team_sizes: &[usize],
    put_size: usize,
    batch: usize,
) -> anyhow::Result<Seeded> {
    let store = Store::open(path).map_err(|e| anyhow::anyhow!("opening the store: {e}"))?;
    let started = Instant::now();
    let user_ids = seed_users(&store, org, users, batch)?;
    let users_time = started.elapsed();

    let started = Instant::now();
    let make = |name: String, size: usize| -> anyhow::Result<Team> {
        let id = create_team(&store, org, &name, user_ids[..size].to_vec())?;
        Ok(Team { id, name, size })
    };
    let mut teams = Vec::new();
    for &size in team_sizes {
        teams.push(make(format!("team-{size}"), size)?);
    }
    let put_team = make(format!("put-team-{put_size}"), put_size)?;
    let teams_time = started.elapsed();
    drop(store);
    wait_closed(path)?;
    let file_bytes = std::fs::metadata(path)?.len();
    Ok(Seeded {
        user_ids,
        teams,
        put_team,
        users_time,
        teams_time,
        file_bytes,
    })
}

/// Seeds `users` users into `org` of the store at `path` (new or not) and closes it again;
/// returns their ids (user `i` has index `i`).
pub fn users(path: &Path, org: &str, users: usize, batch: usize) -> anyhow::Result<Vec<String>> {
    let store = Store::open(path).map_err(|e| anyhow::anyhow!("opening the store: {e}"))?;
    let ids = seed_users(&store, org, users, batch)?;
    drop(store);
    wait_closed(path)?;
    Ok(ids)
}

/// Adds one team per `(name, member ids)` to `org` of the store at `path`, each in its own
/// transaction, and closes the store; returns the teams in the order given.
pub fn teams(
    path: &Path,
    org: &str,
    teams: Vec<(String, Vec<String>)>,
) -> anyhow::Result<Vec<Team>> {
    let store = Store::open(path).map_err(|e| anyhow::anyhow!("opening the store: {e}"))?;
    let mut made = Vec::with_capacity(teams.len());
    for (name, members) in teams {
        let size = members.len();
        let id = create_team(&store, org, &name, members)?;
        made.push(Team { id, name, size });
    }
    drop(store);
    wait_closed(path)?;
    Ok(made)
}

/// Team `name` with `members` (user ids) in `org`, in one durable transaction; its new id.
fn create_team(
    store: &Store,
    org: &str,
    name: &str,
    members: Vec<String>,
) -> anyhow::Result<String> {
    let id = uuid::Uuid::now_v7().to_string();
    let attrs = normalize(
        ResourceType::Group,
        &json!({"displayName": name}),
        &Limits::default(),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?
    .attrs;
    let (org, gid, at) = (org.to_string(), id.clone(), now());
    store
        .write(&org.clone(), move |tx| {
            tx.create(
                Target::new(&org, ResourceType::Group, &gid),
                Stamp {
                    now: &at,
                    unknown: Unknown::Skip,
                },
                attrs.clone(),
                members.clone(),
            )
        })
        .map_err(|e| anyhow::anyhow!("seeding team {name}: {e}"))?;
    Ok(id)
}

/// Seeds users `first..first + n` of `org` whose `externalId` is `external` for all of them
/// (the non-unique lookup of the isolation scenario) into the store at `path`, and closes it.
pub fn crowd(
    path: &Path,
    org: &str,
    first: usize,
    n: usize,
    external: &str,
    batch: usize,
) -> anyhow::Result<()> {
    let store = Store::open(path).map_err(|e| anyhow::anyhow!("opening the store: {e}"))?;
    let make = |i: usize| {
        let mut attrs = user_attrs(i);
        attrs.insert("externalId".into(), Value::String(external.to_string()));
        attrs
    };
    seed_with(&store, org, first..first + n, batch, &make)?;
    drop(store);
    wait_closed(path)
}

/// Users `0..users` of `org`, in batches of one durable transaction each.
fn seed_users(store: &Store, org: &str, users: usize, batch: usize) -> anyhow::Result<Vec<String>> {
    seed_with(store, org, 0..users, batch, &user_attrs)
}

/// Users `range` of `org` as `make` builds them, in batches of one durable transaction each.
fn seed_with(
    store: &Store,
    org: &str,
    range: std::ops::Range<usize>,
    batch: usize,
    make: &dyn Fn(usize) -> Map<String, Value>,
) -> anyhow::Result<Vec<String>> {
    let started = Instant::now();
    let (first, users) = (range.start, range.end);
    let mut user_ids = Vec::with_capacity(users - first);
    let mut i = first;
    while i < users {
        let end = (i + batch).min(users);
        let mut rows = Vec::with_capacity(end - i);
        for n in i..end {
            let id = uuid::Uuid::now_v7().to_string();
            user_ids.push(id.clone());
            rows.push((id, make(n)));
        }
        let org = org.to_string();
        let at = now();
        store
            .write(&org.clone(), move |tx| {
                for (id, attrs) in rows.iter().cloned() {
                    tx.create(
                        Target::new(&org, ResourceType::User, &id),
                        Stamp {
                            now: &at,
                            unknown: Unknown::Skip,
                        },
                        attrs,
                        Vec::new(),
                    )?;
                }
                Ok(())
            })
            .map_err(|e| anyhow::anyhow!("seeding users {i}..{end}: {e}"))?;
        i = end;
        if users >= 100_000 && i % (users / 10) < batch {
            eprintln!("  seeded {i} of {users} users ({:.1?})", started.elapsed());
        }
    }
    Ok(user_ids)
}

/// Waits until the store's writer thread has let go of the file (its lock), so the daemon can
/// open it.
fn wait_closed(path: &Path) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match redb::Database::open(path) {
            Ok(db) => {
                drop(db);
                return Ok(());
            }
            Err(redb::DatabaseError::DatabaseAlreadyOpen) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(e).context("reopening the seeded store"),
        }
    }
}
