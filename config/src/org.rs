//! One `[orgs.<name>]` table: the validated [`OrgConfig`] with its token checks, the org's
//! settings and their bounds, and the checks that read it from the file.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::sync::Arc;

use scimd_core::schema::Declared;

use subtle::{Choice, ConstantTimeEq};

use crate::error::ConfigError;
use crate::raw::RawOrg;
use crate::span::{self, KeyPath};
use crate::token;
use crate::validator::Validator;
use crate::webhooks::WebhookConfig;

/// Default for `orgs.<name>.team_name_max`.
pub const DEFAULT_TEAM_NAME_MAX: usize = 100;
/// Upper bound for `orgs.<name>.team_name_max`.
pub const MAX_TEAM_NAME_MAX: usize = 1000;
/// Upper bound for `orgs.<name>.rate_limit` (requests per second).
pub const MAX_RATE_LIMIT: u32 = 1_000_000;
/// Upper bound for `orgs.<name>.rate_burst`.
pub const MAX_RATE_BURST: u32 = 10_000_000;
/// GitHub's limit for login names, which org names follow.
pub const MAX_ORG_NAME_LEN: usize = 39;

/// One `[orgs.<name>]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgConfig {
    /// The canonical (lowercase) org name: the map key, the URL segment and the store's key, so
    /// changing the case in the file never orphans an org's data.
    pub name: String,
    /// Human name; defaults to the name as written in the file.
    pub display_name: String,
    /// SHA-256 digests of the valid bearer tokens; empty refuses every request.
    pub tokens: Vec<[u8; 32]>,
    /// SHA-256 digests of the consumer tokens (`event_tokens`), which read the org's events
    /// and nothing else; empty refuses every events request.
    pub event_tokens: Vec<[u8; 32]>,
    /// SHA-256 digests of the read-only SCIM tokens (`read_tokens`): GET, HEAD and
    /// `POST .search` on the org's SCIM API, every write refused with 403; empty refuses them all.
    pub read_tokens: Vec<[u8; 32]>,
    /// A disabled org keeps its data but answers 403.
    pub enabled: bool,
    /// Longest allowed team (group) `displayName`, in characters.
    pub team_name_max: usize,
    /// What to do with group members that are not users of the org.
    pub unknown_members: UnknownMembers,
    /// Whether a PUT or PATCH may change a user's `userName`.
    pub usernames: Usernames,
    /// Requests per second the org may make; `None` leaves it unlimited.
    pub rate_limit: Option<RateLimit>,
    /// Where the org's events are POSTed, signed (`[[orgs.<name>.webhooks]]`), in file order;
    /// at most [`crate::MAX_WEBHOOKS_PER_ORG`].
    pub webhooks: Vec<WebhookConfig>,
    /// The extensions the org declares (`[orgs.<name>.extensions."urn:..."]`): their values
    /// are type-checked, filterable and sortable, and listed by discovery.
    pub extensions: Arc<Declared>,
}

/// `orgs.<name>.rate_limit` and `rate_burst`: a token bucket per org, refilled at `per_second`
/// and holding at most `burst`, so an IdP may push a burst after a quiet spell but not sustain
/// more than the rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained requests per second (`rate_limit`).
    pub per_second: u32,
    /// Most requests at once after a quiet spell (`rate_burst`); defaults to `per_second`.
    pub burst: u32,
}

/// `orgs.<name>.usernames`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usernames {
    /// A changed `userName` is refused with 400 `mutability` (the rule IdPs are told to
    /// follow by sending it on create only).
    Immutable,
    /// A changed `userName` is accepted while it stays unique, case-insensitively.
    Mutable,
}

/// `orgs.<name>.unknown_members`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownMembers {
    /// Apply the known members, record the unknown ids as an activity event.
    Skip,
    /// Refuse the whole request with 400 `invalidValue` listing the unknown ids.
    Reject,
}

impl OrgConfig {
    /// Whether `token` is one of this org's tokens.
    ///
    /// Compares against every stored hash in constant time with no early exit, so timing reveals
    /// neither which hash matched nor how many bytes did.
    pub fn token_matches(&self, token: &str) -> bool {
        matches_any(&self.tokens, token)
    }

    /// Whether `token` is one of this org's consumer tokens (`event_tokens`), compared as
    /// [`OrgConfig::token_matches`] does.
    pub fn event_token_matches(&self, token: &str) -> bool {
        matches_any(&self.event_tokens, token)
    }

    /// Whether `token` is one of this org's read-only SCIM tokens (`read_tokens`), compared as
    /// [`OrgConfig::token_matches`] does.
    pub fn read_token_matches(&self, token: &str) -> bool {
        matches_any(&self.read_tokens, token)
    }
}

fn matches_any(hashes: &[[u8; 32]], token: &str) -> bool {
    let presented = token::digest(token);
    let mut found = Choice::from(0);
    for stored in hashes {
        found |= stored.as_slice().ct_eq(presented.as_slice());
    }
    found.into()
}

