//! The periodic passes every worker process runs beside its job workers: the reconciler, ledger
//! checkpoints, the ledger sweep, the purge of expired exports and of day-old idempotency keys,
//! the retention scheduler, the webhook dispatcher and the DRP status callbacks (and, once at start, the stores'
//! connections opened and their schemas read). Each is idempotent and safe to run in several
//! processes at once; a failed pass is logged and the next tick tries again.

use std::future::Future;
use std::time::Duration;

use lethe_entities::entity::idempotency_key;
use time::OffsetDateTime;
use tokio::task::JoinHandle;

use super::{RunnerSettings, Stop};
use crate::context::JobContext;
use crate::ledger::recovery::RecoveryPass;
use crate::{drp, export, ledger, reconcile, retention, webhooks};

/// How often each worker process purges expired access exports.
const EXPORT_PURGE_EVERY: Duration = Duration::from_secs(60);

/// The running passes.
pub(super) struct Background {
    /// Stopped at once when the workers have drained.
    abortable: Vec<JoinHandle<()>>,
    /// Allowed to finish the checkpoint it is signing.
    checkpointer: JoinHandle<()>,
    /// Allowed to finish the webhook deliveries it is sending.
    webhooks: JoinHandle<()>,
}

impl Background {
    /// Ends the passes: the checkpointer finishes its tick, the others stop where they are
    /// (every pass is idempotent and runs again in the next process).
    pub(super) async fn stop(self) {
        for handle in self.abortable {
            handle.abort();
        }
        let _ = self.checkpointer.await;
        let _ = self.webhooks.await;
    }
}

/// Starts every pass; each stops ticking when `stop` resolves.
pub(super) fn spawn_all(ctx: &JobContext, settings: &RunnerSettings, stop: &Stop) -> Background {
    let (db, queue, keyring) = (ctx.db.clone(), ctx.queue.clone(), ctx.keyring.clone());
    let reconciler = every(settings.reconcile_every, stop, {
        let (db, queue) = (db.clone(), queue.clone());
        move || reconcile_pass(db.clone(), queue.clone())
    });
    let checkpointer = every(ctx.checkpoints.poll, stop, {
        let (db, signer, rules) = (db.clone(), ctx.ledger.clone(), ctx.checkpoints);
        move || {
            let (db, signer) = (db.clone(), signer.clone());
            async move {
                if let Err(e) = signer.checkpoint_due(&db, rules.every_entries, rules.every.as_secs()).await {
                    tracing::warn!(error = %e, "ledger checkpoint failed");
                }
            }
        }
    });
    let sweeper = every(ledger::sweep::EVERY, stop, {
        let (db, registry, keyring) = (db.clone(), ctx.stores.clone(), keyring.clone());
        move || sweep_pass(db.clone(), registry.clone(), keyring.clone())
    });
    let purger = every(EXPORT_PURGE_EVERY, stop, {
        let (db, keyring, dir) = (db.clone(), keyring.clone(), ctx.exports.dir.clone());
        move || purge_pass(db.clone(), keyring.clone(), dir.clone())
    });
    let forgetter = every(EXPORT_PURGE_EVERY, stop, {
        let db = db.clone();
        move || forget_idempotency_keys(db.clone())
    });
    let warm = tokio::spawn(warm_stores(db.clone(), ctx.stores.clone(), keyring.clone()));
    let scheduler = every(settings.retention_tick, stop, move || retention_pass(db.clone(), queue.clone()));
    let webhooks = tokio::spawn(webhooks::run(ctx.clone(), settings.webhooks.clone(), stop.clone()));
    let callbacks = tokio::spawn(drp::callbacks::run(ctx.clone(), settings.drp_callbacks.clone(), stop.clone()));
    Background {
        abortable: vec![warm, reconciler, sweeper, purger, forgetter, scheduler, callbacks],
        checkpointer,
        webhooks,
    }
}

/// Runs `pass` every `period` until `stop` resolves.
fn every<F, Fut>(period: Duration, stop: &Stop, pass: F) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let stop = stop.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        loop {
            tokio::select! {
                _ = stop.clone() => break,
                _ = ticks.tick() => pass().await,
            }
        }
    })
}

async fn reconcile_pass(db: sea_orm::DatabaseConnection, queue: crate::JobQueue) {
    match reconcile::run_once(&db, &queue, reconcile::GRACE).await {
        Ok(pass) if pass != reconcile::Pass::default() => {
            tracing::info!(
                verification = pass.verification,
                fulfilment = pass.fulfilment,
                locate = pass.locate,
                "reconciler enqueued missing jobs"
            );
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "reconciler pass failed"),
    }
}

async fn sweep_pass(
    db: sea_orm::DatabaseConnection,
    registry: crate::stores::Registry,
    keyring: lethe_entities::Keyring,
) {
    match ledger::sweep::run_once(&db, &registry, &keyring, ledger::sweep::GRACE).await {
        Ok(pass) if pass != RecoveryPass::default() => {
            tracing::info!(
                applied = pass.applied,
                voided = pass.voided,
                skipped = pass.skipped,
                "ledger sweep settled pending intents"
            );
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "ledger sweep failed"),
    }
}

/// Once, at start: every automated store connected and its schema read
/// ([`crate::stores::Registry::warm`]).
async fn warm_stores(
    db: sea_orm::DatabaseConnection,
    registry: crate::stores::Registry,
    keyring: lethe_entities::Keyring,
) {
    match registry.warm(&db, &keyring).await {
        Ok(ready) => tracing::info!(stores = ready, "stores connected and their schemas read"),
        Err(e) => tracing::warn!(error = %e, "stores not listed at start; each job connects to its own"),
    }
}

async fn purge_pass(db: sea_orm::DatabaseConnection, keyring: lethe_entities::Keyring, dir: std::path::PathBuf) {
    match export::purge_expired(&db, &keyring, &dir, OffsetDateTime::now_utc()).await {
        Ok(done) if done != export::purge::Purged::default() => {
            tracing::info!(exports = done.exports, orphans = done.orphans, "expired exports purged");
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "export purge failed"),
    }
}

/// Forgets trusted intake's idempotency keys once they are a day old.
async fn forget_idempotency_keys(db: sea_orm::DatabaseConnection) {
    match idempotency_key::Model::forget_expired(&db, OffsetDateTime::now_utc()).await {
        Ok(0) => {}
        Ok(keys) => tracing::info!(keys, "expired idempotency keys forgotten"),
        Err(e) => tracing::warn!(error = %e, "forgetting idempotency keys failed"),
    }
}

async fn retention_pass(db: sea_orm::DatabaseConnection, queue: crate::JobQueue) {
    match retention::scheduler::tick(&db, &queue, OffsetDateTime::now_utc()).await {
        Ok(pass) if pass != retention::scheduler::Pass::default() => {
            tracing::info!(
                started = pass.started,
                skipped = pass.skipped,
                taken_elsewhere = pass.taken_elsewhere,
                requeued = pass.requeued,
                hold_warnings = pass.hold_warnings,
                "retention scheduler pass"
            );
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "retention scheduler pass failed"),
    }
}
