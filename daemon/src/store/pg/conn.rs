//! One pooled PostgreSQL connection driven from a blocking thread: statements prepared once
//! per connection (`prepare_cached`) and run to completion on a runtime, with a batch's
//! savepoint bookkeeping sent ahead of its next statement in one pipeline.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use tokio::runtime::{Handle, Runtime};
use tokio_postgres::types::ToSql;

use super::error::db;
use crate::store::error::Result;

pub(super) type Params<'a> = [&'a (dyn ToSql + Sync)];

/// What runs a blocking thread's statements to completion.
#[derive(Clone, Copy)]
pub(super) enum Driver<'a> {
    /// A multi-thread runtime's workers drive the connection while this thread waits.
    Shared(&'a Handle),
    /// This thread drives the connection itself, on a current-thread runtime: a round trip
    /// wakes no other thread (the group-commit writer's connection).
    Own(&'a Runtime),
}

impl Driver<'_> {
    pub(super) fn block_on<F: Future>(self, f: F) -> F::Output {
        match self {
            Driver::Shared(handle) => handle.block_on(f),
            Driver::Own(rt) => rt.block_on(f),
        }
    }
}

/// Statements on one connection, run to completion from a blocking thread.
pub(super) struct Conn<'a> {
    pub(super) client: &'a deadpool_postgres::Client,
    pub(super) rt: Driver<'a>,
    /// Where a write batch keeps what it sends ahead; `None` outside one.
    pub(super) ahead: Option<&'a Ahead>,
}

/// Simple statements whose answers no one waits for (a batch's `SAVEPOINT`, `RELEASE` and
/// `ROLLBACK TO`): they go out in one pipeline with the next statement, so a job's
/// bookkeeping costs no round trip of its own. Their failure is remembered: the transaction
/// is then in a state no job's outcome can be trusted in.
#[derive(Default)]
pub(super) struct Ahead {
    text: RefCell<String>,
    /// How many times queued text has gone out.
    sends: Cell<u64>,
    failed: Cell<bool>,
}

impl Ahead {
    /// Queues `sql` to go out before the next statement.
    pub(super) fn push(&self, sql: &str) {
        let mut text = self.text.borrow_mut();
        if !text.is_empty() {
            text.push_str("; ");
        }
        text.push_str(sql);
    }

    /// A mark for [`Ahead::sent_since`].
    pub(super) fn mark(&self) -> u64 {
        self.sends.get()
    }

    /// Whether what was queued at `mark` has gone out since.
    pub(super) fn sent_since(&self, mark: u64) -> bool {
        self.sends.get() > mark
    }

    /// Drops the last queued statement, `sql`, which has not gone out.
    pub(super) fn unpush(&self, sql: &str) {
        let mut text = self.text.borrow_mut();
        if let Some(rest) = text.strip_suffix(sql) {
            let keep = rest.strip_suffix("; ").unwrap_or(rest).len();
            text.truncate(keep);
        }
    }

    /// Whether something sent ahead failed.
    pub(super) fn failed(&self) -> bool {
        self.failed.get()
    }

    /// Forgets what is queued (the transaction is ending anyway).
    pub(super) fn clear(&self) {
        self.text.borrow_mut().clear();
    }

    fn take(&self) -> String {
        let text = std::mem::take(&mut *self.text.borrow_mut());
        if !text.is_empty() {
            self.sends.set(self.sends.get() + 1);
        }
        text
    }
}

impl Conn<'_> {
    /// Runs `stmt` on the runtime, after what is queued ahead, in one pipeline: the queued
    /// text is sent first (tokio-postgres sends a request when its future is first polled,
    /// and `biased` polls in order), so the server runs it first.
    fn run<T>(
        &self,
        stmt: impl Future<Output = std::result::Result<T, tokio_postgres::Error>>,
    ) -> std::result::Result<T, tokio_postgres::Error> {
        let ahead = self.ahead.map(Ahead::take).unwrap_or_default();
        self.rt.block_on(async {
            if ahead.is_empty() {
                return stmt.await;
            }
            let (sent, out) = tokio::join!(biased; self.client.batch_execute(&ahead), stmt);
            if let Err(e) = sent {
                if let Some(a) = self.ahead {
                    a.failed.set(true);
                }
                return Err(e);
            }
            out
        })
    }

    pub(super) fn raw(
        &self,
        sql: &str,
        params: &Params<'_>,
    ) -> std::result::Result<u64, tokio_postgres::Error> {
        self.run(async {
            let stmt = self.client.prepare_cached(sql).await?;
            self.client.execute(&stmt, params).await
        })
    }

    pub(super) fn execute(&self, sql: &str, params: &Params<'_>) -> Result<u64> {
        self.raw(sql, params).map_err(db)
    }

    pub(super) fn query(&self, sql: &str, params: &Params<'_>) -> Result<Vec<tokio_postgres::Row>> {
        self.run(async {
            let stmt = self.client.prepare_cached(sql).await?;
            self.client.query(&stmt, params).await
        })
        .map_err(db)
    }

    /// Runs `sql` as one simple query, after what is queued ahead (in the same query text).
    pub(super) fn batch(&self, sql: &str) -> Result<()> {
        let mut text = self.ahead.map(Ahead::take).unwrap_or_default();
        if !text.is_empty() {
            text.push_str("; ");
        }
        text.push_str(sql);
        let result = self.rt.block_on(self.client.batch_execute(&text));
        if result.is_err() && text.len() > sql.len() {
            if let Some(a) = self.ahead {
                a.failed.set(true);
            }
        }
        result.map_err(db)
    }
}

