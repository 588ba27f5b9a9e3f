//! The one place that knows which kinds of automated store exist: [`Connector`] connects to a
//! store of any kind and answers every question that differs by kind by handing it to that
//! kind's folder ([`super::sql`], [`super::redis`]). Adding a kind means a new folder with the
//! same modules (`locate`, `discover`, `erase`, `receipts`, `retention`, `purge`) and one arm per
//! method here; locating, erasure, retention and the API do not change.

use std::collections::BTreeMap;
use std::sync::Arc;

use lethe_entities::StoreKind;
use lethe_entities::datamap::DataMap;
use lethe_entities::entity::retention_policy::Model as Policy;
use lethe_entities::entity::retention_run::Model as Run;
use lethe_entities::entity::store::Connection;
use lethe_entities::retention::Filter;
use sea_orm::DatabaseConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::discover::Discovery;
use super::erasure::{Applied, Context, EraseError};
use super::lookup::{Find, Found, Seen};
use super::schema::Schema;
use super::{SettleError, StoreError, redis, sql};
use crate::retention::batches::{Failure, PurgeJob};
use crate::retention::held::Held;
use crate::retention::preview_types::Preview;
use crate::targets::TargetPolicy;

/// A live connection to an automated store.
#[derive(Clone)]
pub enum Connector {
    /// PostgreSQL, MySQL/MariaDB or SQLite.
    Sql(sql::SqlStore),
    /// Redis.
    Redis(redis::RedisStore),
}

impl Connector {
    /// Connects to an automated store of `kind`, where the target policy allows (checked on
    /// every connection, see [`crate::targets`]).
    pub async fn connect(policy: &TargetPolicy, kind: StoreKind, connection: &Connection) -> Result<Self, StoreError> {
        let Connection::Url { url } = connection else {
            return Err(StoreError::Config(format!("{} stores take a `url`", kind.as_str())));
        };
        match kind {
            StoreKind::Postgres | StoreKind::Mysql | StoreKind::Sqlite => {
                Ok(Self::Sql(sql::SqlStore::connect(policy, kind, url).await?))
            }
            StoreKind::Redis => Ok(Self::Redis(redis::RedisStore::connect(policy, url).await?)),
            StoreKind::Http | StoreKind::Manual => {
                Err(StoreError::Config(format!("{} stores are not reached through a connector", kind.as_str())))
            }
        }
    }

    /// Checks what the connector was opened on against the policy again, before it is reused
    /// (a SQLite file; an address was pinned when the connector was opened).
    pub fn recheck(&self, policy: &TargetPolicy) -> Result<(), StoreError> {
        match self {
            Self::Sql(sql) => sql.recheck(policy),
            Self::Redis(_) => Ok(()),
        }
    }

    /// Checks the connection and says what it sees, for an operator ("connected; 7 table(s)").
    pub async fn test(&self) -> Result<String, StoreError> {
        match self {
            Self::Sql(sql) => sql.test().await.map(|n| format!("connected; {n} table(s) and view(s) readable")),
            Self::Redis(redis) => redis.test().await.map(|n| format!("connected; {n} key(s) in the database")),
        }
    }

    /// The live schema (read at most once a minute), or `None` for a kind without one (Redis).
    pub async fn schema(&self) -> Result<Option<Arc<Schema>>, StoreError> {
        match self {
            Self::Sql(sql) => sql.schema().await.map(Some),
            Self::Redis(_) => Ok(None),
        }
    }

    /// The live schema read now (after a change such as saving a data map), or `None`.
    pub async fn fresh_schema(&self) -> Result<Option<Arc<Schema>>, StoreError> {
        match self {
            Self::Sql(sql) => sql.fresh_schema().await.map(Some),
            Self::Redis(_) => Ok(None),
        }
    }

    /// Introspects the store and proposes a data map.
    pub async fn discover(&self) -> Result<Discovery, StoreError> {
        match self {
            Self::Sql(sql) => sql::discover::discover(sql).await,
            Self::Redis(redis) => redis::discover::discover(redis).await,
        }
    }

    /// Answers one lookup of locating, handing each row (key) not `seen` before to `sink`.
    /// Returns the statements (round trips) issued.
    pub async fn lookup(
        &self,
        find: Find<'_>,
        seen: &mut Seen,
        sink: &mut (dyn FnMut(Found<'_>) + Send),
    ) -> Result<usize, StoreError> {
        match self {
            Self::Sql(sql) => sql::locate::lookup(sql, find, seen, sink).await,
            Self::Redis(redis) => redis::locate::lookup(redis, find, seen, sink).await,
        }
    }

    /// Erases the `located` rows (keys per table or pattern) that `map` covers, with their
    /// ledger entries; returns what each step did.
    pub async fn erase(
        &self,
        cx: &Context<'_>,
        map: &DataMap,
        located: &BTreeMap<String, Vec<Vec<String>>>,
    ) -> Result<Vec<Applied>, EraseError> {
        match self {
            Self::Sql(sql) => sql::erase::erase_located(cx, sql, map, located).await,
            Self::Redis(redis) => redis::erase::erase_located(cx, redis, map, located).await,
        }
    }

    /// Settles a ledger intent whose outcome is unknown from the store's receipt (fencing the
    /// slot first); returns the store's count when the destruction committed.
    pub async fn settle(&self, lethe: &DatabaseConnection, intent: Uuid) -> Result<Option<u64>, SettleError> {
        match self {
            Self::Sql(sql) => sql::receipts::settle(sql, lethe, intent).await,
            Self::Redis(redis) => redis::receipts::settle(redis, lethe, intent).await,
        }
    }

    /// What the next run of `policy` would remove, as of `now` with `cutoff`; rows `held`
    /// keeps and rows other policies govern (`yield_to`) are left out.
    pub async fn preview(
        &self,
        policy: &Policy,
        cutoff: OffsetDateTime,
        now: OffsetDateTime,
        held: &Held,
        yield_to: &[Vec<Filter>],
    ) -> Result<Preview, StoreError> {
        match self {
            Self::Sql(sql) => sql::retention::preview(sql, policy, cutoff, held, yield_to).await,
            Self::Redis(redis) => {
                let held = held.keys.iter().flatten().cloned().collect();
                redis::retention::preview(redis, policy, cutoff, now, &held).await
            }
        }
    }

    /// Runs (or resumes) a retention run of the job's policy in this store, batch by batch.
    pub async fn purge(&self, job: PurgeJob<'_>, run: Run) -> Result<(), Failure> {
        match self {
            Self::Sql(sql) => sql::purge::run(sql, job, run).await,
            Self::Redis(redis) => redis::purge::run(redis, job, run).await,
        }
    }
}
