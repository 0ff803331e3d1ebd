//! The Orgs view, where the dashboard opens: is each org's IdP still talking to us? One row
//! per org with its users and teams, its last SCIM request (how long ago, method, resource,
//! status in the outcome's colour), the last hour's requests, refusals and 401s, its events
//! consumers' worst lag and its webhooks' state; under it the org's requests per minute over
//! the last ten minutes as a sparkline, with what needs a look spelled out. An org whose token
//! is being refused (401s in the last minute) or whose last request failed stands out in red.
//! `Enter` opens the org's Activity.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use scimd_core::wire::OrgHealth;

use super::webhooks::{daemon_now, failing, pad};
use super::{bold, dim, outcome_color, selected_style, window};
use crate::app::App;
use crate::text::{clip, escape};
use crate::when;

/// The colour of an org that needs a look now.
pub const ALERT: Color = Color::Red;

/// Whether the org's token is being refused right now, or its last request failed.
pub fn alarming(org: &OrgHealth) -> bool {
    org.unauthorized_1m > 0 || org.last_request.as_ref().is_some_and(|r| r.status >= 400)
}

/// The sparkline's bars, lowest to highest.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Requests per minute as bars scaled to the busiest minute; a minute without requests is a
/// blank, so a silent IdP reads as an empty line.
pub fn sparkline(per_minute: &[u64]) -> String {
    let top = per_minute.iter().copied().max().unwrap_or(0);
    per_minute
        .iter()
        .map(|&n| match n {
            0 => ' ',
            n => BARS[((n * 8).div_ceil(top.max(1)) as usize).clamp(1, 8) - 1],
        })
        .collect()
}

/// `PATCH Groups 204 · 12s ago`: the last request, its age on the daemon's clock.
fn last_request(org: &OrgHealth, now: Option<i64>) -> (String, String) {
    let Some(r) = &org.last_request else {
        return ("none yet".to_string(), String::new());
    };
    let age = match (when::unix_secs(&r.time), now) {
        (Some(t), Some(now)) => when::relative(t, now),
        _ => when::clock(&r.time).to_string(),
    };
    (
        format!("{} {} ", escape(&r.method), escape(&r.resource)),
        format!("{} {age}", r.status),
    )
}

/// The webhooks cell: `-`, `2 ok`, `1 failing`.
fn hooks_cell(org: &OrgHealth) -> (String, Style) {
    let failing_n = org.webhooks.iter().filter(|h| failing(h)).count();
    match (org.webhooks.len(), failing_n) {
        (0, _) => ("-".to_string(), dim()),
        (n, 0) => (format!("{n} ok"), Style::new().fg(Color::Green)),
        (_, f) => (format!("{f} failing"), Style::new().fg(ALERT)),
    }
}

/// The line under an org: its sparkline and what needs a look.
fn detail(org: &OrgHealth) -> String {
    let mut s = format!("  {} req/min, last 10 min", sparkline(&org.requests_10m));
    if org.unauthorized_1m > 0 {
        s.push_str(&format!(
            " · token refused: {} 401s in the last minute",
            org.unauthorized_1m
        ));
    } else if let Some(r) = org.last_request.as_ref().filter(|r| r.status >= 400) {
        s.push_str(&format!(" · last request failed ({})", r.status));
    }
    let consumers = org.events.consumers.len();
    if consumers > 0 {
        s.push_str(&format!(
            " · {consumers} consumer{}",
            if consumers == 1 { "" } else { "s" }
        ));
    }
    s
}

/// Draws the view into the body `area`.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let orgs = &app.health;
    let alarms = orgs.iter().filter(|o| alarming(o)).count();
    let mut title = vec![Span::styled(format!(" Orgs ({}) ", orgs.len()), bold())];
    if alarms > 0 {
        title.push(Span::styled(
            format!(
                "· {alarms} need{} a look ",
                if alarms == 1 { "s" } else { "" }
            ),
            bold().fg(ALERT),
        ));
    }
    let block = Block::default()
        .borders(Borders::TOP)
        .title(Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if orgs.is_empty() {
        frame.render_widget(Paragraph::new(Span::styled(" Loading…", dim())), inner);
        return;
    }
    let now = daemon_now(app);
    let width = usize::from(inner.width);
    // Fixed columns for the numbers; the org's name and its last request share the rest.
    const NUMBERS: usize = 6 + 6 + 6 + 4 + 4 + 6 + 1 + 9;
    let rest = width.saturating_sub(NUMBERS + 1);
    let name_w = (rest / 3).clamp(4, 16);
    let last_w = rest.saturating_sub(name_w);
    let header = format!(
        "{} {:>5} {:>5} {} {:>5} {:>3} {:>3} {:>5} {}",
        pad("Org".to_string(), name_w),
        "Users",
        "Teams",
        pad(clip("Last request", last_w), last_w),
        "Req/h",
        "Ref",
        "401",
        "Lag",
        "Webhooks"
    );
    let mut lines = vec![Line::styled(clip(&header, width), bold().fg(Color::Gray))];
    let per_page = usize::from(inner.height.saturating_sub(1)) / 2;
    let selected = app.org_row.min(orgs.len() - 1);
    let (start, end) = window(orgs.len(), selected, per_page);
    for (i, org) in orgs.iter().enumerate().take(end).skip(start) {
        let mut base = if alarming(org) {
            Style::new().fg(ALERT).add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        if i == selected {
            base = base.patch(selected_style());
        }
        let (what, status_age) = last_request(org, now);
        let status_style = match &org.last_request {
            Some(r) => base.fg(outcome_color(r.status)),
            None => base.patch(dim()),
        };
        let what = clip(&what, last_w);
        let status_age = pad(
            clip(&status_age, last_w.saturating_sub(what.chars().count())),
            last_w.saturating_sub(what.chars().count()),
        );
        let lag = org.events.consumers.iter().map(|c| c.lag).max();
        let lag_style = match lag {
            Some(l) if l > 0 => base.fg(Color::Yellow),
            _ => base,
        };
        let (hooks, hooks_style) = hooks_cell(org);
        let num_style = |n: u64, colour: Color| if n > 0 { base.fg(colour) } else { base };
        lines.push(Line::from(vec![
            Span::styled(
                format!(
                    "{} {:>5} {:>5} ",
                    pad(clip(&escape(&org.name), name_w), name_w),
                    org.users,
                    org.teams
                ),
                base,
            ),
            Span::styled(what, base),
            Span::styled(status_age, status_style),
            Span::styled(format!(" {:>5}", org.requests_1h), base),
            Span::styled(
                format!(" {:>3}", org.refused_1h),
                num_style(org.refused_1h, Color::Yellow),
            ),
            Span::styled(
                format!(" {:>3}", org.unauthorized_1h),
                num_style(org.unauthorized_1h, Color::Magenta),
            ),
            Span::styled(
                format!(" {:>5} ", lag.map_or("-".to_string(), |l| l.to_string())),
                lag_style,
            ),
            Span::styled(clip(&hooks, 9), base.patch(hooks_style)),
        ]));
        let detail_style = if alarming(org) {
            base
        } else {
            Style::new().fg(Color::Cyan)
        };
        lines.push(Line::styled(clip(&detail(org), width), detail_style));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests;
