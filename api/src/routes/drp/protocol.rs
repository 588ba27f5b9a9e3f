//! The Data Rights Protocol 1.0 endpoints an authorized agent calls (sections 2.01 to 2.06),
//! answered in the protocol's own shapes: signed messages are `text/plain` (base64 of an
//! Ed25519 signature followed by the JSON it signs), answers are JSON, errors are
//! [`DrpProblem`]s. The HTTP side of [`crate::services::drp::protocol`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawPathParams, State};
use axum::http::{HeaderMap, StatusCode};
use lethe_worker::drp::document::ExerciseStatus;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::drp::{DrpError, DrpProblem};
use crate::services::drp::protocol::{self, TokenIssued};
use crate::state::AppState;

/// The body as text: one that could not be read, or is not UTF-8, is no signed message.
fn text(body: &Result<Bytes, BytesRejection>) -> Result<&str, DrpError> {
    match body {
        Ok(bytes) => std::str::from_utf8(bytes)
            .map_err(|_| DrpError::new(StatusCode::BAD_REQUEST, "invalid_encoding", "the body is not base64 text")),
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(DrpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the body is larger than this server accepts",
        )),
        Err(_) => Err(DrpError::new(StatusCode::BAD_REQUEST, "unreadable_body", "the body could not be read")),
    }
}

/// The path's one parameter, as sent (percent-encoded: the ids the protocol uses need none).
fn param(path: &RawPathParams) -> &str {
    path.iter().next().map_or("", |(_, value)| value)
}

/// A request id from the path; anything else names no request.
fn request_id(path: &RawPathParams) -> Result<Uuid, DrpError> {
    Uuid::parse_str(param(path))
        .map_err(|_| DrpError::new(StatusCode::NOT_FOUND, "request_not_found", "no such request"))
}

/// Set up an agent's bearer token (pair-wise key setup).
///
/// The body is the signed `{agent-id, business-id, issued-at, expires-at, drp.version}`. The
/// answer's token authenticates the agent's later calls; a new setup replaces it. Any failure
/// is a `403` without a body (section 2.05.1).
#[utoipa::path(
    post, path = "/v1/agent/{agent_id}", tag = "drp",
    params(("agent_id" = String, Path, description = "The agent's id in the DRP directory")),
    request_body(content = String, content_type = "text/plain", description = "base64(signature || JSON)"),
    responses(
        (status = 200, description = "The token", body = TokenIssued),
        (status = 403, description = "The message did not verify (no body)"),
        (status = 429, description = "`rate_limited`", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn setup(
    State(state): State<AppState>,
    path: RawPathParams,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<TokenIssued>, DrpError> {
    let body = text(&body).map_err(|_| DrpError::setup_refused())?;
    Ok(Json(protocol::setup(&state, param(&path), body).await?))
}

/// Check an agent's token.
#[utoipa::path(
    get, path = "/v1/agent/{agent_id}", tag = "drp",
    params(("agent_id" = String, Path, description = "The agent's id in the DRP directory")),
    security(("drp_token" = [])),
    responses(
        (status = 200, description = "The token is this agent's: an empty object", body = Object),
        (status = 401, description = "`invalid_token`", body = DrpProblem),
        (status = 403, description = "`wrong_agent`: the token is another agent's", body = DrpProblem),
        (status = 429, description = "`rate_limited`", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn agent(
    State(state): State<AppState>,
    path: RawPathParams,
    headers: HeaderMap,
) -> Result<Json<Value>, DrpError> {
    protocol::check_agent(&state, &headers, param(&path)).await?;
    Ok(Json(json!({})))
}

/// File a data rights request.
///
/// The body is the signed request: the envelope (`agent-id`, `business-id`, `issued-at`,
/// `expires-at`, at most ten minutes apart), `drp.version` `1.0`, `exercise` (`deletion`,
/// `access`, `access:categories`, `access:specific`, `sale:opt-out`), `regime` (`ccpa`, or
/// none for a voluntary request), optional `agent-request-id` and `status_callback`, and the
/// person's claims (`email` required, `email_verified`, `phone_number`). The same signed message
/// twice is refused (`409 replayed`).
#[utoipa::path(
    post, path = "/v1/data-rights-request", tag = "drp",
    security(("drp_token" = [])),
    request_body(content = String, content_type = "text/plain", description = "base64(signature || JSON)"),
    responses(
        (status = 200, description = "Filed: its status", body = ExerciseStatus),
        (status = 400, description = "`invalid_encoding`, `unreadable_body`, `invalid_document`, `issued_in_future`, `expired`, `unsupported_version`, `unsupported_exercise`, `unsupported_regime`, `identity_missing`, `invalid_identity`, `invalid_agent_request_id`, `invalid_status_callback`", body = DrpProblem),
        (status = 401, description = "`invalid_token`", body = DrpProblem),
        (status = 403, description = "`invalid_signature`, `wrong_agent`, `wrong_business`", body = DrpProblem),
        (status = 409, description = "`replayed`", body = DrpProblem),
        (status = 413, description = "`payload_too_large`", body = DrpProblem),
        (status = 429, description = "`rate_limited`", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn exercise(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ExerciseStatus>, DrpError> {
    Ok(Json(protocol::exercise(&state, &headers, text(&body)?).await?))
}

/// Read a data rights request's status.
#[utoipa::path(
    get, path = "/v1/data-rights-request/{request_id}", tag = "drp",
    params(("request_id" = String, Path, description = "The request's id")),
    security(("drp_token" = [])),
    responses(
        (status = 200, description = "Its status", body = ExerciseStatus),
        (status = 401, description = "`invalid_token`", body = DrpProblem),
        (status = 403, description = "`not_your_request`: another agent filed it", body = DrpProblem),
        (status = 404, description = "`request_not_found`", body = DrpProblem),
        (status = 429, description = "`rate_limited`", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn status(
    State(state): State<AppState>,
    path: RawPathParams,
    headers: HeaderMap,
) -> Result<Json<ExerciseStatus>, DrpError> {
    Ok(Json(protocol::status(&state, &headers, request_id(&path)?).await?))
}

/// Revoke a data rights request.
///
/// The body is the signed `{"reason": "..."}` (the reason optional). Possible until fulfilment
/// starts (`409 not_revocable` after).
#[utoipa::path(
    delete, path = "/v1/data-rights-request/{request_id}", tag = "drp",
    params(("request_id" = String, Path, description = "The request's id")),
    security(("drp_token" = [])),
    request_body(content = String, content_type = "text/plain", description = "base64(signature || JSON)"),
    responses(
        (status = 200, description = "Revoked: its new status", body = ExerciseStatus),
        (status = 400, description = "`invalid_encoding`, `unreadable_body`, `invalid_document`, `invalid_reason`", body = DrpProblem),
        (status = 401, description = "`invalid_token`", body = DrpProblem),
        (status = 403, description = "`not_your_request`, `invalid_signature`", body = DrpProblem),
        (status = 404, description = "`request_not_found`", body = DrpProblem),
        (status = 409, description = "`not_revocable`", body = DrpProblem),
        (status = 413, description = "`payload_too_large`", body = DrpProblem),
        (status = 429, description = "`rate_limited`", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    path: RawPathParams,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ExerciseStatus>, DrpError> {
    let id = request_id(&path)?;
    Ok(Json(protocol::revoke(&state, &headers, id, text(&body)?).await?))
}
