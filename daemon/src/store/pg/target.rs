//! What the store connects to PostgreSQL with: the URL without its TLS parameters, and the
//! TLS settings. The caller reads both from the configured URL (as libpq reads `sslmode`,
//! `sslrootcert`, `sslcert` and `sslkey`: `crate::pg_url`), so the store knows no config.

use std::fmt;
use std::path::PathBuf;

/// Where and how to reach the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgTarget {
    /// A `postgres://` URL for tokio-postgres, without the TLS parameters.
    pub url: String,
    pub tls: PgTls,
}

/// The TLS settings of a connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PgTls {
    pub mode: SslMode,
    /// A PEM file of the roots to trust; None for the system's roots.
    pub root_cert: Option<PathBuf>,
    /// A client certificate chain and its key, both PEM files.
    pub client: Option<(PathBuf, PathBuf)>,
}

/// Whether and how a connection uses TLS, as libpq's `sslmode` names it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SslMode {
    /// Never TLS.
    Disable,
    /// TLS when the server offers it; the certificate is not verified.
    #[default]
    Prefer,
    /// TLS or no connection; the certificate is not verified.
    Require,
    /// TLS, with a certificate signed by a trusted root, for any host name.
    VerifyCa,
    /// TLS, with a certificate signed by a trusted root and naming the host.
    VerifyFull,
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        })
    }
}
