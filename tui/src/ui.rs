//! Drawing the dashboard from an [`App`]: a two-line header (daemon, connection, request
//! rate), the view tabs, the current view, and a key-hint footer, plus the help and org-picker
//! overlays. Pure rendering: everything shown comes from the state, and every string from the
//! IdP goes through [`crate::text`] first. Each view draws in its own file: [`orgs`],
//! `activity.rs`, `teams.rs`, `users.rs`, and the Webhooks view in [`webhooks`].

mod activity;
pub mod orgs;
mod teams;
mod users;
pub mod webhooks;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Sparkline};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use crate::app::{App, Conn, View};
use crate::text::clip;
use activity::render_activity;
use teams::render_teams;
pub use teams::READ_ONLY_NOTE;
use users::render_users;

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
        View::Orgs => orgs::render(app, frame, body),
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
        } else if *view == View::Orgs && app.health.iter().any(orgs::alarming) {
            // An org's token is being refused, or its last request failed.
            Style::new().fg(orgs::ALERT)
        } else {
            Style::new()
        };
        spans.push(Span::styled(format!(" {} ", view.title()), style));
    }
    let org = match (app.view, &app.org) {
        (View::Activity | View::Orgs, None) => "all orgs".to_string(),
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

fn render_footer(app: &App, frame: &mut Frame, area: Rect) {
    let hints: &[(&str, &str)] = if app.editing {
        &[("Enter", "keep"), ("Esc", "clear"), ("type", "to filter")]
    } else if app.view == View::Orgs {
        &[
            ("Tab", "view"),
            ("↑↓", "move"),
            ("Enter", "activity"),
            ("o", "org"),
            ("w", "webhooks"),
            ("?", "help"),
            ("q", "quit"),
        ]
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
    ("Enter", "open: an org's activity, a record, a team"),
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
    // As wide as the widest line and its border, so nothing is cut on an 80-column terminal.
    let widest = lines.iter().map(Line::width).max().unwrap_or(0);
    let rect = centered(area, widest as u16 + 2, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(Span::styled(" Help ", bold()))),
        rect,
    );
}

#[cfg(test)]
pub(crate) mod tests;
