//! Operator sign-in and password change.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lethe_entities::entity::{operator, organization};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Principal, credentials, sign_in, totp};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Body;
use crate::openapi::responses::{SignInLimited, ValidationFailed};
use crate::state::AppState;
use crate::web::client::ClientIp;

/// Sign-in credentials.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The operator's e-mail address.
    #[schema(example = "dpo@acme.example")]
    pub email: String,
    /// The password.
    pub password: String,
    /// The organization's slug. Needed only when the address has accounts in several
    /// organizations; without it such an address is refused like a wrong password.
    #[schema(example = "acme")]
    pub organization: Option<String>,
    /// The current TOTP code (or a recovery code), required when the operator has enrolled a
    /// second factor in the console.
    pub code: Option<String>,
}
crate::opaque_debug!(LoginRequest);

/// An access token.
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// The JWT (HS512) to send as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}
crate::opaque_debug!(TokenResponse);

/// A password change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub current_password: String,
    /// The new password (12 to 256 characters).
    pub new_password: String,
}
crate::opaque_debug!(PasswordChange);

fn bad_credentials() -> ApiError {
    ApiError::unauthorized(
        "invalid_credentials",
        "wrong e-mail or password, or the account is locked after too many failures (15 minutes); \
         an address with accounts in several organizations also needs `organization`",
    )
}

/// Sign in.
///
/// Exchanges e-mail and password (and, for an operator with a second factor, the current TOTP
/// code or a recovery code) for a short-lived access token. An address may have accounts in
/// several organizations: then `organization` (the slug) names the one to sign in to, and
/// without it the address is refused like a wrong password. After 5 consecutive failures the
/// account is locked for 15 minutes; the answer (and its time: one password hash is checked
/// whatever the case) does not reveal whether an account exists, is locked, or has siblings in
/// other organizations. An operator of an organization that requires a second factor but has not
/// enrolled one yet is refused (`mfa_enrolment_required`): enrol in the console first.
#[utoipa::path(
    post, path = "/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "`invalid_credentials`, or `mfa_required` (a right password; send `code`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`mfa_enrolment_required`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`", body = Problem, content_type = "application/problem+json"),
        SignInLimited,
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Body(body): Body<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let op = sign_in::check_password(&state, ip, &body.email, body.organization.as_deref(), body.password)
        .await?
        .map_err(|_| bad_credentials())?;
    if op.has_mfa() {
        let Some(code) = body.code.as_deref() else {
            return Err(ApiError::unauthorized(
                "mfa_required",
                "send the current TOTP code (or a recovery code) as `code`",
            ));
        };
        let accepted = totp::verify_code(&state.db, &state.keyring, &op, code).await?
            || totp::use_recovery_code(&state.db, &state.keyring, &op, code).await?;
        if !accepted {
            sign_in::failed(&state.db, &op).await?;
            return Err(bad_credentials());
        }
    } else if organization::Entity::find_by_id(op.organization_id).one(&state.db).await?.is_some_and(|o| o.mfa_required)
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "mfa_enrolment_required",
            "your organization requires a second factor: sign in to the console and enrol one first",
        ));
    }
    sign_in::succeeded(&state.db, &op).await?;
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
/// The new password follows the rules of account creation (12 to 256 characters). A wrong
/// current password counts towards the sign-in lockout (five failures lock the account for 15
/// minutes), and a locked account cannot change it. Every access token and console session
/// issued before the change stops working. Recorded in the audit log.
#[utoipa::path(
    post, path = "/v1/auth/password", tag = "auth",
    request_body = PasswordChange,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Changed; sign in again"),
        (status = 401, description = "`unauthenticated`, `invalid_token` or `invalid_credentials` (a wrong current password, or the account is locked)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (API keys have no password)", body = Problem, content_type = "application/problem+json"),
        SignInLimited,
        ValidationFailed,
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    principal: Principal,
    Body(body): Body<PasswordChange>,
) -> ApiResult<StatusCode> {
    let id = principal.operator_id()?;
    credentials::validate_new_password("new_password", &body.new_password)?;
    let op = operator::Model::find_in_org(&state.db, principal.organization_id, id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("invalid_token", "the operator no longer exists"))?;
    let confirmed =
        credentials::confirm_password(&state, &op, body.current_password, principal.ip, "password change").await?;
    if !confirmed {
        return Err(ApiError::unauthorized(
            "invalid_credentials",
            "the current password is wrong, or the account is locked after too many failures (15 minutes)",
        ));
    }
    credentials::change_password(&state, &op, body.new_password, principal.ip).await?;
    Ok(StatusCode::NO_CONTENT)
}
