//! Point reads on the async runtime: one statement each, consistent by itself, on a pooled
//! connection awaited by the request's own task, so a GET of a user crosses no blocking pool,
//! opens no read transaction and costs one round trip.

use deadpool_postgres::Pool;

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

/// The backend's async reads, over its pool.
pub(super) struct Point {
    pub(super) pool: Pool,
}

impl AsyncReads for Point {
    fn user(&self, org: &str, id: &str, with_links: bool) -> ReadFuture<Option<Resource>> {
        read_user(self.pool.clone(), org, id.to_string(), BY_ID, with_links)
    }

    fn user_by_name(
        &self,
        org: &str,
        name: &str,
        with_links: bool,
    ) -> ReadFuture<Option<Resource>> {
        read_user(
            self.pool.clone(),
            org,
            name.to_lowercase(),
            BY_NAME,
            with_links,
        )
    }
}

fn read_user(
    pool: Pool,
    org: &str,
    key: String,
    sql: &'static str,
    with_links: bool,
) -> ReadFuture<Option<Resource>> {
    let org = org.to_string();
    Box::pin(async move {
        let client = pool.get().await.map_err(|e| {
            StoreError::Unavailable(format!("no PostgreSQL connection: {}", chain(&e)))
        })?;
        let stmt = client.prepare_cached(sql).await.map_err(db)?;
        let rows = client
            .query(&stmt, &[&org, &key, &with_links])
            .await
            .map_err(db)?;
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
