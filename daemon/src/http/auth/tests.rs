//! The one token check: every scope, the refusals as the doors answer them, and the hash
//! computed once on every path.

use super::*;

fn sha(t: &str) -> [u8; 32] {
    Sha256::digest(t.as_bytes()).into()
}

fn config() -> Config {
    let hash = scimd_config::token::hash;
    let text = format!(
        "[orgs.acme]\ntokens = [\"{}\"]\nread_tokens = [\"{}\"]\nevent_tokens = [\"{}\"]\n\
         [orgs.off]\nenabled = false\ntokens = [\"{}\"]\nevent_tokens = [\"{}\"]\n",
        hash("w-acme"),
        hash("r-acme"),
        hash("e-acme"),
        hash("w-off"),
        hash("e-off"),
    );
    Config::from_toml_str(&text, std::path::Path::new("/etc/scimd/scimd.toml")).unwrap()
}

fn scope_of(
    config: &Config,
    org: &str,
    token: Option<&str>,
    accepts: &[Scope],
) -> Result<Scope, (u16, String)> {
    authenticate(config, org, token, accepts)
        .map(|(o, s)| {
            assert_eq!(o.name, "acme");
            s
        })
        .map_err(|e| (e.status(), e.to_string()))
}

#[test]
fn each_door_takes_its_own_scopes() {
    let config = config();
    let c = &config;
    assert_eq!(scope_of(c, "acme", Some("w-acme"), SCIM), Ok(Scope::Write));
    assert_eq!(scope_of(c, "ACME", Some("w-acme"), SCIM), Ok(Scope::Write));
    assert_eq!(scope_of(c, "acme", Some("r-acme"), SCIM), Ok(Scope::Read));
    assert_eq!(
        scope_of(c, "acme", Some("e-acme"), EVENTS),
        Ok(Scope::Events)
    );
    // The events token is no SCIM token, and neither SCIM token opens the events API.
    for (token, accepts) in [
        ("e-acme", SCIM),
        ("w-acme", EVENTS),
        ("r-acme", EVENTS),
        ("other", SCIM),
        ("other", EVENTS),
        ("w-off", SCIM),
    ] {
        let (status, _) = scope_of(c, "acme", Some(token), accepts).unwrap_err();
        assert_eq!(status, 401, "{token} {accepts:?}");
    }
}

#[test]
fn a_token_in_two_lists_takes_the_first_accepted_scope() {
    let hash = scimd_config::token::hash;
    let text = format!(
        "[orgs.acme]\ntokens = [\"{0}\"]\nread_tokens = [\"{0}\"]\n",
        hash("both")
    );
    let config = Config::from_toml_str(&text, std::path::Path::new("/s.toml")).unwrap();
    assert_eq!(
        scope_of(&config, "acme", Some("both"), SCIM),
        Ok(Scope::Write)
    );
    assert_eq!(
        scope_of(&config, "acme", Some("both"), &[Scope::Read]),
        Ok(Scope::Read)
    );
}

#[test]
fn an_unknown_org_and_a_wrong_token_are_refused_alike() {
    let config = config();
    for accepts in [SCIM, EVENTS] {
        let wrong = scope_of(&config, "acme", Some("other"), accepts).unwrap_err();
        let unknown = scope_of(&config, "nope", Some("w-acme"), accepts).unwrap_err();
        assert_eq!(wrong.0, 401);
        assert_eq!(unknown.0, 401);
        // The same words but for the name the client sent.
        assert_eq!(wrong.1.replace("acme", "X"), unknown.1.replace("nope", "X"));
    }
    let (_, scim) = scope_of(&config, "nope", Some("x"), SCIM).unwrap_err();
    assert!(scim.contains("not valid for org 'nope'"), "{scim}");
    let (_, events) = scope_of(&config, "nope", Some("x"), EVENTS).unwrap_err();
    assert!(
        events.contains("not an events token of org 'nope'"),
        "{events}"
    );
    assert!(events.contains("--scope events"), "{events}");
}

#[test]
fn a_missing_token_is_a_401_in_the_door_s_words() {
    let config = config();
    let (status, scim) = scope_of(&config, "acme", None, SCIM).unwrap_err();
    assert_eq!(status, 401);
    assert!(
        scim.contains("Missing or malformed") && !scim.contains("events"),
        "{scim}"
    );
    let (status, events) = scope_of(&config, "nope", None, EVENTS).unwrap_err();
    assert_eq!(status, 401);
    assert!(events.contains("events token"), "{events}");
}

#[test]
fn a_disabled_org_answers_403_to_a_valid_token_only() {
    let config = config();
    for (token, accepts) in [("w-off", SCIM), ("e-off", EVENTS)] {
        let err = authenticate(&config, "off", Some(token), accepts).unwrap_err();
        assert_eq!(err.status(), 403, "{token}");
        assert!(err.to_string().contains("disabled"), "{err}");
    }
    let err = authenticate(&config, "off", Some("e-off"), SCIM).unwrap_err();
    assert_eq!(err.status(), 401);
}

#[test]
fn an_unknown_org_hashes_the_token_and_refuses_it() {
    let mut hashed = Vec::new();
    let valid = check::<3>(None, "scimd_guess", |t| {
        hashed.push(t.to_string());
        sha(t)
    });
    assert_eq!(valid, [false, false, false]);
    assert_eq!(hashed, ["scimd_guess"]);
}

#[test]
fn a_known_org_hashes_once_and_matches_any_of_its_tokens() {
    let stored = [sha("one"), sha("two")];
    for (token, want) in [("one", true), ("two", true), ("three", false)] {
        let mut calls = 0;
        let [valid] = check(Some([&stored[..]]), token, |t| {
            calls += 1;
            sha(t)
        });
        assert_eq!((valid, calls), (want, 1), "{token}");
    }
    // An org without tokens still hashes what it was sent, and refuses it.
    let mut calls = 0;
    assert_eq!(
        check(Some([&[][..]]), "one", |t| {
            calls += 1;
            sha(t)
        }),
        [false]
    );
    assert_eq!(calls, 1);
}

#[test]
fn three_lists_hash_once_and_say_which_one_holds_the_token() {
    let (write, read, events) = ([sha("w1"), sha("w2")], [sha("r1")], [sha("e1")]);
    for (token, want) in [
        ("w2", [true, false, false]),
        ("r1", [false, true, false]),
        ("e1", [false, false, true]),
        ("other", [false, false, false]),
    ] {
        let mut calls = 0;
        let found = check(Some([&write[..], &read[..], &events[..]]), token, |t| {
            calls += 1;
            sha(t)
        });
        assert_eq!((found, calls), (want, 1), "{token}");
    }
}

#[test]
fn the_hash_is_the_one_the_config_stores() {
    let token = scimd_config::token::generate();
    let hex: String = sha(&token).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(scimd_config::token::hash(&token), format!("sha256:{hex}"));
    assert_eq!(sha256(&token), sha(&token));
}
