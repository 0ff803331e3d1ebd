//! The `[store]` table: which database backend the daemon runs on, and for Postgres, the URL and
//! the size of the connection pool.
//!
//! The URL may carry a password, so it never reaches a log line, an error message or a `{:?}`
//! as written: [`PostgresConfig::redacted_url`] is the form to show, and validation errors
//! describe a bad URL without quoting it. The URL may also come from the environment
//! ([`DATABASE_URL_ENV`]), which is where a password belongs.

use std::fmt;

use crate::error::ConfigError;
use crate::pg_tls::{split_tls, PgTls};
use crate::raw::RawStore;
use crate::span::{self, KeyPath};
use crate::validator::Validator;

/// Default for `store.pool_size`: connections to Postgres per daemon.
pub const DEFAULT_POOL_SIZE: usize = 16;
/// Upper bound for `store.pool_size`.
pub const MAX_POOL_SIZE: usize = 256;
/// The environment variable holding the Postgres URL when `store.url` is not in the file.
pub const DATABASE_URL_ENV: &str = "SCIMD_DATABASE_URL";

/// What a password (or a whole value that cannot be taken apart) is shown as.
const REDACTED: &str = "***";
/// Query parameters of a libpq URL whose value is a secret.
const SECRET_PARAMS: [&str; 2] = ["password", "sslpassword"];

/// `[store]`: where the daemon keeps its orgs' users, teams and activity log. Needs a restart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreConfig {
    /// The database backend; redb when `[store]` or `store.backend` is absent.
    pub backend: StoreBackend,
}

/// `store.backend`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StoreBackend {
    /// `"redb"`: an embedded database file in `data_dir`, for a single daemon.
    #[default]
    Redb,
    /// `"postgres"`: a Postgres server, which several daemons may share.
    Postgres(PostgresConfig),
}

impl StoreBackend {
    /// The name as written in the file: `"redb"` or `"postgres"`.
    pub fn name(&self) -> &'static str {
        match self {
            StoreBackend::Redb => "redb",
            StoreBackend::Postgres(_) => "postgres",
        }
    }
}

/// The Postgres settings of `[store]`.
///
/// `Debug` shows [`PostgresConfig::redacted_url`], never the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresConfig {
    /// `store.url`, or else [`DATABASE_URL_ENV`]: a `postgres://` or `postgresql://` URL,
    /// password included. Show [`PostgresConfig::redacted_url`] instead.
    pub url: String,
    /// `store.pool_size`: most connections this daemon opens, from 1 to [`MAX_POOL_SIZE`].
    pub pool_size: usize,
}

impl PostgresConfig {
    /// The URL with its password replaced by `***`, for logs and `check-config`:
    /// `postgres://scimd:***@db:5432/scimd`. A `password` or `sslpassword` query parameter is
    /// replaced too, and a value that is not a URL at all is replaced whole.
    pub fn redacted_url(&self) -> String {
        redact(&self.url)
    }

    /// The TLS settings the URL asks for (`sslmode` and the certificate files); the default
    /// (`prefer`) for a URL validation would refuse.
    pub fn tls(&self) -> PgTls {
        split_tls(&self.url).map(|(_, tls)| tls).unwrap_or_default()
    }
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &self.redacted_url())
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

/// Whether a Postgres URL carries a password: in its user info (`user:password@`, found the
/// way [`PostgresConfig::redacted_url`] finds it) or as a `password` or `sslpassword` query
/// parameter. A value that is not a URL may hold one anywhere, so it counts as carrying one.
pub fn url_has_password(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return !url.is_empty();
    };
    let in_userinfo = rest.rfind('@').is_some_and(|at| rest[..at].contains(':'));
    let in_query = rest.split_once('?').is_some_and(|(_, query)| {
        query.split('&').any(|param| {
            param.split_once('=').is_some_and(|(name, value)| {
                !value.is_empty() && SECRET_PARAMS.iter().any(|s| name.eq_ignore_ascii_case(s))
            })
        })
    });
    in_userinfo || in_query
}

