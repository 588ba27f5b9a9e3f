//! Changing credentials after sign-in, shared by the JSON API and the console: an operator's
//! own password, their own second factor (removed to enrol a new one), and an admin's reset of
//! another operator's second factor.
//!
//! The current password or code an operator types to confirm a change is checked like a
//! sign-in: a wrong one counts towards the lockout of [`super::sign_in`] (five failures lock
//! the account for 15 minutes) and a locked or disabled account is refused whatever is typed.
//! Every outcome is an account event in the audit log, written here so both surfaces record it,
//! and every change bumps the operator's token version, which ends their other sessions and
//! tokens.

use std::net::IpAddr;

use lethe_entities::Keyring;
use lethe_entities::entity::operator_event::{self, OperatorEventKind};
use lethe_entities::entity::{begin_write, operator, operator_recovery_code};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{password, sign_in, totp};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Records an account event of `op`'s organization, done by `actor`, its reason encrypted.
async fn record(
    db: &impl ConnectionTrait,
    keyring: &Keyring,
    op: &operator::Model,
    actor: Uuid,
    kind: OperatorEventKind,
    ip: Option<IpAddr>,
    reason: &str,
) -> ApiResult<()> {
    operator_event::ActiveModel::record(keyring, op.organization_id, actor, kind, ip, Some(reason)).insert(db).await?;
    Ok(())
}

/// Counts a wrong password or code of `op` towards the lockout and records it, with `what` was
/// wrong (and the lockout it caused).
async fn wrong(state: &AppState, op: &operator::Model, ip: Option<IpAddr>, what: &str) -> ApiResult<()> {
    let (db, keyring) = (&state.db, &state.keyring);
    let locked = sign_in::failed(db, op).await?;
    record(db, keyring, op, op.id, OperatorEventKind::SignInFailed, ip, what).await?;
    if locked {
        record(db, keyring, op, op.id, OperatorEventKind::Locked, ip, "too many failed sign-ins").await?;
    }
    Ok(())
}

/// Whether `password` is `op`'s current password and the account may be used (not locked,
/// not disabled). A wrong one counts towards the lockout; `during` names the change it
/// confirms (`password change`), for the audit log. The check counts against the address's
/// budget of password and code checks ([`sign_in::admit`]): call it first in a request that
/// also confirms a code.
pub async fn confirm_password(
    state: &AppState,
    op: &operator::Model,
    password: String,
    ip: Option<IpAddr>,
    during: &str,
) -> ApiResult<bool> {
    sign_in::admit(state, ip)?;
    if !state.hashing.verify(password, Some(op.password_hash.clone())).await? {
        wrong(state, op, ip, &format!("wrong current password ({during})")).await?;
        return Ok(false);
    }
    match sign_in::usable(op.clone()) {
        Ok(_) => Ok(true),
        Err(refused) => {
            let why = format!("{} ({during})", refused.refusal.as_str());
            record(&state.db, &state.keyring, op, op.id, OperatorEventKind::SignInFailed, ip, &why).await?;
            Ok(false)
        }
    }
}

/// Whether `code` is a current TOTP code of `op` (each accepted once) or one of their unused
/// recovery codes (used up now). A wrong one counts towards the lockout. Only ever asked after
/// [`confirm_password`] in the same request, which counted the request against the address's
/// budget.
pub async fn confirm_code(
    state: &AppState,
    op: &operator::Model,
    code: &str,
    ip: Option<IpAddr>,
    during: &str,
) -> ApiResult<bool> {
    let (db, keyring) = (&state.db, &state.keyring);
    if totp::verify_code(db, keyring, op, code).await? {
        return Ok(true);
    }
    if totp::use_recovery_code(db, keyring, op, code).await? {
        record(db, keyring, op, op.id, OperatorEventKind::RecoveryCodeUsed, ip, during).await?;
        return Ok(true);
    }
    wrong(state, op, ip, &format!("wrong code ({during})")).await?;
    Ok(false)
}

/// Checks a new password against the rules of account creation, naming `field`.
pub fn validate_new_password(field: &str, new: &str) -> ApiResult<()> {
    password::validate(new).map_err(|_| {
        ApiError::invalid_field(
            field,
            format!("must be {} to {} characters", password::MIN_LENGTH, password::MAX_LENGTH),
        )
    })
}

/// Sets `op`'s new password (already validated and confirmed with the current one), clears
/// the failure count and bumps the token version, with the account event; returns the
/// operator as now stored.
pub async fn change_password(
    state: &AppState,
    op: &operator::Model,
    new: String,
    ip: Option<IpAddr>,
) -> ApiResult<operator::Model> {
    let hash = state.hashing.hash(new).await?;
    let txn = begin_write(&state.db).await?;
    operator::Entity::update_many()
        .col_expr(operator::Column::PasswordHash, Expr::value(hash))
        .col_expr(operator::Column::TokenVersion, Expr::col(operator::Column::TokenVersion).add(1))
        .col_expr(operator::Column::FailedLogins, Expr::value(0))
        .col_expr(operator::Column::LockedUntil, Expr::value(Option::<OffsetDateTime>::None))
        .col_expr(operator::Column::UpdatedAt, Expr::value(OffsetDateTime::now_utc()))
        .filter(operator::Column::Id.eq(op.id))
        .exec(&txn)
        .await?;
    let why = "older sessions and tokens ended";
    record(&txn, &state.keyring, op, op.id, OperatorEventKind::PasswordChanged, ip, why).await?;
    let updated = reload(&txn, op).await?;
    txn.commit().await?;
    tracing::info!(operator_id = %op.id, "operator changed their password; older sessions and tokens revoked");
    Ok(updated)
}

/// Removes `op`'s second factor (the secret, a pending one, the recovery codes) and bumps
/// their token version, with an account event of `actor` (`op` themselves, or an admin)
/// giving `reason`; returns `op` as now stored. They enrol again in the console, at their next
/// sign-in when the organization requires a second factor.
pub async fn remove_second_factor(
    state: &AppState,
    op: &operator::Model,
    actor: Uuid,
    ip: Option<IpAddr>,
    reason: String,
) -> ApiResult<operator::Model> {
    let txn = begin_write(&state.db).await?;
    operator::Entity::update_many()
        .col_expr(operator::Column::MfaSecret, Expr::value(Option::<Vec<u8>>::None))
        .col_expr(operator::Column::MfaPendingSecret, Expr::value(Option::<Vec<u8>>::None))
        .col_expr(operator::Column::MfaEnabledAt, Expr::value(Option::<OffsetDateTime>::None))
        .col_expr(operator::Column::TokenVersion, Expr::col(operator::Column::TokenVersion).add(1))
        .col_expr(operator::Column::UpdatedAt, Expr::value(OffsetDateTime::now_utc()))
        .filter(operator::Column::Id.eq(op.id))
        .exec(&txn)
        .await?;
    operator_recovery_code::Entity::delete_many()
        .filter(operator_recovery_code::Column::OperatorId.eq(op.id))
        .exec(&txn)
        .await?;
    record(&txn, &state.keyring, op, actor, OperatorEventKind::MfaReset, ip, &reason).await?;
    let updated = reload(&txn, op).await?;
    txn.commit().await?;
    tracing::info!(operator_id = %op.id, by = %actor, "second factor removed; sessions and tokens revoked");
    Ok(updated)
}

async fn reload(db: &impl ConnectionTrait, op: &operator::Model) -> ApiResult<operator::Model> {
    operator::Model::find_in_org(db, op.organization_id, op.id)
        .await?
        .ok_or_else(|| ApiError::not_found("operator_not_found", "no operator with this id"))
}
