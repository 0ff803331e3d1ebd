//! The orgs' read-only SCIM tokens (`read_tokens`): parsed and validated like `event_tokens`,
//! kept apart from the other two lists, rotated and revoked with `TokenScope::Read` without
//! touching them, and seen by a reload as a token change.

use std::fs;
use std::path::Path;

use crate::{revoke_tokens_in, rotate_token_in, token, Config, TokenScope};

fn load(text: &str) -> Result<Config, crate::ConfigError> {
    Config::from_toml_str(text, Path::new("/srv/scimd.toml"))
}

#[test]
fn read_tokens_parse_and_match_apart_from_the_other_lists() {
    let (scim, events, read) = (token::generate(), token::generate(), token::generate());
    let text = format!(
        "[orgs.acme]\ntokens = [{:?}]\nevent_tokens = [{:?}]\nread_tokens = [{:?}]",
        token::hash(&scim),
        token::hash(&events),
        token::hash(&read)
    );
    let config = load(&text).unwrap();
    let acme = config.org("acme").unwrap();
    assert_eq!(acme.read_tokens.len(), 1);
    assert!(acme.read_token_matches(&read));
    assert!(!acme.read_token_matches(&scim) && !acme.read_token_matches(&events));
    assert!(!acme.token_matches(&read) && !acme.event_token_matches(&read));

    // Absent is empty: no read token is accepted.
    let bare = load("[orgs.acme]").unwrap();
    assert!(bare.org("acme").unwrap().read_tokens.is_empty());
}

#[test]
fn a_bad_read_token_hash_is_refused_with_its_key() {
    let plain = token::generate();
    let err = load(&format!("[orgs.acme]\nread_tokens = [{plain:?}]"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("orgs.acme.read_tokens[0]") && err.contains("plaintext"),
        "{err}"
    );
    for bad in ["\"sha256:abc\"", "\"md5:00\"", "[1]", "\"\""] {
        let err = load(&format!("[orgs.acme]\nread_tokens = [{bad}]"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("read_tokens"), "{bad}: {err}");
    }
    // A string where a list belongs is a type error, not a silent empty list.
    let err = load("[orgs.acme]\nread_tokens = \"sha256:00\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("read_tokens"), "{err}");
}

#[test]
fn rotating_the_read_scope_leaves_the_other_tokens_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scimd.toml");
    fs::write(&path, "[orgs.acme] # ours\n").unwrap();
    let scim = rotate_token_in(&path, "acme", TokenScope::Scim).unwrap();
    let events = rotate_token_in(&path, "acme", TokenScope::Events).unwrap();
    let before = Config::load(&path).unwrap();
    let read = rotate_token_in(&path, "acme", TokenScope::Read).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(&format!("read_tokens = [\"{}\"]", token::hash(&read))),
        "{text}"
    );
    assert!(!text.contains(&read), "only the hash is written: {text}");
    assert!(text.contains("# ours"));
    let config = Config::load(&path).unwrap();
    let acme = config.org("acme").unwrap();
    assert!(acme.token_matches(&scim) && acme.event_token_matches(&events));
    assert!(acme.read_token_matches(&read));
    assert_eq!(before.diff(&config).tokens_rotated, ["acme"]);

    // A second rotation replaces the first read token.
    let again = rotate_token_in(&path, "acme", TokenScope::Read).unwrap();
    let acme = Config::load(&path).unwrap().org("acme").unwrap().clone();
    assert!(acme.read_token_matches(&again) && !acme.read_token_matches(&read));

    revoke_tokens_in(&path, "acme", TokenScope::Read).unwrap();
    let revoked = Config::load(&path).unwrap();
    let acme = revoked.org("acme").unwrap();
    assert!(acme.read_tokens.is_empty());
    assert!(acme.token_matches(&scim) && acme.event_token_matches(&events));
    assert_eq!(config.diff(&revoked).tokens_rotated, ["acme"]);
}
