//! Per-org health, kept in memory: is each org's IdP still talking to us? The last SCIM
//! request, the last write, the last hour's requests in a ring of 60 per-minute counters, and
//! each events consumer's last poll.
//!
//! The HTTP edge records every answered request here once ([`crate::activity::Bus::count_request`]),
//! the events API each consumer's poll, and the control server feeds in the last write from the
//! activity log it follows (on PostgreSQL the shared log, so every daemon's writes). Reading it
//! ([`Tracker::view`]) takes the clock as a parameter, so tests need no waiting.
//!
//! Requests are this daemon's alone: behind a load balancer each daemon sees its share.

use std::collections::HashMap;
use std::sync::Mutex;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Minutes the ring covers: the last hour.
const RING: usize = 60;
/// Consumers remembered per org; past it the one that polled longest ago is forgotten, so a
/// token rotated every minute for a year costs no more memory than a few.
const MAX_CONSUMERS: usize = 32;
/// Minutes of the dashboard's sparkline.
pub const SPARK_MINUTES: usize = 10;

/// One minute's counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Minute {
    /// Minutes since the Unix epoch this slot counts; a slot of an older minute is stale.
    minute: i64,
    requests: u64,
    refused: u64,
    unauthorized: u64,
}

/// The last answered SCIM request of an org.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub at: OffsetDateTime,
    pub method: &'static str,
    pub resource: &'static str,
    pub status: u16,
}

/// One consumer's last poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Poll {
    at: OffsetDateTime,
    cursor: u64,
}

#[derive(Debug)]
struct OrgState {
    last_request: Option<Seen>,
    last_write: Option<OffsetDateTime>,
    ring: [Minute; RING],
    consumers: HashMap<String, Poll>,
}

impl Default for OrgState {
    fn default() -> Self {
        OrgState {
            last_request: None,
            last_write: None,
            ring: [Minute::default(); RING],
            consumers: HashMap::new(),
        }
    }
}

/// What [`Tracker::view`] reports for an org at a given time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct View {
    pub last_request: Option<Seen>,
    pub last_write: Option<OffsetDateTime>,
    pub requests_1h: u64,
    pub refused_1h: u64,
    pub unauthorized_1h: u64,
    /// 401s in the current minute and the one before.
    pub unauthorized_1m: u64,
    /// Requests per minute, oldest first, the current minute last.
    pub requests_10m: Vec<u64>,
    /// (token digest prefix, last poll, cursor), the most recent poll first.
    pub consumers: Vec<(String, OffsetDateTime, u64)>,
}

/// Every org's health. Keyed by the configured org name: the edge only records orgs the
/// config has, so a client's made-up names never grow it.
#[derive(Debug, Default)]
pub struct Tracker {
    orgs: Mutex<HashMap<String, OrgState>>,
}

fn minute_of(t: OffsetDateTime) -> i64 {
    t.unix_timestamp().div_euclid(60)
}

/// The ring slot of `minute`.
fn slot(minute: i64) -> usize {
    minute.rem_euclid(RING as i64) as usize
}

impl Tracker {
    fn with<T>(&self, org: &str, f: impl FnOnce(&mut OrgState) -> T) -> Option<T> {
        // A poisoned lock means a panic mid-update of counters: the counts are still usable.
        let mut orgs = self.orgs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(state) = orgs.get_mut(org) {
            return Some(f(state));
        }
        Some(f(orgs.entry(org.to_string()).or_default()))
    }

    /// One answered SCIM request of `org`.
    pub fn request(
        &self,
        org: &str,
        method: &'static str,
        resource: &'static str,
        status: u16,
        at: OffsetDateTime,
    ) {
        self.with(org, |s| {
            let minute = minute_of(at);
            let m = &mut s.ring[slot(minute)];
            if m.minute != minute {
                *m = Minute {
                    minute,
                    ..Minute::default()
                };
            }
            m.requests += 1;
            match status {
                401 => m.unauthorized += 1,
                400..=499 => m.refused += 1,
                _ => {}
            }
            // Out-of-order answers (a slow request finishing after a fast one) keep the newest.
            if s.last_request.as_ref().is_none_or(|l| l.at <= at) {
                s.last_request = Some(Seen {
                    at,
                    method,
                    resource,
                    status,
                });
            }
        });
    }

    /// A write of `org` committed at `at` (from the activity log).
    pub fn write(&self, org: &str, at: OffsetDateTime) {
        self.with(org, |s| {
            if s.last_write.is_none_or(|w| w < at) {
                s.last_write = Some(at);
            }
        });
    }

