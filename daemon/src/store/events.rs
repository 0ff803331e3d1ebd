//! The change feed's rules, once for every backend: which event a committed change produces,
//! the form an event is stored in, and the per-org wake-up that long-polls wait on.
//!
//! Events are written by the SCIM operations in `tx.rs` through [`Rows::append_event`], inside
//! the transaction of the change itself (an outbox), so a crash can lose neither the change
//! without its events nor an event without its change. A backend numbers them per org in the
//! transaction that commits them; numbers only grow and are never reused, whatever retention
//! removes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scimd_core::ResourceType;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::error::{Result, StoreError};
use super::model::{is_active, meta_of, Record, Resource};
pub(crate) use super::rows::{NewEvent, StoredEvent};
use super::rows::{Rows, View};

/// Every event type: core's, named as the feed's code has always named it.
pub use scimd_core::event::EventKind as Kind;

/// The event a change of attributes from `old` to `new` produces; None when nothing changed.
/// A user whose `active` flips is reported as deactivated or reactivated (carrying the whole
/// new state), not also as updated: one change, one event.
pub(crate) fn changed(
    rt: ResourceType,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> Option<Kind> {
    if old == new {
        return None;
    }
    Some(match rt {
        ResourceType::User => match (is_active(old), is_active(new)) {
            (true, false) => Kind::UserDeactivated,
            (false, true) => Kind::UserReactivated,
            _ => Kind::UserUpdated,
        },
        ResourceType::Group => Kind::TeamUpdated,
    })
}

/// The stored data of a resource event: the record as the store holds it, rendered by the
/// events API (which knows the base URL) when read, not by the writer.
#[derive(Serialize, Deserialize)]
struct StoredResource {
    id: String,
    #[serde(flatten)]
    record: Record,
}

/// Appends the event of a resource change, with the resource's state `rec`.
pub(crate) fn resource(
    rows: &mut dyn Rows,
    org: &str,
    now: &str,
    kind: Kind,
    id: &str,
    rec: &Record,
) -> Result<()> {
    let data = serde_json::to_string(&StoredResource {
        id: id.to_string(),
        record: rec.clone(),
    })
    .unwrap_or_default();
    append(rows, org, now, kind, data)
}

/// The two sides of a membership, for member events.
pub(crate) struct Membership<'a> {
    pub(crate) team_id: &'a str,
    pub(crate) team_name: &'a str,
    pub(crate) user_id: &'a str,
    pub(crate) user_name: &'a str,
}

/// Appends a member event.
pub(crate) fn member(
    rows: &mut dyn Rows,
    org: &str,
    now: &str,
    kind: Kind,
    m: &Membership<'_>,
) -> Result<()> {
    let data = json!({
        "team": {"id": m.team_id, "displayName": m.team_name},
        "user": {"id": m.user_id, "userName": m.user_name},
    });
    append(rows, org, now, kind, data.to_string())
}

fn append(rows: &mut dyn Rows, org: &str, now: &str, kind: Kind, data: String) -> Result<()> {
    rows.append_event(
        org,
        NewEvent {
            id: uuid::Uuid::now_v7().to_string(),
            time: now.to_string(),
            kind: kind.as_str(),
            data,
        },
    )
}

/// The data of a stored event.
#[derive(Debug, Clone)]
pub enum Payload {
    /// A user or team, as it was after the change (before it, for a delete).
    Resource(Resource),
    /// `{team: {id, displayName}, user: {id, userName}}`.
    Member(Value),
}

/// One stored event.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub seq: u64,
    pub time: String,
    pub kind: String,
    pub data: Payload,
}

/// Decodes a stored event's data by its kind.
pub(crate) fn decode(
    seq: u64,
    id: String,
    time: String,
    kind: String,
    data: &str,
) -> Result<Event> {
    let corrupt = |cause: String| StoreError::Corrupt {
        table: "events",
        key: seq.to_string(),
        cause,
    };
    let data = if Kind::is_member(&kind) {
        Payload::Member(serde_json::from_str(data).map_err(|e| corrupt(e.to_string()))?)
    } else {
        let s: StoredResource = serde_json::from_str(data).map_err(|e| corrupt(e.to_string()))?;
        Payload::Resource(Resource {
            id: s.id,
            meta: meta_of(&s.record),
            attrs: s.record.attrs,
            links: None,
        })
    };
    Ok(Event {
        id,
        seq,
        time,
        kind,
        data,
    })
}

