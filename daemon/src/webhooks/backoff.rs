//! When a failed delivery is tried again: exponential backoff from one second, capped at ten
//! minutes, with jitter so that many endpoints failing together do not retry in step.

use std::time::Duration;

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

#[cfg(test)]
mod tests {
    use super::*;

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
