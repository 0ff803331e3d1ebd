//! Token matching against an org's stored hashes, and the reload diff.

use std::path::Path;

use crate::{token, Config};

fn config(text: &str) -> Config {
    Config::from_toml_str(text, Path::new("/srv/scimd.toml")).unwrap()
}

#[test]
fn right_token_matches_wrong_does_not() {
    let one = token::generate();
    let two = token::generate();
    let text = format!(
        "[orgs.acme]\ntokens = [{:?}, {:?}]\n[orgs.empty]\n",
        token::hash(&one),
        token::hash(&two)
    );
    let config = config(&text);
    let acme = config.org("acme").unwrap();
    assert!(acme.token_matches(&one));
    assert!(
        acme.token_matches(&two),
        "any stored hash matches, not just the first"
    );
    assert!(!acme.token_matches(&token::generate()));
    assert!(!acme.token_matches(""));
    assert!(!acme.token_matches(&one[..one.len() - 1]));
    assert!(
        !acme.token_matches(&token::hash(&one)),
        "the hash is not the token"
    );

    let empty = config.org("empty").unwrap();
    for presented in [one.as_str(), "", "scimd_"] {
        assert!(!empty.token_matches(presented), "no tokens refuses all");
    }
}

#[test]
fn diff_names_what_changed() {
    let a = token::hash("scimd_a");
    let b = token::hash("scimd_b");
    let old = config(&format!(
        "listen = \"127.0.0.1:1\"\n[orgs.keep]\n[orgs.gone]\n[orgs.rot]\ntokens = [{a:?}, {b:?}]\n\
         [orgs.set]\nenabled = true\n[orgs.same]\ntokens = [{a:?}, {b:?}]\n"
    ));
    let new = config(&format!(
        "listen = \"127.0.0.1:2\"\ndata_dir = \"elsewhere\"\npublic_url = \"https://x\"\n\
         [tls]\ncert = \"c\"\nkey = \"k\"\n[log]\nlevel = \"warn\"\n\
         [store]\nbackend = \"postgres\"\nurl = \"postgres://db/scimd\"\n\
         [orgs.keep]\n[orgs.new]\n[orgs.rot]\ntokens = [{a:?}]\n\
         [orgs.set]\nenabled = false\n[orgs.same]\ntokens = [{b:?}, {a:?}]\n"
    ));
    let diff = old.diff(&new);
    assert_eq!(diff.orgs_added, ["new"]);
    assert_eq!(diff.orgs_removed, ["gone"]);
    assert_eq!(diff.tokens_rotated, ["rot"], "reordering is not rotating");
    assert_eq!(diff.orgs_changed, ["set"]);
    assert_eq!(
        diff.restart_needed,
        ["listen", "data_dir", "socket", "log.level", "tls", "store"]
    );
    assert_eq!(diff.settings_changed, ["public_url"]);
    assert!(!diff.is_empty());
    assert!(old.diff(&old).is_empty());

    let moved_cert = config("[tls]\ncert = \"c2\"\nkey = \"k\"\n");
    let tls_diff = config("[tls]\ncert = \"c\"\nkey = \"k\"\n").diff(&moved_cert);
    assert_eq!(tls_diff.settings_changed, ["tls.cert"]);
    assert!(tls_diff.restart_needed.is_empty());

    let retention = config("[activity]\nmax_records = 5\nmax_age_days = 2\n");
    let retention_diff = config("").diff(&retention);
    assert_eq!(
        retention_diff.settings_changed,
        ["activity.max_records", "activity.max_age_days"]
    );
    assert!(retention_diff.restart_needed.is_empty());
    assert!(config("[activity]\nmax_records = 10000\n")
        .diff(&config(""))
        .is_empty());

    // Any key of [limits] is one live setting: the daemon rereads the whole table.
    let limits = config("[limits]\nmax_connections = 5\nshutdown_timeout_secs = 0\n");
    let limits_diff = config("").diff(&limits);
    assert_eq!(limits_diff.settings_changed, ["limits"]);
    assert!(limits_diff.restart_needed.is_empty());
    // A rate limit is an org setting: added, changed or removed, the org is changed.
    let rates = [
        "[orgs.a]\n",
        "[orgs.a]\nrate_limit = 5\n",
        "[orgs.a]\nrate_limit = 5\nrate_burst = 9\n",
        "[orgs.a]\nrate_limit = 6\nrate_burst = 9\n",
        "[orgs.a]\n",
    ];
    for pair in rates.windows(2) {
        let rate_diff = config(pair[0]).diff(&config(pair[1]));
        assert_eq!(rate_diff.orgs_changed, ["a"], "{pair:?}");
        assert!(rate_diff.settings_changed.is_empty() && rate_diff.restart_needed.is_empty());
    }
    // The default burst is the rate, so spelling it out changes nothing.
    assert!(config("[orgs.a]\nrate_limit = 5\n")
        .diff(&config("[orgs.a]\nrate_limit = 5\nrate_burst = 5\n"))
        .is_empty());
    assert!(config("[limits]\nidle_timeout_secs = 60\n")
        .diff(&config(""))
        .is_empty());
}