    /// A poll of `org`'s events by the consumer token whose stored digest starts `token`, after
    /// `cursor`.
    pub fn poll(&self, org: &str, token: String, cursor: u64, at: OffsetDateTime) {
        self.with(org, |s| {
            if !s.consumers.contains_key(&token) && s.consumers.len() >= MAX_CONSUMERS {
                let oldest = s
                    .consumers
                    .iter()
                    .min_by_key(|(_, p)| p.at)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    s.consumers.remove(&oldest);
                }
            }
            s.consumers.insert(token, Poll { at, cursor });
        });
    }

    /// `org`'s health at `now`.
    pub fn view(&self, org: &str, now: OffsetDateTime) -> View {
        let orgs = self.orgs.lock().unwrap_or_else(|p| p.into_inner());
        let Some(s) = orgs.get(org) else {
            return View {
                requests_10m: vec![0; SPARK_MINUTES],
                ..View::default()
            };
        };
        let current = minute_of(now);
        // A slot counts when its minute is one of the last RING, the current one included.
        let live = |m: &Minute| m.minute > current - RING as i64 && m.minute <= current;
        let mut v = View {
            last_request: s.last_request.clone(),
            last_write: s.last_write,
            ..View::default()
        };
        for m in s.ring.iter().filter(|m| live(m)) {
            v.requests_1h += m.requests;
            v.refused_1h += m.refused;
            v.unauthorized_1h += m.unauthorized;
            if m.minute >= current - 1 {
                v.unauthorized_1m += m.unauthorized;
            }
        }
        v.requests_10m = (0..SPARK_MINUTES as i64)
            .rev()
            .map(|back| {
                let minute = current - back;
                let m = &s.ring[slot(minute)];
                if m.minute == minute {
                    m.requests
                } else {
                    0
                }
            })
            .collect();
        v.consumers = s
            .consumers
            .iter()
            .map(|(t, p)| (t.clone(), p.at, p.cursor))
            .collect();
        v.consumers
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }
}

/// The first 8 hex digits of the SHA-256 the config stores for `token`: a consumer's name in
/// `scimd status` and the dashboard, which says which token without showing it.
pub fn token_label(token: &str) -> String {
    use sha2::Digest;
    digest_label(&sha2::Sha256::digest(token.as_bytes()).into())
}

/// The same label from a digest the config holds, to match consumers to configured tokens.
pub fn digest_label(digest: &[u8; 32]) -> String {
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 3339 at millisecond precision, as the activity log writes times.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t
        .replace_nanosecond(t.millisecond() as u32 * 1_000_000)
        .unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// Whether an activity record is a committed SCIM write: what "last write" means.
pub fn is_write(record: &scimd_core::wire::ActivityRecord) -> bool {
    matches!(record.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
        && (200..300).contains(&record.status)
        && !matches!(record.resource.as_str(), "auth" | "config")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).unwrap()
    }

    #[test]
    fn the_ring_counts_the_last_hour_by_kind_and_forgets_older_minutes() {
        let t = Tracker::default();
        t.request("acme", "GET", "Users", 200, at(0));
        t.request("acme", "GET", "Users", 401, at(10));
        t.request("acme", "POST", "Users", 409, at(70));
        t.request("acme", "PATCH", "Groups", 204, at(130));
        let v = t.view("acme", at(130));
        assert_eq!((v.requests_1h, v.refused_1h, v.unauthorized_1h), (4, 1, 1));
        let last = v.last_request.unwrap();
        assert_eq!(
            (last.method, last.resource, last.status),
            ("PATCH", "Groups", 204)
        );
        // The 401 was two minutes ago (minute boundaries at 1_700_000_000 + 40): not "now".
        assert_eq!(v.unauthorized_1m, 0);
        assert_eq!(t.view("acme", at(20)).unauthorized_1m, 1);
        let spark = &v.requests_10m;
        assert_eq!(spark.len(), SPARK_MINUTES);
        assert_eq!(spark.iter().sum::<u64>(), 4);
        assert_eq!(spark[SPARK_MINUTES - 1], 1);

        // An hour later only what is newer than an hour counts; a slot reused is reset.
        let later = at(130) + Duration::minutes(59);
        assert_eq!(t.view("acme", later).requests_1h, 1);
        t.request("acme", "GET", "Users", 200, at(0) + Duration::minutes(60));
        let v = t.view("acme", at(0) + Duration::minutes(60));
        assert_eq!((v.requests_1h, v.unauthorized_1h), (3, 0));
        // An out-of-order answer does not replace a newer last request.
        t.request("acme", "DELETE", "Users", 204, at(5));
        assert_eq!(t.view("acme", later).last_request.unwrap().method, "GET");
        assert_eq!(
            t.view("globex", later),
            View {
                requests_10m: vec![0; SPARK_MINUTES],
                ..View::default()
            }
        );
    }

    #[test]
    fn writes_keep_the_newest_and_consumers_are_bounded() {
        let t = Tracker::default();
        t.write("acme", at(50));
        t.write("acme", at(10));
        assert_eq!(t.view("acme", at(60)).last_write, Some(at(50)));
        for i in 0..(MAX_CONSUMERS as i64 + 5) {
            t.poll("acme", format!("{i:08x}"), i as u64, at(i));
        }
        t.poll("acme", format!("{:08x}", 40), 7, at(100));
        let v = t.view("acme", at(100));
        assert_eq!(v.consumers.len(), MAX_CONSUMERS);
        assert_eq!(v.consumers[0], (format!("{:08x}", 40), at(100), 7));
        // The oldest went first.
        assert!(!v.consumers.iter().any(|c| c.0 == "00000000"));
    }

    #[test]
    fn labels_are_the_stored_digests_first_eight_hex_digits() {
        let token = "scimd_example";
        let stored = scimd_config::token::hash(token);
        let label = token_label(token);
        assert_eq!(label.len(), 8);
        assert!(
            stored.starts_with(&format!("sha256:{label}")),
            "{stored} {label}"
        );
        let mut digest = [0u8; 32];
        digest[..4].copy_from_slice(&[0x1a, 0x2b, 0x3c, 0x4d]);
        assert_eq!(digest_label(&digest), "1a2b3c4d");
    }
}
