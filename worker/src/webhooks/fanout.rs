//! Fanning announced events out: each event of the outbox not yet dispatched gets its payload
//! (the announced facts, plus the request's kind, regime, due date and links) and one delivery
//! per endpoint of its organization that wants it, in one transaction that also marks it
//! dispatched. Endpoints disabled because they kept failing still get deliveries (they are sent
//! once the endpoint is enabled again); endpoints an admin disabled do not.
//!
//! Several processes may fan out at once: on PostgreSQL each takes different events
//! (`FOR UPDATE SKIP LOCKED`); on SQLite writers take turns; and the unique (event, endpoint)
//! index keeps one delivery each whatever happens.

use std::collections::HashMap;

use lethe_entities::entity::webhook_delivery::{self, DeliveryStatus};
use lethe_entities::entity::webhook_endpoint::{self, disabled};
use lethe_entities::entity::{Commit, begin, request, webhook_event};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, LockBehavior, LockType, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// How many events one transaction fans out.
const BATCH: u64 = 200;

/// Fans out one batch of events; returns how many events it dispatched (0: none waited).
pub async fn batch(db: &DatabaseConnection, public_url: &str) -> Result<usize, DbErr> {
    // Lazy: a commit lost with the database server is redone (events fanned out again, an
    // attempt sent again: delivery is at least once).
    let txn = begin(db, Commit::Lazy).await?;
    let mut query = webhook_event::Entity::find()
        .filter(webhook_event::Column::Dispatched.eq(false))
        .order_by_asc(webhook_event::Column::Id)
        .limit(BATCH);
    if txn.get_database_backend() == DbBackend::Postgres {
        query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let events = query.all(&txn).await?;
    if events.is_empty() {
        txn.commit().await?;
        return Ok(0);
    }
    let endpoints = endpoints_of(&txn, &events).await?;
    let requests = requests_of(&txn, &events).await?;
    let now = OffsetDateTime::now_utc();
    let mut deliveries = Vec::new();
    let mut unwanted = Vec::new();
    for event in &events {
        let wanting: Vec<Uuid> = endpoints
            .get(&event.organization_id)
            .into_iter()
            .flatten()
            .filter(|e| e.wants(&event.event_type))
            .map(|e| e.id)
            .collect();
        if wanting.is_empty() {
            unwanted.push(event.id);
            continue;
        }
        let payload = payload(event, event.request_id.and_then(|id| requests.get(&id)), public_url);
        webhook_event::Entity::update_many()
            .col_expr(webhook_event::Column::Payload, Expr::value(Some(payload)))
            .col_expr(webhook_event::Column::Dispatched, Expr::value(true))
            .filter(webhook_event::Column::Id.eq(event.id))
            .exec(&txn)
            .await?;
        deliveries.extend(wanting.into_iter().map(|endpoint| new_delivery(event, endpoint, now)));
    }
    // Events no endpoint wants are marked at once, without a payload.
    if !unwanted.is_empty() {
        webhook_event::Entity::update_many()
            .col_expr(webhook_event::Column::Dispatched, Expr::value(true))
            .filter(webhook_event::Column::Id.is_in(unwanted))
            .exec(&txn)
            .await?;
    }
    for chunk in deliveries.chunks(500) {
        webhook_delivery::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([webhook_delivery::Column::EventId, webhook_delivery::Column::EndpointId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(events.len())
}

/// A pending delivery of `event` to `endpoint`, due now.
pub fn new_delivery(
    event: &webhook_event::Model,
    endpoint: Uuid,
    now: OffsetDateTime,
) -> webhook_delivery::ActiveModel {
    webhook_delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(event.organization_id),
        endpoint_id: Set(endpoint),
        event_id: Set(event.id),
        request_id: Set(event.request_id),
        status: Set(DeliveryStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        lease_until: Set(None),
        last_http_status: Set(None),
        last_error_code: Set(None),
        created_at: Set(now),
        finished_at: Set(None),
    }
}

/// The endpoints of the events' organizations that take deliveries, by organization.
async fn endpoints_of(
    db: &impl ConnectionTrait,
    events: &[webhook_event::Model],
) -> Result<HashMap<Uuid, Vec<webhook_endpoint::Model>>, DbErr> {
    let mut orgs: Vec<Uuid> = events.iter().map(|e| e.organization_id).collect();
    orgs.sort_unstable();
    orgs.dedup();
    let endpoints = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganizationId.is_in(orgs))
        .filter(
            Condition::any()
                .add(webhook_endpoint::Column::Enabled.eq(true))
                .add(webhook_endpoint::Column::DisabledReason.eq(disabled::FAILING)),
        )
        .all(db)
        .await?;
    let mut by_org: HashMap<Uuid, Vec<webhook_endpoint::Model>> = HashMap::new();
    for endpoint in endpoints {
        by_org.entry(endpoint.organization_id).or_default().push(endpoint);
    }
    Ok(by_org)
}

/// The events' requests, by id.
async fn requests_of(
    db: &impl ConnectionTrait,
    events: &[webhook_event::Model],
) -> Result<HashMap<Uuid, request::Model>, DbErr> {
    let mut ids: Vec<Uuid> = events.iter().filter_map(|e| e.request_id).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = request::Entity::find().filter(request::Column::Id.is_in(ids)).all(db).await?;
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}

/// The Standard Webhooks payload of `event`: `type`, `timestamp` and `data` (the announced
/// facts, such as the state a request moved to, the organization, and the request's kind,
/// regime, due date and links when there is one).
pub fn payload(event: &webhook_event::Model, request: Option<&request::Model>, public_url: &str) -> Value {
    let base = public_url.trim_end_matches('/');
    let mut data = match &event.data {
        Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    data.insert("organization_id".into(), json!(event.organization_id));
    if let Some(r) = request.filter(|r| r.organization_id == event.organization_id) {
        data.insert(
            "request".into(),
            json!({
                "id": r.id,
                "kind": r.kind,
                "regime": r.regime,
                "due_at": r.due_at.format(&Rfc3339).ok(),
                "links": {
                    "api": format!("{base}/v1/requests/{}", r.id),
                    "console": format!("{base}/console/requests/{}", r.id),
                },
            }),
        );
    }
    json!({
        "type": event.event_type,
        "timestamp": event.created_at.format(&Rfc3339).ok(),
        "data": data,
    })
}
