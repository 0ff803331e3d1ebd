//! The durable store: SCIM-level operations behind one handle, over a backend (the embedded
//! redb file, or PostgreSQL shared by several daemons) that no database type leaves.
//!
//! The SCIM rules live here once (`tx.rs`, `members.rs`, `read.rs`, `dash.rs`) over the
//! backend's rows (`rows.rs`); a backend implements [`engine::Engine`]. Every changing call
//! is one durable transaction, shared with concurrent calls by group commit (`commit.rs`):
//! when it returns Ok the change is durable. Calls block: callers run them on the blocking
//! pool, except the embedded file's point reads, which the HTTP layer runs inline
//! ([`Capabilities::cheap_point_reads`]). A fault starts the backend's recovery; [`Store::health`] says
//! how it goes.

pub mod activity;
mod commit;
mod copy;
mod dash;
mod engine;
mod error;
pub mod events;
#[cfg(test)]
mod feed_tests;
pub mod hooks;
mod members;
mod model;
mod needles;
pub mod observe;
mod pg;
mod purge;
mod read;
mod redb;
mod rows;
pub mod snapshot;
#[cfg(test)]
mod tests;
mod tx;

use std::path::Path;
use std::sync::Arc;

use scimd_core::wire::ActivityRecord;
use scimd_core::{ResourceType, ScimError};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use activity::Retention;
pub use copy::CopyReport;
use engine::Engine;
pub use engine::{Capabilities, Health};
use error::Result;
pub use error::StoreError;
use events::{EventPage, EventRetention, Feed};
use hooks::{HookState, Lease};
use model::*;
pub(crate) use model::{not_found, stale};
pub use model::{
    Change, Link, Lookup, Note, Outcome, PageAsk, PageRead, Resource, Source, Stamp, Target,
    Unknown, Walk,
};
pub use pg::{PgTarget, PgTls, SslMode};
pub use purge::Purged;
use rows::{ActivityFrom, View};
pub use tx::Tx;

/// A fault is answered as the store being unavailable (503, retry), not as a bug: the database
/// is being reopened, and the same request will succeed after.
fn answered(e: StoreError) -> StoreError {
    match e {
        StoreError::Db(cause) | StoreError::Batch(cause) => {
            StoreError::Unavailable(format!("database fault: {cause}"))
        }
        other => other,
    }
}

/// `out` with its activity record written beside it, when the write is noted.
fn noted(tx: &mut Tx<'_>, note: Option<&Note>, mut out: Outcome) -> Result<Outcome> {
    if let Some(note) = note {
        let mut rec = note(&out);
        tx.note(&mut rec)?;
        out.noted = Some(rec);
    }
    Ok(out)
}

/// The PostgreSQL schema version this binary migrates a database to.
pub const POSTGRES_SCHEMA_VERSION: i64 = pg::SCHEMA_VERSION;

/// How often a modify prepares its change again when the resource moved meanwhile, before it
/// lets the writer make the change in place.
const OPTIMISTIC_TRIES: usize = 8;

/// The store handle; cheap to clone.
#[derive(Clone)]
pub struct Store {
    engine: Arc<dyn Engine>,
    /// Wakes the events API's long-polls of an org once a write of it is durable.
    feed: Arc<Feed>,
    /// How this handle's writes of one resource are noted in the activity log ([`Store::noting`]).
    note: Option<Note>,
}

impl Store {
    /// Opens (or creates, mode 0600) the embedded store file.
    pub fn open(path: &Path) -> Result<Store> {
        Ok(Store {
            engine: Arc::new(redb::Redb::open(path)?),
            feed: Arc::default(),
            note: None,
        })
    }

    /// Connects to a PostgreSQL database that several daemons may share, applying the schema
    /// migrations this binary has. Refuses a database whose schema is newer. Blocks: do not
    /// call it on an async thread.
    pub fn open_postgres(target: &PgTarget, pool_size: usize) -> Result<Store> {
        // Other daemons' commits wake this feed once the backend's listener is connected;
        // until then followers poll.
        let feed = Arc::new(Feed::new(events::Reach::Deaf));
        Ok(Store {
            engine: Arc::new(pg::Postgres::open(target, pool_size, feed.clone())?),
            feed,
            note: None,
        })
    }

