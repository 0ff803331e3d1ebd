//! The operator's store commands: `scimd backup`, `restore`, `compact`, `export` and `org
//! purge`. A running daemon holds the redb file (redb locks it), so a backup of a live store is
//! asked of the daemon over its control socket, which copies one read snapshot while it goes on
//! serving, and so is a purge, which the daemon runs through its writer; restore and compact
//! need the daemon stopped and refuse while its socket answers.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use scimd_config::{Config, StoreBackend};
use scimd_core::wire::{ClientMsg, ServerMsg, PROTOCOL_VERSION};
use scimd_core::ResourceType;

use crate::store::{Store, StoreError};

/// Why an operator command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Refused(String),
    #[error("{context}: {source}")]
    Store { context: String, source: StoreError },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("the daemon answered: {0}")]
    Daemon(String),
}

type Result<T> = std::result::Result<T, AdminError>;

fn store_err(context: impl Into<String>) -> impl FnOnce(StoreError) -> AdminError {
    let context = context.into();
    move |source| AdminError::Store { context, source }
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> AdminError {
    let context = context.into();
    move |source| AdminError::Io { context, source }
}

/// How long a running daemon may take to write a backup (a million users copy in well under
/// a minute; a slow disk gets plenty of room).
const BACKUP_TIMEOUT: Duration = Duration::from_secs(3600);

/// How long a running daemon may take to purge an org (chunks of a few thousand rows, each a
/// durable commit: a million rows take well under this).
const PURGE_TIMEOUT: Duration = Duration::from_secs(3600);

/// What a store holds, per org: (org, users, teams).
pub type Counts = Vec<(String, u64, u64)>;

fn counts(store: &Store) -> std::result::Result<Counts, StoreError> {
    store
        .orgs()?
        .into_iter()
        .map(|org| {
            let stats = store.org_stats(&org)?;
            Ok((org, stats.users, stats.teams))
        })
        .collect()
}

/// One request to the daemon on `socket`; None when no daemon answers there.
pub(crate) fn ask_daemon(
    socket: &Path,
    msg: &ClientMsg,
    timeout: Duration,
) -> Option<Result<ServerMsg>> {
    let stream = UnixStream::connect(socket).ok()?;
    Some((|| {
        let ctx = || format!("talking to the daemon on {}", socket.display());
        stream
            .set_read_timeout(Some(timeout))
            .map_err(io_err(ctx()))?;
        let mut w = stream.try_clone().map_err(io_err(ctx()))?;
        let mut r = BufReader::new(stream);
        let mut send = |m: &ClientMsg| {
            let mut line = serde_json::to_vec(m).unwrap_or_default();
            line.push(b'\n');
            w.write_all(&line)
        };
        let mut recv = || -> Result<ServerMsg> {
            let mut line = String::new();
            r.read_line(&mut line).map_err(io_err(ctx()))?;
            serde_json::from_str(&line)
                .map_err(|e| AdminError::Daemon(format!("an answer that is not ours: {e}")))
        };
        send(&ClientMsg::Hello {
            version: PROTOCOL_VERSION,
        })
        .map_err(io_err(ctx()))?;
        match recv()? {
            ServerMsg::Hello { .. } => {}
            ServerMsg::Error { message } => return Err(AdminError::Daemon(message)),
            other => return Err(AdminError::Daemon(format!("unexpected {other:?}"))),
        }
        send(msg).map_err(io_err(ctx()))?;
        match recv()? {
            ServerMsg::Error { message } => Err(AdminError::Daemon(message)),
            answer => Ok(answer),
        }
    })())
}

fn redb_only(config: &Config, what: &str, instead: &str) -> Result<PathBuf> {
    match config.store.backend {
        StoreBackend::Redb => Ok(crate::site::store_path(config)),
        StoreBackend::Postgres(_) => Err(AdminError::Refused(format!(
            "{} uses PostgreSQL; {what} works on the redb store only: {instead}",
            config.path.display()
        ))),
    }
}

fn refuse_if_serving(config: &Config, what: &str) -> Result<()> {
    let hello = ClientMsg::Hello {
        version: PROTOCOL_VERSION,
    };
    if ask_daemon(&config.socket, &hello, Duration::from_secs(5)).is_some() {
        return Err(AdminError::Refused(format!(
            "a daemon is serving from {} (its control socket {} answers); stop it before {what}",
            config.data_dir.display(),
            config.socket.display()
        )));
    }
    Ok(())
}

fn absolute(path: &Path) -> Result<PathBuf> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    let cwd = std::env::current_dir().map_err(io_err("reading the current folder"))?;
    Ok(cwd.join(path))
}

