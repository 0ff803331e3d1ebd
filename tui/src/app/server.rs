//! What the daemon's messages do to the state: counters into the rate history, answers into
//! the views of the org they were asked for, and records into the feed (held while paused),
//! marking the Teams and Users views stale for their next refresh.

use scimd_core::wire::{ClientMsg, ServerMsg};

use super::{App, View, RATE_WINDOW, RECENT_LIMIT};

impl App {
    pub(super) fn server(&mut self, msg: ServerMsg) -> Vec<ClientMsg> {
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
                health,
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
                self.health = health;
                // A reload can remove orgs under the selection.
                self.org_row = self.org_row.min(self.health.len().saturating_sub(1));
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
            // The dashboard never asks for these: they answer `scimd backup`, `org purge` and `status`.
            ServerMsg::Backup { .. }
            | ServerMsg::Purged { .. }
            | ServerMsg::StoredOrgs { .. }
            | ServerMsg::Status { .. } => Vec::new(),
        }
    }
}
