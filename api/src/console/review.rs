//! The review of a SQL store's data map against its live schema, as the console shows it: per
//! table and column what the map (discovery's proposal, or the saved map) says, with
//! discovery's evidence. Read only: [`super::datamap`] saves what the form sends back.

use std::collections::HashMap;

use lethe_entities::datamap::{ColumnAction, DataMap, taxonomy};
use lethe_entities::domain::enums::IdentityKind;
use lethe_entities::entity::store;
use sea_orm::Iterable;

use super::view::when;
use crate::state::AppState;

/// The review of a SQL store's map against its live schema.
pub struct Review {
    /// Which map is reviewed (discovery's proposal or the saved map), in words.
    pub source: Option<String>,
    /// The live schema could not be read: why.
    pub error: Option<String>,
    /// One entry per live table.
    pub tables: Vec<ReviewTable>,
    /// Discovery's remarks (tables left out, ...).
    pub notes: Vec<String>,
    /// Lookups without an index.
    pub missing_indexes: Vec<String>,
    /// Whether the operator may change and save it.
    pub editable: bool,
    /// The built-in data categories.
    pub categories: Vec<&'static str>,
    /// The identity kinds.
    pub identities: Vec<&'static str>,
    /// The column actions.
    pub actions: Vec<&'static str>,
}

/// One live table and what the map says of it.
pub struct ReviewTable {
    /// Position in the form.
    pub index: usize,
    /// The table's name.
    pub name: String,
    /// Whether the map has it.
    pub included: bool,
    /// What erasure does to its rows: `delete_row`, `update` or `keep`.
    pub erasure: &'static str,
    /// Its primary key, comma-separated.
    pub primary_key: String,
    /// Its columns.
    pub columns: Vec<ReviewColumn>,
}

/// One live column and what the map says of it.
pub struct ReviewColumn {
    /// Position in the form.
    pub index: usize,
    /// The column's name.
    pub name: String,
    /// Its SQL type.
    pub sql_type: String,
    /// Part of the primary key.
    pub key: bool,
    /// The map's category (empty: none).
    pub category: String,
    /// The map's identity kind (empty: none).
    pub identity: String,
    /// The map's erasure action (empty: none).
    pub action: String,
    /// Why discovery suggested its category.
    pub evidence: Option<String>,
}

/// The map the review starts from, and its source in words: discovery's proposal when it is
/// newer than the saved map, otherwise the saved map.
pub(super) fn base(s: &store::Model) -> Option<(DataMap, String)> {
    let proposed = s.proposed_map.clone().and_then(|m| serde_json::from_value::<DataMap>(m).ok());
    let newer = match (s.discovered_at, s.data_map_saved_at) {
        (Some(found), Some(saved)) => found > saved,
        (_, None) => true,
        (None, Some(_)) => false,
    };
    let saved = || s.saved_map().map(|m| (m, format!("the saved map (version {})", s.data_map_version)));
    match proposed {
        Some(p) if newer => {
            let at = s.discovered_at.map(when).map_or_else(String::new, |at| format!(" of {at}"));
            Some((p, format!("discovery's proposal{at}")))
        }
        _ => saved(),
    }
}

/// Discovery's evidence per `(table, column)`, from its stored report.
fn evidence(s: &store::Model) -> HashMap<(String, String), String> {
    let suggestions = s.discovery_report.as_ref().and_then(|r| r.get("suggestions")).and_then(|v| v.as_array());
    suggestions
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let text = |key: &str| v.get(key).and_then(|x| x.as_str()).map(str::to_owned);
            Some(((text("table")?, text("column")?), text("evidence")?.replace('_', " ")))
        })
        .collect()
}

fn report_list(s: &store::Model, key: &str) -> Vec<String> {
    let items = s.discovery_report.as_ref().and_then(|r| r.get(key)).and_then(|v| v.as_array());
    items.into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect()
}

/// The review of store `s` (SQL stores only; `None` for the others).
pub async fn review(state: &AppState, s: &store::Model, editable: bool) -> Option<Review> {
    if !s.kind.is_sql() {
        return None;
    }
    let (map, source) = base(s).map_or((DataMap::empty(), None), |(m, source)| (m, Some(source)));
    let mut review = Review {
        source,
        error: None,
        tables: Vec::new(),
        notes: report_list(s, "notes"),
        missing_indexes: report_list(s, "missing_indexes"),
        editable,
        categories: taxonomy::CATEGORIES.iter().map(|c| c.name).collect(),
        identities: IdentityKind::iter().map(IdentityKind::as_str).collect(),
        actions: [ColumnAction::Null, ColumnAction::Redact, ColumnAction::Hash, ColumnAction::Keep]
            .map(ColumnAction::as_str)
            .to_vec(),
    };
    let schema = match state.stores.connector(s, &state.keyring).await {
        Ok(connector) => connector.schema().await,
        Err(e) => Err(e),
    };
    let schema = match schema {
        Ok(Some(schema)) => schema,
        Ok(None) => return None,
        Err(e) => {
            review.error = Some(format!("{}: {e}", e.code()));
            return Some(review);
        }
    };
    let why = evidence(s);
    for (index, (table, live)) in schema.tables.iter().enumerate() {
        let mapped = map.table(table);
        let columns = live
            .columns
            .iter()
            .enumerate()
            .map(|(index, c)| {
                let m = mapped.and_then(|t| t.column(&c.name));
                ReviewColumn {
                    index,
                    name: c.name.clone(),
                    sql_type: c.sql_type.clone(),
                    key: live.primary_key.contains(&c.name),
                    category: m.and_then(|m| m.category.clone()).unwrap_or_default(),
                    identity: m.and_then(|m| m.identity).map(|i| i.as_str().to_owned()).unwrap_or_default(),
                    action: m.and_then(|m| m.action).map(|a| a.as_str().to_owned()).unwrap_or_default(),
                    evidence: why.get(&(table.clone(), c.name.clone())).cloned(),
                }
            })
            .collect();
        review.tables.push(ReviewTable {
            index,
            name: table.clone(),
            included: mapped.is_some(),
            erasure: mapped.map_or("delete_row", |t| t.erasure.as_str()),
            primary_key: live.primary_key.join(","),
            columns,
        });
    }
    Some(review)
}
