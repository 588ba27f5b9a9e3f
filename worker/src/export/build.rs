//! Step 1 of an export (see [`super`]): building the package once every store of the request
//! has been searched, every service has returned and every manual task is settled.

use std::collections::BTreeMap;

use lethe_entities::StoreKind;
use lethe_entities::datamap::DataMap;
use lethe_entities::domain::enums::{EventKind, TaskStatus};
use lethe_entities::entity::export::{self, ExportStep};
use lethe_entities::entity::request::{self, Actor};
use lethe_entities::entity::store_task::{Step, TaskError, TaskEvent};
use lethe_entities::entity::{
    begin_write, organization, request_event, retention_policy, store, store_task, task_return,
};
use lethe_entities::retention::PolicyAction;
use sea_orm::{DatabaseConnection, DbErr, EntityTrait};
use time::OffsetDateTime;
use uuid::Uuid;

use super::package::{self, Notice, PackageInfo, PackageStore, RetentionFact, Spool, Spooled};
use super::{crypto, service};
use crate::context::JobContext;
use crate::error::{ExportError, JobError, Missing};
use crate::i18n::Locale;
use crate::locate::{Mode, Outcome, locate};
use crate::stores::StoreError;
use crate::tasks;

/// Rows per store and table.
type Counts = BTreeMap<String, BTreeMap<String, u64>>;

/// A spooled package waiting to be assembled: its rows and files, what it says about itself,
/// the working directory that holds the spool, and its counts.
struct Assembly {
    spooled: Spooled,
    info: PackageInfo,
    work: tempfile::TempDir,
    counts: Counts,
}

/// What goes into the package: the searched stores, the stores whose services returned rows,
/// the files operators attached to manual tasks, and the stores left out.
struct Sources<'a> {
    stores: Vec<store::Model>,
    services: Vec<store::Model>,
    located: Vec<&'a store_task::Model>,
    attached: Vec<(&'a store_task::Model, task_return::Model)>,
    not_included: Vec<(String, StoreKind)>,
}

/// Builds the package if every store could be searched (creating the export's row when it
/// starts); returns whether the export is past `building` now (built by this call or by
/// another worker).
pub(super) async fn build(
    ctx: &JobContext,
    request: &request::Model,
    row: Option<&export::Model>,
) -> Result<bool, JobError> {
    let (db, org) = (&ctx.db, request.organization_id);
    let tasks = store_task::Model::of_request(db, org, request.id).await?;
    if let Some(why) = waiting(&tasks) {
        tracing::info!(request_id = %request.id, "export waits: {why}");
        return Ok(false);
    }
    let failed: Vec<&str> =
        tasks.iter().filter(|t| t.status == TaskStatus::Failed).map(|t| t.store_name.as_str()).collect();
    if !failed.is_empty() {
        blocked(db, request, &failed).await?;
        return Ok(false);
    }
    let Some(sources) = sources(db, org, &tasks).await? else {
        tracing::info!(request_id = %request.id, "no export: no store was located and no file attached");
        return Ok(false);
    };
    let row = match row {
        Some(row) => row.clone(),
        None => ensure(db, org, request.id, ctx.exports.max_downloads).await?,
    };
    let organization = organization::Entity::find_by_id(org).one(db).await?.ok_or(Missing::Organization)?;
    crate::private_fs::dir(&ctx.exports.dir).map_err(ExportError::from)?;
    let work = crate::private_fs::temp_dir_in(&ctx.exports.dir, ".build-").map_err(ExportError::from)?;
    let started = std::time::Instant::now();
    let (spooled, counts) = match spool(ctx, request, &sources, work.path()).await? {
        Ok(spooled) => spooled,
        Err(failures) => {
            for (name, error) in &failures {
                if let Some(task) = sources.located.iter().find(|t| &t.store_name == name) {
                    fail_task(db, task, error).await?;
                }
            }
            let names: Vec<&str> = failures.iter().map(|(n, _)| n.as_str()).collect();
            blocked(db, request, &names).await?;
            return Ok(false);
        }
    };
    let now = OffsetDateTime::now_utc();
    let rows = spooled.rows();
    let info = package_info(ctx, &organization, request, &sources, now).await?;
    let assembly = Assembly { info, spooled, work, counts };
    let Some(bytes) = seal(ctx, &organization, &row, assembly, now).await? else {
        return Ok(true);
    };
    tracing::info!(
        request_id = %request.id,
        export_id = %row.id,
        rows,
        bytes,
        millis = started.elapsed().as_millis() as u64,
        "access package built"
    );
    Ok(true)
}

