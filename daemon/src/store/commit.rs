//! Group commit: one thread owns writing. Concurrent writes queue up and each batch runs in one
//! redb write transaction with `Durability::Immediate`, so many requests share one fsync. A
//! request is answered only after the commit that holds it is durable.
//!
//! Per-request atomicity inside a shared transaction rests on one discipline, kept by every
//! operation in `super::Tx`: all checks that can refuse a request run before its first write.
//! A refusal therefore leaves nothing behind, and a storage fault aborts the whole batch.

use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;

use redb::{Database, WriteTransaction};

use super::{StoreError, Tx, Writer};

/// The most requests one transaction carries.
const MAX_BATCH: usize = 256;
/// Queued requests beyond this make submitters wait: backpressure instead of unbounded memory.
const QUEUE: usize = 4096;

/// What one job did inside the shared transaction.
enum Step {
    /// It wrote; call this with the commit's result.
    Wrote(Box<dyn FnOnce(Result<(), String>) + Send>),
    /// It refused before writing anything; it already answered.
    Refused,
    /// A storage fault: the transaction cannot be trusted and the batch is aborted.
    Fatal(String),
}

type Job = Box<dyn FnOnce(&WriteTransaction) -> Step + Send>;

/// The handle that submits jobs to the writer thread.
pub struct Committer {
    tx: Option<SyncSender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Committer {
    /// Closes the queue and waits for the writer to finish its last batch and release the
    /// database, so redb closes the file cleanly (an unclean close costs a repair scan of the
    /// whole file at the next start).
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Committer {
    /// Starts the writer thread over `db`.
    pub fn start(db: Arc<Database>) -> Committer {
        let (tx, rx) = mpsc::sync_channel::<Job>(QUEUE);
        // Spawn failure at startup leaves `tx` unconnected: every submit then reports it.
        let thread = std::thread::Builder::new()
            .name("scimd-writer".into())
            .spawn(move || run(&db, &rx))
            .ok();
        Committer {
            tx: Some(tx),
            thread,
        }
    }

    /// Runs `f` in a shared write transaction and waits until its batch is durable.
    pub fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply_tx, reply_rx) = mpsc::sync_channel::<Result<T, StoreError>>(1);
        let job: Job = Box::new(move |txn| {
            let result = Writer::open(txn).and_then(|w| f(&mut Tx { w }));
            match result {
                Ok(v) => Step::Wrote(Box::new(move |committed| {
                    let _ = reply_tx.send(committed.map(|()| v).map_err(StoreError::Batch));
                })),
                Err(StoreError::Scim(e)) => {
                    let _ = reply_tx.send(Err(StoreError::Scim(e)));
                    Step::Refused
                }
                Err(e) => {
                    let msg = e.to_string();
                    let _ = reply_tx.send(Err(e));
                    Step::Fatal(msg)
                }
            }
        });
        self.tx
            .as_ref()
            .ok_or_else(|| StoreError::Batch("the store is closing".into()))?
            .send(job)
            .map_err(|_| StoreError::Batch("the writer thread is gone".into()))?;
        reply_rx
            .recv()
            .map_err(|_| StoreError::Batch("the writer thread dropped the request".into()))?
    }
}

fn run(db: &Database, rx: &Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let txn = match db.begin_write() {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(cause = %e, "cannot begin a write transaction");
                // The jobs never ran; dropping them drops their reply senders, which answers
                // each waiting request with an error.
                continue;
            }
        };
        let mut wrote = Vec::with_capacity(batch.len());
        let mut fatal: Option<String> = None;
        for job in batch {
            if fatal.is_some() {
                // Dropping the job answers it with an error, as above.
                continue;
            }
            match job(&txn) {
                Step::Wrote(done) => wrote.push(done),
                Step::Refused => {}
                Step::Fatal(msg) => fatal = Some(msg),
            }
        }
        let result = match fatal {
            Some(msg) => {
                tracing::error!(cause = %msg, "write batch aborted");
                let _ = txn.abort();
                Err(msg)
            }
            None => txn.commit().map_err(|e| {
                tracing::error!(cause = %e, "commit failed");
                e.to_string()
            }),
        };
        for done in wrote {
            done(result.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use scimd_core::ResourceType;
    use serde_json::{json, Map, Value};

    use crate::store::{Store, Unknown};

    #[test]
    fn dropping_the_store_closes_the_file_cleanly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("scimd.redb");
        {
            let store = Store::open(&path).expect("open");
            let attrs: Map<String, Value> = json!({"userName": "ann@acme.com"})
                .as_object()
                .cloned()
                .unwrap_or_default();
            let now = "2026-11-28T00:00:00Z";
            store
                .create(
                    "acme",
                    ResourceType::User,
                    "u1",
                    now,
                    attrs,
                    Vec::new(),
                    Unknown::Skip,
                )
                .expect("create");
        }
        // The writer thread has released the file: it opens at once, and without a repair.
        let repaired = Arc::new(AtomicBool::new(false));
        let seen = repaired.clone();
        let db = redb::Builder::new()
            .set_repair_callback(move |_| seen.store(true, Ordering::SeqCst))
            .create(&path)
            .expect("reopen right after the store is dropped");
        drop(db);
        assert!(!repaired.load(Ordering::SeqCst), "the file needed a repair");
        let store = Store::open(&path).expect("open again");
        assert!(store
            .get("acme", ResourceType::User, "u1", false)
            .expect("get")
            .is_some());
    }
}
