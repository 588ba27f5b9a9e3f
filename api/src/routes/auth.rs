//! Operator sign-in and password change.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lethe_entities::entity::operator;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::auth::{Principal, password};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Body;
use crate::state::AppState;

/// Failed sign-ins after which an account is locked.
pub const LOCKOUT_THRESHOLD: i32 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT: time::Duration = time::Duration::minutes(15);

/// Sign-in credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The operator's e-mail address.
    #[schema(example = "dpo@acme.example")]
    pub email: String,
    /// The password.
    pub password: String,
}

/// An access token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// The JWT (HS512) to send as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub current_password: String,
    /// The new password (12 to 256 characters).
    pub new_password: String,
}

fn bad_credentials() -> ApiError {
    ApiError::unauthorized(
        "invalid_credentials",
        "wrong e-mail or password, or the account is locked after too many failures (15 minutes)",
    )
}

/// Sign in.
///
/// Exchanges e-mail and password for a short-lived access token. After 5 consecutive failures
/// the account is locked for 15 minutes; the answer does not reveal whether an account exists
/// or is locked.
#[utoipa::path(
    post, path = "/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "`invalid_credentials`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(State(state): State<AppState>, Body(body): Body<LoginRequest>) -> ApiResult<Json<TokenResponse>> {
    let email = body.email.trim().to_lowercase();
    let found = operator::Model::find_by_email(&state.db, &email).await?;
    let now = OffsetDateTime::now_utc();
    let ok = password::verify(body.password, found.as_ref().map(|o| o.password_hash.clone())).await;
    let Some(op) = found else {
        return Err(bad_credentials());
    };
    let locked = op.locked_until.is_some_and(|until| until > now);
    if !ok || locked || op.disabled {
        if !ok {
            // One statement decides and records, from the row's current value: parallel wrong
            // guesses cannot slip past the threshold. Both SET expressions read the old row.
            use sea_orm::sea_query::ExprTrait;
            let reaches = || Expr::col(operator::Column::FailedLogins).add(1).gte(LOCKOUT_THRESHOLD);
            let locked = operator::Entity::update_many()
                .col_expr(
                    operator::Column::FailedLogins,
                    Expr::case(reaches(), 0).finally(Expr::col(operator::Column::FailedLogins).add(1)).into(),
                )
                .col_expr(
                    operator::Column::LockedUntil,
                    Expr::case(reaches(), Expr::value(Some(now + LOCKOUT)))
                        .finally(Expr::col(operator::Column::LockedUntil))
                        .into(),
                )
                .filter(operator::Column::Id.eq(op.id))
                .exec(&state.db)
                .await?;
            if locked.rows_affected == 1 && op.failed_logins + 1 >= LOCKOUT_THRESHOLD {
                tracing::warn!(operator_id = %op.id, "operator locked after repeated failed sign-ins");
            }
        }
        return Err(bad_credentials());
    }
    if op.failed_logins != 0 || op.locked_until.is_some() {
        let mut active = op.clone().into_active_model();
        active.failed_logins = Set(0);
        active.locked_until = Set(None);
        active.update(&state.db).await?;
    }
    let token =
        state.tokens.issue(op.id, op.organization_id, op.role, op.token_version).map_err(|e| ApiError::internal(&e))?;
    tracing::info!(operator_id = %op.id, "operator signed in");
    Ok(Json(TokenResponse {
        access_token: token,
        token_type: "Bearer".into(),
        expires_in: state.tokens.ttl().as_secs(),
    }))
}

/// Change your password.
///
/// Every access token issued before the change stops working.
#[utoipa::path(
    post, path = "/v1/auth/password", tag = "auth",
    request_body = PasswordChange,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Changed; sign in again"),
        (status = 401, description = "`unauthenticated`, `invalid_token` or `invalid_credentials`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (API keys have no password)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    principal: Principal,
    Body(body): Body<PasswordChange>,
) -> ApiResult<StatusCode> {
    let id = principal.operator_id()?;
    password::validate(&body.new_password).map_err(|_| {
        ApiError::invalid_field(
            "new_password",
            format!("must be {} to {} characters", password::MIN_LENGTH, password::MAX_LENGTH),
        )
    })?;
    let op = operator::Model::find_in_org(&state.db, principal.organization_id, id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("invalid_token", "the operator no longer exists"))?;
    if !password::verify(body.current_password, Some(op.password_hash.clone())).await {
        return Err(ApiError::unauthorized("invalid_credentials", "the current password is wrong"));
    }
    let hash = password::hash(body.new_password).await?;
    let version = op.token_version + 1;
    let mut active = op.into_active_model();
    active.password_hash = Set(hash);
    active.token_version = Set(version);
    active.updated_at = Set(OffsetDateTime::now_utc());
    active.update(&state.db).await?;
    tracing::info!(operator_id = %id, "operator changed their password; older tokens revoked");
    Ok(StatusCode::NO_CONTENT)
}
