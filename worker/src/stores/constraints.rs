//! Checking a data map against the live schema's constraints when it is saved, so that a map
//! that would fail at erasure time is refused with what would work instead:
//!
//! * `delete_row` on a table that other rows refer to by a foreign key the database enforces
//!   (`NO ACTION`/`RESTRICT`), unless the same map erases those referencing rows first: their
//!   table is mapped with a reference locating follows from the deleted rows (`direction:
//!   from`), and it deletes them or sets that column to NULL;
//! * `hash` (a 64-character pseudonym) or `redact` (its text) into a column that cannot hold it:
//!   a shorter text column, or a column that is not text;
//! * `null` on a `NOT NULL` column.
//!
//! Only tables whose rows locating can reach are checked: a table mapped as a reference target
//! only (a product catalogue, a staff table without identities) is never erased.
//!
//! Where the schema cannot tell, nothing is refused: `hash` or `redact` into a type the check
//! does not know (a user-defined type, a domain) is a warning, and so is `ON DELETE CASCADE`
//! from a table the map does not erase, since deleting the person's rows would delete those
//! rows too.

pub mod fit;

use std::collections::BTreeSet;

use lethe_entities::datamap::{ColumnAction, ColumnMap, DataMap, Direction, MapError, RowErasure, TableMap};

use super::schema::{ColumnSchema, ForeignKey, OnDelete, Schema, TableSchema};

/// The length of the pseudonym `hash` writes (HMAC-SHA256, hex).
pub const PSEUDONYM_CHARS: u32 = 64;

/// What the check found: errors refuse the map, warnings are shown with it.
#[derive(Debug, Default)]
pub struct Checked {
    /// Problems that would make erasure fail.
    pub errors: Vec<MapError>,
    /// Things worth knowing that do not stop erasure.
    pub warnings: Vec<String>,
}

/// Checks `map` against the constraints of `schema`, leaving out the tables `unreachable` names
/// (locating never finds their rows; see [`lethe_entities::datamap::graph::Graph::unreachable`]).
/// Tables and columns the schema lacks are [`super::schema::check_map`]'s to report.
pub fn check_constraints(map: &DataMap, schema: &Schema, unreachable: &BTreeSet<String>) -> Checked {
    let mut checked = Checked::default();
    for (t, table) in map.tables.iter().enumerate() {
        if unreachable.contains(&table.name) {
            continue;
        }
        let Some(live) = schema.tables.get(&table.name) else { continue };
        match table.erasure {
            RowErasure::DeleteRow => referencing_rows(map, schema, t, table, &mut checked),
            RowErasure::Update | RowErasure::Keep { .. } => {
                for (c, column) in table.columns.iter().enumerate() {
                    if let (Some(action), Some(live_column)) = (column.action, live.column(&column.name)) {
                        let path = format!("tables[{t}].columns[{c}]");
                        checked.errors.extend(column_action(&table.name, column, action, live_column, path));
                        checked.warnings.extend(unknown_type(&table.name, column, action, live_column));
                    }
                }
            }
        }
    }
    checked
}

/// `delete_row` on `table`: every enforced foreign key pointing at it must have its rows erased
/// first by the same map.
fn referencing_rows(map: &DataMap, schema: &Schema, t: usize, table: &TableMap, checked: &mut Checked) {
    for (child_name, child) in &schema.tables {
        for fk in child.foreign_keys.iter().filter(|fk| fk.target_table == table.name) {
            if erased_first(map, child_name, child, fk, &table.name) {
                continue;
            }
            match fk.on_delete {
                OnDelete::Detach => {}
                OnDelete::Cascade => checked.warnings.push(format!(
                    "delete_row `{}`: the database also deletes the rows of `{child_name}` that refer to them \
                     ({}, ON DELETE CASCADE); map `{child_name}` if they are not the person's",
                    table.name,
                    describe(fk)
                )),
                OnDelete::Refuse if child_name == &table.name => checked.errors.push(MapError::at(
                    format!("tables[{t}].erasure"),
                    format!(
                        "delete_row `{0}`: rows in `{0}` still refer to them through {1} (other rows of the same \
                         table: usually other people), so the database refuses the delete; do not follow it \
                         (direction: from would erase those people too): keep the rows of `{0}` and erase their \
                         personal columns (erasure: update, with null or redact)",
                        table.name,
                        describe(fk),
                    ),
                )),
                OnDelete::Refuse => checked.errors.push(MapError::at(
                    format!("tables[{t}].erasure"),
                    format!(
                        "delete_row `{}`: rows in `{child_name}` still refer to them through {}, so the database \
                         refuses the delete; map `{child_name}` with a reference on `{}` to `{}` (direction: from) \
                         and erase those rows (delete_row, or update with null on `{}`), or keep the rows of `{}` \
                         and erase their personal columns (erasure: update, with null or redact)",
                        table.name,
                        describe(fk),
                        fk.columns.join("`, `"),
                        table.name,
                        fk.columns.join("`, `"),
                        table.name,
                    ),
                )),
            }
        }
    }
}

