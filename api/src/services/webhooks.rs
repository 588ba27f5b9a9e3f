//! Outbound webhook endpoints (admins, or API keys with `webhooks:manage`): created with their
//! signing secret shown once, changed, enabled and disabled, deleted; the secret rotated with an
//! overlap during which both are signed with; a test ping; the delivery log and redelivery.
//! Sending is the worker's ([`lethe_worker::webhooks`]). Every change by an operator is in the
//! audit log, in the change's transaction.

use lethe_entities::entity::operator_event::OperatorEventKind;
use lethe_entities::entity::webhook_delivery::{self, DeliveryStatus};
use lethe_entities::entity::webhook_endpoint::{self, disabled, secret_context, url_context};
use lethe_entities::entity::{begin_write, webhook_attempt, webhook_event};
use lethe_entities::webhook::EventType;
use lethe_worker::webhooks::{fanout, signature, target};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::state::AppState;

/// The most endpoints one organization may have.
pub const MAX_ENDPOINTS: u64 = 20;
/// The longest overlap of an old secret after a rotation, in hours.
const MAX_OVERLAP_HOURS: u32 = 168;
/// How many deliveries the log shows.
const LOG_DELIVERIES: u64 = 50;

/// An endpoint, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    /// Id.
    pub id: Uuid,
    /// Where events are sent (to callers who only read webhooks, the scheme and host followed by
    /// `/…`: a path or query may carry the receiver's token).
    pub url: String,
    /// What the admin calls it.
    pub description: Option<String>,
    /// The event types it wants.
    #[schema(value_type = Vec<String>, example = json!(["request.completed", "request.failed"]))]
    pub event_types: Vec<EventType>,
    /// Whether events are delivered.
    pub enabled: bool,
    /// Why it is disabled: `failing` (deliveries failed for the whole retry schedule; events are
    /// kept for it) or `admin`.
    pub disabled_reason: Option<String>,
    /// When it was disabled.
    #[serde(with = "time::serde::rfc3339::option")]
    pub disabled_at: Option<OffsetDateTime>,
    /// Until when the secret before the last rotation is still signed with.
    #[serde(with = "time::serde::rfc3339::option")]
    pub previous_secret_expires_at: Option<OffsetDateTime>,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// An endpoint with its signing secret: shown once.
#[derive(Serialize, ToSchema)]
pub struct WebhookSecret {
    /// The endpoint.
    pub webhook: WebhookView,
    /// The Standard Webhooks signing secret (`whsec_...`). Store it now: it cannot be shown
    /// again.
    pub secret: String,
}
crate::opaque_debug!(WebhookSecret);

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://hooks.example.com/lethe",
    "description": "help desk",
    "event_types": ["request.received", "request.completed"]
}))]
pub struct NewWebhook {
    /// An `https` URL (plain `http` only to hosts the target policy allows), at most 2048
    /// characters, without user or password.
    pub url: String,
    /// What to call it (at most 200 characters).
    #[serde(default)]
    pub description: Option<String>,
    /// One or more event types.
    #[schema(value_type = Vec<String>)]
    pub event_types: Vec<String>,
}

/// Changes to an endpoint; absent fields stay.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookChange {
    /// A new URL.
    #[serde(default)]
    pub url: Option<String>,
    /// A new description (empty: none).
    #[serde(default)]
    pub description: Option<String>,
    /// New event types.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub event_types: Option<Vec<String>>,
    /// Enable (events kept while it was disabled for failing are then delivered, in order) or
    /// disable it.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// How a secret is rotated.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// How many hours the old secret is still signed with, beside the new one (0 to 168;
    /// default 24).
    #[serde(default)]
    pub overlap_hours: Option<u32>,
}

/// One attempt of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// When it was sent.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The answer's HTTP status.
    pub http_status: Option<i32>,
    /// Milliseconds to the answer or failure.
    pub latency_ms: i32,
    /// Why there was no answer: `timeout`, `connect`, `target_refused`, `transport`.
    pub error_code: Option<String>,
    /// The answer's first bytes.
    pub response_excerpt: Option<String>,
}

