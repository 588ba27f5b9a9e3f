//! Discovery in a SQL store: every table with a primary key becomes a mapped table, columns get
//! a category and identity kind from their names and sampled values, foreign keys become
//! references (see [`crate::stores::discover`] for how directions are chosen).

use std::collections::BTreeMap;

use lethe_entities::datamap::classify;
use lethe_entities::datamap::{ColumnMap, ColumnRef, Direction, Reference, RowErasure, TableMap};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Query};

use super::fetch::{as_text, table_ref};
use super::{SqlStore, classify as classify_error};
use crate::stores::StoreError;
use crate::stores::discover::{ColumnSuggestion, Discovery, ReferenceNote};
use crate::stores::schema::{Schema, unindexed_lookups};

/// Values sampled per column.
pub const SAMPLE_ROWS: u64 = 20;

/// Introspects the store and proposes a data map.
pub async fn discover(sql: &SqlStore) -> Result<Discovery, StoreError> {
    let schema = sql.fresh_schema().await?;
    let mut discovery = Discovery::empty();
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
    propose_references(&mut discovery, &schema);
    discovery.missing_indexes = unindexed_lookups(&discovery.map, &schema);
    Ok(discovery)
}

/// Proposes the schema's single-column foreign keys between mapped tables as references, with
/// a direction that keeps locating with one person, and notes the composite ones.
fn propose_references(discovery: &mut Discovery, schema: &Schema) {
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
