//! The PostgreSQL side of `--postgres`: finds `psql` and `pgbench`, makes one fresh database per
//! instance (dropped again when the instance is done), loads the instance's seeded redb store
//! into it with `Store::copy_into`, reads the server's version, settings and database sizes,
//! and measures the server's single-row commit ceiling with pgbench (one connection, and as
//! many as the bench's clients).
//!
//! Seeding stays on redb, through the library, because that is fast; the copy is the same one
//! `scimd store copy` makes, so the daemon finds exactly what it would have found in the file.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use scimd::store::Store;

use crate::ceiling::DiskCeiling;
use crate::daemon::Instance;

/// Every database the harness makes is named with this prefix, so what it drops is only ever
/// its own.
const PREFIX: &str = "bench_scimd_";
/// Connections of the store that copies the seeded redb file in: the copy is one writer, so a
/// few are plenty.
const COPY_POOL: usize = 4;

/// A PostgreSQL server reached with an admin URL (a role that may create databases).
pub struct Server {
    admin_url: String,
    psql: PathBuf,
    pgbench: Option<PathBuf>,
    /// `server_version`.
    pub version: String,
    /// The settings a commit's cost depends on, as `name value` pairs.
    pub settings: String,
    /// `pool_size` of every instance's `[store]`.
    pub pool_size: usize,
    /// Keep the instance databases instead of dropping them when done.
    keep: bool,
    /// `server_version_num`: `DROP DATABASE … WITH (FORCE)` needs 13 or later.
    version_num: u32,
}

/// What loading a seeded store into a fresh database cost and made.
#[derive(Debug, Clone, Copy)]
pub struct Loaded {
    pub took: Duration,
    /// `pg_database_size` right after the copy.
    pub db_bytes: u64,
    pub users: u64,
}

/// `name` on PATH, else in the newest `/usr/lib/postgresql/<version>/bin` (Debian installs
/// the client tools there and links only some of them onto PATH).
fn find_tool(name: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .filter_map(|e| {
                let v = e.file_name().to_str()?.parse::<u32>().ok()?;
                Some((v, e.path().join("bin").join(name)))
            })
            .filter(|(_, p)| p.is_file())
            .collect();
        versions.sort_unstable();
        versions.pop().map(|(_, p)| p)
    })
}

/// `url` with its database replaced by `db`, user, host, port and query kept.
fn with_database(url: &str, db: &str) -> anyhow::Result<String> {
    let (scheme, rest) = url
        .split_once("://")
        .context("--postgres wants a postgres:// URL")?;
    // The authority runs from after the user info to the first `/` or `?`.
    let host_at = rest.rfind('@').map_or(0, |i| i + 1);
    let end = rest[host_at..]
        .find(['/', '?'])
        .map_or(rest.len(), |i| host_at + i);
    let (authority, after) = rest.split_at(end);
    let query = after.find('?').map_or("", |i| &after[i..]);
    Ok(format!("{scheme}://{authority}/{db}{query}"))
}

/// `url` as it may be shown: without a password.
pub fn redacted(url: &str) -> String {
    scimd_config::PostgresConfig {
        url: url.to_string(),
        pool_size: 0,
    }
    .redacted_url()
}

impl Server {
    /// Finds the tools and asks the server at `admin_url` for its version and settings.
    pub fn connect(admin_url: &str, pool_size: usize, keep: bool) -> anyhow::Result<Server> {
        let psql = find_tool("psql")
            .context("--postgres needs psql (on PATH or in /usr/lib/postgresql/*/bin)")?;
        let mut server = Server {
            admin_url: admin_url.to_string(),
            psql,
            pgbench: find_tool("pgbench"),
            version: String::new(),
            settings: String::new(),
            pool_size,
            keep,
            version_num: 0,
        };
        server.version = server.query(admin_url, "show server_version")?;
        server.version_num = server
            .query(admin_url, "show server_version_num")?
            .parse()
            .unwrap_or(0);
        server.settings = server.query(
            admin_url,
            "select string_agg(name || ' ' || current_setting(name), ', ' order by name) \
                 from pg_settings where name in ('fsync', 'synchronous_commit', 'wal_sync_method', \
                 'full_page_writes', 'shared_buffers', 'max_connections')",
        )?;
        Ok(server)
    }

