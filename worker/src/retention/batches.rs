//! The run-side steps every retention purge shares, whatever the store's kind: starting and
//! ending a run, opening and claiming a batch's intent, taking a settled batch into the run,
//! settling a batch left in flight, pacing, and how a purge fails ([`Failure`]). Each kind's
//! purge loop (`purge` in [`crate::stores::sql`] and [`crate::stores::redis`]) drives them; the
//! run row changes only through its state machine
//! ([`lethe_entities::entity::retention_run`]).

use std::future::Future;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use lethe_entities::Keyring;
use lethe_entities::entity::ledger_intent::Model as Intent;
use lethe_entities::entity::retention_policy::Model as Policy;
use lethe_entities::entity::retention_run::{Model as Run, Progress, RunState, RunStep};
use lethe_entities::entity::{Commit, store};
use lethe_entities::ledger::{NewEntry, intent};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use time::OffsetDateTime;
use uuid::Uuid;

use super::held::Held;
use crate::error::JobError;
use crate::ledger::external::ExternalError;
use crate::stores::sql::classify;
use crate::stores::{SettleError, StoreError};

/// One purge: the policy, its store, Lethe's side, and where the holds in force come from.
pub struct PurgeJob<'a> {
    /// Lethe's database (the run row, intents, ledger).
    pub lethe: &'a DatabaseConnection,
    /// Keys (pseudonyms for anonymising policies).
    pub keyring: &'a Keyring,
    /// The policy.
    pub policy: &'a Policy,
    /// Its store.
    pub store: &'a store::Model,
    /// The legal holds, read again for every batch.
    pub holds: &'a mut dyn HeldSource,
}

/// Where a purge learns which rows legal holds keep.
pub trait HeldSource: Send {
    /// The rows holds keep in the policy's table now; `None` when a hold covers the whole table
    /// (the run has then ended `held`).
    fn held<'a>(&'a mut self, run: &'a Run) -> BoxFuture<'a, Result<Option<Held>, Failure>>;
}

/// Why a run stopped early.
pub enum Failure {
    /// The run cannot go on (a policy that no longer fits, a hold that cannot be resolved):
    /// recorded on the run with its stable code and message.
    Run(&'static str, String),
    /// The store failed or refused; transient when it may come back ([`StoreError::is_transient`]).
    Store(StoreError),
    /// The store's side of a batch may or may not have committed: the batch stays in flight and
    /// the next attempt settles it from the store's receipt (always transient).
    Unknown(StoreError),
    /// Lethe's side failed (its database, the ledger, a concurrent change).
    Stop(JobError),
    /// The rows legal holds keep could not be found (a store on the way to the table could not
    /// be searched): transient, `legal_hold_unresolved`.
    HoldUnresolved(String),
}

impl Failure {
    /// A failure for good, with its stable code and message.
    pub fn new(code: &'static str, message: String) -> Self {
        Self::Run(code, message)
    }

    /// The store's failure.
    pub fn store(e: &StoreError) -> Self {
        Self::Store(e.clone())
    }

    /// Whether a later attempt may get past it.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Run(..) => false,
            Self::Store(e) => e.is_transient(),
            Self::Unknown(_) | Self::HoldUnresolved(_) => true,
            Self::Stop(e) => e.is_transient(),
        }
    }

    /// The stable code the run fails with.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Run(code, _) => code,
            Self::Store(e) => e.code(),
            Self::Unknown(_) => "store_outcome_unknown",
            Self::HoldUnresolved(_) => "legal_hold_unresolved",
            Self::Stop(e) => e.code(),
        }
    }

    /// What happened, in Lethe's words.
    pub fn message(&self) -> String {
        match self {
            Self::Run(_, message) | Self::HoldUnresolved(message) => message.clone(),
            Self::Store(e) => e.to_string(),
            Self::Unknown(e) => format!("the store's commit outcome is unknown ({e}); the batch is settled on resume"),
            Self::Stop(e) => e.message(),
        }
    }
}

impl From<sea_orm::DbErr> for Failure {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Stop(JobError::Db(e))
    }
}

impl From<lethe_entities::ledger::LedgerError> for Failure {
    fn from(e: lethe_entities::ledger::LedgerError) -> Self {
        Self::Stop(JobError::Ledger(e))
    }
}

impl From<ExternalError> for Failure {
    fn from(e: ExternalError) -> Self {
        match e {
            ExternalError::Store(e) => Self::store(&classify(e)),
            // Unknown outcome: the batch stays in flight and the retried job settles it.
            ExternalError::Unknown(e) => Self::Unknown(classify(e)),
            ExternalError::Ledger(e) => e.into(),
        }
    }
}

