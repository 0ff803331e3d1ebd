//! One webhook POST: connect (TCP, then TLS for https) within the connect timeout, send, and
//! read the response head within the response timeout. Redirects are never followed (a 3xx
//! is a failure: a signed event must reach the URL the operator configured). A connection is
//! kept for the next delivery to the same endpoint while the server keeps it open and its
//! answers are short: opening one per event cost PostgreSQL installs a fifth of their write
//! throughput in the bench.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Where and how to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host as written in the URL (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    pub https: bool,
    pub path_and_query: String,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

/// Why a delivery failed, as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("cannot connect to {0}")]
    Connect(String),
    #[error("no connection to {0} within {1} s")]
    ConnectTimeout(String, u64),
    #[error("TLS with {0} failed: {1}")]
    Tls(String, String),
    #[error("no response within {0} s")]
    Timeout(u64),
    #[error("the request failed: {0}")]
    Http(String),
    #[error("answered HTTP {0}")]
    Status(u16),
    #[error("answered HTTP {0}, a redirect (redirects are not followed)")]
    Redirect(u16),
}

/// A connection kept between deliveries.
#[derive(Default)]
pub struct Conn {
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    /// POSTs `body` with `headers` to `target`; Ok once it answered 2xx.
    pub async fn post(
        &mut self,
        target: &Target,
        headers: &[(&'static str, String)],
        body: Bytes,
    ) -> Result<u16, SendError> {
        let kept = match self.sender.take() {
            Some(mut s) if !s.is_closed() => s.ready().await.is_ok().then_some(s),
            _ => None,
        };
        let mut sender = match kept {
            Some(s) => s,
            None => connect(target).await?,
        };
        let authority = match (target.https, target.port) {
            (false, 80) | (true, 443) => bracket(&target.host),
            (_, port) => format!("{}:{port}", bracket(&target.host)),
        };
        let mut req = hyper::Request::post(target.path_and_query.as_str())
            .header(hyper::header::HOST, authority)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(
                hyper::header::USER_AGENT,
                concat!("scimd/", env!("CARGO_PKG_VERSION")),
            )
            .header(hyper::header::CONTENT_LENGTH, body.len());
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| SendError::Http(e.to_string()))?;
        let deadline = tokio::time::Instant::now() + target.timeout;
        let answer = tokio::time::timeout_at(deadline, sender.send_request(req)).await;
        let resp = match answer {
            Err(_) => return Err(SendError::Timeout(target.timeout.as_secs())),
            Ok(Err(e)) => return Err(SendError::Http(e.to_string())),
            Ok(Ok(resp)) => resp,
        };
        let status = resp.status().as_u16();
        // A short answer is read to its end so that the connection can carry the next
        // delivery (most receivers answer 200 or 204 with little or nothing); a long or slow
        // one is dropped, which closes the connection.
        if drained(resp.into_body(), deadline).await {
            self.sender = Some(sender);
        }
        match status {
            200..=299 => Ok(status),
            300..=399 => Err(SendError::Redirect(status)),
            _ => Err(SendError::Status(status)),
        }
    }
}

/// The most of a receiver's answer read to keep its connection.
const KEEP_BODY_BYTES: usize = 16 * 1024;

/// Reads `body` to its end if it is short and arrives before `deadline`; whether it did.
async fn drained(mut body: hyper::body::Incoming, deadline: tokio::time::Instant) -> bool {
    use http_body_util::BodyExt;
    let mut read = 0;
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(None) => return true,
            Ok(Some(Ok(frame))) => {
                read += frame.data_ref().map_or(0, |d| d.len());
                if read > KEEP_BODY_BYTES {
                    return false;
                }
            }
            Ok(Some(Err(_))) | Err(_) => return false,
        }
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

async fn connect(target: &Target) -> Result<SendRequest<Full<Bytes>>, SendError> {
    let addr = format!("{}:{}", bracket(&target.host), target.port);
    let secs = target.connect_timeout.as_secs();
    let tcp = tokio::time::timeout(
        target.connect_timeout,
        TcpStream::connect((target.host.as_str(), target.port)),
    )
    .await
    .map_err(|_| SendError::ConnectTimeout(addr.clone(), secs))?
    .map_err(|e| SendError::Connect(format!("{addr}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    if !target.https {
        return handshake(TokioIo::new(tcp)).await;
    }
    let name = rustls_pki_types::ServerName::try_from(target.host.clone())
        .map_err(|e| SendError::Tls(addr.clone(), e.to_string()))?;
    let connector = connector().map_err(|e| SendError::Tls(addr.clone(), e))?;
    let tls = tokio::time::timeout(target.connect_timeout, connector.connect(name, tcp))
        .await
        .map_err(|_| SendError::ConnectTimeout(addr.clone(), secs))?
        .map_err(|e| SendError::Tls(addr.clone(), e.to_string()))?;
    handshake(TokioIo::new(tls)).await
}

async fn handshake<T>(io: TokioIo<T>) -> Result<SendRequest<Full<Bytes>>, SendError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| SendError::Http(e.to_string()))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// The TLS client configuration: the system's trusted roots (`SSL_CERT_FILE` and
/// `SSL_CERT_DIR` apply), loaded once.
fn connector() -> Result<tokio_rustls::TlsConnector, String> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for err in &found.errors {
            tracing::warn!(cause = %err, "cannot load a trusted root certificate");
        }
        let (added, _) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            tracing::warn!("no trusted root certificates found: https webhooks will fail");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
            .map_err(|e| e.to_string())
    });
    config.clone().map(tokio_rustls::TlsConnector::from)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn target(port: u16) -> Target {
        Target {
            host: "127.0.0.1".into(),
            port,
            https: false,
            path_and_query: "/hook".into(),
            connect_timeout: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
        }
    }

    #[tokio::test]
    async fn a_silent_endpoint_times_out_and_a_closed_port_is_refused() {
        // Connections complete in the kernel's backlog; nothing ever answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let got = Conn::default()
            .post(&target(port), &[], Bytes::from_static(b"{}"))
            .await;
        assert_eq!(got, Err(SendError::Timeout(1)));
        drop(silent);
        let got = Conn::default()
            .post(&target(port), &[], Bytes::from_static(b"{}"))
            .await;
        assert!(matches!(got, Err(SendError::Connect(_))), "{got:?}");
    }

    /// A receiver on `listener` answering each request with `answer`; counts connections.
    fn serve(listener: std::net::TcpListener, answer: &'static [u8]) -> Arc<AtomicUsize> {
        use std::io::{Read, Write};
        let conns = Arc::new(AtomicUsize::new(0));
        let seen = conns.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                seen.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    // Each test request arrives in one read: small head, two-byte body.
                    while let Ok(n) = stream.read(&mut buf) {
                        if n == 0 || stream.write_all(answer).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        conns
    }

    #[tokio::test]
    async fn a_short_answer_keeps_the_connection_and_a_long_one_closes_it() {
        let short = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = short.local_addr().unwrap().port();
        let conns = serve(short, b"HTTP/1.1 204 No Content\r\n\r\n");
        let mut conn = Conn::default();
        for _ in 0..3 {
            let got = conn
                .post(&target(port), &[], Bytes::from_static(b"{}"))
                .await;
            assert_eq!(got, Ok(204));
        }
        assert_eq!(
            conns.load(Ordering::SeqCst),
            1,
            "one connection for three deliveries"
        );

        let long = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = long.local_addr().unwrap().port();
        let body: &'static [u8] = Box::leak(
            format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {n}\r\n\r\n{}",
                "x".repeat(KEEP_BODY_BYTES + 1),
                n = KEEP_BODY_BYTES + 1
            )
            .into_bytes()
            .into_boxed_slice(),
        );
        let conns = serve(long, body);
        let mut conn = Conn::default();
        for _ in 0..2 {
            let got = conn
                .post(&target(port), &[], Bytes::from_static(b"{}"))
                .await;
            assert_eq!(got, Ok(200));
        }
        assert_eq!(
            conns.load(Ordering::SeqCst),
            2,
            "a long answer is not read to keep it"
        );
    }

    #[test]
    fn an_ipv6_host_is_bracketed_for_the_host_header() {
        assert_eq!(bracket("::1"), "[::1]");
        assert_eq!(bracket("example.com"), "example.com");
    }
}