/// Whether `map` erases the rows of `child` that refer to `parent` through `fk` before `parent`'s
/// rows are deleted: `child` is mapped with a reference on the key's column that locating
/// follows from the parent's rows, and deletes those rows or sets the column to NULL.
fn erased_first(map: &DataMap, child_name: &str, child: &TableSchema, fk: &ForeignKey, parent: &str) -> bool {
    let Some(mapped) = map.table(child_name) else { return false };
    let followed = mapped.references.iter().any(|r| {
        r.target.store.is_none()
            && r.target.table == parent
            && r.direction == Direction::From
            && fk.columns.first() == Some(&r.column)
    });
    if !followed {
        return false;
    }
    if child_name == parent {
        // Following a self-reference from a person's row reaches the rows that point at it (a
        // manager's reports, and theirs): other people. It never makes deleting safe.
        return false;
    }
    let nullable = |column: &String| child.column(column).is_some_and(|c| c.nullable);
    match mapped.erasure {
        RowErasure::DeleteRow => true,
        RowErasure::Update | RowErasure::Keep { .. } => fk.columns.iter().all(|column| {
            mapped.columns.iter().any(|c| &c.name == column && c.action == Some(ColumnAction::Null)) && nullable(column)
        }),
    }
}

/// The problem with applying `action` to `live`, if any.
fn column_action(
    table: &str,
    column: &ColumnMap,
    action: ColumnAction,
    live: &ColumnSchema,
    path: String,
) -> Option<MapError> {
    let name = &column.name;
    let message = match action {
        ColumnAction::Keep => return None,
        ColumnAction::Null if !live.nullable => format!(
            "`{table}.{name}` is NOT NULL, so it cannot be set to null; use redact (a fixed text) or hash instead"
        ),
        ColumnAction::Null => return None,
        ColumnAction::Hash | ColumnAction::Redact if is_not_text(&live.sql_type) => format!(
            "`{table}.{name}` is `{}`, not text: {} writes text into it; use null, or leave the column out",
            live.sql_type,
            action.as_str()
        ),
        ColumnAction::Hash => match live.max_length {
            Some(max) if max < PSEUDONYM_CHARS => format!(
                "`{table}.{name}` holds at most {max} characters, and hash writes a {PSEUDONYM_CHARS}-character \
                 pseudonym; use redact (a text of at most {max} characters) or null"
            ),
            _ => return None,
        },
        ColumnAction::Redact => {
            let text = column.redact_with.as_deref().unwrap_or("[redacted]");
            let chars = u32::try_from(text.chars().count()).unwrap_or(u32::MAX);
            match live.max_length {
                Some(max) if max < chars => format!(
                    "`{table}.{name}` holds at most {max} characters, and the redaction text has {chars}; \
                     set a shorter redact_with, or use null"
                ),
                _ => return None,
            }
        }
    };
    Some(MapError::at(format!("{path}.action"), message))
}

/// A warning when `action` writes text into a column whose type the check does not know (a
/// user-defined type, a domain): the schema cannot tell whether it takes the text.
fn unknown_type(table: &str, column: &ColumnMap, action: ColumnAction, live: &ColumnSchema) -> Option<String> {
    let t = live.sql_type.trim();
    // PostgreSQL's own name for the type (`citext` is `user-defined` in the standard's words).
    let known = |t: &str| is_text(t) || is_not_text(t);
    if !matches!(action, ColumnAction::Hash | ColumnAction::Redact)
        || t.is_empty()
        || known(t)
        || live.cast_type.as_ref().is_some_and(|(_, name)| known(name))
    {
        return None;
    }
    Some(format!(
        "`{table}.{}` is `{t}`, a type the check does not know: make sure it takes the text {} writes",
        column.name,
        action.as_str()
    ))
}

/// Whether a declared type is certainly text.
fn is_text(sql_type: &str) -> bool {
    let t = sql_type.to_ascii_lowercase();
    ["char", "text", "clob", "string"].iter().any(|s| t.contains(s))
}

/// Whether a declared type is certainly not text (numbers, dates and times, booleans, binary,
/// UUIDs, JSON, MySQL's enums and sets). Unknown and empty types (SQLite allows any) are given the benefit of the doubt.
fn is_not_text(sql_type: &str) -> bool {
    let t = sql_type.to_ascii_lowercase();
    if is_text(&t) {
        return false;
    }
    [
        "int", "numeric", "decimal", "real", "double", "float", "bool", "date", "time", "uuid", "bytea", "blob",
        "binary", "json", "enum(", "set(", "inet", "cidr", "macaddr",
    ]
    .iter()
    .any(|s| t.contains(s))
}

fn describe(fk: &ForeignKey) -> String {
    match &fk.name {
        Some(name) => format!("foreign key {name}"),
        None => format!("a foreign key on `{}`", fk.columns.join("`, `")),
    }
}

#[cfg(test)]
mod tests;
