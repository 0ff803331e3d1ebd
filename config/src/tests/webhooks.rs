//! Webhooks: the `[webhooks]` table, each org's endpoints (URL, secret, events) with every bad
//! case naming its key and position, the signature vectors, and the reload diff.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;

use crate::{
    add_webhook, remove_webhook, Config, ConfigError, WebhookSecret, WebhookSecretError,
    WebhooksConfig, EVENT_TYPES, MAX_WEBHOOKS_PER_ORG,
};

/// The secret of the Standard Webhooks example (24 bytes).
const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml_str(text, Path::new("/srv/scimd.toml"))
}

/// `[orgs.acme]` with one webhook table holding `body` after its url and secret; the url is on
/// line 4, its value from column 7.
fn one_hook(url: &str, body: &str) -> String {
    let url = url.replace('\\', "\\\\").replace('\u{7}', "\\u0007");
    format!(
        "[orgs.acme]\n\n[[orgs.acme.webhooks]]\nurl = \"{url}\"\nsecret = {SPEC_SECRET:?}\n{body}"
    )
}

/// The error's key and 1-based line:col, which must both be there.
fn key_and_position(err: &ConfigError) -> (&str, (usize, usize)) {
    match err {
        ConfigError::Invalid { key, line_col, .. } => {
            (key.as_str(), line_col.unwrap_or_else(|| panic!("{err}")))
        }
        other => panic!("not an Invalid error: {other}"),
    }
}

#[test]
fn defaults_and_a_parsed_endpoint() {
    let config = load("[orgs.acme]").unwrap();
    assert_eq!(config.webhooks, WebhooksConfig::default());
    assert_eq!(config.webhooks.retry_for, Duration::from_secs(72 * 3600));
    assert_eq!(config.webhooks.connect_timeout, Duration::from_secs(5));
    assert_eq!(config.webhooks.timeout, Duration::from_secs(10));
    assert!(config.org("acme").unwrap().webhooks.is_empty());

    let config = load(&one_hook("https://hooks.example.com/scim?org=acme", "")).unwrap();
    let hooks = &config.org("acme").unwrap().webhooks;
    assert_eq!(hooks.len(), 1);
    let hook = &hooks[0];
    assert_eq!(hook.url, "https://hooks.example.com/scim?org=acme");
    assert_eq!(hook.secret, SPEC_SECRET.parse().unwrap());
    assert_eq!(hook.events, None);
    assert!(hook.is_https());
    assert_eq!(hook.host(), "hooks.example.com");
    assert_eq!(hook.port(), 443);
    assert_eq!(hook.path_and_query(), "/scim?org=acme");

    let config = load(
        "[webhooks]\nretry_hours = 1\nconnect_timeout_secs = 60\ntimeout_secs = 300\n[orgs.acme]",
    )
    .unwrap();
    assert_eq!(config.webhooks.retry_for, Duration::from_secs(3600));
    assert_eq!(config.webhooks.connect_timeout, Duration::from_secs(60));
    assert_eq!(config.webhooks.timeout, Duration::from_secs(300));
}

#[test]
fn url_parts_ports_hosts_and_paths() {
    for (url, https, host, port, path) in [
        ("http://example.com", false, "example.com", 80, "/"),
        ("HTTPS://Example.COM/", true, "example.com", 443, "/"),
        ("Http://example.com:8080", false, "example.com", 8080, "/"),
        ("https://example.com:1/a/b", true, "example.com", 1, "/a/b"),
        (
            "https://example.com:65535?x=1",
            true,
            "example.com",
            65535,
            "/?x=1",
        ),
        ("http://10.0.0.7:9000/in", false, "10.0.0.7", 9000, "/in"),
        ("http://[::1]:8080/hook", false, "::1", 8080, "/hook"),
        ("https://[2001:DB8:0:0::1]/", true, "2001:db8::1", 443, "/"),
        (
            "http://localhost/%E2%9C%93",
            false,
            "localhost",
            80,
            "/%E2%9C%93",
        ),
        (
            "http://my_host.internal/",
            false,
            "my_host.internal",
            80,
            "/",
        ),
    ] {
        let config = load(&one_hook(url, "")).unwrap_or_else(|e| panic!("{url}: {e}"));
        let hook = &config.org("acme").unwrap().webhooks[0];
        assert_eq!(hook.url, url, "kept as written");
        assert_eq!(
            (
                hook.is_https(),
                hook.host(),
                hook.port(),
                hook.path_and_query()
            ),
            (https, host, port, path),
            "{url}"
        );
    }
}

