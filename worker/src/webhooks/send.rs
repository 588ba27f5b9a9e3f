//! One attempt at one leased delivery, and what it leaves: an attempt in the delivery log, and
//! the delivery succeeded, scheduled again, or failed for good (its endpoint then disabled and
//! its admins e-mailed).
//!
//! Headers are the Standard Webhooks ones: `webhook-id` (the event's id, the same on every
//! attempt, for the receiver to drop duplicates: delivery is at least once),
//! `webhook-timestamp` (this attempt's, in seconds) and `webhook-signature`
//! ([`super::signature`]). Any 2xx answer is success; anything else, or no answer within the
//! timeout, is a failure.

use std::time::Instant;

use lethe_entities::entity::webhook_delivery::{self, DeliveryStatus};
use lethe_entities::entity::webhook_endpoint::{self, disabled};
use lethe_entities::entity::{Commit, begin, webhook_attempt, webhook_event};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter};
use time::OffsetDateTime;
use uuid::Uuid;

use super::clients::ClientError;
use super::{Dispatcher, signature};
use crate::queue::{Alert, FollowUp};

/// The most bytes of an answer kept in the delivery log (where the tenant may see them:
/// [`crate::targets::TargetPolicy::shows_answers_of`]).
const EXCERPT_BYTES: usize = 256;

/// What one attempt got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The answer's status, if one came.
    pub http_status: Option<u16>,
    /// Why there was no answer.
    pub error_code: Option<&'static str>,
    /// The answer's first bytes.
    pub excerpt: Option<String>,
    /// Milliseconds from sending to the outcome.
    pub latency_ms: i32,
}

impl Outcome {
    /// Whether the endpoint took the event.
    pub fn succeeded(&self) -> bool {
        self.http_status.is_some_and(|s| (200..300).contains(&s))
    }

    fn failed(code: &'static str, started: Instant) -> Self {
        Self { http_status: None, error_code: Some(code), excerpt: None, latency_ms: elapsed_ms(started) }
    }
}

fn elapsed_ms(started: Instant) -> i32 {
    i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX)
}

/// Attempts the leased `delivery` of `event` to `endpoint` and records the outcome.
pub async fn attempt(
    dispatcher: &Dispatcher,
    delivery: webhook_delivery::Model,
    event: &webhook_event::Model,
    endpoint: &webhook_endpoint::Model,
) -> Result<(), DbErr> {
    if delivery.status != DeliveryStatus::Pending || !endpoint.enabled {
        return release(dispatcher, &delivery).await;
    }
    let outcome = post(dispatcher, endpoint, event).await;
    record(dispatcher, &delivery, endpoint, &outcome).await
}

/// Sends `event` to `endpoint` once.
async fn post(dispatcher: &Dispatcher, endpoint: &webhook_endpoint::Model, event: &webhook_event::Model) -> Outcome {
    let started = Instant::now();
    let keyring = &dispatcher.ctx.keyring;
    let now = OffsetDateTime::now_utc();
    let (Ok(url), Ok(secrets)) = (endpoint.url(keyring), endpoint.secrets(keyring, now)) else {
        return Outcome::failed("secret_unreadable", started);
    };
    let Ok(url) = reqwest::Url::parse(&url) else { return Outcome::failed("invalid_url", started) };
    let settings = &dispatcher.settings;
    let (client, shown) = match dispatcher.clients.for_url(dispatcher.ctx.stores.policy(), &url, settings.timeout).await
    {
        Ok(pinned) => pinned,
        Err(ClientError::Target(_) | ClientError::PlainHttp) => return Outcome::failed("target_refused", started),
        Err(ClientError::Build) => return Outcome::failed("client", started),
    };
    let body = serde_json::to_vec(event.payload.as_ref().unwrap_or(&serde_json::Value::Null))
        .expect("a JSON value serialises");
    let message_id = format!("msg_{}", event.id.simple());
    let timestamp = now.unix_timestamp();
    let signature = signature::header(&secrets, &message_id, timestamp, &body);
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(mut answer) => {
            let status = answer.status().as_u16();
            let mut excerpt = Vec::new();
            // An allowed local address's answer stays with Lethe: it could tell a tenant about a
            // service on the installation's own network.
            while shown && excerpt.len() < EXCERPT_BYTES {
                match answer.chunk().await {
                    Ok(Some(chunk)) => {
                        excerpt.extend_from_slice(&chunk[..chunk.len().min(EXCERPT_BYTES - excerpt.len())])
                    }
                    _ => break,
                }
            }
            let excerpt = (!excerpt.is_empty()).then(|| String::from_utf8_lossy(&excerpt).into_owned());
            Outcome { http_status: Some(status), error_code: None, excerpt, latency_ms: elapsed_ms(started) }
        }
        Err(e) if e.is_timeout() => Outcome::failed("timeout", started),
        Err(e) if e.is_connect() => Outcome::failed("connect", started),
        Err(_) => Outcome::failed("transport", started),
    }
}

