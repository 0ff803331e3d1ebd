//! Signed webhooks after the Standard Webhooks spec (<https://www.standardwebhooks.com>): the
//! `[webhooks]` table, each org's `[[orgs.NAME.webhooks]]` endpoints, and their secrets (the
//! daemon's `webhooks::sign` signs with them).
//!
//! The URL parser is written by hand and narrow on purpose: the daemon connects to the parts it
//! returns ([`WebhookConfig::host`], [`WebhookConfig::port`], ...) with no URL library of its
//! own, so a URL that two parsers could read two ways (credentials, a backslash in the host, an
//! unbracketed IPv6 address) is refused here rather than guessed at.
//!
//! A secret never reaches an error message or a `{:?}`: [`WebhookSecret`]'s `Debug` hides it,
//! and errors about a bad secret describe it without quoting it.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::time::Duration;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use rand::rand_core::UnwrapErr;
use rand::rngs::SysRng;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ConfigError;
use crate::raw::{RawWebhook, RawWebhooks};
use crate::span::KeyPath;
use crate::validator::Validator;

/// Default for `webhooks.retry_hours`: three days, the Standard Webhooks recommendation's order
/// of magnitude, so a receiver down over a weekend still gets every event.
pub const DEFAULT_WEBHOOK_RETRY_HOURS: u64 = 72;
/// Upper bound for `webhooks.retry_hours` (30 days).
pub const MAX_WEBHOOK_RETRY_HOURS: u64 = 720;
/// Default for `webhooks.connect_timeout_secs`.
pub const DEFAULT_WEBHOOK_CONNECT_TIMEOUT_SECS: u64 = 5;
/// Upper bound for `webhooks.connect_timeout_secs`.
pub const MAX_WEBHOOK_CONNECT_TIMEOUT_SECS: u64 = 60;
/// Default for `webhooks.timeout_secs`.
pub const DEFAULT_WEBHOOK_TIMEOUT_SECS: u64 = 10;
/// Upper bound for `webhooks.timeout_secs`.
pub const MAX_WEBHOOK_TIMEOUT_SECS: u64 = 300;
/// Most `[[orgs.NAME.webhooks]]` endpoints of one org: each one is a delivery task and a
/// durable position in the daemon.
pub const MAX_WEBHOOKS_PER_ORG: usize = 16;
/// Longest accepted webhook `url`, in bytes.
pub const MAX_WEBHOOK_URL_LEN: usize = 2048;
/// How a webhook secret starts in the config file, as in the Standard Webhooks spec.
pub const WEBHOOK_SECRET_PREFIX: &str = "whsec_";
/// Shortest webhook key, in bytes after base64 decoding (the spec's minimum).
pub const MIN_WEBHOOK_SECRET_BYTES: usize = 24;
/// Longest webhook key, in bytes after base64 decoding (the spec's maximum, and one SHA-256
/// block).
pub const MAX_WEBHOOK_SECRET_BYTES: usize = 64;

/// Every event type a webhook can receive, the values `orgs.NAME.webhooks[].events` accepts.
pub const EVENT_TYPES: &[&str] = &scimd_core::event::EVENT_TYPES;

/// Bytes of the key `WebhookSecret::generate` mints.
const GENERATED_SECRET_BYTES: usize = 32;

/// Standard base64 that takes the key with or without its `=` padding: the spec's examples
/// drop it, and base64 tools add it.
const SECRET_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `[webhooks]`: how the daemon delivers to every org's endpoints. Applies live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WebhooksConfig {
    /// A delivery that keeps failing is retried for this long after its event, then dropped
    /// (`retry_hours`).
    pub retry_for: Duration,
    /// Most time to open the connection (and finish TLS) to an endpoint
    /// (`connect_timeout_secs`).
    pub connect_timeout: Duration,
    /// Most time one delivery attempt may take, response included (`timeout_secs`).
    pub timeout: Duration,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            retry_for: Duration::from_secs(DEFAULT_WEBHOOK_RETRY_HOURS * 3600),
            connect_timeout: Duration::from_secs(DEFAULT_WEBHOOK_CONNECT_TIMEOUT_SECS),
            timeout: Duration::from_secs(DEFAULT_WEBHOOK_TIMEOUT_SECS),
        }
    }
}

