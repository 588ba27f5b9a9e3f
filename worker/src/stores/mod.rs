//! Customers' stores: one folder per kind behind one [`Connector`], which owns everything that
//! differs by kind — testing a connection, reading the schema, discovery, locating, erasure,
//! settling receipts, retention previews and purges. Locating, erasure, retention and the API
//! ask the connector and never branch on the kind; a new kind is a new folder plus its arm in
//! [`connector`].
//!
//! * [`sql`]: PostgreSQL, MySQL/MariaDB and SQLite through sea-orm/sea-query (identifiers are
//!   always quoted by sea-query; no SQL text is ever assembled from data-map strings);
//! * [`redis`]: key patterns;
//! * [`http`]: internal services called with HMAC-signed requests (not a connector: services
//!   answer for themselves, see [`crate::services`]);
//! * the vocabulary every kind speaks: [`schema`] (the live schema, and checking a data map
//!   against it), [`discover`] (a proposed data map), [`lookup`] (one lookup of locating),
//!   [`erasure`] (one store's erasure), and [`SettleError`].
//!
//! Errors are reduced to a stable code and Lethe's own explanation: driver messages can quote
//! credentials, host names or values, so they are never passed on.

pub mod connector;
pub mod constraints;
pub mod discover;
pub mod erasure;
pub mod http;
pub mod lookup;
pub mod redis;
pub mod registry;
pub mod schema;
pub mod sql;

use lethe_entities::StoreKind;
use lethe_entities::entity::store::Connection;
use lethe_entities::ledger::LedgerError;

pub use connector::Connector;
pub use registry::Registry;

use crate::ledger::external::ExternalError;
use crate::targets::{TargetError, TargetPolicy};

/// Why a store could not be used. Every variant has a stable code and a message in Lethe's
/// own words: no text from the operating system, the driver or the store (which can quote
/// credentials, values, or whether a file exists or a port is open) is ever carried, which is
/// why the explanations are `&'static str`. The detail goes to the server log where the error
/// is classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Nothing answers at the address (refused, timed out, unknown host, unopenable file).
    #[error("the store is unreachable: {0}")]
    Unreachable(&'static str),
    /// The store answered but refused the credentials.
    #[error("the store refused the credentials")]
    AuthFailed,
    /// The database named in the URL does not exist.
    #[error("the database does not exist")]
    UnknownDatabase,
    /// The connection settings are not usable (e.g. wrong URL scheme for the kind).
    #[error("invalid connection settings: {0}")]
    Config(String),
    /// The installation's target policy does not allow the store's file or address (see
    /// [`crate::targets`]); which rule refused it is only logged.
    #[error("the installation's target policy does not allow this store's location")]
    TargetRefused,
    /// The data map names a table or column the live store does not have.
    #[error("{0}")]
    Schema(String),
    /// The store refused an erasure statement by one of its constraints (a foreign key, a
    /// column's length, NOT NULL, a unique constraint), in words; retrying will not help until
    /// the map or the store changes.
    #[error("{0}")]
    Refused(String),
    /// The store has no saved data map yet.
    #[error("the store has no saved data map")]
    NoDataMap,
    /// A query failed for another reason.
    #[error("a query failed: {0}")]
    Query(&'static str),
    /// An HTTP service answered something unexpected, or failed (5xx): worth retrying.
    #[error("the service answered unexpectedly: {0}")]
    Protocol(&'static str),
    /// An HTTP service refused the call (4xx other than 401/403): retrying will not help.
    #[error("the service refused the call: {0}")]
    Rejected(&'static str),
    /// An HTTP service's answer is larger than Lethe reads (the limit, in bytes).
    #[error("the service's answer is larger than {0} bytes")]
    TooLarge(usize),
}

impl StoreError {
    /// The answer for a SQLite file that cannot be used: missing, not a database, a directory, a
    /// device or a pipe alike.
    pub const UNUSABLE_FILE: Self = Self::Unreachable("the database file cannot be opened or is not a database");

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreachable(_) => "store_unreachable",
            Self::AuthFailed => "store_auth_failed",
            Self::UnknownDatabase => "store_unknown_database",
            Self::Config(_) => "store_config_invalid",
            Self::TargetRefused => "store_target_refused",
            Self::Schema(_) => "store_schema_mismatch",
            Self::Refused(_) => "store_refused",
            Self::NoDataMap => "store_no_data_map",
            Self::Query(_) => "store_query_failed",
            Self::Protocol(_) => "store_protocol_error",
            Self::Rejected(_) => "store_rejected",
            Self::TooLarge(_) => "store_answer_too_large",
        }
    }

    /// Whether trying again later may help.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unreachable(_) | Self::Query(_) | Self::Protocol(_))
    }
}

