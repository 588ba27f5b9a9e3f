//! Discovery: introspects a live store and proposes a data map for an operator to review.
//! Nothing discovered is used until it is saved.
//!
//! SQL: every table with a primary key becomes a mapped table; columns get a data category and
//! an identity kind from their names and from up to 20 sampled values (values are read, judged
//! and dropped: never stored, returned or logged); foreign keys become references, with a
//! direction chosen so that locating stays with one person:
//!
//! * a self-reference (`employees.manager_id`, `customers.referred_by`) points at another
//!   person: `none`;
//! * a reference between two tables that both identify people (`customers.support_rep_id ->
//!   employees.id`) points at another person: `none`;
//! * a reference from a person's table to a table that identifies nobody
//!   (`customers.last_order_id -> orders.id`): `to` (that row is the person's);
//! * otherwise (`orders.customer_id -> customers.id`): `from` (these rows are the parent's).
//!
//! Identity and reference columns that locating looks up without an index are reported:
//! each would be a full table scan per request.
//!
//! Redis: keys are sampled with `SCAN` and generalised into patterns with one placeholder.

use std::collections::BTreeMap;

use lethe_entities::StoreKind;
use lethe_entities::datamap::classify::{self, Evidence};
use lethe_entities::datamap::graph::Graph;
use lethe_entities::datamap::{
    ColumnMap, ColumnRef, DataMap, Direction, KeyMap, KeySource, Reference, RowErasure, TableMap,
};
use lethe_entities::domain::enums::IdentityKind;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Query};
use serde::Serialize;
use utoipa::ToSchema;

use super::schema::{Schema, missing_indexes};
use super::sql::fetch::{as_text, table_ref};
use super::sql::{SqlStore, classify as classify_error};
use super::{Connector, StoreError};

/// Values sampled per column.
pub const SAMPLE_ROWS: u64 = 20;

/// What discovery proposes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Discovery {
    /// The proposed data map.
    pub map: DataMap,
    /// Why each column got its category: from its name, its sampled values, or both.
    pub suggestions: Vec<ColumnSuggestion>,
    /// Why each reference got its direction.
    pub references: Vec<ReferenceNote>,
    /// Lookups locating would do without an index (`table: column`).
    pub missing_indexes: Vec<String>,
    /// Tables left out, and other remarks.
    pub notes: Vec<String>,
}

/// One column's suggestion.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ColumnSuggestion {
    /// Table (or key pattern).
    pub table: String,
    /// Column.
    pub column: String,
    /// Suggested category.
    pub category: String,
    /// Suggested identity kind.
    pub identity: Option<IdentityKind>,
    /// What supports it.
    pub evidence: Evidence,
}

/// Why a reference got its direction.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReferenceNote {
    /// `table.column -> table.column`.
    pub reference: String,
    /// The proposed direction.
    pub direction: Direction,
    /// Why.
    pub reason: String,
}

/// Discovers a store.
pub async fn discover(connector: &Connector) -> Result<Discovery, StoreError> {
    match connector {
        Connector::Sql(sql) => discover_sql(sql).await,
        Connector::Redis(redis) => {
            let patterns = redis.sample_patterns(super::redis::SAMPLE_KEYS).await?;
            let mut discovery = empty();
            for (pattern, sample) in patterns {
                let kind = if sample.placeholder == "email" { IdentityKind::Email } else { IdentityKind::CustomerId };
                discovery.notes.push(format!(
                    "`{pattern}`: {} sampled key(s) of type {}; the placeholder looks like {}; if its values come from \
                     another store's column, change `source` to that column",
                    sample.keys, sample.redis_type, sample.placeholder
                ));
                discovery.map.keys.push(KeyMap {
                    pattern,
                    source: KeySource::Identity(kind),
                    category: None,
                    purpose: None,
                    fields: vec![],
                    erasure: RowErasure::DeleteRow,
                });
            }
            Ok(discovery)
        }
    }
}

fn empty() -> Discovery {
    Discovery { map: DataMap::empty(), suggestions: vec![], references: vec![], missing_indexes: vec![], notes: vec![] }
}

