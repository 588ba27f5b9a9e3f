//! Erasure: destroys (or pseudonymises, where the data map says `keep`) the located data of an
//! erasure request in every automated store, with ledger entries whose counts are the stores'
//! own, then verifies by locating again.
//!
//! The job may be killed at any instant and run again:
//! 1. intents a previous run left pending are settled first from the stores' receipts
//!    ([`recover`]), so a committed destruction gets its entry exactly once;
//! 2. the person is located again across all stores (cross-store references need every store
//!    before any is touched), so work already done is simply not found;
//! 3. each store task is claimed (`located` -> `erasing`, compare-and-set) before its store is
//!    touched, so two workers never erase one store; the claimant refreshes its claim every
//!    [`CLAIM_HEARTBEAT`] while it works, and a claim not refreshed for [`CLAIM_TIMEOUT`] (a
//!    killed worker) is taken over — a run that finds a live claim comes back when it would
//!    expire;
//! 4. each store is erased in one transaction by its connector
//!    ([`crate::stores::Connector::erase`]);
//! 5. the verification pass locates again: a store where anything still matches the person
//!    (other than rows mapped `keep`) fails with a precise report instead of succeeding, and so
//!    does one that cannot be read back (`erasure_unverified`).
//!
//! The request completes when every task is done or waived.
//!
//! A store's erasure that fails in a way that may pass (its connection dropped, it is
//! restarting: the store's transaction rolled back and the intents are void) gives its claim
//! back (`located` again, with the error as the task's last) and the job is retried with
//! backoff; on the job's last attempt, or for a refusal that a retry cannot change (a foreign
//! key, a value too long), the task fails with the store's words and the request gives up
//! ([`crate::give_up`]).

pub mod http;
pub mod recover;

use std::collections::BTreeMap;
use std::time::Duration;

use lethe_entities::datamap::{DataMap, RowErasure};
use lethe_entities::domain::enums::{EventKind, TaskStatus};
use lethe_entities::entity::store_task::{Step, TaskError, TaskEvent};
use lethe_entities::entity::{Commit, begin, request, store, store_task};
use lethe_entities::ledger::entry::SubjectRef;
use sea_orm::{DatabaseConnection, EntityTrait};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::context::JobContext;
use crate::error::JobError;
use crate::locate::{Keys, Outcome, StoreInput, Subject, locate_keys};
use crate::queue::{FollowUp, Fulfil};
use crate::stores::erasure::Context;
pub use crate::stores::erasure::EraseError;
use crate::stores::{Connector, StoreError};
use crate::tasks::{self, CLAIM_HEARTBEAT, CLAIM_TIMEOUT};

/// What erasure did in one store, as recorded on the timeline and used by the certificate.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StoreOutcome {
    /// Per table: action, rows, ledger entry.
    pub erased: Vec<ErasedTable>,
    /// Per table mapped `keep`: rows retained, why and until when.
    pub retained: Vec<RetainedTable>,
}

/// One erased table.
#[derive(Debug, Clone, Serialize)]
pub struct ErasedTable {
    /// Table or key pattern.
    pub table: String,
    /// `delete_row`, `update`, `pseudonymise` or `null`.
    pub action: String,
    /// Rows the store's transaction touched.
    pub rows: u64,
    /// The ledger entry.
    pub ledger_seq: Option<u64>,
}

/// One table whose located rows are retained under a legal obligation.
#[derive(Debug, Clone, Serialize)]
pub struct RetainedTable {
    /// Table or key pattern.
    pub table: String,
    /// Rows retained (pseudonymised as the map says).
    pub rows: u64,
    /// The legal basis.
    pub basis: String,
    /// The period (ISO 8601).
    pub period: String,
    /// The latest date they are kept until: the erasure date plus the period.
    pub until: Option<String>,
}

