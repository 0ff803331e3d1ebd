//! HTTPS: `[tls]` serves with rustls, a client that trusts the self-signed certificate gets
//! through, and a new certificate named in the config is used for new connections.

use std::sync::Arc;
use std::time::Duration;

use crate::harness::{eventually, write_config, Daemon};

/// A self-signed certificate for 127.0.0.1 / localhost: (cert PEM, key PEM).
fn self_signed() -> (String, String) {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(names).expect("params");
    let cert = params.self_signed(&key).expect("self-signed");
    (cert.pem(), key.serialize_pem())
}

/// An agent that trusts exactly `cert_pem`.
fn agent_trusting(cert_pem: &str) -> ureq::Agent {
    let mut roots = rustls::RootCertStore::empty();
    let der = rustls::pki_types::CertificateDer::from_pem_slice(cert_pem.as_bytes());
    roots.add(der.expect("parse cert")).expect("add root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_root_certificates(roots)
        .with_no_client_auth();
    ureq::AgentBuilder::new()
        .tls_config(Arc::new(config))
        .timeout(Duration::from_secs(10))
        .build()
}

use rustls::pki_types::pem::PemObject;

#[test]
fn serves_https_and_picks_up_a_new_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, tokens) = write_config(dir.path(), &["acme"]);
    let (cert1, key1) = self_signed();
    std::fs::write(dir.path().join("cert1.pem"), &cert1).expect("write");
    std::fs::write(dir.path().join("key1.pem"), &key1).expect("write");
    let text = std::fs::read_to_string(&config).expect("read");
    let with_tls = |n: u32| {
        text.replacen(
            "data_dir = \"data\"\n",
            &format!("data_dir = \"data\"\n[tls]\ncert = \"cert{n}.pem\"\nkey = \"key{n}.pem\"\n"),
            1,
        )
    };
    std::fs::write(&config, with_tls(1)).expect("write");

    let d = Daemon::start_in(dir, config.clone(), tokens);
    assert!(d.origin.starts_with("https://127.0.0.1:"), "{}", d.origin);
    let url = format!(
        "{}/scim/v2/acme/Users",
        d.origin.replace("127.0.0.1", "localhost")
    );
    let auth = format!("Bearer {}", d.tokens["acme"]);

    let one = agent_trusting(&cert1);
    let resp = one
        .get(&url)
        .set("Authorization", &auth)
        .call()
        .expect("https request");
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value =
        serde_json::from_str(&resp.into_string().expect("body")).expect("json");
    assert_eq!(body["totalResults"], 0);
    // Plain HTTP on the TLS port gets no SCIM answer.
    let plain = ureq::get(&url.replace("https://", "http://"))
        .set("Authorization", &auth)
        .call();
    assert!(plain.is_err());

    // A new pair named in the config is used for new connections.
    let (cert2, key2) = self_signed();
    std::fs::write(d.dir.path().join("cert2.pem"), &cert2).expect("write");
    std::fs::write(d.dir.path().join("key2.pem"), &key2).expect("write");
    std::fs::write(&config, with_tls(2)).expect("write");
    eventually("the new certificate", Duration::from_secs(15), || {
        // A fresh agent per attempt, so each attempt is a new connection and handshake.
        let two = agent_trusting(&cert2);
        two.get(&url)
            .set("Authorization", &auth)
            .call()
            .ok()
            .map(|r| r.status())
    });
    let old = agent_trusting(&cert1)
        .get(&url)
        .set("Authorization", &auth)
        .call();
    assert!(old.is_err(), "the old certificate is no longer served");
}
