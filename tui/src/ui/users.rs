//! The Users view: the search by userName prefix, the matching users, and the selected user's
//! teams below them.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::{bold, dim, selected_style, window};
use crate::app::App;
use crate::text::{clip, escape};

pub(super) fn render_users(app: &App, frame: &mut Frame, area: Rect) {
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
