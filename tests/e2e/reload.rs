//! Live reload with the real binary and real files: token rotate and revoke while serving, orgs
//! added, removed and re-added, broken files, saves by rename, disabled orgs, and keys that need
//! a restart (`check-config` and the first-run starter are in `cli.rs`). Every wait polls with a
//! deadline; none sleeps blindly.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{eventually, scimd, scimd_bin, Client, Daemon};

/// How long a change to the file may take to reach requests (the daemon aims for about a second).
pub(crate) const RELOAD: Duration = Duration::from_secs(10);
/// How long a rejected file is watched for not disturbing the running config.
pub(crate) const STEADY: Duration = Duration::from_secs(1);
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

// ---- the config file ----------------------------------------------------------------------

/// A fresh token and the `sha256:` form the file holds.
pub(crate) fn new_token() -> (String, String) {
    let token = scimd_config::token::generate();
    let hash = scimd_config::token::hash(&token);
    (token, hash)
}

/// One `[orgs.NAME]` table; `extra` holds further `key = value` lines.
pub(crate) fn org(name: &str, hashes: &[&str], extra: &str) -> String {
    let tokens = hashes
        .iter()
        .map(|h| format!("\"{h}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!("\n[orgs.{name}]\ndisplay_name = \"{name} Inc\"\ntokens = [{tokens}]\n{extra}")
}

/// A whole config file: server keys on a free port, then `top` (more top-level keys), then orgs.
pub(crate) fn config(top: &str, orgs: &[String]) -> String {
    format!(
        "listen = \"127.0.0.1:0\"\ndata_dir = \"data\"\n{top}{}",
        orgs.concat()
    )
}

/// Writes the file in place, as `echo > file` or a plain `write()` does (the daemon may read it
/// half written; it must then reject that version and pick up the whole one).
pub(crate) fn write_in_place(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write config");
}

/// Writes a temp file in the same folder and renames it over the config, as most editors save.
pub(crate) fn save_by_rename(path: &Path, text: &str) {
    let tmp = path.with_file_name(".scimd.toml.editor-tmp");
    std::fs::write(&tmp, text).expect("write temp file");
    std::fs::rename(&tmp, path).expect("rename over the config");
}

/// Saves the way vim does with `backupcopy=no`: the old file is renamed away (so for a moment
/// there is no config file at all), the new one written under the real name, the backup removed.
fn save_like_vim(path: &Path, text: &str) {
    let backup = path.with_file_name("scimd.toml~");
    std::fs::rename(path, &backup).expect("move the old file away");
    std::fs::write(path, text).expect("write the new file");
    std::fs::remove_file(&backup).expect("remove the backup");
}

// ---- the daemon, with its log ---------------------------------------------------------------

/// The daemon's stderr, line by line, without colour codes.
pub(crate) struct Logs {
    rx: Receiver<String>,
    seen: Vec<String>,
}

impl Logs {
    /// Waits for a line containing `needle` that has not been returned yet.
    pub(crate) fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + RELOAD;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => panic!(
                    "no log line with {needle:?} within {RELOAD:?}; the log so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Every line logged so far.
    pub(crate) fn all(&mut self) -> &[String] {
        while let Ok(line) = self.rx.try_recv() {
            self.seen.push(line);
        }
        &self.seen
    }
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Every line still to come from `rx`, until its writer is gone (or a generous deadline).
pub(crate) fn drain(rx: &Receiver<String>) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => out.push(line),
            Err(_) => return out,
        }
    }
}

pub(crate) fn lines_of(stream: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(strip_ansi(&line)).is_err() {
                break;
            }
        }
    });
    rx
}

/// Writes `text` as the config in a fresh temp dir and starts `scimd serve` on it, with its log
/// captured at info level. `tokens` maps org names to plaintext tokens for `Daemon::client`.
pub(crate) fn start(text: &str, tokens: &[(&str, &str)]) -> (Daemon, Logs) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("scimd.toml");
    write_in_place(&config, text);
    start_at(dir, config, tokens)
}

