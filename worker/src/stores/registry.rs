//! Live connectors to an organization's stores, opened once and reused until the store's
//! settings change.

use std::collections::HashMap;
use std::sync::Arc;

use lethe_entities::Keyring;
use lethe_entities::entity::store;
use tokio::sync::Mutex;
use uuid::Uuid;

use super::{Connector, StoreError};

/// Connectors by store id, each tagged with the store's `updated_at` so a changed URL gets a
/// new connection.
#[derive(Clone, Default)]
pub struct Registry {
    open: Arc<Mutex<HashMap<Uuid, (i128, Connector)>>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The connector of an automated store, connecting on first use.
    pub async fn connector(&self, store: &store::Model, keyring: &Keyring) -> Result<Connector, StoreError> {
        let version = store.updated_at.unix_timestamp_nanos();
        if let Some((v, connector)) = self.open.lock().await.get(&store.id)
            && *v == version
        {
            return Ok(connector.clone());
        }
        let connection = store
            .connection(keyring)
            .map_err(|_| {
                StoreError::Config("the stored connection could not be decrypted (master key changed?)".into())
            })?
            .ok_or_else(|| StoreError::Config("no connection is configured".into()))?;
        let connector = Connector::connect(store.kind, &connection).await?;
        self.open.lock().await.insert(store.id, (version, connector.clone()));
        Ok(connector)
    }

    /// Forgets a store's connector (after it was changed or deleted).
    pub async fn forget(&self, store: Uuid) {
        self.open.lock().await.remove(&store);
    }
}
