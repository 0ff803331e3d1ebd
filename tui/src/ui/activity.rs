//! The Activity view: the live feed as a table that widens to client and latency columns on
//! wide terminals, colored by outcome, and one record in full on Enter.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;
use scimd_core::wire::ActivityRecord;

use super::{bold, dim, outcome_color, selected_style, window};
use crate::app::App;
use crate::text::{clip, escape};

fn time_of(r: &ActivityRecord) -> String {
    // RFC 3339: the clock time is characters 11..19.
    r.time.get(11..19).unwrap_or(&r.time).to_string()
}

pub(super) fn render_activity(app: &App, frame: &mut Frame, area: Rect) {
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