/// Starts `scimd serve` on the config file (or link) `config`, already written, in `dir`, as
/// [`start`] does.
pub(crate) fn start_at(
    dir: tempfile::TempDir,
    config: PathBuf,
    tokens: &[(&str, &str)],
) -> (Daemon, Logs) {
    let mut child = Command::new(scimd_bin())
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .current_dir(dir.path())
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scimd");
    let stdout = lines_of(child.stdout.take().expect("stdout"));
    let logs = Logs {
        rx: lines_of(child.stderr.take().expect("stderr")),
        seen: Vec::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let origin = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = stdout
            .recv_timeout(left)
            .expect("scimd did not report its address in time");
        if let Some(addr) = line.strip_prefix("scimd listening on ") {
            break addr.trim().to_string();
        }
    };
    let daemon = Daemon {
        child,
        dir,
        config,
        origin,
        tokens: tokens
            .iter()
            .map(|(o, t)| (o.to_string(), t.to_string()))
            .collect::<BTreeMap<_, _>>(),
        stdout,
    };
    (daemon, logs)
}

/// A client of `org` presenting `token`.
pub(crate) fn client(d: &Daemon, org: &str, token: &str) -> Client {
    Client {
        base: d.base(org),
        token: Some(token.to_string()),
    }
}

/// The status of an authenticated read of `org` with `token`.
pub(crate) fn status(d: &Daemon, org: &str, token: &str) -> u16 {
    client(d, org, token).get("/Users?count=1").status
}

