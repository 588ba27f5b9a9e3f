//! A retention run in a SQL store: batches by keyset pagination on the primary key, each
//! deleted or anonymised in one store transaction with its receipt (see [`crate::retention::run`]
//! for the protocol and how consecutive batches overlap).

use lethe_entities::Keyring;
use lethe_entities::entity::ledger_intent::Model as Intent;
use lethe_entities::entity::retention_policy::Model as Policy;
use lethe_entities::entity::retention_run::{Model as Run, RunStep};
use lethe_entities::ledger::NewEntry;
use lethe_entities::ledger::entry::EntryKind;
use lethe_entities::retention::PolicyAction;
use sea_orm::{DatabaseConnection, DbErr};
use time::OffsetDateTime;
use uuid::Uuid;

use super::retention::{Batch, Target};
use super::{SqlStore, classify};
use crate::ledger::external::{self, ExternalError};
use crate::ledger::receipts;
use crate::retention::batches::{
    Failure, HeldSource, Pace, PurgeJob, finish, open_and_claim, release_batch, settle_and_claim_next, settle_and_take,
    settle_in_flight, start, take_batch,
};
use crate::retention::held::Held;
use crate::retention::overlap;
use crate::stores::schema::TableSchema;

/// Runs `run` of the job's policy in `sql`, resuming where it stopped.
pub async fn run(sql: &SqlStore, job: PurgeJob<'_>, run: Run) -> Result<(), Failure> {
    let PurgeJob { lethe, keyring, policy, store, holds } = job;
    let (live, action, age_column) = checked(sql, policy).await?;
    let Some(mut run) = start(lethe, policy, run).await? else { return Ok(()) };
    let filters = policy.filters();
    let others = Policy::all_in_org(lethe, policy.organization_id).await?;
    let yield_to = overlap::yielded(policy, &others, run.started_at.unwrap_or_else(OffsetDateTime::now_utc));
    let db = sql.connection();
    receipts::ensure_table(db).await.map_err(|e| Failure::store(&classify(e)))?;
    let purge = Purge {
        lethe,
        keyring,
        scan: Scan {
            policy,
            db,
            kind: sql.kind(),
            live: &live,
            age_column: &age_column,
            filters: &filters,
            action: &action,
            yield_to: &yield_to,
            cutoff: run.cutoff.unwrap_or_else(OffsetDateTime::now_utc),
            limit: policy.batch_size.min(policy.throttle_rows_per_sec.unwrap_or(i32::MAX)).max(1) as u64,
        },
        planned: NewEntry {
            policy_id: Some(policy.id),
            store: Some(store.name.clone()),
            table: Some(policy.target.clone()),
            action: Some(action.as_str().to_owned()),
            ..NewEntry::new(EntryKind::RetentionPurge)
        },
    };
    // A batch a stopped or crashed run left in flight is settled (or voided) first.
    if let Some(pending) = run.pending_intent {
        run = settle_in_flight(lethe, run.clone(), pending, super::receipts::settle(sql, lethe, pending)).await?;
    }
    purge.batches(holds, run).await
}

/// The policy's table as the store has it now, the policy's action and its age column; a
/// failure when the table, its primary key or the age column is gone.
async fn checked(sql: &SqlStore, policy: &Policy) -> Result<(TableSchema, PolicyAction, String), Failure> {
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
    Ok((live, action, age_column))
}

/// One SQL purge under way: what stays fixed for the run.
struct Purge<'a> {
    lethe: &'a DatabaseConnection,
    keyring: &'a Keyring,
    scan: Scan<'a>,
    planned: NewEntry,
}

