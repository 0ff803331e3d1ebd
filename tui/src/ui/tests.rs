//! Renders of every view against fixed state, and the docs capture they keep current.

use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;
use scimd_core::wire::{
    ConsumerHealth, EventsHealth, LastRequest, MemberSummary, OrgHealth, OrgSummary, ServerMsg,
    TeamSummary, UserSummary,
};
use unicode_width::UnicodeWidthStr;

use super::*;
use crate::app::tests::{chr, hook, info, key, org, record};
use crate::app::Msg;
use crossterm::event::KeyCode;

/// The buffer as text lines, one per row, trailing spaces trimmed; the blank cell after a
/// wide character is skipped so lines read as they look.
pub fn screen_text(buffer: &Buffer) -> Vec<String> {
    let area = buffer.area;
    (0..area.height)
        .map(|y| {
            let mut line = String::new();
            let mut skip = 0;
            for x in 0..area.width {
                let sym = buffer[(x, y)].symbol();
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                line.push_str(sym);
                skip = sym.width().saturating_sub(1);
            }
            line.trim_end().to_string()
        })
        .collect()
}

fn draw(app: &App, w: u16, h: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| render(app, f)).unwrap();
    screen_text(terminal.backend().buffer())
}

/// The failing endpoint's last error, as a receiver might word it.
const HOOK_ERROR: &str = "HTTP 503 Service Unavailable: upstream is restarting";

/// The sample's orgs: acme with a healthy and a failing endpoint, globex with none. The
/// daemon's clock reads 12:02:05 (started 11:00:00, up 3725 s).
fn sample_orgs() -> Vec<OrgSummary> {
    let mut healthy = hook("hooks.acme.com", 1042, 0, 0, None);
    healthy.last_success = Some("2025-03-04T12:02:03.412Z".into());
    let mut failing = hook("crm.example.net", 1037, 5, 3, Some(HOOK_ERROR));
    failing.failed = 1;
    failing.next_retry = Some("2025-03-04T12:02:47.250Z".into());
    failing.last_success = Some("2025-03-04T11:58:10Z".into());
    let mut acme = org("acme", 42, 40, 5);
    acme.webhooks = vec![healthy, failing];
    vec![acme, org("globex", 7, 7, 1)]
}

/// A dashboard with a little of everything, used by the tests and the docs capture.
pub fn sample() -> App {
    let mut app = App::new("/var/lib/scimd/scimd.sock");
    app.update(Msg::Connected(info()));
    app.update(Msg::Server(ServerMsg::Snapshot {
        orgs: sample_orgs(),
    }));
    let mut requests = 100;
    for (i, n) in [0u64, 3, 8, 12, 6, 2, 9, 14, 11, 4, 1, 7]
        .iter()
        .enumerate()
    {
        requests += n;
        app.update(Msg::Server(ServerMsg::Counters {
            requests,
            errors: if i > 8 { 2 } else { 0 },
            uptime_secs: 3725,
            orgs: sample_orgs(),
            health: sample_health(),
        }));
    }
    let mut rows = vec![
        record(101, "acme", "ann@acme.com", "created", 201),
        record(102, "acme", "bob@acme.com", "updated", 200),
        record(103, "globex", "zoe@globex.com", "created", 201),
        record(104, "acme", "carl@acme.com", "deactivated", 200),
        record(
            105,
            "acme",
            "Engineering",
            "created, added 2 members, skipped 1 unknown member id",
            201,
        ),
        record(
            106,
            "acme",
            "dan@acme.com",
            "failed: User with userName dan@acme.com already exists.",
            409,
        ),
        record(107, "acme", "", "authentication failed", 401),
        record(108, "acme", "Eng", "renamed Eng to Platform", 200),
    ];
    rows[1].method = "PATCH".into();
    rows[3].method = "PATCH".into();
    rows[4].resource = "Group".into();
    rows[5].scim_type = Some("uniqueness".into());
    rows[6].resource = "auth".into();
    rows[6].name = None;
    rows[6].id = None;
    rows[6].client = "curl/8.5.0".into();
    rows[6].method = "GET".into();
    rows[7].resource = "Group".into();
    rows[7].method = "PATCH".into();
    rows[7].client = "Entra ID".into();
    for r in rows {
        app.update(Msg::Server(ServerMsg::Activity { record: r }));
    }
    app.update(Msg::Server(ServerMsg::Teams {
        org: "acme".into(),
        teams: vec![
            TeamSummary {
                id: "t1".into(),
                name: "Design".into(),
                members: 4,
            },
            TeamSummary {
                id: "t2".into(),
                name: "Platform".into(),
                members: 2,
            },
        ],
    }));
    app.update(Msg::Server(ServerMsg::Users {
        org: "acme".into(),
        users: vec![
            UserSummary {
                id: "u1".into(),
                user_name: "ann@acme.com".into(),
                display_name: Some("Ann Lee".into()),
                active: true,
                teams: vec!["Design".into(), "Platform".into()],
            },
            UserSummary {
                id: "u2".into(),
                user_name: "carl@acme.com".into(),
                display_name: None,
                active: false,
                teams: vec![],
            },
        ],
    }));
    // The dashboard opens on Orgs (its own tests are in `orgs/tests.rs`); these start on
    // Activity, as the captures do after the Orgs one.
    app.view = View::Activity;
    app
}

