//! Reads inside one PostgreSQL read-only REPEATABLE READ transaction, as [`View`] for the
//! backend-neutral reads. Lookups that redb answers from an index use an index here too, and a
//! scan with a filter's needles leaves out in SQL the rows that cannot match.

use std::cell::{Cell, RefCell};

use scimd_core::wire::ActivityRecord;
use scimd_core::ResourceType;
use tokio::runtime::Handle;
use tokio_postgres::Row;

use super::conn::{Params, Query};
use super::error::db;
use super::tables::{record_of, Tables};
use super::teams::{memberships, Plan, Teams, ONE, WINDOW, WINDOW_ROWS};
use crate::store::error::Result;
use crate::store::hooks::HookState;
use crate::store::model::{Link, Lookup, Record};
use crate::store::rows::{display_name, ActivityFrom, Membership, ScanVisit, StoredEvent, View};

/// How many records one scan query fetches.
const SCAN_CHUNK: i64 = 256;

/// What opens a read's snapshot.
const BEGIN: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

/// Reads over one pooled connection inside a snapshot transaction. The transaction opens with
/// the first query, in the same round trip (tokio-postgres pipelines the two).
pub(super) struct Reader<'a> {
    pub(super) client: &'a deadpool_postgres::Client,
    pub(super) rt: &'a Handle,
    /// Whether the snapshot's BEGIN has been sent.
    pub(super) begun: Cell<bool>,
    /// Queries sent so far (the BEGIN, pipelined with the first, not counted): what a page's
    /// cost is measured in, logged when the snapshot ends.
    pub(super) queries: Cell<u32>,
    /// Users' teams and teams' names read so far in this snapshot.
    teams: RefCell<Teams>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(client: &'a deadpool_postgres::Client, rt: &'a Handle) -> Reader<'a> {
        Reader {
            client,
            rt,
            begun: Cell::new(false),
            queries: Cell::new(0),
            teams: RefCell::default(),
        }
    }

    fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Row>> {
        self.queries.set(self.queries.get().saturating_add(1));
        self.rt.block_on(async {
            let stmt = self.client.prepare_cached(sql).await.map_err(db)?;
            if self.begun.replace(true) {
                return self.client.query(&stmt, params).await.map_err(db);
            }
            // `biased`: the BEGIN is polled, so sent, first.
            let (begin, rows) = tokio::join!(
                biased;
                self.client.batch_execute(BEGIN),
                self.client.query(&stmt, params)
            );
            begin.map_err(db)?;
            rows.map_err(db)
        })
    }

    /// Visits the rows `sql` reads a chunk at a time, from after `after` on: `$1` the org,
    /// `$2` the id to start after, `$3` the chunk's size, and then `first` for the first
    /// chunk's further parameters and `rest` for the others'.
    #[allow(clippy::too_many_arguments)]
    fn scan_chunks(
        &self,
        table: &'static str,
        sql: &str,
        org: &str,
        after: Option<&str>,
        first: &Params<'_>,
        rest: &Params<'_>,
        visit: &mut ScanVisit<'_>,
    ) -> Result<()> {
        let mut last = after.unwrap_or("").to_string();
        let mut more = first;
        loop {
            let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                vec![&org, &last, &SCAN_CHUNK];
            params.extend_from_slice(more);
            let rows = Reader::query(self, sql, &params)?;
            more = rest;
            let full = rows.len() as i64 == SCAN_CHUNK;
            for row in &rows {
                let id: String = row.get(0);
                let rec = record_of(table, &id, row, 1)?;
                if !visit(&id, rec)? {
                    return Ok(());
                }
                last = id;
            }
            if !full {
                return Ok(());
            }
        }
    }

    fn ids(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<String>> {
        Ok(self
            .query(sql, params)?
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect())
    }
}

impl Query for Reader<'_> {
    fn query(&self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>> {
        Reader::query(self, sql, params)
    }
}

