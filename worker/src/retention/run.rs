//! One run of a retention policy, batch by batch, resumable and counted once.
//!
//! For each batch:
//! 1. the next keys after the run's cursor are read (keyset pagination on the primary key, at
//!    most `batch_size` of them, so memory holds one batch whatever the table's size);
//! 2. a `retention_purge` ledger intent is committed together with the run row recording it
//!    and the cursor the batch reaches (compare-and-set: a second worker on the same run, or a
//!    stop, ends the run here);
//! 3. the store's transaction deletes or anonymises those rows (re-checking the policy's
//!    condition), writes the intent's receipt and removes the previous batch's (settled)
//!    receipt, then commits;
//! 4. the intent is settled (the entry appended with the store's own count) and the run row
//!    takes the batch: cursor advanced, counts added, the batch in flight cleared, again by
//!    compare-and-set on the intent.
//!
//! The steps of consecutive batches overlap so that Lethe's own bookkeeping costs one commit
//! between two store transactions: batch N+1's keys (step 1) are read on a second connection
//! of the store while batch N's transaction (step 3) runs (they come after N's keys, so the two
//! never meet), and batch N's step 4 and batch N+1's step 2 share one durable commit of Lethe's
//! database. When that commit's claim fails (the run was stopped meanwhile), nothing of it is
//! kept and batch N is settled on its own.
//!
//! A run that finds a batch in flight (a crash or a stop between 2 and 4) settles it first:
//! from the intent if it was settled, else from the store's receipt (applied: the batch is
//! counted with the receipt's count; none: the slot is fenced and the intent voided). So a
//! batch is never lost from the ledger and never counted twice. The throttle paces batches so
//! the run's rows per second stay at or below the policy's limit.
//!
//! In Redis the keys are a `SCAN` page of the pattern (the cursor is the `SCAN` cursor) and the
//! store's side is one Lua script that deletes the page's keys still past the age and writes the
//! receipt atomically (see [`super::redis`]).

use std::time::{Duration, Instant};

use lethe_entities::entity::ledger_intent::Model as Intent;
use lethe_entities::entity::retention_policy::Model as Policy;
use lethe_entities::entity::retention_run::{Model as Run, Progress, RunState, RunStep};
use lethe_entities::entity::{Commit, store};
use lethe_entities::ledger::entry::EntryKind;
use lethe_entities::ledger::{NewEntry, intent};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use time::OffsetDateTime;
use uuid::Uuid;

use super::builtin;
use super::holds::{self, Held, Holds, HoldsError};
use super::overlap;
use super::redis::{Age, aged, purge};
use super::sql::{Batch, Target};
use crate::context::JobContext;
use crate::error::JobError;
use crate::ledger::external::{self, ExternalError};
use crate::ledger::receipts;
use crate::stores::redis::RedisStore;
use crate::stores::schema::TableSchema;
use crate::stores::sql::{SqlStore, classify};
use crate::stores::{Connector, StoreError};

/// Works the run `run_id` of `organization` until it is done, fails, or finds another worker on
/// it. Runs already over are left alone.
pub async fn run(ctx: &JobContext, organization: Uuid, run_id: Uuid) -> Result<(), JobError> {
    let Some(run) = Run::find_in_org(&ctx.db, organization, run_id).await? else { return Ok(()) };
    if run.state.is_final() || run.state == RunState::Stopped {
        return Ok(());
    }
    let Some(policy) = Policy::find_in_org(&ctx.db, organization, run.policy_id).await? else {
        finish(&ctx.db, &run, RunStep::Cancel).await?;
        return Ok(());
    };
    if let Some(key) = policy.builtin.clone() {
        let outcome = builtin_run(ctx, &policy, &key, run.clone()).await;
        return settle_outcome(ctx, &policy, run, outcome).await;
    }
    let Some(store) = store::Model::find_in_org(&ctx.db, organization, policy.store_id).await? else {
        let failure =
            RunStep::Fail { code: "store_not_found".into(), message: "the policy's store no longer exists".into() };
        finish(&ctx.db, &run, failure).await?;
        return Ok(());
    };
    let outcome = match ctx.stores.connector(&store, &ctx.keyring).await {
        Ok(Connector::Sql(sql)) => sql_run(ctx, &policy, &store, &sql, run.clone()).await,
        Ok(Connector::Redis(redis)) => redis_run(ctx, &policy, &store, &redis, run.clone()).await,
        Err(e) => Err(Failure::store(&e)),
    };
    settle_outcome(ctx, &policy, run, outcome).await
}

