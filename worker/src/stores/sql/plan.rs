//! The erasure plan of one SQL store: which statements, on which rows, in which order.
//!
//! Rows are those located for the person. Tables mapped `update` or `keep` come first: their
//! column actions (`null`, `redact`, `hash`) may clear a foreign key that points at a row about
//! to be deleted (`orders.customer_id` before `customers`). Tables mapped `delete_row` follow,
//! children before parents: a table whose foreign key references another table being deleted
//! goes first. Where foreign keys form a cycle among deleted tables, the cycle is broken by
//! first setting the referencing column to NULL on the located rows (the database refuses if
//! the column is `NOT NULL`, and the task then fails with that reason).

use std::collections::{BTreeMap, BTreeSet};

use lethe_entities::datamap::{ColumnAction, DataMap, RowErasure};

use crate::stores::schema::Schema;

/// One column change of an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnChange {
    /// The column.
    pub column: String,
    /// `null`, `redact` or `hash`.
    pub action: ColumnAction,
    /// The replacement for `redact`.
    pub redact_with: String,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// `DELETE` the rows.
    Delete,
    /// `UPDATE` the rows' columns (`erasure: update`).
    Update(Vec<ColumnChange>),
    /// `UPDATE` the rows' columns and keep them under a legal obligation (`erasure: keep`).
    Pseudonymise {
        /// The columns.
        changes: Vec<ColumnChange>,
        /// The legal basis.
        basis: String,
        /// How long (ISO 8601 duration).
        period: String,
    },
    /// Set a foreign-key column to NULL to break a cycle before deleting.
    BreakCycle(String),
}

impl StepKind {
    /// The ledger action: `delete_row`, `update`, `pseudonymise` or `null`.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Delete => "delete_row",
            Self::Update(_) => "update",
            Self::Pseudonymise { .. } => "pseudonymise",
            Self::BreakCycle(_) => "null",
        }
    }
}

/// One statement group: a table, what to do, and the located rows' primary keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The table.
    pub table: String,
    /// Its primary-key columns.
    pub primary_key: Vec<String>,
    /// What to do.
    pub kind: StepKind,
    /// The rows: primary-key values in key order.
    pub rows: Vec<Vec<String>>,
}

/// Plans the erasure of `rows` (table -> primary keys) in a store mapped by `map`. Fails, naming
/// the tables and columns, when a kept or updated table references a table being deleted
/// through a foreign key the map does not set to NULL: the database would refuse the delete.
pub fn plan(map: &DataMap, schema: &Schema, rows: &BTreeMap<String, Vec<Vec<String>>>) -> Result<Vec<Step>, String> {
    let (updates, deleted) = updates_and_deletions(map, rows);
    check_kept_references(schema, &updates, &deleted)?;
    let (breaks, order) = deletion_order(map, schema, rows, &deleted);
    let deletes = order.into_iter().map(|t| {
        let table = map.table(t).expect("deleted tables are mapped");
        Step {
            table: t.to_owned(),
            primary_key: table.primary_key.clone(),
            kind: StepKind::Delete,
            rows: rows[t].clone(),
        }
    });
    Ok(updates.into_iter().chain(breaks).chain(deletes).collect())
}

/// The update (and pseudonymisation) steps of the located tables, and the tables whose located
/// rows are deleted.
fn updates_and_deletions<'m>(
    map: &'m DataMap,
    rows: &BTreeMap<String, Vec<Vec<String>>>,
) -> (Vec<Step>, BTreeSet<&'m str>) {
    let mut updates = Vec::new();
    let mut deleted: BTreeSet<&str> = BTreeSet::new();
    for table in &map.tables {
        let Some(located) = rows.get(&table.name).filter(|r| !r.is_empty()) else { continue };
        let changes = || -> Vec<ColumnChange> {
            table
                .columns
                .iter()
                .filter_map(|c| {
                    let action = c.action.filter(|a| *a != ColumnAction::Keep)?;
                    Some(ColumnChange {
                        column: c.name.clone(),
                        action,
                        redact_with: c.redact_with.clone().unwrap_or_else(|| "[redacted]".to_owned()),
                    })
                })
                .collect()
        };
        let step = |kind| Step {
            table: table.name.clone(),
            primary_key: table.primary_key.clone(),
            kind,
            rows: located.clone(),
        };
        match &table.erasure {
            RowErasure::DeleteRow => {
                deleted.insert(&table.name);
            }
            // Rows kept as they are (no column changes) need no statement: they are reported as
            // retained from the located counts.
            RowErasure::Update if !changes().is_empty() => updates.push(step(StepKind::Update(changes()))),
            RowErasure::Keep { basis, period } if !changes().is_empty() => updates.push(step(StepKind::Pseudonymise {
                changes: changes(),
                basis: basis.clone(),
                period: period.clone(),
            })),
            RowErasure::Update | RowErasure::Keep { .. } => {}
        }
    }
    (updates, deleted)
}

