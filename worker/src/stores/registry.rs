//! Live connectors to an organization's stores, opened once and reused until the store's
//! settings change, each opened where the installation's target policy allows.

use std::collections::HashMap;
use std::sync::Arc;

use lethe_entities::Keyring;
use lethe_entities::entity::store;
use sea_orm::{DatabaseConnection, DbErr, EntityTrait};
use tokio::sync::{Mutex, OnceCell};
use uuid::Uuid;

use super::{Connector, StoreError};
use crate::targets::TargetPolicy;

/// Connectors by store id, each tagged with the store's `updated_at` so a changed URL gets a
/// new connection, and the target policy every new connection is checked against. A store's
/// connector is opened once however many jobs ask for it at the same moment (the others wait
/// for it), and a failed open is tried again by the next job.
#[derive(Clone)]
pub struct Registry {
    open: Arc<Mutex<HashMap<Uuid, (i128, Opening)>>>,
    policy: Arc<TargetPolicy>,
}

/// A store's connector, once opened.
type Opening = Arc<OnceCell<Connector>>;

impl Registry {
    /// An empty registry connecting where `policy` allows.
    pub fn new(policy: Arc<TargetPolicy>) -> Self {
        Self { open: Arc::default(), policy }
    }

    /// The target policy (also for what is reached without a connector: HTTP services).
    pub fn policy(&self) -> &TargetPolicy {
        &self.policy
    }

    /// The connector of an automated store, connecting on first use; a connector is reused
    /// only while the target policy still allows what it was opened on.
    pub async fn connector(&self, store: &store::Model, keyring: &Keyring) -> Result<Connector, StoreError> {
        let version = store.updated_at.unix_timestamp_nanos();
        let opening = {
            let mut open = self.open.lock().await;
            match open.get(&store.id) {
                Some((v, opening)) if *v == version => opening.clone(),
                _ => {
                    let opening = Opening::default();
                    open.insert(store.id, (version, opening.clone()));
                    opening
                }
            }
        };
        let mut fresh = false;
        let connector = opening
            .get_or_try_init(|| {
                fresh = true;
                self.connect(store, keyring)
            })
            .await?;
        if !fresh && let Err(e) = connector.recheck(&self.policy) {
            self.forget(store.id).await;
            return Err(e);
        }
        Ok(connector.clone())
    }

    /// Opens a store's connector where the target policy allows.
    async fn connect(&self, store: &store::Model, keyring: &Keyring) -> Result<Connector, StoreError> {
        let connection = store
            .connection(keyring)
            .map_err(|_| {
                StoreError::Config("the stored connection could not be decrypted (master key changed?)".into())
            })?
            .ok_or_else(|| StoreError::Config("no connection is configured".into()))?;
        Connector::connect(&self.policy, store.kind, &connection).await
    }

    /// Opens the connector of every automated store of every organization in `db` and reads
    /// its schema, so that the first job after a start does not wait for a connection and the
    /// store's catalogue (hundreds of milliseconds); returns how many were made ready. A store
    /// that cannot be reached now is left for its first job, which says why.
    pub async fn warm(&self, db: &DatabaseConnection, keyring: &Keyring) -> Result<usize, DbErr> {
        let mut ready = 0;
        for store in store::Entity::find().all(db).await?.iter().filter(|s| s.kind.is_automated()) {
            let warmed = match self.connector(store, keyring).await {
                Ok(connector) => connector.schema().await.map(drop),
                Err(e) => Err(e),
            };
            match warmed {
                Ok(()) => ready += 1,
                Err(e) => {
                    tracing::info!(store_id = %store.id, code = e.code(), "store not ready at start; its first job connects")
                }
            }
        }
        Ok(ready)
    }

    /// Forgets a store's connector (after it was changed or deleted).
    pub async fn forget(&self, store: Uuid) {
        self.open.lock().await.remove(&store);
    }
}
