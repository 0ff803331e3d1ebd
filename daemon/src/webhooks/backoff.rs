//! What an attempt's result does to an endpoint's delivery state: a success moves past the
//! event; a failure schedules the next try by exponential backoff from one second, capped at
//! ten minutes, with jitter so that many endpoints failing together do not retry in step, until
//! the retry time runs out and the event is given up.

use std::time::Duration;

use crate::store::hooks::HookState;

/// The first retry's delay, before jitter.
const FIRST: Duration = Duration::from_secs(1);
/// The longest delay between two attempts.
pub const CAP: Duration = Duration::from_secs(600);

/// The delay after the `attempts`-th failure of an event (1 for the first), scaled by
/// `jitter` in [0, 1): between half and all of the exponential step.
pub fn delay(attempts: u32, jitter: f64) -> Duration {
    let step = FIRST
        .checked_mul(1u32 << attempts.saturating_sub(1).min(20))
        .unwrap_or(CAP)
        .min(CAP);
    step.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// Event `seq` was delivered at `now` (Unix ms).
pub fn succeeded(state: &mut HookState, seq: u64, now: i64) {
    state.delivered = seq;
    state.attempts = 0;
    state.failing_since = None;
    state.next_attempt = None;
    state.last_success = Some(now);
}

/// Event `seq` failed at `now` with `cause`. Returns true when it has failed for `retry_for`
/// and is given up (counted, and passed); otherwise the next attempt is scheduled.
pub fn failed(
    state: &mut HookState,
    seq: u64,
    now: i64,
    retry_for: Duration,
    cause: String,
    jitter: f64,
) -> bool {
    state.attempts = state.attempts.saturating_add(1);
    let since = *state.failing_since.get_or_insert(now);
    state.last_error = Some(cause);
    if now - since >= i64::try_from(retry_for.as_millis()).unwrap_or(i64::MAX) {
        state.failed += 1;
        state.delivered = seq;
        state.attempts = 0;
        state.failing_since = None;
        state.next_attempt = None;
        return true;
    }
    let d = delay(state.attempts, jitter);
    state.next_attempt = Some(now + i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_until_the_retry_time_then_the_event_is_given_up() {
        let hour = Duration::from_secs(3600);
        let mut s = HookState {
            delivered: 6,
            ..HookState::default()
        };
        assert!(!failed(&mut s, 7, 1_000, hour, "HTTP 503".into(), 1.0));
        assert_eq!(
            (s.attempts, s.failing_since, s.next_attempt),
            (1, Some(1_000), Some(2_000))
        );
        assert!(!failed(&mut s, 7, 2_000, hour, "HTTP 500".into(), 1.0));
        assert_eq!((s.attempts, s.next_attempt), (2, Some(4_000)));
        assert_eq!(s.last_error.as_deref(), Some("HTTP 500"));
        assert_eq!(s.delivered, 6, "a failing event holds the position");
        // An hour after the first failure: given up, counted, passed.
        assert!(failed(
            &mut s,
            7,
            1_000 + 3_600_000,
            hour,
            "refused".into(),
            0.5
        ));
        assert_eq!((s.delivered, s.failed, s.attempts), (7, 1, 0));
        assert_eq!((s.failing_since, s.next_attempt), (None, None));
        assert_eq!(
            s.last_error.as_deref(),
            Some("refused"),
            "kept for the dashboard"
        );
        // The next event starts its own clock, and a success clears the failure.
        assert!(!failed(&mut s, 8, 5_000_000, hour, "HTTP 502".into(), 0.0));
        succeeded(&mut s, 8, 5_000_100);
        assert_eq!((s.delivered, s.attempts, s.failing_since), (8, 0, None));
        assert_eq!(
            (s.next_attempt, s.last_success, s.failed),
            (None, Some(5_000_100), 1)
        );
    }

    #[test]
    fn delays_double_up_to_the_cap_and_jitter_stays_within_half() {
        assert_eq!(delay(1, 1.0), Duration::from_secs(1));
        assert_eq!(delay(2, 1.0), Duration::from_secs(2));
        assert_eq!(delay(4, 1.0), Duration::from_secs(8));
        assert_eq!(delay(30, 1.0), CAP);
        assert_eq!(delay(u32::MAX, 1.0), CAP);
        assert_eq!(delay(3, 0.0), Duration::from_secs(2));
        assert!(delay(0, 0.5) <= Duration::from_secs(1));
        for a in 1..40 {
            assert!(delay(a, 0.0) <= delay(a + 1, 0.0));
            assert!(delay(a, 0.0) * 2 >= delay(a, 0.999));
        }
    }
}
