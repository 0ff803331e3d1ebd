//! redb's errors turned into [`StoreError`] words, telling a full disk from other faults.

use crate::store::error::StoreError;

fn from_io_text(text: String, disk_full: bool) -> StoreError {
    if disk_full {
        StoreError::DiskFull(text)
    } else {
        StoreError::Db(text)
    }
}

/// Whether a redb error is (caused by) ENOSPC or a quota.
fn is_disk_full(err: &redb::StorageError) -> bool {
    match err {
        redb::StorageError::Io(e) => {
            matches!(
                e.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            ) || e.raw_os_error() == Some(28)
        }
        _ => false,
    }
}

impl From<redb::StorageError> for StoreError {
    fn from(e: redb::StorageError) -> Self {
        let full = is_disk_full(&e);
        from_io_text(e.to_string(), full)
    }
}

impl From<redb::Error> for StoreError {
    fn from(e: redb::Error) -> Self {
        let full = matches!(&e, redb::Error::Io(io) if matches!(io.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded) || io.raw_os_error() == Some(28));
        from_io_text(e.to_string(), full)
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                let e: redb::Error = e.into();
                e.into()
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::CommitError
);
