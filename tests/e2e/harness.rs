//! Starts the real `scimd` binary on a free port in a temp dir and talks to it over HTTP.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::Once;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod ctl;

pub use ctl::{socket_path, Ctl};

/// The built `scimd` binary, built first (once per test run) so it is never stale.
///
/// `SCIMD_E2E_BIN=/path/to/scimd` runs the suite against that binary instead (nothing is
/// built), e.g. an older build, to see which tests catch a regression.
pub fn scimd_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("SCIMD_E2E_BIN") {
        return PathBuf::from(bin);
    }
    static BUILD: Once = Once::new();
    let exe = std::env::current_exe().expect("test exe path");
    // <target>/<profile>/deps/e2e-<hash> -> <target>/<profile>/scimd
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("profile dir")
        .to_path_buf();
    BUILD.call_once(|| {
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let target = profile_dir.parent().expect("target dir");
        let status = scimd_tests::build_scimd(target, release).expect("run cargo build");
        assert!(status.success(), "building scimd failed");
    });
    profile_dir.join("scimd")
}

/// Which store backend a test binary's daemons use (`e2e` runs on redb, `e2e-postgres` on
/// PostgreSQL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Redb,
    Postgres,
}

/// The backend of this test binary.
pub fn backend() -> Backend {
    crate::BACKEND
}

/// Whether this binary's daemons use PostgreSQL; tests about the redb file itself skip then.
pub fn on_postgres() -> bool {
    backend() == Backend::Postgres
}

/// The `[store]` table for a daemon of this binary: none on redb, a fresh database of the
/// shared throwaway cluster on PostgreSQL. Without PostgreSQL here the whole binary stops
/// as skipped (with the reason printed), except under `CI=true`, where that fails.
pub fn store_table() -> String {
    if !on_postgres() {
        return String::new();
    }
    let Some(cluster) = scimd_tests::pg::require() else {
        std::process::exit(0);
    };
    let url = cluster.create_database().expect("create a database");
    // Small pools: many daemons share the cluster at once.
    format!("\n[store]\nbackend = \"postgres\"\nurl = \"{url}\"\npool_size = 4\n")
}

/// A running daemon with its own temp dir, config and tokens.
pub struct Daemon {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    /// `http://127.0.0.1:PORT`
    pub origin: String,
    pub tokens: BTreeMap<String, String>,
    /// The daemon's stdout lines after the listening line.
    #[allow(dead_code)] // for scenarios that read what the daemon prints
    pub stdout: mpsc::Receiver<String>,
}

/// Runs a `scimd` subcommand with `--config config` to completion.
pub fn scimd(args: &[&str], config: &Path) -> std::process::Output {
    Command::new(scimd_bin())
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .expect("run scimd")
}

/// Writes a config with `orgs` (each with a fresh token) into `dir`.
pub fn write_config(dir: &Path, orgs: &[&str]) -> (PathBuf, BTreeMap<String, String>) {
    let orgs: Vec<(&str, &str)> = orgs.iter().map(|o| (*o, "")).collect();
    write_config_with(dir, "", &orgs)
}

/// Like [`write_config`], with `tables` (say a `[limits]` table) after the server keys and,
/// for each org, its extra `key = value` lines (say `rate_limit = 2`).
pub fn write_config_with(
    dir: &Path,
    tables: &str,
    orgs: &[(&str, &str)],
) -> (PathBuf, BTreeMap<String, String>) {
    let store = store_table();
    let mut text = format!("listen = \"127.0.0.1:0\"\ndata_dir = \"data\"\n{tables}\n{store}\n");
    let mut tokens = BTreeMap::new();
    for (org, extra) in orgs {
        let token = scimd_config::token::generate();
        text.push_str(&format!(
            "\n[orgs.{org}]\ndisplay_name = \"{org} Inc\"\ntokens = [\"{}\"]\n{extra}\n",
            scimd_config::token::hash(&token)
        ));
        tokens.insert(org.to_string(), token);
    }
    let path = dir.join("scimd.toml");
    std::fs::write(&path, text).expect("write config");
    (path, tokens)
}