/// Records how a run ended: a failure on the run row; a stop (Lethe's side) for the job to
/// retry.
async fn settle_outcome(
    ctx: &JobContext,
    policy: &Policy,
    run: Run,
    outcome: Result<(), Failure>,
) -> Result<(), JobError> {
    match outcome {
        Ok(()) => Ok(()),
        Err(Failure::Stop(e)) => Err(e),
        Err(Failure::Run(code, message)) => {
            tracing::warn!(run_id = %run.id, policy_id = %policy.id, code, "retention run failed");
            let current = Run::find_in_org(&ctx.db, run.organization_id, run.id).await?.unwrap_or(run);
            finish(&ctx.db, &current, RunStep::Fail { code: code.into(), message }).await?;
            Ok(())
        }
    }
}

/// A run of one of Lethe's built-in policies, in Lethe's own database. A hold on the whole
/// organization stops it.
async fn builtin_run(ctx: &JobContext, policy: &Policy, key: &str, run: Run) -> Result<(), Failure> {
    let Some(builtin) = builtin::find(key) else {
        return Err(Failure::new("policy_invalid", "unknown built-in policy".into()));
    };
    let now = OffsetDateTime::now_utc();
    let held = lethe_entities::entity::legal_hold::Model::list(&ctx.db, policy.organization_id, Some(now))
        .await?
        .into_iter()
        .find(|h| h.scope == lethe_entities::entity::legal_hold::HoldScope::Organization);
    if let Some(hold) = held {
        let message = format!("legal hold {} covers the organization", hold.id);
        finish(&ctx.db, &run, RunStep::Hold { message }).await?;
        return Ok(());
    }
    let Some(run) = start(&ctx.db, policy, run).await? else { return Ok(()) };
    let cutoff = run.cutoff.unwrap_or(now);
    let done = builtin::work(&ctx.db, ctx, builtin, policy, run, cutoff).await.map_err(Failure::Stop)?;
    finish(&ctx.db, &done, RunStep::Finish).await?;
    tracing::info!(run_id = %done.id, policy_id = %policy.id, rows = done.rows, "built-in retention run done");
    Ok(())
}

/// Why a run stopped early.
enum Failure {
    /// The run failed for good: recorded on the run.
    Run(&'static str, String),
    /// Lethe's side failed (its database, the ledger): the job is retried and resumes.
    Stop(JobError),
}

impl Failure {
    fn new(code: &'static str, message: String) -> Self {
        Self::Run(code, message)
    }

    fn store(e: &StoreError) -> Self {
        Self::Run(e.code(), e.to_string())
    }
}

impl From<sea_orm::DbErr> for Failure {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Stop(JobError::Db(e))
    }
}

impl From<lethe_entities::ledger::LedgerError> for Failure {
    fn from(e: lethe_entities::ledger::LedgerError) -> Self {
        Self::Stop(JobError::Permanent(format!("ledger: {e}")))
    }
}

impl From<ExternalError> for Failure {
    fn from(e: ExternalError) -> Self {
        match e {
            ExternalError::Store(e) => Self::store(&classify(e)),
            // Unknown outcome: the batch stays in flight and the retried job settles it.
            ExternalError::Unknown(e) => Self::Stop(JobError::Permanent(format!(
                "the store's commit outcome is unknown ({}); the batch is settled on resume",
                classify(e)
            ))),
            ExternalError::Ledger(e) => e.into(),
        }
    }
}

