//! The property test of the hand-written webhook URL parser: any text given as a webhook's
//! `url` parses to an endpoint the daemon can connect to, or fails at that key; never a panic.

mod common;

use std::path::Path;

use common::{basic_string, check_any, PATH};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;
use scimd_config::{Config, ConfigError};

proptest! {
    /// The webhook URL parser is written by hand and slices strings: any text must come back
    /// as an endpoint the daemon can connect to, or as an error pointing at the url.
    #[test]
    fn webhook_urls_never_panic(url in webhook_url()) {
        let text = format!(
            "[orgs.acme]\n[[orgs.acme.webhooks]]\nurl = {}\nsecret = {:?}\n",
            basic_string(&url),
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        );
        check_any(&text)?;
        match Config::from_toml_str(&text, Path::new(PATH)) {
            Ok(config) => {
                let hook = &config.orgs["acme"].webhooks[0];
                prop_assert!(!hook.host().is_empty() && hook.port() != 0, "{:?}", hook);
                prop_assert!(hook.path_and_query().starts_with('/'), "{:?}", hook);
                prop_assert!(!url.contains(['#', ' ']), "{:?}", url);
                // `@` may sit in the path or query, never in the authority.
                let rest = url.split_once("://").map_or("", |(_, rest)| rest);
                let authority = rest.split(['/', '?']).next().unwrap_or_default();
                prop_assert!(!authority.contains('@'), "{:?}", url);
            }
            Err(ConfigError::Invalid { key, .. }) => {
                prop_assert_eq!(key, "orgs.acme.webhooks[0].url");
            }
            Err(other) => return Err(TestCaseError::fail(format!("{other}"))),
        }
    }
}

/// URL-shaped text: a scheme, then host and port pieces and path characters, URL parsers'
/// usual trouble spots (brackets, colons, `@`, `%`, `\\`) overrepresented.
fn webhook_url() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => any::<String>(),
        4 => (
            select(&["http://", "https://", "HTTPS://", "ftp://", "http:/", ""][..]),
            "(\\[[0-9a-fA-F:.%]{0,12}\\]?|[a-zA-Z0-9._-]{0,12})",
            "(:[0-9+]{0,6})?",
            "[a-zA-Z0-9/?&=%#@:\\[\\]\\\\.-]{0,12}",
        )
            .prop_map(|(scheme, host, port, rest)| format!("{scheme}{host}{port}{rest}")),
    ]
}
