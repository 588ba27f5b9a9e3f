//! A request's store tasks: one per registered store, created when fulfilment starts and
//! worked by locating. Every outcome is recorded on the task (status, counts per table, error)
//! and on the request's timeline, without any personal data.

use std::time::Duration;

use lethe_entities::domain::enums::{EventKind, TaskStatus};
use lethe_entities::domain::lifecycle::Action;
use lethe_entities::entity::request::{self, Actor, LifecycleError};
use lethe_entities::entity::store_task::{Step, TaskError, TaskEvent};
use lethe_entities::entity::{Commit, begin, store, store_task, subject_identity};
use lethe_entities::ledger::entry::SubjectRef;
use lethe_entities::{Keyring, StoreKind};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, EntityTrait};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::context::JobContext;
use crate::error::JobError;
use crate::locate::{Keys, Located, Mode, Outcome, StoreInput, Subject, locate, locate_keys};
use crate::queue::{FollowUp, Notice};
use crate::stores::{Registry, StoreError};

/// A claim on a task (erasing a store, calling a service) older than this belongs to a worker
/// that died: another may take the task over.
pub const CLAIM_TIMEOUT: Duration = Duration::from_secs(60);

/// How often a worker erasing a store refreshes its claim.
pub const CLAIM_HEARTBEAT: Duration = Duration::from_secs(15);

/// Creates the missing tasks of a request: one per store of the organization (idempotent), in
/// one statement.
pub async fn ensure(
    db: &impl ConnectionTrait,
    organization: Uuid,
    request: Uuid,
    stores: &[store::Model],
) -> Result<(), DbErr> {
    if stores.is_empty() {
        return Ok(());
    }
    let now = OffsetDateTime::now_utc();
    let tasks =
        stores.iter().map(|s| store_task::ActiveModel::pending(organization, request, (s.id, &s.name, s.kind), now));
    store_task::Entity::insert_many(tasks)
        .on_conflict_do_nothing_on([store_task::Column::RequestId, store_task::Column::StoreId])
        .exec(db)
        .await?;
    Ok(())
}

/// The subject of a request, decrypted.
pub async fn subject(
    db: &DatabaseConnection,
    keyring: &Keyring,
    organization: Uuid,
    request: Uuid,
) -> Result<Subject, JobError> {
    Ok(subject_with_refs(db, keyring, organization, request).await?.0)
}

/// The subject of a request, decrypted, with its ledger references (keyed hashes of its blind
/// indexes), from one read.
pub async fn subject_with_refs(
    db: &DatabaseConnection,
    keyring: &Keyring,
    organization: Uuid,
    request: Uuid,
) -> Result<(Subject, Vec<SubjectRef>), JobError> {
    let rows = subject_identity::Model::of_request(db, organization, request).await?;
    let mut subject = Subject::default();
    let mut refs = Vec::with_capacity(rows.len());
    for row in rows {
        refs.push(keyring.ledger_subject_ref(organization, &row.blind_index));
        let value = row.open(keyring).map_err(|_| JobError::Crypto)?;
        subject.identities.push((row.kind, value));
    }
    Ok((subject, refs))
}

/// The locate inputs for every store of an organization: map and connector (or why not).
pub async fn inputs(stores: &[store::Model], registry: &Registry, keyring: &Keyring) -> Vec<StoreInput> {
    let mut inputs = Vec::with_capacity(stores.len());
    for s in stores {
        let connector = if s.kind.is_automated() { Some(registry.connector(s, keyring).await) } else { None };
        inputs.push(StoreInput { name: s.name.clone(), kind: s.kind, map: s.saved_map(), connector });
    }
    inputs
}

/// What a locate pass over a request's tasks did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pass {
    /// Tasks located.
    pub located: usize,
    /// Tasks failed.
    pub failed: usize,
    /// Tasks waiting for an operator or a service.
    pub waiting: usize,
    /// The primary keys found in every store, when this pass located (`None` when no task was
    /// pending); erasure uses them instead of locating again.
    pub keys: Option<Keys>,
    /// Stores that failed in a way that may pass (unreachable, a dropped connection), left
    /// `pending` for the job's next attempt instead of failed: not on the last attempt.
    pub deferred: Vec<(String, StoreError)>,
}

