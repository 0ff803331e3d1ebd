//! The dashboard's state and its one entry point, [`App::update`]: keys and daemon messages
//! in, new state and requests for the daemon out. No IO and no clock, so every behaviour is
//! testable by feeding messages.

use std::collections::VecDeque;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use scimd_core::wire::{
    ActivityRecord, ClientMsg, DaemonInfo, MemberSummary, OrgSummary, ServerMsg, TeamSummary,
    UserSummary, WebhookSummary,
};

/// Records kept in the feed; older ones scroll off (the daemon keeps the full history).
pub const MAX_RECORDS: usize = 5_000;
/// History asked for on every (re)connect.
pub const RECENT_LIMIT: usize = 1_000;
/// Users returned per search.
pub const USER_LIMIT: usize = 200;
/// Seconds of requests-per-second history in the sparkline.
pub const RATE_WINDOW: usize = 120;

/// Everything that can change the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(KeyEvent),
    /// The terminal changed size: nothing to update, but the screen is redrawn.
    Resize,
    /// The client completed the hello.
    Connected(DaemonInfo),
    /// The connection failed or dropped; the client retries by itself.
    Disconnected(String),
    Server(ServerMsg),
}

/// The views, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Activity,
    Teams,
    Users,
    Webhooks,
}

impl View {
    pub const ALL: [View; 4] = [View::Activity, View::Teams, View::Users, View::Webhooks];

    pub fn title(self) -> &'static str {
        match self {
            View::Activity => "Activity",
            View::Teams => "Teams",
            View::Users => "Users",
            View::Webhooks => "Webhooks",
        }
    }

    fn index(self) -> usize {
        View::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }
}

/// The connection to the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conn {
    Connecting,
    Connected,
    Disconnected(String),
}

/// The activity feed.
#[derive(Debug, Default)]
pub struct Feed {
    /// Newest first, by `seq`.
    pub records: VecDeque<ActivityRecord>,
    /// Records that arrived while paused.
    pub held: Vec<ActivityRecord>,
    pub paused: bool,
    /// Case-insensitive text filter.
    pub filter: String,
    /// Index into the visible (filtered) records.
    pub selected: usize,
    /// The record shown in the detail view.
    pub detail: Option<ActivityRecord>,
    /// Records the daemon could not deliver because we fell behind.
    pub missed: u64,
}

/// An opened team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenTeam {
    pub team: TeamSummary,
    /// None until the daemon answers.
    pub members: Option<Vec<MemberSummary>>,
    pub selected: usize,
}

/// The Teams view of the current org.
#[derive(Debug, Default)]
pub struct Teams {
    /// The org `list` belongs to.
    pub org: Option<String>,
    pub list: Vec<TeamSummary>,
    pub loaded: bool,
    pub filter: String,
    pub selected: usize,
    pub open: Option<OpenTeam>,
}

/// The Users view of the current org.
#[derive(Debug, Default)]
pub struct Users {
    pub query: String,
    pub list: Vec<UserSummary>,
    pub searched: bool,
    pub selected: usize,
}

/// The whole dashboard.
#[derive(Debug)]
pub struct App {
    /// The socket path, for the header while disconnected.
    pub socket: String,
    pub conn: Conn,
    pub daemon: Option<DaemonInfo>,
    pub uptime_secs: u64,
    pub view: View,
    pub orgs: Vec<OrgSummary>,
    /// The chosen org; None shows every org's activity (Teams, Users and Webhooks use the first
    /// org).
    pub org: Option<String>,
    /// Requests per second, oldest first.
    pub rates: VecDeque<u64>,
    /// Errors per second, aligned with `rates`.
    pub error_rates: VecDeque<u64>,
    /// Totals from the last counters message.
    pub totals: Option<(u64, u64)>,
    pub feed: Feed,
    pub teams: Teams,
    pub users: Users,
    /// The selected endpoint in the Webhooks view, an index into the current org's webhooks.
    pub webhook: usize,
    /// Typing into the current view's filter or search.
    pub editing: bool,
    pub help: bool,
    /// The org picker, with its selection (0 = all orgs).
    pub picker: Option<usize>,
    /// The last error the daemon reported.
    pub notice: Option<String>,
    /// Records arrived that may change the Teams or Users lists.
    stale_teams: bool,
    stale_users: bool,
    /// A `Recent` request is unanswered: lag reports do not pile up more of them.
    recent_pending: bool,
    pub quit: bool,
}