/// Opens a store file that no daemon serves, read for its counts, and closes it again.
fn verify(path: &Path) -> Result<Counts> {
    let store = Store::open(path).map_err(store_err(format!(
        "{} does not open as a scimd store",
        path.display()
    )))?;
    let found = counts(&store).map_err(store_err(format!("reading {}", path.display())));
    store.close();
    found
}

/// What a backup wrote.
#[derive(Debug)]
pub struct Backup {
    pub path: PathBuf,
    pub bytes: u64,
    /// Whether the running daemon took it (else the file was opened directly).
    pub live: bool,
    pub counts: Counts,
}

/// `scimd backup --out FILE`: through the running daemon when there is one, else from the
/// file directly; then the copy is verified by opening it.
pub fn backup(config: &Config, out: &Path) -> Result<Backup> {
    let source = redb_only(config, "scimd backup", "use pg_dump")?;
    let out = absolute(out)?;
    if out.exists() {
        return Err(AdminError::Refused(format!(
            "{} already exists; back up to a new file",
            out.display()
        )));
    }
    let ask = ClientMsg::Backup {
        path: out.display().to_string(),
    };
    let (bytes, live) = match ask_daemon(&config.socket, &ask, BACKUP_TIMEOUT) {
        Some(answer) => match answer? {
            ServerMsg::Backup { bytes, .. } => (bytes, true),
            other => return Err(AdminError::Daemon(format!("unexpected {other:?}"))),
        },
        None => {
            if !source.exists() {
                return Err(AdminError::Refused(format!(
                    "there is no store at {} and no daemon answers on {}",
                    source.display(),
                    config.socket.display()
                )));
            }
            let store = Store::open(&source).map_err(store_err(format!(
                "opening {} (a daemon may hold it without a control socket)",
                source.display()
            )))?;
            let written = store.backup(&out);
            store.close();
            (written.map_err(store_err("writing the backup"))?, false)
        }
    };
    let counts = verify(&out)?;
    Ok(Backup {
        path: out,
        bytes,
        live,
        counts,
    })
}

/// What a restore put in place.
#[derive(Debug)]
pub struct Restored {
    pub path: PathBuf,
    /// Where the store it replaced was kept, if there was one.
    pub previous: Option<PathBuf>,
    pub counts: Counts,
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// `scimd restore --from FILE`: the backup becomes the store, the store it replaces is kept
/// as `scimd.redb.before-restore`. Refused while a daemon holds the data dir.
pub fn restore(config: &Config, from: &Path) -> Result<Restored> {
    let target = redb_only(config, "scimd restore", "use pg_restore or psql")?;
    refuse_if_serving(config, "restoring")?;
    if !from.is_file() {
        return Err(AdminError::Refused(format!(
            "{} is not a file",
            from.display()
        )));
    }
    if target.exists() {
        // Opening takes redb's lock: a daemon without a control socket still holds it.
        let current = Store::open(&target).map_err(store_err(format!(
            "opening {} (stop the daemon that holds it)",
            target.display()
        )))?;
        current.close();
    }
    std::fs::create_dir_all(&config.data_dir)
        .map_err(io_err(format!("creating {}", config.data_dir.display())))?;
    // The backup itself is never opened (opening may migrate it): a copy is, beside the
    // store, so the final rename stays on one file system.
    let staged = with_suffix(&target, ".restoring");
    let _ = std::fs::remove_file(&staged);
    std::fs::copy(from, &staged).map_err(io_err(format!(
        "copying {} to {}",
        from.display(),
        staged.display()
    )))?;
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o600));
    }
    let counts = match verify(&staged) {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&staged);
            return Err(e);
        }
    };
    let previous = if target.exists() {
        let kept = with_suffix(&target, ".before-restore");
        std::fs::rename(&target, &kept)
            .map_err(io_err(format!("moving {} aside", target.display())))?;
        Some(kept)
    } else {
        None
    };
    std::fs::rename(&staged, &target)
        .map_err(io_err(format!("moving the backup to {}", target.display())))?;
    if let Ok(dir) = std::fs::File::open(&config.data_dir) {
        let _ = dir.sync_all();
    }
    Ok(Restored {
        path: target,
        previous,
        counts,
    })
}

