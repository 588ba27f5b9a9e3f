//! The store task state machine: every allowed move, in one place, and the one function that
//! writes a task's status.
//!
//! ```text
//! pending --located--> located --claim_erase--> erasing --erased--> done
//!    |                    |                        |  \--fail--> failed --reset--> pending
//!    |                    +--packaged--> done       +--accepted/retry_at--> waiting
//!    +--wait--> waiting --claim_call--> erasing | calling --returned--> located
//!    +--locate_failed--> failed      (a service's callback: waiting --erased/returned/fail-->)
//! operators: complete (waiting --> done); waive (anything but done, waived, erasing --> waived)
//! ```
//!
//! Every move is a compare-and-set on the status the caller saw (and, for claims, on the task's
//! last change too, so two workers taking over one stale claim cannot both win), written in the
//! caller's transaction together with its timeline event.

use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Column, Entity, Model};
use crate::domain::enums::{EventKind, TaskStatus};
use crate::entity::request::Actor;
use crate::entity::request_event;

/// Something that moves a store task.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Locating found the person's data: rows per table (`{"orders": 3}`) and their sum.
    Located {
        /// Rows per table, counts only.
        counts: serde_json::Value,
        /// Their sum.
        rows: i64,
    },
    /// Locating failed in this store.
    LocateFailed {
        /// Stable error code.
        code: String,
        /// Lethe's own words, without personal data.
        message: String,
    },
    /// Lethe does not search this store: it waits for an operator or its service.
    Wait,
    /// Locate again: a failed task goes back to `pending`.
    Reset,
    /// A worker claims a located task to erase its store (or takes over a stale claim).
    ClaimErase,
    /// A worker claims a task to call its service; `claim` is `erasing` or `calling`.
    ClaimCall {
        /// The status held while the call runs.
        claim: TaskStatus,
        /// The call's number.
        attempt: i32,
    },
    /// The store's erasure is done (and verified), or its service reported it done.
    Erased,
    /// A service returned the person's rows for an access request.
    Returned {
        /// Rows per table.
        counts: serde_json::Value,
        /// Their sum.
        rows: i64,
    },
    /// A service accepted the work: the task waits for its callback.
    Accepted,
    /// A service call failed in a way that may pass: the task waits for the call at `at`.
    RetryAt {
        /// When the next call is due.
        at: OffsetDateTime,
        /// Stable error code of the failed call.
        code: String,
        /// What happened, in Lethe's words.
        message: String,
    },
    /// A worker gives a claimed erasure back after a failure that may pass (the store's
    /// transaction rolled back): the task is `located` again for the job's next attempt, with
    /// the failure as its last error.
    Release {
        /// Stable error code.
        code: String,
        /// Lethe's own words, without personal data.
        message: String,
    },
    /// The store failed (erasing, its verification, a service, building the package).
    Fail {
        /// Stable error code.
        code: String,
        /// Lethe's own words, without personal data.
        message: String,
    },
    /// The located data is in the access package.
    Packaged,
    /// An operator completed a waiting manual or HTTP task by hand.
    Complete,
    /// An admin waived the task.
    Waive,
}

/// The state machine refuses a move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a store task cannot `{step}` from `{}`", from.as_str())]
pub struct TaskTransitionError {
    /// The status the task was in.
    pub from: TaskStatus,
    /// The step's name.
    pub step: &'static str,
}

