//! The retention run state machine: every allowed move, in one place, and the one function that
//! writes a run's state.
//!
//! ```text
//! queued --start--> running --finish--> done
//!   |                  |  \--fail--> failed     (queued or running: the policy's store is gone,
//!   |                  |  \--cancel--> canceled  the policy was deleted, a hold covers it)
//!   |                  |  \--hold--> held
//!   +------------------+--stop--> stopped --resume--> queued (the same run, from its cursor)
//! ```
//!
//! Every move is a compare-and-set on the states the step may start from (a resume also on the
//! number of resumptions seen, so two operators resuming at once queue one job).

use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use time::OffsetDateTime;

use super::{Column, Entity, Model, RunState};
use crate::webhook::{self, Announcement, EventType};

/// Something that moves a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStep {
    /// Its job starts (or resumes) working: the cutoff is fixed the first time and kept after.
    Start {
        /// Rows dated before this are past the age.
        cutoff: OffsetDateTime,
        /// When its job first started.
        started_at: OffsetDateTime,
    },
    /// Every row past the age was handled.
    Finish,
    /// It failed for good.
    Fail {
        /// Stable error code.
        code: String,
        /// Lethe's own words, without values.
        message: String,
    },
    /// Its policy was deleted.
    Cancel,
    /// A legal hold covers its table, store or organization.
    Hold {
        /// Which hold.
        message: String,
    },
    /// An operator stopped it between two batches.
    Stop,
    /// An operator resumed it: it is queued again, as its next resumption.
    Resume,
}

/// The state machine refuses a move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a retention run cannot `{step}` from `{from:?}`")]
pub struct RunTransitionError {
    /// The state the run was in.
    pub from: RunState,
    /// The step's name.
    pub step: &'static str,
}

const ALL: [RunState; 7] = [
    RunState::Queued,
    RunState::Running,
    RunState::Done,
    RunState::Failed,
    RunState::Canceled,
    RunState::Held,
    RunState::Stopped,
];

impl RunStep {
    /// The step's stable name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Start { .. } => "start",
            Self::Finish => "finish",
            Self::Fail { .. } => "fail",
            Self::Cancel => "cancel",
            Self::Hold { .. } => "hold",
            Self::Stop => "stop",
            Self::Resume => "resume",
        }
    }

    /// The transition table: where the step takes a run in `from`.
    pub fn next(&self, from: RunState) -> Result<RunState, RunTransitionError> {
        use RunState::*;
        let to = match (self, from) {
            (Self::Start { .. }, Queued | Running) => Running,
            (Self::Finish, Queued | Running) => Done,
            (Self::Fail { .. }, Queued | Running) => Failed,
            (Self::Cancel, Queued | Running) => Canceled,
            (Self::Hold { .. }, Queued | Running) => Held,
            (Self::Stop, Queued | Running) => Stopped,
            (Self::Resume, Stopped) => Queued,
            _ => return Err(RunTransitionError { from, step: self.name() }),
        };
        Ok(to)
    }

    /// The states the step may start from, read off the table.
    pub fn sources(&self) -> Vec<RunState> {
        ALL.into_iter().filter(|from| self.next(*from).is_ok()).collect()
    }

    /// The step's target state (the same from every source).
    fn target(&self) -> RunState {
        self.next(self.sources()[0]).expect("every step has a source")
    }

    /// The columns the step writes besides the state and the time of the change.
    fn columns(&self, current: &Model, now: OffsetDateTime) -> Vec<(Column, SimpleExpr)> {
        let ended = |code: Option<&str>, message: Option<&String>| {
            vec![
                (Column::ErrorCode, Expr::value(code.map(str::to_owned))),
                (Column::ErrorMessage, Expr::value(message.cloned())),
                (Column::FinishedAt, Expr::value(Some(now))),
            ]
        };
        match self {
            Self::Start { cutoff, started_at } => {
                vec![(Column::Cutoff, Expr::value(Some(*cutoff))), (Column::StartedAt, Expr::value(Some(*started_at)))]
            }
            Self::Finish | Self::Cancel => ended(None, None),
            Self::Fail { code, message } => ended(Some(code), Some(message)),
            Self::Hold { message } => ended(Some("legal_hold"), Some(message)),
            Self::Stop => Vec::new(),
            Self::Resume => vec![(Column::Resumes, Expr::value(current.resumes + 1))],
        }
    }
}

