//! The control-socket protocol between the daemon and the dashboard: newline-delimited JSON,
//! one message per line, versioned by the first `hello` each side sends. Shared here so the
//! daemon and the TUI cannot drift apart.

use serde::{Deserialize, Serialize};

/// Bumped on any incompatible change to the messages below.
pub const PROTOCOL_VERSION: u32 = 1;

/// One thing that happened: a SCIM write (or its failure), an auth failure, a config reload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityRecord {
    /// Increasing sequence number, unique per store.
    #[serde(default)]
    pub seq: u64,
    /// RFC 3339 time.
    pub time: String,
    pub org: String,
    /// Okta, Entra ID, authentik, OneLogin, or the User-Agent.
    pub client: String,
    pub method: String,
    /// `User`, `Group`, `auth` or `config`.
    pub resource: String,
    pub id: Option<String>,
    /// The user's userName or the team's displayName.
    pub name: Option<String>,
    /// "created", "deactivated", "renamed Eng to Platform", "added 3 members, removed 1", ...
    pub summary: String,
    pub status: u16,
    pub scim_type: Option<String>,
    pub latency_us: u64,
}

/// Per-org counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSummary {
    pub name: String,
    pub display_name: String,
    pub enabled: bool,
    pub users: u64,
    pub active_users: u64,
    pub teams: u64,
    /// The org's webhook endpoints, in config order.
    #[serde(default)]
    pub webhooks: Vec<WebhookSummary>,
}

/// One webhook endpoint's delivery. The endpoint is named by its id and host, never its URL:
/// a URL's path or query may carry the receiver's token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSummary {
    /// The endpoint id (16 hex digits, a digest of the configured URL).
    pub endpoint: String,
    /// The host the URL names (an IPv6 address without brackets).
    pub host: String,
    /// Every event up to this number is done with (delivered, filtered out or given up on).
    pub delivered: u64,
    /// Events of the org after `delivered`.
    pub backlog: u64,
    /// Events given up on.
    pub failed: u64,
    /// Failed attempts at the next event.
    pub attempts: u32,
    pub last_error: Option<String>,
    /// RFC 3339: when the next attempt is due, while one is failing.
    pub next_retry: Option<String>,
    /// RFC 3339.
    pub last_success: Option<String>,
}

/// Whether an org's IdP is still talking to scimd, as one daemon sees it: its counts, its last
/// SCIM request, its last write (from the shared activity log, so every daemon's), the last
/// hour's requests, its events consumers and its webhook endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgHealth {
    pub name: String,
    pub users: u64,
    pub teams: u64,
    /// The last SCIM request this daemon answered for the org, 401s included.
    pub last_request: Option<LastRequest>,
    /// RFC 3339: the last change a SCIM write committed, on any daemon sharing the store.
    pub last_write: Option<String>,
    /// SCIM requests this daemon answered for the org in the last hour.
    pub requests_1h: u64,
    /// Of those, refused with a 4xx other than 401.
    pub refused_1h: u64,
    /// Of those, refused with 401: a token that is wrong, revoked or rotated away.
    pub unauthorized_1h: u64,
    /// 401s in the current minute and the one before: the token is being refused now.
    #[serde(default)]
    pub unauthorized_1m: u64,
    /// Requests per minute over the last ten minutes, oldest first, the current minute last.
    #[serde(default)]
    pub requests_10m: Vec<u64>,
    pub events: EventsHealth,
    /// The org's webhook endpoints, in config order, as the Webhooks view shows them.
    pub webhooks: Vec<WebhookSummary>,
}

/// One answered SCIM request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRequest {
    /// RFC 3339.
    pub time: String,
    pub method: String,
    /// `Users`, `Groups`, `Bulk`, ... from a fixed set, never the client's text.
    pub resource: String,
    pub status: u16,
}

/// The org's change feed and who follows it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EventsHealth {
    /// The number of the org's newest event (0 before the first).
    pub newest: u64,
    /// The consumer tokens that polled `GET /events/v1/{org}` since this daemon started.
    pub consumers: Vec<ConsumerHealth>,
}

/// One events consumer, named by its token's digest, never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerHealth {
    /// The first 8 hex digits of the SHA-256 the config stores for the token.
    pub token: String,
    /// RFC 3339.
    pub last_poll: String,
    /// The `after` of its last poll: every event up to it is consumed.
    pub cursor: u64,
    /// Events after `cursor`: how far it is behind the newest.
    pub lag: u64,
}