impl App {
    pub fn new(socket: impl Into<String>) -> App {
        App {
            socket: socket.into(),
            conn: Conn::Connecting,
            daemon: None,
            uptime_secs: 0,
            view: View::Activity,
            orgs: Vec::new(),
            org: None,
            rates: VecDeque::new(),
            error_rates: VecDeque::new(),
            totals: None,
            feed: Feed::default(),
            teams: Teams::default(),
            users: Users::default(),
            webhook: 0,
            editing: false,
            help: false,
            picker: None,
            notice: None,
            stale_teams: false,
            stale_users: false,
            recent_pending: false,
            quit: false,
        }
    }

    /// The org the Teams, Users and Webhooks views show.
    pub fn current_org(&self) -> Option<&str> {
        self.org
            .as_deref()
            .or_else(|| self.orgs.first().map(|o| o.name.as_str()))
    }

    /// The current org's summary, with its webhook endpoints.
    pub fn current_summary(&self) -> Option<&OrgSummary> {
        let org = self.current_org()?;
        self.orgs.iter().find(|o| o.name == org)
    }

    /// The current org's webhook endpoints, in config order.
    pub fn webhooks(&self) -> &[WebhookSummary] {
        self.current_summary()
            .map_or(&[], |o| o.webhooks.as_slice())
    }

    /// Whether a record passes the org and text filters.
    fn shows(&self, r: &ActivityRecord) -> bool {
        if let Some(org) = &self.org {
            // Config events belong to no org and matter to everyone.
            if !r.org.is_empty() && &r.org != org {
                return false;
            }
        }
        let needle = self.feed.filter.to_lowercase();
        if needle.is_empty() {
            return true;
        }
        let status = r.status.to_string();
        [
            r.org.as_str(),
            r.client.as_str(),
            r.method.as_str(),
            r.resource.as_str(),
            r.name.as_deref().unwrap_or_default(),
            r.id.as_deref().unwrap_or_default(),
            r.summary.as_str(),
            r.scim_type.as_deref().unwrap_or_default(),
            status.as_str(),
        ]
        .iter()
        .any(|f| f.to_lowercase().contains(&needle))
    }

    /// The feed after filtering, newest first.
    pub fn visible(&self) -> Vec<&ActivityRecord> {
        self.feed.records.iter().filter(|r| self.shows(r)).collect()
    }

    /// Teams after the name filter.
    pub fn visible_teams(&self) -> Vec<&TeamSummary> {
        let needle = self.teams.filter.to_lowercase();
        self.teams
            .list
            .iter()
            .filter(|t| t.name.to_lowercase().contains(&needle))
            .collect()
    }

    /// Requests per second over the sparkline window's last minute, and the share of them
    /// that failed.
    pub fn rate_and_errors(&self) -> (f64, Option<f64>) {
        let n = self.rates.len().min(60);
        let reqs: u64 = self.rates.iter().rev().take(n).sum();
        let errs: u64 = self.error_rates.iter().rev().take(n).sum();
        let last = self.rates.back().copied().unwrap_or(0) as f64;
        let share = (reqs > 0).then(|| errs as f64 / reqs as f64);
        (last, share)
    }

