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

/// [`refusal`] for an error known by its SQLSTATE `code` and `message`.
fn refusal_of(code: &str, message: &str) -> Option<ScimError> {
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
    if let Some(busy) = e.code().and_then(|code| in_the_way(code.code())) {
        return busy;
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

/// "Unavailable, retry" for a deadlock, a serialization failure or a lock not had: two
/// daemons' transactions in each other's way. None for any other SQLSTATE.
fn in_the_way(code: &str) -> Option<StoreError> {
    let busy = [
        SqlState::T_R_DEADLOCK_DETECTED,
        SqlState::T_R_SERIALIZATION_FAILURE,
        SqlState::LOCK_NOT_AVAILABLE,
    ];
    busy.iter().any(|s| s.code() == code).then(|| {
        StoreError::Unavailable(format!(
            "postgres: {code}: another daemon's write was in the way; retry"
        ))
    })
}

/// What [`db`] makes of an error a write reported as its answer instead of failing (a user's
/// create, `scimd_create_user`): `why` is its SQLSTATE and message, and a taken name is
/// `conflict`, the SCIM 409 for the record written.
pub(super) fn answered(why: &str, conflict: impl FnOnce() -> ScimError) -> StoreError {
    let (code, message) = why.split_once(' ').unwrap_or((why, ""));
    if code == SqlState::UNIQUE_VIOLATION.code() {
        return StoreError::Scim(conflict());
    }
    if let Some(busy) = in_the_way(code) {
        return busy;
    }
    match refusal_of(code, message) {
        Some(refused) => StoreError::Scim(refused),
        None => StoreError::Db(format!("postgres: {code}: {message}")),
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
