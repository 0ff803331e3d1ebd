//! A PostgreSQL URL as the config reads it (`scimd_config::split_tls`: its TLS parameters as
//! libpq reads them), made into what the store connects with ([`PgTarget`]), so the store
//! itself knows no config.

use crate::store::{PgTarget, PgTls, SslMode, Store, StoreError};

/// What the store connects to `url` with; an error names what is wrong without quoting the
/// URL (it may hold a password).
pub fn target(url: &str) -> Result<PgTarget, StoreError> {
    let (url, tls) = scimd_config::split_tls(url)
        .map_err(|e| StoreError::Db(format!("invalid PostgreSQL url: {e}")))?;
    let mode = match tls.mode {
        scimd_config::SslMode::Disable => SslMode::Disable,
        scimd_config::SslMode::Prefer => SslMode::Prefer,
        scimd_config::SslMode::Require => SslMode::Require,
        scimd_config::SslMode::VerifyCa => SslMode::VerifyCa,
        scimd_config::SslMode::VerifyFull => SslMode::VerifyFull,
    };
    Ok(PgTarget {
        url,
        tls: PgTls {
            mode,
            root_cert: tls.root_cert,
            client: tls.client,
        },
    })
}

/// Connects the store to the PostgreSQL database at `url` ([`Store::open_postgres`]).
pub fn open(url: &str, pool_size: usize) -> Result<Store, StoreError> {
    Store::open_postgres(&target(url)?, pool_size)
}

/// Applies the migrations up to `upto` to the database at `url` ([`Store::migrate_postgres`]).
pub fn migrate(url: &str, upto: Option<i64>) -> Result<i64, StoreError> {
    Store::migrate_postgres(&target(url)?, upto)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_the_tls_reader_refuses_never_reaches_a_connection() {
        let err = match target("postgres://u:secret@h/db?sslmode=maybe") {
            Ok(_) => panic!("an unknown sslmode was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("sslmode: expected"), "{err}");
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn every_mode_and_file_reaches_the_store() {
        let t = target(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=/ca.pem&sslcert=/c.pem&sslkey=/k.pem",
        )
        .expect("a target");
        assert_eq!(t.tls.mode, SslMode::VerifyFull);
        assert_eq!(
            t.tls.root_cert.as_deref(),
            Some(std::path::Path::new("/ca.pem"))
        );
        assert!(t.tls.client.is_some());
        assert!(!t.url.contains("ssl"), "{}", t.url);
        // Without a root file: `require` with one is `verify-ca`, as in libpq.
        for mode in scimd_config::SslMode::ALL {
            let t = target(&format!("postgres://u@h/db?sslmode={mode}")).expect("a target");
            assert_eq!(t.tls.mode.to_string(), mode.name(), "{mode}");
        }
    }
}
