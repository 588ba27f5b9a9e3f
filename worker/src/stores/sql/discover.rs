//! Discovery in a SQL store: every table with a primary key becomes a mapped table, columns get
//! a category and identity kind from their names and sampled values, foreign keys become
//! references (see [`crate::stores::discover`] for how directions are chosen), except into and
//! out of shared tables ([`super::shared`]), which are set apart.

use std::collections::{BTreeMap, BTreeSet};

use lethe_entities::datamap::classify;
use lethe_entities::datamap::notice::{Text, label_from};
use lethe_entities::datamap::{ColumnMap, ColumnRef, Direction, Reference, RowErasure, TableMap};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Query};

use super::fetch::{as_text, table_ref};
use super::shared::shared_tables;
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
                    label: column.comment.as_deref().and_then(label_from).map(Text::One),
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
            label: table.comment.as_deref().and_then(label_from).map(Text::One),
            purpose: None,
            legal_basis: None,
            origin: None,
            automated_decision: None,
            columns,
            references: vec![],
            erasure: RowErasure::DeleteRow,
        });
    }
    let identifies = identifying_tables(&discovery);
    let shared = shared_tables(sql, &schema, &identifies, &personal_tables(&discovery)).await?;
    set_apart(&mut discovery, &shared);
    propose_references(&mut discovery, &schema, &identifies, &shared);
    discovery.missing_indexes = unindexed_lookups(&discovery.map, &schema);
    Ok(discovery)
}

/// Every mapped table, with whether one of its columns identifies people.
fn identifying_tables(discovery: &Discovery) -> BTreeMap<String, bool> {
    discovery.map.tables.iter().map(|t| (t.name.clone(), t.columns.iter().any(|c| c.identity.is_some()))).collect()
}

/// The tables with a suggested column other than a bare `name` (which things have too).
fn personal_tables(discovery: &Discovery) -> BTreeSet<String> {
    discovery.suggestions.iter().filter(|s| !s.column.eq_ignore_ascii_case("name")).map(|s| s.table.clone()).collect()
}

/// Shared tables keep no suggested columns (a track's `name` is no person's name); the notes say
/// why each is shared.
fn set_apart(discovery: &mut Discovery, shared: &BTreeMap<String, String>) {
    discovery.suggestions.retain(|s| !shared.contains_key(&s.table));
    for table in discovery.map.tables.iter_mut().filter(|t| shared.contains_key(&t.name)) {
        table.columns.clear();
    }
    discovery.notes.extend(shared.iter().map(|(table, why)| format!("`{table}` is {why}")));
}

/// The direction of a single-column foreign key from `table` to `target`, with why.
fn direction(
    table: &str,
    target: &str,
    identifies: &BTreeMap<String, bool>,
    shared: &BTreeMap<String, String>,
) -> (Direction, String) {
    let here = identifies.get(table).copied().unwrap_or(false);
    let there = identifies.get(target).copied().unwrap_or(false);
    let (direction, reason) = if let Some(which) = [target, table].into_iter().find(|t| shared.contains_key(*t)) {
        return (Direction::None, format!("`{which}` is shared: its rows belong to no one person"));
    } else if target == table {
        (Direction::None, "a self-reference points at another row, usually another person")
    } else if here && there {
        (Direction::None, "both tables identify people: this points at another person")
    } else if here {
        (Direction::To, "the referenced row identifies nobody: it belongs to this row's person")
    } else {
        (Direction::From, "rows here belong to the referenced row's person")
    };
    (direction, reason.to_owned())
}

/// Proposes the schema's single-column foreign keys between mapped tables as references, with
/// a direction that keeps locating with one person, and notes the composite ones.
fn propose_references(
    discovery: &mut Discovery,
    schema: &Schema,
    identifies: &BTreeMap<String, bool>,
    shared: &BTreeMap<String, String>,
) {
    for table in &mut discovery.map.tables {
        let Some(live) = schema.tables.get(&table.name) else { continue };
        // In column order, whatever order the database lists its keys in.
        let mut foreign_keys: Vec<_> = live.foreign_keys.iter().collect();
        foreign_keys.sort_by(|a, b| (&a.columns, &a.target_table).cmp(&(&b.columns, &b.target_table)));
        for fk in foreign_keys {
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
            let (direction, reason) = direction(&table.name, &fk.target_table, identifies, shared);
            discovery.references.push(ReferenceNote {
                reference: format!("{}.{column} -> {}.{target_column}", table.name, fk.target_table),
                direction,
                reason,
            });
            if !table.columns.iter().any(|c| &c.name == column) {
                table.columns.push(ColumnMap {
                    name: column.clone(),
                    label: None,
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
