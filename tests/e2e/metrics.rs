//! `[metrics] listen`: Prometheus text at `GET /metrics` on a listener of its own, whose
//! counters move with the requests the SCIM port answers; labels never carry what a client
//! made up; each org's last request, last write and worst events consumer's lag are gauges.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use crate::harness::Daemon;

/// The metrics URL the daemon printed after its listening line.
fn metrics_url(d: &Daemon) -> String {
    loop {
        let line = d
            .stdout
            .recv_timeout(Duration::from_secs(30))
            .expect("the daemon printed no metrics line");
        if let Some(url) = line.trim().strip_prefix("metrics: ") {
            return url.to_string();
        }
    }
}

fn scrape(url: &str) -> String {
    let resp = ureq::get(url)
        .timeout(Duration::from_secs(30))
        .call()
        .expect("scrape /metrics");
    assert!(
        resp.header("Content-Type")
            .is_some_and(|t| t.contains("openmetrics-text") || t.contains("text/plain")),
        "content type {:?}",
        resp.header("Content-Type")
    );
    resp.into_string().expect("metrics text")
}

/// Parses the exposition format strictly enough to fail on anything a Prometheus server
/// would reject: every sample belongs to a declared family, names and labels are well formed,
/// values are numbers. Returns each sample line's `name{labels}` with its value.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let valid_name = |n: &str| {
        !n.is_empty()
            && n.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let mut families: Vec<String> = Vec::new();
    let mut samples = BTreeMap::new();
    let mut saw_eof = false;
    for line in text.lines() {
        assert!(!saw_eof, "a line after # EOF: {line}");
        if line == "# EOF" {
            saw_eof = true;
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let kind = parts.next().unwrap_or_default();
            let name = parts.next().unwrap_or_default();
            assert!(matches!(kind, "HELP" | "TYPE" | "UNIT"), "bad comment: {line}");
            assert!(valid_name(name), "bad family name: {line}");
            if kind == "TYPE" {
                let ty = parts.next().unwrap_or_default();
                assert!(
                    ["counter", "gauge", "histogram", "summary", "unknown", "info", "stateset", "gaugehistogram"]
                        .contains(&ty),
                    "bad type: {line}"
                );
                families.push(name.to_string());
            }
            continue;
        }
        assert!(!line.is_empty(), "an empty line in the exposition");
        let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        let name = series.split('{').next().unwrap_or_default();
        assert!(valid_name(name), "bad sample name: {line}");
        if let Some(labels) = series.strip_prefix(name) {
            if !labels.is_empty() {
                let inner = labels
                    .strip_prefix('{')
                    .and_then(|l| l.strip_suffix('}'))
                    .unwrap_or_else(|| panic!("bad labels in {line}"));
                for pair in inner.split("\",").filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once('=').expect("label=value");
                    assert!(valid_name(k), "bad label name in {line}");
                    assert!(v.starts_with('"'), "unquoted label value in {line}");
                }
            }
        }
        assert!(
            families.iter().any(|f| name.starts_with(f.as_str())),
            "sample of an undeclared family: {line}"
        );
        samples.insert(series.to_string(), value);
    }
    assert!(saw_eof, "no # EOF at the end");
    samples
}

