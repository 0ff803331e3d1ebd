//! Reads on the async runtime: one statement each, consistent by itself, awaited by the
//! request's own task on a connection the reads share (`shared.rs`), so a GET of a user or a
//! team, what an index finds for a filter (when it is a few), or an unfiltered page crosses
//! no blocking pool, opens no read transaction and costs one round trip.

use std::sync::Arc;

use deadpool_postgres::Pool;

use scimd_core::ResourceType;

use super::shared::{resource_at, team_links, user_links, Shared};
use super::tables::Tables;
use crate::store::engine::{AsyncReads, ReadFuture};
use crate::store::model::{Lookup, PageAsk, PageRead, Resource};

/// The id and record of a user or team (`r`, in `$table`) found by `$where`, and with it
/// (`$3`) its links as two arrays by id, which `$links` reads (`shared.rs`). Made at compile time, so a
/// read formats no SQL.
macro_rules! found_where {
    ($table:literal, $links:expr, $where:literal) => {
        concat!(
            "SELECT r.id, r.attrs::text, r.created, r.modified, r.version, t.ids, t.names FROM ",
            $table,
            " r LEFT JOIN LATERAL (",
            $links,
            ") t ON true WHERE r.org = $1 AND ",
            $where
        )
    };
}

/// A user and their teams ([`user_links`]): what `read::links` makes of `teams_of` and
/// `team_name`.
macro_rules! user_where {
    ($where:literal) => {
        found_where!("scimd_users", user_links!(), $where)
    };
}

/// A team and its members ([`team_links`]).
macro_rules! team_where {
    ($where:literal) => {
        found_where!("scimd_groups", team_links!(), $where)
    };
}

/// A user by id.
const USER_BY_ID: &str = user_where!("r.id = $2");
/// A team by id.
const TEAM_BY_ID: &str = team_where!("r.id = $2");
/// The users and teams an index finds (`$4`: at most this many), in no order: the index stops
/// after `$4` however many share the value, where an order would sort them all first. The
/// listing orders what it is given.
const USERS_BY_NAME: &str = user_where!("r.name_key = $2 LIMIT $4");
const USERS_BY_EXTERNAL_ID: &str = user_where!("r.external_id = $2 LIMIT $4");
const USERS_BY_EMAIL: &str = user_where!(
    "r.id IN (SELECT e.id FROM scimd_user_emails e WHERE e.org = $1 AND e.email = $2) LIMIT $4"
);
const TEAMS_BY_NAME: &str = team_where!("r.name_key = $2 LIMIT $4");
const TEAMS_BY_EXTERNAL_ID: &str = team_where!("r.external_id = $2 LIMIT $4");

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

    fn found(
        &self,
        org: &str,
        rt: ResourceType,
        lookup: &Lookup,
        with_links: bool,
        most: usize,
    ) -> ReadFuture<Option<Vec<Resource>>> {
        // Names compare lowercased, as the indexes keep them; an externalId exactly.
        let (sql, key) = match (rt, lookup) {
            (ResourceType::User, Lookup::UserName(n)) => (USERS_BY_NAME, n.to_lowercase()),
            (ResourceType::User, Lookup::Email(e)) => (USERS_BY_EMAIL, e.to_lowercase()),
            (ResourceType::User, Lookup::ExternalId(x)) => (USERS_BY_EXTERNAL_ID, x.clone()),
            (ResourceType::Group, Lookup::DisplayName(n)) => (TEAMS_BY_NAME, n.to_lowercase()),
            (ResourceType::Group, Lookup::ExternalId(x)) => (TEAMS_BY_EXTERNAL_ID, x.clone()),
            // An index of the other resource type finds nothing of this one.
            _ => return Box::pin(async { Ok(Some(Vec::new())) }),
        };
        let (shared, org) = (self.shared.clone(), org.to_string());
        let table = Tables::of(rt).records;
        Box::pin(async move {
            let limit = i64::try_from(most.saturating_add(1)).unwrap_or(i64::MAX);
            let rows = shared.ask(sql, &[&org, &key, &with_links, &limit]).await?;
            if rows.len() > most {
                return Ok(None);
            }
            let found = rows
                .iter()
                .map(|row| resource_at(table, row, 0, with_links));
            Ok(Some(found.collect::<Result<Vec<_>, _>>()?))
        })
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
