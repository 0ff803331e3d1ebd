//! `scimd status`: asks the running daemon over its control socket how it and each org are
//! doing ("is the IdP still talking to us?"), and words the answer as a table or, with
//! `--json`, as the JSON documented in docs/operations.md, a contract for scripts and
//! monitoring. The wire types carry more (the dashboard's sparkline); the JSON is built here
//! field by field so the wire can grow without changing it.

use std::time::Duration;

use scimd_config::Config;
use scimd_core::wire::{ClientMsg, DaemonStatus, OrgHealth, ServerMsg, WebhookSummary};
use scimd_tui::when::{relative, span, unix_secs};
use serde_json::{json, Value};

/// How long the daemon may take to answer: one read of each org's counts.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What the daemon said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub daemon: DaemonStatus,
    pub orgs: Vec<OrgHealth>,
}

/// Asks the daemon of `config` (its control socket); Err says why no answer came: nothing
/// listens there, or what answered is not a daemon that knows `status`.
pub fn ask(config: &Config) -> Result<Status, String> {
    let socket = &config.socket;
    match crate::admin::ask_daemon(socket, &ClientMsg::Status, TIMEOUT) {
        None => Err(format!(
            "no daemon answers on {} (is `scimd serve` running with this config?)",
            socket.display()
        )),
        Some(Ok(ServerMsg::Status { daemon, orgs })) => Ok(Status { daemon, orgs }),
        Some(Ok(other)) => Err(format!("the daemon answered something else: {other:?}")),
        Some(Err(err)) => Err(format!("asking the daemon on {}: {err}", socket.display())),
    }
}

/// An endpoint's state in one word: `ok`, or `retrying` while the next event keeps failing
/// (the Webhooks view's red line).
pub fn webhook_state(hook: &WebhookSummary) -> &'static str {
    if hook.attempts > 0 {
        "retrying"
    } else {
        "ok"
    }
}

