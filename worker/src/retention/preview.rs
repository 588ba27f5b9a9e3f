//! A dry run: how many rows (Redis: keys) the next run of a policy would remove, the oldest and
//! newest of their ages, and a sample of their primary keys (Redis: keys). Nothing is changed.

use lethe_entities::entity::retention_policy::Model as Policy;
use lethe_entities::retention::PolicyAction;
use sea_orm::ConnectionTrait;
use time::OffsetDateTime;

use super::sql::Target;
use crate::stores::sql::classify;
use crate::stores::{Connector, StoreError};

/// Primary keys in a preview's sample.
pub const SAMPLE: u64 = 20;

/// What the next run would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// Rows dated before this are past the age.
    pub cutoff: OffsetDateTime,
    /// Rows the run would delete or anonymise.
    pub rows: u64,
    /// The oldest affected row's age, as the store shows it.
    pub oldest: Option<String>,
    /// The newest affected row's age.
    pub newest: Option<String>,
    /// Primary keys of the first affected rows, in key order (each key's columns as text).
    pub sample: Vec<Vec<String>>,
}

/// Previews `policy` in its store as of `now`.
pub async fn preview(policy: &Policy, connector: &Connector, now: OffsetDateTime) -> Result<Preview, StoreError> {
    let cutoff = lethe_entities::datamap::validate::subtract_duration(now, &policy.max_age)
        .ok_or_else(|| StoreError::Config("the policy's maximum age cannot be applied".into()))?;
    let sql = match connector {
        Connector::Sql(sql) => sql,
        Connector::Redis(redis) => return super::redis::preview(redis, policy, cutoff, now).await,
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
        )));
    }
    let filters = policy.filters();
    let action = policy.policy_action().unwrap_or(PolicyAction::DeleteRow);
    let target = Target {
        kind: sql.kind(),
        table: &policy.target,
        live,
        age_column: &age_column,
        filters: &filters,
        action: &action,
    };
    let db = sql.connection();
    let summary = db.query_one(&target.summary(target.condition(cutoff))).await.map_err(classify)?;
    let (rows, oldest, newest) = match summary {
        Some(row) => (
            row.try_get::<i64>("", "n").map_err(classify)?,
            row.try_get::<Option<String>>("", "oldest").map_err(classify)?,
            row.try_get::<Option<String>>("", "newest").map_err(classify)?,
        ),
        None => (0, None, None),
    };
    let mut sample = Vec::new();
    for row in db.query_all(&target.keys_after(target.condition(cutoff), None, SAMPLE)).await.map_err(classify)? {
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
    })
}
