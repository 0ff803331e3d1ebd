//! A page of an org's users or teams in id order, with the type's count and each resource's
//! links, in one statement on a shared connection (`shared.rs`): one round trip, consistent
//! by itself, on the async runtime. A user's teams come from the membership index alone
//! (migration 6), a team's members from the membership table's primary key.

use std::sync::Arc;

use scimd_core::ResourceType;

use super::error::db;
use super::shared::{resource_at, team_links, user_links, Shared};
use crate::store::engine::ReadFuture;
use crate::store::model::{PageAsk, PageRead};

/// The statement of one type: `$1` org, `$2` the id the page starts after ("" for the first),
/// `$3` whether to read links, `$4` how many more to pass over, `$5` the most rows. The count
/// comes on every row, and on a lone row of NULLs when the page is empty. The ids passed over
/// are counted in the primary key alone, and only the page's rows are read: an OFFSET over
/// whole rows let the planner choose to sort the org's every row when its statistics were
/// young (a deep page then took 4x as long).
macro_rules! page_of {
    ($table:literal, $counter:literal, $links:expr) => {
        concat!(
            "SELECT c.n, r.id, r.attrs::text, r.created, r.modified, r.version, l.ids, l.names \
             FROM (SELECT coalesce((SELECT n FROM scimd_counts WHERE org = $1 AND name = '",
            $counter,
            "'), 0) AS n) c \
             LEFT JOIN LATERAL (SELECT x.org, x.id, x.attrs, x.created, x.modified, x.version \
               FROM ",
            $table,
            " x WHERE x.org = $1 AND x.id >= (SELECT s.id FROM ",
            $table,
            " s WHERE s.org = $1 AND s.id > $2 ORDER BY s.id OFFSET $4 LIMIT 1) \
             ORDER BY x.id LIMIT $5) r ON true \
             LEFT JOIN LATERAL (",
            $links,
            ") l ON true ORDER BY r.id"
        )
    };
}

/// A page of users, each with their teams.
const USERS: &str = page_of!("scimd_users", "users", user_links!());

/// A page of teams, each with its members.
const TEAMS: &str = page_of!("scimd_groups", "groups", team_links!());

/// Reads the page `ask` names.
pub(super) fn read(shared: Arc<Shared>, org: &str, ask: PageAsk) -> ReadFuture<PageRead> {
    let org = org.to_string();
    Box::pin(async move {
        let (sql, table) = match ask.rt {
            ResourceType::User => (USERS, "scimd_users"),
            ResourceType::Group => (TEAMS, "scimd_groups"),
        };
        let after = ask.after.as_deref().unwrap_or("");
        let skip = i64::try_from(ask.skip).unwrap_or(i64::MAX);
        let limit = i64::try_from(ask.limit).unwrap_or(i64::MAX);
        let rows = shared
            .ask(sql, &[&org, &after, &ask.with_links, &skip, &limit])
            .await?;
        let total = match rows.first() {
            Some(row) => row.try_get::<_, i64>(0).map_err(db)?,
            None => 0,
        };
        let mut resources = Vec::with_capacity(rows.len());
        for row in &rows {
            // The lone row of an empty page has no resource.
            if row.try_get::<_, Option<String>>(1).map_err(db)?.is_some() {
                resources.push(resource_at(table, row, 1, ask.with_links)?);
            }
        }
        Ok(PageRead {
            ask,
            total: u64::try_from(total).unwrap_or(0),
            resources,
        })
    })
}