impl From<TargetError> for StoreError {
    fn from(e: TargetError) -> Self {
        match e {
            TargetError::Refused(_) => Self::TargetRefused,
            TargetError::Unresolved => Self::Unreachable("the host name could not be resolved"),
        }
    }
}

/// Why an intent could not be settled from a store's receipt.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    /// The store could not be asked: the intent stays pending for the next attempt.
    #[error(transparent)]
    Store(StoreError),
    /// Settling failed on Lethe's side (its database, the ledger) or in the store's settlement.
    #[error(transparent)]
    Settle(#[from] ExternalError),
}

impl From<LedgerError> for SettleError {
    fn from(e: LedgerError) -> Self {
        Self::Settle(ExternalError::Ledger(e))
    }
}

/// Checks that `url` suits a store of `kind` (scheme), without connecting.
pub fn check_url(kind: StoreKind, url: &str) -> Result<(), StoreError> {
    let schemes: &[&str] = match kind {
        StoreKind::Postgres => &["postgres://", "postgresql://"],
        StoreKind::Mysql => &["mysql://", "mariadb://"],
        StoreKind::Sqlite => &["sqlite:"],
        StoreKind::Redis => &["redis://", "rediss://"],
        StoreKind::Http => &["http://", "https://"],
        StoreKind::Manual => &[],
    };
    if schemes.iter().any(|s| url.starts_with(s)) {
        Ok(())
    } else {
        Err(StoreError::Config(format!("a {} store's URL starts with {}", kind.as_str(), schemes.join(" or "))))
    }
}

/// Checks a store's connection against the target policy without connecting (when it is
/// registered or changed): `Err(StoreError::TargetRefused)` when the policy refuses it. Other
/// failures (a host name that does not resolve yet) are left to the connection test.
pub async fn check_target(policy: &TargetPolicy, kind: StoreKind, connection: &Connection) -> Result<(), StoreError> {
    let checked = match (kind, connection) {
        (StoreKind::Postgres | StoreKind::Mysql | StoreKind::Sqlite, Connection::Url { url }) => {
            sql::pin::pin(policy, kind, url).await.map(drop)
        }
        (StoreKind::Redis, Connection::Url { url }) => redis::RedisStore::check(policy, url).await,
        (StoreKind::Http, Connection::Http { base_url, .. }) => http::check(policy, base_url).await,
        _ => Ok(()),
    };
    match checked {
        Err(StoreError::TargetRefused) => Err(StoreError::TargetRefused),
        _ => Ok(()),
    }
}

/// A description of where a URL points, without user name or password: `host:port/database`.
pub fn describe_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "(unparsable)".to_owned() };
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let rest = rest.split_once('?').map_or(rest, |(path, _)| path);
    format!("{scheme}://{rest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_described_without_credentials() {
        assert_eq!(
            describe_url("postgres://shop:s3cret@db.internal:5432/shop?sslmode=require"),
            "postgres://db.internal:5432/shop"
        );
        assert_eq!(describe_url("redis://:pw@127.0.0.1:6379/2"), "redis://127.0.0.1:6379/2");
        assert_eq!(describe_url("sqlite:///var/lib/a.db?mode=ro"), "sqlite:///var/lib/a.db");
        assert!(!describe_url("mysql://root:p@ss@h/db").contains("ss@"));
    }

    #[test]
    fn schemes_are_checked_per_kind() {
        assert!(check_url(StoreKind::Postgres, "postgres://h/db").is_ok());
        assert_eq!(check_url(StoreKind::Postgres, "mysql://h/db").unwrap_err().code(), "store_config_invalid");
        assert!(check_url(StoreKind::Mysql, "mariadb://h/db").is_ok());
        assert!(check_url(StoreKind::Redis, "rediss://h").is_ok());
    }
}
