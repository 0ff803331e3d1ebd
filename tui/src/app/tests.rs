//! The app's state machine driven by messages: keys, server answers and their effects.

use super::*;
use crossterm::event::{KeyCode, KeyModifiers};

pub fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub fn chr(c: char) -> Msg {
    key(KeyCode::Char(c))
}

pub fn record(seq: u64, org: &str, name: &str, summary: &str, status: u16) -> ActivityRecord {
    ActivityRecord {
        seq,
        time: format!("2025-03-04T12:{:02}:{:02}Z", seq / 60 % 60, seq % 60),
        org: org.into(),
        client: "Okta".into(),
        method: "POST".into(),
        resource: "User".into(),
        id: Some(format!("id-{seq}")),
        name: Some(name.into()),
        summary: summary.into(),
        status,
        scim_type: None,
        latency_us: 2_500,
    }
}

pub fn org(name: &str, users: u64, active: u64, teams: u64) -> OrgSummary {
    OrgSummary {
        name: name.into(),
        display_name: format!("{name} Inc"),
        enabled: true,
        users,
        active_users: active,
        teams,
        webhooks: Vec::new(),
    }
}

/// A made-up endpoint id for `host`: 16 hex digits, the same on every run (FNV-1a).
fn endpoint_id(host: &str) -> String {
    let hash = host.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// An endpoint on `host` that is `attempts` failed tries into its next event, with `error`
/// the last.
pub fn hook(
    host: &str,
    delivered: u64,
    backlog: u64,
    attempts: u32,
    error: Option<&str>,
) -> WebhookSummary {
    WebhookSummary {
        endpoint: endpoint_id(host),
        host: host.into(),
        delivered,
        backlog,
        failed: 0,
        attempts,
        last_error: error.map(Into::into),
        next_retry: None,
        last_success: None,
    }
}

pub fn info() -> DaemonInfo {
    DaemonInfo {
        version: "0.1.0".into(),
        listen: "http://127.0.0.1:8080".into(),
        started: "2025-03-04T11:00:00Z".into(),
        uptime_secs: 3725,
    }
}

fn connected() -> App {
    let mut app = App::new("/tmp/scimd.sock");
    app.update(Msg::Connected(info()));
    // These tests start on Activity; the dashboard opens on Orgs (tested in `ui/orgs/tests.rs`).
    app.view = View::Activity;
    app.update(Msg::Server(ServerMsg::Snapshot {
        orgs: vec![org("acme", 3, 2, 1), org("globex", 1, 1, 0)],
    }));
    app
}

fn live(app: &mut App, r: ActivityRecord) {
    app.update(Msg::Server(ServerMsg::Activity { record: r }));
}

fn seqs(app: &App) -> Vec<u64> {
    app.visible().iter().map(|r| r.seq).collect()
}

#[test]
fn connecting_subscribes_then_asks_for_history_and_counts() {
    let mut app = App::new("/s");
    let out = app.update(Msg::Connected(info()));
    assert_eq!(
        out,
        vec![
            ClientMsg::Subscribe,
            ClientMsg::Recent {
                limit: RECENT_LIMIT
            },
            ClientMsg::Snapshot
        ]
    );
    assert_eq!(app.conn, Conn::Connected);
    // The snapshot names the orgs: the first one's teams and users are fetched.
    let out = app.update(Msg::Server(ServerMsg::Snapshot {
        orgs: vec![org("acme", 1, 1, 0)],
    }));
    assert_eq!(
        out,
        vec![
            ClientMsg::Teams { org: "acme".into() },
            ClientMsg::Users {
                org: "acme".into(),
                prefix: String::new(),
                limit: USER_LIMIT
            }
        ]
    );
    app.update(Msg::Disconnected("connection refused".into()));
    assert_eq!(app.conn, Conn::Disconnected("connection refused".into()));
}

#[test]
fn feed_is_newest_first_without_duplicates() {
    let mut app = connected();
    live(&mut app, record(5, "acme", "a", "created", 201));
    live(&mut app, record(6, "acme", "b", "created", 201));
    // History overlapping the live records, as after a reconnect.
    app.update(Msg::Server(ServerMsg::Recent {
        records: vec![
            record(6, "acme", "b", "created", 201),
            record(5, "acme", "a", "created", 201),
            record(4, "acme", "c", "created", 201),
        ],
    }));
    assert_eq!(seqs(&app), vec![6, 5, 4]);
}

#[test]
fn filters_by_org_and_text() {
    let mut app = connected();
    live(&mut app, record(1, "acme", "ann@acme.com", "created", 201));
    live(
        &mut app,
        record(2, "globex", "ann@globex.com", "created", 201),
    );
    live(
        &mut app,
        record(3, "acme", "bob@acme.com", "deactivated", 200),
    );
    app.update(chr('/'));
    assert!(app.editing);
    for c in "ANN".chars() {
        app.update(chr(c));
    }
    assert_eq!(seqs(&app), vec![2, 1]);
    app.update(key(KeyCode::Enter));
    assert!(!app.editing);
    assert_eq!(app.feed.filter, "ANN");
    // Pick acme in the org picker: entry 0 is "all orgs".
    app.update(chr('o'));
    assert_eq!(app.picker, Some(0));
    app.update(chr('j'));
    app.update(key(KeyCode::Enter));
    assert_eq!(app.org.as_deref(), Some("acme"));
    assert_eq!(seqs(&app), vec![1]);
    // Esc clears the text filter.
    app.update(key(KeyCode::Esc));
    assert_eq!(seqs(&app), vec![3, 1]);
}

#[test]
fn pause_holds_new_records_until_resumed() {
    let mut app = connected();
    live(&mut app, record(1, "acme", "a", "created", 201));
    app.update(chr('p'));
    assert!(app.feed.paused);
    live(&mut app, record(2, "acme", "b", "created", 201));
    assert_eq!(seqs(&app), vec![1]);
    assert_eq!(app.feed.held.len(), 1);
    app.update(chr('p'));
    assert_eq!(seqs(&app), vec![2, 1]);
    assert!(app.feed.held.is_empty());
}

#[test]
fn scrolled_selection_stays_on_its_record_as_new_ones_arrive() {
    let mut app = connected();
    for i in 1..=5 {
        live(&mut app, record(i, "acme", "x", "created", 201));
    }
    app.update(chr('j'));
    app.update(key(KeyCode::Down));
    assert_eq!(app.feed.selected, 2);
    assert_eq!(app.visible()[2].seq, 3);
    live(&mut app, record(6, "acme", "x", "created", 201));
    assert_eq!(app.visible()[app.feed.selected].seq, 3);
    // At the top, the newest record is followed instead.
    app.update(key(KeyCode::Home));
    live(&mut app, record(7, "acme", "x", "created", 201));
    assert_eq!(app.feed.selected, 0);
    app.update(chr('G'));
    assert_eq!(app.feed.selected, 6);
    app.update(chr('k'));
    assert_eq!(app.feed.selected, 5);
}

#[test]
fn enter_opens_the_detail_and_esc_goes_back() {
    let mut app = connected();
    live(&mut app, record(1, "acme", "a", "created", 201));
    live(&mut app, record(2, "acme", "b", "failed: conflict", 409));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Enter));
    assert_eq!(app.feed.detail.as_ref().map(|r| r.seq), Some(1));
    app.update(key(KeyCode::Esc));
    assert!(app.feed.detail.is_none());
}

