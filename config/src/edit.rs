//! In-place edits of the config file: token rotation and revocation, webhook endpoints, and the
//! starter file.
//!
//! Edits go through `toml_edit` so the operator's comments and layout survive, and every write
//! is atomic (temp file in the same folder, fsync, rename) because the daemon's watcher may read
//! the file at any moment and must never see half of it. Every file written has mode 0600 from
//! the moment it exists: it may hold webhook secrets and a database password.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use toml_edit::{Array, DocumentMut, Item, Table, TableLike, Value};

use crate::error::{one_line, ConfigError};
use crate::model::Config;
use crate::span;
use crate::token;
use crate::webhooks::{parse_url, WebhookSecret};

/// Which of an org's token lists an edit changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenScope {
    /// `tokens`: the IdP's SCIM tokens.
    Scim,
    /// `event_tokens`: the consumer tokens that read the org's events and nothing else.
    Events,
    /// `read_tokens`: read-only SCIM tokens (GET, HEAD, `POST .search`; writes answer 403).
    Read,
}

impl TokenScope {
    /// The org table's key holding the list.
    pub fn key(self) -> &'static str {
        match self {
            TokenScope::Scim => "tokens",
            TokenScope::Events => "event_tokens",
            TokenScope::Read => "read_tokens",
        }
    }
}

/// Replaces every token of `org` with one new token and returns it in plaintext; only its hash
/// is written. The old tokens stop working as soon as the daemon reloads the file.
pub fn rotate_token(path: &Path, org: &str) -> Result<String, ConfigError> {
    rotate_token_in(path, org, TokenScope::Scim)
}

/// [`rotate_token`] for the token list of `scope`; the other list is left as it is.
pub fn rotate_token_in(path: &Path, org: &str, scope: TokenScope) -> Result<String, ConfigError> {
    let plaintext = token::generate();
    set_tokens(path, org, scope.key(), &[token::hash(&plaintext)])?;
    Ok(plaintext)
}

/// Removes every token of `org`, which then refuses every request until a token is rotated in.
pub fn revoke_tokens(path: &Path, org: &str) -> Result<(), ConfigError> {
    revoke_tokens_in(path, org, TokenScope::Scim)
}

/// [`revoke_tokens`] for the token list of `scope`.
pub fn revoke_tokens_in(path: &Path, org: &str, scope: TokenScope) -> Result<(), ConfigError> {
    set_tokens(path, org, scope.key(), &[])
}

/// Adds a webhook endpoint to `org`: a `[[orgs.ORG.webhooks]]` table with `url`, a fresh
/// secret and, when given, `events` (every type when `None`). Returns the secret, `whsec_...`,
/// for the receiver to verify signatures with; unlike a token it stays in the file, since
/// scimd signs with it.
///
/// The whole edited file is validated first, so a bad URL, an unknown event type, a URL the org
/// already has or one endpoint too many is refused with nothing written.
pub fn add_webhook(
    path: &Path,
    org: &str,
    url: &str,
    events: Option<&[String]>,
) -> Result<String, ConfigError> {
    let secret = WebhookSecret::generate();
    let mut hook = Table::new();
    hook.insert("url", toml_edit::value(url));
    hook.insert("secret", toml_edit::value(&secret));
    if let Some(events) = events {
        hook.insert("events", toml_edit::value(Array::from_iter(events)));
    }
    // A blank line above the new header, as between the other tables of the file.
    hook.decor_mut().set_prefix("\n");
    let mut added = 0;
    let result = edit_org(path, org, |table| match table.get_mut("webhooks") {
        None => {
            let mut tables = toml_edit::ArrayOfTables::new();
            tables.push(hook);
            // An inline org (`orgs = { acme = {...} }`) turns this into an inline array.
            table.insert("webhooks", Item::ArrayOfTables(tables));
            Edited::Changed(())
        }
        Some(Item::ArrayOfTables(tables)) => {
            added = tables.len();
            tables.push(hook);
            Edited::Changed(())
        }
        Some(Item::Value(Value::Array(array))) => {
            added = array.len();
            array.push(hook.into_inline_table());
            Edited::Changed(())
        }
        Some(_) => Edited::Malformed,
    });
    result.map_err(|err| match err {
        // About the new endpoint: a position in the edited text, which was never written,
        // would point the operator at a line their file does not have.
        ConfigError::Invalid {
            path,
            key,
            line_col: Some(_),
            message,
        } if is_webhook_key(&key, added) => ConfigError::Invalid {
            path,
            key,
            line_col: None,
            message,
        },
        other => other,
    })?;
    Ok(secret)
}

/// Whether `key` is `orgs.NAME.webhooks[index]` or inside it.
fn is_webhook_key(key: &str, index: usize) -> bool {
    let Some((_, rest)) = key.strip_prefix("orgs.").and_then(|k| k.split_once('.')) else {
        return false;
    };
    rest.strip_prefix(&format!("webhooks[{index}]"))
        .is_some_and(|tail| tail.is_empty() || tail.starts_with('.'))
}