/// Why the package cannot be built yet, if it cannot.
fn waiting(tasks: &[store_task::Model]) -> Option<&'static str> {
    let any = |kind: Option<StoreKind>, statuses: &[TaskStatus]| {
        tasks.iter().any(|t| kind.is_none_or(|k| t.store_kind == k) && statuses.contains(&t.status))
    };
    if any(None, &[TaskStatus::Pending]) {
        Some("stores are still being located")
    } else if any(Some(StoreKind::Http), &[TaskStatus::Waiting, TaskStatus::Calling]) {
        Some("a service has not returned the data yet")
    } else if any(Some(StoreKind::Manual), &[TaskStatus::Waiting]) {
        Some("a manual store's task is not completed yet")
    } else {
        None
    }
}

/// What goes into the package; `None` when nothing would (no store located, no file attached).
async fn sources<'a>(
    db: &DatabaseConnection,
    org: Uuid,
    tasks: &'a [store_task::Model],
) -> Result<Option<Sources<'a>>, DbErr> {
    let located: Vec<&store_task::Model> = tasks.iter().filter(|t| t.status == TaskStatus::Located).collect();
    let mut attached = Vec::new();
    for task in tasks.iter().filter(|t| t.store_kind == StoreKind::Manual && t.status == TaskStatus::Done) {
        if let Some(file) = task_return::Model::of_task(db, org, task.id).await? {
            attached.push((task, file));
        }
    }
    if located.is_empty() && attached.is_empty() {
        return Ok(None);
    }
    let (stores, services): (Vec<store::Model>, Vec<store::Model>) = store::Model::all_in_org(db, org)
        .await?
        .into_iter()
        .filter(|s| located.iter().any(|t| t.store_id == s.id))
        .partition(|s| s.kind.is_automated());
    let not_included = tasks
        .iter()
        .filter(|t| !stores.iter().chain(&services).any(|s| s.id == t.store_id))
        .filter(|t| !attached.iter().any(|(a, _)| a.id == t.id))
        .map(|t| (t.store_name.clone(), t.store_kind))
        .collect();
    Ok(Some(Sources { stores, services, located, attached, not_included }))
}

/// Spools what the services returned, the attached files and the located rows (searched
/// again, whole) to encrypted files under `work`. `Err` with the stores that failed now.
async fn spool(
    ctx: &JobContext,
    request: &request::Model,
    sources: &Sources<'_>,
    work: &std::path::Path,
) -> Result<Result<(Spooled, Counts), Vec<(String, StoreError)>>, JobError> {
    let (db, org) = (&ctx.db, request.organization_id);
    let all = sources.stores.iter().chain(&sources.services);
    let mut spool = Spool::new(work, all.map(|s| (s.name.clone(), s.kind)));
    let mut returned = BTreeMap::new();
    for task in sources.located.iter().filter(|t| sources.services.iter().any(|s| s.id == t.store_id)) {
        returned.insert(task.store_name.clone(), service::spool_rows(db, &ctx.keyring, task, &mut spool).await?);
    }
    for (task, stored) in &sources.attached {
        let plain = stored.open(&ctx.keyring).map_err(|_| ExportError::Crypto)?;
        let file = task_return::Attachment::decode(&plain).ok_or(ExportError::Crypto)?;
        spool.attach(&task.store_name, &file.file_name, &file.content).map_err(ExportError::from)?;
    }
    let subject = tasks::subject(db, &ctx.keyring, org, request.id).await?;
    let inputs = tasks::inputs(&sources.stores, &ctx.stores, &ctx.keyring).await;
    let report = locate(&inputs, &subject, Mode::Rows, &mut |located| spool.push(located)).await;
    let mut counts = Counts::new();
    let mut failures = Vec::new();
    for (name, outcome) in report.stores {
        match outcome {
            Outcome::Located(found) => {
                counts.insert(name, found);
            }
            Outcome::Failed(e) => failures.push((name, e)),
            Outcome::Waiting => {}
        }
    }
    if !failures.is_empty() {
        return Ok(Err(failures));
    }
    counts.extend(returned);
    Ok(Ok((spool.finish().map_err(ExportError::from)?, counts)))
}

