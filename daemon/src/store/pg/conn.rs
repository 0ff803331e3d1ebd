//! One pooled PostgreSQL connection driven from a blocking thread: statements prepared once
//! per connection (`prepare_cached`) and run to completion on the backend's runtime.

use tokio::runtime::Handle;
use tokio_postgres::types::ToSql;

use super::error::db;
use crate::store::error::Result;

pub(super) type Params<'a> = [&'a (dyn ToSql + Sync)];

/// Statements on one connection, run to completion from a blocking thread.
pub(super) struct Conn<'a> {
    pub(super) client: &'a deadpool_postgres::Client,
    pub(super) rt: &'a Handle,
}

impl Conn<'_> {
    pub(super) fn raw(
        &self,
        sql: &str,
        params: &Params<'_>,
    ) -> std::result::Result<u64, tokio_postgres::Error> {
        self.rt.block_on(async {
            let stmt = self.client.prepare_cached(sql).await?;
            self.client.execute(&stmt, params).await
        })
    }

    pub(super) fn execute(&self, sql: &str, params: &Params<'_>) -> Result<u64> {
        self.raw(sql, params).map_err(db)
    }

    pub(super) fn query(&self, sql: &str, params: &Params<'_>) -> Result<Vec<tokio_postgres::Row>> {
        self.rt.block_on(async {
            let stmt = self.client.prepare_cached(sql).await.map_err(db)?;
            self.client.query(&stmt, params).await.map_err(db)
        })
    }

    pub(super) fn batch(&self, sql: &str) -> Result<()> {
        self.rt.block_on(self.client.batch_execute(sql)).map_err(db)
    }
}

/// What runs a statement that returns rows: a connection of its own, or the statements of a
/// read snapshot ([`super::view::Reader`]), so one reading function serves both.
pub(super) trait Query {
    fn query(&self, sql: &str, params: &Params<'_>) -> Result<Vec<tokio_postgres::Row>>;
}

impl Query for Conn<'_> {
    fn query(&self, sql: &str, params: &Params<'_>) -> Result<Vec<tokio_postgres::Row>> {
        Conn::query(self, sql, params)
    }
}
