//! Point reads on the async runtime: one statement each, consistent by itself, on a pooled
//! connection awaited by the request's own task, so a GET of a user crosses no blocking pool,
//! opens no read transaction and costs one round trip.

use deadpool_postgres::Pool;

use super::error::{chain, db};
use super::tables::record_of;
use crate::store::engine::{AsyncReads, ReadFuture};
use crate::store::error::StoreError;
use crate::store::model::{meta_of, Link, Resource};

/// A user's id and record found by `$where`, and with it (`$3`) their teams that exist, as
/// `[[id, displayName], ...]` by team id: what `read::links` makes of `teams_of` and
/// `team_name`. Made at compile time, so a read formats no SQL.
macro_rules! user_where {
    ($where:literal) => {
        concat!(
            "SELECT u.id, u.attrs::text, u.created, u.modified, u.version, \
             CASE WHEN $3 THEN coalesce((SELECT json_agg(json_build_array(m.gid, \
                 CASE WHEN json_typeof(g.attrs->'displayName') = 'string' \
                 THEN g.attrs->>'displayName' ELSE '' END) ORDER BY m.gid) \
               FROM scimd_members m JOIN scimd_groups g ON g.org = m.org AND g.id = m.gid \
               WHERE m.org = u.org AND m.uid = u.id), '[]') END::text \
             FROM scimd_users u WHERE u.org = $1 AND ",
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
            let text: String = row.try_get(5).map_err(db)?;
            let pairs: Vec<(String, String)> =
                serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
                    table: "scimd_members",
                    key: id.clone(),
                    cause: e.to_string(),
                })?;
            Some(
                pairs
                    .into_iter()
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
