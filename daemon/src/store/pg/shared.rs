//! Connections that point reads share: each carries many reads at once (tokio-postgres
//! pipelines them), so the server answers the reads queued on one connection back to back
//! instead of sleeping and waking a process per read. On a 2-core machine this gave a user's
//! GET about 1.5x the throughput of a connection borrowed per read. Also the SQL of a
//! resource's links such a read brings, and the decoding of what it returns.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use deadpool_postgres::{Object, Pool};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::error::{chain, db};
use super::tables::record_of;
use crate::store::error::StoreError;
use crate::store::model::{meta_of, Link, Resource};

/// A user's teams, for the row `r` and when `$3` holds, as the two arrays [`resource_at`]
/// reads: team ids and names, by team id, from the membership index alone (migration 6 keeps
/// each team's name there).
macro_rules! user_links {
    () => {
        "SELECT array_agg(m.gid ORDER BY m.gid) ids, array_agg(m.team ORDER BY m.gid) names \
         FROM scimd_members m WHERE $3 AND m.org = r.org AND m.uid = r.id AND m.team IS NOT NULL"
    };
}
pub(super) use user_links;

/// A team's members, for the row `r` and when `$3` holds, as the two arrays [`resource_at`]
/// reads: user ids and display names, by user id, from the membership table's primary key.
macro_rules! team_links {
    () => {
        "SELECT array_agg(m.uid ORDER BY m.uid) ids, array_agg(m.display ORDER BY m.uid) names \
         FROM scimd_members m WHERE $3 AND m.org = r.org AND m.gid = r.id"
    };
}
pub(super) use team_links;

/// The shared connections: `slots` hold the connections in use, `pool` (as many as there are
/// slots) makes and replaces them.
pub(super) struct Shared {
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

impl Shared {
    /// Reads over `pool`'s connections, each shared by every read that picks it.
    pub(super) fn new(pool: Pool, connections: usize) -> Shared {
        Shared {
            pool,
            slots: (0..connections.max(1)).map(|_| Slot::default()).collect(),
            next: AtomicUsize::new(0),
        }
    }

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

    /// `sql` with `params` on the next connection in turn. A shared connection can close
    /// under a read (a server restart): the read is asked again once, on its replacement.
    pub(super) async fn ask(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let rows = match self.query(sql, params).await {
            Err(Closed) => self.query(sql, params).await,
            answer => answer,
        };
        rows.map_err(|f| match f {
            Failed(e) => e,
            Closed => StoreError::Unavailable("the PostgreSQL connection closed".into()),
        })
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

/// The resource in `row` from column `at` on: id, record, and (when `with_links`) its links
/// as two arrays, ids and display names, NULL for none.
pub(super) fn resource_at(
    table: &'static str,
    row: &Row,
    at: usize,
    with_links: bool,
) -> Result<Resource, StoreError> {
    let id: String = row.try_get(at).map_err(db)?;
    let rec = record_of(table, &id, row, at + 1)?;
    let links = if with_links {
        let ids: Option<Vec<String>> = row.try_get(at + 5).map_err(db)?;
        let names: Option<Vec<String>> = row.try_get(at + 6).map_err(db)?;
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
    Ok(Resource {
        id,
        meta: meta_of(&rec),
        attrs: rec.attrs,
        links,
    })
}
