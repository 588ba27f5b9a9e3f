//! Trusted intake, the JSON face of [`crate::services::attested`]: an API key with the
//! `requests:submit` scope files a request for a person its application has authenticated.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::views::Submitted;
use crate::auth::Principal;
use crate::error::{ApiResult, Problem};
use crate::extract::Body;
use crate::openapi::responses::{Authenticated, Invalid};
use crate::services::attested::{self, AttestedRequest};
use crate::state::AppState;

/// File a request for an authenticated person.
///
/// For the company's own applications (an API key with `requests:submit`): the request starts
/// verified, with the key and the `attestation` on its timeline, and goes on by the
/// organization's rules (`approved` at once with auto-approval). Send an `Idempotency-Key`
/// header (1 to 255 visible ASCII characters) to retry safely: a retry with the same key and
/// body gets the first answer again (with `Idempotent-Replayed: true`), the same key with
/// another body `409 idempotency_key_reused`. Keys are kept 24 hours.
#[utoipa::path(
    post,
    path = "/v1/requests/attested",
    tag = "requests",
    request_body = AttestedRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first answer")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Filed, verified", body = Submitted,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the first call's answer again"))),
        (status = 400, description = "`invalid_idempotency_key`", body = Problem, content_type = "application/problem+json"),
        Authenticated,
        Invalid,
        (status = 409, description = "`idempotency_key_reused` or `idempotency_key_in_use`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn submit(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Body(body): Body<AttestedRequest>,
) -> ApiResult<Response> {
    let (answer, replayed) = attested::submit(&state, &principal, &headers, body).await?;
    let mut response = (StatusCode::CREATED, Json(answer)).into_response();
    if replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}