/// One `[[orgs.NAME.webhooks]]` endpoint: where the org's events are POSTed, signed with
/// `secret`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookConfig {
    /// The URL as written in the file.
    pub url: String,
    /// The key that signs every delivery (`whsec_...` in the file).
    pub secret: WebhookSecret,
    /// The event types this endpoint receives; `None` receives every type.
    pub events: Option<Vec<String>>,
    host: String,
    port: u16,
    https: bool,
    path_and_query: String,
}

impl WebhookConfig {
    /// The host to connect to: a lowercase DNS name, an IPv4 address, or an IPv6 address
    /// *without* its brackets (what `TcpStream::connect((host, port))` and a TLS server name
    /// want; a `Host` header needs the brackets back).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port from the URL, or 443 for `https://` and 80 for `http://`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the URL is `https://`.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// The request target: the URL's path and query, at least `/`.
    pub fn path_and_query(&self) -> &str {
        &self.path_and_query
    }

    /// Whether this endpoint receives events of `event_type` (every type when `events` is
    /// unset). Only for the [`EVENT_TYPES`]: a `webhook.test` ping is not one of them and is
    /// sent to an endpoint whatever its `events`.
    pub fn wants(&self, event_type: &str) -> bool {
        match &self.events {
            None => true,
            Some(events) => events.iter().any(|e| e == event_type),
        }
    }

    /// Whether `url` names this endpoint, as [`crate::remove_webhook`] compares them: the same
    /// text, or the same scheme, host, port, path and query once taken apart (so
    /// `HTTPS://Example.com` names `https://example.com/`).
    pub fn matches_url(&self, url: &str) -> bool {
        self.url == url
            || parse_url(url).is_ok_and(|e| {
                e.https == self.https
                    && e.host == self.host
                    && e.port == self.port
                    && e.path_and_query == self.path_and_query
            })
    }

    /// A stable id of the endpoint: the first 16 lowercase hex digits of the SHA-256 of `url` as
    /// written. The daemon keys each endpoint's delivery position by it, so it survives
    /// restarts, reordering and secret or `events` changes; a changed `url`, even one only
    /// respelled (`HTTPS://` for `https://`), is a new endpoint.
    pub fn id(&self) -> String {
        let digest = Sha256::digest(self.url.as_bytes());
        hex::encode(&digest[..8])
    }
}

/// A webhook signing key, decoded from its `whsec_<base64>` form in the file.
///
/// `Debug` prints `WebhookSecret(<hidden>)`, and equality runs in constant time.
#[derive(Clone)]
pub struct WebhookSecret {
    /// From [`MIN_WEBHOOK_SECRET_BYTES`] to [`MAX_WEBHOOK_SECRET_BYTES`] bytes: at most one
    /// SHA-256 block, which the daemon's signer relies on.
    key: Vec<u8>,
}

impl WebhookSecret {
    /// The key's bytes, for signing.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// A fresh secret in its file form: `whsec_` followed by the standard base64 of 32 bytes
    /// from the OS generator.
    pub fn generate() -> String {
        let mut key = [0u8; GENERATED_SECRET_BYTES];
        // `UnwrapErr` panics if the OS cannot give randomness, as rand 0.8's `OsRng` did: there is
        // no secret to make without it.
        UnwrapErr(SysRng).fill_bytes(&mut key);
        format!("{WEBHOOK_SECRET_PREFIX}{}", STANDARD.encode(key))
    }
}

impl FromStr for WebhookSecret {
    type Err = WebhookSecretError;

    /// Parses the file form, `whsec_` followed by standard base64 (padding optional) of 24 to
    /// 64 bytes.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let encoded = text
            .strip_prefix(WEBHOOK_SECRET_PREFIX)
            .ok_or(WebhookSecretError::Prefix)?;
        let key = SECRET_BASE64
            .decode(encoded)
            .map_err(|_| WebhookSecretError::Base64)?;
        if !(MIN_WEBHOOK_SECRET_BYTES..=MAX_WEBHOOK_SECRET_BYTES).contains(&key.len()) {
            return Err(WebhookSecretError::Length(key.len()));
        }
        Ok(WebhookSecret { key })
    }
}

impl PartialEq for WebhookSecret {
    fn eq(&self, other: &Self) -> bool {
        self.key.ct_eq(&other.key).into()
    }
}

impl Eq for WebhookSecret {}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<hidden>)")
    }
}

