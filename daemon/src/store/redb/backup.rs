//! Backups of the redb file while it serves, and compaction (a fresh copy) while it does not.
//! A backup is a new redb file filled from one read snapshot of the live one (copying the live
//! file itself could catch a half-written commit), written beside its destination and renamed
//! into place only once durable, so a crash never leaves a truncated backup under the final
//! name.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use redb::{
    Database, Key, MultimapTableDefinition, ReadTransaction, ReadableMultimapTable, ReadableTable,
    TableDefinition, Value, WriteTransaction,
};

use super::schema::*;
use crate::store::error::{Result, StoreError};

fn copy<K: Key + 'static, V: Value + 'static>(
    from: &ReadTransaction,
    to: &WriteTransaction,
    def: TableDefinition<K, V>,
) -> Result<u64> {
    let src = from.open_table(def)?;
    let mut dst = to.open_table(def)?;
    let mut rows = 0;
    for row in src.iter()? {
        let (k, v) = row?;
        dst.insert(k.value(), v.value())?;
        rows += 1;
    }
    Ok(rows)
}

fn copy_multimap<K: Key + 'static, V: Key + 'static>(
    from: &ReadTransaction,
    to: &WriteTransaction,
    def: MultimapTableDefinition<K, V>,
) -> Result<u64> {
    let src = from.open_multimap_table(def)?;
    let mut dst = to.open_multimap_table(def)?;
    let mut rows = 0;
    for row in src.iter()? {
        let (k, values) = row?;
        for v in values {
            dst.insert(k.value(), v?.value())?;
            rows += 1;
        }
    }
    Ok(rows)
}

/// Copies every table of `from` into `to`.
fn copy_all(from: &ReadTransaction, to: &WriteTransaction) -> Result<()> {
    copy(from, to, USERS)?;
    copy(from, to, GROUPS)?;
    copy(from, to, USER_BY_NAME)?;
    copy_multimap(from, to, USER_BY_EXTERNAL_ID)?;
    copy_multimap(from, to, USER_BY_EMAIL)?;
    copy(from, to, GROUP_BY_NAME)?;
    copy_multimap(from, to, GROUP_BY_EXTERNAL_ID)?;
    copy(from, to, MEMBERS)?;
    copy(from, to, MEMBER_OF)?;
    copy(from, to, COUNTS)?;
    copy(from, to, ACTIVITY)?;
    copy(from, to, EVENTS)?;
    copy(from, to, EVENT_SEQ)?;
    copy(from, to, HOOKS)?;
    copy(from, to, META)?;
    Ok(())
}

/// `path` with `suffix` appended to its file name: where a file is staged beside it.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Renames `from` over `to` and syncs their folder, so that the new name survives a crash.
fn rename_durably(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to)
        .map_err(|e| StoreError::Db(format!("renaming to {}: {e}", to.display())))?;
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

fn file_size(path: &Path) -> Result<u64> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| StoreError::Db(format!("{}: {e}", path.display())))
}

/// Writes a consistent copy of `db` (one read snapshot) to `out`, which must not exist yet;
/// returns its size. Writers go on meanwhile: the snapshot does not block them.
pub(super) fn backup(db: &Database, out: &Path) -> Result<u64> {
    if out.exists() {
        return Err(StoreError::Refused(format!(
            "{} already exists; back up to a new file",
            out.display()
        )));
    }
    let staged = beside(out, ".partial");
    let _ = std::fs::remove_file(&staged);
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&staged)
        .map_err(|e| StoreError::Db(format!("creating {}: {e}", staged.display())))?;
    let result = (|| {
        let snapshot = db.begin_read()?;
        let copy_db = Database::create(&staged)?;
        let mut txn = copy_db.begin_write()?;
        // Nothing reads the copy before it is complete; one fsync at the commit is enough.
        txn.set_durability(redb::Durability::Immediate);
        copy_all(&snapshot, &txn)?;
        txn.commit()?;
        drop(copy_db);
        rename_durably(&staged, out)?;
        file_size(out)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&staged);
    }
    result
}

/// Shrinks the file at `path` offline (no daemon may hold it); returns its size before and
/// after. The live rows are copied into a fresh file that replaces the old one: redb's own
/// in-place compaction can leave a file larger than it found it once pages are fragmented,
/// while a fresh copy holds only what is live. The copy replaces the original only if it is
/// smaller.
pub(crate) fn compact(path: &Path) -> Result<(u64, u64)> {
    let before = file_size(path)?;
    // Held open (and so locked) until the copy is in place, so no daemon can open the old
    // file in between and write to a file about to be replaced.
    let db = Database::open(path)?;
    let staged = beside(path, ".compacted");
    let _ = std::fs::remove_file(&staged);
    let after = backup(&db, &staged)?;
    if after >= before {
        let _ = std::fs::remove_file(&staged);
        return Ok((before, before));
    }
    rename_durably(&staged, path)?;
    drop(db);
    Ok((before, after))
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::{MultimapTableHandle, TableHandle};

    /// A table added to the schema but not to `copy_all` would be missing from every backup.
    #[test]
    fn a_backup_copies_every_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        drop(crate::store::Store::open(&path).unwrap());
        let db = Database::open(&path).unwrap();
        let txn = db.begin_read().unwrap();
        let names = |t: Vec<String>, m: Vec<String>| [t, m].concat();
        let source = names(
            txn.list_tables()
                .unwrap()
                .map(|t| t.name().to_string())
                .collect(),
            txn.list_multimap_tables()
                .unwrap()
                .map(|t| t.name().to_string())
                .collect(),
        );
        let out = Database::create(dir.path().join("o.redb")).unwrap();
        let w = out.begin_write().unwrap();
        copy_all(&txn, &w).unwrap();
        w.commit().unwrap();
        let r = out.begin_read().unwrap();
        let copied = names(
            r.list_tables()
                .unwrap()
                .map(|t| t.name().to_string())
                .collect(),
            r.list_multimap_tables()
                .unwrap()
                .map(|t| t.name().to_string())
                .collect(),
        );
        assert_eq!(copied, source);
    }
}
