//! Answering the dashboard's requests, and the counters every subscriber shares: store reads
//! run off the async threads, and one computation per second serves all dashboards.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use scimd_core::wire::PROTOCOL_VERSION;
use scimd_core::wire::{ClientMsg, OrgHealth, OrgSummary, ServerMsg};
use tokio::sync::watch;

use super::ControlState;
use crate::store::StoreError;

/// Caps on what one request may ask for.
const MAX_USERS: usize = 500;
const MAX_RECENT: usize = 10_000;

/// Computes the counters once a second while anyone subscribes; every subscriber gets the
/// same computed message, so many dashboards cost one set of store reads.
pub(super) async fn publish_counters(
    state: Arc<ControlState>,
    tx: watch::Sender<Option<ServerMsg>>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // The server keeps one receiver to clone from; more means someone subscribed.
        if tx.receiver_count() <= 1 {
            continue;
        }
        match orgs(state.clone()).await {
            Ok((orgs, health)) => {
                let (requests, errors) = state.bus.totals();
                tx.send_replace(Some(ServerMsg::Counters {
                    requests,
                    errors,
                    uptime_secs: state.started.elapsed().as_secs(),
                    orgs,
                    health,
                }));
            }
            Err(err) => tracing::warn!(cause = %err, "cannot compute dashboard counters"),
        }
    }
}

/// The configured orgs with their counts from the store, and their health.
async fn orgs(state: Arc<ControlState>) -> Result<(Vec<OrgSummary>, Vec<OrgHealth>), StoreError> {
    let config = state.config.borrow().clone();
    let store = state.store.clone();
    let tracker = state.bus.health().clone();
    blocking(move || {
        super::status::orgs(&store, &config, &tracker, time::OffsetDateTime::now_utc())
    })
    .await
}

/// Runs a store read off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(err) => Err(StoreError::Corrupt {
            table: "-",
            key: "-".into(),
            cause: format!("store task failed: {err}"),
        }),
    }
}

/// Answers one request.
pub(super) async fn answer(state: &Arc<ControlState>, req: ClientMsg) -> ServerMsg {
    let store = state.store.clone();
    let result = match req {
        ClientMsg::Hello { .. } => Ok(ServerMsg::Hello {
            version: PROTOCOL_VERSION,
            daemon: state.info(),
        }),
        ClientMsg::Subscribe => Ok(ServerMsg::Error {
            message: "already subscribed".into(),
        }),
        ClientMsg::Snapshot => orgs(state.clone())
            .await
            .map(|(orgs, _)| ServerMsg::Snapshot { orgs }),
        ClientMsg::Status => {
            // The daemon's line first: a store that cannot answer the org reads is exactly
            // when `scimd status` must still say "unhealthy" rather than fail.
            let daemon = super::status::daemon_status(state);
            Ok(match orgs(state.clone()).await {
                Ok((_, orgs)) => ServerMsg::Status { daemon, orgs },
                Err(err) => {
                    tracing::warn!(cause = %err, "cannot read the orgs' health");
                    ServerMsg::Status {
                        daemon: scimd_core::wire::DaemonStatus {
                            healthy: false,
                            ..daemon
                        },
                        orgs: Vec::new(),
                    }
                }
            })
        }
        ClientMsg::Teams { org } => {
            blocking(move || {
                let teams = store.teams(&org)?;
                Ok(ServerMsg::Teams { org, teams })
            })
            .await
        }
        ClientMsg::TeamMembers { org, team } => {
            blocking(move || {
                Ok(match store.team_members(&org, &team)? {
                    Some(members) => ServerMsg::TeamMembers { org, team, members },
                    None => ServerMsg::Error {
                        message: format!("org {org} has no team {team}"),
                    },
                })
            })
            .await
        }
        ClientMsg::Users { org, prefix, limit } => {
            blocking(move || {
                let users = store.users_by_prefix(&org, &prefix, limit.min(MAX_USERS))?;
                Ok(ServerMsg::Users { org, users })
            })
            .await
        }
        ClientMsg::Backup { path } => {
            let out = PathBuf::from(&path);
            if !out.is_absolute() {
                return ServerMsg::Error {
                    message: format!("the backup path {path} must be absolute"),
                };
            }
            tracing::info!(path = %out.display(), "writing a backup");
            blocking(move || {
                let bytes = store.backup(&out)?;
                tracing::info!(path = %out.display(), bytes, "backup written");
                Ok(ServerMsg::Backup { path, bytes })
            })
            .await
        }
        ClientMsg::PurgeOrg { org } => return purge(state, org).await,
        ClientMsg::StoredOrgs => {
            blocking(move || {
                let orgs = store.orgs()?;
                Ok(ServerMsg::StoredOrgs { orgs })
            })
            .await
        }
        ClientMsg::Recent { limit } => {
            blocking(move || {
                let records = store.recent_activity(limit.min(MAX_RECENT))?;
                Ok(ServerMsg::Recent { records })
            })
            .await
        }
    };
    result.unwrap_or_else(|err| {
        tracing::warn!(cause = %err, "control request failed");
        ServerMsg::Error {
            message: err.to_string(),
        }
    })
}

/// `scimd org purge` through the running daemon: refused while the daemon's live config still
/// has the org (it would go on serving it), else deleted chunk by chunk through the writer.
async fn purge(state: &Arc<ControlState>, org: String) -> ServerMsg {
    let org = org.to_ascii_lowercase();
    if state.config.borrow().org(&org).is_some() {
        return ServerMsg::Error {
            message: format!(
                "org {org} is in the running daemon's config; remove [orgs.{org}] from the \
                 file and let the daemon reload it before purging"
            ),
        };
    }
    tracing::info!(org = %org, "purging an org's stored data");
    let store = state.store.clone();
    let name = org.clone();
    match blocking(move || store.purge_org(&name)).await {
        Ok(p) => {
            tracing::info!(
                org = %org,
                users = p.users,
                teams = p.teams,
                memberships = p.memberships,
                events = p.events,
                activity = p.activity,
                "org purged"
            );
            ServerMsg::Purged {
                org,
                users: p.users,
                teams: p.teams,
                memberships: p.memberships,
                events: p.events,
                activity: p.activity,
            }
        }
        Err(err) => {
            tracing::warn!(org = %org, cause = %err, "org purge failed");
            ServerMsg::Error {
                message: format!("purging org {org}: {err}"),
            }
        }
    }
}
