//! What a write batch sends ahead of its next statement, in the same pipeline, so none of it
//! costs a round trip of its own: its savepoint bookkeeping (`SAVEPOINT`, `RELEASE`,
//! `ROLLBACK TO`), and the creates of users whose answers are read only as the batch ends.
//!
//! A failure of the bookkeeping is remembered: the transaction is then in a state no job's
//! outcome can be trusted in. A create cannot fail that way: `scimd_create_user` (migration
//! 5) answers with why it did not create rather than breaking the transaction.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use tokio_postgres::types::ToSql;
use tokio_postgres::Statement;

/// A parameter owned by a call waiting to go out.
pub(super) type Owned = Box<dyn ToSql + Sync + Send>;

/// The answer of a create sent ahead: None until it came; then None when the user was
/// created, or the SQLSTATE and message of why not.
pub(super) type Answer = Rc<RefCell<Option<Option<String>>>>;

/// A user's create, with the parameters of `scimd_create_user`.
pub(super) const CREATE_USER: &str =
    "SELECT scimd_create_user($1, $2, $3, $4, $5::text, $6, $7, $8, $9)";

/// A create waiting to go out.
pub(super) struct Call {
    params: Vec<Owned>,
    answer: Answer,
}

impl Call {
    pub(super) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }

    pub(super) fn answered(&self, why_not: Option<String>) {
        *self.answer.borrow_mut() = Some(why_not);
    }
}

/// What goes out ahead of a batch's next statement.
#[derive(Default)]
pub(super) struct Ahead {
    text: RefCell<String>,
    calls: RefCell<Vec<Call>>,
    /// [`CREATE_USER`] prepared on the batch's connection; without it nothing is deferred.
    create: Option<Statement>,
    /// How many times something queued has gone out.
    sends: Cell<u64>,
    failed: Cell<bool>,
}

impl Ahead {
    pub(super) fn new(create: Option<Statement>) -> Ahead {
        Ahead {
            create,
            ..Ahead::default()
        }
    }

    /// Queues `sql` to go out before the next statement.
    pub(super) fn push(&self, sql: &str) {
        let mut text = self.text.borrow_mut();
        if !text.is_empty() {
            text.push_str("; ");
        }
        text.push_str(sql);
    }

    /// Queues a user's create; its parameters back when this connection has no prepared call
    /// for it.
    pub(super) fn defer(&self, params: Vec<Owned>) -> Result<Answer, Vec<Owned>> {
        if self.create.is_none() {
            return Err(params);
        }
        let answer = Answer::default();
        self.calls.borrow_mut().push(Call {
            params,
            answer: answer.clone(),
        });
        Ok(answer)
    }

    /// The prepared create, for sending the queued calls.
    pub(super) fn create(&self) -> Option<&Statement> {
        self.create.as_ref()
    }

    /// Whether creates wait to go out.
    pub(super) fn has_calls(&self) -> bool {
        !self.calls.borrow().is_empty()
    }

    /// How many creates wait: a mark for [`Ahead::unqueue_calls`].
    pub(super) fn calls(&self) -> usize {
        self.calls.borrow().len()
    }

    /// Drops the creates queued after `mark`, which have not gone out (their job refused).
    pub(super) fn unqueue_calls(&self, mark: usize) {
        self.calls.borrow_mut().truncate(mark);
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

    pub(super) fn set_failed(&self) {
        self.failed.set(true);
    }

    /// Forgets what is queued (the transaction is ending anyway).
    pub(super) fn clear(&self) {
        self.text.borrow_mut().clear();
        self.calls.borrow_mut().clear();
    }

    /// Everything queued, to go out now.
    pub(super) fn take(&self) -> (String, Vec<Call>) {
        let text = std::mem::take(&mut *self.text.borrow_mut());
        let calls = std::mem::take(&mut *self.calls.borrow_mut());
        if !text.is_empty() || !calls.is_empty() {
            self.sends.set(self.sends.get() + 1);
        }
        (text, calls)
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
        assert_eq!(ahead.take().0, "BEGIN");
    }

    #[test]
    fn what_went_out_counts_as_sent_even_when_more_is_queued_after() {
        let ahead = Ahead::default();
        ahead.push("SAVEPOINT job");
        let mark = ahead.mark();
        assert_eq!(ahead.take().0, "SAVEPOINT job");
        // A longer text queued since must not read as "nothing went out".
        ahead.push("ROLLBACK TO SAVEPOINT w; RELEASE SAVEPOINT w");
        assert!(ahead.sent_since(mark));
        ahead.unpush("SAVEPOINT job");
        assert_eq!(
            ahead.take().0,
            "ROLLBACK TO SAVEPOINT w; RELEASE SAVEPOINT w"
        );
        assert!(!ahead.failed());
    }

    #[test]
    fn nothing_is_deferred_without_a_prepared_call() {
        let ahead = Ahead::default();
        assert!(ahead.defer(vec![Box::new(1_i64)]).is_err());
        assert!(!ahead.has_calls());
    }
}