#[test]
fn bad_urls_name_the_key_and_point_at_the_value() {
    let long = format!("https://example.com/{}", "a".repeat(2048));
    for (url, message) in [
        ("ftp://example.com/", "got scheme \"ftp\""),
        ("example.com/hook", "expected an http:// or https:// URL"),
        ("https://user@example.com/", "credentials"),
        ("https://user:pw@example.com/", "credentials"),
        ("https://example.com:0/", "from 1 to 65535, got \"0\""),
        ("https://example.com:65536/", "from 1 to 65535"),
        ("https://example.com:/", "from 1 to 65535, got \"\""),
        ("https://example.com:+80/", "from 1 to 65535"),
        ("https://example.com:http/", "from 1 to 65535"),
        ("https://example.com/#top", "fragment"),
        ("https:///path", "no host"),
        ("https://:8080/", "no host"),
        ("https://exa mple.com/", "spaces"),
        ("https://example.com/\u{7}", "control"),
        ("https://exämple.com/", "ASCII"),
        ("https://example..com/", "invalid host"),
        ("https://-example.com/", "invalid host"),
        ("https://example.com./", "invalid host"),
        ("https://ex%61mple.com/", "invalid host"),
        ("https://ex\\ample.com/", "invalid host"),
        ("https://1.2.3/", "not an IPv4 address"),
        ("https://256.1.1.1/", "not an IPv4 address"),
        ("https://::1/", "brackets"),
        ("https://[::1/", "closing bracket"),
        ("https://[::1]x/", "after the IPv6 host"),
        ("https://[fe80::1%25eth0]/", "not an IPv6 address"),
        ("https://[example.com]/", "not an IPv6 address"),
        (long.as_str(), "at most 2048"),
    ] {
        let err = load(&one_hook(url, "")).unwrap_err();
        assert_eq!(
            key_and_position(&err),
            ("orgs.acme.webhooks[0].url", (4, 7)),
            "{url}: {err}"
        );
        let text = err.to_string();
        assert!(text.contains(message), "{url}: {text}");
        assert!(text.starts_with("/srv/scimd.toml:4:7: "), "{text}");
        if url.len() > 12 {
            // Receivers put tokens in their URLs: errors describe them without quoting.
            assert!(!text.contains(&url[8..]), "{url} quoted in {text}");
        }
    }
}

#[test]
fn bad_secrets_are_described_but_never_quoted() {
    let short = format!("whsec_{}", "QUFB".repeat(7)); // 21 bytes
    let long = format!("whsec_{}", "QUFB".repeat(22)); // 66 bytes
    for (secret, message) in [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "expected \"whsec_\""),
        (
            "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "expected \"whsec_\"",
        ),
        (
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!",
            "not standard base64",
        ),
        (
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa_w",
            "not standard base64",
        ),
        (short.as_str(), "21 bytes long; expected 24 to 64"),
        (long.as_str(), "66 bytes long"),
        ("whsec_", "0 bytes long"),
    ] {
        let text = format!(
            "[orgs.acme]\n[[orgs.acme.webhooks]]\nurl = \"https://example.com/\"\n\
             secret = \"{secret}\"\n"
        );
        let err = load(&text).unwrap_err();
        assert_eq!(
            key_and_position(&err),
            ("orgs.acme.webhooks[0].secret", (4, 10)),
            "{secret}: {err}"
        );
        assert!(err.to_string().contains(message), "{secret}: {err}");
        let body = secret.trim_start_matches("whsec_");
        if !body.is_empty() {
            assert!(!err.to_string().contains(body), "secret quoted in {err}");
        }
    }

    // Padding is optional; both spellings are the same key.
    let padded = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode([7u8; 25])
    );
    assert!(padded.ends_with("=="), "{padded}");
    let padded: WebhookSecret = padded.parse().unwrap();
    let bare: WebhookSecret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode([7u8; 25])
    )
    .parse()
    .unwrap();
    assert_eq!(padded, bare);
    assert_ne!(padded, SPEC_SECRET.parse().unwrap());
    assert_eq!(
        "nope".parse::<WebhookSecret>().unwrap_err(),
        WebhookSecretError::Prefix
    );
}

