//! The caller's organization and its settings: every operator role reads them, admins change
//! them. The HTTP side of [`crate::services::organization`], which holds the settings, the
//! customer portal's and the deadlines.

use axum::Json;
use axum::extract::State;

use crate::auth::Principal;
use crate::error::{ApiResult, Problem};
use crate::extract::Body;
use crate::openapi::responses::{AdminOnly, RateLimited};
use crate::services;
pub use crate::services::organization::deadlines;
pub use crate::services::organization::{LogoUpload, OrganizationChange, OrganizationView, PortalChange, PortalView};
use crate::state::AppState;

/// The caller's organization and its settings.
#[utoipa::path(
    get, path = "/v1/organization", tag = "organization",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The settings, with the export link lifetime that applies", body = OrganizationView),
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: operators of every role only, not API keys", body = Problem, content_type = "application/problem+json"),
        RateLimited,
    )
)]
pub async fn get_settings(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<OrganizationView>> {
    Ok(Json(services::organization::get_settings(&state, &principal).await?))
}

/// Changes the organization's settings (admin). The name and slug cannot be changed here.
///
/// Nor can the deadlines the law sets. A new `other`-regime deadline applies to requests
/// received afterwards; existing requests keep their due dates.
#[utoipa::path(
    patch, path = "/v1/organization", tag = "organization",
    request_body = OrganizationChange,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The settings as they now are", body = OrganizationView),
        AdminOnly,
        (status = 422, description = "`validation_failed` (with the field) or `invalid_body` (wrong type, unknown or read-only field)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_settings(
    State(state): State<AppState>,
    principal: Principal,
    Body(change): Body<OrganizationChange>,
) -> ApiResult<Json<OrganizationView>> {
    Ok(Json(services::organization::update_settings(&state, &principal, change).await?))
}