/// Gives a delivery its lease back unsent (its endpoint was disabled meanwhile).
async fn release(dispatcher: &Dispatcher, delivery: &webhook_delivery::Model) -> Result<(), DbErr> {
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::LeaseUntil, Expr::value(Option::<OffsetDateTime>::None))
        .filter(webhook_delivery::Column::Id.eq(delivery.id))
        .exec(&dispatcher.ctx.db)
        .await?;
    Ok(())
}

/// Records `outcome` of an attempt at `delivery`.
async fn record(
    dispatcher: &Dispatcher,
    delivery: &webhook_delivery::Model,
    endpoint: &webhook_endpoint::Model,
    outcome: &Outcome,
) -> Result<(), DbErr> {
    let now = OffsetDateTime::now_utc();
    let attempts = delivery.attempts + 1;
    // Lazy: a commit lost with the database server is redone (events fanned out again, an
    // attempt sent again: delivery is at least once).
    let txn = begin(&dispatcher.ctx.db, Commit::Lazy).await?;
    webhook_attempt::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(delivery.organization_id),
        delivery_id: Set(delivery.id),
        at: Set(now),
        http_status: Set(outcome.http_status.map(i32::from)),
        latency_ms: Set(outcome.latency_ms),
        error_code: Set(outcome.error_code.map(str::to_owned)),
        response_excerpt: Set(outcome.excerpt.clone()),
    }
    .insert(&txn)
    .await?;
    let retry = if outcome.succeeded() {
        None
    } else {
        let jitter = f64::from(Uuid::new_v4().as_bytes()[0]) / 255.0;
        dispatcher.settings.schedule.after(attempts as usize, jitter)
    };
    let status = match (outcome.succeeded(), retry) {
        (true, _) => DeliveryStatus::Succeeded,
        (false, Some(_)) => DeliveryStatus::Pending,
        (false, None) => DeliveryStatus::Failed,
    };
    let mut update = webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, Expr::value(status))
        .col_expr(webhook_delivery::Column::Attempts, Expr::value(attempts))
        .col_expr(webhook_delivery::Column::LeaseUntil, Expr::value(Option::<OffsetDateTime>::None))
        .col_expr(webhook_delivery::Column::LastHttpStatus, Expr::value(outcome.http_status.map(i32::from)))
        .col_expr(webhook_delivery::Column::LastErrorCode, Expr::value(outcome.error_code.map(str::to_owned)));
    update = match retry {
        Some(wait) => update.col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now + wait)),
        None => update.col_expr(webhook_delivery::Column::FinishedAt, Expr::value(Some(now))),
    };
    update.filter(webhook_delivery::Column::Id.eq(delivery.id)).exec(&txn).await?;
    let disabled_now = status == DeliveryStatus::Failed && disable(&txn, endpoint, now).await?;
    txn.commit().await?;
    if disabled_now {
        tracing::warn!(endpoint_id = %endpoint.id, attempts, "webhook endpoint disabled: its deliveries kept failing");
        let alert = FollowUp::Alert {
            organization_id: endpoint.organization_id,
            alert: Alert::WebhookDisabled { endpoint_id: endpoint.id },
            failed_at: now,
        };
        dispatcher.ctx.queue.schedule_logged(&alert).await;
    }
    Ok(())
}

/// Disables `endpoint` for failing, if it is still enabled; whether this call did.
async fn disable(
    txn: &sea_orm::DatabaseTransaction,
    endpoint: &webhook_endpoint::Model,
    now: OffsetDateTime,
) -> Result<bool, DbErr> {
    let done = webhook_endpoint::Entity::update_many()
        .col_expr(webhook_endpoint::Column::Enabled, Expr::value(false))
        .col_expr(webhook_endpoint::Column::DisabledReason, Expr::value(Some(disabled::FAILING)))
        .col_expr(webhook_endpoint::Column::DisabledAt, Expr::value(Some(now)))
        .col_expr(webhook_endpoint::Column::UpdatedAt, Expr::value(now))
        .filter(webhook_endpoint::Column::Id.eq(endpoint.id))
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .exec(txn)
        .await?;
    Ok(done.rows_affected == 1)
}