/// One delivery, with its attempts.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// Id.
    pub id: Uuid,
    /// The event (its `webhook-id` is `msg_` and this id without dashes).
    pub event_id: Uuid,
    /// The event type.
    pub event_type: String,
    /// The request, if the event concerns one.
    pub request_id: Option<Uuid>,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts so far.
    pub attempts: i32,
    /// When it is attempted next (pending deliveries).
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it succeeded or failed for good.
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// Every attempt, oldest first.
    pub attempt_log: Vec<AttemptView>,
}

/// A delivery queued (a test ping or a redelivery).
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryQueued {
    /// The delivery to follow in the log.
    pub delivery_id: Uuid,
}

fn not_found() -> ApiError {
    ApiError::not_found("webhook_not_found", "no webhook endpoint with this id")
}

/// `url`'s scheme and host (and port), then `/…`.
fn origin_only(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            format!("{scheme}://{host}/…")
        }
        None => "…".to_owned(),
    }
}

impl WebhookView {
    /// The view of `endpoint` for `principal`: the whole URL for those who manage webhooks,
    /// only its scheme and host for those who read them (a path or query may carry a token).
    fn of(endpoint: &webhook_endpoint::Model, state: &AppState, principal: &Principal) -> ApiResult<Self> {
        let url = endpoint.url(&state.keyring)?;
        Ok(Self {
            id: endpoint.id,
            url: if principal.can(Permission::ManageWebhooks) { url } else { origin_only(&url) },
            description: endpoint.description.clone(),
            event_types: endpoint.event_type_list(),
            enabled: endpoint.enabled,
            disabled_reason: endpoint.disabled_reason.clone(),
            disabled_at: endpoint.disabled_at,
            previous_secret_expires_at: endpoint.previous_secret_expires_at,
            created_at: endpoint.created_at,
            updated_at: endpoint.updated_at,
        })
    }
}

/// Checks a URL ([`lethe_worker::webhooks::target::check`]).
async fn check_url(state: &AppState, url: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    match target::check(state.stores.policy(), url).await {
        Ok(url) => Some(url),
        Err(refused) => {
            errors.push(FieldError { field: "url".into(), message: refused.to_string() });
            None
        }
    }
}

/// Checks event type names: one or more known ones, each once.
fn check_event_types(names: &[String], errors: &mut Vec<FieldError>) -> Vec<EventType> {
    let mut types: Vec<EventType> = Vec::new();
    for name in names {
        match EventType::parse_subscribable(name.trim()) {
            Some(t) if !types.contains(&t) => types.push(t),
            Some(_) => {}
            None => {
                let known: Vec<&str> = EventType::SUBSCRIBABLE.iter().map(|t| t.as_str()).collect();
                errors.push(FieldError {
                    field: "event_types".into(),
                    message: format!("one or more of: {}", known.join(", ")),
                });
                return types;
            }
        }
    }
    if types.is_empty() {
        errors.push(FieldError { field: "event_types".into(), message: "at least one event type".into() });
    }
    types
}

/// A description: trimmed, at most 200 characters, empty meaning none.
fn check_description(text: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    let text = text.map(str::trim).filter(|t| !t.is_empty())?;
    if text.chars().count() > 200 {
        errors.push(FieldError { field: "description".into(), message: "at most 200 characters".into() });
        return None;
    }
    Some(text.to_owned())
}

fn names(types: &[EventType]) -> serde_json::Value {
    serde_json::Value::Array(types.iter().map(|t| t.as_str().into()).collect())
}

/// Records an operator's change of endpoint `endpoint` in the audit log.
async fn audit(
    db: &impl ConnectionTrait,
    state: &AppState,
    principal: &Principal,
    kind: OperatorEventKind,
    endpoint: Uuid,
) -> ApiResult<()> {
    super::audit::record(db, state, principal, kind, serde_json::json!({ "webhook_id": endpoint })).await
}

/// The organization's endpoints, oldest first.
pub async fn list(state: &AppState, principal: &Principal) -> ApiResult<Vec<WebhookView>> {
    principal.require(Permission::ReadWebhooks)?;
    let endpoints = webhook_endpoint::Model::list(&state.db, principal.organization_id).await?;
    endpoints.iter().map(|e| WebhookView::of(e, state, principal)).collect()
}

