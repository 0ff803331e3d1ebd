//! The Webhooks view: where each of the current org's endpoints stands in delivering the
//! org's events, so a receiver that keeps failing shows here before anyone misses its events.
//! Two lines per endpoint (the counts, then the state with the last error), and the selected
//! endpoint in full below, since receivers' error texts rarely fit a row. An endpoint is named
//! by its host and id: the daemon never sends its URL, whose path or query may hold a token.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;
use scimd_core::wire::WebhookSummary;
use unicode_width::UnicodeWidthStr;

use super::{bold, dim, selected_style, window};
use crate::app::App;
use crate::text::{clip, escape};
use crate::when;

/// The color of an endpoint that is failing right now: the dashboard's color for errors.
pub const FAILING: Color = Color::Red;

/// Whether the endpoint's next event has failed at least once and is being retried.
pub fn failing(hook: &WebhookSummary) -> bool {
    hook.attempts > 0
}

/// How an endpoint is named: `hooks.acme.com · 5e2c6e0f8a1b9d34` (host, then endpoint id).
pub fn label(hook: &WebhookSummary) -> String {
    format!("{} · {}", hook.host, hook.endpoint)
}

/// What an org without endpoints shows: the command that adds one.
pub fn add_hint(org: &str) -> String {
    format!("Add one with: scimd webhook add --org {org} --url URL")
}

/// The daemon's clock now, in Unix seconds: its start plus the uptime it last reported.
pub(super) fn daemon_now(app: &App) -> Option<i64> {
    let started = when::unix_secs(&app.daemon.as_ref()?.started)?;
    Some(started + i64::try_from(app.uptime_secs).ok()?)
}

/// `12:02:03 (2s ago)` when the daemon's clock is known, else the clock time alone.
fn at(t: &str, now: Option<i64>) -> String {
    match (when::unix_secs(t), now) {
        (Some(t_secs), Some(now)) => {
            format!("{} ({})", when::clock(t), when::relative(t_secs, now))
        }
        _ => when::clock(t).to_string(),
    }
}

/// When the next attempt is due: `next in 42s`, or the clock time without the daemon's clock.
fn next(t: &str, now: Option<i64>) -> String {
    match (when::unix_secs(t), now) {
        (Some(t), Some(now)) if t > now => format!("next in {}", when::span((t - now) as u64)),
        // Past due: the worker is at it or about to be.
        (Some(_), Some(_)) => "next attempt due".to_string(),
        _ => format!("next {}", when::clock(t)),
    }
}

/// The state line: `ok`, or `retrying (3 attempts), next in 42s, last error: ...`.
pub fn state(hook: &WebhookSummary, now: Option<i64>) -> String {
    if !failing(hook) {
        return match &hook.last_success {
            Some(t) => format!("ok, last success {}", at(t, now)),
            None => "ok".to_string(),
        };
    }
    let mut s = format!(
        "retrying ({} attempt{})",
        hook.attempts,
        if hook.attempts == 1 { "" } else { "s" }
    );
    if let Some(t) = &hook.next_retry {
        s.push_str(&format!(", {}", next(t, now)));
    }
    if let Some(e) = &hook.last_error {
        s.push_str(&format!(", last error: {e}"));
    }
    s
}

/// `s` padded with spaces to `width` columns.
pub(super) fn pad(s: String, width: usize) -> String {
    let fill = width.saturating_sub(s.width());
    s + &" ".repeat(fill)
}

/// A column as wide as its header or its widest cell.
fn column(head: &str, cells: impl Iterator<Item = usize>) -> usize {
    cells.fold(head.len(), usize::max)
}

