//! Failed authentications, and the other refusals anyone on the internet can cause without a
//! token (unknown paths, malformed requests), counted instead of stored or logged one by one:
//! each org name that exists has one bucket per kind and every other name shares one, and each
//! bucket yields at most one activity record per window.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::activity::Activity;

/// One record per bucket per this long, at most.
pub const WINDOW: Duration = Duration::from_secs(60);
/// The bucket of every org name the config does not know.
pub const UNKNOWN: &str = "";

/// What was refused, before any token was accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// No valid token for the org in the path, or an org that does not exist (401).
    Auth,
    /// A path that is no endpoint, outside any org (404, 405 on `/healthz`).
    NotFound,
    /// A request hyper could not parse, answered 400 or 431 by hyper itself.
    Malformed,
}

impl Kind {
    fn resource(self) -> &'static str {
        match self {
            Kind::Auth => "auth",
            Kind::NotFound => "path",
            Kind::Malformed => "request",
        }
    }

    fn status(self) -> u16 {
        match self {
            Kind::Auth => 401,
            Kind::NotFound => 404,
            Kind::Malformed => 400,
        }
    }

    /// The summary of one failure and, with `Some(n)`, of `n` failures counted together.
    fn summary(self, bucket: &str, count: Option<u64>) -> String {
        let of = if bucket == UNKNOWN && self == Kind::Auth {
            " for unknown orgs"
        } else {
            ""
        };
        match (self, count) {
            (Kind::Auth, None) => format!("authentication failed{of}"),
            (Kind::Auth, Some(n)) => format!("{n} more authentication failure(s){of}"),
            (Kind::NotFound, None) => "request for an unknown path".into(),
            (Kind::NotFound, Some(n)) => format!("{n} more request(s) for unknown paths"),
            (Kind::Malformed, None) => "malformed request".into(),
            (Kind::Malformed, Some(n)) => format!("{n} more malformed request(s)"),
        }
    }
}

#[derive(Debug)]
struct Bucket {
    opened: Instant,
    /// Failures since the window opened that no record has told of yet.
    untold: u64,
}

/// The counters; shared by all connections.
#[derive(Debug, Default)]
pub struct AuthFailures {
    buckets: Mutex<HashMap<(Kind, String), Bucket>>,
}

fn record(kind: Kind, org: &str, client: String, method: String, summary: String) -> Activity {
    Activity {
        seq: 0,
        time: crate::now_rfc3339(),
        org: org.to_string(),
        client,
        method,
        resource: kind.resource().into(),
        id: None,
        name: None,
        summary,
        status: kind.status(),
        scim_type: None,
        latency_us: 0,
    }
}

impl AuthFailures {
    /// Counts one failed authentication in `bucket` (an org name the config knows, or
    /// [`UNKNOWN`]); see [`AuthFailures::refuse`].
    pub fn fail(
        &self,
        bucket: &str,
        client: String,
        method: String,
        now: Instant,
    ) -> Option<Activity> {
        self.refuse(Kind::Auth, bucket, client, method, now)
    }

    /// Counts one refusal of `kind` in `bucket`. Returns the record to publish when this
    /// refusal opens a window: the first of a quiet bucket is shown at once, the rest of its
    /// window only as a count.
    pub fn refuse(
        &self,
        kind: Kind,
        bucket: &str,
        client: String,
        method: String,
        now: Instant,
    ) -> Option<Activity> {
        let mut buckets = self.buckets.lock().ok()?;
        match buckets.get_mut(&(kind, bucket.to_string())) {
            Some(b) if now.duration_since(b.opened) < WINDOW => {
                b.untold += 1;
                None
            }
            Some(b) => {
                let earlier = std::mem::take(&mut b.untold);
                b.opened = now;
                Some(record(
                    kind,
                    bucket,
                    client,
                    method,
                    opening_summary(kind, bucket, earlier),
                ))
            }
            None => {
                buckets.insert(
                    (kind, bucket.to_string()),
                    Bucket {
                        opened: now,
                        untold: 0,
                    },
                );
                Some(record(
                    kind,
                    bucket,
                    client,
                    method,
                    opening_summary(kind, bucket, 0),
                ))
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
        buckets.retain(|(kind, name), b| {
            if now.duration_since(b.opened) < WINDOW {
                return true;
            }
            if b.untold == 0 {
                // A quiet bucket is forgotten, so an org removed from the config leaves nothing.
                return false;
            }
            out.push(record(
                *kind,
                name,
                "various".into(),
                "-".into(),
                format!("{} in the last minute", kind.summary(name, Some(b.untold))),
            ));
            b.untold = 0;
            b.opened = now;
            true
        });
        out
    }
}

fn opening_summary(kind: Kind, bucket: &str, earlier: u64) -> String {
    let mut s = kind.summary(bucket, None);
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
    fn each_kind_counts_apart_with_its_own_status() {
        let f = AuthFailures::default();
        let t0 = Instant::now();
        let refuse = |kind, at| f.refuse(kind, UNKNOWN, "curl".into(), "GET".into(), at);
        let r = refuse(Kind::NotFound, t0).expect("the first unknown path is shown");
        assert_eq!((r.status, r.resource.as_str()), (404, "path"));
        let r = refuse(Kind::Malformed, t0).expect("its own bucket");
        assert_eq!((r.status, r.resource.as_str()), (400, "request"));
        assert!(fail(&f, UNKNOWN, t0).is_some());
        for i in 1..100 {
            assert!(refuse(Kind::NotFound, t0 + Duration::from_millis(i)).is_none());
        }
        let told = f.flush(t0 + WINDOW);
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(
            told[0].summary,
            "99 more request(s) for unknown paths in the last minute"
        );
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
