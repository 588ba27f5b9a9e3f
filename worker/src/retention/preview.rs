//! A dry run: how many rows (Redis: keys) the next run of a policy would remove, the oldest and
//! newest of their ages, and a sample of their primary keys (Redis: keys). Nothing is changed.

use lethe_entities::Keyring;
use lethe_entities::entity::retention_policy::Model as Policy;
use lethe_entities::entity::store;
use lethe_entities::retention::PolicyAction;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use time::OffsetDateTime;

use super::holds::{Holds, HoldsError, for_table};
pub use super::preview_types::{Preview, SAMPLE};
use super::sql::Target;
use crate::stores::sql::classify;
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
    let sql = match connector {
        Connector::Sql(sql) => sql,
        Connector::Redis(redis) => {
            let held = held.keys.into_iter().flatten().collect();
            return Ok(super::redis::preview(redis, policy, cutoff, now, &held).await?);
        }
    };
    let schema = sql.schema().await?;
    let live = schema
        .tables
        .get(&policy.target)
        .ok_or_else(|| StoreError::Schema(format!("the store has no table `{}`", policy.target)))?;
    let age_column = policy.age_column.clone().unwrap_or_default();
    if live.column(&age_column).is_none() || live.primary_key.is_empty() {
        return Err(StoreError::Schema(format!(
            "table `{}` has lost its primary key or age column since the policy was saved",
            policy.target
        ))
        .into());
    }
    let filters = policy.filters();
    let others = Policy::all_in_org(db, policy.organization_id).await.map_err(HoldsError::Db)?;
    let yield_to = super::overlap::yielded(policy, &others, now);
    let action = policy.policy_action().unwrap_or(PolicyAction::DeleteRow);
    let target = Target {
        kind: sql.kind(),
        table: &policy.target,
        live,
        age_column: &age_column,
        filters: &filters,
        action: &action,
        held: &held,
        yield_to: &yield_to,
    };
    let store_db = sql.connection();
    let summary = store_db.query_one(&target.summary(target.condition(cutoff))).await.map_err(classify)?;
    let (rows, oldest, newest) = match summary {
        Some(row) => (
            row.try_get::<i64>("", "n").map_err(classify)?,
            row.try_get::<Option<String>>("", "oldest").map_err(classify)?,
            row.try_get::<Option<String>>("", "newest").map_err(classify)?,
        ),
        None => (0, None, None),
    };
    let mut sample = Vec::new();
    for row in store_db.query_all(&target.keys_after(target.condition(cutoff), None, SAMPLE)).await.map_err(classify)? {
        let mut key = Vec::with_capacity(live.primary_key.len());
        for i in 0..live.primary_key.len() {
            key.push(row.try_get::<Option<String>>("", &format!("k{i}")).map_err(classify)?.unwrap_or_default());
        }
        sample.push(key);
    }
    Ok(Preview {
        cutoff,
        rows: u64::try_from(rows).unwrap_or(0),
        oldest: oldest.map(|o| target.age_text(o)),
        newest: newest.map(|n| target.age_text(n)),
        sample,
        held_by: None,
    })
}
