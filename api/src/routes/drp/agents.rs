//! Authorized agents (`/v1/drp/agents`): admins register the agents whose signed requests the
//! organization accepts. The HTTP side of [`crate::services::drp::agents`].

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::{ApiResult, Problem};
use crate::extract::{Body, PathParams};
use crate::openapi::responses::{AdminOnly, Invalid};
use crate::services::drp::agents;
pub use crate::services::drp::agents::{AgentChange, AgentView, NewAgent};
use crate::state::AppState;

/// List authorized agents.
#[utoipa::path(
    get, path = "/v1/drp/agents", tag = "drp-agents",
    security(("bearer" = [])),
    responses((status = 200, description = "The organization's agents", body = Vec<AgentView>), AdminOnly)
)]
pub async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Vec<AgentView>>> {
    Ok(Json(agents::list(&state, &principal).await?))
}

/// Register an authorized agent.
///
/// The agent then sets up its bearer token with `POST /v1/agent/{agent-id}`, signed with the
/// key registered here.
#[utoipa::path(
    post, path = "/v1/drp/agents", tag = "drp-agents",
    request_body = NewAgent,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered", body = AgentView),
        AdminOnly,
        Invalid,
        (status = 409, description = "`agent_registered` (the agent and business id are taken) or `too_many_agents`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Body(body): Body<NewAgent>,
) -> ApiResult<(StatusCode, Json<AgentView>)> {
    Ok((StatusCode::CREATED, Json(agents::create(&state, &principal, body).await?)))
}

/// Change an authorized agent.
///
/// A new `verify_key` ends the agent's token: it sets up a new one signed with the new key.
/// `enabled: false` refuses its messages.
#[utoipa::path(
    patch, path = "/v1/drp/agents/{id}", tag = "drp-agents",
    params(("id" = Uuid, Path, description = "The registration's id")),
    request_body = AgentChange,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = AgentView),
        AdminOnly,
        Invalid,
        (status = 404, description = "`agent_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    Body(body): Body<AgentChange>,
) -> ApiResult<Json<AgentView>> {
    Ok(Json(agents::update(&state, &principal, id, body).await?))
}

/// Delete an authorized agent.
///
/// Only an agent that filed no request: disable one that did.
#[utoipa::path(
    delete, path = "/v1/drp/agents/{id}", tag = "drp-agents",
    params(("id" = Uuid, Path, description = "The registration's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        AdminOnly,
        (status = 404, description = "`agent_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`agent_has_requests`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    agents::delete(&state, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
