//! The `[store]` table: defaults, the Postgres URL from the file or `SCIMD_DATABASE_URL`, every
//! error naming its key and line, the password kept out of `Debug` and logs, and a changed store
//! reported as needing a restart.
//!
//! The environment variable is passed to the validator directly, never set on the process, so
//! these tests neither race each other nor depend on the shell they run in.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::{
    Config, ConfigError, PostgresConfig, StoreBackend, StoreConfig, DEFAULT_POOL_SIZE,
    MAX_POOL_SIZE,
};

const PATH: &str = "/etc/scimd/scimd.toml";
const ENV_URL: &str = "postgres://scimd:from-env@db.internal:5432/scimd";

fn parse_env(text: &str, env: Option<&str>) -> Result<Config, ConfigError> {
    Config::from_toml_str_env(text, Path::new(PATH), env.map(OsStr::new))
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    parse_env(text, None)
}

fn postgres(config: &Config) -> &PostgresConfig {
    match &config.store.backend {
        StoreBackend::Postgres(postgres) => postgres,
        other => panic!("expected postgres, got {other:?}"),
    }
}

#[test]
fn redb_is_the_default() {
    for text in [
        "",
        "[store]\n",
        "[store]\nbackend = \"redb\"\n",
        "store = {}\n",
    ] {
        for env in [None, Some(ENV_URL)] {
            let config = parse_env(text, env).unwrap();
            assert_eq!(config.store, StoreConfig::default(), "{text:?} {env:?}");
            assert_eq!(config.store.backend, StoreBackend::Redb);
            assert_eq!(config.store.backend.name(), "redb");
        }
    }
    assert_eq!(DEFAULT_POOL_SIZE, 16);
    assert_eq!(MAX_POOL_SIZE, 256);
}

#[test]
fn postgres_with_url_in_the_file() {
    let text = "data_dir = \"data\"\n[store]\nbackend = \"postgres\"\n\
                url = \"postgres://scimd@db.internal:5432/scimd\"\n";
    // The file's URL wins over the environment.
    for env in [None, Some(ENV_URL)] {
        let config = parse_env(text, env).unwrap();
        let pg = postgres(&config);
        assert_eq!(pg.url, "postgres://scimd@db.internal:5432/scimd");
        assert_eq!(pg.pool_size, DEFAULT_POOL_SIZE);
        assert_eq!(config.store.backend.name(), "postgres");
    }

    let config = parse(
        "store = { backend = \"postgres\", url = \"postgresql://h/db?sslmode=require\", \
         pool_size = 256 }\n",
    )
    .unwrap();
    let pg = postgres(&config);
    assert_eq!(pg.url, "postgresql://h/db?sslmode=require");
    assert_eq!(pg.pool_size, 256);
    assert_eq!(
        postgres(
            &parse("[store]\nbackend = \"postgres\"\nurl = \"postgres://h\"\npool_size = 1\n")
                .unwrap()
        )
        .pool_size,
        1
    );
}

#[test]
fn url_falls_back_to_the_environment() {
    let config = parse_env(
        "[store]\nbackend = \"postgres\"\npool_size = 4\n",
        Some(ENV_URL),
    )
    .unwrap();
    let pg = postgres(&config);
    assert_eq!(pg.url, ENV_URL);
    assert_eq!(pg.pool_size, 4);
}

#[test]
fn missing_url_names_store_url_and_both_ways_to_set_it() {
    // An empty variable (`SCIMD_DATABASE_URL=` in a compose file) counts as unset.
    for env in [None, Some("")] {
        let err = parse_env("[store]\nbackend = \"postgres\"\n", env).unwrap_err();
        match &err {
            ConfigError::Invalid { key, line_col, .. } => {
                assert_eq!(key, "store.url");
                assert_eq!(
                    *line_col,
                    Some((2, 11)),
                    "points at the backend asking for it"
                );
            }
            other => panic!("{other:?}"),
        }
        let shown = err.to_string();
        assert!(
            shown.starts_with("/etc/scimd/scimd.toml:2:11: store.url: "),
            "{shown}"
        );
        assert!(
            shown.contains("set `url` in [store], or the SCIMD_DATABASE_URL environment variable"),
            "{shown}"
        );
    }
}

