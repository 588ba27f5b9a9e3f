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

pub mod crypto;
pub mod download;
pub mod link;
pub mod package;
pub mod purge;
pub mod service;

use std::collections::BTreeMap;

use lethe_entities::StoreKind;
use lethe_entities::domain::enums::{EventKind, IdentityKind, RequestKind, RequestState, TaskStatus};
use lethe_entities::entity::export::{self, ExportState, ExportStep};
use lethe_entities::entity::request::{self, Actor};
use lethe_entities::entity::store_task::{Step, TaskError, TaskEvent};
use lethe_entities::entity::{
    Commit, begin_write, organization, request_event, store, store_task, subject_identity, task_return,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use time::OffsetDateTime;
use uuid::Uuid;

pub use purge::purge_expired;

use crate::context::JobContext;
use crate::error::{ExportError, JobError};
use crate::i18n::{Locale, Terms};
use crate::locate::{Mode, Outcome, locate};
use crate::mail::{Branding, ExportReadyMail};
use crate::portal_link;
use crate::queue::FollowUp;
use crate::stores::StoreError;
use crate::tasks;

/// The associated data a package file is sealed with: the organization and the export.
pub fn file_context(export: &export::Model) -> Vec<u8> {
    let mut ctx = Vec::with_capacity(48);
    ctx.extend_from_slice(b"lethe-export-file\0");
    ctx.extend_from_slice(export.organization_id.as_bytes());
    ctx.extend_from_slice(export.id.as_bytes());
    ctx
}

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
        if !build(ctx, request, row.as_ref()).await? {
            // Waiting, blocked or nothing to package: the request completes only if every task
            // is done or waived (operators settled every store by hand).
            next.extend(complete(ctx, org, id).await?);
            return Ok(());
        }
        row = export::Model::of_request(&ctx.db, org, id).await?;
    }
    let row = row.ok_or_else(|| JobError::Permanent("the export row vanished".into()))?;
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
    let subject = tasks::subject(&ctx.db, &ctx.keyring, org, id).await.map_err(JobError::Permanent)?;
    crate::services::run(ctx, request, &tasks, &subject, &service::Access, next).await
}

/// The request's export row, created in `building` if missing.
async fn ensure(db: &DatabaseConnection, org: Uuid, request: Uuid, max_downloads: i32) -> Result<export::Model, DbErr> {
    let now = OffsetDateTime::now_utc();
    export::Entity::insert(export::ActiveModel::building(org, request, max_downloads, now))
        .on_conflict_do_nothing_on([export::Column::RequestId])
        .exec(db)
        .await?;
    export::Model::of_request(db, org, request).await?.ok_or_else(|| DbErr::RecordNotFound("export".into()))
}