/// Endpoint `id`.
pub async fn get(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<WebhookView> {
    principal.require(Permission::ReadWebhooks)?;
    let endpoint = find(state, principal, id).await?;
    WebhookView::of(&endpoint, state, principal)
}

async fn find(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<webhook_endpoint::Model> {
    webhook_endpoint::Model::find_in_org(&state.db, principal.organization_id, id).await?.ok_or_else(not_found)
}

/// Creates an endpoint; the answer holds its signing secret, shown only this once.
pub async fn create(state: &AppState, principal: &Principal, body: NewWebhook) -> ApiResult<WebhookSecret> {
    principal.require(Permission::ManageWebhooks)?;
    let org = principal.organization_id;
    let mut errors = Vec::new();
    let url = check_url(state, &body.url, &mut errors).await;
    let types = check_event_types(&body.event_types, &mut errors);
    let description = check_description(body.description.as_deref(), &mut errors);
    let Some(url) = url.filter(|_| errors.is_empty()) else { return Err(ApiError::validation(errors)) };
    let count = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganizationId.eq(org))
        .count(&state.db)
        .await?;
    if count >= MAX_ENDPOINTS {
        return Err(ApiError::conflict("too_many_webhooks", "an organization has at most 20 webhook endpoints"));
    }
    let (id, now, secret) = (Uuid::now_v7(), OffsetDateTime::now_utc(), signature::new_secret());
    let txn = begin_write(&state.db).await?;
    let created = webhook_endpoint::ActiveModel {
        id: Set(id),
        organization_id: Set(org),
        url_ciphertext: Set(state.keyring.seal_text(&url, &url_context(org, id))),
        description: Set(description),
        event_types: Set(names(&types)),
        secret_ciphertext: Set(state.keyring.seal_text(&secret, &secret_context(org, id))),
        previous_secret_ciphertext: Set(None),
        previous_secret_expires_at: Set(None),
        enabled: Set(true),
        disabled_reason: Set(None),
        disabled_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit(&txn, state, principal, OperatorEventKind::WebhookCreated, id).await?;
    txn.commit().await?;
    tracing::info!(webhook_id = %id, by = ?principal.actor().id, "webhook endpoint created");
    Ok(WebhookSecret { webhook: WebhookView::of(&created, state, principal)?, secret })
}

/// Changes endpoint `id`.
pub async fn update(state: &AppState, principal: &Principal, id: Uuid, body: WebhookChange) -> ApiResult<WebhookView> {
    principal.require(Permission::ManageWebhooks)?;
    let endpoint = find(state, principal, id).await?;
    let mut errors = Vec::new();
    let url = match &body.url {
        Some(url) => check_url(state, url, &mut errors).await,
        None => None,
    };
    let types = body.event_types.as_ref().map(|t| check_event_types(t, &mut errors));
    let description = body.description.as_deref().map(|d| check_description(Some(d), &mut errors));
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let now = OffsetDateTime::now_utc();
    let mut active: webhook_endpoint::ActiveModel = endpoint.clone().into();
    if let Some(url) = url {
        active.url_ciphertext = Set(state.keyring.seal_text(&url, &url_context(endpoint.organization_id, id)));
    }
    if let Some(types) = types {
        active.event_types = Set(names(&types));
    }
    if let Some(description) = description {
        active.description = Set(description);
    }
    match body.enabled {
        Some(true) if !endpoint.enabled => {
            active.enabled = Set(true);
            active.disabled_reason = Set(None);
            active.disabled_at = Set(None);
        }
        Some(false) if endpoint.enabled => {
            active.enabled = Set(false);
            active.disabled_reason = Set(Some(disabled::BY_ADMIN.to_owned()));
            active.disabled_at = Set(Some(now));
        }
        _ => {}
    }
    active.updated_at = Set(now);
    let txn = begin_write(&state.db).await?;
    let updated = active.update(&txn).await?;
    if body.enabled == Some(true) && !endpoint.enabled {
        // What waited while it was disabled goes now (it may have been due for days).
        webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now))
            .filter(webhook_delivery::Column::EndpointId.eq(id))
            .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending))
            .exec(&txn)
            .await?;
    }
    audit(&txn, state, principal, OperatorEventKind::WebhookChanged, id).await?;
    txn.commit().await?;
    state.queue.wake.signal(lethe_worker::webhooks::QUEUE);
    tracing::info!(webhook_id = %id, by = ?principal.actor().id, enabled = updated.enabled, "webhook endpoint changed");
    WebhookView::of(&updated, state, principal)
}