/// What the package says about itself: who, when, in which language, the organization's
/// privacy notice, the retention policies over the searched stores, and each store with its map.
async fn package_info(
    ctx: &JobContext,
    organization: &organization::Model,
    request: &request::Model,
    sources: &Sources<'_>,
    now: OffsetDateTime,
) -> Result<PackageInfo, DbErr> {
    let store = |s: &store::Model, map: DataMap| PackageStore { name: s.name.clone(), kind: s.kind, map };
    let stores = sources
        .stores
        .iter()
        .filter_map(|s| Some(store(s, s.saved_map()?)))
        .chain(sources.services.iter().map(|s| store(s, s.saved_map().unwrap_or_else(DataMap::empty))))
        .chain(sources.attached.iter().map(|(task, _)| PackageStore {
            name: task.store_name.clone(),
            kind: task.store_kind,
            map: DataMap::empty(),
        }))
        .collect();
    let searched: Vec<&store::Model> = sources.stores.iter().chain(&sources.services).collect();
    let policies = retention_policy::Model::all_in_org(&ctx.db, organization.id)
        .await?
        .into_iter()
        // Only what runs on its own: an enabled, scheduled policy of a searched store.
        .filter(|p| p.enabled && p.builtin.is_none() && p.schedule.is_some())
        .filter_map(|p| {
            let store = searched.iter().find(|s| s.id == p.store_id)?;
            Some(RetentionFact {
                store: store.name.clone(),
                anonymise: matches!(p.policy_action()?, PolicyAction::Anonymise { .. }),
                partial: !p.filters().is_empty(),
                target: p.target,
                max_age: p.max_age,
                basis: p.legal_basis,
            })
        })
        .collect();
    Ok(PackageInfo {
        organization: organization.name.clone(),
        locale: Locale::from_stored(&request.locale),
        request_id: request.id,
        generated_at: now,
        portal_url: format!("{}/p/{}/", ctx.exports.public_url.trim_end_matches('/'), organization.slug),
        notice: Notice {
            controller: organization.controller.clone(),
            dpo_contact: organization.dpo_contact.clone(),
            supervisory_authority: organization.supervisory_authority.clone(),
            supervisory_authority_url: organization.supervisory_authority_url.clone(),
            automated_decisions: organization.automated_decisions.clone(),
        },
        policies,
        stores,
        not_included: sources.not_included.clone(),
    })
}

/// Assembles the ZIP encrypted under a fresh key into the exports directory and moves the
/// export to `ready` (compare-and-set); returns the file's size, or `None` when another worker
/// built it first (this file is then deleted).
async fn seal(
    ctx: &JobContext,
    organization: &organization::Model,
    row: &export::Model,
    assembly: Assembly,
    now: OffsetDateTime,
) -> Result<Option<u64>, JobError> {
    let Assembly { spooled, info, work, counts } = assembly;
    let key = crypto::generate_key();
    let file_name = format!("{}-{}.bin", row.id.simple(), Uuid::new_v4().simple());
    let path = ctx.exports.dir.join(&file_name);
    let rows = spooled.rows();
    let assembled = {
        let (path, key, context) = (path.clone(), key.clone(), crypto::file_context(row));
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
    let step = ExportStep::Package {
        file_name,
        key_ciphertext: export::seal_key(&ctx.keyring, row.organization_id, row.id, &key[..]),
        row_count: rows as i64,
        counts: serde_json::to_value(&counts).expect("counts serialise"),
        file_bytes: file_bytes as i64,
        expires_at: now + organization.export_link_ttl(ctx.exports.link_ttl),
    };
    match row.apply(&ctx.db, step, now, None).await {
        Ok(true) => Ok(Some(file_bytes)),
        // Another worker built it first (or the update failed): this file is not used.
        other => {
            let _ = std::fs::remove_file(&path);
            other?;
            Ok(None)
        }
    }
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
    .insert_announced(db)
    .await?;
    Ok(())
}
