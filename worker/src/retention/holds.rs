//! What legal holds mean for destruction. For a retention run: a hold on the organization, the
//! store or the table stops the run (nothing is purged); holds on subjects exclude their rows.
//! A held subject's rows are found two ways, and both are excluded:
//! - by the table's identity columns in the store's data map (`identity: email` etc.; compared
//!   as the map says: case-insensitively for e-mail by default), checked in every batch's
//!   statement, so a row written during the run is kept too;
//! - by locating the held subjects across every store of the organization, as an erasure
//!   would ([`crate::locate`]): rows reached only through references (a held customer's
//!   orders, their order lines) and Redis keys (identity-keyed or keyed by a located column)
//!   are excluded by primary key (Redis: by key). If a store the walk must pass through to
//!   reach the table cannot be searched, the held rows cannot be known and the run fails
//!   (`legal_hold_unresolved`) rather than risk destroying them.
//!
//! For an erasure request: a hold on the organization or on one of the subject's identities
//! puts it `on_hold`.

use std::collections::BTreeSet;

use lethe_entities::Keyring;
use lethe_entities::datamap::Matching;
use lethe_entities::datamap::graph::{Graph, Node};
use lethe_entities::entity::legal_hold::{self, HoldScope};
use lethe_entities::entity::{store, subject_identity};
use sea_orm::DatabaseConnection;
use time::OffsetDateTime;
use uuid::Uuid;

pub use super::held::{Excluded, Held};
use crate::locate::{Outcome, Subject, locate_keys};
use crate::stores::Registry;

/// What the holds in force say about one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holds {
    /// The whole table is held (by this hold): nothing may be purged.
    Table(Uuid),
    /// These rows are held; the rest may go.
    Rows(Held),
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
    /// A store on the way to the table could not be searched, so the held subjects' rows in it
    /// are unknown.
    #[error("store `{0}` could not be searched for the held subjects' data")]
    Unresolved(String),
}

/// Reads the holds for one table during a run, locating the held subjects again only when the
/// set of subject holds in force changes (a run reads the holds before every batch).
#[derive(Debug, Default)]
pub struct Reader {
    located: Option<(BTreeSet<Uuid>, Vec<Vec<String>>)>,
}

impl Reader {
    /// The holds in force at `now` on `table` (or key pattern) of `store`.
    pub async fn read(
        &mut self,
        db: &DatabaseConnection,
        keyring: &Keyring,
        registry: &Registry,
        store: &store::Model,
        table: &str,
        now: OffsetDateTime,
    ) -> Result<Holds, HoldsError> {
        let active = legal_hold::Model::list(db, store.organization_id, Some(now)).await?;
        if let Some(hold) = active.iter().find(|h| h.covers_table(store.id, table)) {
            return Ok(Holds::Table(hold.id));
        }
        let subjects: Vec<&legal_hold::Model> = active.iter().filter(|h| h.scope == HoldScope::Subject).collect();
        let map = store.saved_map();
        let columns = map.as_ref().and_then(|m| m.table(table)).map(|t| t.columns.clone()).unwrap_or_default();
        let mut held = Held::default();
        let mut subject = Subject::default();
        for hold in &subjects {
            let Some((kind, value)) = hold.identity(keyring).map_err(|_| HoldsError::Crypto)? else { continue };
            for column in columns.iter().filter(|c| c.identity == Some(kind)) {
                let ignore_case = column.effective_matching() == Matching::CaseInsensitive;
                let value = if ignore_case { value.to_lowercase() } else { value.clone() };
                match held.columns.iter_mut().find(|e| e.column == column.name) {
                    Some(e) => e.values.push(value),
                    None => {
                        held.columns.push(Excluded { column: column.name.clone(), ignore_case, values: vec![value] })
                    }
                }
            }
            subject.identities.push((kind, value));
        }
        let ids: BTreeSet<Uuid> = subjects.iter().map(|h| h.id).collect();
        held.keys = match &self.located {
            Some((cached, keys)) if *cached == ids => keys.clone(),
            _ if ids.is_empty() => Vec::new(),
            _ => {
                let keys = locate_held(db, keyring, registry, store, table, &subject).await?;
                self.located = Some((ids, keys.clone()));
                keys
            }
        };
        Ok(Holds::Rows(held))
    }
}

/// The holds in force at `now` on `table` (or key pattern) of `store` (one read, nothing cached).
pub async fn for_table(
    db: &DatabaseConnection,
    keyring: &Keyring,
    registry: &Registry,
    store: &store::Model,
    table: &str,
    now: OffsetDateTime,
) -> Result<Holds, HoldsError> {
    Reader::default().read(db, keyring, registry, store, table, now).await
}

/// Locates the held subjects in every store of the organization and returns the keys found in
/// `table` of `store` (for a Redis store: every held key of the store, since a policy's `SCAN`
/// pattern need not be one of the data map's key patterns).
async fn locate_held(
    db: &DatabaseConnection,
    keyring: &Keyring,
    registry: &Registry,
    store: &store::Model,
    table: &str,
    subject: &Subject,
) -> Result<Vec<Vec<String>>, HoldsError> {
    let stores = store::Model::all_in_org(db, store.organization_id).await?;
    let inputs = crate::tasks::inputs(&stores, registry, keyring).await;
    let (report, mut keys) = locate_keys(&inputs, subject).await;
    let failed: BTreeSet<&str> = report
        .stores
        .iter()
        .filter(|(_, outcome)| matches!(outcome, Outcome::Failed(_)))
        .map(|(name, _)| name.as_str())
        .collect();
    if !failed.is_empty() {
        let maps: Vec<_> = stores.iter().filter_map(|s| Some((s.name.clone(), s.kind, s.saved_map()?))).collect();
        let graph = Graph::build(maps.iter().map(|(name, kind, map)| (name.as_str(), *kind, map)));
        let upstream = upstream_stores(&graph, store, table);
        if let Some(blocked) = failed.iter().find(|f| upstream.contains(**f)) {
            return Err(HoldsError::Unresolved((*blocked).to_owned()));
        }
    }
    let mut found = keys.remove(&store.name).unwrap_or_default();
    if store.kind.has_key_patterns() {
        return Ok(found.into_values().flatten().collect());
    }
    Ok(found.remove(table).unwrap_or_default())
}

/// The stores whose rows can lead locating to `table` of `store` (itself included): the
/// ancestors of its node along the graph's edges (for a Redis store, of any of its patterns).
fn upstream_stores(graph: &Graph, store: &store::Model, table: &str) -> BTreeSet<String> {
    let mut stack: Vec<Node> = if store.kind.has_key_patterns() {
        graph.nodes.keys().filter(|n| n.store == store.name).cloned().collect()
    } else {
        vec![Node::new(&store.name, table)]
    };
    let mut seen: BTreeSet<Node> = stack.iter().cloned().collect();
    let mut stores = BTreeSet::from([store.name.clone()]);
    while let Some(node) = stack.pop() {
        for edge in graph.edges.iter().filter(|e| e.lookup.0 == node) {
            if seen.insert(edge.source.0.clone()) {
                stores.insert(edge.source.0.store.clone());
                stack.push(edge.source.0.clone());
            }
        }
    }
    stores
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
