//! What legal holds mean for destruction. For a retention run: a hold on the organization, the
//! store or the table stops the run (nothing is purged); holds on subjects exclude their rows,
//! found through the table's identity columns in the store's data map (`identity: email` etc.;
//! compared as the map says: case-insensitively for e-mail by default). For an erasure request:
//! a hold on the organization or on one of the subject's identities puts it `on_hold`.

use lethe_entities::Keyring;
use lethe_entities::datamap::Matching;
use lethe_entities::entity::legal_hold::{self, HoldScope};
use lethe_entities::entity::{store, subject_identity};
use sea_orm::DatabaseConnection;
use time::OffsetDateTime;
use uuid::Uuid;

/// Rows whose `column` holds one of `values` are held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excluded {
    /// The identity column.
    pub column: String,
    /// Compare ignoring case (`values` are lower-case then).
    pub ignore_case: bool,
    /// The held subjects' identities (personal data: never logged).
    pub values: Vec<String>,
}

/// What the holds in force say about one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holds {
    /// The whole table is held (by this hold): nothing may be purged.
    Table(Uuid),
    /// These rows are held; the rest may go.
    Rows(Vec<Excluded>),
}

/// Why the holds could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HoldsError {
    /// Lethe's database failed.
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    /// A held identity could not be decrypted (the master key changed?).
    #[error("a held identity could not be decrypted")]
    Crypto,
}

/// The holds in force at `now` on `table` (or key pattern) of `store`.
pub async fn for_table(
    db: &DatabaseConnection,
    keyring: &Keyring,
    store: &store::Model,
    table: &str,
    now: OffsetDateTime,
) -> Result<Holds, HoldsError> {
    let active = legal_hold::Model::list(db, store.organization_id, Some(now)).await?;
    if let Some(hold) = active.iter().find(|h| h.covers_table(store.id, table)) {
        return Ok(Holds::Table(hold.id));
    }
    let map = store.saved_map();
    let columns = map.as_ref().and_then(|m| m.table(table)).map(|t| t.columns.clone()).unwrap_or_default();
    let mut excluded: Vec<Excluded> = Vec::new();
    for hold in active.iter().filter(|h| h.scope == HoldScope::Subject) {
        let Some((kind, value)) = hold.identity(keyring).map_err(|_| HoldsError::Crypto)? else { continue };
        for column in columns.iter().filter(|c| c.identity == Some(kind)) {
            let ignore_case = column.effective_matching() == Matching::CaseInsensitive;
            let value = if ignore_case { value.to_lowercase() } else { value.clone() };
            match excluded.iter_mut().find(|e| e.column == column.name) {
                Some(e) => e.values.push(value),
                None => excluded.push(Excluded { column: column.name.clone(), ignore_case, values: vec![value] }),
            }
        }
    }
    Ok(Holds::Rows(excluded))
}

/// The hold in force at `now` that covers the subject of `request`: a hold on the whole
/// organization, or on one of the request's identities (matched by blind index).
pub async fn on_subject(
    db: &DatabaseConnection,
    organization: Uuid,
    request: Uuid,
    now: OffsetDateTime,
) -> Result<Option<legal_hold::Model>, sea_orm::DbErr> {
    let active = legal_hold::Model::list(db, organization, Some(now)).await?;
    if active.is_empty() {
        return Ok(None);
    }
    let identities = subject_identity::Model::of_request(db, organization, request).await?;
    Ok(active.into_iter().find(|h| {
        h.scope == HoldScope::Organization
            || (h.scope == HoldScope::Subject
                && identities.iter().any(|i| h.blind_index.as_deref() == Some(i.blind_index.as_str())))
    }))
}
