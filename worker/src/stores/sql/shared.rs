//! Shared tables: rows that belong to nobody in particular, which many people's rows point at
//! (a catalogue of products or tracks, a list of countries or plans). Erasing a person must never
//! reach them, and their columns (a track's `name`, an album's `title`) are not personal data.
//!
//! A table is **owned** when it identifies people (an identity column) or when one of its
//! foreign keys leads to an owned table (`invoice_lines -> invoices -> customers`). A table that
//! is not owned is **shared** when an owned table's foreign key to it repeats a value: two rows
//! that belong to people point at the same row of it (`invoice_lines.track_id`). A table that is
//! referenced only once per row (`customers.address_id -> addresses`, one address each) stays
//! the person's. Tables that are not owned and that a shared table refers to, or that refer to
//! one, are shared too (`tracks -> albums -> artists`, `playlist_tracks -> tracks`): they are
//! part of the same catalogue, and no person's rows lead to them.
//!
//! A table discovery proposes personal columns for (a street, a city, anything but a bare
//! `name`, which tracks, genres and products have too) is never set apart: two orders of one
//! customer to the same address repeat the address, and that must not hide it.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};

use super::fetch::table_ref;
use super::{SqlStore, classify as classify_error};
use crate::stores::StoreError;
use crate::stores::schema::Schema;

/// The shared tables among those discovery maps, each with the reason, in words.
pub async fn shared_tables(
    sql: &SqlStore,
    schema: &Schema,
    identifies: &BTreeMap<String, bool>,
    personal: &BTreeSet<String>,
) -> Result<BTreeMap<String, String>, StoreError> {
    // A table with personal columns is never set apart, shared or not: it counts as owned.
    let mut owned = owned_tables(schema, identifies);
    owned.extend(personal.iter().cloned());
    let mut shared = BTreeMap::new();
    for (table, live) in &schema.tables {
        if !owned.contains(table) {
            continue;
        }
        for fk in &live.foreign_keys {
            let [column] = fk.columns.as_slice() else { continue };
            let target = &fk.target_table;
            if target == table
                || owned.contains(target)
                || !identifies.contains_key(target)
                || shared.contains_key(target)
            {
                continue;
            }
            if repeats(sql, table, column).await? {
                let reason = format!(
                    "shared: several rows of `{table}` (which belong to people) point at the same `{target}` row \
                     through `{column}`, and `{target}` identifies nobody; erasing a person leaves it alone"
                );
                shared.insert(target.clone(), reason);
            }
        }
    }
    spread(schema, &owned, &mut shared);
    Ok(shared)
}

/// The tables that identify people, and those whose foreign keys lead to one.
fn owned_tables(schema: &Schema, identifies: &BTreeMap<String, bool>) -> BTreeSet<String> {
    let mut owned: BTreeSet<String> = identifies.iter().filter(|(_, yes)| **yes).map(|(t, _)| t.clone()).collect();
    loop {
        let more: Vec<String> = schema
            .tables
            .iter()
            .filter(|(table, live)| {
                !owned.contains(*table)
                    && identifies.contains_key(*table)
                    && live.foreign_keys.iter().any(|fk| &fk.target_table != *table && owned.contains(&fk.target_table))
            })
            .map(|(table, _)| table.clone())
            .collect();
        if more.is_empty() {
            return owned;
        }
        owned.extend(more);
    }
}

/// Adds the tables a shared table refers to, and those that refer to one, that are not owned
/// (and so on): the rest of the catalogue (`tracks -> albums -> artists`, and the
/// `playlist_tracks -> playlists` that list tracks for nobody in particular).
fn spread(schema: &Schema, owned: &BTreeSet<String>, shared: &mut BTreeMap<String, String>) {
    let mut queue: Vec<String> = shared.keys().cloned().collect();
    while let Some(table) = queue.pop() {
        let table = table.as_str();
        let links = schema.tables.iter().flat_map(|(name, live)| {
            live.foreign_keys.iter().filter_map(move |fk| {
                if name == table && fk.target_table != table {
                    Some((
                        fk.target_table.clone(),
                        format!("part of the shared `{table}`'s catalogue (`{table}` refers to it)"),
                    ))
                } else if fk.target_table == table && name != table {
                    Some((name.clone(), format!("linked to the shared `{table}` (it refers to it) and to no person")))
                } else {
                    None
                }
            })
        });
        let found: Vec<(String, String)> = links
            .filter(|(other, _)| !owned.contains(other) && !shared.contains_key(other))
            .filter(|(other, _)| schema.tables.get(other).is_some_and(|t| !t.primary_key.is_empty()))
            .collect();
        for (other, why) in found {
            if !shared.contains_key(&other) {
                shared.insert(other.clone(), format!("shared: {why}, identifying nobody"));
                queue.push(other);
            }
        }
    }
}

/// Whether two rows of `table` hold the same non-null `column` value.
async fn repeats(sql: &SqlStore, table: &str, column: &str) -> Result<bool, StoreError> {
    let col = || Expr::col(Alias::new(column));
    let query = Query::select()
        .expr(col())
        .from(table_ref(table))
        .and_where(col().is_not_null())
        .group_by_col(Alias::new(column))
        .and_having(col().count().gt(1))
        .limit(1)
        .to_owned();
    Ok(sql.connection().query_one(&query).await.map_err(classify_error)?.is_some())
}