/// Why a `secret` is not a webhook secret. The messages never quote the secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookSecretError {
    /// It does not start with `whsec_`.
    #[error(
        "expected \"whsec_\" followed by base64, as `scimd webhook add` writes (the value is not \
         shown here)"
    )]
    Prefix,
    /// The part after `whsec_` is not standard base64.
    #[error("the part after \"whsec_\" is not standard base64 (A-Z, a-z, 0-9, + and /)")]
    Base64,
    /// The key decodes to the wrong number of bytes.
    #[error(
        "the key is {0} bytes long; expected {MIN_WEBHOOK_SECRET_BYTES} to \
         {MAX_WEBHOOK_SECRET_BYTES} (`scimd webhook add` makes 32)"
    )]
    Length(usize),
}

/// The parts of a webhook URL the daemon connects with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub(crate) https: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) path_and_query: String,
}

/// Checks a webhook URL and takes it apart. Errors describe the problem without quoting the
/// URL: receivers often put a token in the path.
pub(crate) fn parse_url(url: &str) -> Result<Endpoint, String> {
    if url.len() > MAX_WEBHOOK_URL_LEN {
        return Err(format!(
            "the URL is {} bytes long; at most {MAX_WEBHOOK_URL_LEN} are allowed",
            url.len()
        ));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters; percent-encode them".into());
    }
    if !url.is_ascii() {
        // The daemon writes the path into the request line as it is.
        return Err(
            "must be ASCII: percent-encode other characters, and write an \
                    international host name in its xn-- form"
                .into(),
        );
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or("expected an http:// or https:// URL")?;
    let https = if scheme.eq_ignore_ascii_case("https") {
        true
    } else if scheme.eq_ignore_ascii_case("http") {
        false
    } else {
        return Err(format!(
            "expected an http:// or https:// URL, got scheme {scheme:?}"
        ));
    };
    if rest.contains('#') {
        return Err("must not have a fragment (#...): it is never sent to the receiver".into());
    }
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    if authority.contains('@') {
        return Err(
            "must not contain credentials (user@ or user:password@); the signature \
                    authenticates each delivery"
                .into(),
        );
    }
    let (host, port) = split_host_port(authority)?;
    let host = check_host(host)?;
    let port = match port {
        None if https => 443,
        None => 80,
        Some(text) => text
            .parse::<u16>()
            .ok()
            // Digits only: `parse` would take a leading `+`.
            .filter(|&p| p != 0 && text.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| format!("the port must be a number from 1 to 65535, got {text:?}"))?,
    };
    let path_and_query = match tail {
        "" => "/".to_owned(),
        query if query.starts_with('?') => format!("/{query}"),
        path => path.to_owned(),
    };
    Ok(Endpoint {
        https,
        host,
        port,
        path_and_query,
    })
}

/// `host` and the text after its `:`, if any; an IPv6 host keeps its brackets here.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), String> {
    if authority.starts_with('[') {
        let close = authority
            .find(']')
            .ok_or("an IPv6 host needs its closing bracket, e.g. http://[::1]:8080/")?;
        let (host, after) = authority.split_at(close + 1);
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err("expected a : and a port after the IPv6 host's ]".into()),
            },
        };
    }
    match authority.split_once(':') {
        Some((_, port)) if port.contains(':') => {
            Err("an IPv6 host goes in brackets, e.g. http://[::1]:8080/".into())
        }
        Some((host, port)) => Ok((host, Some(port))),
        None => Ok((authority, None)),
    }
}

/// The host as the daemon connects to it: lowercase, an IPv6 address without brackets.
fn check_host(host: &str) -> Result<String, String> {
    if host.is_empty() {
        return Err("the URL has no host".into());
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner
            .parse::<Ipv6Addr>()
            .map(|ip| ip.to_string())
            .map_err(|_| format!("[{inner}] is not an IPv6 address"));
    }
    let host = host.to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    let last = labels.last().copied().unwrap_or_default();
    // A numeric last label makes the whole host an IPv4 address to browsers and URL libraries
    // (WHATWG), in forms such as `1.2.3` or `0x7f.1` that resolvers read differently; only the
    // plain dotted quad is accepted.
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        return host
            .parse::<Ipv4Addr>()
            .map(|ip| ip.to_string())
            .map_err(|_| format!("{host:?} is not an IPv4 address (a.b.c.d, each 0 to 255)"));
    }
    const RULES: &str = "a host name is dot-separated labels of 1 to 63 letters, digits, \
                         hyphens and underscores, not starting or ending with a hyphen";
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if host.len() > 253 || !labels.iter().all(label_ok) {
        return Err(format!("invalid host {host:?}: {RULES}"));
    }
    Ok(host)
}