/// What `scimd status` says about the daemon itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonStatus {
    pub version: String,
    pub uptime_secs: u64,
    /// `redb` or `postgres`.
    pub store: String,
    /// Whether the store serves reads and writes (what `/healthz` answers 200 for).
    pub healthy: bool,
    /// RFC 3339: the daemon's clock when it answered, which the times above are relative to.
    #[serde(default)]
    pub now: String,
}

/// A team with its member count. Teams are managed by SCIM only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamSummary {
    pub id: String,
    pub name: String,
    pub members: u64,
}

/// A member of a team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSummary {
    pub id: String,
    pub user_name: String,
    pub display_name: Option<String>,
    pub active: bool,
}

/// A user with the names of its teams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: String,
    pub user_name: String,
    pub display_name: Option<String>,
    pub active: bool,
    pub teams: Vec<String>,
}

/// What the daemon says about itself in its hello.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonInfo {
    pub version: String,
    /// The address SCIM is served on.
    pub listen: String,
    /// RFC 3339 start time.
    pub started: String,
    pub uptime_secs: u64,
}

/// Client to daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    Hello {
        version: u32,
    },
    /// Orgs with counts.
    Snapshot,
    Teams {
        org: String,
    },
    TeamMembers {
        org: String,
        team: String,
    },
    /// Users whose userName starts with `prefix` (case-insensitive), at most `limit`.
    Users {
        org: String,
        prefix: String,
        limit: usize,
    },
    /// The newest `limit` activity records, newest first.
    Recent {
        limit: usize,
    },
    /// Stream activity records and counter updates from now on.
    Subscribe,
    /// Write a consistent copy of the store to `path` (absolute, not existing yet): what
    /// `scimd backup` asks a running daemon, which holds the file.
    Backup {
        path: String,
    },
    /// Delete everything the store holds of `org`, which the daemon must no longer serve:
    /// what `scimd org purge` asks a running daemon.
    PurgeOrg {
        org: String,
    },
    /// The orgs that hold data in the store, configured or not.
    StoredOrgs,
    /// The daemon's health and every configured org's: what `scimd status` asks.
    Status,
}

/// Daemon to client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    Hello {
        version: u32,
        daemon: DaemonInfo,
    },
    Snapshot {
        orgs: Vec<OrgSummary>,
    },
    Teams {
        org: String,
        teams: Vec<TeamSummary>,
    },
    TeamMembers {
        org: String,
        team: String,
        members: Vec<MemberSummary>,
    },
    Users {
        org: String,
        users: Vec<UserSummary>,
    },
    Recent {
        records: Vec<ActivityRecord>,
    },
    Activity {
        record: ActivityRecord,
    },
    /// Sent about once a second to subscribers: totals since the daemon started.
    Counters {
        requests: u64,
        errors: u64,
        /// Seconds since the daemon started, so the dashboard's uptime needs no clock.
        #[serde(default)]
        uptime_secs: u64,
        orgs: Vec<OrgSummary>,
        /// Each configured org's health, for the Orgs view.
        #[serde(default)]
        health: Vec<OrgHealth>,
    },
    /// The backup asked for is written and durable.
    Backup {
        path: String,
        bytes: u64,
    },
    /// The purge asked for is done and durable: what it deleted.
    Purged {
        org: String,
        users: u64,
        teams: u64,
        memberships: u64,
        events: u64,
        activity: u64,
    },
    StoredOrgs {
        orgs: Vec<String>,
    },
    Status {
        daemon: DaemonStatus,
        orgs: Vec<OrgHealth>,
    },
    /// The subscriber fell behind and `missed` records were dropped for it.
    Lagged {
        missed: u64,
    },
    Error {
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_as_tagged_json_lines() {
        let rows = vec![
            (
                ClientMsg::Hello { version: 1 },
                r#"{"type":"hello","version":1}"#,
            ),
            (ClientMsg::Snapshot, r#"{"type":"snapshot"}"#),
            (ClientMsg::Status, r#"{"type":"status"}"#),
            (
                ClientMsg::Users {
                    org: "acme".into(),
                    prefix: "an".into(),
                    limit: 5,
                },
                r#"{"type":"users","org":"acme","prefix":"an","limit":5}"#,
            ),
        ];
        for (msg, line) in rows {
            assert_eq!(serde_json::to_string(&msg).ok().as_deref(), Some(line));
            assert_eq!(serde_json::from_str::<ClientMsg>(line).ok(), Some(msg));
        }
        assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"nope"}"#).is_err());
        let lagged = ServerMsg::Lagged { missed: 3 };
        let text = serde_json::to_string(&lagged).unwrap_or_default();
        assert_eq!(text, r#"{"type":"lagged","missed":3}"#);
    }
}