#[test]
fn events_filter_what_an_endpoint_wants() {
    let config = load(&one_hook(
        "https://example.com/",
        "events = [\"user.created\", \"team.member_added\"]",
    ))
    .unwrap();
    let hook = &config.org("acme").unwrap().webhooks[0];
    assert_eq!(
        hook.events.as_deref(),
        Some(&["user.created".to_owned(), "team.member_added".to_owned()][..])
    );
    assert!(hook.wants("user.created") && hook.wants("team.member_added"));
    assert!(!hook.wants("user.deleted") && !hook.wants("User.Created"));

    let config = load(&one_hook("https://example.com/", "")).unwrap();
    let every = &config.org("acme").unwrap().webhooks[0];
    assert!(EVENT_TYPES.iter().all(|t| every.wants(t)));

    let all = EVENT_TYPES
        .iter()
        .map(|t| format!("{t:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    load(&one_hook(
        "https://example.com/",
        &format!("events = [{all}]"),
    ))
    .unwrap();

    for (events, key, at, message) in [
        (
            "[]",
            "orgs.acme.webhooks[0].events",
            (6, 10),
            "omit events to receive every type",
        ),
        (
            "[\"user.created\", \"user.exploded\"]",
            "orgs.acme.webhooks[0].events[1]",
            (6, 27),
            "unknown event type \"user.exploded\"; expected one of user.created,",
        ),
        (
            "[\"user.created\", \"user.created\"]",
            "orgs.acme.webhooks[0].events[1]",
            (6, 27),
            "listed twice",
        ),
        (
            "\"user.created\"",
            "orgs.acme.webhooks[0].events",
            (6, 10),
            "expected a sequence",
        ),
    ] {
        let err = load(&one_hook(
            "https://example.com/",
            &format!("events = {events}"),
        ))
        .unwrap_err();
        assert_eq!(key_and_position(&err), (key, at), "{events}: {err}");
        assert!(err.to_string().contains(message), "{events}: {err}");
    }
}

#[test]
fn duplicate_urls_and_too_many_endpoints_are_refused() {
    let hooks = |urls: &[&str]| {
        let mut text = "[orgs.acme]\n".to_owned();
        for url in urls {
            text.push_str(&format!(
                "[[orgs.acme.webhooks]]\nurl = {url:?}\nsecret = {SPEC_SECRET:?}\n"
            ));
        }
        text
    };
    let err = load(&hooks(&[
        "https://a.example.com/",
        "https://b.example.com/",
        "HTTPS://A.example.com:443",
    ]))
    .unwrap_err();
    assert_eq!(
        key_and_position(&err),
        ("orgs.acme.webhooks[2].url", (9, 7))
    );
    assert!(
        err.to_string()
            .contains("the same endpoint as orgs.acme.webhooks[0]"),
        "{err}"
    );
    // The same URL in two orgs is two endpoints.
    let two_orgs = format!(
        "{}[orgs.globex]\n[[orgs.globex.webhooks]]\nurl = \"https://a.example.com/\"\n\
         secret = {SPEC_SECRET:?}\n",
        hooks(&["https://a.example.com/"])
    );
    load(&two_orgs).unwrap();

    let urls: Vec<String> = (0..=MAX_WEBHOOKS_PER_ORG)
        .map(|i| format!("https://example.com/{i}"))
        .collect();
    let refs: Vec<&str> = urls.iter().map(String::as_str).collect();
    load(&hooks(&refs[..MAX_WEBHOOKS_PER_ORG])).unwrap();
    let err = load(&hooks(&refs)).unwrap_err();
    // The 17th table's header, on line 2 + 3 * 16.
    assert_eq!(key_and_position(&err), ("orgs.acme.webhooks[16]", (50, 1)));
    assert!(
        err.to_string()
            .contains("at most 16 webhooks, this one has 17"),
        "{err}"
    );
}