/// `url` without its secrets; see [`PostgresConfig::redacted_url`].
///
/// Errs on the side of hiding too much: the password runs from the first `:` of the user info to
/// the *last* `@` of the URL, so a password with an unescaped `@`, `/` or `?` (which neither
/// libpq nor a URL parser reads as intended, but which an operator may well paste) is still
/// hidden whole. An `@` later in the URL (in a query parameter) hides more than needed.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        // A libpq `key=value` string or something else: no way to tell where a secret is.
        return REDACTED.to_owned();
    };
    let mut out = format!("{scheme}://");
    let tail = match rest.rfind('@') {
        Some(at) => {
            let (userinfo, tail) = rest.split_at(at);
            match userinfo.split_once(':') {
                Some((user, _password)) => {
                    out.push_str(user);
                    out.push(':');
                    out.push_str(REDACTED);
                }
                None => out.push_str(userinfo),
            }
            tail
        }
        None => rest,
    };
    let Some((before_query, query)) = tail.split_once('?') else {
        out.push_str(tail);
        return out;
    };
    out.push_str(before_query);
    out.push('?');
    let params: Vec<String> = query
        .split('&')
        .map(|param| match param.split_once('=') {
            Some((name, _)) if SECRET_PARAMS.iter().any(|s| name.eq_ignore_ascii_case(s)) => {
                format!("{name}={REDACTED}")
            }
            _ => param.to_owned(),
        })
        .collect();
    out.push_str(&params.join("&"));
    out
}

/// `url` when it is a usable Postgres URL, else what is wrong with it, without quoting it (it
/// may hold a password).
fn check_postgres_url(url: &str) -> Result<String, String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        // Also keeps the URL printable: redacted, it goes to logs and terminals.
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(
                "must not contain spaces or control characters (percent-encode them, e.g. %20)"
                    .to_owned(),
            );
        }
        // The TLS parameters are read now, so a bad `sslmode` stops the file from loading.
        return split_tls(url)
            .map(|_| url.to_owned())
            .map_err(|e| e.to_string());
    }
    // The scheme is safe to show; anything else in the value might be the password.
    let got = match url.split_once("://") {
        Some((scheme, _))
            if !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) =>
        {
            format!("got a {scheme}:// URL")
        }
        _ if url.is_empty() => "got an empty value".to_owned(),
        _ => "got a value that is not a URL (the key=value connection string form is not \
              supported)"
            .to_owned(),
    };
    Err(format!(
        "expected a postgres:// or postgresql:// URL such as \
         \"postgres://scimd@db.internal:5432/scimd\", {got}"
    ))
}