/// `scimd compact`: shrinks the redb file offline; returns its path and size before and
/// after.
pub fn compact(config: &Config) -> Result<(PathBuf, u64, u64)> {
    let path = redb_only(
        config,
        "scimd compact",
        "PostgreSQL reclaims space with VACUUM",
    )?;
    refuse_if_serving(config, "compacting")?;
    if !path.exists() {
        return Err(AdminError::Refused(format!(
            "there is no store at {}",
            path.display()
        )));
    }
    let (before, after) = Store::compact(&path).map_err(store_err(format!(
        "compacting {} (stop the daemon that holds it)",
        path.display()
    )))?;
    Ok((path, before, after))
}

/// What an export wrote.
#[derive(Debug, Default, Clone, Copy)]
pub struct Exported {
    pub users: u64,
    pub teams: u64,
}

/// What `scimd export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportForm {
    /// SCIM JSON, one resource per line: the users, then the teams with their members.
    Scim,
    /// Exactly the lines of `GET /events/v1/{org}/snapshot`, end line included.
    Snapshot,
}

/// `scimd export --org NAME [--snapshot]`: the org read from one snapshot, into `out`, as
/// `form` says. A redb store that a daemon serves is read from a backup the daemon writes
/// into the data dir, removed afterwards.
pub fn export(
    config: &Config,
    org: &str,
    form: ExportForm,
    out: &mut dyn Write,
) -> Result<Exported> {
    let org = org.to_ascii_lowercase();
    let base = match &config.public_url {
        Some(url) => format!("{url}/scim/v2/{org}"),
        None => format!("http://{}/scim/v2/{org}", config.listen),
    };
    let mut snapshot = None;
    let store = match &config.store.backend {
        StoreBackend::Postgres(pg) => crate::pg_url::open(&pg.url, 2)
            .map_err(store_err(format!("opening {}", pg.redacted_url())))?,
        StoreBackend::Redb => {
            let path = crate::site::store_path(config);
            let temp = config.data_dir.join(format!(
                ".export-{}-{}.redb",
                std::process::id(),
                time::OffsetDateTime::now_utc().unix_timestamp_nanos()
            ));
            let ask = ClientMsg::Backup {
                path: absolute(&temp)?.display().to_string(),
            };
            let open = match ask_daemon(&config.socket, &ask, BACKUP_TIMEOUT) {
                Some(answer) => {
                    answer?;
                    snapshot = Some(temp.clone());
                    temp
                }
                None => path,
            };
            Store::open(&open).map_err(store_err(format!("opening {}", open.display())))?
        }
    };
    let result = match form {
        ExportForm::Scim => write_org(&store, &org, &base, out),
        ExportForm::Snapshot => write_snapshot(&store, &org, &base, out),
    };
    store.close();
    if let Some(temp) = snapshot {
        let _ = std::fs::remove_file(temp);
    }
    let exported = result?;
    if exported.users == 0 && exported.teams == 0 && config.org(&org).is_none() {
        return Err(AdminError::Refused(format!(
            "org {org} is not in {} and the store holds nothing for it",
            config.path.display()
        )));
    }
    Ok(exported)
}

fn write_org(store: &Store, org: &str, base: &str, out: &mut dyn Write) -> Result<Exported> {
    let mut exported = Exported::default();
    let mut failed: Option<std::io::Error> = None;
    store
        .visit_org(org, &mut |rt, r| {
            let line = crate::api::render(base, rt, r);
            let mut bytes = serde_json::to_vec(&line).unwrap_or_default();
            bytes.push(b'\n');
            if let Err(e) = out.write_all(&bytes) {
                failed = Some(e);
                return Ok(false);
            }
            match rt {
                ResourceType::User => exported.users += 1,
                ResourceType::Group => exported.teams += 1,
            }
            Ok(true)
        })
        .map_err(store_err(format!("reading org {org}")))?;
    finish_export(failed, out)?;
    Ok(exported)
}

/// Ends an export: the write error that stopped it, if any, else the flush.
fn finish_export(failed: Option<std::io::Error>, out: &mut dyn Write) -> Result<()> {
    if let Some(e) = failed {
        return Err(AdminError::Io {
            context: "writing the export".into(),
            source: e,
        });
    }
    out.flush().map_err(io_err("writing the export"))
}

