//! A real HTTP receiver for webhook tests, on a free port of this machine: it records every
//! request, answers with the status the test sets, can go down (its port refuses
//! connections) and come back on the same port, and verifies Standard Webhooks signatures
//! with its own HMAC, apart from the daemon's.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

/// One request the receiver read.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Header names lowercased.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    /// What the receiver answered.
    pub status: u16,
}

impl Delivery {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// Whether the signature verifies with `secret` (`whsec_...`).
    pub fn verifies(&self, secret: &str) -> bool {
        verify(
            secret,
            self.header("webhook-id"),
            self.header("webhook-timestamp"),
            &self.body,
            self.header("webhook-signature"),
        )
    }
}

/// A Standard Webhooks verifier: HMAC-SHA256 over `id.timestamp.body` with the decoded
/// secret, compared with each `v1,` signature of the header.
pub fn verify(secret: &str, id: &str, ts: &str, body: &[u8], header: &str) -> bool {
    let Some(key) = secret
        .strip_prefix("whsec_")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
    else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        return false;
    };
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    header
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|sig| sig == want)
}

/// A fresh secret in the Standard Webhooks form.
pub fn secret() -> String {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

#[derive(Default)]
struct Inner {
    got: Mutex<Vec<Delivery>>,
    status: AtomicU16,
    down: AtomicBool,
}

pub struct Receiver {
    port: u16,
    inner: Arc<Inner>,
    accept: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Starts answering 200 on a free port.
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a receiver");
        let port = listener.local_addr().expect("addr").port();
        let inner = Arc::new(Inner::default());
        inner.status.store(200, Ordering::SeqCst);
        let mut r = Receiver {
            port,
            inner,
            accept: None,
        };
        r.serve(listener);
        r
    }

    fn serve(&mut self, listener: TcpListener) {
        let inner = self.inner.clone();
        self.accept = Some(std::thread::spawn(move || {
            for stream in listener.incoming() {
                if inner.down.load(Ordering::SeqCst) {
                    return; // drops the listener: the port refuses from now on
                }
                let Ok(stream) = stream else { continue };
                let inner = inner.clone();
                std::thread::spawn(move || handle(stream, &inner));
            }
        }));
    }

    /// The URL to configure.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/scimd?via=test", self.port)
    }

    /// Answers `status` from now on.
    pub fn answer(&self, status: u16) {
        self.inner.status.store(status, Ordering::SeqCst);
    }

    /// Stops listening: connections are refused and open ones closed unanswered.
    pub fn down(&mut self) {
        self.inner.down.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag and closes the listener.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }

    /// Listens again on the same port.
    pub fn up(&mut self) {
        self.inner.down.store(false, Ordering::SeqCst);
        let listener =
            TcpListener::bind(("127.0.0.1", self.port)).expect("bind the receiver's port again");
        self.serve(listener);
    }

    /// Every request read, in order.
    pub fn all(&self) -> Vec<Delivery> {
        self.inner.got.lock().expect("lock").clone()
    }

    /// The requests answered 2xx, in order.
    pub fn delivered(&self) -> Vec<Delivery> {
        self.all()
            .into_iter()
            .filter(|d| (200..300).contains(&d.status))
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if self.accept.is_some() {
            self.down();
        }
    }
}

fn handle(stream: TcpStream, inner: &Inner) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = BTreeMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if inner.down.load(Ordering::SeqCst) {
            return;
        }
        let status = inner.status.load(Ordering::SeqCst);
        inner.got.lock().expect("lock").push(Delivery {
            headers,
            body,
            status,
        });
        let answer = format!("HTTP/1.1 {status} Test\r\ncontent-length: 0\r\n\r\n");
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}
