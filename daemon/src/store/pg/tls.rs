//! TLS to PostgreSQL with rustls: a `tokio_postgres` connector built from a URL's `sslmode`,
//! `sslrootcert`, `sslcert` and `sslkey` ([`super::PgTls`]).
//!
//! `verify-full` is rustls's own verification (chain and host name). `verify-ca` checks the
//! chain but not the name, for servers reached by an address their certificate does not name.
//! `prefer` and `require` encrypt without checking the certificate, as libpq does; they still
//! check the handshake's signatures, so the session is at least bound to the key presented.
//! Whether TLS is asked for at all, and falling back to plain under `prefer`, is
//! tokio-postgres's part (its `SslMode`).

use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::{PgTls, SslMode};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use sha2::Digest;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

use crate::store::error::{Result, StoreError};

/// The ALPN name PostgreSQL 17 defines; older servers ignore it.
const ALPN: &[u8] = b"postgresql";

/// Makes one [`RustlsConnect`] per connection, all sharing one client configuration.
#[derive(Clone)]
pub(super) struct MakeRustls {
    config: Arc<ClientConfig>,
}

impl MakeRustls {
    /// The connector for `tls`; reads the certificate files it names, so a missing or bad file
    /// stops the start rather than every connection.
    pub(super) fn new(tls: &PgTls) -> Result<MakeRustls> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let algs = provider.signature_verification_algorithms;
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::Db(format!("cannot set up TLS to PostgreSQL: {e}")))?;
        let builder = match tls.mode {
            SslMode::VerifyFull => builder.with_root_certificates(roots(tls)?),
            SslMode::VerifyCa => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Unnamed {
                    roots: Some(Arc::new(roots(tls)?)),
                    algs,
                })),
            SslMode::Disable | SslMode::Prefer | SslMode::Require => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Unnamed { roots: None, algs })),
        };
        let mut config = match &tls.client {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let chain = read_certs("sslcert", cert)?;
                let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                    StoreError::Db(format!("cannot read sslkey {}: {e}", key.display()))
                })?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    StoreError::Db(format!("sslcert and sslkey do not make a pair: {e}"))
                })?
            }
        };
        config.alpn_protocols = vec![ALPN.to_vec()];
        Ok(MakeRustls {
            config: Arc::new(config),
        })
    }
}

/// The roots `verify-ca` and `verify-full` trust: `sslrootcert`, else the system's.
fn roots(tls: &PgTls) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    let (added, from) = match &tls.root_cert {
        Some(path) => {
            let (added, _) = roots.add_parsable_certificates(read_certs("sslrootcert", path)?);
            (added, format!("sslrootcert {}", path.display()))
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for err in &found.errors {
                tracing::warn!(cause = %err, "cannot load a trusted root certificate");
            }
            let (added, _) = roots.add_parsable_certificates(found.certs);
            (added, "the system's trusted roots".to_owned())
        }
    };
    if added == 0 {
        return Err(StoreError::Db(format!(
            "sslmode={} needs a trusted root, and {from} holds none (set sslrootcert to the \
             server's CA file)",
            tls.mode
        )));
    }
    Ok(roots)
}

fn read_certs(param: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let err =
        |cause: String| StoreError::Db(format!("cannot read {param} {}: {cause}", path.display()));
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no CERTIFICATE block found".into()));
    }
    Ok(certs)
}

impl<S> MakeTlsConnect<S> for MakeRustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> io::Result<RustlsConnect> {
        let name = ServerName::try_from(domain.to_owned()).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("host {domain}: {e}"))
        })?;
        Ok(RustlsConnect {
            config: self.config.clone(),
            name,
        })
    }
}

/// The handshake of one connection to the host `name`.
pub(super) struct RustlsConnect {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        let connector = tokio_rustls::TlsConnector::from(self.config);
        Box::pin(async move { Ok(RustlsStream(connector.connect(self.name, stream).await?)) })
    }
}

/// A TLS session to PostgreSQL.
pub(super) struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for RustlsStream<S> {
    /// `tls-server-end-point` (RFC 5929), so SCRAM can bind the login to this session and a
    /// man in the middle cannot relay it.
    fn channel_binding(&self) -> ChannelBinding {
        let (_, session) = self.0.get_ref();
        session
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|cert| end_point(cert))
            .map_or_else(ChannelBinding::none, ChannelBinding::tls_server_end_point)
    }
}

