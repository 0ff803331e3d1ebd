//! Each webhook endpoint's durable delivery state (how far it got, how its current event is
//! failing) and the lease that lets one daemon at a time deliver to it.
//!
//! The state is saved by the delivery worker after it moves on; a crash between a delivery and
//! its save sends that event again (at least once, with the same `webhook-id`). A backend
//! shared by several daemons keeps a lease per endpoint, renewed with every save: another
//! daemon takes the endpoint over only once the lease has run out, so in normal operation no
//! event is sent twice.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where an endpoint's delivery stands. Times are Unix milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HookState {
    /// Every event up to this number is done with: delivered, filtered out, or given up on.
    pub delivered: u64,
    /// Failed attempts at the event after `delivered`.
    pub attempts: u32,
    /// When the first of those attempts failed.
    pub failing_since: Option<i64>,
    /// When the next attempt is due.
    pub next_attempt: Option<i64>,
    /// The last failure, for the dashboard.
    pub last_error: Option<String>,
    /// When the last delivery succeeded.
    pub last_success: Option<i64>,
    /// Events given up on after the retry time ran out, or pruned before they could be sent.
    pub failed: u64,
}

impl HookState {
    /// Decodes a stored state; a state this binary cannot read starts over from `fallback`.
    pub(crate) fn decode(bytes: &[u8], fallback: u64) -> HookState {
        serde_json::from_slice(bytes).unwrap_or(HookState {
            delivered: fallback,
            ..HookState::default()
        })
    }

    pub(crate) fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Who delivers to an endpoint, and for how long without renewing.
#[derive(Debug, Clone)]
pub struct Lease {
    /// This daemon's id, random per process.
    pub owner: String,
    pub ttl: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_round_trips_and_an_unreadable_one_starts_over() {
        let s = HookState {
            delivered: 7,
            attempts: 2,
            failing_since: Some(1),
            next_attempt: Some(2),
            last_error: Some("refused".into()),
            last_success: None,
            failed: 1,
        };
        assert_eq!(HookState::decode(s.encode().as_bytes(), 0), s);
        assert_eq!(HookState::decode(b"{}", 5).delivered, 0);
        assert_eq!(HookState::decode(b"not json", 5).delivered, 5);
    }
}
