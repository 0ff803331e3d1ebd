//! The `[events]` table and the orgs' consumer tokens: defaults, bounds, and rotation of
//! `event_tokens` beside `tokens`.

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::{
    revoke_tokens_in, rotate_token, rotate_token_in, token, Config, EventsConfig, TokenScope,
};

fn load(text: &str) -> Result<Config, crate::ConfigError> {
    Config::from_toml_str(text, Path::new("/srv/scimd.toml"))
}

#[test]
fn events_retention_defaults_and_bounds() {
    let config = load("[orgs.acme]").unwrap();
    assert_eq!(config.events, EventsConfig::default());
    assert_eq!(config.events.max_records, 100_000);
    assert_eq!(config.events.max_age, Duration::from_secs(7 * 24 * 3600));

    assert_eq!(config.events.max_long_polls, 64);
    assert_eq!(config.events.max_snapshots, 2);
    let config = load(
        "[events]\nmax_records = 5\nmax_age_days = 2\nmax_long_polls = 3\nmax_snapshots = 5\n\
         [orgs.acme]",
    )
    .unwrap();
    assert_eq!(config.events.max_long_polls, 3);
    assert_eq!(config.events.max_snapshots, 5);
    assert_eq!(config.events.max_records, 5);
    assert_eq!(config.events.max_age, Duration::from_secs(2 * 24 * 3600));

    for (text, key) in [
        ("[events]\nmax_records = 0", "events.max_records"),
        ("[events]\nmax_records = 10000001", "events.max_records"),
        ("[events]\nmax_age_days = 0", "events.max_age_days"),
        ("[events]\nmax_age_days = 3651", "events.max_age_days"),
        ("[events]\nmax_age = 7", "max_age"),
        ("[events]\nmax_long_polls = 0", "events.max_long_polls"),
        ("[events]\nmax_long_polls = 10001", "events.max_long_polls"),
        ("[events]\nmax_snapshots = 0", "events.max_snapshots"),
        ("[events]\nmax_snapshots = 65", "events.max_snapshots"),
    ] {
        let err = load(&format!("{text}\n[orgs.acme]"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{text}: {err}");
    }
}

#[test]
fn event_tokens_match_apart_from_scim_tokens() {
    let scim = token::generate();
    let events = token::generate();
    let text = format!(
        "[orgs.acme]\ntokens = [{:?}]\nevent_tokens = [{:?}]",
        token::hash(&scim),
        token::hash(&events)
    );
    let config = load(&text).unwrap();
    let acme = config.org("acme").unwrap();
    assert!(acme.token_matches(&scim) && !acme.token_matches(&events));
    assert!(acme.event_token_matches(&events) && !acme.event_token_matches(&scim));

    let err = load(&format!("[orgs.acme]\nevent_tokens = [{events:?}]"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("event_tokens") && err.contains("plaintext"),
        "{err}"
    );
}

#[test]
fn rotating_the_events_scope_leaves_the_scim_token_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scimd.toml");
    fs::write(&path, "[orgs.acme] # ours\n").unwrap();
    let scim = rotate_token(&path, "acme").unwrap();
    let events = rotate_token_in(&path, "acme", TokenScope::Events).unwrap();
    let config = Config::load(&path).unwrap();
    let acme = config.org("acme").unwrap();
    assert!(acme.token_matches(&scim));
    assert!(acme.event_token_matches(&events));
    assert!(fs::read_to_string(&path).unwrap().contains("# ours"));

    revoke_tokens_in(&path, "acme", TokenScope::Events).unwrap();
    let config = Config::load(&path).unwrap();
    let acme = config.org("acme").unwrap();
    assert!(acme.token_matches(&scim));
    assert!(acme.event_tokens.is_empty());
    let diff_base = load("[orgs.acme]").unwrap();
    assert_eq!(
        diff_base.diff(&config).tokens_rotated,
        vec!["acme".to_string()]
    );
}