/// The certificate's hash for `tls-server-end-point`: with its signature's hash, SHA-256 for
/// MD5 and SHA-1. None for an algorithm without a defined one (Ed25519, RSA-PSS), which
/// leaves SCRAM without channel binding rather than failing the login.
fn end_point(cert: &[u8]) -> Option<Vec<u8>> {
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm SEQUENCE { OID, .. }, .. }
    let (_, body) = der(cert, 0x30)?;
    let (rest, _) = der(body, 0x30)?;
    let (_, algorithm) = der(rest, 0x30)?;
    let (_, oid) = der(algorithm, 0x06)?;
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    const ECDSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04];
    let hash = match oid {
        // md5, sha1, sha256 with RSA; ecdsa-with-SHA1 and -SHA256.
        [r @ .., 4 | 5 | 11] if r == RSA => sha2::Sha256::digest(cert).to_vec(),
        [e @ .., 1] if e == ECDSA => sha2::Sha256::digest(cert).to_vec(),
        [e @ .., 3, 2] if e == ECDSA => sha2::Sha256::digest(cert).to_vec(),
        [r @ .., 12] if r == RSA => sha2::Sha384::digest(cert).to_vec(),
        [e @ .., 3, 3] if e == ECDSA => sha2::Sha384::digest(cert).to_vec(),
        [r @ .., 13] if r == RSA => sha2::Sha512::digest(cert).to_vec(),
        [e @ .., 3, 4] if e == ECDSA => sha2::Sha512::digest(cert).to_vec(),
        _ => return None,
    };
    Some(hash)
}

