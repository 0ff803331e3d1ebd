//! The first-run and config-checking commands: `scimd check-config` (a summary, or the error
//! with its line and column) and `scimd serve` without a config (writes a starter, prints its
//! token once).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use crate::harness::{scimd, scimd_bin, Client};
use crate::reload::{config, drain, lines_of, new_token, org, utf8, write_in_place};

/// The 1-based line of the first line of `text` containing `needle`, and the 1-based column
/// where `at` starts in it.
fn position(text: &str, needle: &str, at: &str) -> (usize, usize) {
    let (i, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(needle))
        .expect("needle in text");
    (i + 1, line.find(at).expect("at in line") + 1)
}

fn check_config(path: &Path) -> (i32, String, String) {
    let out = scimd(&["check-config"], path);
    (
        out.status.code().expect("exit code"),
        utf8(&out.stdout),
        utf8(&out.stderr),
    )
}

#[test]
fn check_config_prints_a_summary_or_the_error_with_its_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("scimd.toml");
    let (_, h1) = new_token();
    let (_, h2) = new_token();
    let (_, h3) = new_token();
    let good = config(
        "",
        &[
            org("acme", &[&h1, &h2], ""),
            org("globex", &[], ""),
            org("initech", &[&h3], "enabled = false\n"),
        ],
    );
    write_in_place(&path, &good);
    let (code, stdout, stderr) = check_config(&path);
    assert_eq!(code, 0, "{stdout}{stderr}");
    for want in [
        "org acme: 2 token(s)",
        "org globex: 0 token(s)",
        "org initech: 1 token(s), disabled",
        "tls: off",
    ] {
        assert!(stdout.contains(want), "{want:?} missing from:\n{stdout}");
    }
    assert!(!stdout.contains(&h1), "no hashes in the summary");

    let p = path.display().to_string();
    // (file text, the line to find, where the error points in it, what the message must name)
    let bad: Vec<(String, &str, &str, &str)> = vec![
        (
            config("", &[org("acme", &[&h1], "token = []\n")]),
            "token = []",
            "token",
            "orgs.acme.token",
        ),
        (
            config("", &[org("acme", &[&h1], "team_name_max = 0\n")]),
            "team_name_max",
            "0",
            "orgs.acme.team_name_max",
        ),
        (
            config("", &[org("acme", &[&h1], "unknown_members = \"drop\"\n")]),
            "unknown_members",
            "\"drop\"",
            "orgs.acme.unknown_members",
        ),
        (
            config("", &[org("acme", &[&h1], "")]).replace("127.0.0.1:0", "localhost"),
            "listen",
            "\"localhost\"",
            "listen",
        ),
        (
            config("", &[org("bad--name", &[&h1], "")]),
            "[orgs.bad--name]",
            "bad--name",
            "orgs.bad--name",
        ),
    ];
    for (file, needle, at, key) in &bad {
        write_in_place(&path, file);
        let (code, stdout, stderr) = check_config(&path);
        assert_eq!(code, 1, "{file}\n{stdout}{stderr}");
        let (line, col) = position(file, needle, at);
        let want = format!("{p}:{line}:{col}: {key}: ");
        assert!(
            stderr.contains(&want),
            "want {want:?} in the error for\n{file}\ngot: {stderr}"
        );
    }

    // Not TOML: the position of the syntax error.
    write_in_place(&path, "listen = \"127.0.0.1:0\"\n[orgs.acme\n");
    let (code, stdout, stderr) = check_config(&path);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stderr.contains(&format!("{p}:2:")), "{stderr}");

    // No file at all.
    let (code, _, stderr) = check_config(&dir.path().join("missing.toml"));
    assert_eq!(code, 1);
    assert!(stderr.contains("missing.toml"), "{stderr}");
}

// ---- the first serve ------------------------------------------------------------------------

/// Kills the child when dropped, whatever the test's outcome.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_without_a_config_writes_a_starter_and_prints_its_token_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path: PathBuf = dir.path().join("scimd.toml");
    let mut child = Command::new(scimd_bin())
        .arg("serve")
        .arg("--config")
        .arg(&path)
        .current_dir(dir.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scimd");
    let stdout = lines_of(child.stdout.take().expect("stdout"));
    let stderr = lines_of(child.stderr.take().expect("stderr"));
    let mut child = Killed(child);

    // Everything up to "listening" (when the default port is free) or the end of output (when
    // 127.0.0.1:8080 is taken and serve exits after writing the starter).
    let mut printed = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let listening = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match stdout.recv_timeout(left) {
            Ok(line) if line.starts_with("scimd listening on ") => break true,
            Ok(line) => printed.push(line),
            Err(RecvTimeoutError::Disconnected) => break false,
            Err(RecvTimeoutError::Timeout) => panic!("serve printed only {printed:?}"),
        }
    };

    let tokens: Vec<&String> = printed.iter().filter(|l| l.contains("scimd_")).collect();
    assert_eq!(tokens.len(), 1, "the token is printed once: {printed:?}");
    let token = tokens[0].clone();
    assert!(
        token.starts_with("scimd_") && !token.contains(' '),
        "the token stands alone on its line: {token:?}"
    );
    assert!(
        printed
            .iter()
            .any(|l| l.contains("http://127.0.0.1:8080/scim/v2/example")),
        "prints the base URL: {printed:?}"
    );

    let file = std::fs::read_to_string(&path).expect("the starter config was written");
    assert!(!file.contains(&token), "the token is not in the file");
    assert!(file.contains(&scimd_config::token::hash(&token)), "{file}");
    assert!(file.contains("[orgs.example]"), "{file}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "only the owner may read the config: {mode:o}"
        );
    }
    let (code, summary, err) = check_config(&path);
    assert_eq!(code, 0, "the starter config is valid: {err}");
    assert!(summary.contains("org example: 1 token(s)"), "{summary}");

    if listening {
        let c = Client {
            base: "http://127.0.0.1:8080/scim/v2/example".into(),
            token: Some(token.clone()),
        };
        let r = c.get("/Users?count=1");
        assert_eq!(r.status, 200, "the printed token works: {:?}", r.body);
        drop(child);
    } else {
        // The default port is taken on this machine: serve must say so and exit non-zero.
        let status = child.0.wait().expect("wait");
        assert!(!status.success());
    }
    let logged = drain(&stderr);
    if !listening {
        assert!(
            logged.iter().any(|l| l.contains("127.0.0.1:8080")),
            "the bind error names the address: {logged:?}"
        );
    }
    assert!(
        logged.iter().all(|l| !l.contains(&token)),
        "the token is never logged: {logged:?}"
    );
}
