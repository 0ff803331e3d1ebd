//! Group commit, for every backend: one writer thread per store runs every write (SCIM writes,
//! and the activity log's, webhook positions' and feed pruning's), so one thread writes the
//! embedded file. Concurrent writes queue up and each batch runs in one backend transaction,
//! so many requests share one durable commit (one fsync). A request is answered only after the
//! commit that holds it is durable.
//!
//! Per-request atomicity inside a shared transaction rests on one discipline, kept by every
//! operation in `super::Tx`: all checks that can refuse a request run before its first write.
//! A refusal therefore leaves nothing behind. A storage fault aborts the whole batch. A panic in
//! one job aborts the batch too (its partial writes cannot be trusted): that request fails with
//! the panic, and the writer runs the batch again without it, so the others never notice. A
//! backend with savepoints ([`Batch::run`]) instead undoes a refused or panicked job alone.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, SyncSender};

use super::error::{Result, StoreError};
use super::rows::Rows;
use super::Tx;

/// The most requests one transaction carries.
const MAX_BATCH: usize = 256;
/// Queued requests beyond this make submitters wait: backpressure instead of unbounded memory.
const QUEUE: usize = 4096;
/// How a batch ended, for the jobs that wrote in it.
#[derive(Clone, Debug)]
pub(crate) enum Committed {
    Durable,
    /// Aborted because another job hit a storage fault.
    Failed(String),
    /// The commit itself failed: the database needs a reopen.
    CommitFailed(String),
    DiskFull(String),
    /// This job's own write was refused as the batch ended (a backend that learns a write's
    /// fate only then): the batch committed without it.
    Refused(scimd_core::ScimError),
}

/// What one job did inside the shared transaction.
pub(crate) enum Step {
    /// It wrote; call this with the commit's result.
    Wrote(Box<dyn FnOnce(Committed) + Send>),
    /// It refused before writing anything; it already answered.
    Refused,
    /// A storage fault: the transaction cannot be trusted and the batch is aborted.
    Fatal(String),
    /// It panicked, maybe half way through its writes; it already answered.
    Panicked,
}

/// One queued request. It can run more than once: when another job of its batch panics, the
/// batch is rolled back and run again without that job.
pub(crate) type Job = Box<dyn Fn(&mut dyn Rows) -> Step + Send>;

/// Where batches run: a backend's write transactions.
pub(crate) trait Batches: Send + 'static {
    /// Starts one write transaction.
    fn begin(&mut self) -> Result<Box<dyn Batch + '_>>;
}

/// One open write transaction of a backend.
pub(crate) trait Batch {
    /// Runs one job in the transaction. A backend that can undo one job alone (a savepoint)
    /// does so for a refused or panicked job and answers `Refused` for both; one that
    /// cannot passes the step on, and a panic reruns the batch without that job.
    fn run(&mut self, job: &Job) -> Step;
    /// Makes every job's writes durable.
    fn commit(self: Box<Self>) -> Result<()>;
    /// Drops every job's writes.
    fn abort(self: Box<Self>);
}

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

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

impl Committer {
    /// Starts the writer thread over `batches`.
    pub(crate) fn start(mut batches: impl Batches) -> Committer {
        let (tx, rx) = mpsc::sync_channel::<Job>(QUEUE);
        // Spawn failure at startup leaves `tx` unconnected: every submit then reports it.
        let thread = std::thread::Builder::new()
            .name("scimd-writer".into())
            .spawn(move || run(&mut batches, &rx))
            .ok();
        Committer {
            tx: Some(tx),
            thread,
        }
    }

    /// Queues a job for the writer thread.
    pub(crate) fn enqueue(&self, job: Job) -> Result<()> {
        self.tx
            .as_ref()
            .ok_or_else(|| StoreError::Unavailable("the store is closing".into()))?
            .send(job)
            .map_err(|_| StoreError::Db("the writer thread is gone".into()))
    }
}

/// The answer to one job, once its batch has committed (or failed).
pub(crate) struct Reply<T>(mpsc::Receiver<Result<T>>);

impl<T> Reply<T> {
    /// Waits for the job's answer.
    pub(crate) fn wait(self) -> Result<T> {
        self.0
            .recv()
            .map_err(|_| StoreError::Db("the writer thread dropped the request".into()))?
    }
}