/// The `--json` document.
pub fn to_json(s: &Status) -> Value {
    let orgs: Vec<Value> = s
        .orgs
        .iter()
        .map(|o| {
            json!({
                "name": o.name,
                "users": o.users,
                "teams": o.teams,
                "last_request": o.last_request.as_ref().map(|r| json!({
                    "time": r.time,
                    "method": r.method,
                    "resource": r.resource,
                    "status": r.status,
                })),
                "last_write": o.last_write,
                "requests_1h": o.requests_1h,
                "refused_1h": o.refused_1h,
                "unauthorized_1h": o.unauthorized_1h,
                "events": {
                    "newest": o.events.newest,
                    "consumers": o.events.consumers.iter().map(|c| json!({
                        "token": c.token,
                        "last_poll": c.last_poll,
                        "cursor": c.cursor,
                        "lag": c.lag,
                    })).collect::<Vec<_>>(),
                },
                "webhooks": o.webhooks.iter().map(|h| json!({
                    "endpoint": h.endpoint,
                    "host": h.host,
                    "delivered": h.delivered,
                    "backlog": h.backlog,
                    "failed": h.failed,
                    "state": webhook_state(h),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "daemon": {
            "version": s.daemon.version,
            "uptime_secs": s.daemon.uptime_secs,
            "store": s.daemon.store,
            "healthy": s.daemon.healthy,
        },
        "orgs": orgs,
    })
}

/// `t` relative to the daemon's clock, or `-`.
fn ago(t: Option<&str>, now: Option<i64>) -> String {
    match (t.and_then(unix_secs), now) {
        (Some(t), Some(now)) => relative(t, now),
        (Some(_), None) => t.unwrap_or("-").to_string(),
        _ => "-".to_string(),
    }
}

/// The table: the daemon's line, then one row per org.
pub fn table(s: &Status) -> String {
    let d = &s.daemon;
    let now = unix_secs(&d.now);
    let mut out = format!(
        "scimd {}, up {}, store {}: {}\n",
        d.version,
        span(d.uptime_secs),
        d.store,
        if d.healthy { "healthy" } else { "UNHEALTHY" }
    );
    let header = [
        "ORG",
        "USERS",
        "TEAMS",
        "LAST REQUEST",
        "LAST WRITE",
        "REQ/1H",
        "REFUSED",
        "401",
        "LAG",
        "WEBHOOKS",
    ];
    let mut rows: Vec<[String; 10]> = vec![header.map(str::to_string)];
    for o in &s.orgs {
        let last = match &o.last_request {
            Some(r) => format!(
                "{} {} {} ({})",
                r.method,
                r.resource,
                r.status,
                ago(Some(&r.time), now)
            ),
            None => "-".to_string(),
        };
        let lag = o.events.consumers.iter().map(|c| c.lag).max();
        let retrying = o.webhooks.iter().filter(|h| h.attempts > 0).count();
        let hooks = match (o.webhooks.len(), retrying) {
            (0, _) => "-".to_string(),
            (n, 0) => format!("{n} ok"),
            (n, r) => format!("{n}, {r} retrying"),
        };
        rows.push([
            o.name.clone(),
            o.users.to_string(),
            o.teams.to_string(),
            last,
            ago(o.last_write.as_deref(), now),
            o.requests_1h.to_string(),
            o.refused_1h.to_string(),
            o.unauthorized_1h.to_string(),
            lag.map_or("-".to_string(), |l| l.to_string()),
            hooks,
        ]);
    }
    let widths: Vec<usize> = (0..10)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    // Text columns to the left, numbers to the right, as `ls -l` and `ps` do.
    let numeric = [
        false, true, true, false, false, true, true, true, true, false,
    ];
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                if numeric[i] {
                    format!("{cell:>w$}", w = widths[i])
                } else {
                    format!("{cell:<w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    if s.orgs.is_empty() {
        out.push_str("no orgs configured\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use scimd_core::wire::{ConsumerHealth, EventsHealth, LastRequest};

    fn status() -> Status {
        Status {
            daemon: DaemonStatus {
                version: "0.1.0".into(),
                uptime_secs: 3720,
                store: "redb".into(),
                healthy: true,
                now: "2025-03-04T12:00:00Z".into(),
            },
            orgs: vec![OrgHealth {
                name: "acme".into(),
                users: 49,
                teams: 2,
                last_request: Some(LastRequest {
                    time: "2025-03-04T11:59:48.000Z".into(),
                    method: "PATCH".into(),
                    resource: "Groups".into(),
                    status: 204,
                }),
                last_write: None,
                requests_1h: 12,
                refused_1h: 1,
                unauthorized_1h: 2,
                unauthorized_1m: 0,
                requests_10m: vec![0; 10],
                events: EventsHealth {
                    newest: 9,
                    consumers: vec![ConsumerHealth {
                        token: "1a2b3c4d".into(),
                        last_poll: "2025-03-04T11:59:00Z".into(),
                        cursor: 7,
                        lag: 2,
                    }],
                },
                webhooks: vec![WebhookSummary {
                    endpoint: "e534fc2d6fd7ed12".into(),
                    host: "hooks.acme.com".into(),
                    delivered: 9,
                    backlog: 0,
                    failed: 0,
                    attempts: 3,
                    last_error: Some("HTTP 503".into()),
                    next_retry: None,
                    last_success: None,
                }],
            }],
        }
    }

    #[test]
    fn the_json_has_exactly_the_documented_shape() {
        let v = to_json(&status());
        let keys = |v: &Value| -> Vec<String> {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(keys(&v), ["daemon", "orgs"]);
        assert_eq!(
            keys(&v["daemon"]),
            ["healthy", "store", "uptime_secs", "version"]
        );
        let org = &v["orgs"][0];
        assert_eq!(
            keys(org),
            [
                "events",
                "last_request",
                "last_write",
                "name",
                "refused_1h",
                "requests_1h",
                "teams",
                "unauthorized_1h",
                "users",
                "webhooks"
            ]
        );
        assert_eq!(org["last_request"]["status"], 204);
        assert_eq!(org["last_write"], Value::Null);
        assert_eq!(
            org["events"]["consumers"][0],
            json!({"token": "1a2b3c4d", "last_poll": "2025-03-04T11:59:00Z", "cursor": 7, "lag": 2})
        );
        assert_eq!(
            org["webhooks"][0],
            json!({"endpoint": "e534fc2d6fd7ed12", "host": "hooks.acme.com", "delivered": 9,
                   "backlog": 0, "failed": 0, "state": "retrying"})
        );
    }

    #[test]
    fn the_table_has_a_row_per_org_with_times_relative_to_the_daemon() {
        let text = table(&status());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "scimd 0.1.0, up 1h 02m, store redb: healthy");
        assert!(lines[1].starts_with("ORG "), "{text}");
        assert!(lines[2].starts_with("acme "), "{text}");
        assert!(lines[2].contains("PATCH Groups 204 (12s ago)"), "{text}");
        assert!(lines[2].ends_with("1, 1 retrying"), "{text}");
        assert_eq!(lines.len(), 3);
    }
}
