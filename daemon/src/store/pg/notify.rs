//! Wake-ups across daemons: every batch that commits events says so with `NOTIFY` inside its
//! own transaction (so it is delivered only if the batch commits), and one dedicated
//! connection per daemon `LISTEN`s and wakes this process's [`Feed`] for the orgs named.
//!
//! The listener is not a pooled connection: it holds `LISTEN` for the life of the daemon,
//! with the pool's URL and TLS settings and its own `application_name` (`scimd-listen`). While
//! it is connected the feed's followers rely on it ([`Reach::Shared`], a slow safety poll);
//! when it is lost they poll every [`crate::store::events::FALLBACK_POLL`] ([`Reach::Deaf`])
//! while it reconnects with bounded backoff, and one wake of everything after `LISTEN` holds
//! again catches up whatever committed in the gap. A ping on the connection finds a silent
//! loss (a dead peer that never closed the socket).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_postgres::AsyncMessage;

use super::tls::MakeRustls;
use crate::store::events::{Feed, Reach};

/// The channel of event commits: the payload names the orgs (see [`events_payload`]).
pub(super) const EVENTS: &str = "scimd_events";
/// The channel of activity log appends (no payload).
pub(super) const ACTIVITY: &str = "scimd_activity";
/// The payload that wakes every org: too many orgs to name.
const ALL: &str = "*";
/// The longest payload sent. PostgreSQL refuses 8000 bytes and more (with its default block
/// size); the margin keeps clear of that whatever the build.
const MAX_PAYLOAD: usize = 7000;
/// The listener's `application_name`, so an operator (or a test) can find its connection.
pub(super) const APPLICATION_NAME: &str = "scimd-listen";
/// The first pause before reconnecting a lost listener; it doubles per failed try...
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
/// ...up to this.
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How often a connected listener checks that the server still answers (by `LISTEN`ing
/// again).
const PING_EVERY: Duration = Duration::from_secs(10);
/// How long connecting, `LISTEN` or a ping may take before the connection counts as lost.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The payload of an events notification for a batch that wrote events of `orgs`: their
/// names as a JSON array, or [`ALL`] when that would be too long to send.
pub(super) fn events_payload<'a>(orgs: impl Iterator<Item = &'a str>) -> String {
    let orgs: Vec<&str> = orgs.collect();
    match serde_json::to_string(&orgs) {
        Ok(text) if text.len() <= MAX_PAYLOAD => text,
        _ => ALL.to_string(),
    }
}

/// Sends a notification, `$1` the channel and `$2` the payload, inside the sending
/// transaction: delivered to every listener when (and only if) it commits.
pub(super) const NOTIFY: &str = "SELECT pg_notify($1, $2)";

/// Wakes what one notification names. A payload that does not read wakes everything: a
/// spurious wake costs one read, a missed one a wait.
fn deliver(feed: &Feed, channel: &str, payload: &str) {
    match channel {
        EVENTS => match serde_json::from_str::<Vec<String>>(payload) {
            Ok(orgs) => {
                for org in &orgs {
                    feed.wake(org);
                }
            }
            Err(_) => feed.wake_all(),
        },
        ACTIVITY => feed.wake_activity(),
        _ => {}
    }
}

