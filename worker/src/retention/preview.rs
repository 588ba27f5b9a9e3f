//! A dry run: how many rows (Redis: keys) the next run of a policy would remove, the oldest and
//! newest of their ages, and a sample of their primary keys (Redis: keys). Nothing is changed.

use lethe_entities::Keyring;
use lethe_entities::entity::retention_policy::Model as Policy;
use lethe_entities::entity::store;
use sea_orm::DatabaseConnection;
use time::OffsetDateTime;

use super::holds::{Holds, HoldsError, for_table};
pub use super::preview_types::{Preview, SAMPLE};
use crate::stores::{Connector, Registry, StoreError};

/// Why a preview failed.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The holds could not be read.
    #[error(transparent)]
    Holds(#[from] HoldsError),
}

/// Previews one of Lethe's built-in policies (a count in Lethe's own database).
pub async fn builtin(db: &DatabaseConnection, policy: &Policy, now: OffsetDateTime) -> Result<Preview, PreviewError> {
    let cutoff = lethe_entities::datamap::validate::subtract_duration(now, &policy.max_age)
        .ok_or_else(|| StoreError::Config("the policy's maximum age cannot be applied".into()))?;
    let found = policy.builtin.as_deref().and_then(super::builtin::find);
    let rows = match found {
        Some(b) => super::builtin::count(db, b, policy.organization_id, cutoff).await.map_err(HoldsError::Db)?,
        None => 0,
    };
    Ok(Preview { cutoff, rows, oldest: None, newest: None, sample: Vec::new(), held_by: None })
}

/// Previews `policy` of `store` (of the organization `db` and `keyring` serve) as of `now`,
/// with the legal holds in force then.
pub async fn preview(
    db: &DatabaseConnection,
    keyring: &Keyring,
    registry: &Registry,
    store: &store::Model,
    policy: &Policy,
    connector: &Connector,
    now: OffsetDateTime,
) -> Result<Preview, PreviewError> {
    let cutoff = lethe_entities::datamap::validate::subtract_duration(now, &policy.max_age)
        .ok_or_else(|| StoreError::Config("the policy's maximum age cannot be applied".into()))?;
    let held = match for_table(db, keyring, registry, store, &policy.target, now).await? {
        Holds::Table(hold) => {
            return Ok(Preview {
                cutoff,
                rows: 0,
                oldest: None,
                newest: None,
                sample: Vec::new(),
                held_by: Some(hold),
            });
        }
        Holds::Rows(held) => held,
    };
    let others = Policy::all_in_org(db, policy.organization_id).await.map_err(HoldsError::Db)?;
    let yield_to = super::overlap::yielded(policy, &others, now);
    Ok(connector.preview(policy, cutoff, now, &held, &yield_to).await?)
}
