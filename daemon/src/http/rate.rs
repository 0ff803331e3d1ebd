//! Per-org request rate limits: a token bucket for each org that has `rate_limit` set, checked
//! after authentication so that nobody but the org's own clients can spend its budget.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use scimd_config::RateLimit;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The buckets, one per org name (bounded by the config's orgs).
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Takes one request from `org`'s bucket, or says how many whole seconds until one is
    /// there.
    pub fn take(&self, org: &str, limit: RateLimit, now: Instant) -> Result<(), u64> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let (rate, burst) = (f64::from(limit.per_second), f64::from(limit.burst));
        let b = buckets.entry(org.to_string()).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let refill = now.duration_since(b.last).as_secs_f64() * rate;
        b.tokens = (b.tokens + refill).min(burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let r = RateLimiter::default();
        let limit = RateLimit {
            per_second: 2,
            burst: 3,
        };
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(r.take("acme", limit, t0), Ok(()));
        }
        assert_eq!(r.take("acme", limit, t0), Err(1));
        // Another org is not affected.
        assert_eq!(r.take("other", limit, t0), Ok(()));
        // Half a second refills one request at 2/s.
        assert_eq!(
            r.take("acme", limit, t0 + Duration::from_millis(500)),
            Ok(())
        );
        assert!(r
            .take("acme", limit, t0 + Duration::from_millis(500))
            .is_err());
    }
}