/// Removes the webhook endpoint of `org` whose `url` is `url` (compared taken apart, so
/// `HTTPS://Example.com` finds `https://example.com/`). Returns whether there was one; the file
/// is only written when there was.
pub fn remove_webhook(path: &Path, org: &str, url: &str) -> Result<bool, ConfigError> {
    let wanted = parse_url(url).ok();
    let same = |written: Option<&str>| {
        written.is_some_and(|w| w == url || (wanted.is_some() && parse_url(w).ok() == wanted))
    };
    edit_org(path, org, |table| {
        let emptied = match table.get_mut("webhooks") {
            None => return Edited::Unchanged(false),
            Some(Item::ArrayOfTables(tables)) => {
                let before = tables.len();
                tables.retain(|t| !same(t.get("url").and_then(Item::as_str)));
                if tables.len() == before {
                    return Edited::Unchanged(false);
                }
                tables.is_empty()
            }
            Some(Item::Value(Value::Array(array))) => {
                let before = array.len();
                array.retain(|v| {
                    !same(
                        v.as_inline_table()
                            .and_then(|t| t.get("url"))
                            .and_then(Value::as_str),
                    )
                });
                if array.len() == before {
                    return Edited::Unchanged(false);
                }
                array.is_empty()
            }
            Some(_) => return Edited::Malformed,
        };
        // The key goes with its last endpoint, so an add and a remove leave the file as it was.
        if emptied {
            table.remove("webhooks");
        }
        Edited::Changed(true)
    })
}

/// Writes a commented starter config with one org, `example`, and returns that org's token in
/// plaintext. Refuses to overwrite an existing file. The file is created with mode 0600.
pub fn write_starter(path: &Path) -> Result<String, ConfigError> {
    // Checked again atomically at the rename; this early check just avoids needless work.
    if fs::symlink_metadata(path).is_ok() {
        return Err(ConfigError::io(
            path,
            io::Error::new(io::ErrorKind::AlreadyExists, "the file already exists"),
        ));
    }
    let plaintext = token::generate();
    let text = starter_text(&token::hash(&plaintext));
    // The template is fixed and covered by tests; this guards against a broken edit of it all
    // the same, since a starter that does not load would leave a fresh install unable to start.
    Config::from_toml_str(&text, path)?;
    if let Some(dir) = parent_dir(path) {
        fs::create_dir_all(dir).map_err(|e| ConfigError::io(dir, e))?;
    }
    write_atomic(path, text.as_bytes(), false)?;
    Ok(plaintext)
}

fn set_tokens(path: &Path, org: &str, list: &str, hashes: &[String]) -> Result<(), ConfigError> {
    edit_org(path, org, |table| {
        replace_tokens(table, list, hashes);
        Edited::Changed(())
    })
}

/// What an edit of one org's table did.
enum Edited<T> {
    /// Changed the table: validate the file and write it.
    Changed(T),
    /// Left it as it was: nothing to write.
    Unchanged(T),
    /// The table's shape rules the edit out (`webhooks = "x"`), so the file is invalid as it
    /// is and the validator words why.
    Malformed,
}

/// Applies `edit` to the table of `org` (found whatever its case) and, when it changed
/// something, validates the whole file and writes it atomically.
fn edit_org<T>(
    path: &Path,
    org: &str,
    edit: impl FnOnce(&mut dyn TableLike) -> Edited<T>,
) -> Result<T, ConfigError> {
    // Editing through a symlink must change the file it points to, not replace the link.
    let target = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).map_err(|e| ConfigError::io(path, e))?
        }
        _ => path.to_path_buf(),
    };
    let text = fs::read_to_string(&target).map_err(|e| ConfigError::io(path, e))?;
    let mut doc: DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| ConfigError::Parse {
                path: path.to_path_buf(),
                line_col: e.span().map(|s| span::line_col(&text, s.start)),
                message: one_line(e.message()),
            })?;

    let unknown = || ConfigError::UnknownOrg(org.to_owned());
    let orgs = doc
        .get_mut("orgs")
        .and_then(Item::as_table_like_mut)
        .ok_or_else(unknown)?;
    let key = orgs
        .iter()
        .map(|(k, _)| k.to_owned())
        .find(|k| k.eq_ignore_ascii_case(org))
        .ok_or_else(unknown)?;
    let malformed = || {
        // `orgs.acme = "x"`: the validator words that best.
        Config::from_toml_str(&text, path)?;
        Err(unknown())
    };
    let Some(table) = orgs.get_mut(&key).and_then(Item::as_table_like_mut) else {
        return malformed();
    };
    let out = match edit(table) {
        Edited::Changed(out) => out,
        Edited::Unchanged(out) => return Ok(out),
        Edited::Malformed => return malformed(),
    };

    let edited = doc.to_string();
    // Never write a file the daemon would reject: it would keep running on the old version.
    Config::from_toml_str(&edited, path)?;
    write_atomic(&target, edited.as_bytes(), true)?;
    Ok(out)
}