/// The run's SQL work.
async fn sql_run(
    ctx: &JobContext,
    policy: &Policy,
    store: &store::Model,
    sql: &SqlStore,
    run: Run,
) -> Result<(), Failure> {
    let schema = sql.schema().await.map_err(|e| Failure::store(&e))?;
    let Some(live) = schema.tables.get(&policy.target).cloned() else {
        return Err(Failure::new("store_schema_mismatch", format!("the store has no table `{}`", policy.target)));
    };
    let Some(action) = policy.policy_action() else {
        return Err(Failure::new("policy_invalid", "the policy's action cannot be read".into()));
    };
    let age_column = policy.age_column.clone().unwrap_or_default();
    if live.primary_key.is_empty() || live.column(&age_column).is_none() {
        return Err(Failure::new(
            "store_schema_mismatch",
            format!("table `{}` lost its primary key or age column since the policy was saved", policy.target),
        ));
    }
    let Some(mut run) = start(&ctx.db, policy, run).await? else { return Ok(()) };
    let filters = policy.filters();
    let others = Policy::all_in_org(&ctx.db, policy.organization_id).await?;
    let yield_to = overlap::yielded(policy, &others, run.started_at.unwrap_or_else(OffsetDateTime::now_utc));
    let db = sql.connection();
    receipts::ensure_table(db).await.map_err(|e| Failure::store(&classify(e)))?;
    let scan = Scan {
        ctx,
        policy,
        store,
        db,
        kind: sql.kind(),
        live: &live,
        age_column: &age_column,
        filters: &filters,
        action: &action,
        yield_to: &yield_to,
        cutoff: run.cutoff.unwrap_or_else(OffsetDateTime::now_utc),
        limit: policy.batch_size.min(policy.throttle_rows_per_sec.unwrap_or(i32::MAX)).max(1) as u64,
    };
    let mut pace = Pace::new(policy.throttle_rows_per_sec);
    let mut settled_receipt: Option<Uuid> = None;
    let mut reader = holds::Reader::default();
    let planned = NewEntry {
        policy_id: Some(policy.id),
        store: Some(store.name.clone()),
        table: Some(policy.target.clone()),
        action: Some(action.as_str().to_owned()),
        ..NewEntry::new(EntryKind::RetentionPurge)
    };
    // A batch a stopped or crashed run left in flight is settled (or voided) first.
    if let Some(pending) = run.pending_intent {
        run = settle_in_flight(&ctx.db, Side::Sql(db), run.clone(), pending).await?;
    }
    // The next batch, already read and claimed with its intent while the previous one ran.
    let mut claimed: Option<(KeyBatch, Intent)> = None;
    loop {
        let ((held, keys), opened) = match claimed.take() {
            Some(ready) => ready,
            None => {
                let Some(batch) = scan.next(&mut reader, &run, run.cursor_values().as_deref()).await? else {
                    return Ok(());
                };
                let Some(last) = batch.1.last() else {
                    return done(ctx, db, policy, &run, settled_receipt).await;
                };
                let Some((opened, taken)) = open_and_claim(&ctx.db, policy, &planned, &run, last).await? else {
                    tracing::info!(run_id = %run.id, "retention run was stopped or is being worked elsewhere");
                    return Ok(());
                };
                run = taken;
                (batch, opened)
            }
        };
        let last = keys.last().cloned().unwrap_or_default();
        let batch = Batch {
            table: policy.target.clone(),
            live: live.clone(),
            keys,
            recheck: scan.target(&held).condition(scan.cutoff),
            action: action.clone(),
            keyring: ctx.keyring.clone(),
            organization: policy.organization_id,
            forget: settled_receipt.take(),
        };
        // The next batch's holds and keys are read from the store (a second connection; its
        // keys come after this batch's, so the two never meet) while this batch's transaction
        // runs.
        let (applied, next) =
            tokio::join!(external::apply(db, opened.id, batch.into_work()), scan.next(&mut reader, &run, Some(&last)));
        let rows = match applied {
            Ok(rows) => rows,
            Err(ExternalError::Store(e)) => {
                // Rolled back: fence the slot, void the intent, record the failure.
                let receipt = receipts::fence(db, opened.id).await.map_err(ExternalError::Unknown)?;
                let settled = external::settle(&ctx.db, db, opened.id, receipt).await?;
                if settled.seq.is_none() {
                    release_batch(&ctx.db, run, opened.id).await?;
                    return Err(ExternalError::Store(e).into());
                }
                run = take_batch(&ctx.db, run, opened.id, settled.row_count).await?;
                pace.wait(settled.row_count).await;
                continue;
            }
            Err(other) => return Err(other.into()),
        };
        // The store committed: the batch is settled and taken into the run, and the next one
        // opened and claimed, in one commit of Lethe's database.
        let next = match next {
            Ok(Some(batch)) if !batch.1.is_empty() => batch,
            ended => {
                run = settle_and_take(&ctx.db, run, opened.id, rows).await?;
                // The run ends within its pace, as every batch does.
                pace.wait(rows).await;
                return match ended? {
                    Some(_) => done(ctx, db, policy, &run, Some(opened.id)).await,
                    None => Ok(()),
                };
            }
        };
        // The throttle's pause comes before the next batch is claimed, so that a stop during
        // it ends the run before that batch.
        pace.wait(rows).await;
        let reaches = next.1.last().map(Vec::as_slice).unwrap_or_default();
        match settle_and_claim_next(&ctx.db, policy, &planned, &run, opened.id, rows, reaches).await? {
            Some((next_intent, taken)) => {
                run = taken;
                claimed = Some((next, next_intent));
            }
            None => {
                let id = run.id;
                settle_and_take(&ctx.db, run, opened.id, rows).await?;
                tracing::info!(run_id = %id, "retention run was stopped or is being worked elsewhere");
                return Ok(());
            }
        }
        settled_receipt = Some(opened.id);
    }
}