/// One statement of a [`Conn::pipeline`].
pub(super) enum Stmt<'s, 'p> {
    /// A prepared statement with its parameters; its rows come back.
    Query(&'s str, &'s Params<'p>),
    /// A simple query (`COMMIT`); no rows.
    Simple(&'s str),
}

type Answer<'f> = Pin<
    Box<
        dyn Future<Output = std::result::Result<Vec<tokio_postgres::Row>, tokio_postgres::Error>>
            + 'f,
    >,
>;

impl Conn<'_> {
    /// Runs `stmts` in one pipeline, after what is queued ahead: one round trip for all of
    /// them. Each one's rows come back in order; when one failed, its error (those after it
    /// fail too, or a `COMMIT` turns into a rollback, the transaction being aborted).
    pub(super) fn pipeline(&self, stmts: &[Stmt<'_, '_>]) -> Result<Vec<Vec<tokio_postgres::Row>>> {
        let ahead = self.ahead.map(Ahead::take).unwrap_or_default();
        let client = self.client;
        let statements = async {
            // Prepared before any of them runs, so they go out back to back; a connection
            // prepares each once. What is queued ahead went out before (it may end a failed
            // job, and nothing is prepared in a failed transaction).
            let mut prepared = Vec::with_capacity(stmts.len());
            for stmt in stmts {
                prepared.push(match stmt {
                    Stmt::Query(sql, _) => Some(client.prepare_cached(sql).await?),
                    Stmt::Simple(_) => None,
                });
            }
            let futures: Vec<Answer<'_>> = stmts
                .iter()
                .zip(&prepared)
                .map(|(stmt, prepared)| -> Answer<'_> {
                    match (stmt, prepared) {
                        (Stmt::Query(_, params), Some(p)) => Box::pin(client.query(p, params)),
                        (Stmt::Simple(sql), _) | (Stmt::Query(sql, _), None) => Box::pin(
                            async move { client.batch_execute(sql).await.map(|()| Vec::new()) },
                        ),
                    }
                })
                .collect();
            Ok::<_, tokio_postgres::Error>(in_order(futures).await)
        };
        let (sent, answers) = self.rt.block_on(async {
            match ahead.is_empty() {
                true => (Ok(()), statements.await),
                false => tokio::join!(biased; client.batch_execute(&ahead), statements),
            }
        });
        if let Err(e) = sent {
            if let Some(a) = self.ahead {
                a.failed.set(true);
            }
            return Err(db(e));
        }
        answers
            .map_err(db)?
            .into_iter()
            .map(|a| a.map_err(db))
            .collect()
    }
}

/// Polls every future to its end, each time in their order: tokio-postgres sends a request
/// when its future is first polled, so the requests leave in this order.
async fn in_order<T>(mut futures: Vec<Pin<Box<dyn Future<Output = T> + '_>>>) -> Vec<T> {
    let mut out: Vec<Option<T>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, slot) in futures.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(v) => *slot = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        match pending {
            true => Poll::Pending,
            false => Poll::Ready(()),
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

/// What runs a statement that returns rows: a connection of its own, or the statements of a
/// read snapshot ([`super::view::Reader`]), so one reading function serves both.
pub(super) trait Query {
    fn query(&self, sql: &str, params: &Params<'_>) -> Result<Vec<tokio_postgres::Row>>;
}

impl Query for Conn<'_> {
    fn query(&self, sql: &str, params: &Params<'_>) -> Result<Vec<tokio_postgres::Row>> {
        Conn::query(self, sql, params)
    }
}

#[cfg(test)]
mod tests {
    use super::Ahead;

    #[test]
    fn a_job_that_sent_nothing_leaves_no_savepoint_behind() {
        let ahead = Ahead::default();
        ahead.push("BEGIN");
        ahead.push("SAVEPOINT job");
        let mark = ahead.mark();
        assert!(!ahead.sent_since(mark));
        ahead.unpush("SAVEPOINT job");
        assert_eq!(ahead.take(), "BEGIN");
    }

    #[test]
    fn what_went_out_counts_as_sent_even_when_more_is_queued_after() {
        let ahead = Ahead::default();
        ahead.push("SAVEPOINT job");
        let mark = ahead.mark();
        assert_eq!(ahead.take(), "SAVEPOINT job");
        // A longer text queued since must not read as "nothing went out".
        ahead.push("ROLLBACK TO SAVEPOINT w; RELEASE SAVEPOINT w");
        assert!(ahead.sent_since(mark));
        ahead.unpush("SAVEPOINT job");
        assert_eq!(ahead.take(), "ROLLBACK TO SAVEPOINT w; RELEASE SAVEPOINT w");
        assert!(!ahead.failed());
    }
}
