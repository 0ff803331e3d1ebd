//! Starts the real `scimd` binary on a free port in a temp dir and talks to it over HTTP.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::Once;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The built `scimd` binary, building it first when needed (this test package cannot name
/// another package's binary through Cargo).
pub fn scimd_bin() -> PathBuf {
    static BUILD: Once = Once::new();
    let exe = std::env::current_exe().expect("test exe path");
    // <target>/<profile>/deps/e2e-<hash> -> <target>/<profile>/scimd
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("profile dir")
        .to_path_buf();
    let bin = profile_dir.join("scimd");
    BUILD.call_once(|| {
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "scimd", "--bin", "scimd"]);
        if release {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build");
        assert!(status.success(), "building scimd failed");
    });
    bin
}

/// A running daemon with its own temp dir, config and tokens.
pub struct Daemon {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    /// `http://127.0.0.1:PORT`
    pub origin: String,
    pub tokens: BTreeMap<String, String>,
    pub stdout: mpsc::Receiver<String>,
}

/// Writes a config with `orgs` (each with a fresh token) into `dir`.
pub fn write_config(dir: &Path, orgs: &[&str]) -> (PathBuf, BTreeMap<String, String>) {
    let mut text = String::from("listen = \"127.0.0.1:0\"\ndata_dir = \"data\"\n");
    let mut tokens = BTreeMap::new();
    for org in orgs {
        let token = scimd_config::token::generate();
        text.push_str(&format!(
            "\n[orgs.{org}]\ndisplay_name = \"{org} Inc\"\ntokens = [\"{}\"]\n",
            scimd_config::token::hash(&token)
        ));
        tokens.insert(org.to_string(), token);
    }
    let path = dir.join("scimd.toml");
    std::fs::write(&path, text).expect("write config");
    (path, tokens)
}

impl Daemon {
    /// Starts a daemon serving `orgs`.
    pub fn start(orgs: &[&str]) -> Daemon {
        let dir = tempfile::tempdir().expect("tempdir");
        let (config, tokens) = write_config(dir.path(), orgs);
        Self::start_in(dir, config, tokens)
    }

    /// Starts a daemon on an existing dir and config.
    pub fn start_in(
        dir: tempfile::TempDir,
        config: PathBuf,
        tokens: BTreeMap<String, String>,
    ) -> Daemon {
        let mut child = Command::new(scimd_bin())
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .current_dir(dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn scimd");
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let origin = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .expect("scimd did not report its address in time");
            if let Some(addr) = line.strip_prefix("scimd listening on ") {
                break addr.trim().to_string();
            }
        };
        Daemon {
            child,
            dir,
            config,
            origin,
            tokens,
            stdout: rx,
        }
    }

    /// Stops the daemon (SIGTERM, then wait) and returns its dir for a restart.
    pub fn stop(mut self) -> (tempfile::TempDir, PathBuf, BTreeMap<String, String>) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"));
        (dir, self.config.clone(), std::mem::take(&mut self.tokens))
    }

    /// The SCIM base URL of `org`.
    pub fn base(&self, org: &str) -> String {
        format!("{}/scim/v2/{org}", self.origin)
    }

    /// A client for `org` with its token.
    pub fn client(&self, org: &str) -> Client {
        Client {
            base: self.base(org),
            token: Some(self.tokens[org].clone()),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response: status, headers we care about, and the JSON body (Null when empty).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub etag: Option<String>,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub www_authenticate: Option<String>,
}

/// A minimal SCIM client.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub token: Option<String>,
}

impl Client {
    /// Sends a request; `path` is relative to the base URL (starting with `/`).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let url = format!("{}{path}", self.base);
        let mut req = ureq::request(method, &url).timeout(Duration::from_secs(30));
        if let Some(t) = &self.token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let result = match body {
            Some(b) => req
                .set("Content-Type", "application/scim+json")
                .send_string(&b.to_string()),
            None => req.call(),
        };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {url}: {e}"),
        };
        let status = resp.status();
        let h = |n: &str| resp.header(n).map(str::to_string);
        let (etag, location, content_type, www_authenticate) = (
            h("ETag"),
            h("Location"),
            h("Content-Type"),
            h("WWW-Authenticate"),
        );
        let text = resp.into_string().unwrap_or_default();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Resp {
            status,
            body,
            etag,
            location,
            content_type,
            www_authenticate,
        }
    }

    pub fn get(&self, path: &str) -> Resp {
        self.send("GET", path, None, &[])
    }
    pub fn post(&self, path: &str, body: &Value) -> Resp {
        self.send("POST", path, Some(body), &[])
    }
    pub fn put(&self, path: &str, body: &Value) -> Resp {
        self.send("PUT", path, Some(body), &[])
    }
    pub fn patch(&self, path: &str, body: &Value) -> Resp {
        self.send("PATCH", path, Some(body), &[])
    }
    pub fn delete(&self, path: &str) -> Resp {
        self.send("DELETE", path, None, &[])
    }
}

/// Polls `f` until it returns Some or the deadline passes.
pub fn eventually<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}
