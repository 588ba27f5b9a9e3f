//! Applying state transitions and extensions to stored requests, with their timeline events.
//!
//! Every change is a compare-and-set on the current state (`UPDATE ... WHERE state = <seen>`),
//! so two operators (or an operator and a job) acting at once cannot both win, and the event is
//! inserted in the same transaction as the change.

use sea_orm::ActiveValue::Set;
use sea_orm::DatabaseTransaction;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;
use time::OffsetDateTime;

use super::{Column, Entity, Model};
use crate::domain::crypto::Keyring;
use crate::domain::deadline::{DeadlineRules, ExtensionError};
use crate::domain::enums::{ActorKind, EventKind, RequestState};
use crate::domain::lifecycle::{Action, TransitionError, next_state};
use crate::entity::{organization, request_event, subject_identity};
use crate::ledger::{self, EntryKind, LedgerError, NewEntry};
use crate::webhook::{self, Announcement};

/// Who acts on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// The kind of actor.
    pub kind: ActorKind,
    /// The operator's or API key's id, when there is one.
    pub id: Option<Uuid>,
    /// The operator's or API key's client address, recorded for the audit log. Never set for
    /// the data subject, whose address is not kept.
    pub ip: Option<std::net::IpAddr>,
}

impl Actor {
    /// The engine itself.
    pub const SYSTEM: Self = Self { kind: ActorKind::System, id: None, ip: None };
    /// The data subject.
    pub const SUBJECT: Self = Self { kind: ActorKind::Subject, id: None, ip: None };
}

/// Why a lifecycle operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// No such request in this organization.
    #[error("request not found")]
    NotFound,
    /// The state machine refuses the transition.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The deadline cannot be extended.
    #[error(transparent)]
    Extension(#[from] ExtensionError),
    /// Someone else changed the request at the same moment; reload and try again.
    #[error("the request was changed concurrently")]
    Concurrent,
    /// The ledger refused the closing entry.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A database failure.
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl Model {
    /// Applies `action` to the request, records the event with `reason`, and returns the updated
    /// request. Runs in its own transaction. A transition into a final state also appends a
    /// `request_closed` entry to the deletion ledger (subject references derived with `keyring`).
    pub async fn apply(
        db: &DatabaseConnection,
        keyring: &Keyring,
        organization: Uuid,
        id: Uuid,
        action: Action,
        actor: Actor,
        reason: Option<String>,
    ) -> Result<Model, LifecycleError> {
        let txn = crate::entity::begin_write(db).await?;
        let updated = Model::apply_in(&txn, keyring, organization, id, action, actor, reason).await?;
        txn.commit().await?;
        Ok(updated)
    }

    /// As [`Model::apply`], inside the caller's transaction (which the caller commits), so the
    /// transition can be atomic with the caller's own writes.
    pub async fn apply_in(
        txn: &DatabaseTransaction,
        keyring: &Keyring,
        organization: Uuid,
        id: Uuid,
        action: Action,
        actor: Actor,
        reason: Option<String>,
    ) -> Result<Model, LifecycleError> {
        let current = Model::find_in_org(txn, organization, id).await?.ok_or(LifecycleError::NotFound)?;
        let action = match action {
            Action::Resume { .. } => {
                Action::Resume { held_from: current.held_from.unwrap_or(RequestState::PendingApproval) }
            }
            other => other,
        };
        let to = next_state(current.state, action)?;
        let now = OffsetDateTime::now_utc();

        let mut update = Entity::update_many()
            .col_expr(Column::State, Expr::value(to))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .col_expr(
                Column::HeldFrom,
                Expr::value(if to == RequestState::OnHold { Some(current.state) } else { None }),
            );
        if to.is_terminal() {
            update = update.col_expr(Column::ClosedAt, Expr::value(Some(now)));
        }
        match action {
            Action::Verify { .. } => update = update.col_expr(Column::VerifiedAt, Expr::value(Some(now))),
            Action::Deny => {
                let context = Model::denial_reason_context(organization, id);
                let sealed = reason.as_deref().map(|r| keyring.seal_text(r, &context));
                update = update.col_expr(Column::DenialReasonCiphertext, Expr::value(sealed));
            }
            _ => {}
        }
        let update = update
            .filter(Column::OrganizationId.eq(organization))
            .filter(Column::Id.eq(id))
            .filter(Column::State.eq(current.state));
        let returned = compare_and_set(txn, update).await?;
        request_event::ActiveModel::record(
            organization,
            id,
            actor,
            action.event_kind(),
            Some((current.state, to)),
            request_event::SealedReason::seal_some(keyring, organization, id, reason.as_deref()),
            None,
        )
        .insert_announced(txn)
        .await?;
        if to.is_terminal() {
            // Only a verified request is attributed to the person: an unverified one may carry
            // someone else's address.
            let subject_refs = match current.verified_at {
                Some(_) => subject_identity::Model::of_request(txn, organization, id)
                    .await?
                    .iter()
                    .map(|identity| keyring.ledger_subject_ref(organization, &identity.blind_index))
                    .collect(),
                None => Vec::new(),
            };
            let closed = NewEntry {
                request_id: Some(id),
                action: Some(to.as_str().to_owned()),
                subject_refs,
                ..NewEntry::new(EntryKind::RequestClosed)
            };
            ledger::append(txn, organization, &[closed]).await?;
        }
        match returned {
            Some(updated) => Ok(updated),
            None => Model::find_in_org(txn, organization, id).await?.ok_or(LifecycleError::NotFound),
        }
    }

    /// Extends the deadline once, as the request's regime allows, and records why (encrypted
    /// with `keyring`).
    pub async fn extend(
        db: &DatabaseConnection,
        keyring: &Keyring,
        org: &organization::Model,
        id: Uuid,
        actor: Actor,
        reason: String,
    ) -> Result<Model, LifecycleError> {
        let txn = crate::entity::begin_write(db).await?;
        let current = Model::find_in_org(&txn, org.id, id).await?.ok_or(LifecycleError::NotFound)?;
        if current.state.is_terminal() {
            return Err(TransitionError { from: current.state, action: "extend" }.into());
        }
        if OffsetDateTime::now_utc() > current.original_due_at {
            return Err(ExtensionError::TooLate.into());
        }
        let rules = DeadlineRules::for_regime(current.regime, org.deadline_defaults());
        let new_due =
            rules.extended_due(current.received_at, current.original_due_at, current.extended_at.is_some())?;
        let now = OffsetDateTime::now_utc();
        let result = Entity::update_many()
            .col_expr(Column::DueAt, Expr::value(new_due))
            .col_expr(Column::ExtendedAt, Expr::value(Some(now)))
            .col_expr(
                Column::ExtensionReasonCiphertext,
                Expr::value(Some(keyring.seal_text(&reason, &Model::extension_reason_context(org.id, id)))),
            )
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::OrganizationId.eq(org.id))
            .filter(Column::Id.eq(id))
            .filter(Column::ExtendedAt.is_null())
            .exec(&txn)
            .await?;
        if result.rows_affected != 1 {
            return Err(ExtensionError::AlreadyExtended.into());
        }
        let detail = serde_json::json!({
            "previous_due_at": current.due_at.unix_timestamp(),
            "new_due_at": new_due.unix_timestamp(),
        });
        let reason = request_event::SealedReason::seal(keyring, org.id, id, &reason);
        request_event::ActiveModel::record(org.id, id, actor, EventKind::Extended, None, Some(reason), Some(detail))
            .insert_announced(&txn)
            .await?;
        let updated = Model::find_in_org(&txn, org.id, id).await?.ok_or(LifecycleError::NotFound)?;
        txn.commit().await?;
        Ok(updated)
    }
}

