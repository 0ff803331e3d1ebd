//! The durable store: SCIM-level operations over one redb file, behind a handle that no redb
//! type leaves, so a PostgreSQL backend can later implement the same surface.
//!
//! Every changing call is one write transaction with `Durability::Immediate`: when it returns
//! Ok the change is on disk. Calls block; the HTTP layer runs them off the async threads.
//! A fault that leaves the database unusable (an I/O error, a full disk, a lost writer
//! thread) starts a reopen; [`Store::health`] says how that goes.

pub mod activity;
mod backend;
mod commit;
mod dash;
mod error;
mod model;
mod reader;
mod schema;
#[cfg(test)]
mod tests;
mod tx;
mod writer;

use std::path::Path;
use std::sync::Arc;

use scimd_core::{ResourceType, ScimError};
use serde_json::{Map, Value};

pub use backend::Health;
use backend::Shared;
use error::Result;
pub use error::StoreError;
use model::*;
pub use model::{Change, Link, Lookup, Outcome, Resource, Source, Unknown};
use reader::Reader;
use schema::*;
pub use tx::Tx;
use writer::Writer;

/// How often a modify prepares its change again when the resource moved meanwhile, before it
/// lets the writer make the change in place.
const OPTIMISTIC_TRIES: usize = 8;

/// The store handle; cheap to clone.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

impl Store {
    /// Opens (or creates, mode 0600) the store file.
    pub fn open(path: &Path) -> Result<Store> {
        Ok(Store {
            shared: Arc::new(Shared::open(path)?),
        })
    }

    /// Whether the store can serve, for `/healthz`.
    pub fn health(&self) -> Health {
        self.shared.health()
    }

    /// Closes the database now (waiting for the writer's last batch), whatever other handles
    /// remain; later calls answer `Unavailable`.
    pub fn close(&self) {
        self.shared.close();
    }

    /// Runs `f` on the open database, and starts a reopen when it hits a fault.
    fn with<T>(&self, f: impl FnOnce(&backend::Backend) -> Result<T>) -> Result<T> {
        let b = self.shared.backend()?;
        let r = f(&b);
        drop(b);
        if let Err(e) = &r {
            self.shared.observe(e);
        }
        // A fault is answered as the store being unavailable (503, retry), not as a bug: the
        // database is being reopened, and the same request will succeed after.
        r.map_err(|e| match e {
            StoreError::Db(cause) | StoreError::Batch(cause) => {
                StoreError::Unavailable(format!("database fault: {cause}"))
            }
            other => other,
        })
    }

    /// The open database, for the activity log and dashboard queries in this module.
    fn db(&self) -> Result<Arc<redb::Database>> {
        Ok(self.shared.backend()?.db.clone())
    }

    /// Number of resources of `rt` in `org`.
    pub fn count(&self, org: &str, rt: ResourceType) -> Result<u64> {
        self.with(|b| {
            let txn = b.db.begin_read()?;
            let counts = txn.open_table(COUNTS)?;
            Ok(counts
                .get((org, counter_users(rt)))?
                .map(|v| v.value())
                .unwrap_or(0))
        })
    }

    /// One resource by id, with its links when `with_links`.
    pub fn get(
        &self,
        org: &str,
        rt: ResourceType,
        id: &str,
        with_links: bool,
    ) -> Result<Option<Resource>> {
        self.with(|b| {
            let txn = b.db.begin_read()?;
            let reader = Reader { txn: &txn };
            reader.get(org, rt, id, with_links)
        })
    }

    /// Visits the resources of `source` in id order inside one read transaction, starting
    /// after id `after` (a cursor) and passing over the first `skip` of them without decoding
    /// them. `visit` returns false to stop.
    #[allow(clippy::too_many_arguments)]
    pub fn visit(
        &self,
        org: &str,
        rt: ResourceType,
        source: &Source,
        after: Option<&str>,
        skip: usize,
        with_links: bool,
        visit: &mut dyn FnMut(Resource) -> std::result::Result<bool, ScimError>,
    ) -> Result<()> {
        self.with(|b| visit_in(&b.db, org, rt, source, after, skip, with_links, visit))
    }