/// The sample's health: acme busy and well, its consumer 2 events behind; globex's token
/// refused for the last minutes. The daemon's clock reads 12:02:05.
pub fn sample_health() -> Vec<OrgHealth> {
    let hooks = sample_orgs()[0].webhooks.clone();
    vec![
        OrgHealth {
            name: "acme".into(),
            users: 42,
            teams: 5,
            last_request: Some(LastRequest {
                time: "2025-03-04T12:02:03.412Z".into(),
                method: "PATCH".into(),
                resource: "Groups".into(),
                status: 204,
            }),
            last_write: Some("2025-03-04T12:02:03.413Z".into()),
            requests_1h: 311,
            refused_1h: 2,
            unauthorized_1h: 0,
            unauthorized_1m: 0,
            requests_10m: vec![12, 30, 28, 41, 35, 20, 33, 40, 38, 24],
            events: EventsHealth {
                newest: 1042,
                consumers: vec![ConsumerHealth {
                    token: "1a2b3c4d".into(),
                    last_poll: "2025-03-04T12:02:04Z".into(),
                    cursor: 1040,
                    lag: 2,
                }],
            },
            webhooks: hooks,
        },
        OrgHealth {
            name: "globex".into(),
            users: 7,
            teams: 1,
            last_request: Some(LastRequest {
                time: "2025-03-04T11:59:01Z".into(),
                method: "GET".into(),
                resource: "Users".into(),
                status: 401,
            }),
            last_write: Some("2025-03-02T09:14:00Z".into()),
            requests_1h: 14,
            refused_1h: 0,
            unauthorized_1h: 14,
            unauthorized_1m: 3,
            requests_10m: vec![2, 1, 0, 1, 2, 1, 3, 2, 1, 1],
            events: EventsHealth::default(),
            webhooks: Vec::new(),
        },
    ]
}

#[test]
fn activity_screen_at_80x24() {
    let lines = draw(&sample(), 80, 24);
    assert_eq!(lines.len(), 24);
    assert!(lines[0].starts_with(" scimd ● connected  http://127.0.0.1:8080  up 1h 02m"));
    assert!(lines[0].contains("2 orgs · 49 users"), "{}", lines[0]);
    assert!(lines[1].starts_with(" req/s "));
    assert!(lines[1].contains("errors"), "{}", lines[1]);
    assert!(
        lines[2].contains("Activity  │  Teams  │  Users"),
        "{}",
        lines[2]
    );
    assert!(lines[2].contains("org all orgs"), "{}", lines[2]);
    assert!(lines[3].starts_with("Time     Org      Request      Name"));
    // Newest first, summaries clipped to the screen with a visible cut.
    assert!(lines[4].contains("PATCH Group  Eng"), "{}", lines[4]);
    assert!(lines[4].contains("renamed Eng to Platform"));
    assert!(lines[5].contains("authentication failed"));
    assert!(lines[5].contains("401"));
    assert!(
        lines[7].contains("created, added 2 members,…"),
        "{}",
        lines[7]
    );
    assert!(lines.iter().all(|l| l.width() <= 80));
    assert!(lines[23].contains("Tab view"), "{}", lines[23]);
    assert!(lines[23].contains("q quit"), "{}", lines[23]);
}