fn replace_tokens(org: &mut dyn TableLike, list: &str, hashes: &[String]) {
    let mut array = Array::new();
    for hash in hashes {
        array.push(hash.as_str());
    }
    match org.get_mut(list) {
        Some(Item::Value(old)) => {
            // Keep the spacing and any trailing comment around the old value.
            let decor = old.decor().clone();
            *old = Value::Array(array);
            *old.decor_mut() = decor;
        }
        Some(item) => *item = toml_edit::value(array),
        None => {
            org.insert(list, toml_edit::value(array));
        }
    }
}

fn parent_dir(path: &Path) -> Option<&Path> {
    path.parent().filter(|p| !p.as_os_str().is_empty())
}

/// Replaces (or, with `replace` false, creates) `path` so that readers see the old bytes or the
/// new ones, never a mix, and the new ones survive a crash once this returns.
fn write_atomic(path: &Path, contents: &[u8], replace: bool) -> Result<(), ConfigError> {
    let dir = parent_dir(path).unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".to_owned());
    let io_err = |e| ConfigError::io(path, e);

    let owner = match fs::metadata(path) {
        Ok(meta) => Some((meta.uid(), meta.gid())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err(e)),
    };
    // A dot-prefixed name keeps editors' file lists quiet, and the watcher ignores other names.
    // Created with mode 0600 and left so, whatever the file had: it may hold webhook secrets
    // and a database password, and the daemon reads it as the user that owns it.
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(io_err)?;
    // The file keeps its owner, so a daemon that owns its config still reads it after root
    // rotated a token. Only root can give a file away; anyone else writes it as their own.
    if let Some((uid, gid)) = owner {
        let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(uid), Some(gid));
    }
    let mut tmp = tmp;
    tmp.write_all(contents).map_err(io_err)?;
    tmp.as_file().sync_all().map_err(io_err)?;
    let persisted = if replace {
        tmp.persist(path)
    } else {
        tmp.persist_noclobber(path)
    };
    persisted.map_err(|e| io_err(e.error))?;
    sync_dir(dir);
    Ok(())
}

/// Makes the rename itself durable. Best effort: some file systems refuse to fsync a folder,
/// and the data is already safe in the renamed file by then.
fn sync_dir(dir: &Path) {
    if let Ok(handle) = fs::File::open(dir) {
        let _ = handle.sync_all();
    }
}

fn starter_text(hash: &str) -> String {
    format!(
        r#"# scimd configuration.
#
# The running daemon watches this file: edits apply live, except `listen`, `data_dir`,
# `socket`, [log], [store], [metrics] and switching [tls] on or off, which need a restart. A file that
# does not parse is rejected with its line number, and the daemon keeps running on the last
# good version.
# Relative paths are resolved against the folder of this file.

# Address and port the SCIM server listens on.
listen = "127.0.0.1:8080"

# The base URL your identity provider reaches scimd at, without a trailing slash. It is used
# for `meta.location` in responses; when unset, it is derived from each request's Host header.
# public_url = "https://scim.example.com"

# Where scimd keeps its database (with the default redb store) and its control socket.
data_dir = "data"

# The control socket the dashboard connects to. Default: <data_dir>/scimd.sock
# socket = "data/scimd.sock"

# Logging: level is trace, debug, info, warn or error; format is text or json.
# [log]
# level = "info"
# format = "text"

# Serve HTTPS directly (PEM files). Without this section scimd speaks plain HTTP, for use
# behind a reverse proxy that terminates TLS. Okta requires an https base URL.
# [tls]
# cert = "cert.pem"
# key = "key.pem"

# How much history the activity log keeps for the dashboard: the newest max_records records
# (1 to 10000000), none older than max_age_days days (1 to 3650).
# [activity]
# max_records = 10000
# max_age_days = 30

# The database: without this section, a redb file in data_dir, for a single daemon. The
# backend "postgres" lets several daemons share one database; give its URL here or, better
# for the password, in the SCIMD_DATABASE_URL environment variable.
# [store]
# backend = "postgres"
# url = "postgres://scimd@db.internal:5432/scimd"
# pool_size = 16             # connections per daemon, 1 to 256

# Prometheus metrics at GET /metrics on a listener of their own (never the SCIM port); off
# without this section. Keep it on localhost or a private network: it names every org.
# [metrics]
# listen = "127.0.0.1:9464"

# One [orgs.NAME] table per organization. NAME is the org's login name and appears in the
# SCIM base URL: https://HOST/scim/v2/NAME. Names follow GitHub login rules (letters, digits
# and single hyphens, at most 39 characters) and are case-insensitive.
[orgs.example]
display_name = "Example"
# SHA-256 hashes of the bearer tokens, never the tokens themselves. Replace them with
#   scimd token rotate --org example
# which prints the new token once; remove them all with `scimd token revoke --org example`.
tokens = ["{hash}"]
# enabled = true             # false: answer 403 but keep the org's data
# team_name_max = 100        # longest team name accepted, 1 to 1000 characters
# unknown_members = "skip"   # "skip" unknown member ids, or "reject" the whole request
# usernames = "immutable"    # or "mutable": PUT/PATCH may rename a user (still unique)
"#
    )
}