/// How to start the daemon, beyond its dir and config.
#[derive(Default)]
pub struct Launch<'a> {
    /// `RUST_LOG` for the daemon, whose stderr goes to the test's; `None`: `$SCIMD_E2E_LOG`,
    /// else `warn`.
    pub log: Option<&'a str>,
    /// Run under this umask (through `sh -c 'umask ...; exec scimd ...'`).
    pub umask: Option<&'a str>,
}

impl Daemon {
    /// Starts a daemon serving `orgs`.
    pub fn start(orgs: &[&str]) -> Daemon {
        let dir = tempfile::tempdir().expect("tempdir");
        let (config, tokens) = write_config(dir.path(), orgs);
        Self::start_in(dir, config, tokens)
    }

    /// Starts a daemon serving `orgs` (with their extra lines) under the config `tables`.
    pub fn start_with(tables: &str, orgs: &[(&str, &str)]) -> Daemon {
        let dir = tempfile::tempdir().expect("tempdir");
        let (config, tokens) = write_config_with(dir.path(), tables, orgs);
        Self::start_in(dir, config, tokens)
    }

    /// Starts a daemon on an existing dir and config.
    pub fn start_in(
        dir: tempfile::TempDir,
        config: PathBuf,
        tokens: BTreeMap<String, String>,
    ) -> Daemon {
        Self::launch(dir, config, tokens, &Launch::default())
    }

    /// Starts a daemon on an existing dir and config, as `how` says.
    pub fn launch(
        dir: tempfile::TempDir,
        config: PathBuf,
        tokens: BTreeMap<String, String>,
        how: &Launch<'_>,
    ) -> Daemon {
        let mut cmd = match how.umask {
            None => Command::new(scimd_bin()),
            Some(mask) => {
                let mut sh = Command::new("sh");
                // `exec` keeps the pid, so signals and kills reach scimd itself.
                sh.arg("-c")
                    .arg(format!("umask {mask} && exec \"$0\" \"$@\""))
                    .arg(scimd_bin());
                sh
            }
        };
        let mut child = cmd
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .current_dir(dir.path())
            .env(
                "RUST_LOG",
                how.log.map_or_else(
                    || std::env::var("SCIMD_E2E_LOG").unwrap_or_else(|_| "warn".into()),
                    str::to_string,
                ),
            )
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

    /// Kills the daemon without warning (SIGKILL, as a power cut would) and returns its dir.
    /// Also how to take the dir back from a daemon that has exited already.
    pub fn kill(mut self) -> (tempfile::TempDir, PathBuf, BTreeMap<String, String>) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"));
        (dir, self.config.clone(), std::mem::take(&mut self.tokens))
    }

    /// Sends the signal `name` (`TERM`, `HUP`, ...) to the daemon.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// The daemon's exit status once it has exited, or None if it still runs after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the daemon is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// `127.0.0.1:PORT`, for raw sockets.
    pub fn addr(&self) -> &str {
        self.origin.trim_start_matches("http://")
    }

    /// The data dir (`<dir>/data`).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
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
    pub allow: Option<String>,
    pub retry_after: Option<String>,
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
        let text = body.map(Value::to_string);
        let content_type = body.map(|_| "application/scim+json");
        self.send_raw(method, path, text.as_deref(), content_type, headers)
    }

    /// Sends a request with a raw body and the given Content-Type (none when `None`).
    pub fn send_raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        content_type: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Resp {
        self.try_send_raw(method, path, body, content_type, headers)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Sends a request; Err when no HTTP answer came (refused, reset, timed out), for tests
    /// that stop the daemon under load.
    pub fn try_send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Resp, String> {
        let text = body.map(Value::to_string);
        let content_type = body.map(|_| "application/scim+json");
        self.try_send_raw(method, path, text.as_deref(), content_type, &[])
    }

    /// [`Client::send_raw`], with Err when no HTTP answer came.
    pub fn try_send_raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        content_type: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Result<Resp, String> {
        let url = format!("{}{path}", self.base);
        let mut req = ureq::request(method, &url).timeout(Duration::from_secs(30));
        if let Some(t) = &self.token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            req = req.set("Content-Type", ct);
        }
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let result = match body {
            Some(b) => req.send_bytes(b.as_bytes()),
            None => req.call(),
        };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => return Err(format!("{method} {url}: {e}")),
        };
        let status = resp.status();
        let h = |n: &str| resp.header(n).map(str::to_string);
        let (etag, location, content_type, www_authenticate, allow, retry_after) = (
            h("ETag"),
            h("Location"),
            h("Content-Type"),
            h("WWW-Authenticate"),
            h("Allow"),
            h("Retry-After"),
        );
        let text = resp.into_string().unwrap_or_default();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Resp {
            status,
            body,
            etag,
            location,
            content_type,
            www_authenticate,
            allow,
            retry_after,
        })
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

