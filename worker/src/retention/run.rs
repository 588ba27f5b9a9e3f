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
//! receipt atomically.
//!
//! This module starts a run and records how it ended; the batches are the store connector's
//! ([`crate::stores::Connector::purge`]) over the steps of [`super::batches`]. A failure that may
//! pass (the store unreachable, a connection dropped, an unknown commit outcome, Lethe's
//! database busy) is retried by a job of its own after a backoff
//! ([`crate::settings::RetrySettings`]), which resumes from the run's cursor; any other failure,
//! or the last attempt's, fails the run with its code and tells the admins
//! ([`crate::give_up::run`]).

use futures::FutureExt;
use futures::future::BoxFuture;
use lethe_entities::entity::retention_policy::Model as Policy;
use lethe_entities::entity::retention_run::{Model as Run, RunState, RunStep};
use lethe_entities::entity::store;
use time::OffsetDateTime;
use uuid::Uuid;

use super::batches::{Failure, HeldSource, PurgeJob, finish, start};
use super::builtin;
use super::holds::{self, Held, Holds, HoldsError};
use crate::context::JobContext;
use crate::error::JobError;
use crate::give_up::{self, Cause};
use crate::queue::FollowUp;
use crate::retry::{self, Decision, Failed};

/// Works the run `run_id` of `organization` until it is done, fails, or finds another worker on
/// it, as attempt `attempt` (1 for the first). Runs already over are left alone.
pub async fn run(ctx: &JobContext, organization: Uuid, run_id: Uuid, attempt: u32) -> Result<(), JobError> {
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
        return settle_outcome(ctx, run, outcome, attempt).await;
    }
    let Some(store) = store::Model::find_in_org(&ctx.db, organization, policy.store_id).await? else {
        let cause = Cause { code: "store_not_found".into(), message: "the policy's store no longer exists".into() };
        return give_up::run(ctx, &run, &cause).await;
    };
    let outcome = match ctx.stores.connector(&store, &ctx.keyring).await {
        Ok(connector) => {
            let mut holds = RunHolds { ctx, reader: holds::Reader::default(), store: &store, policy: &policy };
            let job =
                PurgeJob { lethe: &ctx.db, keyring: &ctx.keyring, policy: &policy, store: &store, holds: &mut holds };
            connector.purge(job, run.clone()).await
        }
        Err(e) => Err(Failure::store(&e)),
    };
    settle_outcome(ctx, run, outcome, attempt).await
}

/// Records how attempt `attempt` of a run ended: a failure that may pass is retried by a job of
/// its own after the backoff (unless this was the last attempt); any other fails the run.
async fn settle_outcome(
    ctx: &JobContext,
    run: Run,
    outcome: Result<(), Failure>,
    attempt: u32,
) -> Result<(), JobError> {
    let Err(failure) = outcome else { return Ok(()) };
    let conflict = matches!(failure, Failure::Stop(JobError::Conflict));
    let failed = Failed { attempt, transient: failure.is_transient(), conflict };
    let (organization_id, run_id) = (run.organization_id, run.id);
    let retry =
        |attempt, after| FollowUp::RetentionRetry { organization_id, run_id, failure: Uuid::now_v7(), attempt, after };
    match retry::decide(ctx, failed, retry).await? {
        // Another worker took the run's batch, or an operator stopped it: not a failure.
        Decision::LeftToOthers => return Ok(()),
        Decision::Retried(after) => {
            let retry_in_ms = after.as_millis() as u64;
            tracing::warn!(%run_id, attempt, code = failure.code(), retry_in_ms, "retention run failed in a way that may pass; retrying");
            return Ok(());
        }
        Decision::GiveUp => {}
    }
    give_up::run(ctx, &run, &Cause { code: failure.code().to_owned(), message: failure.message() }).await
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
        // A store on the way to the table could not be searched (usually unreachable): may pass.
        Err(e @ HoldsError::Unresolved(_)) => Err(Failure::HoldUnresolved(e.to_string())),
    }
}

/// The holds of one run's table, read through the registry (subjects located across stores).
struct RunHolds<'a> {
    ctx: &'a JobContext,
    reader: holds::Reader,
    store: &'a store::Model,
    policy: &'a Policy,
}

impl HeldSource for RunHolds<'_> {
    fn held<'a>(&'a mut self, run: &'a Run) -> BoxFuture<'a, Result<Option<Held>, Failure>> {
        async move { held(self.ctx, &mut self.reader, self.store, self.policy, run).await }.boxed()
    }
}
