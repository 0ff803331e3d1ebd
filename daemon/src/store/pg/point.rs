//! Point reads on the async runtime: one statement each, consistent by itself, awaited by the
//! request's own task, so a GET of a user crosses no blocking pool, opens no read transaction
//! and costs one round trip. The reads share a few connections, each carrying many at once
//! (tokio-postgres pipelines them): the server then answers reads queued on one connection
//! back to back, instead of sleeping and waking a process per read, which on a 2-core machine
//! gave a user's GET about 1.5x the throughput of a connection borrowed per read.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use deadpool_postgres::{Object, Pool};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::error::{chain, db};
use super::tables::record_of;
use crate::store::engine::{AsyncReads, ReadFuture};
use crate::store::error::StoreError;
use crate::store::model::{meta_of, Link, Resource};

/// A user's id and record found by `$where`, and with it (`$3`) their teams' ids and names
/// by team id, read from the membership index alone (migration 6 keeps each team's name
/// there): what `read::links` makes of `teams_of` and `team_name`. Made at compile time, so
/// a read formats no SQL.
macro_rules! user_where {
    ($where:literal) => {
        concat!(
            "SELECT u.id, u.attrs::text, u.created, u.modified, u.version, t.ids, t.names \
             FROM scimd_users u LEFT JOIN LATERAL (SELECT array_agg(m.gid ORDER BY m.gid) ids, \
               array_agg(m.team ORDER BY m.gid) names FROM scimd_members m \
               WHERE $3 AND m.org = u.org AND m.uid = u.id AND m.team IS NOT NULL) t ON true \
             WHERE u.org = $1 AND ",
            $where
        )
    };
}

/// A user by id.
const BY_ID: &str = user_where!("u.id = $2");
/// A user by the lowercased userName.
const BY_NAME: &str = user_where!("u.name_key = $2");

/// The backend's async reads, over connections they share.
pub(super) struct Point {
    shared: Arc<Shared>,
}

/// The shared connections: `slots` hold the connections in use, `pool` (as many as there are
/// slots) makes and replaces them.
struct Shared {
    pool: Pool,
    slots: Vec<Slot>,
    next: AtomicUsize,
}

/// One shared connection, and the lock its (re)connecting holds: reads that find it closed
/// at once wait for one replacement instead of each taking a connection from the pool.
#[derive(Default)]
struct Slot {
    held: Mutex<Option<Arc<Object>>>,
    connecting: tokio::sync::Mutex<()>,
}

impl Slot {
    /// The connection, when it is open.
    fn open(&self) -> Option<Arc<Object>> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if held.as_ref().is_some_and(|c| c.is_closed()) {
            // A closed connection leaves at once, so the pool can replace it when the last
            // read holding it is done.
            *held = None;
        }
        held.clone()
    }
}

impl Point {
    /// Point reads over `pool`'s connections, each shared by every read that picks it.
    pub(super) fn new(pool: Pool, connections: usize) -> Point {
        Point {
            shared: Arc::new(Shared {
                pool,
                slots: (0..connections.max(1)).map(|_| Slot::default()).collect(),
                next: AtomicUsize::new(0),
            }),
        }
    }
}

impl Shared {
    /// The next connection in turn, connecting it first when it is not (or no longer) open.
    async fn client(&self) -> Result<Arc<Object>, StoreError> {
        let slot = &self.slots[self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len()];
        if let Some(c) = slot.open() {
            return Ok(c);
        }
        let _connecting = slot.connecting.lock().await;
        if let Some(c) = slot.open() {
            return Ok(c);
        }
        let fresh = Arc::new(self.pool.get().await.map_err(|e| {
            StoreError::Unavailable(format!("no PostgreSQL connection: {}", chain(&e)))
        })?);
        *slot.held.lock().unwrap_or_else(PoisonError::into_inner) = Some(fresh.clone());
        Ok(fresh)
    }

    /// `sql` with `params` on the next connection in turn.
    async fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, Failure> {
        let client = self.client().await.map_err(Failed)?;
        let answer = async {
            let stmt = client.prepare_cached(sql).await?;
            client.query(&stmt, params).await
        };
        answer.await.map_err(|e| {
            if client.is_closed() {
                Closed
            } else {
                Failed(db(e))
            }
        })
    }
}

/// Why [`Shared::query`] has no rows: its connection closed under it, or anything else.
enum Failure {
    Closed,
    Failed(StoreError),
}
use Failure::{Closed, Failed};

impl AsyncReads for Point {
    fn user(&self, org: &str, id: &str, with_links: bool) -> ReadFuture<Option<Resource>> {
        read_user(self.shared.clone(), org, id.to_string(), BY_ID, with_links)
    }

    fn user_by_name(
        &self,
        org: &str,
        name: &str,
        with_links: bool,
    ) -> ReadFuture<Option<Resource>> {
        read_user(
            self.shared.clone(),
            org,
            name.to_lowercase(),
            BY_NAME,
            with_links,
        )
    }
}

fn read_user(
    shared: Arc<Shared>,
    org: &str,
    key: String,
    sql: &'static str,
    with_links: bool,
) -> ReadFuture<Option<Resource>> {
    let org = org.to_string();
    Box::pin(async move {
        let params: [&(dyn ToSql + Sync); 3] = [&org, &key, &with_links];
        let rows = match shared.query(sql, &params).await {
            // A shared connection can close under a read (a server restart): the read is
            // asked again once, on its replacement.
            Err(Closed) => shared.query(sql, &params).await,
            answer => answer,
        };
        let rows = rows.map_err(|f| match f {
            Failed(e) => e,
            Closed => StoreError::Unavailable("the PostgreSQL connection closed".into()),
        })?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let id: String = row.try_get(0).map_err(db)?;
        let rec = record_of("scimd_users", &id, row, 1)?;
        let links = if with_links {
            // No membership: NULL arrays.
            let ids: Option<Vec<String>> = row.try_get(5).map_err(db)?;
            let names: Option<Vec<String>> = row.try_get(6).map_err(db)?;
            let (ids, names) = (ids.unwrap_or_default(), names.unwrap_or_default());
            Some(
                ids.into_iter()
                    .zip(names)
                    .map(|(id, display)| Link { id, display })
                    .collect(),
            )
        } else {
            None
        };
        Ok(Some(Resource {
            id,
            meta: meta_of(&rec),
            attrs: rec.attrs,
            links,
        }))
    })
}