/// One DER element of type `tag` at the start of `input`: (what follows it, its contents).
fn der(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = input.split_first()?;
    if first != tag {
        return None;
    }
    let (&len, mut rest) = rest.split_first()?;
    let len = if len < 0x80 {
        usize::from(len)
    } else {
        let n = usize::from(len & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, after) = rest.split_at(n);
        rest = after;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    (rest.len() >= len).then(|| (&rest[len..], &rest[..len]))
}

/// The modes that do not check the host name: `verify-ca` (with `roots`: the chain must lead to
/// a trusted root), and `prefer` and `require` (without: any certificate). Either way the
/// handshake must be signed by the certificate's key.
#[derive(Debug)]
struct Unnamed {
    roots: Option<Arc<RootCertStore>>,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Unnamed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.algs.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_reads_short_and_long_lengths_and_refuses_truncation() {
        assert_eq!(
            der(&[0x30, 2, 1, 2, 9], 0x30),
            Some((&[9u8][..], &[1u8, 2][..]))
        );
        let mut long = vec![0x30, 0x81, 0x80];
        long.extend([7u8; 0x80]);
        assert_eq!(der(&long, 0x30).map(|(_, c)| c.len()), Some(0x80));
        assert_eq!(der(&[0x30, 5, 1], 0x30), None);
        assert_eq!(der(&[0x31, 0], 0x30), None);
    }

    /// A CA (its PEM file in `dir`) and a server configuration for `names` signed by it.
    fn server_for(dir: &Path, ca_name: &str, names: &[&str]) -> Arc<rustls::ServerConfig> {
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, ca_name);
        let ca_cert = ca.self_signed(&ca_key).expect("CA");
        std::fs::write(dir.join(format!("{ca_name}.pem")), ca_cert.pem()).expect("CA file");
        let key = rcgen::KeyPair::generate().expect("key");
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let leaf = rcgen::CertificateParams::new(names).expect("params");
        let issuer = rcgen::Issuer::from_params(&ca, &ca_key);
        let cert = leaf.signed_by(&key, &issuer).expect("leaf");
        let key = PrivateKeyDer::try_from(key.serialize_der()).expect("key der");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key)
            .expect("server config");
        Arc::new(config)
    }

    /// A real handshake over an in-memory pipe to `host`, with the client's settings `tls`:
    /// the client's refusal, or whether it has a channel binding hash for SCRAM.
    fn handshake(
        server: Arc<rustls::ServerConfig>,
        tls: &PgTls,
        host: &str,
    ) -> std::result::Result<bool, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut make = MakeRustls::new(tls).map_err(|e| e.to_string())?;
        rt.block_on(async move {
            let (client_io, server_io) = tokio::io::duplex(64 * 1024);
            let acceptor = tokio_rustls::TlsAcceptor::from(server);
            let served = tokio::spawn(async move { acceptor.accept(server_io).await });
            let connect =
                <MakeRustls as MakeTlsConnect<tokio::io::DuplexStream>>::make_tls_connect(
                    &mut make, host,
                )
                .map_err(|e| e.to_string())?;
            let stream = connect
                .connect(client_io)
                .await
                .map_err(|e| e.to_string())?;
            served
                .await
                .expect("server task")
                .map_err(|e| e.to_string())?;
            // What channel_binding hashes: the certificate the server presented.
            let (_, session) = stream.0.get_ref();
            let cert = session.peer_certificates().and_then(|c| c.first());
            Ok(cert.and_then(|c| end_point(c)).is_some())
        })
    }

    #[test]
    fn each_mode_checks_what_it_says_in_a_real_handshake() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = server_for(dir.path(), "ca", &["db.internal"]);
        let _other = server_for(dir.path(), "other", &["db.internal"]);
        let with = |mode: SslMode, root: Option<&str>| PgTls {
            mode,
            root_cert: root.map(|r| dir.path().join(format!("{r}.pem"))),
            client: None,
        };
        // verify-full: the right CA and the name in the certificate.
        assert_eq!(
            handshake(
                server.clone(),
                &with(SslMode::VerifyFull, Some("ca")),
                "db.internal"
            ),
            Ok(true)
        );
        let wrong_name = handshake(
            server.clone(),
            &with(SslMode::VerifyFull, Some("ca")),
            "db.other",
        );
        assert!(
            wrong_name
                .as_ref()
                .is_err_and(|e| e.contains("not valid for name")),
            "{wrong_name:?}"
        );
        // verify-ca: the name is not checked, the CA is.
        assert_eq!(
            handshake(
                server.clone(),
                &with(SslMode::VerifyCa, Some("ca")),
                "db.other"
            ),
            Ok(true)
        );
        for mode in [SslMode::VerifyCa, SslMode::VerifyFull] {
            let other = handshake(server.clone(), &with(mode, Some("other")), "db.internal");
            assert!(
                other.as_ref().is_err_and(|e| e.contains("UnknownIssuer")),
                "{mode}: {other:?}"
            );
        }
        // require and prefer: any certificate.
        for mode in [SslMode::Require, SslMode::Prefer] {
            assert_eq!(
                handshake(server.clone(), &with(mode, None), "db.other"),
                Ok(true)
            );
        }
    }

    #[test]
    fn the_end_point_hash_follows_the_signature_algorithm() {
        // rcgen signs with ECDSA P-256 and SHA-256 by default.
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["db".to_string()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        let der = cert.der().to_vec();
        assert_eq!(end_point(&der), Some(sha2::Sha256::digest(&der).to_vec()));
        let p384 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).expect("key");
        let cert = rcgen::CertificateParams::new(vec!["db".to_string()])
            .expect("params")
            .self_signed(&p384)
            .expect("cert");
        let der = cert.der().to_vec();
        assert_eq!(end_point(&der), Some(sha2::Sha384::digest(&der).to_vec()));
        let ed = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("key");
        let cert = rcgen::CertificateParams::new(vec!["db".to_string()])
            .expect("params")
            .self_signed(&ed)
            .expect("cert");
        assert_eq!(end_point(cert.der()), None);
    }

    #[test]
    fn a_missing_root_file_is_named_in_the_error() {
        let tls = PgTls {
            mode: SslMode::VerifyFull,
            root_cert: Some("/nonexistent/ca.pem".into()),
            client: None,
        };
        let err = MakeRustls::new(&tls).err().expect("refused").to_string();
        assert!(err.contains("sslrootcert /nonexistent/ca.pem"), "{err}");
    }
}