#[test]
fn webhooks_table_bounds_and_unknown_keys() {
    for (text, key, at) in [
        (
            "[webhooks]\nretry_hours = 0",
            "webhooks.retry_hours",
            (2, 15),
        ),
        (
            "[webhooks]\nretry_hours = 721",
            "webhooks.retry_hours",
            (2, 15),
        ),
        (
            "[webhooks]\nconnect_timeout_secs = 0",
            "webhooks.connect_timeout_secs",
            (2, 24),
        ),
        (
            "[webhooks]\nconnect_timeout_secs = 61",
            "webhooks.connect_timeout_secs",
            (2, 24),
        ),
        (
            "[webhooks]\ntimeout_secs = 0",
            "webhooks.timeout_secs",
            (2, 16),
        ),
        (
            "[webhooks]\ntimeout_secs = 301",
            "webhooks.timeout_secs",
            (2, 16),
        ),
        (
            "[webhooks]\ntimeout_secs = -5",
            "webhooks.timeout_secs",
            (2, 16),
        ),
        ("[webhooks]\nretries = 3", "webhooks.retries", (2, 1)),
        (
            "[webhooks]\nmax_endpoints = 3",
            "webhooks.max_endpoints",
            (2, 1),
        ),
    ] {
        let err = load(&format!("{text}\n[orgs.acme]")).unwrap_err();
        assert_eq!(key_and_position(&err), (key, at), "{text}: {err}");
    }
    let err = load("[webhooks]\nretry_hours = 721\n[orgs.acme]")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("expected a number from 1 to 720, got 721"),
        "{err}"
    );

    // In a webhook table: an unknown key, a missing one, a wrong type.
    for (body, key, at, message) in [
        (
            "events = [\"user.created\"]\nheaders = {}",
            "orgs.acme.webhooks[0].headers",
            (7, 1),
            "unknown field `headers`",
        ),
        ("", "", (0, 0), "missing field `secret`"),
    ] {
        let text = if body.is_empty() {
            "[orgs.acme]\n[[orgs.acme.webhooks]]\nurl = \"https://example.com/\"\n".to_owned()
        } else {
            one_hook("https://example.com/", body)
        };
        let err = load(&text).unwrap_err();
        assert!(err.to_string().contains(message), "{err}");
        if !key.is_empty() {
            assert_eq!(key_and_position(&err), (key, at), "{err}");
        }
    }
    let err = load("[orgs.acme]\nwebhooks = [{ url = \"https://example.com/\", secret = 7 }]")
        .unwrap_err();
    assert!(
        err.to_string().contains("orgs.acme.webhooks[0].secret"),
        "{err}"
    );
}

#[test]
fn inline_webhook_tables_parse_and_errors_point_into_them() {
    let config = load(&format!(
        "[orgs.acme]\nwebhooks = [{{ url = \"http://[::1]:9000\", secret = {SPEC_SECRET:?} }}]\n"
    ))
    .unwrap();
    let hook = &config.org("acme").unwrap().webhooks[0];
    assert_eq!((hook.host(), hook.port()), ("::1", 9000));

    let err = load(&format!(
        "[orgs.acme]\nwebhooks = [{{ url = \"ftp://x\", secret = {SPEC_SECRET:?} }}]\n"
    ))
    .unwrap_err();
    assert_eq!(
        key_and_position(&err),
        ("orgs.acme.webhooks[0].url", (2, 21))
    );
}

