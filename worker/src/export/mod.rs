//! Access exports: one encrypted package per access request, offered through a signed,
//! expiring link e-mailed to the verified address, and purged at expiry.
//!
//! [`run`] is called by the fulfilment job once the request's stores are located. Each export
//! has one row (`exports`, unique per request) moving `building` -> `ready` -> `purged`, and every
//! step is idempotent, so a job that runs twice, crashes anywhere or is retried does no harm:
//!
//! 1. **Build** (state `building`): first the HTTP services whose call is due are asked for
//!    the person's data ([`crate::services`]; what they return is kept encrypted, [`service`]).
//!    Then only when no store task is pending or failed (a failed store would make the package
//!    incomplete: an `export_blocked` event is recorded and the request stays in progress until
//!    locating again succeeds or the task is waived), no service is still working and no
//!    manual task waits for an operator. The subject's rows are located again in the automated
//!    stores whose task is `located`, with whole rows ([`Mode::Rows`]), and with the rows the
//!    services returned and the files operators attached to manual tasks are spooled per
//!    table to encrypted temporary files ([`package::Spool`]) and assembled into one ZIP written
//!    straight into `<exports dir>/<export id>-<attempt>.bin`, encrypted under a fresh key
//!    ([`crypto`]). A compare-and-set UPDATE (`state = 'building'`) moves the row to `ready`
//!    with the file name, the key wrapped under the master key and the counts; a worker that
//!    loses the race deletes its file. A store that fails now marks its task `failed`.
//! 2. **Offer** (`ready`, not yet mailed): a new link token is issued (only its digest is stored,
//!    by compare-and-set on the previous digest), the link is e-mailed to the request's verified
//!    address, then `mailed_at` is set with an `export_ready` event. A crash between mail and
//!    record sends a second mail on the retry whose link supersedes the first.
//! 3. **Finish**: what the tasks returned is deleted, the tasks of the stores in the package
//!    move `located` -> `done` (compare-and-set), and the request completes once every task is
//!    done or waived.
//!
//! Purging at expiry is [`purge::purge_expired`], run every minute by each worker process.

mod build;
pub mod crypto;
pub mod download;
pub mod link;
pub mod package;
pub mod purge;
pub mod service;