/// Builds the package if every store could be searched (creating the export's row when it
/// starts); returns whether the export is past `building` now (built by this call or by
/// another worker).
async fn build(ctx: &JobContext, request: &request::Model, row: Option<&export::Model>) -> Result<bool, JobError> {
    let (db, org) = (&ctx.db, request.organization_id);
    let tasks = store_task::Model::of_request(db, org, request.id).await?;
    if tasks.iter().any(|t| t.status == TaskStatus::Pending) {
        tracing::info!(request_id = %request.id, "export waits: stores are still being located");
        return Ok(false);
    }
    if tasks
        .iter()
        .any(|t| t.store_kind == StoreKind::Http && matches!(t.status, TaskStatus::Waiting | TaskStatus::Calling))
    {
        tracing::info!(request_id = %request.id, "export waits: a service has not returned the data yet");
        return Ok(false);
    }
    if tasks.iter().any(|t| t.store_kind == StoreKind::Manual && t.status == TaskStatus::Waiting) {
        tracing::info!(request_id = %request.id, "export waits: a manual store's task is not completed yet");
        return Ok(false);
    }
    let failed: Vec<&str> =
        tasks.iter().filter(|t| t.status == TaskStatus::Failed).map(|t| t.store_name.as_str()).collect();
    if !failed.is_empty() {
        blocked(db, request, &failed).await?;
        return Ok(false);
    }
    let located: Vec<&store_task::Model> = tasks.iter().filter(|t| t.status == TaskStatus::Located).collect();
    let mut attached = Vec::new();
    for task in tasks.iter().filter(|t| t.store_kind == StoreKind::Manual && t.status == TaskStatus::Done) {
        if let Some(file) = task_return::Model::of_task(db, org, task.id).await? {
            attached.push((task, file));
        }
    }
    if located.is_empty() && attached.is_empty() {
        tracing::info!(request_id = %request.id, "no export: no store was located and no file attached");
        return Ok(false);
    }
    let row = match row {
        Some(row) => row.clone(),
        None => ensure(db, org, request.id, ctx.exports.max_downloads).await?,
    };
    let row = &row;
    let (stores, services): (Vec<store::Model>, Vec<store::Model>) = store::Model::all_in_org(db, org)
        .await?
        .into_iter()
        .filter(|s| located.iter().any(|t| t.store_id == s.id))
        .partition(|s| s.kind.is_automated());
    let not_included: Vec<(String, StoreKind)> = tasks
        .iter()
        .filter(|t| !stores.iter().chain(&services).any(|s| s.id == t.store_id))
        .filter(|t| !attached.iter().any(|(a, _)| a.id == t.id))
        .map(|t| (t.store_name.clone(), t.store_kind))
        .collect();
    let subject = tasks::subject(db, &ctx.keyring, org, request.id).await.map_err(JobError::Permanent)?;
    let inputs = tasks::inputs(&stores, &ctx.stores, &ctx.keyring).await;
    let organization = organization::Entity::find_by_id(org)
        .one(db)
        .await?
        .ok_or_else(|| JobError::Permanent("organization not found".into()))?;

    let dir = ctx.exports.dir.clone();
    std::fs::create_dir_all(&dir).map_err(ExportError::from)?;
    let work = tempfile::Builder::new().prefix(".build-").tempdir_in(&dir).map_err(ExportError::from)?;
    let mut spool = package::Spool::new(work.path(), stores.iter().chain(&services).map(|s| (s.name.clone(), s.kind)));
    let started = std::time::Instant::now();
    let mut returned = BTreeMap::new();
    for task in located.iter().filter(|t| services.iter().any(|s| s.id == t.store_id)) {
        returned.insert(task.store_name.clone(), service::spool_rows(db, &ctx.keyring, task, &mut spool).await?);
    }
    for (task, stored) in &attached {
        let plain = stored.open(&ctx.keyring).map_err(|_| ExportError::Crypto)?;
        let file = task_return::Attachment::decode(&plain).ok_or(ExportError::Crypto)?;
        spool.attach(&task.store_name, &file.file_name, &file.content).map_err(ExportError::from)?;
    }
    let report = locate(&inputs, &subject, Mode::Rows, &mut |located| spool.push(located)).await;
    let failures: Vec<(String, StoreError)> = report
        .stores
        .iter()
        .filter_map(|(name, outcome)| match outcome {
            Outcome::Failed(e) => Some((name.clone(), e.clone())),
            _ => None,
        })
        .collect();
    if !failures.is_empty() {
        for (name, error) in &failures {
            if let Some(task) = located.iter().find(|t| &t.store_name == name) {
                fail_task(db, task, error).await?;
            }
        }
        let names: Vec<&str> = failures.iter().map(|(n, _)| n.as_str()).collect();
        blocked(db, request, &names).await?;
        return Ok(false);
    }
    let spooled = spool.finish().map_err(ExportError::from)?;
    let counts: BTreeMap<String, BTreeMap<String, u64>> = report
        .stores
        .into_iter()
        .filter_map(|(name, outcome)| match outcome {
            Outcome::Located(counts) => Some((name, counts)),
            _ => None,
        })
        .chain(returned)
        .collect();
    let rows = spooled.rows();
    let now = OffsetDateTime::now_utc();
    let info = package::PackageInfo {
        organization: organization.name.clone(),
        request_id: request.id,
        generated_at: now,
        stores: stores
            .iter()
            .filter_map(|s| Some(package::PackageStore { name: s.name.clone(), kind: s.kind, map: s.saved_map()? }))
            .chain(services.iter().map(|s| package::PackageStore {
                name: s.name.clone(),
                kind: s.kind,
                map: s.saved_map().unwrap_or_else(lethe_entities::datamap::DataMap::empty),
            }))
            .chain(attached.iter().map(|(task, _)| package::PackageStore {
                name: task.store_name.clone(),
                kind: task.store_kind,
                map: lethe_entities::datamap::DataMap::empty(),
            }))
            .collect(),
        not_included,
    };
    let key = crypto::generate_key();
    let file_name = format!("{}-{}.bin", row.id.simple(), Uuid::new_v4().simple());
    let path = dir.join(&file_name);
    let context = file_context(row);
    let assembled = {
        let (path, key) = (path.clone(), key.clone());
        tokio::task::spawn_blocking(move || {
            let result = package::assemble(&spooled, &info, &path, &key, &context);
            drop(work);
            result
        })
        .await
        .map_err(|_| ExportError::Package("the packaging task failed".into()))?
    };
    let file_bytes = match assembled {
        Ok(bytes) => bytes,
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            return Err(e.into());
        }
    };
    let sealed_key = export::seal_key(&ctx.keyring, org, row.id, &key[..]);
    let counts_json = serde_json::to_value(&counts).expect("counts serialise");
    let step = ExportStep::Package {
        file_name,
        key_ciphertext: sealed_key,
        row_count: rows as i64,
        counts: counts_json,
        file_bytes: file_bytes as i64,
        expires_at: now + organization.export_link_ttl(ctx.exports.link_ttl),
    };
    let ready = row.apply(db, step, now, None).await;
    match ready {
        Ok(true) => {
            tracing::info!(
                request_id = %request.id,
                export_id = %row.id,
                rows,
                bytes = file_bytes,
                millis = started.elapsed().as_millis() as u64,
                "access package built"
            );
        }
        // Another worker built it first (or the update failed): this file is not used.
        other => {
            let _ = std::fs::remove_file(&path);
            other?;
        }
    }
    Ok(true)
}