/// Erases the subject of an erasure request in every automated store whose task is located;
/// `stores` are the organization's stores. `located` are the keys a locate pass of the same job has just found (they spare locating
/// again; the verification pass still locates afterwards); `None` locates here. What should
/// happen next (coming back when another worker's claim would expire, a service call later, the
/// completion notice) is added to `next`, also when the run fails part way. On the job's
/// `last_attempt` a store failing in a way that may pass fails its task instead of waiting for
/// another attempt.
pub async fn run(
    ctx: &JobContext,
    request: &request::Model,
    stores: &[store::Model],
    located: Option<Keys>,
    last_attempt: bool,
    next: &mut Vec<FollowUp>,
) -> Result<(), JobError> {
    let (organization, id) = (request.organization_id, request.id);
    let now = OffsetDateTime::now_utc();
    let stale = now - CLAIM_TIMEOUT;
    let mut all = store_task::Model::of_request(&ctx.db, organization, id).await?;
    let claimed: Vec<&store_task::Model> =
        all.iter().filter(|t| t.status == TaskStatus::Erasing && t.updated_at >= stale).collect();
    // Another worker is erasing these stores: leave their intents alone, and come back when
    // the claim would expire (if that worker was killed, its claim stops being refreshed).
    let busy: Vec<String> = claimed.iter().map(|t| t.store_name.clone()).collect();
    for task in &claimed {
        let after = (task.updated_at + CLAIM_TIMEOUT - now).unsigned_abs() + Duration::from_secs(1);
        next.push(FollowUp::fulfil(
            request,
            Fulfil::EraseClaimed { task: task.id, claimed_at: task.updated_at, after },
        ));
    }
    if recover::request(ctx, organization, id, &busy).await? > 0 {
        // Recovery changes intents, not tasks; read them again all the same, as they now are.
        all = store_task::Model::of_request(&ctx.db, organization, id).await?;
    }
    let todo: Vec<store_task::Model> = all
        .iter()
        .filter(|t| t.store_kind.is_automated())
        .filter(|t| t.status == TaskStatus::Located || (t.status == TaskStatus::Erasing && t.updated_at < stale))
        .cloned()
        .collect();
    let services = crate::services::due(&all, &http::Erase { refs: &[] });
    if !todo.is_empty() || services {
        let (subject, refs) = tasks::subject_with_refs(&ctx.db, &ctx.keyring, organization, id).await?;
        if !todo.is_empty() {
            let work = Work { todo: &todo, stores, subject: &subject, refs: &refs };
            erase_tasks(ctx, request, work, located, last_attempt).await?;
        }
        if services {
            let operation = http::Erase { refs: &refs };
            crate::services::run(ctx, request, &all, &subject, &operation, next).await?;
        }
    }
    let completed = tasks::complete_if_finished(&ctx.db, &ctx.keyring, organization, id, Commit::Lazy)
        .await
        .map_err(JobError::lifecycle)?;
    next.extend(completed);
    Ok(())
}

/// What one run erases: the tasks to work, the organization's stores and the subject.
struct Work<'a> {
    todo: &'a [store_task::Model],
    stores: &'a [store::Model],
    subject: &'a Subject,
    refs: &'a [SubjectRef],
}