#[test]
fn rows_are_colored_by_outcome() {
    let app = sample();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| render(&app, f)).unwrap();
    let buf = terminal.backend().buffer();
    // Row 4 is the newest record (selected: reversed, green), 5 the 401, 6 the 409.
    assert_eq!(buf[(70, 5)].fg, Color::Magenta);
    assert_eq!(buf[(70, 6)].fg, Color::Yellow);
    assert_eq!(buf[(70, 8)].fg, Color::Green);
    assert!(buf[(0, 4)].modifier.contains(Modifier::REVERSED));
}

#[test]
fn control_characters_from_the_idp_are_escaped_on_screen() {
    let mut app = App::new("/s");
    app.update(Msg::Connected(info()));
    app.view = View::Activity;
    let mut r = record(1, "acme", "evil\u{1b}[2J\nname", "created", 201);
    r.summary = "created\r".into();
    app.update(Msg::Server(ServerMsg::Activity { record: r }));
    let lines = draw(&app, 80, 24);
    assert!(lines[4].contains("evil^[[2J^Jname"), "{}", lines[4]);
    assert!(lines[4].contains("created^M"), "{}", lines[4]);
    let text = lines.join("\n");
    assert!(!text.contains('\u{1b}'));
    // The detail view escapes too.
    app.update(key(KeyCode::Enter));
    let lines = draw(&app, 80, 24);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Name      evil^[[2J^Jname")),
        "{lines:#?}"
    );
}

#[test]
fn long_names_are_truncated_with_a_marker() {
    let mut app = App::new("/s");
    app.update(Msg::Connected(info()));
    app.view = View::Activity;
    let long = "a-very-long-user-name-that-goes-on@example.com";
    app.update(Msg::Server(ServerMsg::Activity {
        record: record(1, "acme", long, "created", 201),
    }));
    let lines = draw(&app, 80, 24);
    assert!(lines[4].contains("a-very-long-user-…"), "{}", lines[4]);
}

#[test]
fn detail_view_shows_every_field() {
    let mut app = sample();
    for _ in 0..2 {
        app.update(key(KeyCode::Down));
    }
    app.update(key(KeyCode::Enter));
    let lines = draw(&app, 80, 24);
    let text = lines.join("\n");
    assert!(text.contains("Record (Esc back)"));
    assert!(text.contains("Status    409 (uniqueness)"), "{text}");
    assert!(text.contains("already exists."));
    assert!(text.contains("Latency   2.5 ms"));
}

#[test]
fn teams_view_marks_scim_and_says_it_is_read_only() {
    let mut app = sample();
    app.update(key(KeyCode::Tab));
    let lines = draw(&app, 80, 24);
    assert!(lines[3].contains("Teams of acme (2)"), "{}", lines[3]);
    assert!(lines[4].contains("Team"));
    assert!(lines[5].starts_with("Design"), "{}", lines[5]);
    assert!(lines[5].ends_with("4 managed by SCIM"), "{}", lines[5]);
    assert_eq!(lines[22], READ_ONLY_NOTE);
    // Open Platform and show its members.
    app.update(chr('j'));
    app.update(key(KeyCode::Enter));
    app.update(Msg::Server(ServerMsg::TeamMembers {
        org: "acme".into(),
        team: "t2".into(),
        members: vec![
            MemberSummary {
                id: "u1".into(),
                user_name: "ann@acme.com".into(),
                display_name: Some("Ann Lee".into()),
                active: true,
            },
            MemberSummary {
                id: "u2".into(),
                user_name: "carl@acme.com".into(),
                display_name: None,
                active: false,
            },
        ],
    }));
    let lines = draw(&app, 80, 24);
    assert!(
        lines[3].contains("Platform · 2 members · managed by SCIM"),
        "{}",
        lines[3]
    );
    assert!(lines[4].starts_with("userName"));
    assert!(lines[5].starts_with("ann@acme.com") && lines[5].contains("Ann Lee"));
    assert!(lines[5].ends_with("active"));
    assert!(lines[6].ends_with("deactivated"), "{}", lines[6]);
    assert_eq!(lines[22], READ_ONLY_NOTE);
}

#[test]
fn users_view_shows_state_and_teams() {
    let mut app = sample();
    // Activity, Teams, Users: two Tabs.
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Tab));
    let lines = draw(&app, 80, 24);
    assert!(lines[3].contains("acme · all users"), "{}", lines[3]);
    assert!(lines[5].starts_with("ann@acme.com") && lines[5].contains("active"));
    assert!(lines[6].contains("deactivated"));
    let text = lines.join("\n");
    assert!(text.contains("Teams: Design, Platform"), "{text}");
}

