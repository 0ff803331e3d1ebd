//! The TLS parameters of a PostgreSQL URL, read as libpq reads them: `sslmode`, `sslrootcert`,
//! `sslcert` and `sslkey`.
//!
//! tokio-postgres's own URL parser knows three of the five modes and none of the files, and
//! refuses a parameter it does not know. So [`split_tls`] takes these four out of the URL, and
//! what is left goes to tokio-postgres unchanged. The config validates a URL with it (so a bad
//! `sslmode` is refused when the file is loaded) and the daemon connects with its result.

use std::fmt;
use std::path::PathBuf;

/// The URL query parameters this module takes out of a URL.
const TLS_PARAMS: [&str; 4] = ["sslmode", "sslrootcert", "sslcert", "sslkey"];

/// `sslmode`: whether and how a connection to PostgreSQL uses TLS. Absent, it is `prefer`, as
/// with libpq.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SslMode {
    /// `disable`: never TLS.
    Disable,
    /// `prefer`: TLS when the server offers it, plain otherwise; the certificate is not
    /// verified.
    #[default]
    Prefer,
    /// `require`: TLS or no connection; the certificate is not verified.
    Require,
    /// `verify-ca`: TLS, with a certificate signed by a trusted root, for any host name.
    VerifyCa,
    /// `verify-full`: TLS, with a certificate signed by a trusted root and naming the host.
    VerifyFull,
}

impl SslMode {
    /// Every mode, in the order libpq documents them.
    pub const ALL: [SslMode; 5] = [
        SslMode::Disable,
        SslMode::Prefer,
        SslMode::Require,
        SslMode::VerifyCa,
        SslMode::VerifyFull,
    ];

    /// The name as written in a URL: `verify-full`.
    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// Whether the server's certificate is checked against trusted roots.
    pub fn verifies(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The TLS settings of a PostgreSQL URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PgTls {
    /// `sslmode`. `require` with an `sslrootcert` file is `verify-ca` here, as in libpq.
    pub mode: SslMode,
    /// `sslrootcert`: a PEM file of the roots to trust; None for the system's roots (also what
    /// libpq's `sslrootcert=system` asks for).
    pub root_cert: Option<PathBuf>,
    /// `sslcert` and `sslkey`: a client certificate chain and its key, both PEM files.
    pub client: Option<(PathBuf, PathBuf)>,
}

/// Why the TLS parameters of a URL cannot be used. The messages name the parameter and never
/// quote the URL, which may hold a password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PgTlsError {
    /// `sslmode` is not one of the five modes.
    #[error(
        "sslmode: expected disable, prefer, require, verify-ca or verify-full, got {0} \
         (allow is not supported)"
    )]
    UnknownMode(String),
    /// `sslcert` without `sslkey`, or the other way round.
    #[error("{0}: a client certificate needs both sslcert and sslkey")]
    HalfPair(&'static str),
    /// A parameter's value is empty or not valid percent-encoding.
    #[error("{0}: expected a non-empty, percent-encoded value")]
    BadValue(&'static str),
    /// Not a `postgres://` URL: the key=value form is not read here.
    #[error("expected a postgres:// or postgresql:// URL (the key=value connection string form is not supported)")]
    NotAUrl,
}

/// Splits `url` into the URL tokio-postgres is given (without the TLS parameters) and the TLS
/// settings. A parameter given twice takes its last value, as in libpq.
pub fn split_tls(url: &str) -> Result<(String, PgTls), PgTlsError> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(PgTlsError::NotAUrl);
    }
    // The query starts after the user info, whose password may hold an unescaped `?`: the
    // last `@` ends it, as redaction reads it.
    let after_userinfo = url.rfind('@').map_or(0, |at| at + 1);
    let Some(q) = url[after_userinfo..].find('?').map(|q| after_userinfo + q) else {
        return Ok((url.to_owned(), PgTls::default()));
    };
    let (mut mode, mut root, mut cert, mut key) = (None, None, None, None);
    let mut kept = Vec::new();
    for param in url[q + 1..].split('&') {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        let Some(&name) = TLS_PARAMS.iter().find(|p| **p == name) else {
            kept.push(param);
            continue;
        };
        let value = decode(value)
            .filter(|v| !v.is_empty())
            .ok_or(PgTlsError::BadValue(name))?;
        match name {
            "sslmode" => mode = Some(parse_mode(&value)?),
            "sslrootcert" => root = Some(value),
            "sslcert" => cert = Some(PathBuf::from(value)),
            _ => key = Some(PathBuf::from(value)),
        }
    }
    let client = match (cert, key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        (Some(_), None) => return Err(PgTlsError::HalfPair("sslcert")),
        (None, Some(_)) => return Err(PgTlsError::HalfPair("sslkey")),
    };
    // libpq's `system` is the default roots, which is what no file means here.
    let root_cert = root.filter(|r| r != "system").map(PathBuf::from);
    let mode = match mode.unwrap_or_default() {
        // libpq keeps `require` with a root file verifying the chain, for compatibility.
        SslMode::Require if root_cert.is_some() => SslMode::VerifyCa,
        other => other,
    };
    let mut stripped = url[..q].to_owned();
    if !kept.is_empty() {
        stripped.push('?');
        stripped.push_str(&kept.join("&"));
    }
    Ok((
        stripped,
        PgTls {
            mode,
            root_cert,
            client,
        },
    ))
}