/// What a read of the feed found.
#[derive(Debug, Clone)]
pub struct EventPage {
    /// The events after the cursor, oldest first.
    pub events: Vec<Event>,
    /// Every event up to this number has been pruned (0: none ever was); a cursor below it
    /// has lost events.
    pub pruned: u64,
    /// The highest number ever given to an event of the org (0 before the first).
    pub last: u64,
}

/// At most `limit` events of `org` after number `after` (after the pruned ones when None),
/// oldest first, with the org's pruned and last numbers, all from one snapshot.
pub(crate) fn page(
    view: &dyn View,
    org: &str,
    after: Option<u64>,
    limit: usize,
) -> Result<EventPage> {
    let (pruned, last) = view.event_bounds(org)?;
    let from = after.unwrap_or(pruned);
    let events = if from < last && limit > 0 {
        view.events(org, from, limit)?
            .into_iter()
            .map(|(seq, e)| decode(seq, e.id, e.time, e.kind, &e.data))
            .collect::<Result<Vec<_>>>()?
    } else {
        Vec::new()
    };
    Ok(EventPage {
        events,
        pruned,
        last,
    })
}

/// Whether anything of `org`'s feed is beyond its newest `max_records` or older than `cutoff`,
/// by a read alone: the oldest kept event is the first to go, so it and the count tell.
pub(crate) fn due(
    view: &dyn View,
    org: &str,
    max_records: u64,
    cutoff: OffsetDateTime,
) -> Result<bool> {
    let (pruned, last) = view.event_bounds(org)?;
    if pruned >= last {
        return Ok(false);
    }
    if last - pruned > max_records {
        return Ok(true);
    }
    let Some((_, first)) = view.events(org, pruned, 1)?.into_iter().next() else {
        return Ok(false);
    };
    Ok(OffsetDateTime::parse(&first.time, &Rfc3339).is_ok_and(|t| t < cutoff))
}

/// What retention keeps of each org's events.
#[derive(Debug, Clone, Copy)]
pub struct EventRetention {
    pub max_records: u64,
    pub max_age: std::time::Duration,
}

/// How many events one prune transaction removes at most, so pruning never holds the writer
/// for long, however far behind it is.
pub(crate) const PRUNE_CHUNK: usize = 1000;

/// One org's wake-up: a version bumped after each durable commit that may hold its events,
/// and the number of long-polls waiting on it.
#[derive(Default)]
struct OrgFeed {
    tx: Option<watch::Sender<u64>>,
    waiting: Arc<AtomicUsize>,
}

/// How often a follower of the feed reads again on its own while commits of other daemons
/// wake it (a shared store whose listener is connected): a safety net only.
pub const SAFETY_POLL: Duration = Duration::from_secs(10);
/// How often a follower reads again while other daemons' commits may not wake it (a shared
/// store whose listener is disconnected, or not yet connected).
pub const FALLBACK_POLL: Duration = Duration::from_secs(2);

/// Whose commits wake the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Only this process writes to the store: every commit wakes the feed.
    Local,
    /// Other processes write too, and their commits wake the feed (PostgreSQL's `LISTEN`).
    Shared,
    /// Other processes write too, and their commits do not wake it now (the listener is
    /// disconnected): followers poll.
    Deaf,
}

impl Reach {
    fn code(self) -> u8 {
        match self {
            Reach::Local => 0,
            Reach::Shared => 1,
            Reach::Deaf => 2,
        }
    }

    fn of(code: u8) -> Reach {
        match code {
            0 => Reach::Local,
            1 => Reach::Shared,
            _ => Reach::Deaf,
        }
    }
}

/// The per-org wake-ups of long-polls and webhook workers, fired after a commit is durable
/// (by this process, or by another one through the backend's listener), and the wake-up of
/// the shared activity log's follower.
pub struct Feed {
    orgs: Mutex<HashMap<String, OrgFeed>>,
    /// Set at shutdown: long-polls answer with what they have instead of holding the
    /// graceful shutdown for up to a minute.
    closed: std::sync::atomic::AtomicBool,
    /// A [`Reach`], as its code.
    reach: AtomicU8,
    /// Bumped when the activity log may have gained records.
    activity: watch::Sender<u64>,
}

impl Default for Feed {
    fn default() -> Feed {
        Feed::new(Reach::Local)
    }
}

