//! The `[limits]` table: bounds on connections, timeouts and request sizes, their defaults and
//! upper bounds, and the checks that read them from the file.

use std::time::Duration;

use crate::error::ConfigError;
use crate::raw::RawLimits;
use crate::span::KeyPath;
use crate::validator::Validator;

/// Default for `limits.max_connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Upper bound for `limits.max_connections`.
pub const MAX_MAX_CONNECTIONS: usize = 1_000_000;
/// Default for `limits.header_read_timeout_secs`.
pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 10;
/// Default for `limits.idle_timeout_secs`.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 60;
/// Default for `limits.body_read_timeout_secs`.
pub const DEFAULT_BODY_READ_TIMEOUT_SECS: u64 = 30;
/// Default for `limits.shutdown_timeout_secs`.
pub const DEFAULT_SHUTDOWN_TIMEOUT_SECS: u64 = 10;
/// Upper bound for every `limits.*_timeout_secs` (an hour).
pub const MAX_TIMEOUT_SECS: u64 = 3600;
/// Default for `limits.max_values_per_attribute`.
pub const DEFAULT_MAX_VALUES_PER_ATTRIBUTE: usize = 100;
/// Upper bound for `limits.max_values_per_attribute`.
pub const MAX_MAX_VALUES_PER_ATTRIBUTE: usize = 100_000;
/// Default for `limits.max_indexed_length` (characters).
pub const DEFAULT_MAX_INDEXED_LENGTH: usize = 512;
/// Upper bound for `limits.max_indexed_length`: PostgreSQL's B-tree entries hold at most
/// 2,704 bytes, and 640 characters of four UTF-8 bytes each stay below that with the org.
pub const MAX_MAX_INDEXED_LENGTH: usize = 640;
/// Default for `limits.max_string_length` (characters).
pub const DEFAULT_MAX_STRING_LENGTH: usize = 16_384;
/// Upper bound for `limits.max_string_length`: no longer than a whole request body.
pub const MAX_MAX_STRING_LENGTH: usize = 1 << 20;
/// Default for `limits.max_extension_bytes` (bytes per resource).
pub const DEFAULT_MAX_EXTENSION_BYTES: usize = 16_384;
/// Upper bound for `limits.max_extension_bytes`: no more than a whole request body.
pub const MAX_MAX_EXTENSION_BYTES: usize = 1 << 20;
/// Default for `limits.max_sorted_window` (entries one sorted list holds).
pub const DEFAULT_MAX_SORTED_WINDOW: usize = 10_000;
/// Upper bound for `limits.max_sorted_window`.
pub const MAX_MAX_SORTED_WINDOW: usize = 1_000_000;
/// Default for `limits.max_connections_per_ip` (0 turns the cap off).
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 256;

/// `[limits]`: bounds on connections and requests, so slow, stuck or oversized clients cannot
/// exhaust the server. All of it applies live: the daemon reads it per connection and request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Most client connections open at once.
    pub max_connections: usize,
    /// A request's headers must arrive within this (`header_read_timeout_secs`).
    pub header_read_timeout: Duration,
    /// A keep-alive connection with no request in flight and no bytes moving is closed after
    /// this (`idle_timeout_secs`).
    pub idle_timeout: Duration,
    /// A request body must arrive within this (`body_read_timeout_secs`).
    pub body_read_timeout: Duration,
    /// On SIGTERM, in-flight requests get this long to finish (`shutdown_timeout_secs`); zero
    /// cuts them off at once.
    pub shutdown_timeout: Duration,
    /// Most values of one multi-valued attribute (`emails`, `phoneNumbers`, ...) in a request.
    pub max_values_per_attribute: usize,
    /// Longest value, in characters, of an indexed or unique attribute (`userName`,
    /// `externalId`, `displayName`, `emails.value`, ids).
    pub max_indexed_length: usize,
    /// Longest value, in characters, of any other string attribute.
    pub max_string_length: usize,
    /// Most bytes, serialized, that all undeclared extensions (custom schema URNs scimd keeps
    /// as sent) of one resource may take; 0 refuses any.
    pub max_extension_bytes: usize,
    /// Most entries one sorted list holds: `startIndex - 1 + count` past it is refused.
    pub max_sorted_window: usize,
    /// Most connections open at once from one client address; 0 turns the cap off.
    pub max_connections_per_ip: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: Duration::from_secs(DEFAULT_HEADER_READ_TIMEOUT_SECS),
            idle_timeout: Duration::from_secs(DEFAULT_IDLE_TIMEOUT_SECS),
            body_read_timeout: Duration::from_secs(DEFAULT_BODY_READ_TIMEOUT_SECS),
            shutdown_timeout: Duration::from_secs(DEFAULT_SHUTDOWN_TIMEOUT_SECS),
            max_values_per_attribute: DEFAULT_MAX_VALUES_PER_ATTRIBUTE,
            max_indexed_length: DEFAULT_MAX_INDEXED_LENGTH,
            max_string_length: DEFAULT_MAX_STRING_LENGTH,
            max_extension_bytes: DEFAULT_MAX_EXTENSION_BYTES,
            max_sorted_window: DEFAULT_MAX_SORTED_WINDOW,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
        }
    }
}