fn parse_mode(value: &str) -> Result<SslMode, PgTlsError> {
    if let Some(mode) = SslMode::ALL.into_iter().find(|m| m.name() == value) {
        return Ok(mode);
    }
    // A mistyped mode is shown; anything else might be a pasted secret and is not.
    let shown = if value.len() <= 24
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        format!("{value:?}")
    } else {
        "a value that is not a mode".to_owned()
    };
    Err(PgTlsError::UnknownMode(shown))
}

/// `%XX` decoding as tokio-postgres does it (`+` stays a plus); None for a bad escape or a
/// result that is not UTF-8.
fn decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(url: &str) -> PgTls {
        split_tls(url).unwrap().1
    }

    #[test]
    fn every_mode_is_read_and_prefer_is_the_default() {
        for mode in SslMode::ALL {
            let url = format!("postgres://u@h/db?sslmode={}", mode.name());
            assert_eq!(tls(&url).mode, mode, "{url}");
        }
        assert_eq!(tls("postgres://u@h/db").mode, SslMode::Prefer);
        assert_eq!(
            tls("postgresql://h/db?application_name=x").mode,
            SslMode::Prefer
        );
    }

    #[test]
    fn the_tls_parameters_are_taken_out_and_the_others_kept() {
        let (url, got) = split_tls(
            "postgres://u:p%40ss@db.internal:5432/scimd?sslmode=verify-full&connect_timeout=3\
             &sslrootcert=/etc/ssl/ca%20bundle.pem&sslcert=/c.pem&sslkey=/k.pem&options=-c%20x",
        )
        .unwrap();
        assert_eq!(
            url,
            "postgres://u:p%40ss@db.internal:5432/scimd?connect_timeout=3&options=-c%20x"
        );
        assert_eq!(got.mode, SslMode::VerifyFull);
        assert_eq!(got.root_cert, Some(PathBuf::from("/etc/ssl/ca bundle.pem")));
        assert_eq!(
            got.client,
            Some((PathBuf::from("/c.pem"), PathBuf::from("/k.pem")))
        );
        let (url, _) = split_tls("postgres://h/db?sslmode=disable").unwrap();
        assert_eq!(url, "postgres://h/db");
        // A `?` in an unescaped password is not the query.
        let (url, got) = split_tls("postgres://u:a?b@h/db?sslmode=require").unwrap();
        assert_eq!(url, "postgres://u:a?b@h/db");
        assert_eq!(got.mode, SslMode::Require);
    }

    #[test]
    fn require_with_a_root_file_verifies_the_ca_as_libpq_does() {
        assert_eq!(
            tls("postgres://h/db?sslmode=require&sslrootcert=/ca.pem").mode,
            SslMode::VerifyCa
        );
        let system = tls("postgres://h/db?sslmode=require&sslrootcert=system");
        assert_eq!((system.mode, system.root_cert), (SslMode::Require, None));
    }

    #[test]
    fn an_unknown_mode_or_half_a_client_pair_is_refused_without_quoting_the_url() {
        let err = split_tls("postgres://u:secret@h/db?sslmode=verify_all").unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("sslmode: expected"), "{message}");
        assert!(message.contains("\"verify_all\""), "{message}");
        assert!(!message.contains("secret"), "{message}");
        let pasted = split_tls("postgres://h/db?sslmode=secret%20secret").unwrap_err();
        assert!(!pasted.to_string().contains("secret"), "{pasted}");
        for url in [
            "postgres://h/db?sslmode=allow",
            "postgres://h/db?sslmode=",
            "postgres://h/db?sslmode=%zz",
        ] {
            assert!(split_tls(url).is_err(), "{url}");
        }
        assert_eq!(
            split_tls("postgres://h/db?sslcert=/c.pem"),
            Err(PgTlsError::HalfPair("sslcert"))
        );
        assert_eq!(
            split_tls("postgres://h/db?sslkey=/k.pem"),
            Err(PgTlsError::HalfPair("sslkey"))
        );
        assert_eq!(
            split_tls("host=h password=secret sslmode=require"),
            Err(PgTlsError::NotAUrl)
        );
    }
}
