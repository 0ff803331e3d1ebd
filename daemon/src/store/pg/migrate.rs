//! Applying the schema's migrations (see `schema.rs`), and refusing a newer schema.

use super::conn::{Conn, Driver};
use super::schema::{MIGRATIONS, MIGRATION_LOCK, SCHEMA_TABLE, SCHEMA_VERSION};
use crate::store::error::{Result, StoreError};

/// Brings the schema up to migration `upto` (all of them when None); returns the version the
/// database is at afterwards. A database at a version newer than this binary knows is refused.
pub(super) fn migrate(conn: &Conn<'_>, upto: Option<i64>) -> Result<i64> {
    let target = upto.unwrap_or(SCHEMA_VERSION).min(SCHEMA_VERSION);
    conn.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let result = apply(conn, target);
    let unlocked = conn.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    let version = result?;
    unlocked?;
    Ok(version)
}

fn apply(conn: &Conn<'_>, target: i64) -> Result<i64> {
    conn.batch(SCHEMA_TABLE)?;
    let rows = conn.query("SELECT coalesce(max(version), 0) FROM scimd_schema", &[])?;
    let mut current: i64 = rows.first().map(|r| r.get(0)).unwrap_or(0);
    if current > SCHEMA_VERSION {
        return Err(StoreError::Schema(format!(
            "the PostgreSQL schema is at version {current}, newer than this scimd knows \
             ({SCHEMA_VERSION}): run a scimd at least as new as the one that upgraded it"
        )));
    }
    while current < target {
        let next = current + 1;
        let sql = MIGRATIONS[(next - 1) as usize];
        conn.batch("BEGIN")?;
        let applied = conn.batch(sql).and_then(|()| {
            conn.execute("INSERT INTO scimd_schema (version) VALUES ($1)", &[&next])
                .map(|_| ())
        });
        match applied {
            Ok(()) => conn.batch("COMMIT")?,
            Err(e) => {
                let _ = conn.batch("ROLLBACK");
                return Err(StoreError::Schema(format!(
                    "PostgreSQL migration {next} failed: {e}"
                )));
            }
        }
        tracing::info!(version = next, "applied PostgreSQL migration");
        current = next;
    }
    Ok(current)
}

/// Connects to `url` and applies migrations up to `upto` (all when None), returning the
/// version reached: what `scimd serve` does at start, callable alone for upgrade tests.
pub(crate) fn migrate_to(target: &super::PgTarget, upto: Option<i64>) -> Result<i64> {
    // A worker thread drives the connection: blocking on a current-thread runtime's handle
    // would not.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| StoreError::Db(format!("cannot start a runtime: {e}")))?;
    let handle = rt.handle().clone();
    let pool = super::pool_for(target, 1, &handle)?;
    let client = handle.block_on(pool.get()).map_err(super::error::pool)?;
    let version = migrate(
        &Conn {
            client: &client,
            rt: Driver::Shared(&handle),
            ahead: None,
        },
        upto,
    );
    drop(client);
    pool.close();
    rt.shutdown_background();
    version
}