/// One registered long-poll: it counts against the org's bound until dropped.
pub struct Waiter {
    pub rx: watch::Receiver<u64>,
    waiting: Arc<AtomicUsize>,
}

impl Drop for Waiter {
    fn drop(&mut self) {
        self.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Feed {
    /// A feed whose commits reach it as `reach` says (until [`Feed::set_reach`]).
    pub(crate) fn new(reach: Reach) -> Feed {
        Feed {
            orgs: Mutex::default(),
            closed: std::sync::atomic::AtomicBool::new(false),
            reach: AtomicU8::new(reach.code()),
            activity: watch::channel(0).0,
        }
    }

    /// Wakes the long-polls of `org`.
    pub(crate) fn wake(&self, org: &str) {
        if let Ok(orgs) = self.orgs.lock() {
            if let Some(tx) = orgs.get(org).and_then(|f| f.tx.as_ref()) {
                tx.send_modify(|v| *v = v.wrapping_add(1));
            }
        }
    }

    /// Wakes every org's long-polls and workers, and the activity follower: commits may have
    /// been missed (a listener reconnected), or the poll interval changed.
    pub(crate) fn wake_all(&self) {
        if let Ok(orgs) = self.orgs.lock() {
            for tx in orgs.values().filter_map(|f| f.tx.as_ref()) {
                tx.send_modify(|v| *v = v.wrapping_add(1));
            }
        }
        self.wake_activity();
    }

    /// Wakes the follower of the shared activity log.
    pub(crate) fn wake_activity(&self) {
        self.activity.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// A wake-up for the follower of the activity log: it changes when the log may have
    /// gained records.
    pub fn subscribe_activity(&self) -> watch::Receiver<u64> {
        self.activity.subscribe()
    }

    /// Says whose commits wake the feed from now on.
    pub(crate) fn set_reach(&self, reach: Reach) {
        self.reach.store(reach.code(), Ordering::SeqCst);
    }

    /// Whose commits wake the feed now.
    pub fn reach(&self) -> Reach {
        Reach::of(self.reach.load(Ordering::SeqCst))
    }

    /// How long a follower (a long-poll, a webhook worker, the activity follower) may wait
    /// for a wake-up before it reads again on its own; None when every commit wakes it. Ask
    /// again before each wait: it changes as a listener comes and goes (and each change
    /// wakes everyone).
    pub fn poll_every(&self) -> Option<Duration> {
        match self.reach() {
            Reach::Local => None,
            Reach::Shared => Some(SAFETY_POLL),
            Reach::Deaf => Some(FALLBACK_POLL),
        }
    }

    /// Ends every long-poll now and refuses new waits: the server is stopping.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Ok(orgs) = self.orgs.lock() {
            for tx in orgs.values().filter_map(|f| f.tx.as_ref()) {
                tx.send_modify(|v| *v = v.wrapping_add(1));
            }
        }
    }

    /// Whether [`Feed::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// A wake-up of `org` for the daemon's own followers (webhook delivery), outside the
    /// long-polls' bound; it ends (the sender stays) only with the process.
    pub fn subscribe(&self, org: &str) -> Option<watch::Receiver<u64>> {
        let mut orgs = self.orgs.lock().ok()?;
        let feed = orgs.entry(org.to_string()).or_default();
        Some(
            feed.tx
                .get_or_insert_with(|| watch::channel(0).0)
                .subscribe(),
        )
    }

    /// Registers a long-poll of `org`; None when `max` of them wait already. The receiver
    /// is marked as seen, so only a wake after this call ends its wait.
    pub fn wait(&self, org: &str, max: usize) -> Option<Waiter> {
        if self.is_closed() {
            return None;
        }
        let mut orgs = self.orgs.lock().ok()?;
        let feed = orgs.entry(org.to_string()).or_default();
        let tx = feed.tx.get_or_insert_with(|| watch::channel(0).0);
        let waiting = feed.waiting.clone();
        if waiting.fetch_add(1, Ordering::SeqCst) >= max {
            waiting.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        let mut rx = tx.subscribe();
        rx.borrow_and_update();
        Some(Waiter { rx, waiting })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_user_change_names_its_kind() {
        let u = ResourceType::User;
        let on = attrs(json!({"userName": "a", "active": true}));
        let off = attrs(json!({"userName": "a", "active": false}));
        let renamed = attrs(json!({"userName": "a", "active": true, "title": "x"}));
        assert_eq!(changed(u, &on, &on), None);
        assert_eq!(changed(u, &on, &off), Some(Kind::UserDeactivated));
        assert_eq!(changed(u, &off, &on), Some(Kind::UserReactivated));
        assert_eq!(changed(u, &on, &renamed), Some(Kind::UserUpdated));
        // No `active` reads as active: setting it true explicitly is an update, not a flip.
        let absent = attrs(json!({"userName": "a"}));
        assert_eq!(changed(u, &absent, &on), Some(Kind::UserUpdated));
        assert_eq!(changed(u, &absent, &off), Some(Kind::UserDeactivated));
    }

    #[test]
    fn a_team_change_is_an_update_and_kinds_have_wire_names() {
        let g = ResourceType::Group;
        let a = attrs(json!({"displayName": "a"}));
        let b = attrs(json!({"displayName": "b"}));
        assert_eq!(changed(g, &a, &a), None);
        assert_eq!(changed(g, &a, &b), Some(Kind::TeamUpdated));
        assert_eq!(Kind::created(g).as_str(), "team.created");
        assert_eq!(Kind::deleted(ResourceType::User).as_str(), "user.deleted");
        assert!(Kind::is_member(Kind::TeamMemberAdded.as_str()));
        assert!(!Kind::is_member(Kind::TeamUpdated.as_str()));
    }

    #[test]
    fn stored_data_decodes_by_kind() {
        let rec = Record {
            attrs: attrs(json!({"userName": "a"})),
            created: "t0".into(),
            modified: "t1".into(),
            version: 3,
        };
        let data = serde_json::to_string(&StoredResource {
            id: "u1".into(),
            record: rec,
        })
        .unwrap();
        let e = decode(7, "e".into(), "t".into(), "user.updated".into(), &data).unwrap();
        match e.data {
            Payload::Resource(r) => {
                assert_eq!(r.id, "u1");
                assert_eq!(r.meta.version, 3);
                assert_eq!(r.attrs["userName"], "a");
            }
            Payload::Member(_) => panic!("a user event decoded as a membership"),
        }
        let m = r#"{"team":{"id":"g","displayName":"G"},"user":{"id":"u","userName":"a"}}"#;
        let e = decode(8, "e".into(), "t".into(), "team.member_added".into(), m).unwrap();
        assert!(matches!(e.data, Payload::Member(v) if v["team"]["id"] == "g"));
    }

    #[test]
    fn waits_are_bounded_and_woken() {
        let feed = Feed::default();
        let a = feed.wait("acme", 2).unwrap();
        let b = feed.wait("acme", 2).unwrap();
        assert!(feed.wait("acme", 2).is_none());
        drop(b);
        let c = feed.wait("acme", 2).unwrap();
        assert!(!c.rx.has_changed().unwrap());
        feed.wake("other");
        assert!(!c.rx.has_changed().unwrap());
        feed.wake("acme");
        assert!(c.rx.has_changed().unwrap());
        let mut c = c;
        c.rx.borrow_and_update();
        feed.close();
        assert!(c.rx.has_changed().unwrap(), "a close wakes every wait");
        assert!(feed.wait("acme", 2).is_none(), "no new wait once closed");
        drop(a);
    }

    #[test]
    fn the_reach_sets_the_poll_and_wake_all_wakes_every_follower() {
        assert_eq!(
            Feed::default().poll_every(),
            None,
            "one writer: every commit wakes"
        );
        let feed = Feed::new(Reach::Deaf);
        assert_eq!(feed.poll_every(), Some(FALLBACK_POLL));
        feed.set_reach(Reach::Shared);
        assert_eq!(feed.reach(), Reach::Shared);
        assert_eq!(feed.poll_every(), Some(SAFETY_POLL));
        assert!(SAFETY_POLL > FALLBACK_POLL);
        let a = feed.wait("acme", 1).unwrap();
        let mut b = feed.subscribe("beta").unwrap();
        let mut activity = feed.subscribe_activity();
        feed.wake_activity();
        assert!(activity.has_changed().unwrap() && !b.has_changed().unwrap());
        activity.borrow_and_update();
        feed.wake_all();
        assert!(a.rx.has_changed().unwrap());
        assert!(b.has_changed().unwrap());
        b.borrow_and_update();
        assert!(activity.has_changed().unwrap());
    }
}
