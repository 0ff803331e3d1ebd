//! The dashboard's state and its one entry point, [`App::update`]: keys and daemon messages
//! in, new state and requests for the daemon out. No IO and no clock, so every behaviour is
//! testable by feeding messages.
//!
//! What keys do is `keys.rs`; what the daemon's messages do is `server.rs`.

mod keys;
mod server;

use std::collections::VecDeque;

use crossterm::event::KeyEvent;
use scimd_core::wire::{
    ActivityRecord, ClientMsg, DaemonInfo, MemberSummary, OrgHealth, OrgSummary, ServerMsg,
    TeamSummary, UserSummary, WebhookSummary,
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
    Orgs,
    Activity,
    Teams,
    Users,
    Webhooks,
}

impl View {
    pub const ALL: [View; 5] = [
        View::Orgs,
        View::Activity,
        View::Teams,
        View::Users,
        View::Webhooks,
    ];

    pub fn title(self) -> &'static str {
        match self {
            View::Orgs => "Orgs",
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
    /// Each org's health from the last counters message, in config order.
    pub health: Vec<OrgHealth>,
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
    /// The selected row of the Orgs view, an index into `health`.
    pub org_row: usize,
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
            // Where the dashboard opens: whether each org's IdP is still talking to us.
            view: View::Orgs,
            orgs: Vec::new(),
            health: Vec::new(),
            org: None,
            rates: VecDeque::new(),
            error_rates: VecDeque::new(),
            totals: None,
            feed: Feed::default(),
            teams: Teams::default(),
            users: Users::default(),
            org_row: 0,
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
}

#[cfg(test)]
pub(crate) mod tests;
