//! Failed authentications, counted instead of stored one by one: anyone on the internet can
//! send them, so each org name that exists has one bucket and every other name shares one, and
//! each bucket yields at most one activity record per window.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::activity::Activity;

/// One record per bucket per this long, at most.
pub const WINDOW: Duration = Duration::from_secs(60);
/// The bucket of every org name the config does not know.
pub const UNKNOWN: &str = "";

#[derive(Debug)]
struct Bucket {
    opened: Instant,
    /// Failures since the window opened that no record has told of yet.
    untold: u64,
}

/// The counters; shared by all connections.
#[derive(Debug, Default)]
pub struct AuthFailures {
    buckets: Mutex<HashMap<String, Bucket>>,
}

fn record(org: &str, client: String, method: String, summary: String) -> Activity {
    Activity {
        seq: 0,
        time: crate::now_rfc3339(),
        org: org.to_string(),
        client,
        method,
        resource: "auth".into(),
        id: None,
        name: None,
        summary,
        status: 401,
        scim_type: None,
        latency_us: 0,
    }
}

impl AuthFailures {
    /// Counts one failure in `bucket` (an org name the config knows, or [`UNKNOWN`]). Returns
    /// the record to publish when this failure opens a window: the first failure of a quiet
    /// bucket is shown at once, the rest of its window only as a count.
    pub fn fail(
        &self,
        bucket: &str,
        client: String,
        method: String,
        now: Instant,
    ) -> Option<Activity> {
        let mut buckets = self.buckets.lock().ok()?;
        match buckets.get_mut(bucket) {
            Some(b) if now.duration_since(b.opened) < WINDOW => {
                b.untold += 1;
                None
            }
            Some(b) => {
                let earlier = std::mem::take(&mut b.untold);
                b.opened = now;
                Some(record(
                    bucket,
                    client,
                    method,
                    opening_summary(bucket, earlier),
                ))
            }
            None => {
                buckets.insert(
                    bucket.to_string(),
                    Bucket {
                        opened: now,
                        untold: 0,
                    },
                );
                Some(record(bucket, client, method, opening_summary(bucket, 0)))
            }
        }
    }

    /// The count records of windows that have ended with failures untold; each opens the
    /// bucket's next window, so the one-per-window bound holds.
    pub fn flush(&self, now: Instant) -> Vec<Activity> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        buckets.retain(|name, b| {
            if now.duration_since(b.opened) < WINDOW {
                return true;
            }
            if b.untold == 0 {
                // A quiet bucket is forgotten, so an org removed from the config leaves nothing.
                return false;
            }
            out.push(record(
                name,
                "various".into(),
                "-".into(),
                format!(
                    "{} more authentication failure(s){} in the last minute",
                    b.untold,
                    of(name)
                ),
            ));
            b.untold = 0;
            b.opened = now;
            true
        });
        out
    }
}

fn of(bucket: &str) -> &'static str {
    if bucket == UNKNOWN {
        " for unknown orgs"
    } else {
        ""
    }
}

fn opening_summary(bucket: &str, earlier: u64) -> String {
    let mut s = format!("authentication failed{}", of(bucket));
    if earlier > 0 {
        s.push_str(&format!(" ({earlier} more in the minute before)"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(f: &AuthFailures, bucket: &str, at: Instant) -> Option<Activity> {
        f.fail(bucket, "curl".into(), "GET".into(), at)
    }

    #[test]
    fn one_record_per_bucket_per_window() {
        let f = AuthFailures::default();
        let t0 = Instant::now();
        assert!(fail(&f, "acme", t0).is_some());
        for i in 1..1000 {
            assert!(fail(&f, "acme", t0 + Duration::from_millis(i)).is_none());
        }
        // Another bucket has its own window.
        assert!(fail(&f, UNKNOWN, t0).is_some());
        assert!(f.flush(t0 + Duration::from_secs(30)).is_empty());
        let told = f.flush(t0 + WINDOW);
        assert_eq!(told.len(), 1);
        assert!(
            told[0].summary.starts_with("999 more"),
            "{}",
            told[0].summary
        );
        // The count record opened a new window: the next failure inside it is only counted.
        assert!(fail(&f, "acme", t0 + WINDOW + Duration::from_secs(1)).is_none());
    }

    #[test]
    fn a_late_failure_tells_of_the_untold_ones() {
        let f = AuthFailures::default();
        let t0 = Instant::now();
        fail(&f, "acme", t0);
        fail(&f, "acme", t0 + Duration::from_secs(1));
        let r = fail(&f, "acme", t0 + WINDOW).expect("a new window");
        assert!(r.summary.contains("1 more"), "{}", r.summary);
    }

    #[test]
    fn quiet_buckets_are_forgotten() {
        let f = AuthFailures::default();
        let t0 = Instant::now();
        fail(&f, "gone", t0);
        assert!(f.flush(t0 + WINDOW).is_empty());
        assert!(f.buckets.lock().unwrap().is_empty());
    }
}