/// A batch read from the store: the holds in force when it was read and its keys.
type KeyBatch = (Held, Vec<Vec<String>>);

/// What selects a SQL run's batches: the policy's target in the store, fixed for the run.
struct Scan<'a> {
    ctx: &'a JobContext,
    policy: &'a Policy,
    store: &'a store::Model,
    db: &'a sea_orm::DatabaseConnection,
    kind: lethe_entities::StoreKind,
    live: &'a TableSchema,
    age_column: &'a str,
    filters: &'a [lethe_entities::retention::Filter],
    action: &'a lethe_entities::retention::PolicyAction,
    yield_to: &'a [Vec<lethe_entities::retention::Filter>],
    cutoff: OffsetDateTime,
    limit: u64,
}

impl Scan<'_> {
    /// The target with the rows `held` keeps left out.
    fn target<'b>(&'b self, held: &'b Held) -> Target<'b> {
        Target {
            kind: self.kind,
            table: &self.policy.target,
            live: self.live,
            age_column: self.age_column,
            filters: self.filters,
            action: self.action,
            held,
            yield_to: self.yield_to,
        }
    }

    /// The holds in force and the next batch's keys after `cursor`; `None` when a hold covers
    /// the whole table (the run has ended `held`). Holds are read again for every batch: one
    /// placed during the run stops it or keeps its subject's rows.
    async fn next(
        &self,
        reader: &mut holds::Reader,
        run: &Run,
        cursor: Option<&[String]>,
    ) -> Result<Option<KeyBatch>, Failure> {
        let Some(held) = held(self.ctx, reader, self.store, self.policy, run).await? else { return Ok(None) };
        let target = self.target(&held);
        let select = target.keys_after(target.condition(self.cutoff), cursor, self.limit);
        let width = self.live.primary_key.len();
        let mut keys = Vec::new();
        for row in self.db.query_all(&select).await.map_err(|e| Failure::store(&classify(e)))? {
            let mut key = Vec::with_capacity(width);
            for i in 0..width {
                key.push(
                    row.try_get::<Option<String>>("", &format!("k{i}"))
                        .map_err(|e| Failure::store(&classify(e)))?
                        .unwrap_or_default(),
                );
            }
            keys.push(key);
        }
        Ok(Some((held, keys)))
    }
}

/// The held subjects' rows to leave alone, or `None` when a hold covers the whole table (the run
/// then ends `held`).
async fn held(
    ctx: &JobContext,
    reader: &mut holds::Reader,
    store: &store::Model,
    policy: &Policy,
    run: &Run,
) -> Result<Option<Held>, Failure> {
    match reader.read(&ctx.db, &ctx.keyring, &ctx.stores, store, &policy.target, OffsetDateTime::now_utc()).await {
        Ok(Holds::Rows(held)) => Ok(Some(held)),
        Ok(Holds::Table(hold)) => {
            let message = format!("legal hold {hold} covers `{}` of store `{}`", policy.target, store.name);
            finish(&ctx.db, run, RunStep::Hold { message }).await?;
            tracing::info!(run_id = %run.id, hold_id = %hold, "retention run stopped by a legal hold");
            Ok(None)
        }
        Err(HoldsError::Db(e)) => Err(e.into()),
        Err(HoldsError::Crypto) => Err(Failure::Stop(JobError::Crypto)),
        Err(e @ HoldsError::Unresolved(_)) => Err(Failure::new("legal_hold_unresolved", e.to_string())),
    }
}

/// Throttling: the rows this process handled in the run so far, and since when.
struct Pace {
    limit: Option<u32>,
    since: Instant,
    rows: u64,
}

