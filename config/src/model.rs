//! Stage two: the validated `Config` the daemon runs on, and the checks that produce it.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml_edit::ImDocument;

use crate::error::{one_line, ConfigError};
use crate::events::EventsConfig;
use crate::limits::LimitsConfig;
use crate::org::OrgConfig;
use crate::raw::{RawActivity, RawConfig, RawLog, RawMetrics, RawTls};
use crate::span::{self, KeyPath};
use crate::store::{StoreConfig, DATABASE_URL_ENV};
use crate::validator::Validator;
use crate::webhooks::WebhooksConfig;

/// Default for `listen`: loopback only, so a fresh install is not exposed by accident.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default for `data_dir`, relative to the config file's folder.
pub const DEFAULT_DATA_DIR: &str = "data";
/// File name of the control socket inside `data_dir` when `socket` is not set.
pub const DEFAULT_SOCKET_NAME: &str = "scimd.sock";
/// Default for `activity.max_records`.
pub const DEFAULT_ACTIVITY_MAX_RECORDS: u64 = 10_000;
/// Upper bound for `activity.max_records`.
pub const MAX_ACTIVITY_MAX_RECORDS: u64 = 10_000_000;
/// Default for `activity.max_age_days`.
pub const DEFAULT_ACTIVITY_MAX_AGE_DAYS: u64 = 30;
/// Upper bound for `activity.max_age_days` (about ten years).
pub const MAX_ACTIVITY_MAX_AGE_DAYS: u64 = 3650;

const LOG_LEVELS: [&str; 5] = ["trace", "debug", "info", "warn", "error"];

/// The validated config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Where the file was read from, as given by the caller.
    pub path: PathBuf,
    /// Address the HTTP(S) server binds.
    pub listen: SocketAddr,
    /// Base URL clients reach the server at, without a trailing slash.
    pub public_url: Option<String>,
    /// Folder of the redb database, resolved against the config file's folder; also the
    /// default folder of the control socket, whatever the store.
    pub data_dir: PathBuf,
    /// Control socket path, resolved; defaults to `<data_dir>/scimd.sock`.
    pub socket: PathBuf,
    /// PEM certificate and key; `None` serves plain HTTP.
    pub tls: Option<TlsConfig>,
    /// Log level and format.
    pub log: LogConfig,
    /// How much history the activity log keeps.
    pub activity: ActivityConfig,
    /// How much of each org's change feed is kept.
    pub events: EventsConfig,
    /// Connection and request limits.
    pub limits: LimitsConfig,
    /// The database backend (`[store]`); redb by default.
    pub store: StoreConfig,
    /// Where Prometheus scrapes `GET /metrics` (`[metrics] listen`); `None` serves no metrics.
    pub metrics: Option<SocketAddr>,
    /// How webhooks are delivered (`[webhooks]`): retries and timeouts, for every org.
    pub webhooks: WebhooksConfig,
    /// The orgs, keyed by lowercase name.
    pub orgs: BTreeMap<String, OrgConfig>,
}

/// `[tls]`: PEM files, resolved against the config file's folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsConfig {
    /// Certificate chain (PEM).
    pub cert: PathBuf,
    /// Private key (PEM).
    pub key: PathBuf,
}

/// `[log]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// One of `trace`, `debug`, `info`, `warn`, `error`.
    pub level: String,
    /// Human text or one JSON object per line.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

/// `[activity]`: retention of the persisted activity log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActivityConfig {
    /// At most this many records are kept; the oldest go first.
    pub max_records: u64,
    /// Records older than this are dropped (`max_age_days` days).
    pub max_age: Duration,
}

impl Default for ActivityConfig {
    fn default() -> Self {
        ActivityConfig {
            max_records: DEFAULT_ACTIVITY_MAX_RECORDS,
            max_age: days(DEFAULT_ACTIVITY_MAX_AGE_DAYS),
        }
    }
}

fn days(n: u64) -> Duration {
    Duration::from_secs(n * 24 * 3600)
}