/// Issues a link, e-mails it to the verified address and records it (see the module docs).
async fn offer(ctx: &JobContext, request: &request::Model, row: &export::Model) -> Result<(), JobError> {
    let (db, org) = (&ctx.db, request.organization_id);
    let organization = organization::Entity::find_by_id(org)
        .one(db)
        .await?
        .ok_or_else(|| JobError::Permanent("organization not found".into()))?;
    let email = subject_identity::Model::of_request(db, org, request.id)
        .await?
        .into_iter()
        .find(|i| i.kind == IdentityKind::Email)
        .ok_or_else(|| JobError::Permanent("request has no e-mail identity".into()))?
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
        .insert(&txn)
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

/// `located` -> `failed` for a store that failed while the package was built, with the same
/// timeline event locating records, so that locating again retries it.
async fn fail_task(db: &DatabaseConnection, task: &store_task::Model, error: &StoreError) -> Result<(), TaskError> {
    let txn = begin_write(db).await?;
    let detail = serde_json::json!({ "store": task.store_name, "code": error.code(), "message": error.to_string() });
    let step = Step::Fail { code: error.code().to_owned(), message: error.to_string() };
    task.apply(&txn, TaskStatus::Located, step, Some(TaskEvent::system(EventKind::StoreFailed, detail))).await?;
    Ok(txn.commit().await?)
}

/// Records that the package waits for failed stores.
async fn blocked(db: &DatabaseConnection, request: &request::Model, stores: &[&str]) -> Result<(), DbErr> {
    tracing::warn!(request_id = %request.id, stores = ?stores, "access package not built: a store could not be searched");
    request_event::ActiveModel::record(
        request.organization_id,
        request.id,
        Actor::SYSTEM,
        EventKind::ExportBlocked,
        None,
        None,
        Some(serde_json::json!({ "stores": stores })),
    )
    .insert(db)
    .await?;
    Ok(())
}