/// Deletes endpoint `id` with its deliveries and their log.
pub async fn delete(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<()> {
    principal.require(Permission::ManageWebhooks)?;
    let endpoint = find(state, principal, id).await?;
    let txn = begin_write(&state.db).await?;
    let deliveries =
        webhook_delivery::Entity::find().filter(webhook_delivery::Column::EndpointId.eq(endpoint.id)).all(&txn).await?;
    let ids: Vec<Uuid> = deliveries.iter().map(|d| d.id).collect();
    for chunk in ids.chunks(500) {
        webhook_attempt::Entity::delete_many()
            .filter(webhook_attempt::Column::DeliveryId.is_in(chunk.iter().copied()))
            .exec(&txn)
            .await?;
    }
    webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint.id))
        .exec(&txn)
        .await?;
    webhook_endpoint::Entity::delete_by_id(endpoint.id).exec(&txn).await?;
    audit(&txn, state, principal, OperatorEventKind::WebhookDeleted, id).await?;
    txn.commit().await?;
    tracing::info!(webhook_id = %id, by = ?principal.actor().id, "webhook endpoint deleted");
    Ok(())
}

/// Rotates endpoint `id`'s secret: the new one is shown once; the old one is still signed with,
/// beside it, for the overlap asked (default 24 hours), so receivers can switch without losing
/// an event.
pub async fn rotate(state: &AppState, principal: &Principal, id: Uuid, body: RotateSecret) -> ApiResult<WebhookSecret> {
    principal.require(Permission::ManageWebhooks)?;
    let overlap = body.overlap_hours.unwrap_or(24);
    if overlap > MAX_OVERLAP_HOURS {
        return Err(ApiError::invalid_field("overlap_hours", "0 to 168 hours"));
    }
    let endpoint = find(state, principal, id).await?;
    let now = OffsetDateTime::now_utc();
    let secret = signature::new_secret();
    let mut active: webhook_endpoint::ActiveModel = endpoint.clone().into();
    let context = secret_context(endpoint.organization_id, id);
    active.secret_ciphertext = Set(state.keyring.seal_text(&secret, &context));
    let (previous, until) = match overlap {
        0 => (None, None),
        hours => (Some(endpoint.secret_ciphertext.clone()), Some(now + time::Duration::hours(i64::from(hours)))),
    };
    active.previous_secret_ciphertext = Set(previous);
    active.previous_secret_expires_at = Set(until);
    active.updated_at = Set(now);
    let txn = begin_write(&state.db).await?;
    let updated = active.update(&txn).await?;
    audit(&txn, state, principal, OperatorEventKind::WebhookSecretRotated, id).await?;
    txn.commit().await?;
    tracing::info!(webhook_id = %id, by = ?principal.actor().id, overlap_hours = overlap, "webhook secret rotated");
    Ok(WebhookSecret { webhook: WebhookView::of(&updated, state, principal)?, secret })
}