#[test]
fn tab_cycles_views_both_ways() {
    let mut app = connected();
    app.update(key(KeyCode::Tab));
    assert_eq!(app.view, View::Teams);
    app.update(key(KeyCode::Tab));
    assert_eq!(app.view, View::Users);
    app.update(key(KeyCode::Tab));
    assert_eq!(app.view, View::Webhooks);
    app.update(key(KeyCode::Tab));
    assert_eq!(app.view, View::Orgs);
    app.update(key(KeyCode::Tab));
    assert_eq!(app.view, View::Activity);
    app.update(key(KeyCode::BackTab));
    assert_eq!(app.view, View::Orgs);
    app.update(key(KeyCode::BackTab));
    assert_eq!(app.view, View::Webhooks);
    app.update(key(KeyCode::BackTab));
    assert_eq!(app.view, View::Users);
}

#[test]
fn w_opens_the_webhooks_of_the_org_and_arrows_pick_an_endpoint() {
    let mut app = connected();
    let with_hooks = |n: usize| {
        let mut acme = org("acme", 3, 2, 1);
        acme.webhooks = (0..n)
            .map(|i| hook(&format!("h{i}.example.com"), 10, 0, 0, None))
            .collect();
        vec![acme, org("globex", 1, 1, 0)]
    };
    app.update(Msg::Server(ServerMsg::Counters {
        requests: 1,
        errors: 0,
        uptime_secs: 1,
        orgs: with_hooks(3),
        health: Vec::new(),
    }));
    app.update(chr('w'));
    assert_eq!(app.view, View::Webhooks);
    assert_eq!(app.webhooks().len(), 3);
    app.update(chr('j'));
    app.update(key(KeyCode::End));
    assert_eq!(app.webhook, 2);
    // Nothing to filter here: / is not the start of typing, and q still quits afterwards.
    app.update(chr('/'));
    assert!(!app.editing);
    // A reload that drops endpoints keeps the selection on one that exists.
    app.update(Msg::Server(ServerMsg::Counters {
        requests: 2,
        errors: 0,
        uptime_secs: 2,
        orgs: with_hooks(1),
        health: Vec::new(),
    }));
    assert_eq!(app.webhook, 0);
    app.update(Msg::Server(ServerMsg::Counters {
        requests: 3,
        errors: 0,
        uptime_secs: 3,
        orgs: with_hooks(2),
        health: Vec::new(),
    }));
    app.update(chr('j'));
    assert_eq!(app.webhook, 1);
    // Another org starts at its first endpoint; globex has none.
    app.update(chr('o'));
    app.update(chr('j'));
    app.update(chr('j'));
    app.update(key(KeyCode::Enter));
    assert_eq!(app.current_org(), Some("globex"));
    assert_eq!(app.webhook, 0);
    assert!(app.webhooks().is_empty());
    app.update(chr('j'));
    assert_eq!(app.webhook, 0);
    app.update(chr('q'));
    assert!(app.quit);
}

