//! Reads on the async runtime: one statement each, consistent by itself, awaited by the
//! request's own task on a connection the reads share (`shared.rs`), so a GET of a user or a
//! team, a lookup by userName or a team's displayName, or an unfiltered page crosses no
//! blocking pool, opens no read transaction and costs one round trip.

use std::sync::Arc;

use deadpool_postgres::Pool;

use scimd_core::ResourceType;

use super::shared::{resource_at, Shared};
use super::tables::Tables;
use crate::store::engine::{AsyncReads, ReadFuture};
use crate::store::model::{PageAsk, PageRead, Resource};

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

/// A team's id and record found by `$where`, and with it (`$3`) its members' ids and
/// display names by user id, from the membership table's primary key.
macro_rules! team_where {
    ($where:literal) => {
        concat!(
            "SELECT g.id, g.attrs::text, g.created, g.modified, g.version, t.ids, t.names \
             FROM scimd_groups g LEFT JOIN LATERAL (SELECT array_agg(m.uid ORDER BY m.uid) ids, \
               array_agg(m.display ORDER BY m.uid) names FROM scimd_members m \
               WHERE $3 AND m.org = g.org AND m.gid = g.id) t ON true \
             WHERE g.org = $1 AND ",
            $where
        )
    };
}

/// A user by id.
const USER_BY_ID: &str = user_where!("u.id = $2");
/// A user by the lowercased userName.
const USER_BY_NAME: &str = user_where!("u.name_key = $2");
/// A team by id.
const TEAM_BY_ID: &str = team_where!("g.id = $2");
/// A team by the lowercased displayName.
const TEAM_BY_NAME: &str = team_where!("g.name_key = $2");

/// The backend's async reads, over connections they share.
pub(super) struct Point {
    shared: Arc<Shared>,
}

impl Point {
    /// Point reads over `pool`'s connections, each shared by every read that picks it.
    pub(super) fn new(pool: Pool, connections: usize) -> Point {
        Point {
            shared: Arc::new(Shared::new(pool, connections)),
        }
    }
}

impl AsyncReads for Point {
    fn one(
        &self,
        org: &str,
        rt: ResourceType,
        id: &str,
        with_links: bool,
    ) -> ReadFuture<Option<Resource>> {
        let sql = match rt {
            ResourceType::User => USER_BY_ID,
            ResourceType::Group => TEAM_BY_ID,
        };
        read_one(
            self.shared.clone(),
            org,
            rt,
            id.to_string(),
            sql,
            with_links,
        )
    }

    fn one_by_name(
        &self,
        org: &str,
        rt: ResourceType,
        name: &str,
        with_links: bool,
    ) -> ReadFuture<Option<Resource>> {
        let sql = match rt {
            ResourceType::User => USER_BY_NAME,
            ResourceType::Group => TEAM_BY_NAME,
        };
        let key = name.to_lowercase();
        read_one(self.shared.clone(), org, rt, key, sql, with_links)
    }

    fn page(&self, org: &str, ask: PageAsk) -> ReadFuture<PageRead> {
        super::page::read(self.shared.clone(), org, ask)
    }
}

fn read_one(
    shared: Arc<Shared>,
    org: &str,
    rt: ResourceType,
    key: String,
    sql: &'static str,
    with_links: bool,
) -> ReadFuture<Option<Resource>> {
    let org = org.to_string();
    Box::pin(async move {
        let rows = shared.ask(sql, &[&org, &key, &with_links]).await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        resource_at(Tables::of(rt).records, row, 0, with_links).map(Some)
    })
}
