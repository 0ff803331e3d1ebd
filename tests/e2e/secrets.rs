//! Secrets stay secret, against the real binary: a webhook URL's path and query (where
//! receivers put tokens) reach no log line, no `scimd webhook test` or `webhook add` output,
//! no dashboard message and no metric; a config readable by others that holds a webhook secret
//! is warned about at start; a rotated config is written 0600; `store copy` warns about a
//! password on its command line.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::process::Output;
use std::time::Duration;

use crate::harness::{eventually, scimd, store_table};
use crate::receiver::{secret, Receiver};
use crate::reload::{self, config, new_token, org, utf8};

const PATH_SECRET: &str = "SECRETPATH7c1e";
const QUERY_SECRET: &str = "SECRETQ93b0";

fn said(out: &Output) -> String {
    format!("{}{}", utf8(&out.stdout), utf8(&out.stderr))
}

fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains(PATH_SECRET) && !text.contains(QUERY_SECRET),
        "{what} shows the webhook URL's secrets:\n{text}"
    );
}

/// The dashboard's view of the orgs: a hello and a snapshot over the control socket.
fn snapshot(socket: &std::path::Path) -> String {
    let stream = UnixStream::connect(socket).expect("connect to the control socket");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut w = stream.try_clone().expect("clone");
    w.write_all(b"{\"type\":\"hello\",\"version\":1}\n{\"type\":\"snapshot\"}\n")
        .expect("ask");
    let mut lines = BufReader::new(stream).lines();
    let hello = lines.next().expect("hello").expect("hello line");
    assert!(hello.contains("\"hello\""), "{hello}");
    lines.next().expect("snapshot").expect("snapshot line")
}

#[test]
fn a_webhook_urls_path_and_query_reach_no_log_output_dashboard_or_metric() {
    let receiver = Receiver::start();
    let host_port = receiver.url().split('/').nth(2).unwrap().to_string();
    let url = format!("http://{host_port}/hook/{PATH_SECRET}?token={QUERY_SECRET}");
    let key = secret();
    let (token, hash) = new_token();
    let hook = format!("\n[[orgs.acme.webhooks]]\nurl = \"{url}\"\nsecret = \"{key}\"\n");
    let top = format!("{}\n[metrics]\nlisten = \"127.0.0.1:0\"\n", store_table());
    let (d, mut logs) = reload::start(&config(&top, &[org("acme", &[&hash], &hook)]), &[]);
    let metrics = eventually("the metrics line", Duration::from_secs(30), || {
        let line = d.stdout.recv_timeout(Duration::from_secs(1)).ok()?;
        line.trim().strip_prefix("metrics: ").map(str::to_string)
    });
    let c = reload::client(&d, "acme", &token);

    // A failing delivery, then a retry that works: every line the worker logs.
    receiver.answer(500);
    c.create_user("ann@acme.com");
    let failed = logs.wait_for("webhook delivery failed; retrying with backoff");
    assert!(failed.contains("127.0.0.1"), "{failed}");
    receiver.answer(200);
    logs.wait_for("webhook delivered after retries");
    let started = logs
        .all()
        .iter()
        .find(|l| l.contains("webhook delivery started"))
        .cloned()
        .unwrap_or_default();
    assert!(started.contains("endpoint="), "{started}");

    let pinged = scimd(&["webhook", "test", "--org", "acme"], &d.config);
    assert!(pinged.status.success(), "{}", said(&pinged));
    assert!(said(&pinged).contains("(127.0.0.1): ok (HTTP 200)"), "{}", said(&pinged));
    assert_clean("scimd webhook test", &said(&pinged));

    let other = format!("http://{host_port}/other/{PATH_SECRET}?token={QUERY_SECRET}");
    let added = scimd(&["webhook", "add", "--org", "acme", "--url", &other], &d.config);
    assert!(added.status.success(), "{}", said(&added));
    assert_clean("scimd webhook add", &said(&added));
    logs.wait_for("config reloaded");

    let wire = snapshot(&d.dir.path().join("data").join("scimd.sock"));
    assert!(wire.contains("\"host\":\"127.0.0.1\""), "{wire}");
    assert_clean("the dashboard's snapshot", &wire);

    let scraped = ureq::get(&metrics)
        .timeout(Duration::from_secs(30))
        .call()
        .expect("scrape")
        .into_string()
        .expect("metrics text");
    assert!(scraped.contains("webhook_attempts"), "{scraped}");
    assert_clean("/metrics", &scraped);

    let (_dir, _path, _) = d.stop();
    let all = logs.all().join("\n");
    assert_clean("the daemon's log", &all);
}

#[test]
fn a_readable_config_with_a_webhook_secret_is_warned_about_and_a_rotation_makes_it_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("scimd.toml");
    let (token, hash) = new_token();
    let hook = format!(
        "\n[[orgs.acme.webhooks]]\nurl = \"http://127.0.0.1:9/hook\"\nsecret = \"{}\"\n",
        secret()
    );
    reload::write_in_place(&path, &config(&store_table(), &[org("acme", &[&hash], &hook)]));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let (d, mut logs) = reload::start_at(dir, path.clone(), &[("acme", token.as_str())]);
    let line = logs.wait_for("is readable by group or others (mode 644)");
    assert!(line.contains("a webhook signing secret"), "{line}");
    assert!(!line.contains("whsec_"), "{line}");

    let rotated = scimd(&["token", "rotate", "--org", "acme"], &d.config);
    assert!(rotated.status.success(), "{}", said(&rotated));
    let mode = std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn store_copy_reads_the_url_from_the_environment_and_warns_about_a_password_argument() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("scimd.toml");
    reload::write_in_place(&path, &config("", &[org("acme", &[], "")]));
    let run = |args: &[&str], env: Option<&str>| {
        let mut cmd = std::process::Command::new(crate::harness::scimd_bin());
        cmd.args(args).arg("--config").arg(&path);
        match env {
            Some(url) => cmd.env("SCIMD_DATABASE_URL", url),
            None => cmd.env_remove("SCIMD_DATABASE_URL"),
        };
        cmd.output().expect("run scimd")
    };
    let with_password = run(
        &["store", "copy", "--to", "postgres://u:hunter2@127.0.0.1:1/db"],
        None,
    );
    let err = utf8(&with_password.stderr);
    let warning: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warning.len(), 1, "{err}");
    assert!(warning[0].contains("SCIMD_DATABASE_URL"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");

    let without = run(&["store", "copy", "--to", "postgres://u@127.0.0.1:1/db"], None);
    assert!(!utf8(&without.stderr).contains("warning"), "{}", said(&without));

    let nowhere = run(&["store", "copy"], None);
    assert!(!nowhere.status.success());
    assert!(utf8(&nowhere.stderr).contains("SCIMD_DATABASE_URL"), "{}", said(&nowhere));
    // From the environment: on to the copy, which finds no store to copy here.
    let from_env = run(&["store", "copy"], Some("postgres://u:pw@127.0.0.1:1/db"));
    assert!(!from_env.status.success());
    let text = said(&from_env);
    assert!(text.contains("there is no store"), "{text}");
    assert!(!text.contains("warning"), "{text}");
}