impl Validator<'_> {
    /// Every `[orgs.<name>]` table, keyed by its canonical (lowercase) name; names that differ
    /// only in case are refused.
    pub(crate) fn orgs(
        &self,
        raw: BTreeMap<String, RawOrg>,
    ) -> Result<BTreeMap<String, OrgConfig>, ConfigError> {
        let orgs_key = KeyPath::default().key("orgs");
        let mut out: BTreeMap<String, OrgConfig> = BTreeMap::new();
        // The spelling each lowercase name came from, to report a case-only duplicate.
        let mut spelled: BTreeMap<String, String> = BTreeMap::new();
        for (name, org) in raw {
            let key = orgs_key.key(&name);
            check_org_name(&name).map_err(|message| self.invalid_name(&key, message))?;
            let canonical = name.to_ascii_lowercase();
            match spelled.entry(canonical.clone()) {
                Entry::Occupied(first) => {
                    let other = orgs_key.key(first.get());
                    // Point at whichever spelling comes later in the file: that is the one the
                    // operator most likely just added.
                    let here = span::key_span(&self.doc, &key).map(|s| s.start);
                    let there = span::key_span(&self.doc, &other).map(|s| s.start);
                    let (later, earlier) = if here >= there {
                        (&key, first.get().as_str())
                    } else {
                        (&other, name.as_str())
                    };
                    return Err(self.invalid_name(
                        later,
                        format!("duplicate of org `{earlier}`: org names are case-insensitive"),
                    ));
                }
                Entry::Vacant(slot) => {
                    slot.insert(name.clone());
                }
            }
            let org = self.org(&key, &name, canonical.clone(), org)?;
            out.insert(canonical, org);
        }
        Ok(out)
    }

    fn org(
        &self,
        key: &KeyPath,
        written: &str,
        canonical: String,
        raw: RawOrg,
    ) -> Result<OrgConfig, ConfigError> {
        let display_name = match raw.display_name {
            Some(name) if name.trim().is_empty() => {
                return Err(self.invalid(&key.key("display_name"), "must not be empty"))
            }
            Some(name) => name,
            None => written.to_owned(),
        };

        let tokens = self.token_hashes(key, "tokens", &raw.tokens)?;
        let event_tokens = self.token_hashes(key, "event_tokens", &raw.event_tokens)?;
        let read_tokens = self.token_hashes(key, "read_tokens", &raw.read_tokens)?;

        let team_name_max = match raw.team_name_max {
            None => DEFAULT_TEAM_NAME_MAX,
            Some(n) => usize::try_from(n)
                .ok()
                .filter(|n| (1..=MAX_TEAM_NAME_MAX).contains(n))
                .ok_or_else(|| {
                    self.invalid(
                        &key.key("team_name_max"),
                        format!("expected a number from 1 to {MAX_TEAM_NAME_MAX}, got {n}"),
                    )
                })?,
        };

        let unknown_members = match raw.unknown_members.as_deref() {
            None | Some("skip") => UnknownMembers::Skip,
            Some("reject") => UnknownMembers::Reject,
            Some(other) => {
                return Err(self.invalid(
                    &key.key("unknown_members"),
                    format!("expected \"skip\" or \"reject\", got {other:?}"),
                ))
            }
        };

        let usernames = match raw.usernames.as_deref() {
            None | Some("immutable") => Usernames::Immutable,
            Some("mutable") => Usernames::Mutable,
            Some(other) => {
                return Err(self.invalid(
                    &key.key("usernames"),
                    format!("expected \"immutable\" or \"mutable\", got {other:?}"),
                ))
            }
        };

        let rate_limit = match (raw.rate_limit, raw.rate_burst) {
            (None, None) => None,
            (None, Some(_)) => {
                // A burst alone would read as a limit while limiting nothing.
                return Err(self.invalid_name(
                    &key.key("rate_burst"),
                    "only valid together with rate_limit (requests per second)",
                ));
            }
            (Some(n), burst) => {
                let per_second = self.in_range(&key.key("rate_limit"), n, 1..=MAX_RATE_LIMIT)?;
                let burst = match burst {
                    None => per_second,
                    Some(b) => self.in_range(&key.key("rate_burst"), b, 1..=MAX_RATE_BURST)?,
                };
                Some(RateLimit { per_second, burst })
            }
        };

        let webhooks = self.org_webhooks(key, raw.webhooks)?;
        let extensions = self.org_extensions(key, raw.extensions)?;

        Ok(OrgConfig {
            name: canonical,
            display_name,
            tokens,
            event_tokens,
            read_tokens,
            enabled: raw.enabled.unwrap_or(true),
            team_name_max,
            unknown_members,
            usernames,
            rate_limit,
            webhooks,
            extensions,
        })
    }
}

/// GitHub's login rules: the name goes into URLs, and IdP admins already know these rules.
fn check_org_name(name: &str) -> Result<(), String> {
    const RULES: &str = "org names follow GitHub login rules: 1 to 39 ASCII letters, digits and \
                         single hyphens, not starting or ending with a hyphen";
    let ok = !name.is_empty()
        && name.len() <= MAX_ORG_NAME_LEN
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    if ok {
        Ok(())
    } else {
        Err(format!("invalid org name {name:?}: {RULES}"))
    }
}