/// Listens for the life of the backend's runtime: connects, `LISTEN`s, wakes `feed` for each
/// notification, and reconnects after a loss with backoff from [`BACKOFF_FIRST`] doubling to
/// [`BACKOFF_MAX`]. A loss is logged once, not per failed try.
pub(super) async fn listen(mut config: tokio_postgres::Config, tls: MakeRustls, feed: Arc<Feed>) {
    config.application_name(APPLICATION_NAME);
    config.connect_timeout(TIMEOUT);
    let mut backoff = BACKOFF_FIRST;
    // Whether this loss (or the failure to start) was told already.
    let mut told = false;
    loop {
        let mut up = false;
        let cause = session(&config, &tls, &feed, &mut up).await;
        if up {
            backoff = BACKOFF_FIRST;
            told = false;
        }
        // Followers poll again until the next connection holds; waking them makes each one
        // pick the shorter interval now rather than after its current wait.
        feed.set_reach(Reach::Deaf);
        feed.wake_all();
        if !told {
            tracing::warn!(
                %cause,
                retry_ms = backoff.as_millis() as u64,
                poll_ms = crate::store::events::FALLBACK_POLL.as_millis() as u64,
                "the PostgreSQL listener is down: other daemons' commits are polled for until \
                 it reconnects"
            );
            told = true;
        } else {
            tracing::debug!(%cause, retry_ms = backoff.as_millis() as u64, "the PostgreSQL listener is still down");
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// One connection of the listener: returns why it ended. Sets `up` once `LISTEN` holds; from
/// then until it returns, `feed` is woken by every daemon's commits.
async fn session(
    config: &tokio_postgres::Config,
    tls: &MakeRustls,
    feed: &Feed,
    up: &mut bool,
) -> String {
    let (client, conn) = match tokio::time::timeout(TIMEOUT, config.connect(tls.clone())).await {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => return format!("cannot connect: {}", super::error::chain(&e)),
        Err(_) => return "connecting timed out".into(),
    };
    let drive = drive(conn, feed);
    tokio::pin!(drive);
    let sql = format!("LISTEN {EVENTS}; LISTEN {ACTIVITY}");
    let listen = tokio::time::timeout(TIMEOUT, client.batch_execute(&sql));
    tokio::select! {
        done = listen => match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return format!("LISTEN failed: {e}"),
            Err(_) => return "LISTEN timed out".into(),
        },
        end = &mut drive => return end,
    }
    *up = true;
    feed.set_reach(Reach::Shared);
    // Whatever committed while nobody listened is read now.
    feed.wake_all();
    tracing::info!("listening for other daemons' commits on PostgreSQL");
    loop {
        tokio::select! {
            end = &mut drive => return end,
            () = tokio::time::sleep(PING_EVERY) => {}
        }
        // The ping is the LISTEN again: a no-op for the server, and the connection's last
        // statement (`pg_stat_activity.query`) keeps saying what it is for.
        let ping = tokio::time::timeout(TIMEOUT, client.batch_execute(&sql));
        tokio::select! {
            answered = ping => match answered {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return format!("the server does not answer: {e}"),
                Err(_) => return "the server does not answer a ping".into(),
            },
            end = &mut drive => return end,
        }
    }
}

/// Drives the connection, delivering each notification to `feed`; returns why it ended.
async fn drive<S, T>(mut conn: tokio_postgres::Connection<S, T>, feed: &Feed) -> String
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        match std::future::poll_fn(|cx| conn.poll_message(cx)).await {
            Some(Ok(AsyncMessage::Notification(n))) => deliver(feed, n.channel(), n.payload()),
            Some(Ok(_)) => {}
            Some(Err(e)) => return format!("the connection failed: {}", super::error::chain(&e)),
            None => return "the server closed the connection".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_names_the_orgs_or_all_when_too_long() {
        assert_eq!(
            events_payload(["acme", "be\"ta"].into_iter()),
            r#"["acme","be\"ta"]"#
        );
        let many: Vec<String> = (0..2000).map(|i| format!("org-{i}")).collect();
        let payload = events_payload(many.iter().map(String::as_str));
        assert_eq!(payload, ALL);
        let fits: Vec<String> = (0..100).map(|i| format!("org-{i}")).collect();
        assert!(events_payload(fits.iter().map(String::as_str)).len() <= MAX_PAYLOAD);
    }

    #[test]
    fn a_notification_wakes_what_it_names() {
        let feed = Feed::new(Reach::Shared);
        let mut acme = feed.subscribe("acme").expect("acme");
        let mut beta = feed.subscribe("beta").expect("beta");
        let mut activity = feed.subscribe_activity();
        deliver(&feed, EVENTS, r#"["acme"]"#);
        assert!(acme.has_changed().unwrap() && !beta.has_changed().unwrap());
        acme.borrow_and_update();
        deliver(&feed, EVENTS, ALL);
        assert!(acme.has_changed().unwrap() && beta.has_changed().unwrap());
        assert!(
            activity.has_changed().unwrap(),
            "all wakes the activity follower too"
        );
        activity.borrow_and_update();
        beta.borrow_and_update();
        deliver(&feed, ACTIVITY, "");
        assert!(activity.has_changed().unwrap() && !beta.has_changed().unwrap());
        deliver(&feed, "elsewhere", "[\"beta\"]");
        assert!(!beta.has_changed().unwrap());
    }
}
