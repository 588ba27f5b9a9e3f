//! Public intake, the JSON face of [`crate::services::intake`]: submitting a request and
//! proving control of the e-mail address.
//!
//! These endpoints need no sign-in and are rate-limited per client IP; submissions are also
//! limited per e-mail address. They answer the same way whether or not the organization holds
//! any data about the person: nothing here looks at the company's stores.

use axum::extract::State;
use axum::http::StatusCode;
use lethe_entities::domain::enums::RequestState;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::views::{SubjectStatus, Submitted};
use crate::error::{ApiResult, Problem};
use crate::extract::{Body, PathParams};
use crate::openapi::responses::{Invalid, RequestNotFound};
use crate::services::intake;
use crate::services::intake::SubmitRequest;
use crate::state::AppState;

/// The code from the verification e-mail.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The status token returned at submission.
    pub token: String,
    /// The 6-digit code.
    #[schema(example = "042917")]
    pub code: String,
}
crate::opaque_debug!(VerifyRequest);

/// Proof of the status token.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// The status token returned at submission.
    pub token: String,
}
crate::opaque_debug!(TokenBody);

/// Submit a request.
///
/// Creates the request in `identity_unverified` and e-mails a 6-digit code to the address.
/// The answer is the same whether or not the organization knows the person.
#[utoipa::path(
    post,
    path = "/v1/requests",
    tag = "intake",
    request_body = SubmitRequest,
    responses(
        (status = 202, description = "Received; a verification code is on its way", body = Submitted),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`organization_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
        Invalid,
        (status = 429, description = "`rate_limited` or `too_many_submissions`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn submit(
    State(state): State<AppState>,
    Body(body): Body<SubmitRequest>,
) -> ApiResult<(StatusCode, axum::Json<Submitted>)> {
    let submission = intake::submit(&state, &body).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(Submitted::of(&submission, RequestState::IdentityUnverified))))
}

/// Verify the requester's e-mail address.
///
/// Checks the 6-digit code. Five wrong attempts use a code up; codes expire after 15 minutes;
/// a request gets at most five codes, so 25 attempts in all. Wrong codes spend only this
/// request's attempts.
/// On success the request moves to `pending_approval`, or straight to `approved` when the
/// organization approves verified requests automatically.
#[utoipa::path(
    post,
    path = "/v1/requests/{id}/verify",
    tag = "intake",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = VerifyRequest,
    responses(
        (status = 200, description = "Verified", body = SubjectStatus),
        (status = 404, description = "`request_not_found` (unknown id or wrong token)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_verified`, `no_code_sent`, `code_exhausted` or `invalid_transition`", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "`code_expired`: ask for a new code", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_code` (with `attempts_left`) or `validation_failed`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited` (per client IP)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    Body(body): Body<VerifyRequest>,
) -> ApiResult<axum::Json<SubjectStatus>> {
    let updated = intake::verify(&state, id, &body.token, &body.code).await?;
    Ok(axum::Json(SubjectStatus::new(&updated, &state.keyring)?))
}

/// Send a new verification code.
///
/// Replaces any earlier code. Allowed once per cool-down period (60 s by default).
#[utoipa::path(
    post,
    path = "/v1/requests/{id}/resend",
    tag = "intake",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = TokenBody,
    responses(
        (status = 202, description = "A new code is on its way"),
        RequestNotFound,
        (status = 409, description = "`already_verified`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`resend_too_soon` (see Retry-After), `too_many_codes` or `rate_limited`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn resend(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    Body(body): Body<TokenBody>,
) -> ApiResult<StatusCode> {
    intake::resend(&state, id, &body.token).await?;
    Ok(StatusCode::ACCEPTED)
}