    /// Applies the PostgreSQL migrations up to `upto` (all when None) and returns the schema
    /// version reached; what [`Store::open_postgres`] does first, callable alone for tests
    /// and upgrades.
    pub fn migrate_postgres(target: &PgTarget, upto: Option<i64>) -> Result<i64> {
        pg::migrate_to(target, upto)
    }

    /// A handle whose writes of one resource (create, modify, delete) write their activity
    /// record, made by `note` from the outcome, in their own transaction; the record comes
    /// back in [`Outcome::noted`]. A request's handle: the note carries who asked and when.
    pub fn noting(&self, note: Note) -> Store {
        Store {
            note: Some(note),
            ..self.clone()
        }
    }

    /// Whether the store can serve, for `/healthz`.
    pub fn health(&self) -> Health {
        self.engine.health()
    }

    /// Closes the backend now (waiting for the writer's last batch), whatever other handles
    /// remain; later calls answer `Unavailable`.
    pub fn close(&self) {
        self.engine.close();
    }

    /// What the backend can do (see [`Capabilities`]).
    pub fn capabilities(&self) -> Capabilities {
        self.engine.capabilities()
    }

    /// Writes a consistent copy of the store, taken from one read snapshot while writes go
    /// on, to the new file `out` (redb only); returns its size.
    pub fn backup(&self, out: &Path) -> Result<u64> {
        self.engine.backup(out)
    }

    /// Shrinks the redb file at `path`, which no daemon may hold open; returns its size
    /// before and after.
    pub fn compact(path: &Path) -> Result<(u64, u64)> {
        redb::compact(path)
    }

    /// The store's size on disk, for a backend that is one file (redb).
    pub fn size_bytes(&self) -> Option<u64> {
        self.engine.size_bytes()
    }

    /// Runs `f` on the backend, and starts its recovery when it hits a fault.
    fn with<T>(&self, f: impl FnOnce(&dyn Engine) -> Result<T>) -> Result<T> {
        let r = f(&*self.engine);
        if let Err(e) = &r {
            self.engine.observe(e);
        }
        r.map_err(answered)
    }