impl View for Reader<'_> {
    fn memberships(
        &self,
        org: &str,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<Membership>> {
        let (gid, uid) = after.unwrap_or(("", ""));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // One query per batch, the user's name joined in and the team's beside the row:
        // never one query per membership.
        let rows = self.query(
            "SELECT m.gid, coalesce(m.team, ''), m.uid, \
             coalesce(u.attrs->>'userName', '') FROM scimd_members m \
             LEFT JOIN scimd_users u ON u.org = m.org AND u.id = m.uid \
             WHERE m.org = $1 AND (m.gid, m.uid) > ($2, $3) ORDER BY m.gid, m.uid LIMIT $4",
            &[&org, &gid, &uid, &limit],
        )?;
        Ok(rows
            .iter()
            .map(|r| Membership {
                gid: r.get(0),
                team: r.get(1),
                uid: r.get(2),
                user: r.get(3),
            })
            .collect())
    }

    fn event_bounds(&self, org: &str) -> Result<(u64, u64)> {
        super::events::bounds(self, org)
    }

    fn events(&self, org: &str, after: u64, limit: usize) -> Result<Vec<(u64, StoredEvent)>> {
        super::events::raw(self, org, after, limit)
    }

    fn activity(&self, from: ActivityFrom, limit: usize) -> Result<Vec<ActivityRecord>> {
        match from {
            ActivityFrom::Newest => super::activity::recent(self, limit),
            ActivityFrom::After(seq) => super::activity::after(self, seq, limit),
        }
    }

    fn activity_len(&self) -> Result<u64> {
        super::activity::len(self)
    }

    fn last_activity_seq(&self) -> Result<u64> {
        super::activity::last_seq(self)
    }

    fn hook_states(&self, org: &str) -> Result<Vec<(String, HookState)>> {
        super::hooks::states(self, org)
    }

    fn record(&self, org: &str, rt: ResourceType, id: &str) -> Result<Option<Record>> {
        let t = Tables::of(rt);
        let sql = format!(
            "SELECT attrs::text, created, modified, version FROM {} WHERE org = $1 AND id = $2",
            t.records
        );
        match self.query(&sql, &[&org, &id])?.first() {
            Some(row) => Ok(Some(record_of(t.records, id, row, 0)?)),
            None => Ok(None),
        }
    }

    fn scan(
        &self,
        org: &str,
        rt: ResourceType,
        after: Option<&str>,
        skip: usize,
        visit: &mut ScanVisit<'_>,
    ) -> Result<()> {
        let t = Tables::of(rt);
        let sql = format!(
            "SELECT id, attrs::text, created, modified, version FROM {} \
             WHERE org = $1 AND id > $2 ORDER BY id LIMIT $3 OFFSET $4",
            t.records
        );
        let offset = i64::try_from(skip).unwrap_or(i64::MAX);
        self.scan_chunks(t.records, &sql, org, after, &[&offset], &[&0i64], visit)
    }

    fn scan_matching(
        &self,
        org: &str,
        rt: ResourceType,
        after: Option<&str>,
        needles: &[String],
        visit: &mut ScanVisit<'_>,
    ) -> Result<()> {
        let t = Tables::of(rt);
        // The database reads every row of the org and sends only those holding each needle
        // (ASCII case folded, as `C` does whatever the database's locale), and every row with
        // non-ASCII text, whose Unicode folding only the daemon does: `needles::may_match`,
        // in SQL.
        let sql = format!(
            "SELECT id, attrs::text, created, modified, version FROM {} \
             WHERE org = $1 AND id > $2 AND (attrs::text ~ '[^\\x01-\\x7f]' \
               OR NOT EXISTS (SELECT 1 FROM unnest($4::text[]) n \
                 WHERE strpos(lower(attrs::text COLLATE \"C\"), n) = 0)) \
             ORDER BY id LIMIT $3",
            t.records
        );
        self.scan_chunks(t.records, &sql, org, after, &[&needles], &[&needles], visit)
    }
    fn lookup(&self, org: &str, rt: ResourceType, lookup: &Lookup) -> Result<Vec<String>> {
        let t = Tables::of(rt);
        match (lookup, rt) {
            (Lookup::UserName(name), ResourceType::User)
            | (Lookup::DisplayName(name), ResourceType::Group) => {
                let sql = format!(
                    "SELECT id FROM {} WHERE org = $1 AND name_key = $2",
                    t.records
                );
                self.ids(&sql, &[&org, &name.to_lowercase()])
            }
            (Lookup::Email(email), ResourceType::User) => self.ids(
                "SELECT id FROM scimd_user_emails WHERE org = $1 AND email = $2",
                &[&org, &email.to_lowercase()],
            ),
            (Lookup::ExternalId(ext), _) => {
                let sql = format!(
                    "SELECT id FROM {} WHERE org = $1 AND external_id = $2",
                    t.records
                );
                self.ids(&sql, &[&org, ext])
            }
            // An index of the other resource type finds nothing of this one.
            _ => Ok(Vec::new()),
        }
    }

    fn members(&self, org: &str, gid: &str) -> Result<Vec<Link>> {
        Ok(self
            .query(
                "SELECT uid, display FROM scimd_members WHERE org = $1 AND gid = $2 ORDER BY uid",
                &[&org, &gid],
            )?
            .iter()
            .map(|r| Link {
                id: r.get(0),
                display: r.get(1),
            })
            .collect())
    }

    fn teams_of(&self, org: &str, uid: &str) -> Result<Vec<String>> {
        // A page of users is read in id order: one query brings the memberships of the users
        // ahead with their teams' names, so the page costs a query per window rather than one
        // per user and one per team. A single GET reads its user alone (see `Teams::plan`).
        if let Some(teams) = self.teams.borrow().cached(org, uid) {
            return Ok(teams);
        }
        let plan = self.teams.borrow_mut().plan();
        if let Plan::Window = plan {
            let limit = i64::try_from(WINDOW_ROWS).unwrap_or(i64::MAX);
            let rows = memberships(&self.query(WINDOW, &[&org, &uid, &limit])?);
            if let Some(teams) = self.teams.borrow_mut().window(org, uid, rows, WINDOW_ROWS) {
                return Ok(teams);
            }
            // One user in more teams than a window holds: read them alone.
        }
        let rows = memberships(&self.query(ONE, &[&org, &uid])?);
        Ok(self.teams.borrow_mut().one(org, rows))
    }

    fn team_name(&self, org: &str, gid: &str) -> Result<Option<String>> {
        if let Some(name) = self.teams.borrow().name(org, gid) {
            return Ok(name);
        }
        // Only a team no membership query brought gets here (`read::links` asks of the teams
        // `teams_of` gave, whose names came with them): read it, and keep it for the page.
        let name = self
            .record(org, ResourceType::Group, gid)?
            .map(|rec| display_name(&rec));
        self.teams
            .borrow_mut()
            .remember_name(org, gid, name.clone());
        Ok(name)
    }

    fn counter(&self, org: &str, name: &str) -> Result<u64> {
        let rows = self.query(
            "SELECT n FROM scimd_counts WHERE org = $1 AND name = $2",
            &[&org, &name],
        )?;
        Ok(rows
            .first()
            .map(|r| r.get::<_, i64>(0).max(0) as u64)
            .unwrap_or(0))
    }

    fn orgs(&self) -> Result<Vec<String>> {
        self.ids(
            "SELECT org FROM scimd_users UNION SELECT org FROM scimd_groups \
             UNION SELECT org FROM scimd_counts ORDER BY 1",
            &[],
        )
    }

    fn users_by_name_prefix(&self, org: &str, prefix: &str, limit: usize) -> Result<Vec<String>> {
        // Under byte order every name with the prefix sorts below prefix + U+10FFFF, so the
        // index range is bounded on both sides.
        let upper = format!("{prefix}\u{10FFFF}");
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.ids(
            "SELECT id FROM scimd_users WHERE org = $1 AND name_key >= $2 AND name_key < $3 \
             AND starts_with(name_key, $2) ORDER BY name_key LIMIT $4",
            &[&org, &prefix, &upper, &limit],
        )
    }
}
