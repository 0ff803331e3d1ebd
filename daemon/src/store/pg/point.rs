//! Reads on the async runtime: one statement each, consistent by itself, awaited by the
//! request's own task on a connection the reads share (`shared.rs`), so a GET of a user, a
//! lookup by userName or an unfiltered page crosses no blocking pool, opens no read
//! transaction and costs one round trip.

use std::sync::Arc;

use deadpool_postgres::Pool;

use super::shared::{resource_at, Shared};
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

/// A user by id.
const BY_ID: &str = user_where!("u.id = $2");
/// A user by the lowercased userName.
const BY_NAME: &str = user_where!("u.name_key = $2");

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

    fn page(&self, org: &str, ask: PageAsk) -> ReadFuture<PageRead> {
        super::page::read(self.shared.clone(), org, ask)
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
        let rows = shared.ask(sql, &[&org, &key, &with_links]).await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        resource_at("scimd_users", row, 0, with_links).map(Some)
    })
}
