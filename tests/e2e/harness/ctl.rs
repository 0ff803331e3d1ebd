//! The control socket of a harness daemon and a dashboard-protocol client over it.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::Daemon;

/// The control socket of a harness daemon (the default: `<data_dir>/scimd.sock`).
pub fn socket_path(d: &Daemon) -> PathBuf {
    d.data_dir().join("scimd.sock")
}

/// A dashboard-protocol client over the real socket.
pub struct Ctl {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Ctl {
    /// Connects without saying anything.
    pub fn raw(path: &PathBuf) -> Ctl {
        let stream = UnixStream::connect(path).expect("connect to the control socket");
        Ctl {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            writer: stream,
        }
    }

    /// Connects and completes the hello.
    pub fn connect(path: &PathBuf) -> Ctl {
        let mut ctl = Ctl::raw(path);
        ctl.send(&json!({"type": "hello", "version": 1}));
        let hello = ctl
            .recv(Duration::from_secs(10))
            .expect("hello from the daemon");
        assert_eq!(hello["type"], "hello", "{hello}");
        assert_eq!(hello["version"], 1);
        assert!(hello["daemon"]["listen"]
            .as_str()
            .is_some_and(|l| l.starts_with("http://127.0.0.1:")));
        ctl
    }

    /// Writes bytes as they are, for clients that break the protocol.
    pub fn write_bytes(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(bytes)
    }

    pub fn send(&mut self, msg: &Value) {
        let mut line = msg.to_string();
        line.push('\n');
        self.writer.write_all(line.as_bytes()).expect("write");
    }

    /// The next message, or None when none comes within `timeout`.
    pub fn recv(&mut self, timeout: Duration) -> Option<Value> {
        self.reader
            .get_ref()
            .set_read_timeout(Some(timeout))
            .expect("timeout");
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => Some(serde_json::from_str(&line).expect("a JSON line")),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
            Err(e) => panic!("read: {e}"),
        }
    }

    /// Sends a request and returns the first reply of `kind`, skipping streamed messages.
    pub fn ask(&mut self, msg: Value, kind: &str) -> Value {
        self.send(&msg);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no {kind} reply to {msg}");
            if let Some(reply) = self.recv(left) {
                if reply["type"] == kind {
                    return reply;
                }
                assert_ne!(reply["type"], "error", "{reply}");
            }
        }
    }

    /// The newest `limit` activity records, newest first.
    pub fn recent(&mut self, limit: usize) -> Vec<Value> {
        let r = self.ask(json!({"type": "recent", "limit": limit}), "recent");
        r["records"].as_array().cloned().unwrap_or_default()
    }
}