impl Validator<'_> {
    /// `[store]`. The URL comes from the file, else from the validator's value of
    /// [`DATABASE_URL_ENV`] (given to it, so tests need not touch the process environment);
    /// an empty value counts as unset.
    pub(crate) fn store(&self, raw: Option<RawStore>) -> Result<StoreConfig, ConfigError> {
        let Some(raw) = raw else {
            return Ok(StoreConfig::default());
        };
        let key = KeyPath::default().key("store");
        let backend_key = key.key("backend");
        let url_key = key.key("url");
        let pool_key = key.key("pool_size");

        let postgres = match raw.backend.as_deref() {
            None | Some("redb") => false,
            Some("postgres") => true,
            Some(other) => {
                return Err(self.invalid(
                    &backend_key,
                    format!("expected \"redb\" or \"postgres\", got {other:?}"),
                ))
            }
        };
        if !postgres {
            for (given, at) in [
                (raw.url.is_some(), &url_key),
                (raw.pool_size.is_some(), &pool_key),
            ] {
                if given {
                    return Err(self.invalid_name(
                        at,
                        "only for backend = \"postgres\"; the backend here is \"redb\", which \
                         keeps its database in data_dir",
                    ));
                }
            }
            return Ok(StoreConfig::default());
        }

        // Errors about a URL that is not in the file point at the line that asks for one.
        let at_backend = || span::value_span(&self.doc, &backend_key);
        let url = match (raw.url, self.database_url.filter(|v| !v.is_empty())) {
            (Some(url), _) => {
                check_postgres_url(&url).map_err(|message| self.invalid(&url_key, message))?
            }
            (None, Some(env)) => {
                let env = env.to_str().ok_or_else(|| {
                    self.error_at(
                        &url_key,
                        at_backend(),
                        format!("{DATABASE_URL_ENV} is not valid UTF-8"),
                    )
                })?;
                check_postgres_url(env).map_err(|message| {
                    self.error_at(
                        &url_key,
                        at_backend(),
                        format!("from {DATABASE_URL_ENV}: {message}"),
                    )
                })?
            }
            (None, None) => {
                return Err(self.error_at(
                    &url_key,
                    at_backend(),
                    format!(
                        "backend = \"postgres\" needs a database URL: set `url` in [store], or \
                         the {DATABASE_URL_ENV} environment variable (the better place for a \
                         password)"
                    ),
                ))
            }
        };
        let pool_size = match raw.pool_size {
            None => DEFAULT_POOL_SIZE,
            Some(n) => self.in_range(&pool_key, n, 1..=MAX_POOL_SIZE)?,
        };
        Ok(StoreConfig {
            backend: StoreBackend::Postgres(PostgresConfig { url, pool_size }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_found_where_redaction_would_hide_it() {
        for (url, has) in [
            ("postgres://scimd:secret@db:5432/scimd", true),
            ("postgres://scimd:p@ss/w?rd@db/scimd", true),
            ("postgres://scimd@db/scimd", false),
            ("postgres://db/scimd?sslmode=require", false),
            ("postgresql://u@h/db?sslmode=require&PassWord=x", true),
            ("postgresql://u@h/db?password=", false),
            ("host=db password=x", true),
        ] {
            assert_eq!(url_has_password(url), has, "{url}");
        }
    }

    #[test]
    fn redaction_hides_every_form_of_password() {
        let rows = [
            ("postgres://u:secret@h/db", "postgres://u:***@h/db"),
            (
                "postgres://scimd@db.internal:5432/scimd",
                "postgres://scimd@db.internal:5432/scimd",
            ),
            ("postgresql://h/db", "postgresql://h/db"),
            ("postgres://u:@h/db", "postgres://u:***@h/db"),
            // Unescaped `@` and `/` in the password: still hidden whole.
            (
                "postgres://u:se@c/r?et@h:5432/db",
                "postgres://u:***@h:5432/db",
            ),
            (
                "postgresql://u@h/db?sslmode=require&password=secret&PassWord=x",
                "postgresql://u@h/db?sslmode=require&password=***&PassWord=***",
            ),
            (
                "postgres://h/db?sslpassword=secret",
                "postgres://h/db?sslpassword=***",
            ),
            ("host=h password=secret", "***"),
        ];
        for (url, shown) in rows {
            assert_eq!(redact(url), shown, "{url}");
        }
    }

    #[test]
    fn url_errors_never_quote_the_value() {
        for url in [
            "mysql://u:secret@h/db",
            "host=h password=secret",
            "postgres://u:sec ret@h",
            "",
            "u:secret@h://",
        ] {
            let message = check_postgres_url(url).unwrap_err();
            assert!(!message.contains("secret"), "{message}");
        }
        assert!(check_postgres_url("mysql://h")
            .unwrap_err()
            .ends_with("got a mysql:// URL"));
    }

    #[test]
    fn the_tls_parameters_are_accepted_and_an_unknown_mode_refused() {
        let url = "postgres://u:secret@h/db?sslmode=verify-full&sslrootcert=/ca.pem\
                   &sslcert=/c.pem&sslkey=/k.pem";
        assert_eq!(check_postgres_url(url).as_deref(), Ok(url));
        let config = PostgresConfig {
            url: url.to_owned(),
            pool_size: 2,
        };
        assert_eq!(config.tls().mode, crate::SslMode::VerifyFull);
        let message = check_postgres_url("postgres://u:secret@h/db?sslmode=on").unwrap_err();
        assert!(message.starts_with("sslmode: "), "{message}");
        assert!(!message.contains("secret"), "{message}");
    }
}
