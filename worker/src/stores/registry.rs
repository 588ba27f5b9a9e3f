//! Live connectors to an organization's stores, opened once and reused until the store's
//! settings change, each opened where the installation's target policy allows.

use std::collections::HashMap;
use std::sync::Arc;

use lethe_entities::Keyring;
use lethe_entities::entity::store;
use tokio::sync::Mutex;
use uuid::Uuid;

use super::{Connector, StoreError};
use crate::targets::TargetPolicy;

/// Connectors by store id, each tagged with the store's `updated_at` so a changed URL gets a
/// new connection, and the target policy every new connection is checked against.
#[derive(Clone)]
pub struct Registry {
    open: Arc<Mutex<HashMap<Uuid, (i128, Connector)>>>,
    policy: Arc<TargetPolicy>,
}

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
        let cached = self.open.lock().await.get(&store.id).filter(|(v, _)| *v == version).map(|(_, c)| c.clone());
        if let Some(connector) = cached {
            if let Err(e) = connector.recheck(&self.policy) {
                self.forget(store.id).await;
                return Err(e);
            }
            return Ok(connector);
        }
        let connection = store
            .connection(keyring)
            .map_err(|_| {
                StoreError::Config("the stored connection could not be decrypted (master key changed?)".into())
            })?
            .ok_or_else(|| StoreError::Config("no connection is configured".into()))?;
        let connector = Connector::connect(&self.policy, store.kind, &connection).await?;
        self.open.lock().await.insert(store.id, (version, connector.clone()));
        Ok(connector)
    }

    /// Forgets a store's connector (after it was changed or deleted).
    pub async fn forget(&self, store: Uuid) {
        self.open.lock().await.remove(&store);
    }
}
