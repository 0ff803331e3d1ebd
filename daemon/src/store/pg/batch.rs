//! Group commit on PostgreSQL: one transaction per batch on the writer's own connection, each
//! job inside its own savepoint so a refused, failed or panicked job is undone alone. What a
//! job leaves for the end (counter changes, events, activity records) is kept per job, in
//! job order, and written as the batch commits (`flush.rs`).
//!
//! A lone user create sends nothing of its own: its call goes out ahead of the next
//! statement, its answer is read as the batch ends, and a create the database refused (a name
//! taken meanwhile) turns that job's reply into the refusal and leaves its writes out.

use std::sync::{Arc, Mutex};

use scimd_core::ScimError;
use tokio::runtime::Runtime;

use super::ahead::{Ahead, Answer, CREATE_USER};
use super::conn::{Conn, Driver};
use super::error::{answered, pool};
use super::flush::Ending;
use super::rows::{Left, PgRows};
use crate::store::commit::{self, Committed, Job, Step};
use crate::store::error::{Result, StoreError};

/// Batches for the group-commit writer: one transaction each on the writer's own connection,
/// which the writer thread drives itself on a current-thread runtime, so a statement's round
/// trip wakes no other thread.
pub(super) struct Batches {
    /// The writer's pool of one connection, made on `rt`.
    pub(super) pool: deadpool_postgres::Pool,
    pub(super) rt: Runtime,
}

/// A create sent ahead, and what its job's reply becomes when the database refused it.
struct Deferred {
    answer: Answer,
    /// The 409 for the name the create would take.
    conflict: ScimError,
    /// Read by the job's reply once the batch ends: the refusal, when there is one.
    verdict: Arc<Mutex<Option<Committed>>>,
}

/// What one job that wrote left for the commit.
struct Entry {
    left: Left,
    deferred: Option<Deferred>,
}

struct Batch<'a> {
    client: deadpool_postgres::Client,
    rt: &'a Runtime,
    entries: Vec<Entry>,
    /// What goes out with the next statement.
    ahead: Ahead,
    /// Whether a statement failed outside a savepoint: the connection is not reused.
    broken: bool,
}

/// Where each job starts; a job that sent nothing leaves none behind.
const SAVEPOINT: &str = "SAVEPOINT job";
/// What ends a job that wrote.
const RELEASE: &str = "RELEASE SAVEPOINT job";
/// What undoes a refused or panicked job alone.
const UNDO: &str = "ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job";

impl commit::Batches for Batches {
    fn begin(&mut self) -> Result<Box<dyn commit::Batch + '_>> {
        let client = self.rt.block_on(self.pool.get()).map_err(pool)?;
        // Prepared once per connection (a cache hit after the first batch). Without it,
        // creates are sent and awaited like any other write.
        let create = self.rt.block_on(client.prepare_cached(CREATE_USER)).ok();
        let batch = Batch {
            client,
            rt: &self.rt,
            entries: Vec::new(),
            ahead: Ahead::new(create),
            broken: false,
        };
        // Sent with the first statement.
        batch.ahead.push("BEGIN");
        Ok(Box::new(batch))
    }
}

impl Batch<'_> {
    fn conn(&self) -> Conn<'_> {
        Conn {
            client: &self.client,
            rt: Driver::Own(self.rt),
            ahead: Some(&self.ahead),
        }
    }

    /// The batch's writes for the commit, folded in job order, leaving out the creates the
    /// database refused (whose replies then say why).
    fn fold(&mut self) -> Result<Left> {
        let mut all = Left::default();
        for entry in self.entries.drain(..) {
            if let Some(d) = &entry.deferred {
                let answer = d.answer.borrow().clone();
                match answer {
                    Some(None) => {}
                    Some(Some(why)) => {
                        if let Ok(mut v) = d.verdict.lock() {
                            *v = Some(verdict(&why, &d.conflict));
                        }
                        continue;
                    }
                    None => return Err(StoreError::Db("a user's create was not answered".into())),
                }
            }
            all.absorb(entry.left);
        }
        Ok(all)
    }
}

/// What the reply of a create the database refused becomes: `why` is its SQLSTATE and
/// message.
fn verdict(why: &str, conflict: &ScimError) -> Committed {
    match answered(why, || conflict.clone()) {
        StoreError::Scim(refused) => Committed::Refused(refused),
        other => Committed::Failed(other.to_string()),
    }
}

