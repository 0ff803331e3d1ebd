//! PostgreSQL's errors turned into [`StoreError`] words. An error caused by a request's own
//! data (a value the database cannot take, a constraint it breaks) is that request's SCIM
//! refusal, so group commit undoes that request alone and the rest of its batch commits; only
//! connection and server faults are faults.

use scimd_core::ScimError;
use tokio_postgres::error::SqlState;

use crate::store::error::StoreError;

/// The refusal for an error a request's data caused: SQLSTATE class 22 (data exception: a
/// NUL byte, a string too long for its column), 54 (program limit exceeded: an index entry
/// too large), or 23 (integrity constraint violation: uniqueness, a check). None for any other.
fn refusal(d: &tokio_postgres::error::DbError) -> Option<ScimError> {
    refusal_of(d.code().code(), d.message())
}

/// [`refusal`] for an error known by its SQLSTATE `code` and `message` (as a create sent
/// ahead reports it).
pub(super) fn refusal_of(code: &str, message: &str) -> Option<ScimError> {
    let detail = || format!("The database refused a value of this request ({code}: {message}).");
    if code == SqlState::UNIQUE_VIOLATION.code() {
        return Some(ScimError::Conflict(format!(
            "{} A value that must be unique is already taken.",
            detail()
        )));
    }
    match code.get(..2) {
        Some("22" | "54" | "23") => Some(ScimError::invalid_value(detail())),
        _ => None,
    }
}

/// A database error as a store fault, with PostgreSQL's own message, or as the SCIM refusal
/// of the request whose data caused it (see [`refusal`]). A deadlock or a
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
    if let Some(refused) = e.as_db_error().and_then(refusal) {
        return StoreError::Scim(refused);
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
    StoreError::Unavailable(format!("no PostgreSQL connection: {}", chain(&e)))
}

/// `e` and its causes on one line: tokio-postgres says only "error performing TLS handshake"
/// or "db error", and the reason (a certificate refused, the server's FATAL) is in a cause.
pub(super) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        // The server's message may carry DETAIL and HINT lines; a refusal is one line.
        let said = c.to_string().replace('\n', "; ");
        if !out.contains(&said) {
            out.push_str(": ");
            out.push_str(&said);
        }
        cause = c.source();
    }
    out
}