#[test]
fn teams_open_to_their_members_and_refresh_on_activity() {
    let mut app = connected();
    app.update(key(KeyCode::Tab));
    app.update(Msg::Server(ServerMsg::Teams {
        org: "acme".into(),
        teams: vec![
            TeamSummary {
                id: "t1".into(),
                name: "Design".into(),
                members: 1,
            },
            TeamSummary {
                id: "t2".into(),
                name: "Eng".into(),
                members: 2,
            },
        ],
    }));
    app.update(chr('j'));
    let out = app.update(key(KeyCode::Enter));
    assert_eq!(
        out,
        vec![ClientMsg::TeamMembers {
            org: "acme".into(),
            team: "t2".into()
        }]
    );
    app.update(Msg::Server(ServerMsg::TeamMembers {
        org: "acme".into(),
        team: "t2".into(),
        members: vec![MemberSummary {
            id: "u1".into(),
            user_name: "ann".into(),
            display_name: None,
            active: true,
        }],
    }));
    let open = app.teams.open.as_ref().unwrap();
    assert_eq!(open.members.as_ref().unwrap().len(), 1);
    // A group change in this org refreshes the list and the open team, once a second.
    let mut change = record(9, "acme", "Eng", "added 1 member", 200);
    change.resource = "Group".into();
    live(&mut app, change);
    let out = app.update(Msg::Server(ServerMsg::Counters {
        requests: 10,
        errors: 0,
        uptime_secs: 10,
        orgs: app.orgs.clone(),
        health: Vec::new(),
    }));
    assert_eq!(
        out,
        vec![
            ClientMsg::Teams { org: "acme".into() },
            ClientMsg::TeamMembers {
                org: "acme".into(),
                team: "t2".into()
            }
        ]
    );
    app.update(key(KeyCode::Esc));
    assert!(app.teams.open.is_none());
    // The name filter narrows the list.
    app.update(chr('/'));
    app.update(chr('e'));
    app.update(chr('n'));
    assert_eq!(app.visible_teams().len(), 1);
}

#[test]
fn typing_in_users_searches_by_prefix() {
    let mut app = connected();
    // Activity, Teams, Users: two Tabs.
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Tab));
    assert_eq!(app.view, View::Users);
    app.update(chr('/'));
    let out = app.update(chr('a'));
    assert_eq!(
        out,
        vec![ClientMsg::Users {
            org: "acme".into(),
            prefix: "a".into(),
            limit: USER_LIMIT
        }]
    );
    let out = app.update(key(KeyCode::Backspace));
    assert_eq!(out.len(), 1);
    // Nothing to delete: no request.
    assert!(app.update(key(KeyCode::Backspace)).is_empty());
    // While editing, q is text, not quit.
    app.update(chr('q'));
    assert!(!app.quit);
    assert_eq!(app.users.query, "q");
}

#[test]
fn counters_feed_the_rate_and_error_share() {
    let mut app = connected();
    let counters = |requests, errors| {
        Msg::Server(ServerMsg::Counters {
            requests,
            errors,
            uptime_secs: 1,
            orgs: vec![org("acme", 3, 2, 1)],
            health: Vec::new(),
        })
    };
    app.update(counters(100, 0));
    assert!(app.rates.is_empty());
    app.update(counters(110, 1));
    app.update(counters(130, 3));
    assert_eq!(app.rates, VecDeque::from(vec![10, 20]));
    let (rate, share) = app.rate_and_errors();
    assert_eq!(rate, 20.0);
    assert_eq!(share, Some(0.1));
    // A restarted daemon: totals start again from zero.
    app.update(counters(5, 0));
    assert_eq!(app.rates.back(), Some(&5));
}

#[test]
fn lagging_asks_for_history_to_fill_the_gap() {
    let mut app = connected();
    app.update(Msg::Server(ServerMsg::Recent { records: vec![] }));
    let out = app.update(Msg::Server(ServerMsg::Lagged { missed: 7 }));
    assert_eq!(app.feed.missed, 7);
    assert_eq!(
        out,
        vec![ClientMsg::Recent {
            limit: RECENT_LIMIT
        }]
    );
    // Until that answer comes, more lag is only counted.
    assert!(app
        .update(Msg::Server(ServerMsg::Lagged { missed: 3 }))
        .is_empty());
    assert_eq!(app.feed.missed, 10);
}

#[test]
fn help_quit_and_ctrl_c() {
    let mut app = connected();
    app.update(chr('?'));
    assert!(app.help);
    app.update(key(KeyCode::Esc));
    assert!(!app.help);
    app.update(chr('q'));
    assert!(app.quit);
    let mut app = connected();
    app.update(chr('/'));
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert!(app.quit);
}