use lethe_entities::domain::enums::{EventKind, IdentityKind, RequestKind, RequestState, TaskStatus};
use lethe_entities::entity::export::{self, ExportState};
use lethe_entities::entity::request::{self, Actor};
use lethe_entities::entity::store_task::{Step, TaskError};
use lethe_entities::entity::{
    Commit, begin_write, organization, request_event, store_task, subject_identity, task_return,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use time::OffsetDateTime;
use uuid::Uuid;

pub use purge::purge_expired;

use crate::context::JobContext;
use crate::error::{JobError, Missing};
use crate::i18n::{Locale, Terms};
use crate::mail::{Branding, ExportReadyMail};
use crate::portal_link;
use crate::queue::FollowUp;
use crate::tasks;

/// Builds, offers and finishes the access package of `request` (see the module
/// documentation). Does nothing for other kinds or states. What should happen next (a service
/// call later, the completion notice) is added to `next`, also when the run fails part way.
pub async fn run(ctx: &JobContext, request: &request::Model, next: &mut Vec<FollowUp>) -> Result<(), JobError> {
    if request.kind != RequestKind::Access || request.state != RequestState::InProgress {
        return Ok(());
    }
    let (org, id) = (request.organization_id, request.id);
    let mut row = export::Model::of_request(&ctx.db, org, id).await?;
    if row.as_ref().is_none_or(|r| r.state == ExportState::Building) {
        call_services(ctx, request, next).await?;
        if !build::build(ctx, request, row.as_ref()).await? {
            // Waiting, blocked or nothing to package: the request completes only if every task
            // is done or waived (operators settled every store by hand).
            next.extend(complete(ctx, org, id).await?);
            return Ok(());
        }
        row = export::Model::of_request(&ctx.db, org, id).await?;
    }
    let row = row.ok_or(Missing::Export)?;
    if row.state == ExportState::Ready && row.mailed_at.is_none() {
        offer(ctx, request, &row).await?;
    }
    next.extend(finish(ctx, &row).await?);
    Ok(())
}

/// Asks the request's HTTP services for the person's data where a call is due (see
/// [`crate::services`]); what they return is kept encrypted for the package ([`service`]).
async fn call_services(ctx: &JobContext, request: &request::Model, next: &mut Vec<FollowUp>) -> Result<(), JobError> {
    let (org, id) = (request.organization_id, request.id);
    let tasks = store_task::Model::of_request(&ctx.db, org, id).await?;
    if !crate::services::due(&tasks, &service::Access) {
        return Ok(());
    }
    let subject = tasks::subject(&ctx.db, &ctx.keyring, org, id).await?;
    crate::services::run(ctx, request, &tasks, &subject, &service::Access, next).await
}

/// Issues a link, e-mails it to the verified address and records it (see the module docs).
async fn offer(ctx: &JobContext, request: &request::Model, row: &export::Model) -> Result<(), JobError> {
    let (db, org) = (&ctx.db, request.organization_id);
    let organization = organization::Entity::find_by_id(org).one(db).await?.ok_or(Missing::Organization)?;
    let email = subject_identity::Model::of_request(db, org, request.id)
        .await?
        .into_iter()
        .find(|i| i.kind == IdentityKind::Email)
        .ok_or(Missing::EmailIdentity)?
        .open(&ctx.keyring)
        .map_err(|_| JobError::Crypto)?;
    let link = link::issue(&ctx.keyring);
    let now = OffsetDateTime::now_utc();
    let expires_at = now + organization.export_link_ttl(ctx.exports.link_ttl);
    let previous = match &row.token_digest {
        Some(digest) => export::Column::TokenDigest.eq(digest.clone()),
        None => export::Column::TokenDigest.is_null(),
    };
    let issued = export::Entity::update_many()
        .col_expr(export::Column::TokenDigest, Expr::value(Some(link.digest.clone())))
        .col_expr(export::Column::ExpiresAt, Expr::value(Some(expires_at)))
        .col_expr(export::Column::UpdatedAt, Expr::value(now))
        .filter(export::Column::Id.eq(row.id))
        .filter(export::Column::State.eq(ExportState::Ready))
        .filter(export::Column::MailedAt.is_null())
        .filter(previous)
        .exec(db)
        .await?;
    if issued.rows_affected == 0 {
        // Another worker is offering it (or it was purged).
        return Ok(());
    }
    let public_url = &ctx.exports.public_url;
    let locale = Locale::from_stored(&request.locale);
    let mail = ExportReadyMail {
        branding: Branding::of(&organization, public_url, locale),
        url: format!("{}/v1/exports/{}", public_url.trim_end_matches('/'), link.token),
        page_url: portal_link::download_url(public_url, &organization.slug, &link.token),
        expires: Terms::of(locale).date_time(expires_at),
        max_downloads: row.max_downloads,
    };
    crate::acknowledge::before_answer(ctx, request).await?;
    ctx.mailer.send(&email, &mail).await?;

    let txn = begin_write(db).await?;
    let mailed = export::Entity::update_many()
        .col_expr(export::Column::MailedAt, Expr::value(Some(OffsetDateTime::now_utc())))
        .filter(export::Column::Id.eq(row.id))
        .filter(export::Column::MailedAt.is_null())
        .filter(export::Column::TokenDigest.eq(link.digest))
        .exec(&txn)
        .await?;
    if mailed.rows_affected == 1 {
        let detail = serde_json::json!({
            "export_id": row.id,
            "row_count": row.row_count,
            "counts": row.counts,
            "expires_at": expires_at.unix_timestamp(),
            "max_downloads": row.max_downloads,
            "transport": ctx.mailer.transport_name(),
        });
        request_event::ActiveModel::record(
            org,
            request.id,
            Actor::SYSTEM,
            EventKind::ExportReady,
            None,
            None,
            Some(detail),
        )
        .insert_announced(&txn)
        .await?;
    }
    txn.commit().await?;
    tracing::info!(request_id = %request.id, export_id = %row.id, transport = ctx.mailer.transport_name(), "export link sent");
    Ok(())
}

/// Marks the packaged stores' tasks done and completes the request if nothing else is open.
async fn finish(ctx: &JobContext, row: &export::Model) -> Result<Option<FollowUp>, JobError> {
    if row.state == ExportState::Building {
        return Ok(None);
    }
    let stores: Vec<String> = row.count_map().into_keys().collect();
    // The package holds what services returned: their copies go.
    let deleted = task_return::Model::delete_of_request(&ctx.db, row.organization_id, row.request_id).await?;
    if deleted > 0 {
        tracing::info!(request_id = %row.request_id, deleted, "returned data deleted: it is in the package");
    }
    let done = mark_done(&ctx.db, row.organization_id, row.request_id, &stores).await?;
    if done > 0 {
        tracing::info!(request_id = %row.request_id, tasks = done, "store tasks done: their data is in the package");
    }
    complete(ctx, row.organization_id, row.request_id).await
}

/// Completes the request if every task is done or waived (see [`tasks::complete_if_finished`]);
/// returns the completion notice if it did.
async fn complete(ctx: &JobContext, org: Uuid, request: Uuid) -> Result<Option<FollowUp>, JobError> {
    tasks::complete_if_finished(&ctx.db, &ctx.keyring, org, request, Commit::Lazy).await.map_err(JobError::lifecycle)
}

/// `located` -> `done` for the request's tasks of `stores` (compare-and-set); returns how many.
async fn mark_done(db: &DatabaseConnection, org: Uuid, request: Uuid, stores: &[String]) -> Result<u64, TaskError> {
    if stores.is_empty() {
        return Ok(0);
    }
    store_task::Model::apply_all(db, org, request, Some(stores), TaskStatus::Located, Step::Packaged).await
}