    /// One user or team by id, read on the async runtime when the backend reads that way
    /// (PostgreSQL: one statement, no blocking pool); None when it does not, and
    /// [`Store::get`] serves.
    pub fn get_now(
        &self,
        org: &str,
        rt: ResourceType,
        id: &str,
        with_links: bool,
    ) -> Option<impl std::future::Future<Output = Result<Option<Resource>>> + Send + 'static> {
        let read = self.engine.async_reads()?.one(org, rt, id, with_links);
        Some(self.observed(read))
    }

    /// The users or teams index `lookup` finds, read as [`Store::get_now`] reads one by id;
    /// the future answers None when more than `most` match.
    pub fn found_now(
        &self,
        org: &str,
        rt: ResourceType,
        lookup: &Lookup,
        with_links: bool,
        most: usize,
    ) -> Option<impl std::future::Future<Output = Result<Option<Vec<Resource>>>> + Send + 'static>
    {
        let read = self
            .engine
            .async_reads()?
            .found(org, rt, lookup, with_links, most);
        Some(self.observed(read))
    }

    /// The page `ask` names with the type's count, read on the async runtime in one
    /// statement when the backend can (None: read it through [`Store::visit`]).
    pub fn page_now(
        &self,
        org: &str,
        ask: PageAsk,
    ) -> Option<impl std::future::Future<Output = Result<PageRead>> + Send + 'static> {
        let read = self.engine.async_reads()?.page(org, ask);
        Some(self.observed(read))
    }

    /// `read`, with a fault noted as [`Store::with`] notes one.
    fn observed<T>(
        &self,
        read: engine::ReadFuture<T>,
    ) -> impl std::future::Future<Output = Result<T>> + Send + 'static
    where
        T: Send + 'static,
    {
        let engine = self.engine.clone();
        async move {
            let r = read.await;
            if let Err(e) = &r {
                engine.observe(e);
            }
            r.map_err(answered)
        }
    }

    /// Runs `f` over one read snapshot.
    fn view<T>(&self, f: impl FnOnce(&dyn View) -> Result<T>) -> Result<T> {
        self.with(|e| {
            let mut f = Some(f);
            let mut out = None;
            e.read(&mut |v| {
                if let Some(f) = f.take() {
                    out = Some(f(v)?);
                }
                Ok(())
            })?;
            out.ok_or_else(|| StoreError::Db("the read snapshot was not taken".into()))
        })
    }

    /// Number of resources of `rt` in `org`.
    pub fn count(&self, org: &str, rt: ResourceType) -> Result<u64> {
        self.view(|v| v.counter(org, counter_users(rt)))
    }

    /// One resource by id, with its links when `with_links`.
    pub fn get(
        &self,
        org: &str,
        rt: ResourceType,
        id: &str,
        with_links: bool,
    ) -> Result<Option<Resource>> {
        self.view(|v| read::get(v, org, rt, id, with_links))
    }

    /// Visits the resources `walk` names in id order inside one read transaction. `visit`
    /// returns false to stop.
    pub fn visit(
        &self,
        org: &str,
        rt: ResourceType,
        walk: Walk<'_>,
        visit: &mut read::Visit<'_>,
    ) -> Result<()> {
        self.view(|v| read::visit(v, org, rt, walk, visit))
    }

    /// Creates resource `t` (and, for groups, its initial members).
    pub fn create(
        &self,
        t: Target<'_>,
        s: Stamp<'_>,
        attrs: Map<String, Value>,
        members: Vec<String>,
    ) -> Result<Outcome> {
        let ((o, rt, id), now, unknown) = (t.owned(), s.now.to_string(), s.unknown);
        let note = self.note.clone();
        self.submit(t.org, move |tx| {
            let (t, s) = (Target::new(&o, rt, &id), Stamp { now: &now, unknown });
            // A team's create writes its members after the team; a user's nothing more.
            if rt == ResourceType::User {
                tx.lone_create();
            }
            let out = tx.create(t, s, attrs.clone(), members.clone())?;
            noted(tx, note.as_ref(), out)
        })
    }

    /// Reads, changes and writes one resource atomically. `change` sees the current resource
    /// and returns the new attributes and membership changes; returning an error writes
    /// nothing. `change` runs outside the writer thread against a snapshot, and the writer
    /// only checks that the resource is still at that version before it writes, so one
    /// expensive change never delays other requests' writes. When the resource keeps moving
    /// under it, the change is made inside the writer instead.
    pub fn modify(
        &self,
        t: Target<'_>,
        if_match: Option<&str>,
        s: Stamp<'_>,
        change: impl Fn(&Resource) -> std::result::Result<Change, ScimError> + Send + Sync + 'static,
    ) -> Result<Outcome> {
        let Target { org, rt, id } = t;
        let ((o, _, i), n, unknown) = (t.owned(), s.now.to_string(), s.unknown);
        let change = Arc::new(change);
        for _ in 0..OPTIMISTIC_TRIES {
            let Some(current) = self.get(org, rt, id, false)? else {
                return Err(not_found(rt, id).into());
            };
            if let Some(h) = if_match {
                if !scimd_core::resource::precondition::matches(h, current.meta.version) {
                    return Err(stale(rt, id).into());
                }
            }
            let prepared = change(&current)?;
            let expected = current.meta.version;
            let (o, i, n) = (o.clone(), i.clone(), n.clone());
            let note = self.note.clone();
            let result = self.submit(org, move |tx| {
                let (t, s) = (Target::new(&o, rt, &i), Stamp { now: &n, unknown });
                let out = tx.modify_prepared(t, expected, s, prepared.clone())?;
                noted(tx, note.as_ref(), out)
            });
            match result {
                Err(StoreError::Moved) => continue,
                other => return other,
            }
        }
        let if_match = if_match.map(str::to_string);
        let note = self.note.clone();
        self.submit(org, move |tx| {
            let change = change.clone();
            let (t, s) = (Target::new(&o, rt, &i), Stamp { now: &n, unknown });
            let out = tx.modify(t, if_match.as_deref(), s, move |r| change(r))?;
            noted(tx, note.as_ref(), out)
        })
    }

    /// Deletes a resource; a user leaves every team, a team's memberships go with it.
    /// `now` is the time of its events.
    pub fn delete(&self, t: Target<'_>, if_match: Option<&str>, now: &str) -> Result<Outcome> {
        let ((o, rt, id), now) = (t.owned(), now.to_string());
        let if_match = if_match.map(str::to_string);
        let note = self.note.clone();
        self.submit(t.org, move |tx| {
            let out = tx.delete(Target::new(&o, rt, &id), if_match.as_deref(), &now)?;
            noted(tx, note.as_ref(), out)
        })
    }

    /// Runs several operations on `org` in one durable transaction (Bulk). Each operation on
    /// `Tx` either applies whole or refuses with nothing written. `f` may run more than once
    /// (another request can abort the batch); only one run is ever committed.
    pub fn write<T: Send + 'static>(
        &self,
        org: &str,
        f: impl Fn(&mut Tx<'_>) -> Result<T> + Send + Sync + 'static,
    ) -> Result<T> {
        self.submit(org, f)
    }

    /// Runs `f` in the writer and returns once its commit is durable.
    fn run<T: Send + 'static>(
        &self,
        f: impl Fn(&mut Tx<'_>) -> Result<T> + Send + Sync + 'static,
    ) -> Result<T> {
        self.with(|e| {
            let (job, reply) = commit::job(f);
            e.enqueue(job)?;
            reply.wait()
        })
    }

    /// Runs `f` in the writer and, once its commit is durable, wakes the long-polls of `org`
    /// (a write that changed nothing wakes them for nothing: they read again, find no event,
    /// and wait on).
    fn submit<T: Send + 'static>(
        &self,
        org: &str,
        f: impl Fn(&mut Tx<'_>) -> Result<T> + Send + Sync + 'static,
    ) -> Result<T> {
        let out = self.run(f)?;
        self.feed.wake(org);
        Ok(out)
    }

    /// The per-org wake-ups of the events API's long-polls and the webhook workers, the
    /// activity follower's, and how often they must read on their own
    /// ([`Feed::poll_every`]).
    pub fn feed(&self) -> &Feed {
        &self.feed
    }

    /// At most `limit` events of `org` after number `after` (from the oldest kept when
    /// None), with the org's pruned and last numbers read with them.
    pub fn events(&self, org: &str, after: Option<u64>, limit: usize) -> Result<EventPage> {
        self.view(|v| events::page(v, org, after, limit))
    }

    /// At most `limit` of `org`'s events after number `after`, as stored, for `store copy`.
    pub(crate) fn raw_events(
        &self,
        org: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, events::StoredEvent)>> {
        self.view(|v| v.events(org, after, limit))
    }

    /// Prunes what `keep` no longer keeps of `org`'s events, in bounded transactions;
    /// returns how many went.
    pub fn prune_events(
        &self,
        org: &str,
        keep: &EventRetention,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let cutoff = now - keep.max_age;
        // A read says whether anything is due, so an idle feed costs no write (no fsync).
        if !self.view(|v| events::due(v, org, keep.max_records, cutoff))? {
            return Ok(0);
        }
        let mut total = 0;
        loop {
            let (o, max) = (org.to_string(), keep.max_records);
            // Each chunk is a job of its own, so writes interleave with a long prune.
            // An event that does not decode is found before anything is removed: the prune
            // declines, and the writes batched with it go on.
            let removed = self.run(move |tx| {
                tx.rows.prune_events(&o, max, cutoff).map_err(|e| match e {
                    e @ StoreError::Corrupt { .. } => StoreError::Refused(e.to_string()),
                    other => other,
                })
            })?;
            total += removed;
            if removed < events::PRUNE_CHUNK as u64 {
                return Ok(total);
            }
        }
    }

    /// Takes or renews the delivery lease of webhook `endpoint` of `org`; its state, or None
    /// while another daemon delivers to it.
    pub fn hook_claim(
        &self,
        org: &str,
        endpoint: &str,
        lease: &Lease,
    ) -> Result<Option<HookState>> {
        let (o, ep, lease) = (org.to_string(), endpoint.to_string(), lease.clone());
        self.run(move |tx| tx.rows.hook_claim(&o, &ep, &lease))
    }

    /// Saves an endpoint's delivery state (durably, with the writer's next group commit)
    /// while this daemon holds its lease; false once the lease was lost.
    pub fn hook_save(
        &self,
        org: &str,
        endpoint: &str,
        lease: &Lease,
        state: &HookState,
    ) -> Result<bool> {
        let (o, ep) = (org.to_string(), endpoint.to_string());
        let (lease, state) = (lease.clone(), state.clone());
        self.run(move |tx| tx.rows.hook_put(&o, &ep, Some(&lease), &state))
    }

    /// Gives an endpoint's lease up.
    pub fn hook_release(&self, org: &str, endpoint: &str, lease: &Lease) -> Result<()> {
        let (o, ep, lease) = (org.to_string(), endpoint.to_string(), lease.clone());
        self.run(move |tx| tx.rows.hook_release(&o, &ep, &lease))
    }

    /// Every webhook endpoint's delivery state of `org`, by endpoint id.
    pub fn hook_states(&self, org: &str) -> Result<Vec<(String, HookState)>> {
        self.view(|v| v.hook_states(org))
    }

    /// The highest activity sequence number ever appended (0 before the first). Numbers are
    /// never reused after retention empties the log: a dashboard that drops duplicates by
    /// `seq` would otherwise hide new records.
    pub fn last_activity_seq(&self) -> Result<u64> {
        self.view(|v| v.last_activity_seq())
    }

    /// Appends `records` in one transaction, then prunes what `retention` no longer keeps.
    /// The store numbers the records: at once (their `seq` is set here), or as the batch
    /// commits on a store shared between daemons (their `seq` stays 0; followers read them
    /// from the log).
    pub fn append_activity(
        &self,
        records: &mut [ActivityRecord],
        retention: &Retention,
        now: OffsetDateTime,
    ) -> Result<()> {
        let (list, cutoff, max) = (
            records.to_vec(),
            now - retention.max_age,
            retention.max_records,
        );
        let numbered = self.run(move |tx| {
            let mut list = list.clone();
            for rec in &mut list {
                tx.rows.append_activity(rec)?;
            }
            tx.rows.prune_activity(max, cutoff)?;
            Ok(list)
        })?;
        records.clone_from_slice(&numbered);
        self.feed.wake_activity();
        Ok(())
    }

    /// The newest `limit` activity records, newest first. A record that no longer decodes is
    /// skipped: history is a convenience and must not make the dashboard fail.
    pub fn recent_activity(&self, limit: usize) -> Result<Vec<ActivityRecord>> {
        self.view(|v| v.activity(ActivityFrom::Newest, limit))
    }

    /// At most `limit` activity records after `seq`, oldest first.
    pub fn activity_after(&self, seq: u64, limit: usize) -> Result<Vec<ActivityRecord>> {
        self.view(|v| v.activity(ActivityFrom::After(seq), limit))
    }

    /// How many activity records the log holds.
    pub fn activity_len(&self) -> Result<u64> {
        self.view(|v| v.activity_len())
    }
}