#[test]
fn webhooks_view_shows_each_endpoint_and_marks_the_failing_one() {
    let orgs = sample_orgs();
    let hooks = &orgs[0].webhooks;
    let mut app = sample();
    app.update(chr('w'));
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| render(&app, f)).unwrap();
    let buf = terminal.backend().buffer();
    let lines = screen_text(buf);
    let text = lines.join("\n");
    assert!(lines[2].contains("Webhooks    org acme"), "{}", lines[2]);
    assert!(
        lines[3].contains("Webhooks of acme (2) · backlog 5 · 1 failing"),
        "{}",
        lines[3]
    );
    assert!(lines[4].starts_with("Endpoint"), "{}", lines[4]);
    assert!(
        lines[4].ends_with("Delivered Backlog Failed"),
        "{}",
        lines[4]
    );
    // The healthy endpoint: its counts, then ok with the daemon-relative time.
    // Named by host and endpoint id: a URL's path and query never reach the dashboard.
    assert!(
        lines[5].starts_with(&format!("hooks.acme.com · {}", hooks[0].endpoint)),
        "{}",
        lines[5]
    );
    assert!(
        lines[5].ends_with("up to #1042       0      0"),
        "{}",
        lines[5]
    );
    assert_eq!(lines[6], "  ok, last success 12:02:03 (2s ago)");
    // The failing one: its backlog and given-up count, the retry countdown and the error.
    assert!(
        lines[7].starts_with(&format!("crm.example.net · {}", hooks[1].endpoint)),
        "{}",
        lines[7]
    );
    assert!(
        lines[7].ends_with("up to #1037       5      1"),
        "{}",
        lines[7]
    );
    assert!(
        lines[8].starts_with("  retrying (3 attempts), next in 42s, last error: HTTP 503"),
        "{}",
        lines[8]
    );
    assert!(lines[8].ends_with('…'), "{}", lines[8]);
    // The selected (first) endpoint in full below, and the error in full there once the
    // failing one is selected.
    assert!(text.contains("last success 12:02:03 (2s ago)"));
    assert!(lines.iter().all(|l| l.width() <= 80));
    // Failing in the error color; healthy not; the selection reversed.
    assert_eq!(buf[(2, 7)].fg, Color::Red);
    assert_eq!(buf[(2, 8)].fg, Color::Red);
    assert_eq!(buf[(2, 6)].fg, Color::Green);
    assert!(buf[(0, 5)].modifier.contains(Modifier::REVERSED));
    assert!(!buf[(0, 7)].modifier.contains(Modifier::REVERSED));
    assert!(lines[23].contains("o org"), "{}", lines[23]);

    app.update(chr('j'));
    let lines = draw(&app, 80, 24);
    let text = lines.join("\n");
    assert!(
        text.contains(&format!("Last error: {HOOK_ERROR}")),
        "{text}"
    );
    assert!(
        text.contains("last success 11:58:10 (3m 55s ago) · next attempt 12:02:47 (in 42s)"),
        "{text}"
    );
    // Narrow: the name is cut with a marker, the counts stay whole.
    let lines = draw(&app, 50, 24);
    assert!(
        lines[7].starts_with("crm.example.net · ") && lines[7].contains("… up to #1037"),
        "{}",
        lines[7]
    );
    assert!(
        lines[7].ends_with("up to #1037       5      1"),
        "{}",
        lines[7]
    );
}