async fn erase_tasks(
    ctx: &JobContext,
    request: &request::Model,
    work: Work<'_>,
    located: Option<Keys>,
    last_attempt: bool,
) -> Result<(), JobError> {
    let Work { todo, stores, subject, refs } = work;
    let (organization, id) = (request.organization_id, request.id);
    let inputs = tasks::inputs(stores, &ctx.stores, &ctx.keyring).await;
    let keys = match located {
        Some(keys) => keys,
        None => locate_keys(&inputs, subject).await.1,
    };
    let mut outcomes: BTreeMap<Uuid, StoreOutcome> = BTreeMap::new();
    // The first store that failed in a way that may pass: the job is retried for it.
    let mut deferred: Option<JobError> = None;
    // A failure that stops the run (an unknown outcome, Lethe's own failure).
    let mut fatal: Option<JobError> = None;
    let mut heartbeats = Heartbeats(Vec::new());
    for task in todo {
        if !claim(&ctx.db, task).await? {
            continue;
        }
        heartbeats.0.push(tokio::spawn(refresh_claim(ctx.db.clone(), task.id)));
        let Some(input) = inputs.iter().find(|i| i.name == task.store_name) else { continue };
        let (Some(map), Some(Ok(connector))) = (&input.map, &input.connector) else {
            let e = StoreError::NoDataMap;
            finish(&ctx.db, task, Step::Fail { code: e.code().into(), message: e.to_string() }, None).await?;
            continue;
        };
        let located = keys.get(&task.store_name).cloned().unwrap_or_default();
        let cx = Context {
            lethe: &ctx.db,
            keyring: &ctx.keyring,
            organization,
            store: &task.store_name,
            request: id,
            subject_refs: refs,
            settlements: &ctx.settlements,
        };
        match erase_store(&cx, connector, map, &located).await {
            Ok(outcome) => {
                outcomes.insert(task.id, outcome);
            }
            Err(EraseError::Store(e, what)) if e.is_transient() && !last_attempt => {
                let message = format!("{what}: {e}");
                tracing::warn!(request_id = %id, store = %task.store_name, code = e.code(), "erasure failed; rolled back, retried later");
                release(&ctx.db, task, Step::Release { code: e.code().into(), message }).await;
                deferred.get_or_insert(JobError::store(&task.store_name, e));
            }
            Err(EraseError::Store(e, what)) => {
                let message = format!("{what}: {e}");
                tracing::warn!(request_id = %id, store = %task.store_name, code = e.code(), "erasure failed; rolled back");
                finish(&ctx.db, task, Step::Fail { code: e.code().into(), message }, None).await?;
            }
            // Unknown outcome or Lethe's own failure: give the claim back (when it is still ours)
            // so the retry need not wait for it to expire, and stop. Whoever erases the store
            // next settles its pending intents from the store's receipts first ([`recover`]), so
            // nothing is counted twice. The stores erased so far are verified first.
            Err(other) => {
                let e = JobError::from(other);
                release(&ctx.db, task, Step::Release { code: e.code().into(), message: e.message() }).await;
                fatal = Some(e);
                break;
            }
        }
    }
    verify(ctx, id, todo, &inputs, subject, outcomes).await?;
    match fatal.or(deferred) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The verification pass: locates the person again and records every erased store's verified
/// outcome (`outcomes`, by task) in one transaction.
async fn verify(
    ctx: &JobContext,
    request: Uuid,
    todo: &[store_task::Model],
    inputs: &[StoreInput],
    subject: &Subject,
    mut outcomes: BTreeMap<Uuid, StoreOutcome>,
) -> Result<(), JobError> {
    let (verified, remaining) = locate_keys(inputs, subject).await;
    let txn = begin(&ctx.db, Commit::Lazy).await?;
    for task in todo {
        let Some(outcome) = outcomes.remove(&task.id) else { continue };
        let map = inputs.iter().find(|i| i.name == task.store_name).and_then(|i| i.map.as_ref());
        let step = match verified.stores.get(&task.store_name) {
            // What committed is in the ledger; whether anything is left is not known. The
            // request fails, and its retry locates (and erases) whatever is still there.
            Some(Outcome::Failed(e)) => {
                tracing::warn!(request_id = %request, store = %task.store_name, code = e.code(), "erasure could not be verified");
                let message = format!("verification: the store could not be read back after the erasure ({e})");
                Step::Fail { code: "erasure_unverified".into(), message }
            }
            _ => verdict(request, &task.store_name, map, remaining.get(&task.store_name)),
        };
        let detail =
            serde_json::json!({ "store": task.store_name, "erased": outcome.erased, "retained": outcome.retained });
        finish_in(&txn, task, step, Some(detail)).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// `erased`, or `erasure_incomplete` naming the tables (not mapped `keep`) where rows still
/// match the person.
fn verdict(
    request: Uuid,
    store: &str,
    map: Option<&DataMap>,
    remaining: Option<&BTreeMap<String, Vec<Vec<String>>>>,
) -> Step {
    let left: Vec<String> = remaining
        .into_iter()
        .flatten()
        .filter(|(table, rows)| !rows.is_empty() && !map.is_some_and(|m| is_kept(m, table)))
        .map(|(table, rows)| format!("{} row(s) of `{table}`", rows.len()))
        .collect();
    if left.is_empty() {
        return Step::Erased;
    }
    tracing::warn!(request_id = %request, store, "erasure verification found rows still matching");
    let message = format!("verification: {} still match the person after erasure", left.join(", "));
    Step::Fail { code: "erasure_incomplete".into(), message }
}

/// Gives a claimed task back (`located`), its failure kept as the task's last error, if the
/// claim is still this worker's: live (refreshed within [`CLAIM_TIMEOUT`], so nobody may have
/// taken it over) and unchanged since it was read here (the move is fenced on the task's last
/// change). Otherwise, or if Lethe's database fails, the claim is left to expire. No timeline
/// event: the retry's outcome is what the timeline records.
async fn release(db: &DatabaseConnection, task: &store_task::Model, step: Step) {
    let released = async {
        let Some(current) = store_task::Entity::find_by_id(task.id).one(db).await? else { return Ok(false) };
        let live = current.updated_at > OffsetDateTime::now_utc() - CLAIM_TIMEOUT;
        if current.status != TaskStatus::Erasing || !live {
            return Ok(false);
        }
        current.apply(db, TaskStatus::Erasing, step, None).await
    };
    match released.await {
        Ok(true) => {}
        Ok(false) => tracing::info!(task_id = %task.id, "claim not given back (no longer ours); it expires"),
        Err::<_, TaskError>(e) => tracing::warn!(task_id = %task.id, error = %e, "claim not given back; it expires"),
    }
}

fn is_kept(map: &DataMap, table: &str) -> bool {
    let erasure = map
        .table(table)
        .map(|t| &t.erasure)
        .or_else(|| map.keys.iter().find(|k| k.pattern == table).map(|k| &k.erasure));
    matches!(erasure, Some(RowErasure::Keep { .. }))
}

/// Erases one store's located rows; rows mapped `keep` are reported as retained.
async fn erase_store(
    cx: &Context<'_>,
    connector: &Connector,
    map: &DataMap,
    located: &BTreeMap<String, Vec<Vec<String>>>,
) -> Result<StoreOutcome, EraseError> {
    let today = OffsetDateTime::now_utc();
    let kept = map
        .tables
        .iter()
        .map(|t| (&t.name, &t.erasure, false))
        .chain(map.keys.iter().map(|k| (&k.pattern, &k.erasure, true)));
    let mut outcome = StoreOutcome::default();
    for (table, erasure, skip_empty) in kept {
        let (RowErasure::Keep { basis, period }, Some(rows)) = (erasure, located.get(table)) else { continue };
        if skip_empty && rows.is_empty() {
            continue;
        }
        outcome.retained.push(RetainedTable {
            table: table.clone(),
            rows: rows.len() as u64,
            basis: basis.clone(),
            period: period.clone(),
            until: lethe_entities::datamap::validate::add_duration(today, period).map(|d| d.date().to_string()),
        });
    }
    for applied in connector.erase(cx, map, located).await? {
        outcome.erased.push(ErasedTable {
            table: applied.table,
            action: applied.action.to_owned(),
            rows: applied.rows,
            ledger_seq: applied.seq,
        });
    }
    Ok(outcome)
}

/// The claim refreshers of the tasks a run erases; stopped when the run ends, however it ends.
struct Heartbeats(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Heartbeats {
    fn drop(&mut self) {
        for handle in &self.0 {
            handle.abort();
        }
    }
}

/// Refreshes a claim every [`CLAIM_HEARTBEAT`] while the task is `erasing`; a refresh that fails
/// (Lethe's database busy) is tried again at the next beat.
async fn refresh_claim(db: DatabaseConnection, task: Uuid) {
    loop {
        tokio::time::sleep(CLAIM_HEARTBEAT).await;
        if let Ok(false) = store_task::Model::refresh_claim(&db, task).await {
            return;
        }
    }
}

/// Claims a task for erasure (compare-and-set on its status and last change), committed lazily:
/// the intents opened next are durable and flush the claim with them.
async fn claim(db: &DatabaseConnection, task: &store_task::Model) -> Result<bool, TaskError> {
    let txn = begin(db, Commit::Lazy).await?;
    let claimed = task.apply(&txn, task.status, Step::ClaimErase, None).await?;
    txn.commit().await?;
    Ok(claimed)
}

/// Moves a claimed task to its final status with its timeline event, in its own transaction
/// (committed lazily: see [`Commit::Lazy`]; a lost outcome is found again by the job's re-run).
async fn finish(
    db: &DatabaseConnection,
    task: &store_task::Model,
    step: Step,
    detail: Option<serde_json::Value>,
) -> Result<(), TaskError> {
    let txn = begin(db, Commit::Lazy).await?;
    finish_in(&txn, task, step, detail).await?;
    Ok(txn.commit().await?)
}

/// As [`finish`], inside the caller's transaction: `erased` (its event `store_erased`) or
/// `fail` (`store_failed`, with the code and message added to `detail`).
async fn finish_in(
    txn: &impl sea_orm::ConnectionTrait,
    task: &store_task::Model,
    step: Step,
    detail: Option<serde_json::Value>,
) -> Result<(), TaskError> {
    let mut detail = detail.unwrap_or_else(|| serde_json::json!({ "store": task.store_name }));
    let kind = match (&step, detail.as_object_mut()) {
        (Step::Fail { code, message }, Some(object)) => {
            object.insert("code".into(), serde_json::json!(code));
            object.insert("message".into(), serde_json::json!(message));
            EventKind::StoreFailed
        }
        (Step::Fail { .. }, None) => EventKind::StoreFailed,
        _ => EventKind::StoreErased,
    };
    task.apply(txn, TaskStatus::Erasing, step, Some(TaskEvent::system(kind, detail))).await?;
    Ok(())
}
