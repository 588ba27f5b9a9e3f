//! Operator accounts (admin only): create, list, change the role, disable, and reset another
//! operator's second factor. The HTTP side of [`crate::services::operators`].

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::{ApiResult, Problem};
use crate::extract::{Body, PathParams};
use crate::openapi::responses::{Authenticated, Invalid, Overloaded, RateLimited};
use crate::services;
pub use crate::services::operators::{CreatedOperatorView, MfaResetRequest, NewOperator, OperatorChange, OperatorView};
use crate::state::AppState;

/// List operators.
#[utoipa::path(
    get, path = "/v1/operators", tag = "operators",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The organization's operators", body = Vec<OperatorView>),
        Authenticated,
    )
)]
pub async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Vec<OperatorView>>> {
    Ok(Json(services::operators::list(&state, &principal).await?))
}

/// Create an operator.
///
/// The address must be unused in the caller's organization; it may have accounts in other
/// organizations too, which this answer never reveals.
#[utoipa::path(
    post, path = "/v1/operators", tag = "operators",
    request_body = NewOperator,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = CreatedOperatorView),
        Authenticated,
        (status = 409, description = "`email_taken`: an operator of this organization has the address (other organizations' are not looked at)", body = Problem, content_type = "application/problem+json"),
        Invalid,
        Overloaded,
    )
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Body(body): Body<NewOperator>,
) -> ApiResult<(StatusCode, Json<CreatedOperatorView>)> {
    let created = services::operators::create(&state, &principal, body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Change an operator's role or disable the account.
///
/// Either change revokes the operator's existing access tokens.
#[utoipa::path(
    patch, path = "/v1/operators/{id}", tag = "operators",
    params(("id" = Uuid, Path, description = "Operator id")),
    request_body = OperatorChange,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = OperatorView),
        Authenticated,
        (status = 404, description = "`operator_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`last_admin`: the organization would have no active admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    Body(body): Body<OperatorChange>,
) -> ApiResult<Json<OperatorView>> {
    Ok(Json(services::operators::update(&state, &principal, id, body).await?))
}

/// Reset another operator's second factor (admin).
///
/// Removes the operator's TOTP secret and recovery codes and ends their sessions and tokens;
/// they enrol a new one in the console (at their next sign-in when the organization requires a
/// second factor). Recorded in the audit log with the reason. An admin's own second factor is
/// never reset here: they re-enrol it on the console's "Two-step sign-in" page with their
/// password and a current code.
#[utoipa::path(
    post, path = "/v1/operators/{id}/mfa/reset", tag = "operators",
    params(("id" = Uuid, Path, description = "Operator id")),
    request_body = MfaResetRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Reset: `mfa_enrolled` is false", body = OperatorView),
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (admins only), or `own_second_factor` (your own: re-enrol it in the console)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`operator_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`mfa_not_enrolled`: the operator has no second factor", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (the reason) or `invalid_body`", body = Problem, content_type = "application/problem+json"),
        RateLimited,
    )
)]
pub async fn reset_mfa(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    Body(body): Body<MfaResetRequest>,
) -> ApiResult<Json<OperatorView>> {
    Ok(Json(services::operators::reset_mfa(&state, &principal, id, &body.reason).await?))
}