impl commit::Batch for Batch<'_> {
    fn run(&mut self, job: &Job) -> Step {
        // The savepoint, and the end of the job before, go out with this job's first
        // statement: a job costs only its own statements' round trips.
        self.ahead.push(SAVEPOINT);
        let mark = self.ahead.mark();
        let calls = self.ahead.calls();
        let mut rows = PgRows::new(self.conn());
        let step = job(&mut rows);
        let (left, deferred) = rows.into_left();
        if self.ahead.failed() {
            // A savepoint this batch relies on may be missing: no job's outcome in it holds.
            self.broken = true;
            let msg = "the write batch's savepoint bookkeeping failed".to_string();
            if let Step::Wrote(done) = step {
                done(Committed::Failed(msg.clone()));
            }
            return Step::Fatal(msg);
        }
        let sent = self.ahead.sent_since(mark);
        let end = |undo: bool| match (sent, undo) {
            (false, _) => self.ahead.unpush(SAVEPOINT),
            (true, false) => self.ahead.push(RELEASE),
            (true, true) => self.ahead.push(UNDO),
        };
        match step {
            Step::Wrote(done) => {
                end(false);
                let (deferred, done) = match deferred {
                    None => (None, done),
                    Some((answer, conflict)) => {
                        let verdict = Arc::new(Mutex::new(None::<Committed>));
                        let read = verdict.clone();
                        let done: Box<dyn FnOnce(Committed) + Send> = Box::new(move |c| {
                            let refused = read.lock().ok().and_then(|mut v| v.take());
                            done(refused.unwrap_or(c));
                        });
                        let d = Deferred {
                            answer,
                            conflict,
                            verdict,
                        };
                        (Some(d), done)
                    }
                };
                self.entries.push(Entry { left, deferred });
                Step::Wrote(done)
            }
            // The job answered already; its writes (half done, for a panic) are undone alone.
            Step::Refused | Step::Panicked => {
                if !sent {
                    self.ahead.unqueue_calls(calls);
                }
                end(true);
                Step::Refused
            }
            Step::Fatal(msg) => Step::Fatal(msg),
        }
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        // The creates still on their way are answered first: what the batch writes at its
        // end depends on which were refused.
        let settled = match self.ahead.has_calls() {
            true => self.conn().pipeline(&[]).map(|_| ()),
            false => Ok(()),
        };
        let result = settled.and_then(|()| self.fold()).and_then(|mut all| {
            super::flush::commit(
                &self.conn(),
                Ending {
                    counts: &all.counts,
                    events: &all.events,
                    activity: &mut all.activity,
                    prune: all.prune,
                },
            )
        });
        if result.is_err() {
            self.ahead.clear();
            let _ = self.conn().batch("ROLLBACK");
        }
        result
    }

    fn abort(self: Box<Self>) {
        self.ahead.clear();
        if self.conn().batch("ROLLBACK").is_err() || self.broken {
            // A connection in an unknown state must not go back to the pool.
            let _ = deadpool_postgres::Object::take(self.client);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conflict() -> ScimError {
        ScimError::Conflict("User with userName ann already exists.".into())
    }

    #[test]
    fn a_refused_create_answers_as_the_database_said() {
        match verdict("23505 duplicate key value", &conflict()) {
            Committed::Refused(ScimError::Conflict(msg)) => assert!(msg.contains("ann"), "{msg}"),
            other => panic!("{other:?}"),
        }
        match verdict("22001 value too long for type", &conflict()) {
            Committed::Refused(e) => {
                assert_eq!(e.scim_type(), Some(scimd_core::ScimType::InvalidValue))
            }
            other => panic!("{other:?}"),
        }
        match verdict("40P01 deadlock detected", &conflict()) {
            Committed::Failed(msg) => assert!(msg.contains("retry"), "{msg}"),
            other => panic!("{other:?}"),
        }
        match verdict("XX000 internal error", &conflict()) {
            Committed::Failed(msg) => assert!(
                msg.contains("XX000 internal error") || msg.contains("XX000: internal error"),
                "{msg}"
            ),
            other => panic!("{other:?}"),
        }
    }
}