#[test]
fn receivers_errors_and_hosts_are_escaped_on_screen() {
    let mut app = App::new("/s");
    app.update(Msg::Connected(info()));
    let mut acme = org("acme", 1, 1, 0);
    acme.webhooks = vec![hook(
        "h.example.com\u{1b}[2J",
        1,
        0,
        1,
        Some("HTTP 500: \u{1b}]0;pwned\u{7}\nsecond line"),
    )];
    app.update(Msg::Server(ServerMsg::Snapshot { orgs: vec![acme] }));
    app.update(chr('w'));
    let lines = draw(&app, 100, 24);
    let text = lines.join("\n");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text}"
    );
    assert!(lines[5].starts_with("h.example.com^[[2J"), "{}", lines[5]);
    assert!(
        lines[6].ends_with("last error: HTTP 500: ^[]0;pwned^G^Jsecond line"),
        "{}",
        lines[6]
    );
    // With no next attempt scheduled (the worker is at it), the row still says it retries.
    assert!(
        lines[6].starts_with("  retrying (1 attempt)"),
        "{}",
        lines[6]
    );
}

#[test]
fn webhooks_tab_turns_red_while_an_endpoint_fails() {
    let mut app = sample();
    // Activity shows all orgs; the tab follows the first org, acme.
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| render(&app, f)).unwrap();
    let lines = screen_text(terminal.backend().buffer());
    let x = lines[2].find("Webhooks").unwrap() as u16;
    // The tab line has box-drawing separators: count columns, not bytes.
    let x = lines[2][..x as usize].width() as u16;
    assert_eq!(terminal.backend().buffer()[(x, 2)].fg, Color::Red);
    // globex has no endpoints: plain.
    app.update(chr('o'));
    app.update(chr('j'));
    app.update(chr('j'));
    app.update(key(KeyCode::Enter));
    terminal.draw(|f| render(&app, f)).unwrap();
    assert_eq!(terminal.backend().buffer()[(x, 2)].fg, Color::Reset);
}

#[test]
fn an_org_without_webhooks_is_told_how_to_add_one() {
    let mut app = sample();
    app.update(chr('o'));
    app.update(chr('j'));
    app.update(chr('j'));
    app.update(key(KeyCode::Enter));
    app.update(chr('w'));
    let lines = draw(&app, 80, 24);
    assert!(lines[3].contains("Webhooks of globex (0)"), "{}", lines[3]);
    assert_eq!(lines[4], "No webhook endpoints for globex.");
    assert_eq!(
        lines[5],
        "Add one with: scimd webhook add --org globex --url URL"
    );
}

#[test]
fn footer_and_help_list_the_webhooks_key() {
    let app = sample();
    let lines = draw(&app, 80, 24);
    assert!(lines[23].contains("w webhooks"), "{}", lines[23]);
    // Help and quit always fit; the rest give way from the right.
    assert!(lines[23].ends_with("? help q quit"), "{}", lines[23]);
    let lines = draw(&app, 40, 24);
    assert!(lines[23].ends_with("? help q quit"), "{}", lines[23]);
    let mut app = app;
    app.update(chr('?'));
    let text = draw(&app, 80, 24).join("\n");
    assert!(text.contains("webhooks: the org's endpoints"), "{text}");
}

#[test]
fn help_and_picker_overlays() {
    let mut app = sample();
    app.update(chr('?'));
    let text = draw(&app, 80, 24).join("\n");
    assert!(text.contains(" Help "));
    assert!(text.contains("pick the org"));
    app.update(key(KeyCode::Esc));
    app.update(chr('o'));
    let text = draw(&app, 80, 24).join("\n");
    assert!(text.contains("Pick an org"));
    assert!(
        text.contains("acme  42 users, 5 teams, 2 webhooks"),
        "{text}"
    );
}

