//! Operator accounts (admin only): create, list, change the role, disable, and reset another
//! operator's second factor.

use axum::http::StatusCode;
use lethe_entities::domain::enums::Role;
use lethe_entities::entity::operator;
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::requests::reason_text;
use crate::accounts::create_operator;
use crate::auth::{Permission, Principal, credentials};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// An operator account.
#[derive(Debug, Serialize, ToSchema)]
pub struct OperatorView {
    /// Id.
    pub id: Uuid,
    /// Sign-in address.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// Whether a second factor (TOTP) is enrolled.
    pub mfa_enrolled: bool,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<&operator::Model> for OperatorView {
    fn from(o: &operator::Model) -> Self {
        Self {
            id: o.id,
            email: o.email.clone(),
            role: o.role,
            disabled: o.disabled,
            mfa_enrolled: o.has_mfa(),
            created_at: o.created_at,
        }
    }
}

/// A new operator.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOperator {
    /// Sign-in address.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Initial password (12 to 256 characters); omit it to get a generated one-time password.
    pub password: Option<String>,
}
crate::opaque_debug!(NewOperator);

/// The created operator and, if generated, its one-time password (shown only now).
#[derive(Serialize, ToSchema)]
pub struct CreatedOperatorView {
    /// The operator.
    pub operator: OperatorView,
    /// The generated password, when none was given.
    pub initial_password: Option<String>,
}
crate::opaque_debug!(CreatedOperatorView);

/// Changes to an operator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorChange {
    /// New role.
    pub role: Option<Role>,
    /// Disable (true) or re-enable (false) the account.
    pub disabled: Option<bool>,
}

/// Why an operator's second factor is reset.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaResetRequest {
    /// The reason, for the audit log (1 to 2000 characters).
    #[schema(example = "Lost their phone; identity checked in person")]
    pub reason: String,
}

/// The organization's operators, oldest first.
pub async fn list(state: &AppState, principal: &Principal) -> ApiResult<Vec<OperatorView>> {
    principal.require(Permission::ManageOperators)?;
    let operators = operator::Entity::find()
        .filter(operator::Column::OrganizationId.eq(principal.organization_id))
        .order_by_asc(operator::Column::CreatedAt)
        .all(&state.db)
        .await?;
    Ok(operators.iter().map(OperatorView::from).collect())
}

/// Creates an operator; without a password, with a generated one-time password (in the
/// answer, shown only now).
pub async fn create(state: &AppState, principal: &Principal, body: NewOperator) -> ApiResult<CreatedOperatorView> {
    principal.require(Permission::ManageOperators)?;
    let created =
        create_operator(&state.db, &state.hashing, principal.organization_id, &body.email, body.role, body.password)
            .await?;
    tracing::info!(operator_id = %created.operator.id, by = ?principal.actor().id, "operator created");
    Ok(CreatedOperatorView {
        operator: OperatorView::from(&created.operator),
        initial_password: created.generated_password,
    })
}

fn operator_not_found() -> ApiError {
    ApiError::not_found("operator_not_found", "no operator with this id")
}

/// Changes operator `id`'s role or disables (or re-enables) the account; either change revokes
/// the operator's existing access tokens. The organization keeps at least one active admin
/// (`409 last_admin`).
pub async fn update(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    body: OperatorChange,
) -> ApiResult<OperatorView> {
    principal.require(Permission::ManageOperators)?;
    let op =
        operator::Model::find_in_org(&state.db, principal.organization_id, id).await?.ok_or_else(operator_not_found)?;
    let role = body.role.unwrap_or(op.role);
    let disabled = body.disabled.unwrap_or(op.disabled);
    let loses_admin = op.role == Role::Admin && !op.disabled && (role != Role::Admin || disabled);
    if loses_admin {
        let admins = operator::Entity::find()
            .filter(operator::Column::OrganizationId.eq(principal.organization_id))
            .filter(operator::Column::Role.eq(Role::Admin))
            .filter(operator::Column::Disabled.eq(false))
            .count(&state.db)
            .await?;
        if admins <= 1 {
            return Err(ApiError::conflict("last_admin", "the organization must keep at least one active admin"));
        }
    }
    if role == op.role && disabled == op.disabled {
        return Ok(OperatorView::from(&op));
    }
    let version = op.token_version + 1;
    let mut active = op.into_active_model();
    active.role = Set(role);
    active.disabled = Set(disabled);
    active.token_version = Set(version);
    active.updated_at = Set(OffsetDateTime::now_utc());
    let updated = active.update(&state.db).await?;
    tracing::info!(operator_id = %id, by = ?principal.actor().id, "operator changed; tokens revoked");
    Ok(OperatorView::from(&updated))
}

/// Resets another operator's second factor with a `reason` (required, for the audit log):
/// removes their TOTP secret and recovery codes and ends their sessions and tokens. An admin's
/// own second factor is refused (`403 own_second_factor`): they re-enrol it in the console.
pub async fn reset_mfa(state: &AppState, principal: &Principal, id: Uuid, reason: &str) -> ApiResult<OperatorView> {
    principal.require(Permission::ManageOperators)?;
    let admin = principal.operator_id()?;
    if id == admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "own_second_factor",
            "reset your own second factor on the console's Two-step sign-in page, with your password and a code",
        ));
    }
    let reason = reason_text("reason", Some(reason), true)?.unwrap_or_default();
    let op =
        operator::Model::find_in_org(&state.db, principal.organization_id, id).await?.ok_or_else(operator_not_found)?;
    if !op.has_mfa() {
        return Err(ApiError::conflict("mfa_not_enrolled", "this operator has no second factor to reset"));
    }
    let why = format!("operator {id}: {reason}");
    let updated = credentials::remove_second_factor(state, &op, admin, principal.ip, why).await?;
    Ok(OperatorView::from(&updated))
}