impl request_event::ActiveModel {
    /// A new timeline event, ready to insert; with a reason, the event takes the id the reason
    /// was sealed for.
    pub fn record(
        organization: Uuid,
        request: Uuid,
        actor: Actor,
        kind: EventKind,
        states: Option<(RequestState, RequestState)>,
        reason: Option<request_event::SealedReason>,
        detail: Option<serde_json::Value>,
    ) -> Self {
        let (id, reason) = match reason {
            Some(sealed) => (sealed.event, Some(sealed.ciphertext)),
            None => (Uuid::now_v7(), None),
        };
        Self {
            id: Set(id),
            organization_id: Set(organization),
            request_id: Set(request),
            at: Set(OffsetDateTime::now_utc()),
            actor_kind: Set(actor.kind),
            actor_id: Set(actor.id),
            kind: Set(kind),
            from_state: Set(states.map(|s| s.0)),
            to_state: Set(states.map(|s| s.1)),
            reason_ciphertext: Set(reason),
            detail: Set(detail),
            ip_address: Set(actor.ip.map(|ip| ip.to_string())),
        }
    }

    /// Inserts the event and, when integrators are told of its kind
    /// ([`Announcement::of_request_event`]), its webhook announcement, on the same connection
    /// (so in the caller's transaction, when it is one).
    pub async fn insert_announced(self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        let announcement = match (&self.organization_id, &self.request_id, &self.kind) {
            (Set(organization), Set(request), Set(kind)) => {
                let states = match (&self.from_state, &self.to_state) {
                    (Set(Some(from)), Set(Some(to))) => Some((*from, *to)),
                    _ => None,
                };
                let detail = match &self.detail {
                    Set(detail) => detail.clone(),
                    _ => None,
                };
                Announcement::of_request_event(*organization, *request, *kind, states, detail.as_ref())
            }
            _ => None,
        };
        self.insert(db).await?;
        if let Some(announcement) = announcement {
            webhook::announce(db, announcement).await?;
        }
        Ok(())
    }
}

/// Runs a compare-and-set `update` of one request: [`LifecycleError::Concurrent`] when the row
/// was no longer as seen. The row as changed comes back with the change where the database can
/// say it (`RETURNING`: one round trip instead of an update and a read); `None` elsewhere.
async fn compare_and_set(
    txn: &DatabaseTransaction,
    update: sea_orm::UpdateMany<Entity>,
) -> Result<Option<Model>, LifecycleError> {
    if txn.support_returning() {
        let mut rows = update.exec_with_returning(txn).await?;
        if rows.len() != 1 {
            return Err(LifecycleError::Concurrent);
        }
        return Ok(rows.pop());
    }
    if update.exec(txn).await?.rows_affected != 1 {
        return Err(LifecycleError::Concurrent);
    }
    Ok(None)
}