    /// Creates a resource with the given id (and, for groups, initial members).
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        &self,
        org: &str,
        rt: ResourceType,
        id: &str,
        now: &str,
        attrs: Map<String, Value>,
        members: Vec<String>,
        unknown: Unknown,
    ) -> Result<Outcome> {
        let (org, id, now) = (org.to_string(), id.to_string(), now.to_string());
        self.submit(move |tx| {
            tx.create(&org, rt, &id, &now, attrs.clone(), members.clone(), unknown)
        })
    }

    /// Reads, changes and writes one resource atomically. `change` sees the current resource
    /// and returns the new attributes and membership changes; returning an error writes
    /// nothing. `change` runs outside the writer thread against a snapshot, and the writer
    /// only checks that the resource is still at that version before it writes, so one
    /// expensive change never delays other requests' writes. When the resource keeps moving
    /// under it, the change is made inside the writer instead.
    #[allow(clippy::too_many_arguments)]
    pub fn modify(
        &self,
        org: &str,
        rt: ResourceType,
        id: &str,
        if_match: Option<&str>,
        now: &str,
        unknown: Unknown,
        change: impl Fn(&Resource) -> std::result::Result<Change, ScimError> + Send + Sync + 'static,
    ) -> Result<Outcome> {
        let change = Arc::new(change);
        for _ in 0..OPTIMISTIC_TRIES {
            let Some(current) = self.get(org, rt, id, false)? else {
                return Err(not_found(rt, id).into());
            };
            if let Some(h) = if_match {
                if !crate::precondition::matches(h, current.meta.version) {
                    return Err(stale(rt, id).into());
                }
            }
            let prepared = change(&current)?;
            let expected = current.meta.version;
            let (o, i, n) = (org.to_string(), id.to_string(), now.to_string());
            let result = self.submit(move |tx| {
                tx.modify_prepared(&o, rt, &i, expected, &n, unknown, prepared.clone())
            });
            match result {
                Err(StoreError::Moved) => continue,
                other => return other,
            }
        }
        let (org, id, now) = (org.to_string(), id.to_string(), now.to_string());
        let if_match = if_match.map(str::to_string);
        self.submit(move |tx| {
            let change = change.clone();
            tx.modify(
                &org,
                rt,
                &id,
                if_match.as_deref(),
                &now,
                unknown,
                move |r| change(r),
            )
        })
    }

    /// Deletes a resource; a user leaves every team, a team's memberships go with it.
    pub fn delete(
        &self,
        org: &str,
        rt: ResourceType,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<Outcome> {
        let (org, id) = (org.to_string(), id.to_string());
        let if_match = if_match.map(str::to_string);
        self.submit(move |tx| tx.delete(&org, rt, &id, if_match.as_deref()))
    }

    /// Runs several operations in one durable transaction (Bulk). Each operation on `Tx`
    /// either applies whole or refuses with nothing written. `f` may run more than once
    /// (another request can abort the batch); only one run is ever committed.
    pub fn write<T: Send + 'static>(
        &self,
        f: impl Fn(&mut Tx<'_>) -> Result<T> + Send + Sync + 'static,
    ) -> Result<T> {
        self.submit(f)
    }

    fn submit<T: Send + 'static>(
        &self,
        f: impl Fn(&mut Tx<'_>) -> Result<T> + Send + Sync + 'static,
    ) -> Result<T> {
        self.with(|b| b.committer.submit(f))
    }
}

/// See [`Store::visit`].
#[allow(clippy::too_many_arguments)]
fn visit_in(
    db: &redb::Database,
    org: &str,
    rt: ResourceType,
    source: &Source,
    after: Option<&str>,
    skip: usize,
    with_links: bool,
    visit: &mut dyn FnMut(Resource) -> std::result::Result<bool, ScimError>,
) -> Result<()> {
    use std::ops::Bound;
    let txn = db.begin_read()?;
    let reader = Reader { txn: &txn };
    match source {
        Source::All => {
            let table = txn.open_table(rt_table(rt))?;
            let start = match after {
                Some(id) => Bound::Excluded((org, id)),
                None => Bound::Included((org, "")),
            };
            for entry in table
                .range::<(&str, &str)>((start, Bound::Unbounded))?
                .skip(skip)
            {
                let (k, v) = entry?;
                let (o, id) = k.value();
                if o != org {
                    break;
                }
                let rec = decode(table_name(rt), id, v.value())?;
                let links = if with_links {
                    Some(reader.links(org, rt, id)?)
                } else {
                    None
                };
                let r = Resource {
                    id: id.to_string(),
                    meta: meta_of(&rec),
                    attrs: rec.attrs,
                    links,
                };
                if !visit(r)? {
                    break;
                }
            }
        }
        Source::Lookup(lookup) => {
            let mut ids = reader.lookup(org, lookup)?;
            ids.sort_unstable();
            ids.dedup();
            let ids = ids
                .into_iter()
                .filter(|id| after.is_none_or(|a| id.as_str() > a));
            for id in ids.skip(skip) {
                if let Some(r) = reader.get(org, rt, &id, with_links)? {
                    if !visit(r)? {
                        break;
                    }
                }
            }
        }
    }
    Ok(())
}
