//! Outbound webhooks: events announced in the outbox ([`lethe_entities::webhook`]) are fanned
//! out to the endpoints that want them ([`fanout`]), then sent with Standard Webhooks
//! signatures ([`send`], [`signature`]), retried on the [`schedule`] for more than three days,
//! in order per request and endpoint ([`claim`]).
//!
//! Every worker process runs one dispatcher ([`run`]). It works as soon as there is work: woken
//! by PostgreSQL's `NOTIFY` (a trigger on the outbox and on deliveries made due), by its own
//! finished sends, or when the next retry falls due; on SQLite, which has no notifications
//! between connections, it looks every `poll` (50 ms by default: one indexed read when idle).
//! Several processes share the work through leases (a lease that lapses, its worker having
//! died, is taken again: delivery is at least once; receivers drop duplicates by `webhook-id`).
//! Deliveries that ended, and their events, are kept 30 days ([`prune`]).

pub mod claim;
pub mod clients;
pub mod fanout;
pub mod prune;
pub mod schedule;
pub mod send;
pub mod signature;
pub mod target;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use lethe_entities::entity::webhook_delivery::DeliveryStatus;
use lethe_entities::entity::{webhook_delivery, webhook_endpoint, webhook_event};
use sea_orm::{
    ColumnTrait, DbBackend, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect, RelationTrait,
};
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use uuid::Uuid;

pub use schedule::Schedule;

use crate::context::JobContext;
use crate::queue::wake::Slot;

/// The wake-up slot of the dispatcher (the job type the outbox's `NOTIFY` names).
pub const QUEUE: &str = "lethe.webhooks";

/// How webhooks are sent.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// When failed deliveries are tried again.
    pub schedule: Schedule,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// How many deliveries one process sends at once.
    pub concurrency: usize,
    /// How often the dispatcher looks for work nobody announced (SQLite; PostgreSQL notifies,
    /// and is looked at every second as a fallback).
    pub poll: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            schedule: Schedule::default(),
            timeout: Duration::from_secs(15),
            concurrency: 32,
            poll: Duration::from_millis(50),
        }
    }
}

/// What sending needs, shared by the dispatcher's sends.
pub struct Dispatcher {
    /// The worker's context (database, keyring, target policy, queue).
    pub ctx: JobContext,
    /// The settings.
    pub settings: WebhookSettings,
    /// Clients per endpoint host.
    pub clients: clients::Clients,
}

/// How often a dispatcher prunes the outbox and the delivery log ([`prune`]).
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// How long a claimed delivery is held: longer than an attempt can take.
fn lease(settings: &WebhookSettings) -> Duration {
    settings.timeout * 2 + Duration::from_secs(30)
}