async fn discover_sql(sql: &SqlStore) -> Result<Discovery, StoreError> {
    let schema = sql.fresh_schema().await?;
    let mut discovery = empty();
    for (name, table) in &schema.tables {
        if table.primary_key.is_empty() {
            discovery
                .notes
                .push(format!("`{name}` has no primary key: it cannot be located row by row and is left out"));
            continue;
        }
        let samples = sample(sql, name, table.columns.iter().map(|c| c.name.clone()).collect()).await?;
        let mut columns = Vec::new();
        for (i, column) in table.columns.iter().enumerate() {
            let values: Vec<&str> = samples.iter().filter_map(|row| row[i].as_deref()).collect();
            let is_key = table.primary_key.contains(&column.name)
                || table.foreign_keys.iter().any(|f| f.columns.contains(&column.name));
            let suggestion = if is_key { None } else { classify::suggest(&column.name, &column.sql_type, &values) };
            if let Some(s) = suggestion {
                discovery.suggestions.push(ColumnSuggestion {
                    table: name.clone(),
                    column: column.name.clone(),
                    category: s.category.to_owned(),
                    identity: s.identity,
                    evidence: s.evidence,
                });
                columns.push(ColumnMap {
                    name: column.name.clone(),
                    category: Some(s.category.to_owned()),
                    identity: s.identity,
                    matching: None,
                    action: None,
                    redact_with: None,
                });
            }
        }
        discovery.map.tables.push(TableMap {
            name: name.clone(),
            primary_key: table.primary_key.clone(),
            purpose: None,
            columns,
            references: vec![],
            erasure: RowErasure::DeleteRow,
        });
    }
    let identifies: BTreeMap<String, bool> =
        discovery.map.tables.iter().map(|t| (t.name.clone(), t.columns.iter().any(|c| c.identity.is_some()))).collect();
    for table in &mut discovery.map.tables {
        let Some(live) = schema.tables.get(&table.name) else { continue };
        for fk in &live.foreign_keys {
            let ([column], [target_column]) = (fk.columns.as_slice(), fk.target_columns.as_slice()) else {
                discovery.notes.push(format!(
                    "`{}`: a composite foreign key to `{}` is not proposed as a reference; map it by hand",
                    table.name, fk.target_table
                ));
                continue;
            };
            if !identifies.contains_key(&fk.target_table) {
                continue;
            }
            let here = identifies.get(&table.name).copied().unwrap_or(false);
            let there = identifies.get(&fk.target_table).copied().unwrap_or(false);
            let (direction, reason) = if fk.target_table == table.name {
                (Direction::None, "a self-reference points at another row, usually another person")
            } else if here && there {
                (Direction::None, "both tables identify people: this points at another person")
            } else if here {
                (Direction::To, "the referenced row identifies nobody: it belongs to this row's person")
            } else {
                (Direction::From, "rows here belong to the referenced row's person")
            };
            discovery.references.push(ReferenceNote {
                reference: format!("{}.{column} -> {}.{target_column}", table.name, fk.target_table),
                direction,
                reason: reason.to_owned(),
            });
            if !table.columns.iter().any(|c| &c.name == column) {
                table.columns.push(ColumnMap {
                    name: column.clone(),
                    category: None,
                    identity: None,
                    matching: None,
                    action: None,
                    redact_with: None,
                });
            }
            table.references.push(Reference {
                column: column.clone(),
                target: ColumnRef { store: None, table: fk.target_table.clone(), column: target_column.clone() },
                direction,
            });
        }
    }
    discovery.missing_indexes = unindexed_lookups(&discovery.map, &schema);
    Ok(discovery)
}

/// The lookups locating would do with `map` that no index serves.
pub fn unindexed_lookups(map: &DataMap, schema: &Schema) -> Vec<String> {
    let graph = Graph::build([("this", StoreKind::Postgres, map)]);
    let mut lookups: Vec<(String, String, bool)> = graph
        .seeds
        .iter()
        .map(|s| {
            (s.node.table.clone(), s.column.clone(), s.matching == lethe_entities::datamap::Matching::CaseInsensitive)
        })
        .collect();
    lookups.extend(graph.edges.iter().map(|e| (e.lookup.0.table.clone(), e.lookup.1.clone(), false)));
    // Cross-store references land in this store too.
    for table in &map.tables {
        for reference in table.references.iter().filter(|r| r.target.store.is_some() && r.direction == Direction::From)
        {
            lookups.push((table.name.clone(), reference.column.clone(), false));
        }
    }
    missing_indexes(map, schema, &lookups)
}

async fn sample(sql: &SqlStore, table: &str, columns: Vec<String>) -> Result<Vec<Vec<Option<String>>>, StoreError> {
    let mut query = Query::select();
    for (i, column) in columns.iter().enumerate() {
        query.expr_as(as_text(sql.kind(), column), Alias::new(format!("c{i}")));
    }
    query.from(table_ref(table)).limit(SAMPLE_ROWS);
    let rows = sql.connection().query_all(&query).await.map_err(classify_error)?;
    rows.into_iter()
        .map(|row| {
            (0..columns.len()).map(|i| row.try_get_by_index::<Option<String>>(i).map_err(classify_error)).collect()
        })
        .collect()
}