impl Purge<'_> {
    /// The batches, until none is left, a hold covers the table, the run is stopped, or a
    /// batch fails.
    async fn batches(&self, holds: &mut dyn HeldSource, mut run: Run) -> Result<(), Failure> {
        let (scan, lethe, db) = (&self.scan, self.lethe, self.scan.db);
        let mut pace = Pace::new(scan.policy.throttle_rows_per_sec);
        let mut settled_receipt: Option<Uuid> = None;
        // The next batch, already read and claimed with its intent while the previous one ran.
        let mut claimed: Option<(KeyBatch, Intent)> = None;
        loop {
            let ((held, keys), opened) = match claimed.take() {
                Some(ready) => ready,
                None => match self.claim(holds, &run, settled_receipt).await? {
                    Some((batch, opened, taken)) => {
                        run = taken;
                        (batch, opened)
                    }
                    None => return Ok(()),
                },
            };
            let last = keys.last().cloned().unwrap_or_default();
            let batch = Batch {
                table: scan.policy.target.clone(),
                live: scan.live.clone(),
                keys,
                recheck: scan.target(&held).condition(scan.cutoff),
                action: scan.action.clone(),
                keyring: self.keyring.clone(),
                organization: scan.policy.organization_id,
                forget: settled_receipt.take(),
            };
            // The next batch's holds and keys are read from the store (a second connection; its
            // keys come after this batch's, so the two never meet) while this batch's
            // transaction runs.
            let (applied, next) =
                tokio::join!(external::apply(db, opened.id, batch.into_work()), scan.next(holds, &run, Some(&last)));
            let rows = match applied {
                Ok(rows) => rows,
                Err(ExternalError::Store(e)) => {
                    run = self.rolled_back(run, opened.id, e, &mut pace).await?;
                    continue;
                }
                Err(other) => return Err(other.into()),
            };
            // The store committed: the batch is settled and taken into the run, and the next one
            // opened and claimed, in one commit of Lethe's database.
            let next = match next {
                Ok(Some(batch)) if !batch.1.is_empty() => batch,
                ended => return self.last(run, opened.id, rows, ended, &mut pace).await,
            };
            // The throttle's pause comes before the next batch is claimed, so that a stop during
            // it ends the run before that batch.
            pace.wait(rows).await;
            let reaches = next.1.last().map(Vec::as_slice).unwrap_or_default();
            match settle_and_claim_next(lethe, scan.policy, &self.planned, &run, opened.id, rows, reaches).await? {
                Some((next_intent, taken)) => {
                    run = taken;
                    claimed = Some((next, next_intent));
                }
                None => {
                    let id = run.id;
                    settle_and_take(lethe, run, opened.id, rows).await?;
                    tracing::info!(run_id = %id, "retention run was stopped or is being worked elsewhere");
                    return Ok(());
                }
            }
            settled_receipt = Some(opened.id);
        }
    }

    /// Reads and claims the next batch when none was claimed ahead; `None` when the run has
    /// ended (nothing left: done; a hold on the table; stopped or worked elsewhere).
    async fn claim(
        &self,
        holds: &mut dyn HeldSource,
        run: &Run,
        settled_receipt: Option<Uuid>,
    ) -> Result<Option<(KeyBatch, Intent, Run)>, Failure> {
        let Some(batch) = self.scan.next(holds, run, run.cursor_values().as_deref()).await? else { return Ok(None) };
        let Some(last) = batch.1.last() else {
            done(self.lethe, self.scan.db, self.scan.policy, run, settled_receipt).await?;
            return Ok(None);
        };
        let Some((opened, taken)) = open_and_claim(self.lethe, self.scan.policy, &self.planned, run, last).await?
        else {
            tracing::info!(run_id = %run.id, "retention run was stopped or is being worked elsewhere");
            return Ok(None);
        };
        Ok(Some((batch, opened, taken)))
    }

    /// A batch whose store transaction rolled back: its receipt slot is fenced and its intent
    /// settled. A void intent releases the batch and fails the run with the store's error; one
    /// that committed after all is taken into the run, which goes on.
    async fn rolled_back(&self, run: Run, intent: Uuid, e: DbErr, pace: &mut Pace) -> Result<Run, Failure> {
        let db = self.scan.db;
        let receipt = receipts::fence(db, intent).await.map_err(ExternalError::Unknown)?;
        let settled = external::settle(self.lethe, db, intent, receipt).await?;
        if settled.seq.is_none() {
            release_batch(self.lethe, run, intent).await?;
            return Err(ExternalError::Store(e).into());
        }
        let run = take_batch(self.lethe, run, intent, settled.row_count).await?;
        pace.wait(settled.row_count).await;
        Ok(run)
    }

    /// The last batch committed (`ended` says why no batch follows): it is settled and taken,
    /// and the run ends within its pace, as every batch does.
    async fn last(
        &self,
        run: Run,
        intent: Uuid,
        rows: u64,
        ended: Result<Option<KeyBatch>, Failure>,
        pace: &mut Pace,
    ) -> Result<(), Failure> {
        let run = settle_and_take(self.lethe, run, intent, rows).await?;
        pace.wait(rows).await;
        match ended? {
            Some(_) => done(self.lethe, self.scan.db, self.scan.policy, &run, Some(intent)).await,
            None => Ok(()),
        }
    }
}

/// A batch read from the store: the holds in force when it was read and its keys.
type KeyBatch = (Held, Vec<Vec<String>>);

/// What selects a SQL run's batches: the policy's target in the store, fixed for the run.
struct Scan<'a> {
    policy: &'a Policy,
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
        holds: &mut dyn HeldSource,
        run: &Run,
        cursor: Option<&[String]>,
    ) -> Result<Option<KeyBatch>, Failure> {
        let Some(held) = holds.held(run).await? else { return Ok(None) };
        let target = self.target(&held);
        let keys = target
            .read_keys(self.db, target.condition(self.cutoff), cursor, self.limit)
            .await
            .map_err(|e| Failure::store(&classify(e)))?;
        Ok(Some((held, keys)))
    }
}

/// Removes a settled receipt from the store (best effort: a leftover applied receipt of a
/// settled intent is never read again).
async fn forget_receipt(store: &sea_orm::DatabaseConnection, intent_id: Uuid) {
    if let Err(e) = receipts::forget_applied(store, intent_id).await {
        tracing::warn!(error = %e, "could not remove a settled receipt");
    }
}

/// Ends a run that has no batch left: the last batch's receipt (if any) is removed from the
/// store and the run is done.
async fn done(
    lethe: &sea_orm::DatabaseConnection,
    store: &sea_orm::DatabaseConnection,
    policy: &Policy,
    run: &Run,
    settled_receipt: Option<Uuid>,
) -> Result<(), Failure> {
    if let Some(receipt) = settled_receipt {
        forget_receipt(store, receipt).await;
    }
    finish(lethe, run, RunStep::Finish).await?;
    tracing::info!(run_id = %run.id, policy_id = %policy.id, rows = run.rows, batches = run.batches, "retention run done");
    Ok(())
}
