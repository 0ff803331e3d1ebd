//! What keys do: Ctrl-C always quits; typing into a filter and the overlays (help, org picker)
//! take keys before anything else; then the keys of every view, and each view's moves, open
//! and back.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use scimd_core::wire::ClientMsg;

use super::{App, OpenTeam, Teams, View};

impl App {
    pub(super) fn key(&mut self, key: KeyEvent) -> Vec<ClientMsg> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c')) {
            self.quit = true;
            return Vec::new();
        }
        if self.editing {
            return self.edit(key);
        }
        if self.help {
            match key.code {
                KeyCode::Char('q') => self.quit = true,
                _ => self.help = false,
            }
            return Vec::new();
        }
        if let Some(sel) = self.picker {
            return self.pick(key, sel);
        }
        match key.code {
            KeyCode::Char('q') => self.quit = true,
            KeyCode::Char('?') => self.help = true,
            KeyCode::Tab => self.view = View::ALL[(self.view.index() + 1) % View::ALL.len()],
            KeyCode::BackTab => {
                self.view = View::ALL[(self.view.index() + View::ALL.len() - 1) % View::ALL.len()]
            }
            KeyCode::Char('o') => {
                let current = self
                    .org
                    .as_ref()
                    .and_then(|o| self.orgs.iter().position(|x| &x.name == o))
                    .map_or(0, |i| i + 1);
                self.picker = Some(current);
            }
            KeyCode::Char('p') => {
                self.feed.paused = !self.feed.paused;
                if !self.feed.paused {
                    for r in std::mem::take(&mut self.feed.held) {
                        self.insert(r);
                    }
                }
            }
            KeyCode::Char('w') => self.view = View::Webhooks,
            // Endpoints and orgs are few and come from the config: nothing to filter.
            KeyCode::Char('/') if matches!(self.view, View::Webhooks | View::Orgs) => {}
            KeyCode::Char('/') => {
                self.editing = true;
                // Searching users starts from what was typed before; filters too.
                self.feed.detail = None;
            }
            KeyCode::Esc => return self.back(),
            KeyCode::Enter => return self.enter(),
            KeyCode::Down | KeyCode::Char('j') => self.move_by(1),
            KeyCode::Up | KeyCode::Char('k') => self.move_by(-1),
            KeyCode::PageDown => self.move_by(10),
            KeyCode::PageUp => self.move_by(-10),
            KeyCode::Home | KeyCode::Char('g') => self.move_by(i64::MIN / 2),
            KeyCode::End | KeyCode::Char('G') => self.move_by(i64::MAX / 2),
            _ => {}
        }
        Vec::new()
    }

    /// Typing into the current view's filter; Enter keeps it, Esc clears it.
    fn edit(&mut self, key: KeyEvent) -> Vec<ClientMsg> {
        let text = match self.view {
            View::Activity => &mut self.feed.filter,
            View::Teams => &mut self.teams.filter,
            View::Users => &mut self.users.query,
            View::Webhooks | View::Orgs => {
                self.editing = false;
                return Vec::new();
            }
        };
        let changed = match key.code {
            KeyCode::Enter => {
                self.editing = false;
                false
            }
            KeyCode::Esc => {
                self.editing = false;
                let had = !text.is_empty();
                text.clear();
                had
            }
            KeyCode::Backspace => text.pop().is_some(),
            // The filter is short by nature; a cap keeps a held-down key harmless.
            KeyCode::Char(c) if !c.is_control() && text.chars().count() < 64 => {
                text.push(c);
                true
            }
            _ => false,
        };
        if !changed {
            return Vec::new();
        }
        match self.view {
            View::Activity => {
                self.feed.selected = 0;
                Vec::new()
            }
            View::Teams => {
                self.teams.selected = 0;
                Vec::new()
            }
            View::Users => {
                self.users.selected = 0;
                self.refresh_users()
            }
            View::Webhooks | View::Orgs => Vec::new(),
        }
    }

    fn pick(&mut self, key: KeyEvent, sel: usize) -> Vec<ClientMsg> {
        let n = self.orgs.len() + 1;
        match key.code {
            KeyCode::Esc | KeyCode::Char('o') => self.picker = None,
            KeyCode::Char('q') => self.quit = true,
            KeyCode::Down | KeyCode::Char('j') => self.picker = Some((sel + 1).min(n - 1)),
            KeyCode::Up | KeyCode::Char('k') => self.picker = Some(sel.saturating_sub(1)),
            KeyCode::Enter => {
                self.picker = None;
                let chosen = sel.checked_sub(1).and_then(|i| self.orgs.get(i));
                return self.choose_org(chosen.map(|o| o.name.clone()));
            }
            _ => {}
        }
        Vec::new()
    }

    /// Makes `new` the current org (None: all orgs), refreshing the views that show one org.
    fn choose_org(&mut self, new: Option<String>) -> Vec<ClientMsg> {
        if new == self.org {
            return Vec::new();
        }
        let before = self.current_org().map(str::to_string);
        self.org = new;
        self.feed.selected = 0;
        self.webhook = 0;
        if self.current_org().map(str::to_string) != before {
            self.teams = Teams::default();
            self.users.list.clear();
            self.users.searched = false;
            self.users.selected = 0;
            return self.refresh_org_views();
        }
        Vec::new()
    }

    fn back(&mut self) -> Vec<ClientMsg> {
        match self.view {
            View::Activity => {
                if self.feed.detail.take().is_none() {
                    self.feed.filter.clear();
                }
            }
            View::Teams => {
                if self.teams.open.take().is_none() {
                    self.teams.filter.clear();
                }
            }
            View::Users | View::Webhooks | View::Orgs => {}
        }
        Vec::new()
    }

    fn enter(&mut self) -> Vec<ClientMsg> {
        match self.view {
            View::Orgs => {
                // The org's own activity: the feed, filtered to it.
                let Some(name) = self.health.get(self.org_row).map(|o| o.name.clone()) else {
                    return Vec::new();
                };
                self.view = View::Activity;
                self.feed.detail = None;
                self.choose_org(Some(name))
            }
            View::Activity => {
                if self.feed.detail.is_none() {
                    self.feed.detail = self.visible().get(self.feed.selected).map(|r| (*r).clone());
                }
                Vec::new()
            }
            View::Teams => {
                if self.teams.open.is_some() {
                    return Vec::new();
                }
                let Some(team) = self
                    .visible_teams()
                    .get(self.teams.selected)
                    .map(|t| (*t).clone())
                else {
                    return Vec::new();
                };
                let Some(org) = self.current_org().map(str::to_string) else {
                    return Vec::new();
                };
                let id = team.id.clone();
                self.teams.open = Some(OpenTeam {
                    team,
                    members: None,
                    selected: 0,
                });
                vec![ClientMsg::TeamMembers { org, team: id }]
            }
            View::Users | View::Webhooks => Vec::new(),
        }
    }

    fn move_by(&mut self, delta: i64) {
        let step = |sel: usize, n: usize| -> usize {
            if n == 0 {
                return 0;
            }
            let next = sel as i64 + delta;
            next.clamp(0, n as i64 - 1) as usize
        };
        match self.view {
            View::Activity => {
                if self.feed.detail.is_none() {
                    let n = self.visible().len();
                    self.feed.selected = step(self.feed.selected, n);
                }
            }
            View::Teams => match &mut self.teams.open {
                Some(open) => {
                    let n = open.members.as_ref().map_or(0, Vec::len);
                    open.selected = step(open.selected, n);
                }
                None => {
                    let n = self.visible_teams().len();
                    self.teams.selected = step(self.teams.selected, n);
                }
            },
            View::Users => {
                self.users.selected = step(self.users.selected, self.users.list.len());
            }
            View::Webhooks => self.webhook = step(self.webhook, self.webhooks().len()),
            View::Orgs => self.org_row = step(self.org_row, self.health.len()),
        }
    }
}