/// The PatchOp message URN.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The ListResponse message URN.
pub const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The Error message URN.
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// The core User schema URN.
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema URN.
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The Enterprise User extension URN.
pub const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The one Content-Type every SCIM response carries.
pub const SCIM_JSON: &str = "application/scim+json; charset=utf-8";

/// Percent-encodes a query value (filters carry spaces, quotes, brackets, `@`, `+`).
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `?filter=<encoded filter>`, to append to a path.
pub fn filter_q(filter: &str) -> String {
    format!("?filter={}", enc(filter))
}

/// A PatchOp body of `ops`.
pub fn patch_body(ops: Value) -> Value {
    serde_json::json!({"schemas": [PATCH_OP], "Operations": ops})
}

impl Resp {
    /// Asserts the status, showing the body when it differs; returns `self` for chaining.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Resp {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {:#}",
            self.body
        );
        self
    }

    /// The resource's `id`.
    #[track_caller]
    pub fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {:#}", self.body))
            .to_string()
    }

    /// A ListResponse's `Resources` (empty when absent, as RFC 7644 allows for no results).
    #[track_caller]
    pub fn resources(&self) -> Vec<Value> {
        assert_eq!(
            self.body["schemas"][0], LIST,
            "not a ListResponse: {:#}",
            self.body
        );
        match self.body.get("Resources") {
            None => Vec::new(),
            Some(Value::Array(items)) => items.clone(),
            Some(other) => panic!("Resources is not an array: {other:#}"),
        }
    }

    /// The `id`s of a ListResponse's resources, in order.
    #[track_caller]
    pub fn ids(&self) -> Vec<String> {
        self.resources()
            .iter()
            .map(|r| r["id"].as_str().expect("resource id").to_string())
            .collect()
    }

    /// A ListResponse's `totalResults`, which must be a JSON integer.
    #[track_caller]
    pub fn total(&self) -> u64 {
        self.body["totalResults"]
            .as_u64()
            .unwrap_or_else(|| panic!("totalResults is not an integer: {:#}", self.body))
    }
}

/// Asserts that `r` is a SCIM error: the status, the Error schema, `status` as a string, a
/// non-empty `detail`, the SCIM Content-Type, and the `scimType` when one is expected.
#[track_caller]
pub fn assert_error(r: &Resp, status: u16, scim_type: Option<&str>) {
    assert_eq!(r.status, status, "unexpected status; body: {:#}", r.body);
    assert_eq!(
        r.body["schemas"],
        serde_json::json!([ERROR]),
        "{:#}",
        r.body
    );
    assert_eq!(r.body["status"], status.to_string(), "{:#}", r.body);
    assert!(
        r.body["detail"]
            .as_str()
            .is_some_and(|d| !d.trim().is_empty()),
        "error without a detail: {:#}",
        r.body
    );
    assert_eq!(r.content_type.as_deref(), Some(SCIM_JSON));
    if let Some(t) = scim_type {
        assert_eq!(r.body["scimType"], t, "{:#}", r.body);
    }
}

/// The `value`s of a Group's `members` (or a User's `groups`), sorted; absent means none.
#[track_caller]
pub fn values_of(resource: &Value, attr: &str) -> Vec<String> {
    let mut v: Vec<String> = match resource.get(attr) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|m| m["value"].as_str().expect("member value").to_string())
            .collect(),
        Some(other) => panic!("{attr} is not an array: {other:#}"),
    };
    v.sort();
    v
}

/// Sorted copies of string ids, to compare with [`values_of`].
pub fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

impl Client {
    /// The same client with another token (`None`: no Authorization header).
    pub fn with_token(&self, token: Option<&str>) -> Client {
        Client {
            base: self.base.clone(),
            token: token.map(str::to_string),
        }
    }

