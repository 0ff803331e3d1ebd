//! What the daemon writes to its log: refused SCIM requests at info with their org, method,
//! path, status and scimType, never a token or a body; plain text when stderr is not a
//! terminal.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::harness::{eventually, scimd_bin, write_config, Client};

/// Starts `scimd serve` with stderr into the file `log` (a pipe's reader, not a terminal) and
/// `RUST_LOG` set to `rust_log` or unset; returns the child and its origin.
pub(crate) fn serve_logging_to(
    config: &std::path::Path,
    log: &std::path::Path,
    rust_log: Option<&str>,
) -> (std::process::Child, String) {
    let mut cmd = Command::new(scimd_bin());
    cmd.arg("serve").arg("--config").arg(config);
    match rust_log {
        Some(level) => cmd.env("RUST_LOG", level),
        None => cmd.env_remove("RUST_LOG"),
    };
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("spawn scimd");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let origin = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("scimd listening on ").map(str::to_string))
        .expect("the listening line");
    // Keep reading: a closed stdout would fail the daemon's next print.
    std::thread::spawn(move || lines.for_each(drop));
    (child, origin)
}

#[test]
fn a_refused_request_is_logged_without_its_token_or_body_and_without_colour() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, tokens) = write_config(dir.path(), &["acme"]);
    let log = dir.path().join("stderr.log");
    let (mut child, origin) = serve_logging_to(&config, &log, Some("info"));
    let c = Client {
        base: format!("{origin}/scim/v2/acme"),
        token: Some(tokens["acme"].clone()),
    };
    let secret = "body-secret-4711";
    let user = json!({"userName": "ann@acme.com", "title": secret});
    assert_eq!(c.post("/Users", &user).status, 201);
    assert_eq!(c.post("/Users", &user).status, 409);
    let text = eventually("the refusal in the log", Duration::from_secs(10), || {
        let text = std::fs::read_to_string(&log).ok()?;
        text.contains("request refused").then_some(text)
    });
    let _ = child.kill();
    let _ = child.wait();
    let line = text
        .lines()
        .find(|l| l.contains("request refused"))
        .expect("the line");
    for field in ["org=acme", "method=POST", "path=/scim/v2/acme/Users", "status=409", "scim_type=uniqueness"] {
        assert!(line.contains(field), "{field} missing: {line}");
    }
    assert!(!text.contains(secret), "the body leaked into the log");
    assert!(!text.contains(&tokens["acme"]), "the token leaked into the log");
    assert!(!text.contains('\u{1b}'), "colour escapes in a log file");
}

#[test]
fn json_logs_are_one_flat_object_per_line_with_stable_field_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, tokens) =
        crate::harness::write_config_with(dir.path(), "[log]\nformat = \"json\"\n", &[("acme", "")]);
    let log = dir.path().join("stderr.log");
    let (mut child, origin) = serve_logging_to(&config, &log, None);
    let c = Client {
        base: format!("{origin}/scim/v2/acme"),
        token: Some(tokens["acme"].clone()),
    };
    let user = json!({"userName": "ann@acme.com"});
    assert_eq!(c.post("/Users", &user).status, 201);
    assert_eq!(c.post("/Users", &user).status, 409);
    let text = eventually("the refusal in the log", Duration::from_secs(10), || {
        let text = std::fs::read_to_string(&log).ok()?;
        text.contains("request refused").then_some(text)
    });
    let _ = child.kill();
    let _ = child.wait();
    let objects: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for o in &objects {
        for key in ["timestamp", "level", "target", "message"] {
            assert!(o.get(key).is_some_and(|v| v.is_string()), "{key} missing: {o}");
        }
    }
    let refusal = objects
        .iter()
        .find(|o| o["message"] == "request refused")
        .expect("the refusal");
    assert_eq!(refusal["level"], "INFO");
    assert_eq!(refusal["org"], "acme");
    assert_eq!(refusal["method"], "POST");
    assert_eq!(refusal["path"], "/scim/v2/acme/Users");
    assert_eq!(refusal["status"], 409);
    assert_eq!(refusal["scim_type"], "uniqueness");
    assert!(!text.contains('\u{1b}'), "colour escapes in JSON logs");
}