/// Refuses a plan whose kept or updated rows reference a deleted table through a foreign key
/// the map does not set to NULL (the database would refuse the delete).
fn check_kept_references(schema: &Schema, updates: &[Step], deleted: &BTreeSet<&str>) -> Result<(), String> {
    for step in updates {
        let nulled: BTreeSet<&str> = match &step.kind {
            StepKind::Update(changes) | StepKind::Pseudonymise { changes, .. } => {
                changes.iter().filter(|c| c.action == ColumnAction::Null).map(|c| c.column.as_str()).collect()
            }
            _ => BTreeSet::new(),
        };
        let fks = schema.tables.get(&step.table).map(|t| t.foreign_keys.as_slice()).unwrap_or_default();
        for fk in fks.iter().filter(|fk| deleted.contains(fk.target_table.as_str())) {
            if !fk.columns.iter().any(|c| nulled.contains(c.as_str())) {
                return Err(format!(
                    "`{}` keeps its rows but references `{}` (column {}), whose rows are deleted: map that column \
                     `action: \"null\"`, or delete or keep both tables",
                    step.table,
                    fk.target_table,
                    fk.columns.join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// The order in which the deleted tables go (a table before the tables it references) and the
/// steps that break reference cycles among them first (setting one table's foreign keys NULL).
fn deletion_order<'m>(
    map: &DataMap,
    schema: &Schema,
    rows: &BTreeMap<String, Vec<Vec<String>>>,
    deleted: &BTreeSet<&'m str>,
) -> (Vec<Step>, Vec<&'m str>) {
    // Among deleted tables: `a` must go before `b` when `a` references `b`.
    let references = |a: &str| -> BTreeSet<String> {
        schema
            .tables
            .get(a)
            .map(|t| {
                t.foreign_keys
                    .iter()
                    .filter(|fk| fk.target_table != a && deleted.contains(fk.target_table.as_str()))
                    .map(|fk| fk.target_table.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut remaining: BTreeSet<&str> = deleted.clone();
    let mut broken: BTreeSet<&str> = BTreeSet::new();
    let mut order: Vec<&str> = Vec::new();
    let mut breaks: Vec<Step> = Vec::new();
    while !remaining.is_empty() {
        // A table no remaining table still references can go now.
        let referenced = |t: &str| {
            remaining.iter().any(|other| *other != t && !broken.contains(other) && references(other).contains(t))
        };
        let free: Vec<&str> = remaining.iter().copied().filter(|t| !referenced(t)).collect();
        if !free.is_empty() {
            for t in &free {
                remaining.remove(t);
            }
            order.extend(free);
            continue;
        }
        // A cycle: clear the foreign keys by which one of its tables points at the others.
        let Some(victim) = remaining.iter().copied().find(|t| !broken.contains(t)) else { break };
        if let Some(live) = schema.tables.get(victim) {
            let table = map.table(victim).expect("deleted tables are mapped");
            for fk in live
                .foreign_keys
                .iter()
                .filter(|fk| fk.target_table != victim && remaining.contains(fk.target_table.as_str()))
            {
                for column in &fk.columns {
                    breaks.push(Step {
                        table: victim.to_owned(),
                        primary_key: table.primary_key.clone(),
                        kind: StepKind::BreakCycle(column.clone()),
                        rows: rows[victim].clone(),
                    });
                }
            }
        }
        broken.insert(victim);
    }
    (breaks, order)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stores::schema::{ForeignKey, TableSchema};
    use lethe_entities::datamap::parse::from_yaml;

    fn fk(target: &str, column: &str) -> ForeignKey {
        ForeignKey {
            columns: vec![column.into()],
            target_table: target.into(),
            target_columns: vec!["id".into()],
            ..Default::default()
        }
    }

    fn schema(tables: &[(&str, Vec<ForeignKey>)]) -> Schema {
        Schema {
            tables: tables
                .iter()
                .map(|(n, fks)| (n.to_string(), TableSchema { foreign_keys: fks.clone(), ..Default::default() }))
                .collect(),
        }
    }

    fn rows(tables: &[&str]) -> BTreeMap<String, Vec<Vec<String>>> {
        tables.iter().map(|t| (t.to_string(), vec![vec!["1".to_owned()]])).collect()
    }

    #[test]
    fn updates_first_then_children_before_parents() {
        let (map, _) = from_yaml(
            r#"
version: 1
tables:
  - { name: customers, primary_key: [id] }
  - { name: addresses, primary_key: [id] }
  - name: orders
    primary_key: [id]
    erasure: { action: keep, basis: "Tax law", period: P7Y }
    columns: [{ name: customer_id, action: "null" }, { name: note, action: keep }]
  - { name: order_items, primary_key: [order_id, line_no] }
  - { name: products, primary_key: [id] }
"#,
        )
        .unwrap();
        let schema = schema(&[
            ("customers", vec![fk("orders", "last_order_id")]),
            ("addresses", vec![fk("customers", "customer_id")]),
            ("orders", vec![fk("customers", "customer_id")]),
            ("order_items", vec![fk("orders", "order_id")]),
        ]);
        let steps = plan(&map, &schema, &rows(&["customers", "addresses", "orders", "order_items"])).unwrap();
        let order: Vec<(String, &str)> = steps.iter().map(|s| (s.table.clone(), s.kind.action())).collect();
        assert_eq!(
            order,
            [
                ("orders".into(), "pseudonymise"),
                ("addresses".into(), "delete_row"),
                ("order_items".into(), "delete_row"),
                ("customers".into(), "delete_row"),
            ]
        );
        let StepKind::Pseudonymise { changes, .. } = &steps[0].kind else { panic!() };
        assert_eq!(changes.len(), 1, "`keep` columns are not changed");
    }

    #[test]
    fn cycles_among_deleted_tables_are_broken_by_clearing_a_key() {
        let (map, _) =
            from_yaml("version: 1\ntables:\n  - { name: a, primary_key: [id] }\n  - { name: b, primary_key: [id] }\n")
                .unwrap();
        let schema = schema(&[("a", vec![fk("b", "b_id")]), ("b", vec![fk("a", "a_id")])]);
        let steps = plan(&map, &schema, &rows(&["a", "b"])).unwrap();
        let order: Vec<(String, &str)> = steps.iter().map(|s| (s.table.clone(), s.kind.action())).collect();
        assert_eq!(order, [("a".into(), "null"), ("b".into(), "delete_row"), ("a".into(), "delete_row")]);
    }

    #[test]
    fn tables_without_located_rows_get_no_step() {
        let (map, _) = from_yaml("version: 1\ntables:\n  - { name: a, primary_key: [id] }\n").unwrap();
        assert!(plan(&map, &Schema::default(), &BTreeMap::new()).unwrap().is_empty());
    }

    #[test]
    fn a_kept_table_that_would_block_a_delete_is_named() {
        let (map, _) = from_yaml(
            r#"
version: 1
tables:
  - { name: contacts, primary_key: [id] }
  - name: consents
    primary_key: [contact_id, purpose]
    erasure: { action: keep, basis: "proof", period: P3Y }
    columns: [{ name: note, action: redact }]
"#,
        )
        .unwrap();
        let schema = schema(&[("consents", vec![fk("contacts", "contact_id")])]);
        let error = plan(&map, &schema, &rows(&["contacts", "consents"])).unwrap_err();
        assert!(error.contains("`consents` keeps its rows but references `contacts` (column contact_id)"), "{error}");
    }
}
