//! `scimd org purge`: every row an org left in the store (users, teams, memberships, index
//! rows, events and their counters, its activity records, webhook positions, counters), deleted
//! in bounded chunks. Each chunk is one job of the group-commit writer, so a purge of a large
//! org never holds the writer longer than one chunk: SCIM writes of the other orgs go on
//! between chunks. The counters go last, so an interrupted purge still lists the org among the
//! stored ones ([`Store::orgs`]) and can simply be run again.

use serde::Deserialize;

use super::error::Result;
use super::{Store, Tx};

/// Rows one chunk deletes at most (a chunk also scans at most this many activity records):
/// a few milliseconds of the writer's time.
const PURGE_CHUNK: usize = 2000;

/// What a purge deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub users: u64,
    pub teams: u64,
    /// Team memberships.
    pub memberships: u64,
    pub events: u64,
    /// Activity records of the org.
    pub activity: u64,
    /// Index rows, counters, event counters and webhook positions.
    pub other: u64,
}

impl Purged {
    fn add(&mut self, more: &Purged) {
        self.users += more.users;
        self.teams += more.teams;
        self.memberships += more.memberships;
        self.events += more.events;
        self.activity += more.activity;
        self.other += more.other;
    }
}

/// One chunk's work, and where the next chunk goes on.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PurgeStep {
    pub(crate) purged: Purged,
    /// The activity records up to this number have been looked at.
    pub(crate) activity_after: u64,
    /// Nothing of the org is left.
    pub(crate) done: bool,
}

/// The one field of an activity record a purge reads; serde skips the rest unparsed.
#[derive(Deserialize)]
pub(crate) struct OrgOf {
    pub(crate) org: String,
}

impl Tx<'_> {
    /// Deletes at most about `limit` rows of `org`, its activity records from after number
    /// `activity_after` on; see [`super::rows::Rows::purge`].
    pub(crate) fn purge_chunk(
        &mut self,
        org: &str,
        activity_after: u64,
        limit: usize,
    ) -> Result<PurgeStep> {
        self.rows.purge(org, activity_after, limit.max(1))
    }
}

impl Store {
    /// Deletes everything `org` holds in the store, in chunks of at most a few thousand rows,
    /// each its own durable transaction. The org must not be served meanwhile (the caller
    /// checks that it is not configured). Blocks.
    pub fn purge_org(&self, org: &str) -> Result<Purged> {
        self.purge_org_in_chunks(org, PURGE_CHUNK)
    }

    fn purge_org_in_chunks(&self, org: &str, chunk: usize) -> Result<Purged> {
        let mut total = Purged::default();
        let mut after = 0;
        loop {
            let o = org.to_string();
            let step = self.submit(org, move |tx| tx.purge_chunk(&o, after, chunk))?;
            total.add(&step.purged);
            after = step.activity_after;
            if step.done {
                return Ok(total);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use scimd_core::wire::ActivityRecord;
    use scimd_core::ResourceType;
    use serde_json::{json, Map, Value};

    use super::*;
    use crate::store::activity::Retention;
    use crate::store::{Source, Unknown};
    use crate::store::{Stamp, Target, Walk};

    const NOW: &str = "2026-12-02T00:00:00Z";

    fn attrs(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn fill(store: &Store, org: &str, users: usize) {
        let mut ids = Vec::new();
        for i in 0..users {
            let id = format!("u{i}");
            let name = format!("user{i}@{org}.com");
            store
                .create(
                    Target::new(org, ResourceType::User, &id),
                    Stamp {
                        now: NOW,
                        unknown: Unknown::Skip,
                    },
                    attrs(json!({"userName": name, "externalId": format!("x{i}"),
                                 "emails": [{"value": name}]})),
                    Vec::new(),
                )
                .unwrap();
            ids.push(id);
        }
        for t in 0..3 {
            store
                .create(
                    Target::new(org, ResourceType::Group, &format!("g{t}")),
                    Stamp {
                        now: NOW,
                        unknown: Unknown::Skip,
                    },
                    attrs(json!({"displayName": format!("Team {t}")})),
                    ids.clone(),
                )
                .unwrap();
        }
    }

    fn record(seq: u64, org: &str) -> ActivityRecord {
        ActivityRecord {
            seq,
            time: NOW.into(),
            org: org.into(),
            client: "test".into(),
            method: "POST".into(),
            resource: "User".into(),
            id: None,
            name: None,
            summary: "created".into(),
            status: 201,
            scim_type: None,
            latency_us: 1,
        }
    }

    fn count(store: &Store, org: &str, rt: ResourceType) -> usize {
        let mut n = 0;
        store
            .visit(
                org,
                rt,
                Walk {
                    source: &Source::All,
                    after: None,
                    skip: 0,
                    with_links: false,
                },
                &mut |_| {
                    n += 1;
                    Ok(true)
                },
            )
            .unwrap();
        n
    }

    #[test]
    fn a_purge_in_small_chunks_leaves_nothing_of_the_org_and_all_of_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("scimd.redb")).unwrap();
        fill(&store, "globex", 40);
        fill(&store, "acme", 5);
        let mut records: Vec<ActivityRecord> = (1..=60)
            .map(|seq| record(seq, if seq % 3 == 0 { "acme" } else { "globex" }))
            .collect();
        let keep = Retention::default();
        let now = time::OffsetDateTime::parse(NOW, &time::format_description::well_known::Rfc3339)
            .unwrap();
        store.append_activity(&mut records, &keep, now).unwrap();
        let acme_events = store.events("acme", None, 1000).unwrap();
        let globex_events = store.events("globex", None, 0).unwrap().last;
        assert!(globex_events >= 43);

        // Seven rows at a time: many chunks, each phase cut in the middle.
        let purged = store.purge_org_in_chunks("globex", 7).unwrap();
        assert_eq!(purged.users, 40);
        assert_eq!(purged.teams, 3);
        assert_eq!(purged.memberships, 120);
        assert_eq!(purged.events, globex_events);
        assert_eq!(purged.activity, 40);

        assert_eq!(store.orgs().unwrap(), vec!["acme".to_string()]);
        assert_eq!(count(&store, "globex", ResourceType::User), 0);
        assert_eq!(count(&store, "globex", ResourceType::Group), 0);
        let events = store.events("globex", None, 10).unwrap();
        assert!(events.events.is_empty());
        assert_eq!(events.last, 0, "the event numbers start again");
        assert_eq!(store.org_stats("globex").unwrap().users, 0);
        // Nothing of acme went.
        assert_eq!(count(&store, "acme", ResourceType::User), 5);
        assert_eq!(count(&store, "acme", ResourceType::Group), 3);
        assert_eq!(store.org_stats("acme").unwrap().users, 5);
        let after = store.events("acme", None, 1000).unwrap();
        assert_eq!(after.last, acme_events.last);
        assert_eq!(after.events.len(), acme_events.events.len());
        let left = store.recent_activity(1000).unwrap();
        assert_eq!(left.len(), 20);
        assert!(left.iter().all(|r| r.org == "acme"));
        // A user of the purged org's name can be created again, numbered from 1.
        fill(&store, "globex", 1);
        assert_eq!(store.events("globex", None, 10).unwrap().events[0].seq, 1);
        // Purging an org with nothing is a no-op.
        assert_eq!(store.purge_org("initech").unwrap(), Purged::default());
    }
}