fn value(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

#[test]
fn metrics_parse_as_prometheus_text_and_move_with_requests() {
    let d = Daemon::start_with("[metrics]\nlisten = \"127.0.0.1:0\"\n", &[("acme", "")]);
    let url = metrics_url(&d);
    assert!(!url.contains(d.addr()), "metrics must not share the SCIM port");
    let c = d.client("acme");

    let created = "scimd_http_requests_total{org=\"acme\",method=\"POST\",resource=\"Users\",status=\"201\"}";
    let refused = "scimd_http_requests_total{org=\"acme\",method=\"POST\",resource=\"Users\",status=\"409\"}";
    let failed_auth = "scimd_auth_failures_total{org=\"acme\"}";
    let before = parse(&scrape(&url));

    c.post("/Users", &json!({"userName": "ann@acme.com"})).expect(201);
    c.post("/Users", &json!({"userName": "bob@acme.com"})).expect(201);
    c.post("/Users", &json!({"userName": "bob@acme.com"})).expect(409);
    c.with_token(Some("wrong")).get("/Users").expect(401);
    // A made-up org and resource: counted, but under fixed labels only.
    let stranger = crate::harness::Client {
        base: format!("{}/scim/v2/made-up-org-4711", d.origin),
        token: Some("x".into()),
    };
    stranger.get("/Nonsense-4711").expect(401);

    let text = scrape(&url);
    let after = parse(&text);
    assert_eq!(value(&after, created) - value(&before, created), 2.0, "{text}");
    assert_eq!(value(&after, refused) - value(&before, refused), 1.0, "{text}");
    assert_eq!(value(&after, failed_auth) - value(&before, failed_auth), 1.0);
    assert!(value(&after, "scimd_auth_failures_total{org=\"-\"}") >= 1.0);
    assert!(!text.contains("4711"), "a client's made-up text became a label:\n{text}");

    // The writes went through group commit, and the latency histogram saw them.
    assert!(value(&after, "scimd_commit_batch_size_count") >= 2.0, "{text}");
    assert!(value(&after, "scimd_commit_duration_seconds_count") >= 2.0);
    assert!(
        value(
            &after,
            "scimd_http_request_duration_seconds_count{method=\"POST\",resource=\"Users\"}"
        ) >= 3.0
    );
    assert!(value(&after, "scimd_open_connections") >= 0.0);
    // On PostgreSQL the database's size, measured in the background (never per scrape).
    let size = crate::harness::eventually("the store's size", Duration::from_secs(20), || {
        let v = value(&parse(&scrape(&url)), "scimd_store_size_bytes");
        (v > 0.0).then_some(v)
    });
    assert!(size > 0.0);

    // Not on the SCIM port, and nothing else on the metrics port.
    let on_scim = ureq::get(&format!("{}/metrics", d.origin)).call();
    assert!(matches!(on_scim, Err(ureq::Error::Status(404, _))));
    let elsewhere = ureq::get(&url.replace("/metrics", "/other")).call();
    assert!(matches!(elsewhere, Err(ureq::Error::Status(404, _))));
}

#[test]
fn a_reload_is_counted_applied_or_rejected() {
    let d = Daemon::start_with("[metrics]\nlisten = \"127.0.0.1:0\"\n", &[("acme", "")]);
    let url = metrics_url(&d);
    let text = std::fs::read_to_string(&d.config).expect("config");
    std::fs::write(&d.config, format!("{text}\n[orgs.other]\ntokens = []\n")).expect("edit config");
    crate::harness::eventually("an applied reload", Duration::from_secs(20), || {
        let s = parse(&scrape(&url));
        (value(&s, "scimd_config_reloads_total{result=\"applied\"}") >= 1.0).then_some(())
    });
    std::fs::write(&d.config, format!("{text}\nnot valid toml [[[\n")).expect("break config");
    crate::harness::eventually("a rejected reload", Duration::from_secs(20), || {
        let s = parse(&scrape(&url));
        (value(&s, "scimd_config_reloads_total{result=\"rejected\"}") >= 1.0).then_some(())
    });
}

#[test]
fn each_orgs_last_request_last_write_and_consumer_lag_are_gauges() {
    let (d, event_tokens) = crate::events::start(
        "[metrics]\nlisten = \"127.0.0.1:0\"\n",
        &["acme", "globex"],
    );
    let url = metrics_url(&d);
    let unix_now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs_f64()
    };
    let started = unix_now().floor();
    let c = d.client("acme");
    c.create_user("ann@acme.com");
    c.create_user("bob@acme.com");
    // A consumer that has taken nothing yet: it lags by every event of the org.
    crate::events::consumer(&d, "acme", &event_tokens["acme"])
        .get("?after=0")
        .expect(200);

    let last_request = "scimd_org_last_request_timestamp_seconds{org=\"acme\"}";
    let last_write = "scimd_org_last_write_timestamp_seconds{org=\"acme\"}";
    let lag = "scimd_events_consumer_lag{org=\"acme\"}";
    // The gauges are recomputed every few seconds.
    let s = crate::harness::eventually("the health gauges", Duration::from_secs(30), || {
        let s = parse(&scrape(&url));
        [last_request, last_write, lag]
            .iter()
            .all(|k| s.contains_key(*k))
            .then_some(s)
    });
    let now = unix_now().ceil();
    for k in [last_request, last_write] {
        let t = value(&s, k);
        assert!((started..=now).contains(&t), "{k} = {t}, not in {started}..={now}");
    }
    assert_eq!(value(&s, lag), 2.0, "{s:?}");
    // An org nobody talked to has no series, rather than a zero that reads as 1970.
    assert!(!s.keys().any(|k| k.contains("org=\"globex\"") && k.starts_with("scimd_org_")));
    assert!(!s.contains_key("scimd_events_consumer_lag{org=\"globex\"}"));
}