impl Validator<'_> {
    /// `[limits]`, each key checked against its range; absent keys keep their defaults.
    pub(crate) fn limits(&self, raw: Option<RawLimits>) -> Result<LimitsConfig, ConfigError> {
        let mut limits = LimitsConfig::default();
        let Some(raw) = raw else {
            return Ok(limits);
        };
        let key = KeyPath::default().key("limits");
        let secs = |name: &str, n: i64, min: u64| {
            let n = self.in_range(&key.key(name), n, min..=MAX_TIMEOUT_SECS)?;
            Ok::<_, ConfigError>(Duration::from_secs(n))
        };
        if let Some(n) = raw.max_connections {
            limits.max_connections =
                self.in_range(&key.key("max_connections"), n, 1..=MAX_MAX_CONNECTIONS)?;
        }
        if let Some(n) = raw.header_read_timeout_secs {
            limits.header_read_timeout = secs("header_read_timeout_secs", n, 1)?;
        }
        if let Some(n) = raw.idle_timeout_secs {
            limits.idle_timeout = secs("idle_timeout_secs", n, 1)?;
        }
        if let Some(n) = raw.body_read_timeout_secs {
            limits.body_read_timeout = secs("body_read_timeout_secs", n, 1)?;
        }
        if let Some(n) = raw.shutdown_timeout_secs {
            // Zero is allowed here alone: it means "stop now", a choice; a zero read or idle
            // timeout would refuse every request.
            limits.shutdown_timeout = secs("shutdown_timeout_secs", n, 0)?;
        }
        if let Some(n) = raw.max_values_per_attribute {
            limits.max_values_per_attribute = self.in_range(
                &key.key("max_values_per_attribute"),
                n,
                1..=MAX_MAX_VALUES_PER_ATTRIBUTE,
            )?;
        }
        if let Some(n) = raw.max_indexed_length {
            limits.max_indexed_length = self.in_range(
                &key.key("max_indexed_length"),
                n,
                16..=MAX_MAX_INDEXED_LENGTH,
            )?;
        }
        if let Some(n) = raw.max_string_length {
            limits.max_string_length =
                self.in_range(&key.key("max_string_length"), n, 16..=MAX_MAX_STRING_LENGTH)?;
        }
        if let Some(n) = raw.max_extension_bytes {
            limits.max_extension_bytes = self.in_range(
                &key.key("max_extension_bytes"),
                n,
                0..=MAX_MAX_EXTENSION_BYTES,
            )?;
        }
        if let Some(n) = raw.max_sorted_window {
            limits.max_sorted_window =
                self.in_range(&key.key("max_sorted_window"), n, 1..=MAX_MAX_SORTED_WINDOW)?;
        }
        if let Some(n) = raw.max_connections_per_ip {
            limits.max_connections_per_ip = self.in_range(
                &key.key("max_connections_per_ip"),
                n,
                0..=MAX_MAX_CONNECTIONS,
            )?;
        }
        Ok(limits)
    }
}
