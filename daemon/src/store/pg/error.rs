//! PostgreSQL's errors turned into [`StoreError`] words; a unique violation is told apart so the
//! caller can answer it as the SCIM conflict it is.

use tokio_postgres::error::SqlState;

use crate::store::error::StoreError;

/// A database error as a store fault, with PostgreSQL's own message. A deadlock or a
/// serialization failure (two daemons' transactions in each other's way) fails only the
/// request that met it, as "unavailable, retry": the rest of its batch carries on.
pub(super) fn db(e: tokio_postgres::Error) -> StoreError {
    if let Some(code) = e.code() {
        if *code == SqlState::T_R_DEADLOCK_DETECTED
            || *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::LOCK_NOT_AVAILABLE
        {
            return StoreError::Unavailable(format!(
                "postgres: {}: another daemon's write was in the way; retry",
                code.code()
            ));
        }
    }
    match e.as_db_error() {
        Some(d) => StoreError::Db(format!("postgres: {}: {}", d.code().code(), d.message())),
        None => match std::error::Error::source(&e) {
            Some(cause) => StoreError::Db(format!("postgres: {e}: {cause}")),
            None => StoreError::Db(format!("postgres: {e}")),
        },
    }
}

/// Whether the error is a unique-constraint violation (another daemon won a race for a name).
pub(super) fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// No connection could be had from the pool in time.
pub(super) fn pool(e: deadpool_postgres::PoolError) -> StoreError {
    StoreError::Unavailable(format!("no PostgreSQL connection: {e}"))
}
