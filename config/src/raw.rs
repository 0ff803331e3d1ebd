//! Stage one: the file exactly as serde reads it, before any value is checked.
//!
//! `deny_unknown_fields` everywhere, so a typo such as `token = [...]` is an error instead of an
//! org that silently refuses every request. Values stay loose (strings, i64) so that stage two
//! can reject them with a message that names the key.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "the config table")]
pub(crate) struct RawConfig {
    pub(crate) listen: Option<String>,
    pub(crate) public_url: Option<String>,
    pub(crate) data_dir: Option<String>,
    pub(crate) socket: Option<String>,
    pub(crate) log: Option<RawLog>,
    pub(crate) tls: Option<RawTls>,
    pub(crate) activity: Option<RawActivity>,
    pub(crate) events: Option<RawEvents>,
    pub(crate) limits: Option<RawLimits>,
    pub(crate) store: Option<RawStore>,
    pub(crate) metrics: Option<RawMetrics>,
    pub(crate) webhooks: Option<RawWebhooks>,
    #[serde(default)]
    pub(crate) orgs: BTreeMap<String, RawOrg>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [log] table")]
pub(crate) struct RawLog {
    pub(crate) level: Option<String>,
    pub(crate) format: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [metrics] table")]
pub(crate) struct RawMetrics {
    pub(crate) listen: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [tls] table with cert and key")]
pub(crate) struct RawTls {
    pub(crate) cert: String,
    pub(crate) key: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [activity] table")]
pub(crate) struct RawActivity {
    pub(crate) max_records: Option<i64>,
    pub(crate) max_age_days: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [events] table")]
pub(crate) struct RawEvents {
    pub(crate) max_records: Option<i64>,
    pub(crate) max_age_days: Option<i64>,
    pub(crate) max_long_polls: Option<i64>,
    pub(crate) max_snapshots: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [webhooks] table")]
pub(crate) struct RawWebhooks {
    pub(crate) retry_hours: Option<i64>,
    pub(crate) connect_timeout_secs: Option<i64>,
    pub(crate) timeout_secs: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [limits] table")]
pub(crate) struct RawLimits {
    pub(crate) max_connections: Option<i64>,
    pub(crate) header_read_timeout_secs: Option<i64>,
    pub(crate) idle_timeout_secs: Option<i64>,
    pub(crate) body_read_timeout_secs: Option<i64>,
    pub(crate) shutdown_timeout_secs: Option<i64>,
    pub(crate) max_values_per_attribute: Option<i64>,
    pub(crate) max_indexed_length: Option<i64>,
    pub(crate) max_string_length: Option<i64>,
    pub(crate) max_extension_bytes: Option<i64>,
    pub(crate) max_sorted_window: Option<i64>,
    pub(crate) max_connections_per_ip: Option<i64>,
}

/// `Debug` by hand, unlike the others: `url` may hold a password.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [store] table")]
pub(crate) struct RawStore {
    pub(crate) backend: Option<String>,
    pub(crate) url: Option<String>,
    pub(crate) pool_size: Option<i64>,
}

impl fmt::Debug for RawStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawStore")
            .field("backend", &self.backend)
            .field("url", &self.url.as_ref().map(|_| "<redacted>"))
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an org table")]
pub(crate) struct RawOrg {
    pub(crate) display_name: Option<String>,
    #[serde(default)]
    pub(crate) tokens: Vec<String>,
    #[serde(default)]
    pub(crate) event_tokens: Vec<String>,
    #[serde(default)]
    pub(crate) read_tokens: Vec<String>,
    pub(crate) enabled: Option<bool>,
    pub(crate) team_name_max: Option<i64>,
    pub(crate) unknown_members: Option<String>,
    pub(crate) usernames: Option<String>,
    pub(crate) rate_limit: Option<i64>,
    pub(crate) rate_burst: Option<i64>,
    /// `[[orgs.NAME.webhooks]]`, or an inline array of inline tables.
    #[serde(default)]
    pub(crate) webhooks: Vec<RawWebhook>,
    /// `[orgs.NAME.extensions."urn:..."]`, keyed by URN.
    #[serde(default)]
    pub(crate) extensions: BTreeMap<String, RawExtension>,
}

/// One declared extension. Attribute types stay TOML values, so that stage two can say what
/// is wrong with one (a typo, an array of two) and name its key.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an extension table with resource and attributes"
)]
pub(crate) struct RawExtension {
    pub(crate) resource: String,
    #[serde(default)]
    pub(crate) attributes: BTreeMap<String, toml::Value>,
}

/// One `[[orgs.NAME.webhooks]]` table. `Debug` by hand: `secret` signs every delivery.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a webhook table with url and secret")]
pub(crate) struct RawWebhook {
    pub(crate) url: String,
    pub(crate) secret: String,
    pub(crate) events: Option<Vec<String>>,
}

impl fmt::Debug for RawWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawWebhook")
            .field("url", &self.url)
            .field("secret", &"<hidden>")
            .field("events", &self.events)
            .finish()
    }
}
