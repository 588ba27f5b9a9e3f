//! Outbound webhook endpoints (`/v1/webhooks`): admins and API keys with `webhooks:manage`
//! register where events go and which; the delivery log, redelivery and a test ping. The HTTP
//! side of [`crate::services::webhooks`]; deliveries follow the Standard Webhooks
//! specification (see the book's Webhooks chapter).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::{ApiResult, Problem};
use crate::extract::{Body, OptionalBody, PathParams};
use crate::openapi::responses::{Authenticated, Invalid};
use crate::services;
pub use crate::services::webhooks::{
    AttemptView, DeliveryQueued, DeliveryView, NewWebhook, RotateSecret, WebhookChange, WebhookSecret, WebhookView,
};
use crate::state::AppState;

/// List webhook endpoints.
#[utoipa::path(
    get, path = "/v1/webhooks", tag = "webhooks",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The organization's endpoints, without secrets", body = Vec<WebhookView>),
        Authenticated,
    )
)]
pub async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Vec<WebhookView>>> {
    Ok(Json(services::webhooks::list(&state, &principal).await?))
}

/// Create a webhook endpoint.
///
/// The answer holds the signing secret; it is never shown again. At most 20 endpoints per
/// organization (`409 too_many_webhooks`).
#[utoipa::path(
    post, path = "/v1/webhooks", tag = "webhooks",
    request_body = NewWebhook,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = WebhookSecret),
        Authenticated,
        Invalid,
        (status = 409, description = "`too_many_webhooks`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Body(body): Body<NewWebhook>,
) -> ApiResult<(StatusCode, Json<WebhookSecret>)> {
    Ok((StatusCode::CREATED, Json(services::webhooks::create(&state, &principal, body).await?)))
}

/// Read a webhook endpoint.
#[utoipa::path(
    get, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = Uuid, Path, description = "Endpoint id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The endpoint, without its secret", body = WebhookView),
        Authenticated,
        (status = 404, description = "`webhook_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<WebhookView>> {
    Ok(Json(services::webhooks::get(&state, &principal, id).await?))
}

/// Change a webhook endpoint.
///
/// Absent fields stay. `enabled: true` after the endpoint was disabled for failing sends the
/// events kept for it meanwhile, in order.
#[utoipa::path(
    patch, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = Uuid, Path, description = "Endpoint id")),
    request_body = WebhookChange,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = WebhookView),
        Authenticated,
        Invalid,
        (status = 404, description = "`webhook_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    Body(body): Body<WebhookChange>,
) -> ApiResult<Json<WebhookView>> {
    Ok(Json(services::webhooks::update(&state, &principal, id, body).await?))
}

/// Delete a webhook endpoint.
///
/// Its deliveries and their log go with it; nothing more is sent to it.
#[utoipa::path(
    delete, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = Uuid, Path, description = "Endpoint id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        Authenticated,
        (status = 404, description = "`webhook_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    services::webhooks::delete(&state, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate a webhook endpoint's signing secret.
///
/// The new secret is shown once. The old one is still signed with, beside it (the
/// `webhook-signature` header then lists two signatures), for `overlap_hours` (default 24).
#[utoipa::path(
    post, path = "/v1/webhooks/{id}/rotate-secret", tag = "webhooks",
    params(("id" = Uuid, Path, description = "Endpoint id")),
    request_body(content = Option<RotateSecret>, description = "Optional; without a body the overlap is 24 hours"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The new secret", body = WebhookSecret),
        Authenticated,
        Invalid,
        (status = 404, description = "`webhook_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn rotate_secret(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    OptionalBody(body): OptionalBody<RotateSecret>,
) -> ApiResult<Json<WebhookSecret>> {
    Ok(Json(services::webhooks::rotate(&state, &principal, id, body).await?))
}

/// Send a test event.
///
/// A `webhook.test` event goes to this endpoint only; follow it in the delivery log.
#[utoipa::path(
    post, path = "/v1/webhooks/{id}/test", tag = "webhooks",
    params(("id" = Uuid, Path, description = "Endpoint id")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued", body = DeliveryQueued),
        Authenticated,
        (status = 404, description = "`webhook_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`webhook_disabled`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn test(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<(StatusCode, Json<DeliveryQueued>)> {
    Ok((StatusCode::ACCEPTED, Json(services::webhooks::test(&state, &principal, id).await?)))
}

/// The delivery log.
///
/// The endpoint's latest 50 deliveries, newest first, each with every attempt: when, the
/// answer's status, latency and first bytes, or why there was no answer.
#[utoipa::path(
    get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = Uuid, Path, description = "Endpoint id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Deliveries", body = Vec<DeliveryView>),
        Authenticated,
        (status = 404, description = "`webhook_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn deliveries(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<Vec<DeliveryView>>> {
    Ok(Json(services::webhooks::deliveries(&state, &principal, id).await?))
}

/// Send a delivery again.
///
/// Now, with a fresh retry schedule and the same `webhook-id`. A delivery still pending is
/// refused (`409 delivery_pending`): it is sent anyway.
#[utoipa::path(
    post, path = "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "webhooks",
    params(
        ("id" = Uuid, Path, description = "Endpoint id"),
        ("delivery_id" = Uuid, Path, description = "Delivery id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued", body = DeliveryQueued),
        Authenticated,
        (status = 404, description = "`webhook_not_found`, `delivery_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`delivery_pending`, `webhook_disabled`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn redeliver(
    State(state): State<AppState>,
    principal: Principal,
    PathParams((id, delivery_id)): PathParams<(Uuid, Uuid)>,
) -> ApiResult<(StatusCode, Json<DeliveryQueued>)> {
    Ok((StatusCode::ACCEPTED, Json(services::webhooks::redeliver(&state, &principal, id, delivery_id).await?)))
}