#[test]
fn disconnected_is_shown_in_the_header() {
    let mut app = sample();
    app.update(Msg::Disconnected("connection refused".into()));
    let lines = draw(&app, 80, 24);
    assert!(
        lines[0].contains("✕ disconnected, retrying"),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].ends_with("scimd.sock: connection refused"),
        "{}",
        lines[0]
    );
    app.update(Msg::Disconnected("x".repeat(100)));
    let lines = draw(&app, 80, 24);
    assert!(lines[0].ends_with("xx…"), "{}", lines[0]);
    assert!(lines[0].width() <= 80);
}

#[test]
fn tiny_and_odd_sizes_do_not_panic() {
    let mut app = sample();
    for view in View::ALL {
        for (w, h) in [
            (0, 0),
            (1, 1),
            (10, 3),
            (20, 5),
            (80, 4),
            (200, 60),
            (33, 24),
        ] {
            draw(&app, w, h);
            app.update(chr('?'));
            draw(&app, w, h);
            app.update(key(KeyCode::Esc));
            app.update(chr('o'));
            draw(&app, w, h);
            app.update(key(KeyCode::Esc));
        }
        app.update(key(KeyCode::Enter));
        draw(&app, 12, 6);
        app.update(key(KeyCode::Esc));
        let _ = view;
        app.update(key(KeyCode::Tab));
    }
}

#[test]
fn wide_terminals_get_client_and_latency_columns() {
    let lines = draw(&sample(), 120, 30);
    assert!(lines[3].contains("Client"), "{}", lines[3]);
    assert!(lines[3].contains("Latency"));
    assert!(lines[4].contains("Entra ID"));
}

/// docs/dashboard.md above its captures.
const DOCS_HEADER: &str = r#"# The dashboard

`scimd tui` is a terminal dashboard for a running `scimd serve`: it connects to the daemon's control socket and shows provisioning as it happens.

## Starting it

```sh
scimd tui [--socket PATH] [--config PATH]
```

- Without `--socket`, it reads the config file (`./scimd.toml`, or the `--config PATH` you give) only to find the socket: the `socket` key, by default `scimd.sock` in `data_dir`. Give it the same `--config` as the daemon, for example `scimd tui --config /etc/scimd/scimd.toml`.
- With `--socket PATH` it connects to that socket and reads no config.
- It does not start the daemon. When nothing answers on the socket, the header says "disconnected, retrying", and the dashboard connects by itself once the daemon is up, after a restart too.
- `q` quits, `?` lists every key.

## Who may connect