#[test]
fn environment_url_is_checked_too() {
    let err = parse_env(
        "[store]\nbackend = \"postgres\"\n",
        Some("mysql://u:secret@h/db"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("/etc/scimd/scimd.toml:2:11: store.url: from SCIMD_DATABASE_URL: "),
        "{err}"
    );
    assert!(err.contains("got a mysql:// URL"), "{err}");
    assert!(!err.contains("secret"), "{err}");

    let not_utf8 = OsStr::from_bytes(b"postgres://u:\xff@h/db");
    let err = Config::from_toml_str_env(
        "[store]\nbackend = \"postgres\"\n",
        Path::new(PATH),
        Some(not_utf8),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.ends_with("store.url: SCIMD_DATABASE_URL is not valid UTF-8"),
        "{err}"
    );
}

/// Each row: the file, then the exact start of the one-line message (location and key), then a
/// fragment of the explanation. None may quote the URL, which may hold a password.
#[test]
fn err_rows() {
    let rows: &[(&str, &str, &str, &str)] = &[
        (
            "bad scheme",
            "[store]\nbackend = \"postgres\"\nurl = \"mysql://scimd:secret@db/scimd\"\n",
            "/etc/scimd/scimd.toml:3:7: store.url: ",
            "expected a postgres:// or postgresql:// URL",
        ),
        (
            "http scheme",
            "[store]\nbackend = \"postgres\"\nurl = \"https://db/scimd\"\n",
            "/etc/scimd/scimd.toml:3:7: store.url: ",
            "got a https:// URL",
        ),
        (
            "key=value connection string",
            "[store]\nbackend = \"postgres\"\nurl = \"host=db password=secret\"\n",
            "/etc/scimd/scimd.toml:3:7: store.url: ",
            "key=value connection string form is not supported",
        ),
        (
            "scheme in capitals",
            "[store]\nbackend = \"postgres\"\nurl = \"POSTGRES://db/scimd\"\n",
            "/etc/scimd/scimd.toml:3:7: store.url: ",
            "got a POSTGRES:// URL",
        ),
        (
            "empty url",
            "[store]\nbackend = \"postgres\"\nurl = \"\"\n",
            "/etc/scimd/scimd.toml:3:7: store.url: ",
            "got an empty value",
        ),
        (
            "space in url",
            "[store]\nbackend = \"postgres\"\nurl = \"postgres://u:se cret@db/scimd\"\n",
            "/etc/scimd/scimd.toml:3:7: store.url: ",
            "must not contain spaces",
        ),
        (
            "unknown sslmode",
            "[store]\nbackend = \"postgres\"\nurl = \"postgres://u:secret@db/scimd?sslmode=verify\"\n",
            "/etc/scimd/scimd.toml:3:7: store.url: ",
            "sslmode: expected disable, prefer, require, verify-ca or verify-full, got \"verify\"",
        ),
        (
            "client certificate without its key",
            "[store]\nbackend = \"postgres\"\nurl = \"postgres://u:secret@db/scimd?sslcert=/c.pem\"\n",
            "/etc/scimd/scimd.toml:3:7: store.url: ",
            "sslcert: a client certificate needs both sslcert and sslkey",
        ),
        (
            "url with the default backend",
            "[store]\nurl = \"postgres://u:secret@db/scimd\"\n",
            "/etc/scimd/scimd.toml:2:1: store.url: ",
            "only for backend = \"postgres\"",
        ),
        (
            "url with backend redb",
            "[store]\nbackend = \"redb\"\nurl = \"postgres://db/scimd\"\n",
            "/etc/scimd/scimd.toml:3:1: store.url: ",
            "only for backend = \"postgres\"",
        ),
        (
            "pool_size with redb",
            "store = { backend = \"redb\", pool_size = 4 }\n",
            "/etc/scimd/scimd.toml:1:29: store.pool_size: ",
            "only for backend = \"postgres\"",
        ),
        (
            "pool_size zero",
            "[store]\nbackend = \"postgres\"\nurl = \"postgres://db\"\npool_size = 0\n",
            "/etc/scimd/scimd.toml:4:13: store.pool_size: ",
            "expected a number from 1 to 256, got 0",
        ),
        (
            "pool_size too big",
            "[store]\nbackend = \"postgres\"\nurl = \"postgres://db\"\npool_size = 257\n",
            "/etc/scimd/scimd.toml:4:13: store.pool_size: ",
            "expected a number from 1 to 256, got 257",
        ),
        (
            "pool_size negative",
            "store.backend = \"postgres\"\nstore.url = \"postgres://db\"\nstore.pool_size = -1\n",
            "/etc/scimd/scimd.toml:3:19: store.pool_size: ",
            "got -1",
        ),
        (
            "pool_size as a string",
            "[store]\nbackend = \"postgres\"\nurl = \"postgres://db\"\npool_size = \"16\"\n",
            "/etc/scimd/scimd.toml:4:13: store.pool_size: ",
            "expected i64",
        ),
        (
            "unknown backend",
            "[store]\nbackend = \"sqlite\"\n",
            "/etc/scimd/scimd.toml:2:11: store.backend: ",
            "expected \"redb\" or \"postgres\", got \"sqlite\"",
        ),
        (
            "backend in capitals",
            "[store]\nbackend = \"Postgres\"\n",
            "/etc/scimd/scimd.toml:2:11: store.backend: ",
            "expected \"redb\" or \"postgres\"",
        ),
        (
            "unknown store key",
            "[store]\nbackend = \"postgres\"\npassword = \"secret\"\n",
            "/etc/scimd/scimd.toml:3:1: store.password: ",
            "unknown field `password`",
        ),
        (
            "store as a string",
            "store = \"postgres\"\n",
            "/etc/scimd/scimd.toml:1:9: store: ",
            "expected a [store] table",
        ),
    ];
    for (name, text, start, fragment) in rows {
        // With the variable set as well: it never hides an error in the file.
        for env in [None, Some(ENV_URL)] {
            let err = match parse_env(text, env) {
                Ok(_) => panic!("{name}: accepted\n{text}"),
                Err(e) => e.to_string(),
            };
            assert!(
                err.starts_with(start),
                "{name}: {err:?} should start with {start:?}"
            );
            assert!(
                err.contains(fragment),
                "{name}: {err:?} should contain {fragment:?}"
            );
            assert!(!err.contains("secret"), "{name}: leaks the password: {err}");
            assert!(
                !err.chars().any(char::is_control),
                "{name}: one printable line: {err:?}"
            );
        }
    }
}

#[test]
fn redacted_url_hides_the_password() {
    let pg = |url: &str| PostgresConfig {
        url: url.to_owned(),
        pool_size: DEFAULT_POOL_SIZE,
    };
    assert_eq!(
        pg("postgres://u:secret@h/db").redacted_url(),
        "postgres://u:***@h/db"
    );
    assert_eq!(
        pg("postgres://scimd:secret@db:5432/scimd").redacted_url(),
        "postgres://scimd:***@db:5432/scimd"
    );
    for plain in [
        "postgres://scimd@db.internal:5432/scimd",
        "postgresql://db/scimd?sslmode=require",
        "postgres://db",
    ] {
        assert_eq!(pg(plain).redacted_url(), plain, "nothing to hide");
    }
}

#[test]
fn debug_never_shows_the_password() {
    let config = parse(
        "[store]\nbackend = \"postgres\"\nurl = \"postgres://u:secret@h/db?password=secret2\"\n",
    )
    .unwrap();
    let pg = postgres(&config);
    assert_eq!(
        pg.url, "postgres://u:secret@h/db?password=secret2",
        "kept for connecting"
    );
    for shown in [format!("{pg:?}"), format!("{pg:#?}"), format!("{config:?}")] {
        assert!(!shown.contains("secret"), "{shown}");
        assert!(
            shown.contains("postgres://u:***@h/db?password=***"),
            "{shown}"
        );
    }
    assert!(format!("{pg:?}").contains("pool_size: 16"));
}

#[test]
fn a_changed_store_needs_a_restart() {
    let redb = parse("").unwrap();
    let pg = parse("[store]\nbackend = \"postgres\"\nurl = \"postgres://db/scimd\"\n").unwrap();
    let rows = [
        (&redb, &pg),
        (&pg, &redb),
        (
            &pg,
            &parse(
                "[store]\nbackend = \"postgres\"\nurl = \"postgres://db/scimd\"\npool_size = 32\n",
            )
            .unwrap(),
        ),
        (
            &pg,
            &parse("[store]\nbackend = \"postgres\"\nurl = \"postgres://other/scimd\"\n").unwrap(),
        ),
        // The same file with a new SCIMD_DATABASE_URL: a new database all the same.
        (
            &parse_env("[store]\nbackend = \"postgres\"\n", Some(ENV_URL)).unwrap(),
            &parse_env(
                "[store]\nbackend = \"postgres\"\n",
                Some("postgres://scimd:new@db.internal:5432/scimd"),
            )
            .unwrap(),
        ),
    ];
    for (old, new) in rows {
        let diff = old.diff(new);
        assert_eq!(
            diff.restart_needed,
            ["store"],
            "{:?} -> {:?}",
            old.store,
            new.store
        );
        assert!(diff.settings_changed.is_empty(), "{diff:?}");
        assert!(!diff.is_empty());
    }
    // Spelling out the defaults changes nothing.
    assert!(redb
        .diff(&parse("[store]\nbackend = \"redb\"\n").unwrap())
        .is_empty());
    assert!(pg
        .diff(
            &parse(
                "[store]\nbackend = \"postgres\"\nurl = \"postgres://db/scimd\"\npool_size = 16\n"
            )
            .unwrap()
        )
        .is_empty());
}