/// Draws the view into the body `area`.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let [main, detail] = Layout::vertical([Constraint::Fill(1), Constraint::Length(4)]).areas(area);
    let Some(org) = app.current_org() else {
        frame.render_widget(Paragraph::new(Span::styled(" Loading…", dim())), main);
        return;
    };
    let hooks = app.webhooks();
    let now = daemon_now(app);
    let backlog: u64 = hooks.iter().map(|h| h.backlog).sum();
    let failing_n = hooks.iter().filter(|h| failing(h)).count();
    let mut title = vec![Span::styled(
        format!(" Webhooks of {} ({}) ", clip(org, 20), hooks.len()),
        bold(),
    )];
    if backlog > 0 {
        title.push(Span::styled(format!("· backlog {backlog} "), bold()));
    }
    if failing_n > 0 {
        title.push(Span::styled(
            format!("· {failing_n} failing "),
            bold().fg(FAILING),
        ));
    }
    let block = Block::default()
        .borders(Borders::TOP)
        .title(Line::from(title));
    let inner = block.inner(main);
    frame.render_widget(block, main);
    if hooks.is_empty() {
        let lines =
            vec![
            Line::styled(format!("No webhook endpoints for {}.", clip(org, 40)), dim()),
            Line::raw(add_hint(&escape(org))),
            Line::styled(
                "The daemon picks up the change by itself; this view then shows its deliveries.",
                dim(),
            ),
        ];
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
        return;
    }

    // The counts get the columns they need; the endpoint's name the rest.
    let delivered: Vec<String> = hooks
        .iter()
        .map(|h| format!("up to #{}", h.delivered))
        .collect();
    let dw = column("Delivered", delivered.iter().map(String::len));
    let bw = column("Backlog", hooks.iter().map(|h| h.backlog.to_string().len()));
    let fw = column("Failed", hooks.iter().map(|h| h.failed.to_string().len()));
    let width = usize::from(inner.width);
    let name_w = width.saturating_sub(dw + bw + fw + 3);
    let mut lines = vec![Line::styled(
        format!(
            "{} {:>dw$} {:>bw$} {:>fw$}",
            pad(clip("Endpoint", name_w), name_w),
            "Delivered",
            "Backlog",
            "Failed"
        ),
        bold().fg(Color::Gray),
    )];
    let per_page = usize::from(inner.height.saturating_sub(1)) / 2;
    let selected = app.webhook.min(hooks.len() - 1);
    let (start, end) = window(hooks.len(), selected, per_page);
    for (i, hook) in hooks.iter().enumerate().take(end).skip(start) {
        let mut style = if failing(hook) {
            Style::new().fg(FAILING)
        } else {
            Style::new()
        };
        if i == selected {
            style = style.patch(selected_style());
        }
        let failed_style = if hook.failed > 0 && !failing(hook) {
            style.fg(Color::Yellow)
        } else {
            style
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!(
                    "{} {:>dw$} {:>bw$} ",
                    pad(clip(&label(hook), name_w), name_w),
                    delivered[i],
                    hook.backlog
                ),
                style,
            ),
            Span::styled(format!("{:>fw$}", hook.failed), failed_style),
        ]));
        let state_style = if failing(hook) {
            style
        } else {
            style.fg(Color::Green)
        };
        lines.push(Line::styled(
            format!("  {}", clip(&state(hook, now), width.saturating_sub(2))),
            state_style,
        ));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    render_detail(&hooks[selected], now, frame, detail);
}

/// The selected endpoint in full: its host and id, and the receiver's last error, wrapped.
fn render_detail(hook: &WebhookSummary, now: Option<i64>, frame: &mut Frame, area: Rect) {
    let mut times = Vec::new();
    match &hook.last_success {
        Some(t) => times.push(format!("last success {}", at(t, now))),
        None => times.push("nothing delivered yet".to_string()),
    }
    if let (true, Some(t)) = (failing(hook), &hook.next_retry) {
        times.push(format!("next attempt {}", at(t, now)));
    }
    let mut lines = vec![
        Line::styled(escape(&label(hook)), bold()),
        Line::styled(times.join(" · "), dim()),
    ];
    if let Some(e) = &hook.last_error {
        let style = if failing(hook) {
            Style::new().fg(FAILING)
        } else {
            dim()
        };
        lines.push(Line::from(vec![
            Span::styled("Last error: ", dim()),
            Span::styled(escape(e), style),
        ]));
    }
    let block = Block::default().borders(Borders::TOP);
    frame.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: true }),
        area,
    );
}