fn write_snapshot(store: &Store, org: &str, base: &str, out: &mut dyn Write) -> Result<Exported> {
    let mut failed: Option<std::io::Error> = None;
    let mut last = Vec::new();
    crate::api::snapshot::stream(store, org, base, &mut |chunk| {
        // The end line is the last of the last chunk; kept to count what was written.
        if let Some(end) = chunk[..chunk.len().saturating_sub(1)]
            .iter()
            .rposition(|b| *b == b'\n')
        {
            last = chunk[end + 1..].to_vec();
        } else {
            last = chunk.to_vec();
        }
        match out.write_all(&chunk) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    })
    .map_err(store_err(format!("reading org {org}")))?;
    finish_export(failed, out)?;
    let end: serde_json::Value = serde_json::from_slice(&last).unwrap_or_default();
    let count = |k: &str| end.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
    Ok(Exported {
        users: count("users"),
        teams: count("teams"),
    })
}

/// Opens the config's store directly, for a command run while no daemon serves it.
fn open_offline(config: &Config) -> Result<Option<Store>> {
    match &config.store.backend {
        StoreBackend::Postgres(pg) => crate::pg_url::open(&pg.url, 2)
            .map(Some)
            .map_err(store_err(format!("opening {}", pg.redacted_url()))),
        StoreBackend::Redb => {
            let path = crate::site::store_path(config);
            if !path.exists() {
                return Ok(None);
            }
            Store::open(&path).map(Some).map_err(store_err(format!(
                "opening {} (a daemon may hold it without a control socket)",
                path.display()
            )))
        }
    }
}

/// What `scimd org purge` deleted.
#[derive(Debug)]
pub struct OrgPurged {
    pub org: String,
    pub purged: crate::store::Purged,
    /// Whether the running daemon did it (else the store was opened directly).
    pub live: bool,
}

/// `scimd org purge --org NAME`: deletes everything the store holds of an org that is no
/// longer in the config; through the running daemon when there is one (its writer, in bounded
/// chunks), else on the store directly.
pub fn purge(config: &Config, org: &str) -> Result<OrgPurged> {
    let org = org.to_ascii_lowercase();
    if config.org(&org).is_some() {
        return Err(AdminError::Refused(format!(
            "org {org} is still in {}; remove [orgs.{org}] from it first (a purge deletes the \
             org's data for good)",
            config.path.display()
        )));
    }
    let ask = ClientMsg::PurgeOrg { org: org.clone() };
    if let Some(answer) = ask_daemon(&config.socket, &ask, PURGE_TIMEOUT) {
        return match answer? {
            ServerMsg::Purged {
                users,
                teams,
                memberships,
                events,
                activity,
                ..
            } => Ok(OrgPurged {
                org,
                purged: crate::store::Purged {
                    users,
                    teams,
                    memberships,
                    events,
                    activity,
                    other: 0,
                },
                live: true,
            }),
            other => Err(AdminError::Daemon(format!("unexpected {other:?}"))),
        };
    }
    let Some(store) = open_offline(config)? else {
        return Err(AdminError::Refused(format!(
            "there is no store at {} and no daemon answers on {}",
            crate::site::store_path(config).display(),
            config.socket.display()
        )));
    };
    let purged = store.purge_org(&org);
    store.close();
    Ok(OrgPurged {
        org: org.clone(),
        purged: purged.map_err(store_err(format!("purging org {org}")))?,
        live: false,
    })
}

/// The orgs the store holds data of that `config` no longer has, asked of the running daemon
/// when there is one; None when there is no store yet, or when it is PostgreSQL and no daemon
/// answers (a config check neither connects to a database nor migrates its schema).
pub fn unconfigured_orgs(config: &Config) -> Result<Option<Vec<String>>> {
    let stored = match ask_daemon(
        &config.socket,
        &ClientMsg::StoredOrgs,
        Duration::from_secs(30),
    ) {
        Some(answer) => match answer? {
            ServerMsg::StoredOrgs { orgs } => orgs,
            other => return Err(AdminError::Daemon(format!("unexpected {other:?}"))),
        },
        None if matches!(config.store.backend, StoreBackend::Postgres(_)) => return Ok(None),
        None => {
            let Some(store) = open_offline(config)? else {
                return Ok(None);
            };
            let orgs = store.orgs();
            store.close();
            orgs.map_err(store_err("listing the stored orgs"))?
        }
    };
    Ok(Some(unconfigured(config, stored)))
}

/// The orgs of `stored` that `config` does not have.
pub fn unconfigured(config: &Config, stored: Vec<String>) -> Vec<String> {
    stored
        .into_iter()
        .filter(|org| config.org(org).is_none())
        .collect()
}

/// The line `check-config` and the daemon's start log say about an org that holds data but is
/// no longer configured.
pub fn kept_line(org: &str) -> String {
    format!("org {org}: data kept; purge with `scimd org purge --org {org}`")
}
