//! Registered stores: where the organization keeps personal data, how to reach it (connection
//! secrets encrypted at rest), and its saved data map.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::datamap::DataMap;
use crate::domain::crypto::{CryptoError, Keyring};
use crate::domain::enums::StoreKind;

/// One registered store.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stores")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// Unique name within the organization (used in data maps, the ledger and certificates).
    pub name: String,
    /// How Lethe reaches it.
    pub kind: StoreKind,
    /// What the store is, for operators.
    pub description: Option<String>,
    /// AES-256-GCM ciphertext of the [`Connection`] (URL with credentials, or the HTTP
    /// service's base URL and signing secret), bound to the organization and store.
    pub connection_ciphertext: Option<Vec<u8>>,
    /// For manual stores: what the operator must do.
    pub instructions: Option<String>,
    /// The saved data map (JSON), used by locating, export and erasure.
    pub data_map: Option<Json>,
    /// Incremented on every save of the data map.
    pub data_map_version: i32,
    /// When the data map was last saved.
    pub data_map_saved_at: Option<TimeDateTimeWithTimeZone>,
    /// The data map proposed by the last discovery (not used until saved).
    pub proposed_map: Option<Json>,
    /// What discovery found besides the map: suggestions with their evidence, missing indexes.
    pub discovery_report: Option<Json>,
    /// When discovery last ran.
    pub discovered_at: Option<TimeDateTimeWithTimeZone>,
    /// When the connection was last tested.
    pub last_test_at: Option<TimeDateTimeWithTimeZone>,
    /// Whether the last test succeeded.
    pub last_test_ok: Option<bool>,
    /// The last test's error code.
    pub last_test_code: Option<String>,
    /// The last test's explanation (Lethe's own words; never credentials or data).
    pub last_test_message: Option<String>,
    /// Creation time.
    pub created_at: TimeDateTimeWithTimeZone,
    /// Last change.
    pub updated_at: TimeDateTimeWithTimeZone,
}

/// Relations of a store.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// How to reach a store. Secret: stored only encrypted, never returned by the API or logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Connection {
    /// A database or Redis URL, credentials included.
    Url {
        /// `postgres://`, `mysql://`, `sqlite://` or `redis://` URL.
        url: String,
    },
    /// An internal HTTP service.
    Http {
        /// The service's base URL; Lethe calls `<base>/lethe/...`.
        base_url: String,
        /// The shared secret requests are signed with (HMAC-SHA256).
        signing_secret: String,
    },
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connection(<redacted>)")
    }
}

/// The associated data a store's connection ciphertext is bound to.
fn context(organization: Uuid, store: Uuid) -> Vec<u8> {
    let mut ctx = Vec::with_capacity(48);
    ctx.extend_from_slice(b"store-connection\0");
    ctx.extend_from_slice(organization.as_bytes());
    ctx.extend_from_slice(store.as_bytes());
    ctx
}

/// Encrypts a connection for the store `store` of `organization`.
pub fn seal_connection(keyring: &Keyring, organization: Uuid, store: Uuid, connection: &Connection) -> Vec<u8> {
    let plain = zeroize::Zeroizing::new(serde_json::to_vec(connection).expect("a connection serialises"));
    keyring.encrypt(&plain, &context(organization, store))
}

impl Model {
    /// Decrypts the store's connection (`None` for manual stores).
    pub fn connection(&self, keyring: &Keyring) -> Result<Option<Connection>, CryptoError> {
        let Some(blob) = &self.connection_ciphertext else { return Ok(None) };
        let plain = keyring.decrypt(blob, &context(self.organization_id, self.id))?;
        serde_json::from_slice(&plain).map(Some).map_err(|_| CryptoError::Decrypt)
    }

    /// The saved data map, if any. A stored map always parsed when it was saved; one that no
    /// longer parses (a format change) counts as absent.
    pub fn saved_map(&self) -> Option<DataMap> {
        self.data_map.clone().and_then(|json| serde_json::from_value(json).ok())
    }

    /// One store of the organization.
    pub async fn find_in_org(db: &impl ConnectionTrait, organization: Uuid, id: Uuid) -> Result<Option<Self>, DbErr> {
        Entity::find_by_id(id).filter(Column::OrganizationId.eq(organization)).one(db).await
    }

    /// Every store of the organization, by name.
    pub async fn all_in_org(db: &impl ConnectionTrait, organization: Uuid) -> Result<Vec<Self>, DbErr> {
        use sea_orm::QueryOrder;
        Entity::find().filter(Column::OrganizationId.eq(organization)).order_by_asc(Column::Name).all(db).await
    }
}

/// What a re-encryption pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rekeyed {
    /// Connections re-encrypted from the old key to the new one.
    pub rekeyed: usize,
    /// Connections already under the new key (a rerun after an interruption).
    pub current: usize,
}

/// Re-encrypts every store's connection from `old` to `new` (the keyrings of the old and the
/// current master key), one row at a time, each in its own statement; rerunning after an
/// interruption skips rows already under `new`. Fails, changing nothing more, on a row that
/// neither key opens.
pub async fn rekey_all(db: &impl ConnectionTrait, old: &Keyring, new: &Keyring) -> Result<Rekeyed, RekeyError> {
    let mut done = Rekeyed::default();
    for store in Entity::find().all(db).await? {
        let Some(blob) = &store.connection_ciphertext else { continue };
        let ctx = context(store.organization_id, store.id);
        if new.decrypt(blob, &ctx).is_ok() {
            done.current += 1;
            continue;
        }
        let plain = old.decrypt(blob, &ctx).map_err(|_| RekeyError::Undecryptable(store.id))?;
        let sealed = new.encrypt(&plain, &ctx);
        Entity::update_many()
            .col_expr(Column::ConnectionCiphertext, sea_orm::sea_query::Expr::value(sealed))
            .filter(Column::Id.eq(store.id))
            .exec(db)
            .await?;
        done.rekeyed += 1;
    }
    Ok(done)
}

/// Why re-encryption stopped.
#[derive(Debug, thiserror::Error)]
pub enum RekeyError {
    /// Lethe's database failed.
    #[error(transparent)]
    Db(#[from] DbErr),
    /// Neither the old nor the new key opens this store's connection.
    #[error("the connection of store {0} opens with neither key")]
    Undecryptable(Uuid),
}
