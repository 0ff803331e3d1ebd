//! The Orgs view against the sample state: a row per org, the refused org standing out, the
//! sparkline, Enter into the org's Activity, and every view and overlay whole at 80x24.

use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;
use unicode_width::UnicodeWidthStr;

use super::*;
use crate::app::tests::{chr, key};
use crate::app::View;
use crate::ui::tests::{sample, screen_text};
use crate::ui::{render as render_all, HELP};
use crossterm::event::KeyCode;

fn orgs_app() -> App {
    let mut app = sample();
    app.view = View::Orgs;
    app
}

fn draw(app: &App) -> (Vec<String>, ratatui::buffer::Buffer) {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| render_all(app, f)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    (screen_text(&buffer), buffer)
}

#[test]
fn a_row_per_org_with_its_last_request_counts_lag_and_webhooks() {
    let app = orgs_app();
    assert_eq!(
        App::new("x").view,
        View::Orgs,
        "the dashboard opens on Orgs"
    );
    let (lines, buffer) = draw(&app);
    assert!(lines[2].starts_with("  Orgs  │  Activity"), "{}", lines[2]);
    assert!(
        lines[3].starts_with(" Orgs (2) · 1 needs a look"),
        "{}",
        lines[3]
    );
    assert!(lines[4].starts_with("Org "), "{}", lines[4]);
    let acme = &lines[5];
    assert!(acme.starts_with("acme "), "{acme}");
    assert!(acme.contains("PATCH Groups 204 2s ago"), "{acme}");
    assert!(acme.contains("  311   2   0     2 1 failing"), "{acme}");
    assert!(
        lines[6].contains("▃▆▆█▇▄▇██▅ req/min, last 10 min · 1 consumer"),
        "{}",
        lines[6]
    );
    let globex = &lines[7];
    assert!(globex.contains("GET Users 401 3m 04s ago"), "{globex}");
    assert!(globex.ends_with("   14   0  14     - -"), "{globex}");
    assert!(
        lines[8].contains("token refused: 3 401s in the last minute"),
        "{}",
        lines[8]
    );
    // globex stands out; acme's row (selected) does not.
    assert_eq!(buffer[(0, 7)].fg, Color::Red);
    assert_ne!(buffer[(0, 5)].fg, Color::Red);
    // The 401 status is the Activity view's colour for auth failures.
    let at = globex.find("401").unwrap() as u16;
    assert_eq!(buffer[(at, 7)].fg, Color::Magenta);
    assert!(lines.iter().all(|l| l.width() <= 80));
    assert!(lines[23].contains("Enter activity"), "{}", lines[23]);
}

#[test]
fn enter_opens_the_selected_orgs_activity() {
    let mut app = orgs_app();
    app.update(chr('j'));
    assert_eq!(app.org_row, 1);
    app.update(chr('j'));
    assert_eq!(app.org_row, 1, "stays on the last org");
    let out = app.update(key(KeyCode::Enter));
    assert_eq!(app.view, View::Activity);
    assert_eq!(app.org.as_deref(), Some("globex"));
    assert!(!out.is_empty(), "the org's Teams and Users are asked for");
    assert!(app
        .visible()
        .iter()
        .all(|r| r.org == "globex" || r.org.is_empty()));
    // Tab order: Orgs comes first, then Activity.
    app.update(key(KeyCode::BackTab));
    assert_eq!(app.view, View::Orgs);
}

#[test]
fn the_sparkline_scales_to_the_busiest_minute_and_leaves_silent_minutes_blank() {
    assert_eq!(sparkline(&[0, 1, 2, 4, 8]), " ▁▂▄█");
    assert_eq!(sparkline(&[0, 0]), "  ");
    assert_eq!(sparkline(&[5]), "█");
}

#[test]
fn every_view_and_overlay_fits_80x24() {
    let mut app = orgs_app();
    for _ in View::ALL {
        let (lines, _) = draw(&app);
        assert!(lines.iter().all(|l| l.width() <= 80), "{lines:#?}");
        app.update(chr('?'));
        let text = draw(&app).0.join("\n");
        // Each help line whole, not cut at the overlay's border.
        for (_, what) in HELP {
            assert!(text.contains(what), "help cut at 80x24: {what}\n{text}");
        }
        app.update(key(KeyCode::Esc));
        app.update(chr('o'));
        let text = draw(&app).0.join("\n");
        assert!(text.contains("globex  7 users, 1 teams"), "{text}");
        assert!(
            text.contains("acme  42 users, 5 teams, 2 webhooks"),
            "{text}"
        );
        app.update(key(KeyCode::Esc));
        app.update(key(KeyCode::Tab));
    }
}