/// `log.format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Config {
    /// Reads, parses and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let bytes = fs::read(path).map_err(|e| ConfigError::io(path, e))?;
        Config::from_bytes(&bytes, path)
    }

    pub(crate) fn from_bytes(bytes: &[u8], path: &Path) -> Result<Config, ConfigError> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let (line, col) = span::line_col(
                &String::from_utf8_lossy(&bytes[..e.valid_up_to()]),
                e.valid_up_to(),
            );
            ConfigError::Parse {
                path: path.to_path_buf(),
                line_col: Some((line, col)),
                message: "the file is not valid UTF-8".to_owned(),
            }
        })?;
        Config::from_toml_str(text, path)
    }

    /// Parses and validates `text`; `path` is where the file lives (relative paths in it resolve
    /// against its folder, and errors name it). Touches no file, but reads the
    /// `SCIMD_DATABASE_URL` environment variable for a Postgres `[store]` without `url`.
    pub fn from_toml_str(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let database_url = std::env::var_os(DATABASE_URL_ENV);
        Config::from_toml_str_env(text, path, database_url.as_deref())
    }

    /// [`Config::from_toml_str`] with the value of `SCIMD_DATABASE_URL` given instead of read,
    /// so tests need not change the process environment.
    pub(crate) fn from_toml_str_env(
        text: &str,
        path: &Path,
        database_url: Option<&OsStr>,
    ) -> Result<Config, ConfigError> {
        let doc = ImDocument::parse(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            line_col: e.span().map(|s| span::line_col(text, s.start)),
            message: one_line(e.message()),
        })?;
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let offset = e.span().map(|s| s.start);
            ConfigError::Invalid {
                path: path.to_path_buf(),
                key: offset
                    .and_then(|o| span::key_at(&doc, o))
                    .map(|k| k.to_string())
                    .unwrap_or_default(),
                line_col: offset.map(|o| span::line_col(text, o)),
                message: one_line(e.message()),
            }
        })?;
        Validator {
            text,
            doc,
            path,
            database_url,
        }
        .config(raw)
    }

    /// The org called `name`, whatever its case.
    pub fn org(&self, name: &str) -> Option<&OrgConfig> {
        self.orgs.get(&name.to_ascii_lowercase())
    }
}

