//! Legal holds: placing them on a subject, a table, a store or the organization, listing them,
//! and releasing them with a reason. The HTTP side of [`crate::services::holds`].

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::requests::actions::ReasonBody;
use crate::auth::Principal;
use crate::error::{ApiResult, Problem};
use crate::extract::{Body, PathParams, QueryParams};
use crate::openapi::responses::{Authenticated, Invalid, InvalidQuery};
use crate::services;
pub use crate::services::holds::{HeldIdentity, HoldView, NewHold};
use crate::state::AppState;

/// Query of `GET /v1/holds`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HoldsQuery {
    /// Only holds in force now.
    pub active: Option<bool>,
}

/// List legal holds, newest first.
#[utoipa::path(
    get, path = "/v1/holds", tag = "holds",
    params(HoldsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The holds, newest first", body = [HoldView]),
        InvalidQuery,
        Authenticated,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<HoldsQuery>,
) -> ApiResult<Json<Vec<HoldView>>> {
    Ok(Json(services::holds::list(&state, &principal, query.active.unwrap_or(false)).await?))
}

/// Place a legal hold. Nothing it covers is erased or purged until it is released (or
/// lapses): an erasure request of a held subject goes `on_hold`, retention runs leave held
/// subjects' rows and skip held tables and stores. Holds are additive.
#[utoipa::path(
    post, path = "/v1/holds", tag = "holds",
    request_body = NewHold,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Placed", body = HoldView),
        Authenticated,
        Invalid,
    )
)]
pub async fn place(
    State(state): State<AppState>,
    principal: Principal,
    Body(body): Body<NewHold>,
) -> ApiResult<(StatusCode, Json<HoldView>)> {
    let placed = services::holds::place(&state, &principal, body).await?;
    Ok((StatusCode::CREATED, Json(placed)))
}

/// Release a legal hold (reason required). What it covered is free again once no other hold
/// covers it.
#[utoipa::path(
    post, path = "/v1/holds/{id}/release", tag = "holds",
    params(("id" = Uuid, Path, description = "Hold id")),
    request_body = ReasonBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Released", body = HoldView),
        Authenticated,
        (status = 404, description = "`hold_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`hold_released`: released before", body = Problem, content_type = "application/problem+json"),
        Invalid,
    )
)]
pub async fn release(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    Body(body): Body<ReasonBody>,
) -> ApiResult<Json<HoldView>> {
    Ok(Json(services::holds::release(&state, &principal, id, &body.reason).await?))
}
