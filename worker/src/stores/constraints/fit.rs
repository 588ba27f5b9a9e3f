//! Choosing erasure actions that fit the live schema, for maps Lethe writes itself (a Fides
//! import gives every categorised field `null`, as Fides does): an action the database would
//! refuse is replaced by the first that fits, and every replacement is reported.
//!
//! * `null` on a `NOT NULL` column: `redact` (`[redacted]`) when the column holds text that
//!   long, otherwise the column is kept;
//! * `hash` into a column that is not text or shorter than the pseudonym: `redact`, then `null`,
//!   then keep;
//! * `redact` into a column that is not text or shorter than the text: `redact` with the default
//!   text, then `null`, then keep.
//!
//! A table left with nothing to change deletes its located rows instead (the save's check then
//! tells whether the database allows that). Tables locating never reaches are left alone.

use std::collections::BTreeSet;

use lethe_entities::datamap::{ColumnAction, ColumnMap, DataMap, RowErasure};

use super::column_action;
use crate::stores::schema::{ColumnSchema, Schema};

/// The text `redact` writes when a map names none.
const DEFAULT_REDACTION: &str = "[redacted]";

/// Replaces the actions of `map` the columns of `schema` cannot take (see the module's rules),
/// leaving out the tables in `unreachable`. Returns one line per change, `table.column: ...`.
pub fn fit_actions(map: &mut DataMap, schema: &Schema, unreachable: &BTreeSet<String>) -> Vec<String> {
    let mut changes = Vec::new();
    for table in &mut map.tables {
        if unreachable.contains(&table.name) || table.erasure != RowErasure::Update {
            continue;
        }
        let Some(live) = schema.tables.get(&table.name) else { continue };
        for column in &mut table.columns {
            let Some(live_column) = live.column(&column.name) else { continue };
            if let Some(change) = fit_column(&table.name, column, live_column) {
                changes.push(change);
            }
        }
        if !table.columns.iter().any(|c| c.action.is_some_and(|a| a != ColumnAction::Keep)) {
            table.erasure = RowErasure::DeleteRow;
            for column in &mut table.columns {
                column.action = None;
                column.redact_with = None;
            }
            changes.push(format!(
                "{}: no column can be cleared in place, so erasure deletes its located rows; review its `erasure`",
                table.name
            ));
        }
    }
    changes
}

/// Fits one column's action; returns what was changed, if anything.
fn fit_column(table: &str, column: &mut ColumnMap, live: &ColumnSchema) -> Option<String> {
    let action = column.action?;
    column_action(table, column, action, live, String::new())?;
    let requested = match action {
        ColumnAction::Redact => format!("redact with {} characters", text_of(column).chars().count()),
        other => other.as_str().to_owned(),
    };
    let reason = reason(live);
    let mut candidates = Vec::new();
    if action != ColumnAction::Redact || column.redact_with.is_some() {
        candidates.push(ColumnAction::Redact);
    }
    if action != ColumnAction::Null {
        candidates.push(ColumnAction::Null);
    }
    for candidate in candidates {
        let trial = ColumnMap { action: Some(candidate), redact_with: None, ..column.clone() };
        if column_action(table, &trial, candidate, live, String::new()).is_none() {
            column.action = Some(candidate);
            column.redact_with = None;
            let chosen = match candidate {
                ColumnAction::Redact => format!("redact (`{DEFAULT_REDACTION}`)"),
                other => other.as_str().to_owned(),
            };
            return Some(format!(
                "{table}.{}: {reason}, so {requested} would be refused; {chosen} instead",
                column.name
            ));
        }
    }
    column.action = Some(ColumnAction::Keep);
    column.redact_with = None;
    Some(format!(
        "{table}.{}: {reason}, so no action can clear it ({requested} would be refused); it is kept as it is — \
         delete the rows if it identifies the person",
        column.name
    ))
}

/// The text a `redact` column writes.
fn text_of(column: &ColumnMap) -> &str {
    column.redact_with.as_deref().unwrap_or(DEFAULT_REDACTION)
}

/// What the column is, in words.
fn reason(live: &ColumnSchema) -> String {
    let null = if live.nullable { "" } else { "NOT NULL " };
    match live.max_length {
        Some(max) => format!("`{}` is {null}{} (at most {max} characters)", live.name, live.sql_type),
        None => format!("`{}` is {null}{}", live.name, live.sql_type),
    }
}

#[cfg(test)]
mod tests {
    use lethe_entities::datamap::parse::from_yaml;

    use super::*;
    use crate::stores::schema::TableSchema;

    fn column(name: &str, sql_type: &str, nullable: bool, max_length: Option<u32>) -> ColumnSchema {
        ColumnSchema { nullable, max_length, ..ColumnSchema::new(name, sql_type) }
    }

    #[test]
    fn refused_actions_are_replaced_by_the_first_that_fits() {
        let mut schema = Schema::default();
        let columns = vec![
            column("id", "bigint", false, None),
            column("email", "text", false, None),
            column("phone", "text", true, None),
            column("code", "varchar(8)", true, Some(8)),
            column("ip", "inet", false, None),
            column("nick", "varchar(5)", false, Some(5)),
        ];
        schema
            .tables
            .insert("people".into(), TableSchema { columns, primary_key: vec!["id".into()], ..Default::default() });
        let logins = vec![column("id", "bigint", false, None), column("ip", "inet", false, None)];
        schema.tables.insert(
            "logins".into(),
            TableSchema { columns: logins, primary_key: vec!["id".into()], ..Default::default() },
        );
        let (mut map, _) = from_yaml(
            r#"
version: 1
tables:
  - name: people
    primary_key: [id]
    columns:
      - { name: email, identity: email, action: "null" }
      - { name: phone, action: "null" }
      - { name: code, action: hash }
      - { name: ip, action: "null" }
      - { name: nick, action: redact }
    erasure: { action: update }
  - name: logins
    primary_key: [id]
    columns: [{ name: ip, action: "null" }]
    references: [{ column: id, target: { table: people, column: id }, direction: from }]
    erasure: { action: update }
"#,
        )
        .unwrap();
        let changes = fit_actions(&mut map, &schema, &BTreeSet::new());
        let actions: Vec<Option<ColumnAction>> = map.tables[0].columns.iter().map(|c| c.action).collect();
        use ColumnAction::*;
        assert_eq!(actions, [Some(Redact), Some(Null), Some(Null), Some(Keep), Some(Keep)]);
        assert_eq!(map.tables[1].erasure, RowErasure::DeleteRow);
        assert_eq!(map.tables[1].columns[0].action, None);
        assert_eq!(
            changes,
            [
                "people.email: `email` is NOT NULL text, so null would be refused; redact (`[redacted]`) instead",
                "people.code: `code` is varchar(8) (at most 8 characters), so hash would be refused; null instead",
                "people.ip: `ip` is NOT NULL inet, so no action can clear it (null would be refused); it is kept as it is \
                 — delete the rows if it identifies the person",
                "people.nick: `nick` is NOT NULL varchar(5) (at most 5 characters), so no action can clear it (redact with \
                 10 characters would be refused); it is kept as it is — delete the rows if it identifies the person",
                "logins.ip: `ip` is NOT NULL inet, so no action can clear it (null would be refused); it is kept as it is \
                 — delete the rows if it identifies the person",
                "logins: no column can be cleared in place, so erasure deletes its located rows; review its `erasure`",
            ]
        );
    }
}
