//! Drawing the dashboard from an [`App`]: a two-line header (daemon, connection, request
//! rate), the view tabs, the current view, and a key-hint footer, plus the help and org-picker
//! overlays. Pure rendering: everything shown comes from the state, and every string from the
//! IdP goes through [`crate::text`] first. The Webhooks view lives in [`webhooks`].

pub mod webhooks;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Sparkline, Table, Wrap};
use ratatui::Frame;
use scimd_core::wire::ActivityRecord;
use unicode_width::UnicodeWidthStr;

use crate::app::{App, Conn, View};
use crate::text::{clip, escape};

/// The note the Teams view always shows: the dashboard cannot (and must not) edit teams.
pub const READ_ONLY_NOTE: &str =
    "Read-only: team membership is changed only in the identity provider.";

/// Draws the whole screen.
pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let [header, tabs, body, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    render_header(app, frame, header);
    render_tabs(app, frame, tabs);
    match app.view {
        View::Activity => render_activity(app, frame, body),
        View::Teams => render_teams(app, frame, body),
        View::Users => render_users(app, frame, body),
        View::Webhooks => webhooks::render(app, frame, body),
    }
    render_footer(app, frame, footer);
    if let Some(selected) = app.picker {
        render_picker(app, selected, frame, area);
    }
    if app.help {
        render_help(frame, area);
    }
}

/// `1h 02m`, `3m 04s`, `2d 1h`.
pub fn uptime(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else {
        format!("{m}m {s:02}s")
    }
}

/// The color of an outcome: success green, auth failures magenta, other refusals yellow,
/// server faults red.
pub fn outcome_color(status: u16) -> Color {
    match status {
        200..=299 => Color::Green,
        401 | 403 => Color::Magenta,
        400..=499 => Color::Yellow,
        500..=599 => Color::Red,
        _ => Color::Reset,
    }
}

fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

fn bold() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

fn render_header(app: &App, frame: &mut Frame, area: Rect) {
    let [top, bottom] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    let mut spans = vec![Span::styled(" scimd ", bold())];
    match &app.conn {
        Conn::Connected => spans.push(Span::styled("● connected", Style::new().fg(Color::Green))),
        Conn::Connecting => {
            spans.push(Span::styled("○ connecting", Style::new().fg(Color::Yellow)))
        }
        Conn::Disconnected(_) => spans.push(Span::styled(
            "✕ disconnected, retrying",
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        )),
    }
    match (&app.conn, &app.daemon) {
        (Conn::Connected, Some(d)) => {
            spans.push(Span::raw(format!("  {}", clip(&d.listen, 40))));
            spans.push(Span::styled(
                format!("  up {}", uptime(app.uptime_secs)),
                dim(),
            ));
        }
        (Conn::Disconnected(reason), _) => {
            // " scimd ✕ disconnected, retrying  " takes 33 columns; the reason gets the rest.
            let room = usize::from(area.width).saturating_sub(34);
            spans.push(Span::styled(
                format!("  {}", clip(&format!("{}: {reason}", app.socket), room)),
                dim(),
            ));
        }
        _ => spans.push(Span::styled(format!("  {}", clip(&app.socket, 40)), dim())),
    }
    let users: u64 = app.orgs.iter().map(|o| o.users).sum();
    if !matches!(app.conn, Conn::Disconnected(_)) {
        spans.push(Span::raw(format!(
            "  {} org{} · {users} users",
            app.orgs.len(),
            if app.orgs.len() == 1 { "" } else { "s" }
        )));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), top);

    let (rate, share) = app.rate_and_errors();
    let stats = {
        let mut s = format!(" {rate:.0}/s  errors ");
        match share {
            Some(share) => s.push_str(&format!("{:.1}%", share * 100.0)),
            None => s.push('–'),
        }
        if app.feed.missed > 0 {
            s.push_str(&format!("  missed {}", app.feed.missed));
        }
        s
    };
    let stats_style = match share {
        Some(s) if s >= 0.05 => Style::new().fg(Color::Red),
        Some(s) if s > 0.0 => Style::new().fg(Color::Yellow),
        _ => Style::new(),
    };
    let [label, spark, numbers] = Layout::horizontal([
        Constraint::Length(7),
        Constraint::Fill(1),
        Constraint::Length(stats.chars().count() as u16 + 1),
    ])
    .areas(bottom);
    frame.render_widget(Paragraph::new(Span::styled(" req/s ", dim())), label);
    // The sparkline draws its data from the left: give it the newest samples that fit.
    let take = usize::from(spark.width);
    let data: Vec<u64> = app
        .rates
        .iter()
        .skip(app.rates.len().saturating_sub(take))
        .copied()
        .collect();
    frame.render_widget(
        Sparkline::default()
            .data(&data)
            .style(Style::new().fg(Color::Cyan)),
        spark,
    );
    frame.render_widget(Paragraph::new(Span::styled(stats, stats_style)), numbers);
}