/// Why a task did not move.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The state machine refuses the move (a bug in the caller, never the person's input).
    #[error(transparent)]
    Refused(#[from] TaskTransitionError),
    /// Lethe's database failed.
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// The timeline event a move records.
#[derive(Debug, Clone)]
pub struct TaskEvent {
    /// Who moved the task.
    pub actor: Actor,
    /// What happened.
    pub kind: EventKind,
    /// The operator's reason or note, sealed for this task's request.
    pub reason: Option<request_event::SealedReason>,
    /// Ids, codes and counts: never personal data.
    pub detail: serde_json::Value,
}

impl TaskEvent {
    /// An event of the engine itself.
    pub fn system(kind: EventKind, detail: serde_json::Value) -> Self {
        Self { actor: Actor::SYSTEM, kind, reason: None, detail }
    }
}

impl Step {
    /// The step's stable name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Located { .. } => "located",
            Self::LocateFailed { .. } => "locate_failed",
            Self::Wait => "wait",
            Self::Reset => "reset",
            Self::ClaimErase => "claim_erase",
            Self::ClaimCall { .. } => "claim_call",
            Self::Erased => "erased",
            Self::Returned { .. } => "returned",
            Self::Accepted => "accepted",
            Self::RetryAt { .. } => "retry_at",
            Self::Release { .. } => "release",
            Self::Fail { .. } => "fail",
            Self::Packaged => "packaged",
            Self::Complete => "complete",
            Self::Waive => "waive",
        }
    }

    /// The transition table: where the step takes a task in `from`.
    pub fn next(&self, from: TaskStatus) -> Result<TaskStatus, TaskTransitionError> {
        use TaskStatus::*;
        let to = match (self, from) {
            (Self::Located { .. }, Pending) => Located,
            (Self::LocateFailed { .. }, Pending) => Failed,
            (Self::Wait, Pending) => Waiting,
            (Self::Reset, Failed) => Pending,
            (Self::ClaimErase, Located | Erasing) => Erasing,
            (Self::ClaimCall { claim: claim @ (Erasing | Calling), .. }, f) if f == Waiting || f == *claim => *claim,
            (Self::Erased, Erasing | Waiting) => Done,
            (Self::Returned { .. }, Calling | Waiting) => Located,
            (Self::Accepted | Self::RetryAt { .. }, Erasing | Calling) => Waiting,
            (Self::Release { .. }, Erasing) => Located,
            (Self::Fail { .. }, Located | Erasing | Calling | Waiting) => Failed,
            (Self::Packaged, Located) => Done,
            (Self::Complete, Waiting) => Done,
            (Self::Waive, Pending | Located | Waiting | Calling | Failed) => Waived,
            _ => return Err(TaskTransitionError { from, step: self.name() }),
        };
        Ok(to)
    }

    /// Whether the move also checks the task's last change: claims, so that of two workers
    /// taking over the same stale claim only one wins, and giving a claim back, so that a claim
    /// refreshed or taken over meanwhile is not given back.
    fn fenced(&self) -> bool {
        matches!(self, Self::ClaimErase | Self::ClaimCall { .. } | Self::Release { .. })
    }

    /// The columns the step writes besides the status and the time of the change.
    fn columns(&self, now: OffsetDateTime) -> Vec<(Column, SimpleExpr)> {
        let error = |code: Option<&String>, message: Option<&String>| {
            vec![(Column::ErrorCode, Expr::value(code.cloned())), (Column::ErrorMessage, Expr::value(message.cloned()))]
        };
        let found = |counts: Option<&serde_json::Value>, rows: i64| {
            vec![(Column::Counts, Expr::value(counts.cloned())), (Column::TotalRows, Expr::value(rows))]
        };
        let attempted = (Column::Attempts, Expr::col(Column::Attempts).add(1));
        match self {
            Self::Located { counts, rows } => [found(Some(counts), *rows), error(None, None), vec![attempted]].concat(),
            Self::LocateFailed { code, message } => {
                [found(None, 0), error(Some(code), Some(message)), vec![attempted]].concat()
            }
            Self::Wait => [found(None, 0), error(None, None)].concat(),
            Self::ClaimCall { attempt, .. } => vec![(Column::Attempts, Expr::value(*attempt))],
            Self::Erased => error(None, None),
            Self::Returned { counts, rows } => [found(Some(counts), *rows), error(None, None)].concat(),
            Self::Accepted => [vec![(Column::AcceptedAt, Expr::value(Some(now)))], error(None, None)].concat(),
            Self::RetryAt { at, code, message } => {
                [vec![(Column::NextAttemptAt, Expr::value(Some(*at)))], error(Some(code), Some(message))].concat()
            }
            Self::Fail { code, message } | Self::Release { code, message } => error(Some(code), Some(message)),
            Self::Reset | Self::ClaimErase | Self::Packaged | Self::Complete | Self::Waive => Vec::new(),
        }
    }
}