impl From<SettleError> for Failure {
    fn from(e: SettleError) -> Self {
        match e {
            SettleError::Store(e) => Self::store(&e),
            SettleError::Settle(e) => e.into(),
        }
    }
}

/// Throttling: the rows this process handled in the run so far, and since when.
pub struct Pace {
    limit: Option<u32>,
    since: Instant,
    rows: u64,
}

impl Pace {
    /// A pace of at most `limit` rows per second (none when unset or not positive).
    pub fn new(limit: Option<i32>) -> Self {
        Self { limit: limit.and_then(|l| u32::try_from(l).ok()).filter(|l| *l > 0), since: Instant::now(), rows: 0 }
    }

    /// Counts `rows` more and sleeps until the total is within the limit since the start.
    pub async fn wait(&mut self, rows: u64) {
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
pub async fn start(lethe: &DatabaseConnection, policy: &Policy, run: Run) -> Result<Option<Run>, Failure> {
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
pub async fn open_and_claim(
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

/// Records the batch in flight (its intent and the cursor it reaches) unless another worker
/// changed the run since it was read; returns the run as it now is, or `None`.
pub async fn claim_batch(
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
pub async fn take_batch(lethe: &DatabaseConnection, run: Run, intent_id: Uuid, rows: u64) -> Result<Run, Failure> {
    let txn = lethe_entities::entity::begin(lethe, Commit::Lazy).await?;
    let taken = take_batch_in(&txn, &run, intent_id, rows).await?.ok_or(Failure::Stop(JobError::Conflict))?;
    txn.commit().await?;
    Ok(taken)
}

/// The update of [`take_batch`] on `lethe` (a transaction the caller commits); `None` when the
/// run no longer has `intent_id` in flight.
pub async fn take_batch_in(
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
pub async fn settle_and_take(lethe: &DatabaseConnection, run: Run, intent_id: Uuid, rows: u64) -> Result<Run, Failure> {
    intent::settle_applied(lethe, intent_id, rows).await?;
    take_batch(lethe, run, intent_id, rows).await
}

/// Settles the batch in flight (`intent_id`, committed in the store with `rows`), takes it into
/// the run, and opens and claims the next batch, which reaches `last`: one durable commit of
/// Lethe's database between two store transactions. `None`, with nothing committed, when the
/// run was stopped or changed by another worker (the caller then settles the batch alone), or
/// when the intent was settled concurrently.
pub async fn settle_and_claim_next(
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

/// Clears a batch in flight that never committed (its intent is void): the cursor stays.
pub async fn release_batch(lethe: &DatabaseConnection, run: Run, intent_id: Uuid) -> Result<Run, Failure> {
    let released = run.record(lethe, Progress::Release { intent: intent_id }).await?;
    Ok(released.unwrap_or_else(|| run.progressed(&Progress::Release { intent: intent_id }, run.updated_at)))
}

/// Moves the cursor past a page with nothing to do; `None` when the run was stopped or another
/// worker changed it since it was read.
pub async fn advance(lethe: &DatabaseConnection, run: Run, cursor: &[String]) -> Result<Option<Run>, Failure> {
    Ok(run.record(lethe, Progress::Skip { cursor: serde_json::json!(cursor) }).await?)
}

/// Ends a queued or running run by `step` (a stopped run stays stopped).
pub async fn finish(lethe: &DatabaseConnection, run: &Run, step: RunStep) -> Result<(), sea_orm::DbErr> {
    run.apply(lethe, step).await.map(drop)
}

/// Settles the batch a stopped or crashed run left in flight: from its intent when that was
/// settled already, else from the store's receipt (`settle`, the kind's). The batch is then
/// taken into the run, or released when it never committed.
pub async fn settle_in_flight(
    lethe: &DatabaseConnection,
    run: Run,
    intent_id: Uuid,
    settle: impl Future<Output = Result<Option<u64>, SettleError>>,
) -> Result<Run, Failure> {
    let opened: Option<Intent> = intent::find(lethe, intent_id).await?;
    let rows = match opened.as_ref().map(|i| (i.state.as_str(), i.row_count)) {
        Some((intent::state::APPLIED, Some(rows))) => Some(rows as u64),
        Some((intent::state::VOID, _)) | None => None,
        Some(_) => settle.await?,
    };
    tracing::info!(run_id = %run.id, committed = rows.is_some(), "retention run settled the batch left in flight");
    match rows {
        Some(rows) => take_batch(lethe, run, intent_id, rows).await,
        None => release_batch(lethe, run, intent_id).await,
    }
}