#[test]
fn ids_are_stable_and_follow_the_url() {
    let a = load(&one_hook("https://example.com/a", "")).unwrap();
    let b = load(&one_hook(
        "https://example.com/a",
        "events = [\"user.created\"]",
    ))
    .unwrap();
    let c = load(&one_hook("https://example.com/b", "")).unwrap();
    let id = |c: &Config| c.org("acme").unwrap().webhooks[0].id();
    assert_eq!(id(&a), id(&b), "events and secret do not change the id");
    assert_ne!(id(&a), id(&c));
    assert_eq!(id(&a).len(), 16);
    assert!(id(&a)
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    // The first 16 hex digits of sha256("https://example.com/a"), fixed: the daemon keys
    // durable delivery positions by it.
    assert_eq!(id(&a), crate::token::hash("https://example.com/a")[7..23]);
}

#[test]
fn generated_secrets_parse_differ_and_hide_in_debug() {
    let (a, b) = (WebhookSecret::generate(), WebhookSecret::generate());
    assert_ne!(a, b);
    for s in [&a, &b] {
        assert!(s.starts_with("whsec_"), "{s}");
        // 32 bytes: 44 base64 characters with one `=`.
        assert_eq!(s.len(), "whsec_".len() + 44, "{s}");
        s.parse::<WebhookSecret>().unwrap();
    }
    assert_ne!(
        a.parse::<WebhookSecret>().unwrap(),
        b.parse::<WebhookSecret>().unwrap()
    );

    let config = load(&one_hook("https://example.com/", "")).unwrap();
    let debug = format!("{config:?}");
    assert!(debug.contains("WebhookSecret(<hidden>)"), "{debug}");
    assert!(
        !debug.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        "{debug}"
    );
    assert_eq!(
        format!("{:?}", a.parse::<WebhookSecret>().unwrap()),
        "WebhookSecret(<hidden>)"
    );
}

#[test]
fn reloads_report_webhook_changes_as_live() {
    let base = load(&one_hook("https://example.com/", "")).unwrap();
    let same = load(&one_hook("https://example.com/", "")).unwrap();
    assert!(base.diff(&same).is_empty());

    for changed in [
        one_hook("https://example.com/other", ""),
        one_hook("https://example.com/", "events = [\"user.created\"]"),
        one_hook("https://example.com/", "").replace(SPEC_SECRET, &WebhookSecret::generate()),
        "[orgs.acme]\n".to_owned(),
    ] {
        let diff = base.diff(&load(&changed).unwrap());
        assert_eq!(diff.orgs_changed, vec!["acme".to_owned()], "{changed}");
        assert!(diff.restart_needed.is_empty() && diff.tokens_rotated.is_empty());
    }

    let tuned = load(&format!(
        "[webhooks]\ntimeout_secs = 30\n{}",
        one_hook("https://example.com/", "")
    ))
    .unwrap();
    let diff = base.diff(&tuned);
    assert_eq!(diff.settings_changed, vec!["webhooks".to_owned()]);
    assert!(diff.restart_needed.is_empty() && diff.orgs_changed.is_empty());
}

fn setup(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scimd.toml");
    fs::write(&path, text).unwrap();
    (dir, path)
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap()
}

const COMMENTED: &str = "# top comment

# Acme, our first customer.
[orgs.Acme]
display_name = \"Acme Corp\"  # shown in the dashboard

# Globex has no webhooks.
[orgs.globex]
";

#[test]
fn add_webhook_appends_a_table_and_keeps_the_comments() {
    let (_dir, path) = setup(COMMENTED);
    let events = vec!["user.created".to_owned(), "user.deleted".to_owned()];
    let url = "https://hooks.example.com/a";
    let secret = add_webhook(&path, "acme", url, Some(&events)).unwrap();
    let parsed: WebhookSecret = secret.parse().unwrap();
    let added = format!(
        "\n[[orgs.Acme.webhooks]]\nurl = \"{url}\"\nsecret = \"{secret}\"\n\
         events = [\"user.created\", \"user.deleted\"]\n"
    );
    let (head, tail) = COMMENTED.split_at(COMMENTED.find("\n# Globex").unwrap());
    assert_eq!(read(&path), format!("{head}{added}{tail}"));

    // A second one follows the first, without events.
    let second = add_webhook(&path, "ACME", "http://[::1]:9000/in", None).unwrap();
    assert_ne!(second, secret);
    let added_too = "\n[[orgs.Acme.webhooks]]\nurl = \"http://[::1]:9000/in\"\nsecret = ";
    assert!(read(&path).starts_with(&format!("{head}{added}{added_too}")));
    assert!(read(&path).ends_with(tail));
    let config = Config::load(&path).unwrap();
    let hooks = &config.org("acme").unwrap().webhooks;
    assert_eq!(hooks.len(), 2);
    assert_eq!(hooks[0].url, url);
    assert_eq!(hooks[0].secret, parsed);
    assert_eq!(hooks[0].events.as_deref(), Some(&events[..]));
    assert_eq!((hooks[1].host(), hooks[1].port()), ("::1", 9000));
    assert_eq!(hooks[1].events, None);
    assert_eq!(hooks[1].secret, second.parse().unwrap());
    assert!(config.org("globex").unwrap().webhooks.is_empty());

    // Removing one keeps the other; removing both gives back the file as it was.
    assert!(remove_webhook(&path, "acme", "HTTPS://hooks.example.com:443/a").unwrap());
    assert!(!remove_webhook(&path, "acme", url).unwrap());
    assert!(!remove_webhook(&path, "globex", "http://[::1]:9000/in").unwrap());
    let config = Config::load(&path).unwrap();
    assert_eq!(config.org("acme").unwrap().webhooks[0].port(), 9000);
    assert!(remove_webhook(&path, "acme", "http://[::1]:9000/in").unwrap());
    assert_eq!(read(&path), COMMENTED);
    assert!(matches!(
        remove_webhook(&path, "initech", url),
        Err(ConfigError::UnknownOrg(_))
    ));
}

#[test]
fn add_webhook_works_for_every_shape_of_org_table() {
    let inline_hook = format!("{{ url = \"https://old.example.com/\", secret = {SPEC_SECRET:?} }}");
    for text in [
        "[orgs.acme]\ndisplay_name = \"A\"\n\n[orgs.b]\n".to_owned(),
        "orgs = { acme = { display_name = \"A\" } }\n".to_owned(),
        "orgs.acme.display_name = \"A\"\n".to_owned(),
        "[orgs.acme]\nwebhooks = []\n".to_owned(),
        format!("[orgs.acme]\nwebhooks = [{inline_hook}]\n"),
    ] {
        let (_dir, path) = setup(&text);
        let url = "https://example.com/hook";
        let secret =
            add_webhook(&path, "acme", url, None).unwrap_or_else(|e| panic!("{text}: {e}"));
        let config = Config::load(&path).unwrap_or_else(|e| panic!("{text}: {e}"));
        let hooks = &config.org("acme").unwrap().webhooks;
        let hook = hooks.last().unwrap();
        assert_eq!(hook.url, url, "{text}");
        assert_eq!(hook.secret, secret.parse().unwrap(), "{text}");
        assert!(remove_webhook(&path, "acme", url).unwrap(), "{text}");
        let back = Config::load(&path).unwrap();
        assert_eq!(back.org("acme").unwrap().webhooks.len(), hooks.len() - 1);
    }
}

#[test]
fn add_webhook_refuses_bad_input_and_writes_nothing() {
    let (_dir, path) = setup(COMMENTED);
    let unknown = ["user.exploded".to_owned()];
    let none: &[String] = &[];
    for (org, url, events, message) in [
        (
            "acme",
            "ftp://x/",
            None,
            "orgs.Acme.webhooks[0].url: expected an http:// or https://",
        ),
        ("acme", "https://user@example.com/", None, "credentials"),
        (
            "acme",
            "https://x/",
            Some(&unknown[..]),
            "webhooks[0].events[0]: unknown event type",
        ),
        (
            "acme",
            "https://x/",
            Some(none),
            "omit events to receive every type",
        ),
        ("initech", "https://x/", None, "no org named `initech`"),
    ] {
        let err = add_webhook(&path, org, url, events).unwrap_err();
        assert!(err.to_string().contains(message), "{url}: {err}");
        if let ConfigError::Invalid { line_col, .. } = &err {
            // A position would point into text that was never written.
            assert_eq!(*line_col, None, "{err}");
            let prefix = format!("{}: orgs.Acme.webhooks[0].", path.display());
            assert!(err.to_string().starts_with(&prefix), "{err}");
        }
        assert_eq!(read(&path), COMMENTED, "{url}");
    }

    add_webhook(&path, "acme", "https://example.com/", None).unwrap();
    let before = read(&path);
    let err = add_webhook(&path, "acme", "https://EXAMPLE.com:443/", None).unwrap_err();
    let message = "orgs.Acme.webhooks[1].url: the same endpoint as orgs.Acme.webhooks[0]";
    assert!(err.to_string().contains(message), "{err}");
    assert_eq!(read(&path), before);
    for i in 1..MAX_WEBHOOKS_PER_ORG {
        add_webhook(&path, "acme", &format!("https://example.com/{i}"), None).unwrap();
    }
    let full = read(&path);
    let err = add_webhook(&path, "acme", "https://example.com/17", None).unwrap_err();
    let message = "orgs.Acme.webhooks[16]: an org has at most 16 webhooks";
    assert!(err.to_string().contains(message), "{err}");
    assert_eq!(read(&path), full);

    // A file broken elsewhere keeps the position of its own error.
    let (_dir, path) = setup("[orgs.acme]\nteam_name_max = 0\n");
    let err = add_webhook(&path, "acme", "https://example.com/", None).unwrap_err();
    assert!(
        err.to_string().contains(":2:17: orgs.acme.team_name_max"),
        "{err}"
    );
    let broken = "[orgs.acme]\nwebhooks = \"https://example.com/\"\n";
    let (_dir, path) = setup(broken);
    let err = add_webhook(&path, "acme", "https://example.com/", None).unwrap_err();
    assert!(
        err.to_string().contains(":2:12: orgs.acme.webhooks"),
        "{err}"
    );
    let err = remove_webhook(&path, "acme", "https://example.com/").unwrap_err();
    assert!(
        err.to_string().contains(":2:12: orgs.acme.webhooks"),
        "{err}"
    );
    assert_eq!(read(&path), broken);
}