impl Pace {
    fn new(limit: Option<i32>) -> Self {
        Self { limit: limit.and_then(|l| u32::try_from(l).ok()).filter(|l| *l > 0), since: Instant::now(), rows: 0 }
    }

    /// Counts `rows` more and sleeps until the total is within the limit since the start.
    async fn wait(&mut self, rows: u64) {
        self.rows += rows;
        let Some(limit) = self.limit else { return };
        let due = Duration::from_secs_f64(self.rows as f64 / f64::from(limit));
        if let Some(rest) = due.checked_sub(self.since.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
}

/// Marks the run running, fixing its cutoff (now minus the policy's age) the first time; a
/// resumed run keeps the cutoff and start it had. `None` when the run was stopped meanwhile
/// (compare-and-set on its state).
async fn start(lethe: &DatabaseConnection, policy: &Policy, run: Run) -> Result<Option<Run>, Failure> {
    if run.state == RunState::Running && run.cutoff.is_some() {
        return Ok(Some(run));
    }
    let now = OffsetDateTime::now_utc();
    let cutoff = match run.cutoff {
        Some(cutoff) => cutoff,
        None => lethe_entities::datamap::validate::subtract_duration(now, &policy.max_age)
            .ok_or_else(|| Failure::new("policy_invalid", "the policy's maximum age cannot be applied".into()))?,
    };
    let started_at = run.started_at.unwrap_or(now);
    let started = run.apply(lethe, RunStep::Start { cutoff, started_at }).await?;
    if started.is_none() {
        tracing::info!(run_id = %run.id, "retention run was stopped before it started");
    }
    Ok(started)
}

/// Opens the batch's intent and records it on the run with the cursor the batch reaches, in one
/// transaction of Lethe's database; `None` (nothing committed) when another worker changed the
/// run since it was read.
async fn open_and_claim(
    lethe: &DatabaseConnection,
    policy: &Policy,
    planned: &NewEntry,
    run: &Run,
    last: &[String],
) -> Result<Option<(Intent, Run)>, Failure> {
    let txn = lethe_entities::entity::begin_write(lethe).await?;
    let opened = intent::open(&txn, policy.organization_id, planned).await?;
    let Some(claimed) = claim_batch(&txn, run, opened.id, last).await? else { return Ok(None) };
    txn.commit().await?;
    Ok(Some((opened, claimed)))
}

/// Removes a settled receipt from the store (best effort: a leftover applied receipt of a
/// settled intent is never read again).
async fn forget_receipt(store: &sea_orm::DatabaseConnection, intent_id: Uuid) {
    if let Err(e) = receipts::forget_applied(store, intent_id).await {
        tracing::warn!(error = %e, "could not remove a settled receipt");
    }
}

/// Records the batch in flight (its intent and the cursor it reaches) unless another worker
/// changed the run since it was read; returns the run as it now is, or `None`.
async fn claim_batch(
    lethe: &impl ConnectionTrait,
    run: &Run,
    intent_id: Uuid,
    last: &[String],
) -> Result<Option<Run>, Failure> {
    Ok(run.record(lethe, Progress::Claim { intent: intent_id, cursor: serde_json::json!(last) }).await?)
}

/// Takes a settled batch into the run: cursor advanced, counts added, nothing in flight.
/// Committed lazily ([`Commit::Lazy`]): lost in a crash of the database server, the run still
/// shows the batch in flight, whose intent is settled, and the resumed run takes it from there.
async fn take_batch(lethe: &DatabaseConnection, run: Run, intent_id: Uuid, rows: u64) -> Result<Run, Failure> {
    let txn = lethe_entities::entity::begin(lethe, Commit::Lazy).await?;
    let taken = take_batch_in(&txn, &run, intent_id, rows).await?.ok_or(Failure::Stop(JobError::Conflict))?;
    txn.commit().await?;
    Ok(taken)
}

/// The update of [`take_batch`] on `lethe` (a transaction the caller commits); `None` when the
/// run no longer has `intent_id` in flight.
async fn take_batch_in(
    lethe: &impl ConnectionTrait,
    run: &Run,
    intent_id: Uuid,
    rows: u64,
) -> Result<Option<Run>, Failure> {
    let rows = i64::try_from(rows).unwrap_or(i64::MAX);
    Ok(run.record(lethe, Progress::Take { intent: intent_id, rows }).await?)
}

/// Settles a batch whose store transaction committed `rows` (its entry appended) and takes it
/// into the run.
async fn settle_and_take(lethe: &DatabaseConnection, run: Run, intent_id: Uuid, rows: u64) -> Result<Run, Failure> {
    intent::settle_applied(lethe, intent_id, rows).await?;
    take_batch(lethe, run, intent_id, rows).await
}

/// Settles the batch in flight (`intent_id`, committed in the store with `rows`), takes it into
/// the run, and opens and claims the next batch, which reaches `last`: one durable commit of
/// Lethe's database between two store transactions. `None`, with nothing committed, when the
/// run was stopped or changed by another worker (the caller then settles the batch alone), or
/// when the intent was settled concurrently.
async fn settle_and_claim_next(
    lethe: &DatabaseConnection,
    policy: &Policy,
    planned: &NewEntry,
    run: &Run,
    intent_id: Uuid,
    rows: u64,
    last: &[String],
) -> Result<Option<(Intent, Run)>, Failure> {
    let txn = lethe_entities::entity::begin_write(lethe).await?;
    if intent::settle_applied_in(&txn, intent_id, rows).await?.is_none() {
        return Ok(None);
    }
    let Some(taken) = take_batch_in(&txn, run, intent_id, rows).await? else { return Ok(None) };
    let opened = intent::open(&txn, policy.organization_id, planned).await?;
    let Some(claimed) = claim_batch(&txn, &taken, opened.id, last).await? else { return Ok(None) };
    txn.commit().await?;
    Ok(Some((opened, claimed)))
}

/// Ends a run that has no batch left: the last batch's receipt (if any) is removed from the
/// store and the run is done.
async fn done(
    ctx: &JobContext,
    store: &sea_orm::DatabaseConnection,
    policy: &Policy,
    run: &Run,
    settled_receipt: Option<Uuid>,
) -> Result<(), Failure> {
    if let Some(receipt) = settled_receipt {
        forget_receipt(store, receipt).await;
    }
    finish(&ctx.db, run, RunStep::Finish).await?;
    tracing::info!(run_id = %run.id, policy_id = %policy.id, rows = run.rows, batches = run.batches, "retention run done");
    Ok(())
}

/// Clears a batch in flight that never committed (its intent is void): the cursor stays.
async fn release_batch(lethe: &DatabaseConnection, run: Run, intent_id: Uuid) -> Result<Run, Failure> {
    let released = run.record(lethe, Progress::Release { intent: intent_id }).await?;
    Ok(released.unwrap_or_else(|| run.progressed(&Progress::Release { intent: intent_id }, run.updated_at)))
}

/// The store a batch ran in, for settling it.
enum Side<'a> {
    /// A SQL store (receipts in `lethe_ledger_receipts`).
    Sql(&'a sea_orm::DatabaseConnection),
    /// A Redis store (receipts as keys).
    Redis(&'a RedisStore),
}

/// Settles the batch a stopped or crashed run left in flight.
async fn settle_in_flight(
    lethe: &DatabaseConnection,
    side: Side<'_>,
    run: Run,
    intent_id: Uuid,
) -> Result<Run, Failure> {
    let opened: Option<Intent> = intent::find(lethe, intent_id).await?;
    let rows = match opened.as_ref().map(|i| (i.state.as_str(), i.row_count)) {
        Some((intent::state::APPLIED, Some(rows))) => Some(rows as u64),
        Some((intent::state::VOID, _)) | None => None,
        Some(_) => match side {
            Side::Sql(store) => {
                let receipt = receipts::fence(store, intent_id).await.map_err(|e| Failure::store(&classify(e)))?;
                let settled = external::settle(lethe, store, intent_id, receipt).await?;
                settled.seq.map(|_| settled.row_count)
            }
            Side::Redis(store) => {
                let receipt = crate::erase::redis::fence(store, intent_id).await.map_err(|e| Failure::store(&e))?;
                match receipt {
                    Some(n) => {
                        intent::settle_applied(lethe, intent_id, n).await?;
                        store.forget_receipt(&crate::erase::redis::receipt_key(intent_id)).await;
                    }
                    None => intent::settle_void(lethe, intent_id).await?,
                }
                receipt
            }
        },
    };
    tracing::info!(run_id = %run.id, committed = rows.is_some(), "retention run settled the batch left in flight");
    match rows {
        Some(rows) => take_batch(lethe, run, intent_id, rows).await,
        None => release_batch(lethe, run, intent_id).await,
    }
}

/// The run's Redis work: `SCAN` pages of the pattern, each page's keys past the age deleted
/// by one script with the batch's receipt. The cursor is the `SCAN` cursor (`0` once complete).
async fn redis_run(
    ctx: &JobContext,
    policy: &Policy,
    store: &store::Model,
    redis: &RedisStore,
    run: Run,
) -> Result<(), Failure> {
    let Some(mut run) = start(&ctx.db, policy, run).await? else { return Ok(()) };
    let started = run.started_at.unwrap_or_else(OffsetDateTime::now_utc);
    let cutoff = run.cutoff.unwrap_or(started);
    let age = Age::of(policy, cutoff, started);
    let count = policy.batch_size.min(policy.throttle_rows_per_sec.unwrap_or(i32::MAX)).max(1) as usize;
    let mut pace = Pace::new(policy.throttle_rows_per_sec);
    let mut reader = holds::Reader::default();
    loop {
        if let Some(pending) = run.pending_intent {
            run = settle_in_flight(&ctx.db, Side::Redis(redis), run.clone(), pending).await?;
            continue;
        }
        let Some(held) = held(ctx, &mut reader, store, policy, &run).await? else { return Ok(()) };
        let held: std::collections::BTreeSet<String> = held.keys.into_iter().flatten().collect();
        let cursor = run.cursor_values().and_then(|c| c.first().and_then(|c| c.parse::<u64>().ok()));
        if cursor == Some(0) {
            finish(&ctx.db, &run, RunStep::Finish).await?;
            tracing::info!(run_id = %run.id, policy_id = %policy.id, rows = run.rows, batches = run.batches, "retention run done");
            return Ok(());
        }
        let (next, keys) =
            redis.scan(cursor.unwrap_or(0), &policy.target, count).await.map_err(|e| Failure::store(&e))?;
        let mut keys: Vec<String> = aged(redis, &keys, &age, started)
            .await
            .map_err(|e| Failure::store(&e))?
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| !held.contains(k))
            .collect();
        keys.sort();
        keys.dedup();
        let last = [next.to_string()];
        if keys.is_empty() {
            match advance(&ctx.db, run, &last).await? {
                Some(advanced) => run = advanced,
                None => return Ok(()),
            }
            continue;
        }
        let planned = NewEntry {
            policy_id: Some(policy.id),
            store: Some(store.name.clone()),
            table: Some(policy.target.clone()),
            action: Some("delete_row".to_owned()),
            ..NewEntry::new(EntryKind::RetentionPurge)
        };
        let opened = external::open(&ctx.db, policy.organization_id, &planned).await?;
        let Some(claimed) = claim_batch(&ctx.db, &run, opened.id, &last).await? else {
            crate::erase::redis::fence(redis, opened.id).await.map_err(|e| Failure::store(&e))?;
            intent::settle_void(&ctx.db, opened.id).await?;
            return Ok(());
        };
        run = claimed;
        let rows = match purge(redis, opened.id, &keys, &age).await {
            Ok(Some(rows)) => {
                intent::settle_applied(&ctx.db, opened.id, rows).await?;
                redis.forget_receipt(&crate::erase::redis::receipt_key(opened.id)).await;
                rows
            }
            Ok(None) => {
                intent::settle_void(&ctx.db, opened.id).await?;
                release_batch(&ctx.db, run, opened.id).await?;
                return Err(Failure::new("store_query_failed", "the batch was voided by recovery".into()));
            }
            // The script may or may not have run: the receipt says (on resume).
            Err(e) => {
                return Err(Failure::Stop(JobError::Permanent(format!("redis: {e}; the batch is settled on resume"))));
            }
        };
        run = take_batch(&ctx.db, run, opened.id, rows).await?;
        pace.wait(rows).await;
    }
}

/// Moves the cursor past a page with nothing to do; `None` when the run was stopped or another
/// worker changed it since it was read.
async fn advance(lethe: &DatabaseConnection, run: Run, cursor: &[String]) -> Result<Option<Run>, Failure> {
    Ok(run.record(lethe, Progress::Skip { cursor: serde_json::json!(cursor) }).await?)
}

/// Ends a queued or running run by `step` (a stopped run stays stopped).
async fn finish(lethe: &DatabaseConnection, run: &Run, step: RunStep) -> Result<(), sea_orm::DbErr> {
    run.apply(lethe, step).await.map(drop)
}