impl Validator<'_> {
    fn base_dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new(""))
    }

    fn config(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let root = KeyPath::default();

        let listen_key = root.key("listen");
        let listen_text = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen = listen_text.parse::<SocketAddr>().map_err(|_| {
            self.invalid(
                &listen_key,
                format!("expected an IP address and port such as \"{DEFAULT_LISTEN}\", got {listen_text:?}"),
            )
        })?;

        let public_url = match raw.public_url {
            None => None,
            Some(url) => Some(
                check_public_url(&url)
                    .map_err(|message| self.invalid(&root.key("public_url"), message))?,
            ),
        };

        let data_dir = self.path_value(
            &root.key("data_dir"),
            raw.data_dir.as_deref().unwrap_or(DEFAULT_DATA_DIR),
        )?;
        let socket = match raw.socket.as_deref() {
            Some(socket) => self.path_value(&root.key("socket"), socket)?,
            None => data_dir.join(DEFAULT_SOCKET_NAME),
        };

        let log = self.log(raw.log)?;
        let tls = raw.tls.map(|tls| self.tls(tls)).transpose()?;
        let activity = self.activity(raw.activity)?;
        let events = self.events(raw.events)?;
        let limits = self.limits(raw.limits)?;
        let store = self.store(raw.store)?;
        let metrics = self.metrics(raw.metrics, listen)?;
        let webhooks = self.webhooks(raw.webhooks)?;
        let orgs = self.orgs(raw.orgs)?;

        Ok(Config {
            path: self.path.to_path_buf(),
            listen,
            public_url,
            data_dir,
            socket,
            tls,
            log,
            activity,
            events,
            limits,
            store,
            metrics,
            webhooks,
            orgs,
        })
    }

    /// `[metrics] listen`: its own address, never the SCIM port, so the metrics (org names,
    /// request counts) are not served to the internet along with the API.
    fn metrics(
        &self,
        raw: Option<RawMetrics>,
        scim: SocketAddr,
    ) -> Result<Option<SocketAddr>, ConfigError> {
        let Some(text) = raw.and_then(|m| m.listen) else {
            return Ok(None);
        };
        let key = KeyPath::default().key("metrics").key("listen");
        let addr = text.parse::<SocketAddr>().map_err(|_| {
            self.invalid(
                &key,
                format!("expected an IP address and port such as \"127.0.0.1:9464\", got {text:?}"),
            )
        })?;
        if addr.port() != 0
            && addr.port() == scim.port()
            && (addr.ip() == scim.ip() || addr.ip().is_unspecified() || scim.ip().is_unspecified())
        {
            return Err(self.invalid(
                &key,
                format!("{addr} is the SCIM listener's address; metrics need a port of their own"),
            ));
        }
        Ok(Some(addr))
    }

    fn path_value(&self, key: &KeyPath, value: &str) -> Result<PathBuf, ConfigError> {
        if value.trim().is_empty() {
            return Err(self.invalid(key, "must not be empty"));
        }
        // An absolute path stays as it is: `join` replaces the base with it.
        Ok(self.base_dir().join(value))
    }

    fn log(&self, raw: Option<RawLog>) -> Result<LogConfig, ConfigError> {
        let mut log = LogConfig::default();
        let Some(raw) = raw else { return Ok(log) };
        let key = KeyPath::default().key("log");
        if let Some(level) = raw.level {
            if !LOG_LEVELS.contains(&level.as_str()) {
                return Err(self.invalid(
                    &key.key("level"),
                    format!("expected one of trace, debug, info, warn, error, got {level:?}"),
                ));
            }
            log.level = level;
        }
        if let Some(format) = raw.format {
            log.format = match format.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => {
                    return Err(self.invalid(
                        &key.key("format"),
                        format!("expected \"text\" or \"json\", got {format:?}"),
                    ))
                }
            };
        }
        Ok(log)
    }

    fn activity(&self, raw: Option<RawActivity>) -> Result<ActivityConfig, ConfigError> {
        let mut activity = ActivityConfig::default();
        let Some(raw) = raw else {
            return Ok(activity);
        };
        let key = KeyPath::default().key("activity");
        if let Some(n) = raw.max_records {
            activity.max_records =
                self.in_range(&key.key("max_records"), n, 1..=MAX_ACTIVITY_MAX_RECORDS)?;
        }
        if let Some(n) = raw.max_age_days {
            activity.max_age =
                days(self.in_range(&key.key("max_age_days"), n, 1..=MAX_ACTIVITY_MAX_AGE_DAYS)?);
        }
        Ok(activity)
    }

    fn tls(&self, raw: RawTls) -> Result<TlsConfig, ConfigError> {
        let key = KeyPath::default().key("tls");
        Ok(TlsConfig {
            cert: self.path_value(&key.key("cert"), &raw.cert)?,
            key: self.path_value(&key.key("key"), &raw.key)?,
        })
    }
}

fn check_public_url(url: &str) -> Result<String, String> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{url:?} must not contain spaces"));
    }
    let scheme_len = ["https://", "http://"]
        .iter()
        .find(|scheme| url.starts_with(*scheme))
        .map(|scheme| scheme.len())
        .ok_or_else(|| format!("expected an http:// or https:// URL, got {url:?}"))?;
    let trimmed = url.trim_end_matches('/');
    let rest = trimmed.get(scheme_len..).unwrap_or_default();
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(format!("{url:?} has no host"));
    }
    if host.contains('@') {
        return Err(format!("{url:?} must not contain credentials"));
    }
    if rest.contains(['?', '#']) {
        return Err(format!("{url:?} must not have a query or fragment"));
    }
    Ok(trimmed.to_owned())
}
