//! A retention run in a Redis store: `SCAN` pages of the pattern, each page's keys past the age
//! deleted by one Lua script with the batch's receipt (see [`super::retention`]). The run's
//! cursor is the `SCAN` cursor (`0` once complete).

use std::collections::BTreeSet;

use lethe_entities::entity::retention_run::{Model as Run, RunStep};
use lethe_entities::ledger::entry::EntryKind;
use lethe_entities::ledger::{NewEntry, intent};
use time::OffsetDateTime;

use super::RedisStore;
use super::receipts::{fence, receipt_key};
use super::retention::{Age, aged, purge};
use crate::ledger::external;
use crate::retention::batches::{
    Failure, Pace, PurgeJob, advance, claim_batch, finish, release_batch, settle_in_flight, start, take_batch,
};

/// Runs `run` of the job's policy in `redis`, resuming where it stopped.
pub async fn run(redis: &RedisStore, job: PurgeJob<'_>, run: Run) -> Result<(), Failure> {
    let PurgeJob { lethe, policy, store, holds, .. } = job;
    let Some(mut run) = start(lethe, policy, run).await? else { return Ok(()) };
    let started = run.started_at.unwrap_or_else(OffsetDateTime::now_utc);
    let cutoff = run.cutoff.unwrap_or(started);
    let age = Age::of(policy, cutoff, started);
    let count = policy.batch_size.min(policy.throttle_rows_per_sec.unwrap_or(i32::MAX)).max(1) as usize;
    let mut pace = Pace::new(policy.throttle_rows_per_sec);
    loop {
        if let Some(pending) = run.pending_intent {
            run = settle_in_flight(lethe, run.clone(), pending, super::receipts::settle(redis, lethe, pending)).await?;
            continue;
        }
        let Some(held) = holds.held(&run).await? else { return Ok(()) };
        let held: BTreeSet<String> = held.keys.into_iter().flatten().collect();
        let cursor = run.cursor_values().and_then(|c| c.first().and_then(|c| c.parse::<u64>().ok()));
        if cursor == Some(0) {
            finish(lethe, &run, RunStep::Finish).await?;
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
            match advance(lethe, run, &last).await? {
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
        let opened = external::open(lethe, policy.organization_id, &planned).await?;
        let Some(claimed) = claim_batch(lethe, &run, opened.id, &last).await? else {
            fence(redis, opened.id).await.map_err(|e| Failure::store(&e))?;
            intent::settle_void(lethe, opened.id).await?;
            return Ok(());
        };
        run = claimed;
        let rows = match purge(redis, opened.id, &keys, &age).await {
            Ok(Some(rows)) => {
                intent::settle_applied(lethe, opened.id, rows).await?;
                redis.forget_receipt(&receipt_key(opened.id)).await;
                rows
            }
            Ok(None) => {
                intent::settle_void(lethe, opened.id).await?;
                release_batch(lethe, run, opened.id).await?;
                return Err(Failure::new("store_query_failed", "the batch was voided by recovery".into()));
            }
            // The script may or may not have run: the receipt says (on resume).
            Err(e) => {
                return Err(Failure::Unknown(e));
            }
        };
        run = take_batch(lethe, run, opened.id, rows).await?;
        pace.wait(rows).await;
    }
}