    /// Applies one message; returns the requests to send to the daemon.
    pub fn update(&mut self, msg: Msg) -> Vec<ClientMsg> {
        match msg {
            Msg::Key(key) => self.key(key),
            Msg::Resize => Vec::new(),
            Msg::Connected(info) => {
                self.conn = Conn::Connected;
                self.uptime_secs = info.uptime_secs;
                self.daemon = Some(info);
                // A restarted daemon counts from zero again.
                self.totals = None;
                self.notice = None;
                self.recent_pending = true;
                // Subscribe before asking for history: a record is either in the history or
                // arrives on the stream (duplicates are dropped by seq).
                let mut out = vec![
                    ClientMsg::Subscribe,
                    ClientMsg::Recent {
                        limit: RECENT_LIMIT,
                    },
                    ClientMsg::Snapshot,
                ];
                out.extend(self.refresh_org_views());
                out
            }
            Msg::Disconnected(reason) => {
                self.conn = Conn::Disconnected(reason);
                self.recent_pending = false;
                Vec::new()
            }
            Msg::Server(msg) => self.server(msg),
        }
    }

    fn server(&mut self, msg: ServerMsg) -> Vec<ClientMsg> {
        match msg {
            ServerMsg::Hello { daemon, .. } => {
                self.uptime_secs = daemon.uptime_secs;
                self.daemon = Some(daemon);
                Vec::new()
            }
            ServerMsg::Snapshot { orgs } => {
                let had_org = self.current_org().map(str::to_string);
                self.orgs = orgs;
                self.clamp_webhooks();
                if self.current_org().map(str::to_string) != had_org || !self.teams.loaded {
                    self.refresh_org_views()
                } else {
                    Vec::new()
                }
            }
            ServerMsg::Counters {
                requests,
                errors,
                uptime_secs,
                orgs,
            } => {
                if let Some((r0, e0)) = self.totals {
                    // Totals only go down when the daemon restarted; count from zero then.
                    let dr = requests.checked_sub(r0).unwrap_or(requests);
                    let de = errors.checked_sub(e0).unwrap_or(errors);
                    self.rates.push_back(dr);
                    self.error_rates.push_back(de);
                    while self.rates.len() > RATE_WINDOW {
                        self.rates.pop_front();
                        self.error_rates.pop_front();
                    }
                }
                self.totals = Some((requests, errors));
                self.uptime_secs = uptime_secs;
                let had_none = self.orgs.is_empty();
                self.orgs = orgs;
                // A reload can remove endpoints under the selection.
                self.clamp_webhooks();
                let mut out = Vec::new();
                if had_none && !self.orgs.is_empty() {
                    out.extend(self.refresh_org_views());
                }
                // Refresh what changed at most once a second rather than on every record.
                if self.stale_teams && self.view == View::Teams {
                    self.stale_teams = false;
                    out.extend(self.refresh_teams());
                }
                if self.stale_users && self.view == View::Users {
                    self.stale_users = false;
                    out.extend(self.refresh_users());
                }
                out
            }
            ServerMsg::Teams { org, teams } => {
                if Some(org.as_str()) == self.current_org() {
                    if let Some(open) = &mut self.teams.open {
                        if let Some(t) = teams.iter().find(|t| t.id == open.team.id) {
                            open.team = t.clone();
                        }
                    }
                    self.teams.org = Some(org);
                    self.teams.list = teams;
                    self.teams.loaded = true;
                    self.clamp_teams();
                }
                Vec::new()
            }
            ServerMsg::TeamMembers { org, team, members } => {
                if Some(org.as_str()) == self.current_org() {
                    if let Some(open) = &mut self.teams.open {
                        if open.team.id == team {
                            open.selected = open.selected.min(members.len().saturating_sub(1));
                            open.members = Some(members);
                        }
                    }
                }
                Vec::new()
            }
            ServerMsg::Users { org, users } => {
                if Some(org.as_str()) == self.current_org() {
                    self.users.list = users;
                    self.users.searched = true;
                    self.users.selected = self
                        .users
                        .selected
                        .min(self.users.list.len().saturating_sub(1));
                }
                Vec::new()
            }
            ServerMsg::Recent { records } => {
                self.recent_pending = false;
                for r in records {
                    self.insert(r);
                }
                Vec::new()
            }
            ServerMsg::Activity { record } => {
                if Some(record.org.as_str()) == self.current_org() {
                    match record.resource.as_str() {
                        "Group" => self.stale_teams = true,
                        "User" => {
                            // A deleted or (de)activated user changes member lists too.
                            self.stale_users = true;
                            self.stale_teams = true;
                        }
                        _ => {}
                    }
                }
                if self.feed.paused {
                    self.feed.held.push(record);
                } else {
                    self.insert(record);
                }
                Vec::new()
            }
            ServerMsg::Lagged { missed } => {
                self.feed.missed += missed;
                // The log has what the stream dropped: fetch it to fill the gap, once at a
                // time however often the daemon reports lag.
                if self.recent_pending {
                    return Vec::new();
                }
                self.recent_pending = true;
                vec![ClientMsg::Recent {
                    limit: RECENT_LIMIT,
                }]
            }
            ServerMsg::Error { message } => {
                self.notice = Some(message);
                Vec::new()
            }
            // The dashboard never asks for a backup.
            ServerMsg::Backup { .. } => Vec::new(),
        }
    }

