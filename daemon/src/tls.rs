//! TLS with rustls (no OpenSSL): loads the PEM certificate chain and key named by `[tls]`, and
//! swaps them for new connections when the config changes, without a restart.

use std::path::Path;
use std::sync::{Arc, RwLock};

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use scimd_config::TlsConfig;

/// Why a certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the certificate chain {path}: {cause}")]
    Cert { path: String, cause: String },
    #[error("cannot read the private key {path}: {cause}")]
    Key { path: String, cause: String },
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// Builds a server configuration from PEM files.
pub fn load(tls: &TlsConfig) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = read_certs(&tls.cert)?;
    let key = PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| TlsError::Key {
        path: tls.key.display().to_string(),
        cause: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let err = |cause: String| TlsError::Cert {
        path: path.display().to_string(),
        cause,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no CERTIFICATE block found".into()));
    }
    Ok(certs)
}

/// The configuration new connections use; replaced whole on reload, so a handshake sees
/// either the old pair or the new one.
pub struct Current {
    config: RwLock<Arc<ServerConfig>>,
}

impl Current {
    /// Wraps a loaded configuration.
    pub fn new(config: Arc<ServerConfig>) -> Current {
        Current {
            config: RwLock::new(config),
        }
    }
    /// The configuration for the next handshake.
    pub fn get(&self) -> Arc<ServerConfig> {
        match self.config.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
    /// Installs a new configuration for later connections.
    pub fn set(&self, config: Arc<ServerConfig>) {
        match self.config.write() {
            Ok(mut c) => *c = config,
            Err(poisoned) => *poisoned.into_inner() = config,
        }
    }
}