fn render_tabs(app: &App, frame: &mut Frame, area: Rect) {
    let mut spans = vec![Span::raw(" ")];
    for (i, view) in View::ALL.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" │ ", dim()));
        }
        let style = if *view == app.view {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD)
        } else if *view == View::Webhooks && app.webhooks().iter().any(webhooks::failing) {
            // An endpoint of this org is failing: worth a look from any view.
            Style::new().fg(webhooks::FAILING)
        } else {
            Style::new()
        };
        spans.push(Span::styled(format!(" {} ", view.title()), style));
    }
    let org = match (app.view, &app.org) {
        (View::Activity, None) => "all orgs".to_string(),
        _ => app.current_org().unwrap_or("no orgs").to_string(),
    };
    spans.push(Span::styled("   org ", dim()));
    spans.push(Span::styled(clip(&org, 20), bold()));
    if app.view == View::Activity && !app.feed.filter.is_empty() {
        spans.push(Span::styled("  filter ", dim()));
        spans.push(Span::raw(clip(&app.feed.filter, 16)));
    }
    if app.feed.paused {
        spans.push(Span::styled(
            format!("  ⏸ paused ({} new)", app.feed.held.len()),
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Rows `[start, start + height)` of `n`, placed so `selected` is visible.
fn window(n: usize, selected: usize, height: usize) -> (usize, usize) {
    if height == 0 || n == 0 {
        return (0, 0);
    }
    let start = selected.saturating_sub(height - 1);
    (start, (start + height).min(n))
}

fn selected_style() -> Style {
    Style::new().add_modifier(Modifier::REVERSED)
}

fn time_of(r: &ActivityRecord) -> String {
    // RFC 3339: the clock time is characters 11..19.
    r.time.get(11..19).unwrap_or(&r.time).to_string()
}

fn render_activity(app: &App, frame: &mut Frame, area: Rect) {
    if let Some(record) = &app.feed.detail {
        render_detail(record, frame, area);
        return;
    }
    let visible = app.visible();
    if visible.is_empty() {
        let text = if app.feed.records.is_empty() {
            "No activity yet. Writes from your identity provider appear here as they happen."
        } else {
            "Nothing matches the org and text filters (Esc clears the text filter)."
        };
        frame.render_widget(
            Paragraph::new(Span::styled(text, dim())).wrap(Wrap { trim: true }),
            area.inner(ratatui::layout::Margin::new(1, 1)),
        );
        return;
    }
    // Client and latency columns only where the summary still keeps a useful width.
    let wide = area.width >= 120;
    let name_w: u16 = if wide { 24 } else { 18 };
    let mut widths = vec![
        Constraint::Length(8),
        Constraint::Length(if wide { 10 } else { 8 }),
        Constraint::Length(12),
        Constraint::Length(name_w),
        Constraint::Fill(1),
        Constraint::Length(3),
    ];
    let mut header = vec!["Time", "Org", "Request", "Name", "Summary", "St"];
    if wide {
        widths.insert(2, Constraint::Length(10));
        header.insert(2, "Client");
        widths.push(Constraint::Length(8));
        header.push("Latency");
    }
    // The summary gets what the fixed columns leave; clip to that so the cut is marked.
    let fixed: u16 = if wide {
        8 + 10 + 10 + 12 + name_w + 3 + 8
    } else {
        8 + 8 + 12 + name_w + 3
    };
    let gaps = widths.len() as u16 - 1;
    let summary_w = usize::from(area.width.saturating_sub(fixed + gaps));
    let height = usize::from(area.height.saturating_sub(1));
    let (start, end) = window(visible.len(), app.feed.selected, height);
    let rows = visible[start..end].iter().enumerate().map(|(i, r)| {
        let mut cells = vec![
            Cell::from(time_of(r)),
            Cell::from(clip(
                if r.org.is_empty() { "-" } else { &r.org },
                if wide { 10 } else { 8 },
            )),
            Cell::from(clip(&format!("{} {}", r.method, r.resource), 12)),
            Cell::from(clip(
                r.name.as_deref().or(r.id.as_deref()).unwrap_or(""),
                usize::from(name_w),
            )),
            Cell::from(clip(&r.summary, summary_w)),
            Cell::from(r.status.to_string()),
        ];
        if wide {
            cells.insert(2, Cell::from(clip(&r.client, 10)));
            cells.push(Cell::from(format!("{:.1}ms", r.latency_us as f64 / 1000.0)));
        }
        let mut style = Style::new().fg(outcome_color(r.status));
        if start + i == app.feed.selected {
            style = style.patch(selected_style());
        }
        Row::new(cells).style(style)
    });
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(bold().fg(Color::Gray)))
        .column_spacing(1);
    frame.render_widget(table, area);
}

fn render_detail(r: &ActivityRecord, frame: &mut Frame, area: Rect) {
    let field = |name: &'static str, value: String| {
        Line::from(vec![
            Span::styled(format!("{name:<10}"), dim()),
            Span::raw(value),
        ])
    };
    let mut lines = vec![
        field("Time", escape(&r.time)),
        field("Org", escape(if r.org.is_empty() { "-" } else { &r.org })),
        field("Client", escape(&r.client)),
        field("Request", escape(&format!("{} {}", r.method, r.resource))),
        field("Id", escape(r.id.as_deref().unwrap_or("-"))),
        field("Name", escape(r.name.as_deref().unwrap_or("-"))),
        Line::from(vec![
            Span::styled(format!("{:<10}", "Status"), dim()),
            Span::styled(
                match &r.scim_type {
                    Some(t) => format!("{} ({})", r.status, escape(t)),
                    None => r.status.to_string(),
                },
                Style::new().fg(outcome_color(r.status)),
            ),
        ]),
        field("Latency", format!("{:.1} ms", r.latency_us as f64 / 1000.0)),
        field("Seq", r.seq.to_string()),
        Line::raw(""),
    ];
    lines.push(Line::styled("Summary", dim()));
    lines.push(Line::raw(escape(&r.summary)));
    let block = Block::default()
        .borders(Borders::TOP)
        .title(Span::styled(" Record (Esc back) ", bold()));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

fn render_teams(app: &App, frame: &mut Frame, area: Rect) {
    let [main, note] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(Span::styled(READ_ONLY_NOTE, Style::new().fg(Color::Yellow))),
        note,
    );
    let org = app.current_org().unwrap_or("-");
    if let Some(open) = &app.teams.open {
        let title = format!(
            " {} · {} members · managed by SCIM (Esc back) ",
            clip(&open.team.name, 30),
            open.team.members
        );
        let block = Block::default()
            .borders(Borders::TOP)
            .title(Span::styled(title, bold()));
        let inner = block.inner(main);
        frame.render_widget(block, main);
        let Some(members) = &open.members else {
            frame.render_widget(Paragraph::new(Span::styled("Loading…", dim())), inner);
            return;
        };
        if members.is_empty() {
            frame.render_widget(Paragraph::new(Span::styled("No members.", dim())), inner);
            return;
        }
        let name_w = usize::from(inner.width.saturating_sub(13)) / 2;
        let height = usize::from(inner.height.saturating_sub(1));
        let (start, end) = window(members.len(), open.selected, height);
        let rows = members[start..end].iter().enumerate().map(|(i, m)| {
            let (state, color) = if m.active {
                ("active", Color::Green)
            } else {
                ("deactivated", Color::Red)
            };
            let row = Row::new(vec![
                Cell::from(clip(&m.user_name, name_w)),
                Cell::from(clip(m.display_name.as_deref().unwrap_or("-"), name_w)),
                Cell::from(Span::styled(state, Style::new().fg(color))),
            ]);
            if start + i == open.selected {
                row.style(selected_style())
            } else {
                row
            }
        });
        let table = Table::new(
            rows,
            [
                Constraint::Fill(1),
                Constraint::Fill(1),
                Constraint::Length(11),
            ],
        )
        .header(Row::new(["userName", "Display name", "State"]).style(bold().fg(Color::Gray)));
        frame.render_widget(table, inner);
        return;
    }
    let teams = app.visible_teams();
    let mut title = format!(" Teams of {} ({}) ", clip(org, 20), app.teams.list.len());
    if !app.teams.filter.is_empty() {
        title.push_str(&format!("· filter {} ", clip(&app.teams.filter, 16)));
    }
    let block = Block::default()
        .borders(Borders::TOP)
        .title(Span::styled(title, bold()));
    let inner = block.inner(main);
    frame.render_widget(block, main);
    if teams.is_empty() {
        let text = if !app.teams.loaded {
            "Loading…"
        } else if app.teams.list.is_empty() {
            "No teams yet: push groups from the identity provider."
        } else {
            "No team matches the filter."
        };
        frame.render_widget(Paragraph::new(Span::styled(text, dim())), inner);
        return;
    }
    let name_w = usize::from(inner.width.saturating_sub(9 + 17 + 2));
    let height = usize::from(inner.height.saturating_sub(1));
    let (start, end) = window(teams.len(), app.teams.selected, height);
    let rows = teams[start..end].iter().enumerate().map(|(i, t)| {
        let row = Row::new(vec![
            Cell::from(clip(&t.name, name_w)),
            Cell::from(format!("{:>9}", t.members)),
            Cell::from(Span::styled(
                "managed by SCIM",
                Style::new().fg(Color::Cyan),
            )),
        ]);
        if start + i == app.teams.selected {
            row.style(selected_style())
        } else {
            row
        }
    });
    let table = Table::new(
        rows,
        [
            Constraint::Fill(1),
            Constraint::Length(9),
            Constraint::Length(17),
        ],
    )
    .header(Row::new(["Team", "  Members", "Source"]).style(bold().fg(Color::Gray)));
    frame.render_widget(table, inner);
}

fn render_users(app: &App, frame: &mut Frame, area: Rect) {
    let [search, list, detail] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(3),
    ])
    .areas(area);
    let org = app.current_org().unwrap_or("-");
    let prompt = if app.editing {
        Line::from(vec![
            Span::styled(
                format!(" {} · userName starts with: ", clip(org, 20)),
                dim(),
            ),
            Span::styled(format!("{}▏", escape(&app.users.query)), bold()),
        ])
    } else if app.users.query.is_empty() {
        Line::from(Span::styled(
            format!(
                " {} · all users (/ to search by userName prefix)",
                clip(org, 20)
            ),
            dim(),
        ))
    } else {
        Line::from(vec![
            Span::styled(
                format!(" {} · userName starts with: ", clip(org, 20)),
                dim(),
            ),
            Span::styled(clip(&app.users.query, 40), bold()),
        ])
    };
    frame.render_widget(Paragraph::new(prompt), search);
    let users = &app.users.list;
    if users.is_empty() {
        let text = if app.users.searched {
            " No users match."
        } else {
            " Loading…"
        };
        frame.render_widget(Paragraph::new(Span::styled(text, dim())), list);
    } else {
        let name_w = usize::from(list.width.saturating_sub(11 + 8 + 3)) / 2;
        let height = usize::from(list.height.saturating_sub(1));
        let (start, end) = window(users.len(), app.users.selected, height);
        let rows = users[start..end].iter().enumerate().map(|(i, u)| {
            let (state, color) = if u.active {
                ("active", Color::Green)
            } else {
                ("deactivated", Color::Red)
            };
            let row = Row::new(vec![
                Cell::from(clip(&u.user_name, name_w)),
                Cell::from(clip(u.display_name.as_deref().unwrap_or("-"), name_w)),
                Cell::from(Span::styled(state, Style::new().fg(color))),
                Cell::from(u.teams.len().to_string()),
            ]);
            if start + i == app.users.selected {
                row.style(selected_style())
            } else {
                row
            }
        });
        let table = Table::new(
            rows,
            [
                Constraint::Fill(1),
                Constraint::Fill(1),
                Constraint::Length(11),
                Constraint::Length(8),
            ],
        )
        .header(
            Row::new(["userName", "Display name", "State", "Teams"]).style(bold().fg(Color::Gray)),
        );
        frame.render_widget(table, list);
    }
    if let Some(u) = users.get(app.users.selected) {
        let teams = if u.teams.is_empty() {
            "no teams".to_string()
        } else {
            u.teams
                .iter()
                .map(|t| clip(t, 40))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let lines = vec![
            Line::from(vec![
                Span::styled(clip(&u.user_name, 50), bold()),
                Span::styled(
                    if u.active {
                        "  active"
                    } else {
                        "  deactivated"
                    },
                    Style::new().fg(if u.active { Color::Green } else { Color::Red }),
                ),
            ]),
            Line::from(vec![Span::styled("Teams: ", dim()), Span::raw(teams)]),
        ];
        let block = Block::default().borders(Borders::TOP);
        frame.render_widget(
            Paragraph::new(lines).block(block).wrap(Wrap { trim: true }),
            detail,
        );
    }
}

