//! The store's one error type: SCIM refusals, and faults described in words so that no
//! backend error type crosses the storage interface (each backend converts its own errors).

use scimd_core::ScimError;

/// A failure of the store: either a SCIM-level refusal or a fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Scim(#[from] ScimError),
    /// A database fault; the store may have been marked unusable (see `Health`).
    #[error("database: {0}")]
    Db(String),
    /// The disk is full: nothing of the write was committed.
    #[error("disk full: {0}")]
    DiskFull(String),
    /// Writes are paused because the disk was full and no space has been freed since; the
    /// write was not tried, so nothing needs reopening.
    #[error("writes paused: {0}")]
    WritesPaused(String),
    /// The store cannot serve now: it is reopening after a fault, or gave up.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The shared transaction this write was part of failed; nothing of it was committed.
    #[error("write batch failed: {0}")]
    Batch(String),
    /// A handler panicked inside the writer; its request fails, the writer carries on.
    #[error("the write panicked: {0}")]
    Panicked(String),
    /// The resource changed between the read and the write of an optimistic update.
    #[error("the resource changed while the write was prepared")]
    Moved,
    /// The operation cannot be done as asked (say, copying into a store that holds data).
    #[error("{0}")]
    Refused(String),
    /// The database's schema cannot be used by this binary (newer, or a migration failed).
    #[error("{0}")]
    Schema(String),
    #[error("corrupt record in {table} for {key}: {cause}")]
    Corrupt {
        table: &'static str,
        key: String,
        cause: String,
    },
}

impl StoreError {
    /// Whether the fault means the database file can no longer be trusted by this process
    /// (redb's failure flag is sticky) and must be reopened.
    pub fn needs_reopen(&self) -> bool {
        matches!(self, StoreError::Db(_) | StoreError::DiskFull(_))
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;
