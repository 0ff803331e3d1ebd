//! The `[events]` table (retention of each org's change feed, and its long-poll and snapshot
//! bounds) and the orgs' `event_tokens`,
//! the hashes of the consumer tokens that read the feed and nothing else.

use std::time::Duration;

use crate::error::ConfigError;
use crate::raw::RawEvents;
use crate::span::KeyPath;
use crate::token;
use crate::validator::Validator;

/// Default for `events.max_records` (per org).
pub const DEFAULT_EVENTS_MAX_RECORDS: u64 = 100_000;
/// Upper bound for `events.max_records`.
pub const MAX_EVENTS_MAX_RECORDS: u64 = 10_000_000;
/// Default for `events.max_age_days`.
pub const DEFAULT_EVENTS_MAX_AGE_DAYS: u64 = 7;
/// Upper bound for `events.max_age_days` (about ten years).
pub const MAX_EVENTS_MAX_AGE_DAYS: u64 = 3650;

/// Default for `events.max_long_polls` (per org).
pub const DEFAULT_EVENTS_MAX_LONG_POLLS: u64 = 64;
/// Upper bound for `events.max_long_polls`.
pub const MAX_EVENTS_MAX_LONG_POLLS: u64 = 10_000;

/// Default for `events.max_snapshots` (per org).
pub const DEFAULT_EVENTS_MAX_SNAPSHOTS: u64 = 2;
/// Upper bound for `events.max_snapshots`.
pub const MAX_EVENTS_MAX_SNAPSHOTS: u64 = 64;

/// `[events]`: how much of each org's change feed is kept. A consumer whose cursor is older
/// than what is kept is told so (410) and resyncs through the SCIM lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventsConfig {
    /// At most this many events per org are kept; the oldest go first.
    pub max_records: u64,
    /// Events older than this are dropped (`max_age_days` days).
    pub max_age: Duration,
    /// At most this many `wait=` requests of one org wait at once; one more is answered at
    /// once (with whatever there is), so waiting consumers cannot hold every connection.
    pub max_long_polls: usize,
    /// At most this many snapshots of one org stream at once; one more is answered `429`.
    pub max_snapshots: usize,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            max_records: DEFAULT_EVENTS_MAX_RECORDS,
            max_age: Duration::from_secs(DEFAULT_EVENTS_MAX_AGE_DAYS * 24 * 3600),
            max_long_polls: DEFAULT_EVENTS_MAX_LONG_POLLS as usize,
            max_snapshots: DEFAULT_EVENTS_MAX_SNAPSHOTS as usize,
        }
    }
}

impl Validator<'_> {
    /// The `[events]` table, checked like `[activity]`.
    pub(crate) fn events(&self, raw: Option<RawEvents>) -> Result<EventsConfig, ConfigError> {
        let mut events = EventsConfig::default();
        let Some(raw) = raw else {
            return Ok(events);
        };
        let key = KeyPath::default().key("events");
        if let Some(n) = raw.max_records {
            events.max_records =
                self.in_range(&key.key("max_records"), n, 1..=MAX_EVENTS_MAX_RECORDS)?;
        }
        if let Some(n) = raw.max_age_days {
            let days = self.in_range(&key.key("max_age_days"), n, 1..=MAX_EVENTS_MAX_AGE_DAYS)?;
            events.max_age = Duration::from_secs(days * 24 * 3600);
        }
        if let Some(n) = raw.max_long_polls {
            let key = key.key("max_long_polls");
            events.max_long_polls = self.in_range(&key, n, 1..=MAX_EVENTS_MAX_LONG_POLLS)? as usize;
        }
        if let Some(n) = raw.max_snapshots {
            let key = key.key("max_snapshots");
            events.max_snapshots = self.in_range(&key, n, 1..=MAX_EVENTS_MAX_SNAPSHOTS)? as usize;
        }
        Ok(events)
    }

    /// The hashes of a list of stored tokens (`tokens`, `event_tokens` or `read_tokens` of the
    /// org at `key`).
    pub(crate) fn token_hashes(
        &self,
        key: &KeyPath,
        name: &str,
        stored: &[String],
    ) -> Result<Vec<[u8; 32]>, ConfigError> {
        let mut out = Vec::with_capacity(stored.len());
        for (i, s) in stored.iter().enumerate() {
            let digest = token::parse_hash(s).ok_or_else(|| {
                let message = if s.starts_with(token::PREFIX) {
                    // The one mistake worth a special message: it would leak the token.
                    "this looks like a plaintext token; store only its hash, e.g. with \
                     `scimd token rotate`"
                } else {
                    "expected \"sha256:\" followed by 64 hex digits"
                };
                self.invalid(&key.key(name).index(i), message)
            })?;
            out.push(digest);
        }
        Ok(out)
    }
}
