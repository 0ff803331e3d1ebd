//! The Teams view: the current org's teams, then an opened team's members, always under the
//! note that teams change only in the identity provider.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};
use ratatui::Frame;

use super::{bold, dim, selected_style, window};
use crate::app::App;
use crate::text::clip;

/// The note the Teams view always shows: the dashboard cannot (and must not) edit teams.
pub const READ_ONLY_NOTE: &str =
    "Read-only: team membership is changed only in the identity provider.";

pub(super) fn render_teams(app: &App, frame: &mut Frame, area: Rect) {
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