    /// Inserts a record in seq order, dropping duplicates. When the operator has scrolled
    /// away from the top, the selection stays on the same record as new ones arrive above it.
    fn insert(&mut self, record: ActivityRecord) {
        let pos = self.feed.records.partition_point(|r| r.seq > record.seq);
        if self
            .feed
            .records
            .get(pos)
            .is_some_and(|r| r.seq == record.seq)
        {
            return;
        }
        if self.feed.selected > 0 && self.shows(&record) {
            let above = self
                .feed
                .records
                .iter()
                .take(pos)
                .filter(|r| self.shows(r))
                .count();
            if above <= self.feed.selected {
                self.feed.selected += 1;
            }
        }
        self.feed.records.insert(pos, record);
        if self.feed.records.len() > MAX_RECORDS {
            self.feed.records.pop_back();
        }
        self.clamp_feed();
    }

    fn clamp_feed(&mut self) {
        let n = self.visible().len();
        self.feed.selected = self.feed.selected.min(n.saturating_sub(1));
    }

    fn clamp_teams(&mut self) {
        let n = self.visible_teams().len();
        self.teams.selected = self.teams.selected.min(n.saturating_sub(1));
    }

    fn clamp_webhooks(&mut self) {
        self.webhook = self.webhook.min(self.webhooks().len().saturating_sub(1));
    }

    fn refresh_teams(&self) -> Vec<ClientMsg> {
        let Some(org) = self.current_org() else {
            return Vec::new();
        };
        let mut out = vec![ClientMsg::Teams { org: org.into() }];
        if let Some(open) = &self.teams.open {
            out.push(ClientMsg::TeamMembers {
                org: org.into(),
                team: open.team.id.clone(),
            });
        }
        out
    }

    fn refresh_users(&self) -> Vec<ClientMsg> {
        match self.current_org() {
            Some(org) => vec![ClientMsg::Users {
                org: org.into(),
                prefix: self.users.query.clone(),
                limit: USER_LIMIT,
            }],
            None => Vec::new(),
        }
    }

    /// Requests for the Teams and Users views of the current org.
    fn refresh_org_views(&self) -> Vec<ClientMsg> {
        let mut out = self.refresh_teams();
        out.extend(self.refresh_users());
        out
    }

    fn key(&mut self, key: KeyEvent) -> Vec<ClientMsg> {
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
            // Endpoints are few and come from the config: nothing to filter.
            KeyCode::Char('/') if self.view == View::Webhooks => {}
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
            View::Webhooks => {
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
            View::Webhooks => Vec::new(),
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
                let new = chosen.map(|o| o.name.clone());
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
            }
            _ => {}
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
            View::Users | View::Webhooks => {}
        }
        Vec::new()
    }

    fn enter(&mut self) -> Vec<ClientMsg> {
        match self.view {
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
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
