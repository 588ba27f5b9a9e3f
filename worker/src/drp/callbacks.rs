//! Status callbacks to authorized agents (DRP 1.0 section 2.03): a `POST` of the request's
//! Exercise Status document to the `status_callback` the agent gave, whenever the status
//! differs from the last one the agent answered with a 2xx. The pass is level-triggered: it
//! reads the requests whose callbacks are open, so a status change is never lost (one that
//! happens while a callback is failing replaces it: the agent gets the latest, as the
//! specification asks). A failed callback is tried again on [`CallbackSettings::schedule`];
//! once a final status (fulfilled, denied, revoked) was delivered, or the schedule ran out for
//! it, the request's callbacks close. The URL is checked against the target policy before every
//! attempt and the client pinned to the checked addresses; redirects are not followed.

use std::collections::HashMap;
use std::time::Duration;

use lethe_entities::drp::status::Status;
use lethe_entities::entity::{drp_request, organization, request};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use time::OffsetDateTime;

use super::document;
use crate::context::JobContext;
use crate::webhooks::clients::Clients;

/// Requests looked at per pass.
const BATCH: u64 = 500;

/// How callbacks are sent.
#[derive(Debug, Clone)]
pub struct CallbackSettings {
    /// How often the pass looks for statuses to send.
    pub poll: Duration,
    /// The waits after each failed attempt for one status; when they run out the status is
    /// given up (a later status is sent again from the start).
    pub schedule: Vec<Duration>,
    /// How long one attempt may take.
    pub timeout: Duration,
}

impl Default for CallbackSettings {
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(60 * m);
        Self {
            poll: Duration::from_secs(1),
            schedule: vec![
                Duration::from_secs(5),
                Duration::from_secs(30),
                minutes(2),
                minutes(10),
                minutes(30),
                minutes(60),
                minutes(180),
                minutes(360),
                minutes(720),
                minutes(1440),
            ],
            timeout: Duration::from_secs(15),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Callbacks answered with a 2xx.
    pub delivered: usize,
    /// Callbacks that failed.
    pub failed: usize,
}

/// Sends the callbacks due now.
pub async fn run_once(ctx: &JobContext, settings: &CallbackSettings, clients: &Clients) -> Result<Pass, DbErr> {
    let now = OffsetDateTime::now_utc();
    let open = drp_request::Entity::find()
        .filter(drp_request::Column::CallbackOpen.eq(true))
        .order_by_asc(drp_request::Column::Id)
        .limit(BATCH)
        .all(&ctx.db)
        .await?;
    if open.is_empty() {
        return Ok(Pass::default());
    }
    let ids: Vec<_> = open.iter().map(|r| r.id).collect();
    let requests: HashMap<_, _> = request::Entity::find()
        .filter(request::Column::Id.is_in(ids))
        .all(&ctx.db)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let mut slugs: HashMap<uuid::Uuid, String> = HashMap::new();
    let mut pass = Pass::default();
    for filed in open {
        let Some(req) = requests.get(&filed.id) else { continue };
        let status = document::status_of(&ctx.keyring, req);
        let key = status.key();
        if filed.callback_sent.as_deref() == Some(key.as_str()) {
            if status.is_final() {
                close(ctx, filed).await?;
            }
            continue;
        }
        let new_status = filed.callback_status.as_deref() != Some(key.as_str());
        if !new_status && filed.callback_next_at.is_some_and(|at| at > now) {
            continue;
        }
        let slug = match slugs.get(&filed.organization_id) {
            Some(slug) => slug.clone(),
            None => {
                let org = organization::Entity::find_by_id(filed.organization_id).one(&ctx.db).await?;
                let slug = org.map(|o| o.slug).unwrap_or_default();
                slugs.insert(filed.organization_id, slug.clone());
                slug
            }
        };
        let doc = document::of(&ctx.keyring, &ctx.exports.public_url, &slug, req, &filed);
        let attempts = if new_status { 0 } else { filed.callback_attempts };
        match send(ctx, settings, clients, &filed, &doc).await {
            Ok(()) => {
                delivered(ctx, filed, &key, status).await?;
                pass.delivered += 1;
            }
            Err(code) => {
                failed(ctx, settings, filed, (&key, status), attempts, code).await?;
                pass.failed += 1;
            }
        }
    }
    Ok(pass)
}

/// Posts `doc` to the request's callback URL; the stable code of a failure.
async fn send(
    ctx: &JobContext,
    settings: &CallbackSettings,
    clients: &Clients,
    filed: &drp_request::Model,
    doc: &document::ExerciseStatus,
) -> Result<(), &'static str> {
    let url = filed.callback(&ctx.keyring).map_err(|_| "crypto")?.ok_or("no_callback")?;
    let url = reqwest::Url::parse(&url).map_err(|_| "invalid_url")?;
    let (client, _) = clients.for_url(ctx.stores.policy(), &url, settings.timeout).await.map_err(|_| "refused")?;
    match client.post(url).json(doc).send().await {
        Ok(answer) if answer.status().is_success() => Ok(()),
        Ok(_) => Err("http_status"),
        Err(e) if e.is_timeout() => Err("timeout"),
        Err(_) => Err("connection"),
    }
}

async fn delivered(ctx: &JobContext, filed: drp_request::Model, key: &str, status: Status) -> Result<(), DbErr> {
    let mut active = filed.into_active_model();
    active.callback_sent = Set(Some(key.to_owned()));
    active.callback_status = Set(Some(key.to_owned()));
    active.callback_attempts = Set(0);
    active.callback_next_at = Set(None);
    active.callback_error = Set(None);
    active.callback_open = Set(!status.is_final());
    active.update(&ctx.db).await.map(|_| ())
}

async fn failed(
    ctx: &JobContext,
    settings: &CallbackSettings,
    filed: drp_request::Model,
    (key, status): (&str, Status),
    attempts: i32,
    code: &'static str,
) -> Result<(), DbErr> {
    let attempts = attempts + 1;
    let wait = settings.schedule.get(usize::try_from(attempts - 1).unwrap_or(usize::MAX)).copied();
    tracing::warn!(request_id = %filed.id, error = code, attempts, "DRP status callback failed");
    let mut active = filed.into_active_model();
    active.callback_status = Set(Some(key.to_owned()));
    active.callback_attempts = Set(attempts);
    active.callback_error = Set(Some(code.to_owned()));
    match wait {
        Some(wait) => active.callback_next_at = Set(Some(OffsetDateTime::now_utc() + wait)),
        // The schedule ran out for this status: a final one closes the callbacks; another
        // waits for the next status (checked every pass, sent from the start).
        None => {
            active.callback_next_at = Set(Some(OffsetDateTime::now_utc() + time::Duration::days(3650)));
            if status.is_final() {
                active.callback_open = Set(false);
            }
        }
    }
    active.update(&ctx.db).await.map(|_| ())
}

async fn close(ctx: &JobContext, filed: drp_request::Model) -> Result<(), DbErr> {
    let mut active = filed.into_active_model();
    active.callback_open = Set(false);
    active.update(&ctx.db).await.map(|_| ())
}

/// Runs the pass every `settings.poll` until `stop` resolves.
pub async fn run(ctx: JobContext, settings: CallbackSettings, stop: impl std::future::Future<Output = ()>) {
    let clients = Clients::default();
    let mut ticks = tokio::time::interval(settings.poll);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            _ = ticks.tick() => {
                if let Err(e) = run_once(&ctx, &settings, &clients).await {
                    tracing::warn!(error = %e, "DRP status callbacks failed");
                }
            }
        }
    }
}