fn render_footer(app: &App, frame: &mut Frame, area: Rect) {
    let hints: &[(&str, &str)] = if app.editing {
        &[("Enter", "keep"), ("Esc", "clear"), ("type", "to filter")]
    } else if app.view == View::Webhooks {
        // Nothing to open, go back from or filter here.
        &[
            ("Tab", "view"),
            ("↑↓", "move"),
            ("o", "org"),
            ("p", "pause"),
            ("?", "help"),
            ("q", "quit"),
        ]
    } else {
        &[
            ("Tab", "view"),
            ("↑↓", "move"),
            ("Enter", "open"),
            ("Esc", "back"),
            ("/", "filter"),
            ("o", "org"),
            ("w", "webhooks"),
            ("p", "pause"),
            ("?", "help"),
            ("q", "quit"),
        ]
    };
    let mut spans = Vec::new();
    let mut room = usize::from(area.width);
    if let Some(notice) = &app.notice {
        let notice = format!(" {} ", clip(notice, 40));
        room = room.saturating_sub(notice.width());
        spans.push(Span::styled(notice, Style::new().fg(Color::Red)));
    }
    for (key, what) in fitting(hints, room) {
        spans.push(Span::styled(format!(" {key}"), bold().fg(Color::Cyan)));
        spans.push(Span::styled(format!(" {what}"), dim()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The hints that fit in `room` columns, each taking ` key what`: help and quit (the last two)
/// always stay, so on a narrow terminal the others are dropped from the right, before them,
/// rather than the line being cut at its end.
fn fitting<'a>(hints: &[(&'a str, &'a str)], room: usize) -> Vec<(&'a str, &'a str)> {
    let cost = |(key, what): &(&str, &str)| key.width() + what.width() + 2;
    let mut shown = hints.to_vec();
    while shown.len() > 2 && shown.iter().map(cost).sum::<usize>() > room {
        shown.remove(shown.len() - 3);
    }
    shown
}

/// A `w`×`h` rectangle centered in `area`, shrunk to fit.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn render_picker(app: &App, selected: usize, frame: &mut Frame, area: Rect) {
    let mut lines = vec![Line::raw("All orgs")];
    for o in &app.orgs {
        let mut line = format!(
            "{}  {} users, {} teams",
            clip(&o.name, 20),
            o.users,
            o.teams
        );
        if !o.webhooks.is_empty() {
            line.push_str(&format!(", {} webhooks", o.webhooks.len()));
        }
        let style = if o.webhooks.iter().any(webhooks::failing) {
            Style::new().fg(webhooks::FAILING)
        } else {
            Style::new()
        };
        lines.push(Line::styled(line, style));
    }
    let lines: Vec<Line> = lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            if i == selected {
                l.style(selected_style())
            } else {
                l
            }
        })
        .collect();
    let rect = centered(area, 46, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(Span::styled(" Pick an org (Enter, Esc) ", bold()))),
        rect,
    );
}

/// The help overlay's lines: key and what it does.
pub const HELP: &[(&str, &str)] = &[
    ("Tab / Shift-Tab", "next / previous view"),
    ("↑ ↓  j k", "move the selection"),
    ("PgUp PgDn g G", "page, top, bottom"),
    ("Enter", "open: record detail, team members"),
    ("Esc", "back, or clear the filter"),
    ("/", "filter (Activity, Teams), search (Users)"),
    ("o", "pick the org"),
    ("w", "webhooks: the org's endpoints, delivery state"),
    ("p", "pause / resume the live feed"),
    ("?", "this help"),
    ("q  Ctrl-C", "quit"),
];

fn render_help(frame: &mut Frame, area: Rect) {
    let mut lines: Vec<Line> = HELP
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:<16}"), bold().fg(Color::Cyan)),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Teams are read-only here: change them in the IdP.",
        dim(),
    ));
    let rect = centered(area, 62, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(Span::styled(" Help ", bold()))),
        rect,
    );
}

#[cfg(test)]
mod tests;