The daemon creates the socket with mode 0600, owned by the user the daemon runs as, so only that user and root can connect; there is no other check and no network listener. Under the systemd unit in `contrib/` ([operations.md](operations.md#running-as-a-service)) that user is `scimd`: run `sudo -u scimd scimd tui --config /etc/scimd/scimd.toml`, or run it as root. To watch a daemon on another machine, run `scimd tui` there (over SSH, for example).

Whoever connects sees every org's activity, users, teams and webhook endpoints (their hosts and endpoint ids and the receivers' last errors; never their secrets, nor their URLs' paths and queries, which may carry a receiver's token). The dashboard only reads: it cannot change a user, a team or a webhook. At most 64 dashboards are connected at once, and a dashboard built for another protocol version is refused with a message naming both versions.

## Views

The dashboard opens on Orgs. `Tab` and `Shift-Tab` go through the views in order: Orgs, Activity, Teams, Users and Webhooks; `w` goes straight to Webhooks. `o` picks the org. Orgs and Activity can show every org at once; the other views show the picked org, or the first org while all orgs are picked. The footer lists the keys that fit the terminal's width (`?` and `q` always), and `?` lists them all. Every view and overlay fits an 80x24 terminal.

## Orgs

The Orgs view answers "is the IdP still talking to us?" for every org at once, one row each, refreshed every second. `scimd status` prints the same ([operations.md](operations.md#status-is-the-idp-still-talking-to-us)).

- **Users**, **Teams**: what the org holds.
- **Last request**: the last SCIM request this daemon answered for the org: method, resource, and its status in the Activity view's colours, with how long ago on the daemon's clock.
- **Req/h**, **Ref**, **401**: the org's SCIM requests in the last hour; of them, refused with a 4xx other than 401 (yellow), and refused with 401 (magenta): a wrong, revoked or rotated token.
- **Lag**: the org's events consumers' worst lag, events after the cursor of their last poll (`-` without one).
- **Webhooks**: `2 ok`, or how many endpoints are failing (red); the Webhooks view has the detail.
- Under each org, its requests per minute over the last 10 minutes as a sparkline (a blank is a minute without any), and what needs a look.
- An org whose token is being refused (401s in the last minute) or whose last request failed is red and bold, and so is the Orgs tab in every view while one is; the title counts them.
- `Enter` opens the org's Activity: the feed, picked to that org.

Requests are counted by the daemon the dashboard is connected to; behind a load balancer each daemon counts its own share.

## Webhooks

The Webhooks view (`w`) shows, for each of the org's webhook endpoints, how far delivery has got. It refreshes every second.

- **Endpoint**: the host the URL names and the endpoint id (16 hex digits, a digest of the URL, the id in logs and metrics too), cut to the width with `…`; the selected endpoint's name and last error are below the list (`↑` `↓` select). The URL itself never reaches the dashboard: its path or query may carry the receiver's token.
- **Delivered** `up to #N`: every event of the org up to number N is done with: delivered, not one the endpoint's `events` asks for, or given up on.
- **Backlog**: the org's events after N, still to deliver. A healthy endpoint catching up shows a backlog and `ok`.
- **Failed**: events given up on after retrying for `webhooks.retry_hours`; yellow when nonzero.
- The line under each endpoint is its state: `ok` with its last successful delivery, or, while the next event keeps failing, `retrying (N attempts)`, when the next attempt is due and the receiver's last error. A failing endpoint is red, and so is the Webhooks tab, in every view, while an endpoint of the org is failing. The org picker counts each org's endpoints and is red for an org with a failing one.
- Times are the daemon's clock time in UTC, like the activity feed's, with how long ago or until; both are counted on the daemon's clock (its start plus its uptime), so they are right even when the dashboard's clock is not.
- The title sums up the org: its endpoints, their total backlog and how many are failing.

An org without endpoints says how to add one: `scimd webhook add --org NAME --url URL`. The daemon reloads its config by itself and the new endpoint appears here.

## Captures

These captures are rendered by the UI code itself (`tui/src/ui/tests.rs`, test `docs_capture_is_current`) at 80x24, so they match what the program draws.
"#;

/// The text capture of the dashboard in docs/dashboard.md is this rendering; run with
/// `SCIMD_UPDATE_DOCS=1` to rewrite it after changing the UI.
#[test]
fn docs_capture_is_current() {
    let mut out = String::from(DOCS_HEADER);
    let mut app = sample();
    app.view = View::Orgs;
    let mut shot = |title: &str, app: &App| {
        out.push_str(&format!("\n## {title}\n\n```text\n"));
        for line in draw(app, 80, 24) {
            out.push_str(&line);
            out.push('\n');
        }
        out.push_str("```\n");
    };
    shot("Orgs: is each IdP still talking to us?", &app);
    app.update(key(KeyCode::Tab));
    shot("Activity: the live feed, newest first", &app);
    app.update(key(KeyCode::Tab));
    shot("Teams: managed by SCIM, read-only", &app);
    app.update(key(KeyCode::Tab));
    shot("Users: search by userName prefix", &app);
    app.update(key(KeyCode::Tab));
    shot("Webhooks: delivery per endpoint (w)", &app);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/dashboard.md");
    if std::env::var_os("SCIMD_UPDATE_DOCS").is_some() {
        std::fs::write(path, &out).unwrap();
    }
    let current = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        current == out,
        "docs/dashboard.md is out of date: run SCIMD_UPDATE_DOCS=1 cargo test -p scimd-tui"
    );
}
