//! The export state machine: every allowed move, in one place, and the one function that writes
//! an export's state.
//!
//! ```text
//! building --package--> ready --purge (at expiry)--> purged
//! ```
//!
//! Each move is a compare-and-set on the state it starts from (a purge also on the expiry having
//! passed), so of two workers building or purging one export only one wins; the loser's file is
//! not used and its purge does nothing.

use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use time::OffsetDateTime;

use super::{Column, Entity, ExportState, Model};
use crate::domain::enums::EventKind;
use crate::entity::request::Actor;
use crate::entity::request_event;

/// Something that moves an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportStep {
    /// The package is complete: its file, its key (wrapped under the master key), its counts
    /// and when its link expires.
    Package {
        /// The encrypted package's file name.
        file_name: String,
        /// The per-export key, wrapped.
        key_ciphertext: Vec<u8>,
        /// Rows in the package.
        row_count: i64,
        /// Rows per store and table.
        counts: serde_json::Value,
        /// Size of the file.
        file_bytes: i64,
        /// When the link stops working.
        expires_at: OffsetDateTime,
    },
    /// The link expired: the key is destroyed (the file is unreadable from then on).
    Purge,
}

/// The state machine refuses a move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an export cannot `{step}` from `{from:?}`")]
pub struct ExportTransitionError {
    /// The state the export was in.
    pub from: ExportState,
    /// The step's name.
    pub step: &'static str,
}

impl ExportStep {
    /// The step's stable name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Package { .. } => "package",
            Self::Purge => "purge",
        }
    }

    /// The transition table: where the step takes an export in `from`.
    pub fn next(&self, from: ExportState) -> Result<ExportState, ExportTransitionError> {
        match (self, from) {
            (Self::Package { .. }, ExportState::Building) => Ok(ExportState::Ready),
            (Self::Purge, ExportState::Ready) => Ok(ExportState::Purged),
            _ => Err(ExportTransitionError { from, step: self.name() }),
        }
    }

    /// The one state the step starts from.
    fn source(&self) -> ExportState {
        match self {
            Self::Package { .. } => ExportState::Building,
            Self::Purge => ExportState::Ready,
        }
    }
}

impl Model {
    /// Moves this export by `step` (compare-and-set on the state the step starts from; a purge
    /// also on the expiry having passed at `now`), with an `event` of the engine on the
    /// request's timeline, in the caller's transaction. Returns whether it moved.
    pub async fn apply(
        &self,
        db: &impl ConnectionTrait,
        step: ExportStep,
        now: OffsetDateTime,
        event: Option<(EventKind, serde_json::Value)>,
    ) -> Result<bool, DbErr> {
        let from = step.source();
        let to = step.next(from).expect("a step moves from its source");
        let columns: Vec<(Column, SimpleExpr)> = match &step {
            ExportStep::Package { file_name, key_ciphertext, row_count, counts, file_bytes, expires_at } => vec![
                (Column::FileName, Expr::value(Some(file_name.clone()))),
                (Column::KeyCiphertext, Expr::value(Some(key_ciphertext.clone()))),
                (Column::RowCount, Expr::value(*row_count)),
                (Column::Counts, Expr::value(Some(counts.clone()))),
                (Column::FileBytes, Expr::value(*file_bytes)),
                (Column::ReadyAt, Expr::value(Some(now))),
                (Column::ExpiresAt, Expr::value(Some(*expires_at))),
            ],
            ExportStep::Purge => vec![
                (Column::KeyCiphertext, Expr::value(Option::<Vec<u8>>::None)),
                (Column::PurgedAt, Expr::value(now)),
            ],
        };
        let mut update = Entity::update_many()
            .col_expr(Column::State, Expr::value(to))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::Id.eq(self.id))
            .filter(Column::State.eq(from));
        for (column, value) in columns {
            update = update.col_expr(column, value);
        }
        if step == ExportStep::Purge {
            update = update.filter(Column::ExpiresAt.lte(now));
        }
        if update.exec(db).await?.rows_affected != 1 {
            return Ok(false);
        }
        if let Some((kind, detail)) = event {
            request_event::ActiveModel::record(
                self.organization_id,
                self.request_id,
                Actor::SYSTEM,
                kind,
                None,
                None,
                Some(detail),
            )
            .insert_announced(db)
            .await?;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ExportState::*;

    #[test]
    fn the_table() {
        let package = ExportStep::Package {
            file_name: String::new(),
            key_ciphertext: Vec::new(),
            row_count: 0,
            counts: serde_json::json!({}),
            file_bytes: 0,
            expires_at: OffsetDateTime::UNIX_EPOCH,
        };
        let mut allowed = Vec::new();
        for step in [package, ExportStep::Purge] {
            for from in [Building, Ready, Purged] {
                if let Ok(to) = step.next(from) {
                    allowed.push((step.name(), from, to));
                }
            }
            assert_eq!(step.next(step.source()).map(|_| ()), Ok(()), "{} moves from its source", step.name());
        }
        assert_eq!(allowed, vec![("package", Building, Ready), ("purge", Ready, Purged)]);
    }
}