impl Validator<'_> {
    /// The `[webhooks]` table, checked like `[limits]`.
    pub(crate) fn webhooks(&self, raw: Option<RawWebhooks>) -> Result<WebhooksConfig, ConfigError> {
        let mut webhooks = WebhooksConfig::default();
        let Some(raw) = raw else {
            return Ok(webhooks);
        };
        let key = KeyPath::default().key("webhooks");
        if let Some(n) = raw.retry_hours {
            let hours = self.in_range(&key.key("retry_hours"), n, 1..=MAX_WEBHOOK_RETRY_HOURS)?;
            webhooks.retry_for = Duration::from_secs(hours * 3600);
        }
        if let Some(n) = raw.connect_timeout_secs {
            let key = key.key("connect_timeout_secs");
            let secs = self.in_range(&key, n, 1..=MAX_WEBHOOK_CONNECT_TIMEOUT_SECS)?;
            webhooks.connect_timeout = Duration::from_secs(secs);
        }
        if let Some(n) = raw.timeout_secs {
            let secs = self.in_range(&key.key("timeout_secs"), n, 1..=MAX_WEBHOOK_TIMEOUT_SECS)?;
            webhooks.timeout = Duration::from_secs(secs);
        }
        Ok(webhooks)
    }

    /// The `webhooks` of the org at `org_key`.
    pub(crate) fn org_webhooks(
        &self,
        org_key: &KeyPath,
        raw: Vec<RawWebhook>,
    ) -> Result<Vec<WebhookConfig>, ConfigError> {
        let key = org_key.key("webhooks");
        if raw.len() > MAX_WEBHOOKS_PER_ORG {
            return Err(self.invalid(
                &key.index(MAX_WEBHOOKS_PER_ORG),
                format!(
                    "an org has at most {MAX_WEBHOOKS_PER_ORG} webhooks, this one has {}",
                    raw.len()
                ),
            ));
        }
        let mut out: Vec<WebhookConfig> = Vec::with_capacity(raw.len());
        let mut seen: Vec<Endpoint> = Vec::with_capacity(raw.len());
        for (i, hook) in raw.into_iter().enumerate() {
            let key = key.index(i);
            let url_key = key.key("url");
            let endpoint =
                parse_url(&hook.url).map_err(|message| self.invalid(&url_key, message))?;
            // Compared taken apart, so `HTTPS://Example.com` repeats `https://example.com:443/`.
            if let Some(first) = seen.iter().position(|e| *e == endpoint) {
                return Err(self.invalid(
                    &url_key,
                    format!(
                        "the same endpoint as {}: each URL is listed once; use events to choose \
                         what it receives",
                        org_key.key("webhooks").index(first)
                    ),
                ));
            }
            let secret = hook
                .secret
                .parse::<WebhookSecret>()
                .map_err(|e| self.invalid(&key.key("secret"), e.to_string()))?;
            let events = self.webhook_events(&key.key("events"), hook.events)?;
            seen.push(endpoint.clone());
            out.push(WebhookConfig {
                url: hook.url,
                secret,
                events,
                host: endpoint.host,
                port: endpoint.port,
                https: endpoint.https,
                path_and_query: endpoint.path_and_query,
            });
        }
        Ok(out)
    }

    fn webhook_events(
        &self,
        key: &KeyPath,
        events: Option<Vec<String>>,
    ) -> Result<Option<Vec<String>>, ConfigError> {
        let Some(events) = events else {
            return Ok(None);
        };
        if events.is_empty() {
            // An empty list would read as "nothing", which is no endpoint at all.
            return Err(self.invalid(key, "must not be empty; omit events to receive every type"));
        }
        for (i, event) in events.iter().enumerate() {
            if !EVENT_TYPES.contains(&event.as_str()) {
                return Err(self.invalid(
                    &key.index(i),
                    format!(
                        "unknown event type {event:?}; expected one of {}",
                        EVENT_TYPES.join(", ")
                    ),
                ));
            }
            if events[..i].contains(event) {
                return Err(self.invalid(&key.index(i), format!("{event:?} is listed twice")));
            }
        }
        Ok(Some(events))
    }
}