    /// Runs `sql` (one statement per element, each its own transaction) against `url` and
    /// returns what it printed, unaligned and without headers.
    fn run(&self, url: &str, sql: &[&str]) -> anyhow::Result<String> {
        let mut cmd = Command::new(&self.psql);
        cmd.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url])
            .env("PGCONNECT_TIMEOUT", "10");
        for s in sql {
            cmd.arg("-c").arg(s);
        }
        let out = cmd
            .output()
            .with_context(|| format!("running {}", self.psql.display()))?;
        if !out.status.success() {
            bail!(
                "psql on {} failed: {}",
                redacted(url),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    fn query(&self, url: &str, sql: &str) -> anyhow::Result<String> {
        self.run(url, &[sql])
    }

    /// A fresh, empty database `bench_scimd_<what>`, dropped first if a former run left it.
    pub fn fresh(&self, what: &str) -> anyhow::Result<Database<'_>> {
        let name = format!("{PREFIX}{what}");
        let drop = self.drop_sql(&name);
        self.run(
            &self.admin_url,
            &[drop.as_str(), &format!("CREATE DATABASE \"{name}\"")],
        )
        .with_context(|| format!("creating database {name}"))?;
        Ok(Database {
            url: with_database(&self.admin_url, &name)?,
            server: self,
            name,
        })
    }

    fn drop_sql(&self, name: &str) -> String {
        // FORCE ends the connections a killed daemon may have left behind.
        let force = if self.version_num >= 130_000 {
            " WITH (FORCE)"
        } else {
            ""
        };
        format!("DROP DATABASE IF EXISTS \"{name}\"{force}")
    }

    /// The single-row durable commit rate of `clients` connections: pgbench, a prepared
    /// `INSERT` of a 400-byte value per transaction (autocommit, so each waits for its WAL
    /// flush under `synchronous_commit`), into a fresh table of a fresh database, for
    /// `duration` (whole seconds, at least 1). The latencies come from pgbench's
    /// per-transaction log. `Ok(None)` when there is no pgbench.
    pub fn commit_ceiling(
        &self,
        duration: Duration,
        clients: usize,
    ) -> anyhow::Result<Option<DiskCeiling>> {
        let Some(pgbench) = &self.pgbench else {
            return Ok(None);
        };
        let clients = clients.max(1);
        // pgbench's own threads: no more than the cores, which the server needs too.
        let threads = clients.min(std::thread::available_parallelism().map_or(1, |n| n.get()));
        let db = self.fresh("ceiling")?;
        self.query(
            &db.url,
            "CREATE TABLE t (k bigserial PRIMARY KEY, v text NOT NULL)",
        )?;
        let dir = tempfile::Builder::new()
            .prefix("scimd-bench-pgbench-")
            .tempdir()?;
        let script = dir.path().join("insert.sql");
        std::fs::write(&script, "INSERT INTO t (v) VALUES (repeat('x', 400));\n")?;
        let secs = duration.as_secs_f64().ceil().max(1.0) as u64;
        let out = Command::new(pgbench)
            .args(["-n", "-M", "prepared", "-l"])
            .arg("-c")
            .arg(clients.to_string())
            .arg("-j")
            .arg(threads.to_string())
            .arg("-T")
            .arg(secs.to_string())
            .arg("-f")
            .arg(&script)
            .arg("--log-prefix")
            .arg(dir.path().join("log"))
            .arg(&db.url)
            .current_dir(dir.path())
            .output()
            .with_context(|| format!("running {}", pgbench.display()))?;
        if !out.status.success() {
            bail!(
                "pgbench failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        // Lines: client, transaction number, latency in µs, script, end time (s, µs).
        let mut lat_us = Vec::new();
        let (mut first_start, mut last_end) = (f64::INFINITY, 0f64);
        for entry in std::fs::read_dir(dir.path())?.filter_map(Result::ok) {
            if !entry.file_name().to_string_lossy().starts_with("log") {
                continue;
            }
            for line in std::fs::read_to_string(entry.path())?.lines() {
                let f: Vec<&str> = line.split_whitespace().collect();
                let (Some(lat), Some(s), Some(us)) = (f.get(2), f.get(4), f.get(5)) else {
                    continue;
                };
                let (Ok(lat), Ok(s), Ok(us)) =
                    (lat.parse::<u32>(), s.parse::<f64>(), us.parse::<f64>())
                else {
                    continue;
                };
                let end = s + us / 1e6;
                first_start = first_start.min(end - f64::from(lat) / 1e6);
                last_end = last_end.max(end);
                lat_us.push(lat);
            }
        }
        if lat_us.is_empty() {
            bail!("pgbench wrote no transaction log");
        }
        lat_us.sort_unstable();
        Ok(Some(DiskCeiling {
            commits: lat_us.len() as u64,
            elapsed: Duration::from_secs_f64((last_end - first_start).max(1e-6)),
            lat_us,
        }))
    }
}

/// One instance's database; dropped with it unless `--keep-databases`.
pub struct Database<'a> {
    server: &'a Server,
    pub name: String,
    pub url: String,
}

impl Database<'_> {
    /// Copies the instance's seeded redb store into this (empty) database, removes the file
    /// so nothing can read a stale copy, and points the instance's config at the database.
    pub fn load(&self, inst: &Instance) -> anyhow::Result<Loaded> {
        let path = inst.store_path();
        let started = Instant::now();
        let report = {
            let src = Store::open(&path).map_err(|e| anyhow::anyhow!("opening the seed: {e}"))?;
            // Blocks on its own runtime: this runs on the main thread, never on an async one.
            let dest = scimd::pg_url::open(&self.url, COPY_POOL)
                .map_err(|e| anyhow::anyhow!("opening database {}: {e}", self.name))?;
            let copied = src.copy_into(&dest);
            dest.close();
            src.close();
            copied.map_err(|e| anyhow::anyhow!("copying the seed into {}: {e}", self.name))?
        };
        let took = started.elapsed();
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        inst.use_postgres(&self.url, self.server.pool_size)?;
        let db_bytes = self.size();
        eprintln!(
            "  copied {} users, {} teams, {} memberships into database {} in {took:.1?} ({} MiB)",
            report.users,
            report.teams,
            report.memberships,
            self.name,
            db_bytes >> 20
        );
        Ok(Loaded {
            took,
            db_bytes,
            users: report.users,
        })
    }

    /// `pg_database_size`, 0 when the server does not answer.
    pub fn size(&self) -> u64 {
        self.server
            .query(&self.url, "select pg_database_size(current_database())")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Database<'_> {
    fn drop(&mut self) {
        if self.server.keep {
            eprintln!("  kept database {}", self.name);
            return;
        }
        let sql = self.server.drop_sql(&self.name);
        if let Err(e) = self.server.query(&self.server.admin_url, &sql) {
            eprintln!("  dropping database {}: {e}", self.name);
        }
    }
}

/// The bytes an instance's store takes: its database when it has one, else the redb file.
pub fn store_bytes(inst: &Instance, db: Option<&Database<'_>>) -> u64 {
    match db {
        Some(db) => db.size(),
        None => std::fs::metadata(inst.store_path()).map_or(0, |m| m.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        let f = |u| with_database(u, "d").unwrap_or_default();
        assert_eq!(f("postgres://u@h:1/postgres"), "postgres://u@h:1/d");
        assert_eq!(f("postgres://u:p@h:1"), "postgres://u:p@h:1/d");
        assert_eq!(
            f("postgresql://u@h/postgres?sslmode=disable"),
            "postgresql://u@h/d?sslmode=disable"
        );
        assert_eq!(f("postgres://h?x=1"), "postgres://h/d?x=1");
    }
}