/// Sends endpoint `id` a `webhook.test` event; a disabled endpoint is refused
/// (`409 webhook_disabled`).
pub async fn test(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<DeliveryQueued> {
    principal.require(Permission::ManageWebhooks)?;
    let endpoint = find(state, principal, id).await?;
    if !endpoint.enabled {
        return Err(disabled_endpoint());
    }
    let now = OffsetDateTime::now_utc();
    let event = webhook_event::Model {
        id: Uuid::now_v7(),
        organization_id: endpoint.organization_id,
        event_type: EventType::Test.as_str().to_owned(),
        request_id: None,
        data: serde_json::json!({ "webhook_id": endpoint.id }),
        payload: None,
        dispatched: true,
        created_at: now,
    };
    let payload = fanout::payload(&event, None, &state.settings.public_url);
    let delivery = fanout::new_delivery(&event, endpoint.id, now);
    let delivery_id = delivery.id.clone().unwrap();
    let txn = begin_write(&state.db).await?;
    webhook_event::ActiveModel { payload: Set(Some(payload)), ..webhook_event::ActiveModel::from(event) }
        .insert(&txn)
        .await?;
    delivery.insert(&txn).await?;
    txn.commit().await?;
    state.queue.wake.signal(lethe_worker::webhooks::QUEUE);
    Ok(DeliveryQueued { delivery_id })
}

fn disabled_endpoint() -> ApiError {
    ApiError::conflict("webhook_disabled", "this endpoint is disabled; enable it first")
}

/// Endpoint `id`'s latest 50 deliveries, newest first, each with its attempts.
pub async fn deliveries(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<Vec<DeliveryView>> {
    principal.require(Permission::ReadWebhooks)?;
    let endpoint = find(state, principal, id).await?;
    let org = endpoint.organization_id;
    let rows = webhook_delivery::Model::latest(&state.db, org, endpoint.id, LOG_DELIVERIES).await?;
    let ids: Vec<Uuid> = rows.iter().map(|d| d.id).collect();
    let event_ids: Vec<Uuid> = rows.iter().map(|d| d.event_id).collect();
    let attempts = webhook_attempt::Model::of_deliveries(&state.db, org, &ids).await?;
    let events: std::collections::HashMap<Uuid, String> = if event_ids.is_empty() {
        Default::default()
    } else {
        webhook_event::Entity::find()
            .filter(webhook_event::Column::OrganizationId.eq(org))
            .filter(webhook_event::Column::Id.is_in(event_ids))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|e| (e.id, e.event_type))
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|d| DeliveryView {
            id: d.id,
            event_id: d.event_id,
            event_type: events.get(&d.event_id).cloned().unwrap_or_default(),
            request_id: d.request_id,
            status: d.status,
            attempts: d.attempts,
            next_attempt_at: (d.status == DeliveryStatus::Pending).then_some(d.next_attempt_at),
            created_at: d.created_at,
            finished_at: d.finished_at,
            attempt_log: attempts
                .iter()
                .filter(|a| a.delivery_id == d.id)
                .map(|a| AttemptView {
                    at: a.at,
                    http_status: a.http_status,
                    latency_ms: a.latency_ms,
                    error_code: a.error_code.clone(),
                    response_excerpt: a.response_excerpt.clone(),
                })
                .collect(),
        })
        .collect())
}

/// Sends delivery `delivery` of endpoint `id` again, now, with a fresh schedule (the same
/// `webhook-id`: a receiver that already has it may drop it). A delivery still pending is
/// refused (`409 delivery_pending`): it is sent anyway.
pub async fn redeliver(state: &AppState, principal: &Principal, id: Uuid, delivery: Uuid) -> ApiResult<DeliveryQueued> {
    principal.require(Permission::ManageWebhooks)?;
    let endpoint = find(state, principal, id).await?;
    if !endpoint.enabled {
        return Err(disabled_endpoint());
    }
    let found = webhook_delivery::Entity::find_by_id(delivery)
        .filter(webhook_delivery::Column::OrganizationId.eq(endpoint.organization_id))
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint.id))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("delivery_not_found", "no delivery with this id for this endpoint"))?;
    let now = OffsetDateTime::now_utc();
    let done = webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, Expr::value(DeliveryStatus::Pending))
        .col_expr(webhook_delivery::Column::Attempts, Expr::value(0))
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now))
        .col_expr(webhook_delivery::Column::LeaseUntil, Expr::value(Option::<OffsetDateTime>::None))
        .col_expr(webhook_delivery::Column::FinishedAt, Expr::value(Option::<OffsetDateTime>::None))
        .filter(webhook_delivery::Column::Id.eq(found.id))
        .filter(webhook_delivery::Column::Status.ne(DeliveryStatus::Pending))
        .exec(&state.db)
        .await?;
    if done.rows_affected != 1 {
        return Err(ApiError::conflict("delivery_pending", "this delivery is still pending; it will be sent"));
    }
    state.queue.wake.signal(lethe_worker::webhooks::QUEUE);
    tracing::info!(webhook_id = %id, delivery_id = %found.id, by = ?principal.actor().id, "webhook redelivery queued");
    Ok(DeliveryQueued { delivery_id: found.id })
}

#[cfg(test)]
mod tests {
    use super::origin_only;

    #[test]
    fn readers_see_only_the_origin() {
        assert_eq!(origin_only("https://hooks.example.com/services/T0/B0/secret?x=1"), "https://hooks.example.com/…");
        assert_eq!(origin_only("http://127.0.0.1:9000?token=abc"), "http://127.0.0.1:9000/…");
        assert_eq!(origin_only("https://h.example"), "https://h.example/…");
    }
}
