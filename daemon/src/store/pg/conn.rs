//! One pooled PostgreSQL connection driven from a blocking thread: statements prepared once
//! per connection (`prepare_cached`) and run to completion on a runtime, after what a write
//! batch queued to go ahead of them ([`Ahead`]) in one pipeline.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use tokio::runtime::{Handle, Runtime};
use tokio_postgres::types::ToSql;

use super::ahead::{Ahead, Call};
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

impl Conn<'_> {
    /// Runs `then` on the runtime after what is queued ahead, in one pipeline: the queued
    /// text first, then the queued creates, then whatever `then` sends (tokio-postgres sends a
    /// request when its future is first polled, and `biased` polls in order), so the server
    /// runs them in that order. The creates' answers are recorded; a failure of what went
    /// ahead marks the batch (see [`Ahead`]).
    fn ahead_of<T>(
        &self,
        then: impl Future<Output = T>,
    ) -> std::result::Result<T, tokio_postgres::Error> {
        let (text, calls) = self.ahead.map(Ahead::take).unwrap_or_default();
        let create = self.ahead.and_then(Ahead::create);
        if text.is_empty() && calls.is_empty() {
            return Ok(self.rt.block_on(then));
        }
        let client = self.client;
        let params: Vec<_> = calls.iter().map(Call::params).collect();
        let (sent, called, out) = self.rt.block_on(async {
            let text = async {
                match text.is_empty() {
                    true => Ok(()),
                    false => client.batch_execute(&text).await,
                }
            };
            let calls = async {
                let Some(create) = create.filter(|_| !params.is_empty()) else {
                    return Ok(Vec::<tokio_postgres::Row>::new());
                };
                let futures: Vec<Pin<Box<dyn Future<Output = _> + '_>>> = params
                    .iter()
                    .map(|p| Box::pin(client.query_one(create, p)) as Pin<Box<_>>)
                    .collect();
                in_order(futures)
                    .await
                    .into_iter()
                    .collect::<std::result::Result<Vec<_>, _>>()
            };
            tokio::join!(biased; text, calls, then)
        });
        let answered = sent.and(called).and_then(|rows| {
            for (call, row) in calls.iter().zip(&rows) {
                call.answered(row.try_get(0)?);
            }
            Ok(())
        });
        if let Err(e) = answered {
            if let Some(a) = self.ahead {
                a.set_failed();
            }
            return Err(e);
        }
        Ok(out)
    }

    /// Runs `stmt` after what is queued ahead.
    fn run<T>(
        &self,
        stmt: impl Future<Output = std::result::Result<T, tokio_postgres::Error>>,
    ) -> std::result::Result<T, tokio_postgres::Error> {
        self.ahead_of(stmt).and_then(|r| r)
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

    /// Runs `sql` as one simple query, after what is queued ahead.
    pub(super) fn batch(&self, sql: &str) -> Result<()> {
        self.run(self.client.batch_execute(sql)).map_err(db)
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
        let client = self.client;
        let statements = async {
            // Prepared before any of them runs, so they go out back to back; a connection
            // prepares each once (after what went ahead: nothing is prepared in a failed
            // transaction, and what went ahead may end one).
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
        self.ahead_of(statements)
            .and_then(|r| r)
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
