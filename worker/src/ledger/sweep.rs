//! The periodic recovery sweep: every worker process, every [`EVERY`], settles the ledger
//! intents of every organization left pending for longer than [`GRACE`], whatever the job that
//! opened them became (a request canceled after a crash, a retention run never resumed).
//!
//! Erasure and retention settle their own intents when they run again; the sweep is for the
//! intents nobody comes back to. Each store is reached through the registry: a SQL store's
//! receipt is read (or its slot fenced) in its `lethe_ledger_receipts` table, a Redis store's
//! receipt key likewise, so an intent whose destruction committed gets its entry with the
//! store's count and one that never committed is voided. Intents of stores that are gone or
//! unreachable stay pending for the next sweep. The grace is long (an hour) because fencing an
//! intent whose store transaction is still running makes that transaction fail at its receipt
//! (safe, but wasted work).

use std::collections::HashMap;
use std::time::Duration;

use lethe_entities::Keyring;
use lethe_entities::entity::store;
use lethe_entities::ledger::entry::now_micros;
use lethe_entities::ledger::intent;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::external::ExternalError;
use super::recovery::{Outcome, RecoveryPass};
use crate::stores::{Connector, Registry, SettleError};

/// How often a worker process sweeps.
pub const EVERY: Duration = Duration::from_secs(300);
/// Intents younger than this are left to the job that opened them.
pub const GRACE: Duration = Duration::from_secs(3600);
/// Intents settled per sweep at most (the rest wait for the next one).
const LIMIT: u64 = 500;

/// One sweep over the intents pending for longer than `grace`.
pub async fn run_once(
    db: &DatabaseConnection,
    registry: &Registry,
    keyring: &Keyring,
    grace: Duration,
) -> Result<RecoveryPass, ExternalError> {
    let cutoff = now_micros() - grace.as_micros() as i64;
    let mut pass = RecoveryPass::default();
    let mut connectors: HashMap<(Uuid, String), Option<Connector>> = HashMap::new();
    for pending in intent::pending(db, cutoff, LIMIT).await? {
        let key = (pending.organization_id, pending.store.clone());
        if !connectors.contains_key(&key) {
            let connector = connect(db, registry, keyring, pending.organization_id, &pending.store).await?;
            connectors.insert(key.clone(), connector);
        }
        let outcome = match connectors.get(&key).and_then(Option::as_ref) {
            None => Outcome::Skipped,
            Some(connector) => match connector.settle(db, pending.id).await {
                Ok(Some(_)) => Outcome::Applied,
                Ok(None) => Outcome::Voided,
                Err(SettleError::Store(e)) => {
                    tracing::warn!(intent_id = %pending.id, error = %e, "ledger sweep: store unreachable");
                    Outcome::Skipped
                }
                Err(SettleError::Settle(e)) => return Err(e),
            },
        };
        pass.add(outcome);
    }
    Ok(pass)
}

/// The connector of the organization's store named `name`, or `None` when it is gone or cannot
/// be reached now.
async fn connect(
    db: &DatabaseConnection,
    registry: &Registry,
    keyring: &Keyring,
    organization: Uuid,
    name: &str,
) -> Result<Option<Connector>, ExternalError> {
    let stores = store::Model::all_in_org(db, organization).await.map_err(|e| ExternalError::Ledger(e.into()))?;
    let Some(found) = stores.into_iter().find(|s| s.name == name) else { return Ok(None) };
    match registry.connector(&found, keyring).await {
        Ok(connector) => Ok(Some(connector)),
        Err(e) => {
            tracing::warn!(store_id = %found.id, error = %e, "ledger sweep: store unreachable");
            Ok(None)
        }
    }
}