impl Model {
    /// Moves this task (as read) from `from` by `step`, with `event` on the request's timeline,
    /// in the caller's transaction (or connection). A compare-and-set on `from` (and, for
    /// claims, on the task's last change as read): returns `false`, writing nothing, when the
    /// task was no longer there (another worker or operator moved it first).
    pub async fn apply(
        &self,
        db: &impl ConnectionTrait,
        from: TaskStatus,
        step: Step,
        event: Option<TaskEvent>,
    ) -> Result<bool, TaskError> {
        let to = step.next(from)?;
        let now = OffsetDateTime::now_utc();
        let mut update = Entity::update_many()
            .col_expr(Column::Status, Expr::value(to))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::Id.eq(self.id))
            .filter(Column::Status.eq(from));
        for (column, value) in step.columns(now) {
            update = update.col_expr(column, value);
        }
        if step.fenced() {
            update = update.filter(Column::UpdatedAt.eq(self.updated_at));
        }
        if update.exec(db).await?.rows_affected != 1 {
            return Ok(false);
        }
        if let Some(event) = event {
            request_event::ActiveModel::record(
                self.organization_id,
                self.request_id,
                event.actor,
                event.kind,
                None,
                event.reason,
                Some(event.detail),
            )
            .insert_announced(db)
            .await?;
        }
        Ok(true)
    }

    /// Moves every task of one request in `from` (only those of `stores`, when given) by `step`,
    /// which must be one without columns of its own (`reset`, `packaged`); returns how many moved.
    pub async fn apply_all(
        db: &impl ConnectionTrait,
        organization: Uuid,
        request: Uuid,
        stores: Option<&[String]>,
        from: TaskStatus,
        step: Step,
    ) -> Result<u64, TaskError> {
        let to = step.next(from)?;
        let mut update = Entity::update_many()
            .col_expr(Column::Status, Expr::value(to))
            .col_expr(Column::UpdatedAt, Expr::value(OffsetDateTime::now_utc()))
            .filter(Column::OrganizationId.eq(organization))
            .filter(Column::RequestId.eq(request))
            .filter(Column::Status.eq(from));
        if let Some(stores) = stores {
            update = update.filter(Column::StoreName.is_in(stores.iter().cloned()));
        }
        Ok(update.exec(db).await?.rows_affected)
    }

    /// Refreshes a claim held in `erasing` (its last change is the claim's heartbeat); returns
    /// whether the task is still claimed.
    pub async fn refresh_claim(db: &impl ConnectionTrait, task: Uuid) -> Result<bool, DbErr> {
        let refreshed = Entity::update_many()
            .col_expr(Column::UpdatedAt, Expr::value(OffsetDateTime::now_utc()))
            .filter(Column::Id.eq(task))
            .filter(Column::Status.eq(TaskStatus::Erasing))
            .exec(db)
            .await?;
        Ok(refreshed.rows_affected == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TaskStatus::*;

    const ALL: [TaskStatus; 8] = [Pending, Located, Waiting, Erasing, Calling, Failed, Done, Waived];

    fn steps() -> Vec<Step> {
        let text = String::new;
        vec![
            Step::Located { counts: serde_json::json!({}), rows: 0 },
            Step::LocateFailed { code: text(), message: text() },
            Step::Wait,
            Step::Reset,
            Step::ClaimErase,
            Step::ClaimCall { claim: Erasing, attempt: 1 },
            Step::ClaimCall { claim: Calling, attempt: 1 },
            Step::Erased,
            Step::Returned { counts: serde_json::json!({}), rows: 0 },
            Step::Accepted,
            Step::RetryAt { at: OffsetDateTime::UNIX_EPOCH, code: text(), message: text() },
            Step::Release { code: text(), message: text() },
            Step::Fail { code: text(), message: text() },
            Step::Packaged,
            Step::Complete,
            Step::Waive,
        ]
    }

    /// The whole table, written out: (step, from, to) for every allowed move.
    #[test]
    fn the_table() {
        let mut allowed: Vec<(&str, TaskStatus, TaskStatus)> = Vec::new();
        for step in steps() {
            for from in ALL {
                if let Ok(to) = step.next(from) {
                    allowed.push((step.name(), from, to));
                }
            }
        }
        let expected = vec![
            ("located", Pending, Located),
            ("locate_failed", Pending, Failed),
            ("wait", Pending, Waiting),
            ("reset", Failed, Pending),
            ("claim_erase", Located, Erasing),
            ("claim_erase", Erasing, Erasing),
            ("claim_call", Waiting, Erasing),
            ("claim_call", Erasing, Erasing),
            ("claim_call", Waiting, Calling),
            ("claim_call", Calling, Calling),
            ("erased", Waiting, Done),
            ("erased", Erasing, Done),
            ("returned", Waiting, Located),
            ("returned", Calling, Located),
            ("accepted", Erasing, Waiting),
            ("accepted", Calling, Waiting),
            ("retry_at", Erasing, Waiting),
            ("retry_at", Calling, Waiting),
            ("release", Erasing, Located),
            ("fail", Located, Failed),
            ("fail", Waiting, Failed),
            ("fail", Erasing, Failed),
            ("fail", Calling, Failed),
            ("packaged", Located, Done),
            ("complete", Waiting, Done),
            ("waive", Pending, Waived),
            ("waive", Located, Waived),
            ("waive", Waiting, Waived),
            ("waive", Calling, Waived),
            ("waive", Failed, Waived),
        ];
        assert_eq!(allowed, expected);
    }

    #[test]
    fn finished_tasks_never_move() {
        for step in steps() {
            for from in [Done, Waived] {
                assert!(step.next(from).is_err(), "{} from {from:?}", step.name());
            }
        }
    }

    #[test]
    fn a_claim_is_erasing_or_calling() {
        for claim in [Pending, Located, Waiting, Failed, Done, Waived] {
            assert!(Step::ClaimCall { claim, attempt: 1 }.next(Waiting).is_err(), "{claim:?}");
        }
        assert!(Step::ClaimCall { claim: Erasing, attempt: 1 }.next(Calling).is_err(), "not another claim's status");
    }

    #[test]
    fn refusals_name_the_step_and_status() {
        let e = Step::Packaged.next(Waiting).unwrap_err();
        assert_eq!(e.to_string(), "a store task cannot `packaged` from `waiting`");
    }
}
