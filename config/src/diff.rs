//! What a reload changed, for the `config_reloaded` event and the "needs a restart" log line.
//!
//! Names only: a diff never carries token hashes, let alone tokens.

use std::collections::BTreeSet;

use crate::model::Config;
use crate::org::OrgConfig;

/// The difference between a running config and a newly loaded one. Every list is sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigDiff {
    /// Orgs that are new: they are served from now on.
    pub orgs_added: Vec<String>,
    /// Orgs that are gone: no longer served, their data stays in the store.
    pub orgs_removed: Vec<String>,
    /// Orgs whose set of token hashes (`tokens`, `event_tokens` or `read_tokens`) changed
    /// (rotated, added or revoked).
    pub tokens_rotated: Vec<String>,
    /// Orgs with other settings changed: `display_name`, `enabled`, `team_name_max`,
    /// `unknown_members`, `usernames`, `rate_limit`, `rate_burst`, `extensions` (declared
    /// extensions, read per request so they apply live), or any of `webhooks` (an
    /// endpoint added or removed, its secret or events changed; the daemon compares the lists
    /// by [`crate::WebhookConfig::id`] to keep unchanged endpoints' delivery going).
    pub orgs_changed: Vec<String>,
    /// Keys whose new value only takes effect after a restart: `listen`, `data_dir`, `socket`,
    /// `log.level`, `log.format`, `tls` when it is switched on or off, `metrics.listen`, and
    /// `store` for any change of `[store]` (backend, URL or pool size). The daemon drops any entry it learns to
    /// apply live.
    pub restart_needed: Vec<String>,
    /// Server keys that apply live: `public_url`, `tls.cert`, `tls.key`,
    /// `activity.max_records`, `activity.max_age_days`, `limits` for any key of `[limits]`
    /// (the daemon reads the whole table per connection and request, so one name is enough),
    /// and `webhooks` for any key of `[webhooks]` (read per delivery attempt).
    pub settings_changed: Vec<String>,
}

impl ConfigDiff {
    /// True when the reload changed nothing that matters.
    pub fn is_empty(&self) -> bool {
        self.orgs_added.is_empty()
            && self.orgs_removed.is_empty()
            && self.tokens_rotated.is_empty()
            && self.orgs_changed.is_empty()
            && self.restart_needed.is_empty()
            && self.settings_changed.is_empty()
    }
}

impl Config {
    /// What changed from `self` (running) to `newer` (just loaded).
    pub fn diff(&self, newer: &Config) -> ConfigDiff {
        let mut diff = ConfigDiff::default();

        for (name, old) in &self.orgs {
            match newer.orgs.get(name) {
                None => diff.orgs_removed.push(name.clone()),
                Some(new) => {
                    if token_set(old) != token_set(new) {
                        diff.tokens_rotated.push(name.clone());
                    }
                    if settings_differ(old, new) {
                        diff.orgs_changed.push(name.clone());
                    }
                }
            }
        }
        diff.orgs_added = newer
            .orgs
            .keys()
            .filter(|name| !self.orgs.contains_key(*name))
            .cloned()
            .collect();

        let mut restart = |changed: bool, key: &str| {
            if changed {
                diff.restart_needed.push(key.to_owned());
            }
        };
        restart(self.listen != newer.listen, "listen");
        restart(self.data_dir != newer.data_dir, "data_dir");
        restart(self.socket != newer.socket, "socket");
        restart(self.log.level != newer.log.level, "log.level");
        restart(self.log.format != newer.log.format, "log.format");
        restart(self.tls.is_some() != newer.tls.is_some(), "tls");
        restart(self.store != newer.store, "store");
        restart(self.metrics != newer.metrics, "metrics.listen");

        let mut live = |changed: bool, key: &str| {
            if changed {
                diff.settings_changed.push(key.to_owned());
            }
        };
        live(self.public_url != newer.public_url, "public_url");
        if let (Some(old), Some(new)) = (&self.tls, &newer.tls) {
            live(old.cert != new.cert, "tls.cert");
            live(old.key != new.key, "tls.key");
        }
        let (old, new) = (&self.activity, &newer.activity);
        live(old.max_records != new.max_records, "activity.max_records");
        live(old.max_age != new.max_age, "activity.max_age_days");
        let (old, new) = (&self.events, &newer.events);
        live(old.max_records != new.max_records, "events.max_records");
        live(old.max_age != new.max_age, "events.max_age_days");
        live(self.limits != newer.limits, "limits");
        live(self.webhooks != newer.webhooks, "webhooks");

        diff
    }
}

type Hashes = BTreeSet<[u8; 32]>;

/// Reordering the hashes in the file is not a rotation.
fn token_set(org: &OrgConfig) -> (Hashes, Hashes, Hashes) {
    let set = |list: &[[u8; 32]]| -> Hashes { list.iter().copied().collect() };
    (
        set(&org.tokens),
        set(&org.event_tokens),
        set(&org.read_tokens),
    )
}

fn settings_differ(old: &OrgConfig, new: &OrgConfig) -> bool {
    old.display_name != new.display_name
        || old.enabled != new.enabled
        || old.team_name_max != new.team_name_max
        || old.unknown_members != new.unknown_members
        || old.usernames != new.usernames
        || old.rate_limit != new.rate_limit
        || old.webhooks != new.webhooks
        || old.extensions != new.extensions
}