impl Model {
    /// Moves this run by `step`: a compare-and-set on the states the step may start from (and,
    /// for a resume, on the resumptions seen). Returns the run as it now is, or `None`, writing
    /// nothing, when it was in no such state (stopped, over, or resumed by someone else).
    pub async fn apply(&self, db: &impl ConnectionTrait, step: RunStep) -> Result<Option<Model>, DbErr> {
        let now = OffsetDateTime::now_utc();
        let to = step.target();
        let mut update = Entity::update_many()
            .col_expr(Column::State, Expr::value(to))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::Id.eq(self.id))
            .filter(Column::State.is_in(step.sources()));
        for (column, value) in step.columns(self, now) {
            update = update.col_expr(column, value);
        }
        if step == RunStep::Resume {
            update = update.filter(Column::Resumes.eq(self.resumes));
        }
        if update.exec(db).await?.rows_affected != 1 {
            return Ok(None);
        }
        let event_type = match to {
            RunState::Done | RunState::Held => Some(EventType::RetentionRunFinished),
            RunState::Failed => Some(EventType::RetentionRunFailed),
            _ => None,
        };
        if let Some(event_type) = event_type {
            let code = match &step {
                RunStep::Fail { code, .. } => Some(code.as_str()),
                RunStep::Hold { .. } => Some("legal_hold"),
                _ => None,
            };
            let data = serde_json::json!({
                "run_id": self.id,
                "policy_id": self.policy_id,
                "state": to,
                "trigger": self.trigger,
                "rows": self.rows,
                "error_code": code,
            });
            webhook::announce(db, Announcement::new(self.organization_id, event_type, None, data)).await?;
        }
        let mut next = Model { state: to, updated_at: now, ..self.clone() };
        match step {
            RunStep::Start { cutoff, started_at } => {
                next.cutoff = Some(cutoff);
                next.started_at = Some(started_at);
            }
            RunStep::Resume => next.resumes += 1,
            RunStep::Stop => {}
            RunStep::Finish | RunStep::Cancel => {
                (next.error_code, next.error_message, next.finished_at) = (None, None, Some(now));
            }
            RunStep::Fail { code, message } => {
                (next.error_code, next.error_message, next.finished_at) = (Some(code), Some(message), Some(now));
            }
            RunStep::Hold { message } => {
                (next.error_code, next.error_message, next.finished_at) =
                    (Some("legal_hold".into()), Some(message), Some(now));
            }
        }
        Ok(Some(next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RunState::*;

    fn steps() -> Vec<RunStep> {
        let at = OffsetDateTime::UNIX_EPOCH;
        vec![
            RunStep::Start { cutoff: at, started_at: at },
            RunStep::Finish,
            RunStep::Fail { code: String::new(), message: String::new() },
            RunStep::Cancel,
            RunStep::Hold { message: String::new() },
            RunStep::Stop,
            RunStep::Resume,
        ]
    }

    /// The whole table, written out: (step, from, to) for every allowed move.
    #[test]
    fn the_table() {
        let mut allowed = Vec::new();
        for step in steps() {
            for from in ALL {
                if let Ok(to) = step.next(from) {
                    allowed.push((step.name(), from, to));
                }
            }
        }
        let expected = vec![
            ("start", Queued, Running),
            ("start", Running, Running),
            ("finish", Queued, Done),
            ("finish", Running, Done),
            ("fail", Queued, Failed),
            ("fail", Running, Failed),
            ("cancel", Queued, Canceled),
            ("cancel", Running, Canceled),
            ("hold", Queued, Held),
            ("hold", Running, Held),
            ("stop", Queued, Stopped),
            ("stop", Running, Stopped),
            ("resume", Stopped, Queued),
        ];
        assert_eq!(allowed, expected);
    }

    #[test]
    fn final_states_never_move_and_a_stopped_run_only_resumes() {
        for step in steps() {
            for from in RunState::FINAL {
                assert!(step.next(from).is_err(), "{} from {from:?}", step.name());
            }
            assert_eq!(step.next(Stopped).is_ok(), step == RunStep::Resume, "{}", step.name());
        }
    }

    #[test]
    fn every_step_has_one_target() {
        for step in steps() {
            let targets: Vec<RunState> = step.sources().iter().map(|f| step.next(*f).unwrap()).collect();
            assert!(!targets.is_empty() && targets.iter().all(|t| *t == targets[0]), "{}", step.name());
        }
    }
}