    /// Creates a user with this userName (and a work email of the same value); returns its id.
    #[track_caller]
    pub fn create_user(&self, user_name: &str) -> String {
        let r = self.post(
            "/Users",
            &serde_json::json!({
                "schemas": [USER],
                "userName": user_name,
                "name": {"givenName": "Given", "familyName": "Family"},
                "emails": [{"value": user_name, "type": "work", "primary": true}],
                "active": true,
            }),
        );
        r.expect(201);
        r.id()
    }

    /// Creates a group with these member ids; returns its id.
    #[track_caller]
    pub fn create_group(&self, display_name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members
            .iter()
            .map(|m| serde_json::json!({"value": m}))
            .collect();
        let r = self.post(
            "/Groups",
            &serde_json::json!({"schemas": [GROUP], "displayName": display_name, "members": members}),
        );
        r.expect(201);
        r.id()
    }

    /// PATCHes `path` with these operations.
    pub fn patch_ops(&self, path: &str, ops: Value) -> Resp {
        self.patch(path, &patch_body(ops))
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

/// A team's PATCH answer leaves its member list out (so one change costs the same on any team
/// size); the team read back by GET has exactly the members `want`.
pub fn assert_team_members(c: &Client, patch_answer: &Resp, path: &str, want: Vec<String>) {
    // A team PATCH answers 204 No Content unless attributes are asked for.
    assert_eq!(patch_answer.status, 204, "{:?}", patch_answer.body);
    assert!(patch_answer.body.is_null(), "{}", patch_answer.body);
    assert_eq!(values_of(&c.get(path).body, "members"), want);
}

// ---- raw HTTP, for clients that misbehave on purpose ---------------------------------------

/// A response read off a raw socket.
#[derive(Debug)]
pub struct RawResp {
    pub status: u16,
    /// Header names lowercased.
    pub headers: BTreeMap<String, String>,
    pub body: Value,
}

/// Connects a raw socket to the daemon at `addr` ([`Daemon::addr`]), with a read timeout so
/// that no read waits forever.
pub fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect to scimd");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    s
}

/// Reads one response (head, then a `Content-Length` body) from `s`; Err with what arrived
/// when the connection closes or a read times out first.
pub fn read_response(s: &mut TcpStream) -> Result<RawResp, String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match s.read(&mut chunk) {
            Ok(0) => return Err(format!("closed after {:?}", String::from_utf8_lossy(&buf))),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("{e} after {:?}", String::from_utf8_lossy(&buf))),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no status line in {head:?}"))?;
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        match s.read(&mut chunk) {
            Ok(0) => return Err(format!("closed in the body of {head:?}")),
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("{e} in the body of {head:?}")),
        }
    }
    body.truncate(len);
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    };
    Ok(RawResp {
        status,
        headers,
        body,
    })
}

/// Whether the peer has closed `s`: a read within `wait` returns end of file or an error other
/// than a timeout. Bytes that arrive instead are a failure: nothing should be sent.
pub fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    s.set_read_timeout(Some(wait)).expect("read timeout");
    let mut byte = [0u8; 1];
    match s.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => panic!("unexpected bytes from the daemon"),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
        Err(_) => true,
    }
}

/// Asserts that a raw response is a SCIM error with this status.
#[track_caller]
pub fn assert_raw_error(r: &RawResp, status: u16) {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(r.body["schemas"], json!([ERROR]), "{r:?}");
    assert_eq!(r.body["status"], status.to_string(), "{r:?}");
    assert!(
        r.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{r:?}"
    );
    assert_eq!(
        r.headers.get("content-type").map(String::as_str),
        Some(SCIM_JSON)
    );
}

/// Each user's teams as `value` → `display`, from a user resource's `groups`.
pub fn teams_of(user: &Value) -> std::collections::BTreeMap<String, String> {
    user["groups"]
        .as_array()
        .map(|g| {
            g.iter()
                .map(|t| {
                    let s = |k: &str| t[k].as_str().expect("a string").to_string();
                    (s("value"), s("display"))
                })
                .collect()
        })
        .unwrap_or_default()
}