/// Runs the dispatcher until `stop` resolves. Failures are logged and the next round tries
/// again; sends in flight at the stop are finished or, cut off, taken again after their lease.
pub async fn run(ctx: JobContext, settings: WebhookSettings, stop: impl Future<Output = ()>) {
    let slot = ctx.queue.wake.slot(QUEUE);
    let poll = match ctx.db.get_database_backend() {
        DbBackend::Postgres => Duration::from_secs(1),
        _ => settings.poll,
    };
    let permits = Arc::new(Semaphore::new(settings.concurrency.max(1)));
    let dispatcher = Arc::new(Dispatcher { ctx, settings, clients: clients::Clients::default() });
    let mut sends = tokio::task::JoinSet::new();
    let mut pruned = tokio::time::Instant::now();
    tokio::pin!(stop);
    loop {
        if pruned.elapsed() >= PRUNE_EVERY {
            pruned = tokio::time::Instant::now();
            match prune::run_once(&dispatcher.ctx.db, OffsetDateTime::now_utc()).await {
                Ok((0, 0)) => {}
                Ok((deliveries, events)) => tracing::info!(deliveries, events, "old webhook deliveries pruned"),
                Err(e) => tracing::warn!(error = %e, "webhook prune failed"),
            }
        }
        let generation = slot.generation();
        let wait = match round(&dispatcher, &permits, &slot, &mut sends).await {
            Ok(Round::Again) => continue,
            Ok(Round::Wait(until_due)) => until_due.map_or(poll, |due| due.min(poll)),
            Err(e) => {
                tracing::warn!(error = %e, "webhook dispatch failed; trying again");
                poll
            }
        };
        while sends.try_join_next().is_some() {}
        tokio::select! {
            () = &mut stop => break,
            () = raised(&slot, generation) => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
    let _ =
        tokio::time::timeout(dispatcher.settings.timeout, async { while sends.join_next().await.is_some() {} }).await;
}

/// What a round found.
enum Round {
    /// It did work: look again at once.
    Again,
    /// Nothing to do now; the next retry is due in this long, if any is.
    Wait(Option<Duration>),
}

/// Fans out what waits, then starts sends for the due deliveries there are permits for.
async fn round(
    dispatcher: &Arc<Dispatcher>,
    permits: &Arc<Semaphore>,
    slot: &Arc<Slot>,
    sends: &mut tokio::task::JoinSet<()>,
) -> Result<Round, DbErr> {
    let db = &dispatcher.ctx.db;
    let undispatched = webhook_event::Entity::find()
        .select_only()
        .column(webhook_event::Column::Id)
        .filter(webhook_event::Column::Dispatched.eq(false))
        .limit(1)
        .into_tuple::<uuid::Uuid>()
        .one(db)
        .await?;
    if undispatched.is_some() && fanout::batch(db, &dispatcher.ctx.exports.public_url).await? > 0 {
        return Ok(Round::Again);
    }
    let now = OffsetDateTime::now_utc();
    let next = next_due(dispatcher).await?;
    let Some(next) = next else { return Ok(Round::Wait(None)) };
    if next > now {
        return Ok(Round::Wait(Some(Duration::try_from(next - now).unwrap_or_default())));
    }
    let free = permits.available_permits();
    if free == 0 {
        return Ok(Round::Wait(None));
    }
    let lease_until = now + lease(&dispatcher.settings);
    let claimed = claim::due(db, now, lease_until, free as u64).await?;
    if claimed.is_empty() {
        // Due, but behind an earlier delivery of the same request still being sent.
        return Ok(Round::Wait(None));
    }
    // The claimed deliveries, their events and endpoints: three reads for the whole batch.
    let deliveries =
        webhook_delivery::Entity::find().filter(webhook_delivery::Column::Id.is_in(claimed)).all(db).await?;
    let events: HashMap<Uuid, Arc<webhook_event::Model>> = webhook_event::Entity::find()
        .filter(webhook_event::Column::Id.is_in(deliveries.iter().map(|d| d.event_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, Arc::new(e)))
        .collect();
    let endpoints: HashMap<Uuid, Arc<webhook_endpoint::Model>> = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Id.is_in(deliveries.iter().map(|d| d.endpoint_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, Arc::new(e)))
        .collect();
    for delivery in deliveries {
        let (Some(event), Some(endpoint)) = (events.get(&delivery.event_id), endpoints.get(&delivery.endpoint_id))
        else {
            continue;
        };
        let (event, endpoint) = (event.clone(), endpoint.clone());
        let permit = permits.clone().acquire_owned().await.expect("the semaphore is never closed");
        let (dispatcher, slot) = (dispatcher.clone(), slot.clone());
        sends.spawn(async move {
            let id = delivery.id;
            if let Err(e) = send::attempt(&dispatcher, delivery, &event, &endpoint).await {
                tracing::warn!(delivery_id = %id, error = %e, "webhook delivery not recorded; its lease will lapse");
            }
            drop(permit);
            // The next event of the same request may be sendable now.
            slot.raise();
        });
    }
    Ok(Round::Again)
}

/// When the earliest pending, unleased delivery of an enabled endpoint is due.
async fn next_due(dispatcher: &Dispatcher) -> Result<Option<OffsetDateTime>, DbErr> {
    let now = OffsetDateTime::now_utc();
    webhook_delivery::Entity::find()
        .select_only()
        .column(webhook_delivery::Column::NextAttemptAt)
        .join(JoinType::InnerJoin, webhook_delivery::Relation::Endpoint.def())
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending))
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .filter(
            sea_orm::Condition::any()
                .add(webhook_delivery::Column::LeaseUntil.is_null())
                .add(webhook_delivery::Column::LeaseUntil.lt(now)),
        )
        .order_by_asc(webhook_delivery::Column::NextAttemptAt)
        .limit(1)
        .into_tuple::<OffsetDateTime>()
        .one(&dispatcher.ctx.db)
        .await
}

/// Resolves when `slot` is raised past `generation`.
async fn raised(slot: &Slot, generation: u64) {
    std::future::poll_fn(|cx| {
        slot.register(cx.waker());
        if slot.generation() == generation { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
}