/// Wraps `f` as a job for a shared write transaction, with the reply its submitter waits on.
/// `f` may run more than once (when another request of its batch panics); only one run is
/// ever committed.
pub(crate) fn job<T: Send + 'static>(
    f: impl Fn(&mut Tx<'_>) -> Result<T> + Send + Sync + 'static,
) -> (Job, Reply<T>) {
    let (reply_tx, reply_rx) = mpsc::sync_channel::<Result<T>>(1);
    let job: Job = Box::new(move |rows: &mut dyn Rows| {
        step(
            catch_unwind(AssertUnwindSafe(|| f(&mut Tx { rows }))),
            &reply_tx,
        )
    });
    (job, Reply(reply_rx))
}

/// The [`Step`] of one run of a job that ended in `result` (a panic caught as `Err`),
/// answering its submitter through `reply` now (a refusal, a panic) or once the batch ends.
fn step<T: Send + 'static>(
    result: std::thread::Result<Result<T>>,
    reply: &SyncSender<Result<T>>,
) -> Step {
    let reply = reply.clone();
    match result {
        Ok(Ok(v)) => Step::Wrote(Box::new(move |committed| {
            let answer = match committed {
                Committed::Durable => Ok(v),
                Committed::Failed(msg) => Err(StoreError::Batch(msg)),
                Committed::CommitFailed(msg) => Err(StoreError::Db(msg)),
                Committed::DiskFull(msg) => Err(StoreError::DiskFull(msg)),
                Committed::Refused(e) => Err(StoreError::Scim(e)),
            };
            let _ = reply.send(answer);
        })),
        // Unavailable from inside a job is a conflict with another writer of a shared
        // store (a deadlock): this request is refused, the batch goes on. `Refused` is a
        // backend's own job declining before its first write.
        Ok(Err(
            e @ (StoreError::Scim(_)
            | StoreError::Moved
            | StoreError::Unavailable(_)
            | StoreError::Refused(_)),
        )) => {
            let _ = reply.send(Err(e));
            Step::Refused
        }
        Ok(Err(e)) => {
            let msg = e.to_string();
            let _ = reply.send(Err(e));
            Step::Fatal(msg)
        }
        Err(payload) => {
            let msg = panic_text(payload.as_ref());
            tracing::error!(cause = %msg, "a write panicked; its batch runs again without it");
            let _ = reply.send(Err(StoreError::Panicked(msg)));
            Step::Panicked
        }
    }
}

fn run(batches: &mut dyn Batches, rx: &Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // Each pass either answers every job or drops the one that panicked, so this ends.
        while !batch.is_empty() {
            match run_batch(batches, &batch) {
                Some(answered) => {
                    let mut i = 0;
                    batch.retain(|_| {
                        i += 1;
                        !answered.contains(&(i - 1))
                    });
                }
                None => break,
            }
        }
    }
}

/// Runs one batch in one transaction. When a job panics, the batch is rolled back and the
/// indices of the jobs that already have their answer (the panicked one, and refusals before
/// it) are returned, so the rest run again; None when every job has its answer.
fn run_batch(batches: &mut dyn Batches, batch: &[Job]) -> Option<Vec<usize>> {
    let started = std::time::Instant::now();
    let mut txn = match batches.begin() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(cause = %e, "cannot begin a write transaction");
            // The jobs never ran. Their reply senders drop with the batch, which answers each
            // waiting request with an error that marks the store for a reopen.
            return None;
        }
    };
    let mut wrote = Vec::with_capacity(batch.len());
    let mut refused = Vec::new();
    let mut fatal: Option<String> = None;
    for (i, job) in batch.iter().enumerate() {
        match txn.run(job) {
            Step::Wrote(done) => wrote.push(done),
            Step::Refused => refused.push(i),
            Step::Fatal(msg) => {
                fatal = Some(msg);
                break;
            }
            Step::Panicked => {
                txn.abort();
                // The jobs that wrote run again; dropping their callbacks answers nothing.
                refused.push(i);
                return Some(refused);
            }
        }
    }
    let result = match fatal {
        Some(msg) => {
            tracing::error!(cause = %msg, "write batch aborted");
            txn.abort();
            Committed::Failed(msg)
        }
        None => match txn.commit() {
            Ok(()) => Committed::Durable,
            Err(e) => {
                tracing::error!(cause = %e, "commit failed");
                match e {
                    StoreError::DiskFull(msg) => Committed::DiskFull(msg),
                    other => Committed::CommitFailed(other.to_string()),
                }
            }
        },
    };
    super::observe::tell(|o| o.commit(wrote.len(), started.elapsed()));
    for done in wrote {
        done(result.clone());
    }
    None
}