/// Locates the request's subject in every store whose task is pending and records each
/// outcome; `stores` are the organization's stores (a task is created for any that has none).
/// Tasks already past `pending` are left alone, so running this twice records once.
/// With `keep_keys` (erasure, which goes on to erase them) the pass returns the keys it found;
/// otherwise only their counts are kept, so memory does not grow with the person's rows.
/// A store failing in a way that may pass stays `pending` ([`Pass::deferred`]) unless this is
/// the job's `last_attempt`, when its failure is recorded like any other.
pub async fn locate_pending(
    ctx: &JobContext,
    stores: &[store::Model],
    organization: Uuid,
    request: Uuid,
    keep_keys: bool,
    last_attempt: bool,
) -> Result<Pass, JobError> {
    let (db, keyring) = (&ctx.db, &ctx.keyring);
    let mut tasks = store_task::Model::of_request(db, organization, request).await?;
    if stores.iter().any(|s| !tasks.iter().any(|t| t.store_id == s.id)) {
        let txn = begin(db, Commit::Lazy).await?;
        ensure(&txn, organization, request, stores).await?;
        txn.commit().await?;
        tasks = store_task::Model::of_request(db, organization, request).await?;
    }
    if !tasks.iter().any(|t| t.status == TaskStatus::Pending) {
        return Ok(Pass::default());
    }
    let subject = subject(db, keyring, organization, request).await?;
    let inputs = inputs(stores, &ctx.stores, keyring).await;
    let (report, keys) = if keep_keys {
        let (report, keys) = locate_keys(&inputs, &subject).await;
        (report, Some(keys))
    } else {
        (locate(&inputs, &subject, Mode::Keys, &mut |_: Located<'_>| {}).await, None)
    };
    tracing::info!(request_id = %request, queries = report.queries, hops = report.hops, "located the subject's data");
    let mut pass = Pass { keys, ..Pass::default() };
    // Every outcome in one transaction: one commit for the pass, not one per store.
    let txn = begin(db, Commit::Lazy).await?;
    for task in tasks.iter().filter(|t| t.status == TaskStatus::Pending) {
        let outcome = report.stores.get(&task.store_name).cloned().unwrap_or(Outcome::Waiting);
        if let Outcome::Failed(e) = &outcome
            && e.is_transient()
            && !last_attempt
        {
            pass.deferred.push((task.store_name.clone(), e.clone()));
            continue;
        }
        if record(&txn, task, &outcome).await? {
            match outcome {
                Outcome::Located(_) => pass.located += 1,
                Outcome::Failed(_) => pass.failed += 1,
                Outcome::Waiting => pass.waiting += 1,
            }
        }
    }
    txn.commit().await?;
    Ok(pass)
}

/// Records one store's outcome on its task and the timeline, within the caller's transaction,
/// if the task is still pending (compare-and-set). Returns whether it was recorded.
async fn record(txn: &impl ConnectionTrait, task: &store_task::Model, outcome: &Outcome) -> Result<bool, TaskError> {
    let (step, event) = match outcome {
        Outcome::Located(counts) => {
            let total: u64 = counts.values().sum();
            let json = serde_json::to_value(counts).expect("counts serialise");
            let detail = serde_json::json!({ "store": task.store_name, "counts": json, "total_rows": total });
            (Step::Located { counts: json, rows: total as i64 }, TaskEvent::system(EventKind::StoreLocated, detail))
        }
        Outcome::Failed(e) => {
            let detail = serde_json::json!({ "store": task.store_name, "code": e.code(), "message": e.to_string() });
            let step = Step::LocateFailed { code: e.code().to_owned(), message: e.to_string() };
            (step, TaskEvent::system(EventKind::StoreFailed, detail))
        }
        Outcome::Waiting => {
            let waits_for = if task.store_kind == StoreKind::Manual { "operator" } else { "service" };
            let detail = serde_json::json!({
                "store": task.store_name,
                "store_id": task.store_id,
                "task_id": task.id,
                "kind": task.store_kind,
                "waits_for": waits_for,
            });
            (Step::Wait, TaskEvent::system(EventKind::StoreWaiting, detail))
        }
    };
    task.apply(txn, TaskStatus::Pending, step, Some(event)).await
}

/// Puts a request's failed tasks back to `pending` so the next locate pass retries them.
/// Returns how many.
pub async fn reset_failed(db: &impl ConnectionTrait, organization: Uuid, request: Uuid) -> Result<u64, TaskError> {
    store_task::Model::apply_all(db, organization, request, None, TaskStatus::Failed, Step::Reset).await
}

/// Completes the request once every one of its store tasks is done or waived and every
/// recipient task (Art. 19) notified or waived (a request with no store tasks is never completed
/// automatically: with no store registered, nothing was done). Returns the subject's
/// "completed" notice if this call completed it, `None` otherwise.
///
/// Jobs complete with [`Commit::Lazy`] (their acknowledgement, committed after, makes it
/// durable, and a job whose acknowledgement was lost runs again); routes answering a person
/// with [`Commit::Durable`].
pub async fn complete_if_finished(
    db: &DatabaseConnection,
    keyring: &Keyring,
    organization: Uuid,
    request: Uuid,
    commit: Commit,
) -> Result<Option<FollowUp>, LifecycleError> {
    let tasks = store_task::Model::of_request(db, organization, request).await?;
    let finished = !tasks.is_empty() && tasks.iter().all(|t| matches!(t.status, TaskStatus::Done | TaskStatus::Waived));
    if !finished || !crate::recipients::all_settled(db, organization, request).await? {
        return Ok(None);
    }
    let txn = begin(db, commit).await?;
    let applied =
        request::Model::apply_in(&txn, keyring, organization, request, Action::Complete, Actor::SYSTEM, None).await;
    if applied.is_ok() {
        txn.commit().await?;
    } else {
        txn.rollback().await?;
    }
    match applied {
        Ok(completed) => {
            tracing::info!(request_id = %request, "request completed: every store and recipient task is settled");
            Ok(Some(FollowUp::notice(&completed, Notice::Completed)))
        }
        // Completed (or changed) by another worker in the meantime.
        Err(LifecycleError::Transition(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
