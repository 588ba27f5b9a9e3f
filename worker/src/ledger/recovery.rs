//! Recovery: settles intents left pending by a crash, by asking each store for its receipt.

use std::time::Duration;

use lethe_entities::ledger::entry::now_micros;
use lethe_entities::ledger::intent;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::external::{ExternalError, settle};
use super::receipts;

/// What a recovery pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecoveryPass {
    /// Intents whose destruction had committed: entries appended.
    pub applied: usize,
    /// Intents whose destruction never committed: voided.
    pub voided: usize,
    /// Intents whose store could not be reached (left pending for the next pass).
    pub skipped: usize,
}

impl RecoveryPass {
    /// Counts one intent's outcome.
    pub fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Applied => self.applied += 1,
            Outcome::Voided => self.voided += 1,
            Outcome::Skipped => self.skipped += 1,
        }
    }
}

/// What became of one pending intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The destruction had committed: its entry was appended.
    Applied,
    /// It never committed: voided.
    Voided,
    /// The store could not be reached: left pending.
    Skipped,
}

/// Settles one pending intent of a SQL store from the store's receipt (fencing the slot if the
/// store holds none).
pub async fn settle_sql(
    lethe: &DatabaseConnection,
    store: &DatabaseConnection,
    intent_id: Uuid,
) -> Result<Outcome, ExternalError> {
    let receipt = match receipts::ensure_table(store).await {
        Ok(()) => receipts::fence(store, intent_id).await,
        Err(e) => Err(e),
    };
    let receipt = match receipt {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(intent_id = %intent_id, error = %e, "ledger recovery: store unreachable");
            return Ok(Outcome::Skipped);
        }
    };
    let settled = settle(lethe, store, intent_id, receipt).await?;
    Ok(if settled.seq.is_some() { Outcome::Applied } else { Outcome::Voided })
}

/// Finds the connection of an organization's store by name.
pub trait StoreResolver {
    /// The store's connection, or `None` if it is unknown or unreachable now.
    fn connection(&self, organization: Uuid, store: &str) -> Option<DatabaseConnection>;
}

/// Settles every intent pending for longer than `grace` (younger ones are probably still in
/// flight; settling them early is safe, only wasteful: the receipt fence decides).
pub async fn run_once(
    lethe: &DatabaseConnection,
    stores: &impl StoreResolver,
    grace: Duration,
) -> Result<RecoveryPass, ExternalError> {
    let cutoff = now_micros() - grace.as_micros() as i64;
    let mut pass = RecoveryPass::default();
    for pending in intent::pending(lethe, cutoff, 500).await? {
        let Some(store) = stores.connection(pending.organization_id, &pending.store) else {
            pass.skipped += 1;
            continue;
        };
        pass.add(settle_sql(lethe, &store, pending.id).await?);
    }
    Ok(pass)
}