/// Polls until a read of `org` with `token` answers `want`.
pub(crate) fn until_status(d: &Daemon, org: &str, token: &str, want: u16, what: &str) {
    let deadline = Instant::now() + RELOAD;
    loop {
        let got = status(d, org, token);
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {RELOAD:?} waiting for {what}: status still {got}, want {want}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Asserts that reads of `org` with `token` keep answering `want` for `STEADY`.
pub(crate) fn stays_status(d: &Daemon, org: &str, token: &str, want: u16, what: &str) {
    let end = Instant::now() + STEADY;
    let mut polls = 0;
    while Instant::now() < end || polls < 3 {
        assert_eq!(status(d, org, token), want, "{what} (poll {polls})");
        polls += 1;
        std::thread::sleep(Duration::from_millis(25));
    }
}

pub(crate) fn utf8(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn create_user(c: &Client, user_name: &str) -> String {
    let r = c.post(
        "/Users",
        &json!({"userName": user_name, "name": {"givenName": "Ann", "familyName": "Lee"}}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().expect("id").to_string()
}

/// Tokens are never logged: no line of the daemon's log holds any of `tokens`.
fn assert_not_logged(logs: &mut Logs, tokens: &[&str]) {
    for line in logs.all() {
        for token in tokens {
            assert!(!line.contains(token), "a token reached the log: {line}");
        }
    }
}

// ---- token lifecycle ------------------------------------------------------------------------

#[test]
fn token_rotate_while_serving_refuses_the_old_token_and_accepts_the_new() {
    let (old, old_hash) = new_token();
    let text = format!(
        "# Operators' notes: keep me.\n{}",
        config(
            "",
            &[org(
                "acme",
                &[&old_hash],
                "enabled = true   # inline note\n"
            )]
        )
    );
    let (d, mut logs) = start(&text, &[("acme", &old)]);
    // The first answer also proves the watcher is up: the daemon starts it before serving.
    assert_eq!(status(&d, "acme", &old), 200);

    let out = scimd(&["token", "rotate", "--org", "acme"], &d.config);
    let stdout = utf8(&out.stdout);
    assert!(out.status.success(), "rotate failed: {}", utf8(&out.stderr));
    let new = stdout.lines().last().expect("a last line").to_string();
    assert!(
        new.starts_with("scimd_"),
        "last line is not a token: {new:?}"
    );
    assert_eq!(new.trim(), new, "the token line holds only the token");
    assert_eq!(stdout.matches(&new).count(), 1, "printed once: {stdout}");
    assert_ne!(new, old);

    let file = std::fs::read_to_string(&d.config).expect("read config");
    assert!(!file.contains(&new) && !file.contains(&old), "{file}");
    assert!(
        file.contains(&format!(
            "tokens = [\"{}\"]",
            scimd_config::token::hash(&new)
        )),
        "the file holds exactly the new hash: {file}"
    );
    assert!(
        file.contains("# Operators' notes: keep me.") && file.contains("# inline note"),
        "rotate keeps comments: {file}"
    );

    until_status(&d, "acme", &old, 401, "the old token refused");
    until_status(&d, "acme", &new, 200, "the new token accepted");
    let refused = client(&d, "acme", &old).get("/Users");
    assert_eq!(refused.body["schemas"][0], ERROR_SCHEMA);
    assert!(refused.www_authenticate.is_some());
    assert_not_logged(&mut logs, &[&old, &new]);
}

#[test]
fn token_revoke_refuses_every_token_of_that_org_only() {
    let (a1, a1_hash) = new_token();
    let (a2, a2_hash) = new_token();
    let (g, g_hash) = new_token();
    let text = config(
        "",
        &[
            org("acme", &[&a1_hash, &a2_hash], ""),
            org("globex", &[&g_hash], ""),
        ],
    );
    let (d, mut logs) = start(&text, &[("acme", &a1), ("globex", &g)]);
    assert_eq!(status(&d, "acme", &a1), 200);
    assert_eq!(status(&d, "acme", &a2), 200);

    let out = scimd(&["token", "revoke", "--org", "acme"], &d.config);
    assert!(out.status.success(), "revoke failed: {}", utf8(&out.stderr));
    let file = std::fs::read_to_string(&d.config).expect("read config");
    assert!(
        !file.contains(&a1_hash) && !file.contains(&a2_hash),
        "{file}"
    );
    assert!(file.contains(&g_hash), "{file}");

    until_status(&d, "acme", &a1, 401, "the first revoked token refused");
    assert_eq!(status(&d, "acme", &a2), 401, "every token of acme is gone");
    assert_eq!(status(&d, "globex", &g), 200, "another org is untouched");

    // A revoked org comes back with a rotation.
    let out = scimd(&["token", "rotate", "--org", "acme"], &d.config);
    assert!(out.status.success(), "rotate failed: {}", utf8(&out.stderr));
    let new = utf8(&out.stdout).lines().last().expect("token").to_string();
    until_status(&d, "acme", &new, 200, "a token rotated into a revoked org");
    assert_not_logged(&mut logs, &[&a1, &a2, &g, &new]);
}

// ---- orgs come and go -----------------------------------------------------------------------

#[test]
fn an_org_added_then_removed_then_readded_keeps_its_data() {
    let (a, a_hash) = new_token();
    let acme = org("acme", &[&a_hash], "");
    let (d, _logs) = start(&config("", std::slice::from_ref(&acme)), &[("acme", &a)]);
    assert_eq!(status(&d, "acme", &a), 200);

    let (g1, g1_hash) = new_token();
    assert_eq!(
        status(&d, "globex", &g1),
        401,
        "not served before it is added"
    );
    write_in_place(
        &d.config,
        &config("", &[acme.clone(), org("globex", &[&g1_hash], "")]),
    );
    until_status(&d, "globex", &g1, 200, "the added org served");
    let globex = client(&d, "globex", &g1);
    let id = create_user(&globex, "ann@globex.com");

    write_in_place(&d.config, &config("", std::slice::from_ref(&acme)));
    until_status(&d, "globex", &g1, 401, "the removed org refused");
    assert_eq!(
        status(&d, "acme", &a),
        200,
        "the remaining org still served"
    );

    let (g2, g2_hash) = new_token();
    write_in_place(
        &d.config,
        &config("", &[acme, org("globex", &[&g2_hash], "")]),
    );
    until_status(&d, "globex", &g2, 200, "the re-added org served");
    let back = client(&d, "globex", &g2).get(&format!("/Users/{id}"));
    assert_eq!(back.status, 200, "{:?}", back.body);
    assert_eq!(back.body["userName"], "ann@globex.com");
    assert_eq!(back.body["name"]["familyName"], "Lee");
    assert_eq!(
        status(&d, "globex", &g1),
        401,
        "the re-added org has a new token"
    );
    // Removing an org never hands its data to another one.
    let other = client(&d, "acme", &a).get(&format!("/Users/{id}"));
    assert_eq!(other.status, 404);
}

// ---- broken edits ---------------------------------------------------------------------------

#[test]
fn a_broken_file_keeps_the_running_config_until_it_is_fixed() {
    let (t1, t1_hash) = new_token();
    let (d, mut logs) = start(
        &config("", &[org("acme", &[&t1_hash], "")]),
        &[("acme", &t1)],
    );
    assert_eq!(status(&d, "acme", &t1), 200);

    // Not TOML at all: the table header is never closed.
    save_by_rename(
        &d.config,
        "listen = \"127.0.0.1:0\"\n[orgs.acme\ntokens = []\n",
    );
    let line = logs.wait_for("config rejected");
    let config_path = d.config.display().to_string();
    assert!(
        line.contains(&format!("{config_path}:2:")),
        "the rejection names the file and line: {line}"
    );
    stays_status(&d, "acme", &t1, 200, "old token after a syntax error");

    // Valid TOML, invalid config: a plaintext token where a hash belongs.
    let (t2, t2_hash) = new_token();
    save_by_rename(&d.config, &config("", &[org("acme", &[&t2], "")]));
    let line = logs.wait_for("config rejected");
    assert!(
        line.contains("orgs.acme.tokens[0]") && line.contains(&format!("{config_path}:")),
        "the rejection names the key and its position: {line}"
    );
    stays_status(&d, "acme", &t1, 200, "old token after an invalid value");
    assert_eq!(
        status(&d, "acme", &t2),
        401,
        "nothing of a rejected file applies"
    );

    // Fixed, with a rotated token.
    write_in_place(&d.config, &config("", &[org("acme", &[&t2_hash], "")]));
    until_status(&d, "acme", &t2, 200, "the fixed file applied");
    assert_eq!(status(&d, "acme", &t1), 401);
    // The rejection message must not echo the plaintext token it complains about.
    assert_not_logged(&mut logs, &[&t1, &t2]);
}

#[test]
fn saving_by_rename_applies_even_when_the_file_vanishes_for_a_moment() {
    let (t1, t1_hash) = new_token();
    let (d, mut logs) = start(
        &config("", &[org("acme", &[&t1_hash], "")]),
        &[("acme", &t1)],
    );
    assert_eq!(status(&d, "acme", &t1), 200);

    let (t2, t2_hash) = new_token();
    save_by_rename(&d.config, &config("", &[org("acme", &[&t2_hash], "")]));
    until_status(&d, "acme", &t2, 200, "a save by rename applied");
    assert_eq!(status(&d, "acme", &t1), 401);

    let (t3, t3_hash) = new_token();
    save_like_vim(&d.config, &config("", &[org("acme", &[&t3_hash], "")]));
    until_status(&d, "acme", &t3, 200, "a vim-style save applied");
    assert_eq!(status(&d, "acme", &t2), 401);

    // Two more saves by rename in a row: the last one wins.
    let (t4, t4_hash) = new_token();
    let (t5, t5_hash) = new_token();
    save_by_rename(&d.config, &config("", &[org("acme", &[&t4_hash], "")]));
    save_by_rename(&d.config, &config("", &[org("acme", &[&t5_hash], "")]));
    until_status(&d, "acme", &t5, 200, "the last of two quick saves applied");
    assert_eq!(status(&d, "acme", &t4), 401);

    let rejected: Vec<_> = logs
        .all()
        .iter()
        .filter(|l| l.contains("config rejected"))
        .cloned()
        .collect();
    assert!(
        rejected.is_empty(),
        "a save by rename was rejected: {rejected:?}"
    );
}

// ---- org settings ---------------------------------------------------------------------------

#[test]
fn a_disabled_org_answers_403_keeps_its_data_and_comes_back() {
    let (t, hash) = new_token();
    let (d, _logs) = start(&config("", &[org("acme", &[&hash], "")]), &[("acme", &t)]);
    let c = client(&d, "acme", &t);
    let id = create_user(&c, "ann@acme.com");

    write_in_place(
        &d.config,
        &config("", &[org("acme", &[&hash], "enabled = false\n")]),
    );
    until_status(&d, "acme", &t, 403, "the disabled org refused");
    let r = c.get(&format!("/Users/{id}"));
    assert_eq!(r.status, 403);
    assert_eq!(r.body["schemas"], json!([ERROR_SCHEMA]));
    assert_eq!(r.body["status"], "403");
    assert!(
        r.body["detail"]
            .as_str()
            .is_some_and(|s| s.contains("disabled")),
        "{:?}",
        r.body
    );
    assert_eq!(
        r.content_type.as_deref(),
        Some("application/scim+json; charset=utf-8")
    );
    let (wrong, _) = new_token();
    assert_eq!(
        status(&d, "acme", &wrong),
        401,
        "a wrong token learns nothing about the org"
    );

    write_in_place(
        &d.config,
        &config("", &[org("acme", &[&hash], "enabled = true\n")]),
    );
    until_status(&d, "acme", &t, 200, "the re-enabled org served");
    let r = c.get(&format!("/Users/{id}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body["userName"], "ann@acme.com");
}

#[test]
fn org_settings_and_public_url_apply_to_the_next_request() {
    let (t, hash) = new_token();
    let (d, _logs) = start(&config("", &[org("acme", &[&hash], "")]), &[("acme", &t)]);
    let c = client(&d, "acme", &t);
    let user = create_user(&c, "ann@acme.com");
    let r = c.post("/Groups", &json!({"displayName": "Core"}));
    assert_eq!(r.status, 201, "{:?}", r.body);
    let group = r.body["id"].as_str().expect("id").to_string();

    write_in_place(
        &d.config,
        &config(
            "public_url = \"https://scim.example.test/\"\n",
            &[org(
                "acme",
                &[&hash],
                "team_name_max = 10\nunknown_members = \"reject\"\n",
            )],
        ),
    );
    // public_url shows in meta.location; once it does, the whole new file is in force.
    let want = format!("https://scim.example.test/scim/v2/acme/Users/{user}");
    eventually("public_url in meta.location", RELOAD, || {
        let r = c.get(&format!("/Users/{user}"));
        (r.body["meta"]["location"] == want.as_str()).then_some(())
    });

    let r = c.post("/Groups", &json!({"displayName": "Eleven char"}));
    assert_eq!(r.status, 400, "team_name_max applies: {:?}", r.body);
    assert_eq!(r.body["scimType"], "invalidValue");
    let r = c.post("/Groups", &json!({"displayName": "Ten chars!"}));
    assert_eq!(r.status, 201, "{:?}", r.body);

    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members",
                        "value": [{"value": user}, {"value": "no-such-user"}]}]
    });
    let r = c.patch(&format!("/Groups/{group}"), &patch);
    assert_eq!(
        r.status, 400,
        "unknown_members = reject applies: {:?}",
        r.body
    );
    assert_eq!(r.body["scimType"], "invalidValue");
    assert!(
        r.body["detail"]
            .as_str()
            .is_some_and(|s| s.contains("no-such-user")),
        "{:?}",
        r.body
    );
    let r = c.get(&format!("/Groups/{group}"));
    assert_eq!(
        r.body["members"].as_array().map_or(0, Vec::len),
        0,
        "a rejected PATCH applies nothing: {:?}",
        r.body
    );
}

#[test]
fn a_listen_change_is_logged_as_needing_a_restart() {
    let (t, hash) = new_token();
    let (d, mut logs) = start(&config("", &[org("acme", &[&hash], "")]), &[("acme", &t)]);
    assert_eq!(status(&d, "acme", &t), 200);

    let text = config("", &[org("acme", &[&hash], "")])
        .replace("127.0.0.1:0", "127.0.0.1:1")
        .replace("data_dir = \"data\"", "data_dir = \"elsewhere\"");
    write_in_place(&d.config, &text);
    let line = logs.wait_for("needs a restart");
    assert!(
        line.contains("listen") || line.contains("data_dir"),
        "names the key: {line}"
    );
    let line = logs.wait_for("config reloaded");
    assert!(!line.contains(&t) && !line.contains(&hash), "{line}");
    assert_eq!(status(&d, "acme", &t), 200, "still serving where it was");
    assert!(
        !d.dir.path().join("elsewhere").exists(),
        "data_dir is not moved live"
    );
}
