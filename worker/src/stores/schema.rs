//! The live schema of a SQL store, as introspection reads it, and checking a data map against
//! it: a table or column named in a map that the store does not have is an error that lists
//! what does exist.

use std::collections::BTreeMap;

use lethe_entities::StoreKind;
use lethe_entities::datamap::graph::Graph;
use lethe_entities::datamap::{DataMap, Direction, MapError};

/// A store's tables by name (`table`, or `schema.table` outside the default schema).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    /// Tables and views.
    pub tables: BTreeMap<String, TableSchema>,
}

/// One table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableSchema {
    /// Columns in declaration order.
    pub columns: Vec<ColumnSchema>,
    /// Primary-key columns, in key order (empty for views and keyless tables).
    pub primary_key: Vec<String>,
    /// Foreign keys declared on this table.
    pub foreign_keys: Vec<ForeignKey>,
    /// The leading column of every index (with whether the index is on `lower(column)`).
    pub indexed: Vec<IndexedColumn>,
    /// The table's comment in the database (PostgreSQL `COMMENT ON TABLE`, MySQL
    /// `TABLE_COMMENT`), which discovery proposes as its label.
    pub comment: Option<String>,
}

impl TableSchema {
    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnSchema> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Whether an index starts with `column` (as `lower(column)` when `lowercase`). The
    /// primary key's first column always counts.
    pub fn has_index(&self, column: &str, lowercase: bool) -> bool {
        (!lowercase && self.primary_key.first().is_some_and(|c| c == column))
            || self.indexed.iter().any(|i| i.column == column && i.lowercase == lowercase)
    }
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSchema {
    /// Name.
    pub name: String,
    /// The declared type, lower-case (e.g. `character varying`, `bigint`, `varchar(255)`).
    pub sql_type: String,
    /// PostgreSQL: the type's schema and name, to cast bound values to (e.g. `pg_catalog`,
    /// `int8`). Other backends convert on their own.
    pub cast_type: Option<(String, String)>,
    /// MySQL: whether the column's collation ignores case (then no `LOWER()` is needed).
    pub case_insensitive: bool,
    /// Whether the column accepts NULL (`false` for `NOT NULL`).
    pub nullable: bool,
    /// The most characters a text column holds (`varchar(60)`: 60), where the type says.
    pub max_length: Option<u32>,
    /// The column's comment in the database, which discovery proposes as its label.
    pub comment: Option<String>,
}

impl ColumnSchema {
    /// A nullable column of `sql_type` without a length limit (tests and synthetic schemas).
    pub fn new(name: &str, sql_type: &str) -> Self {
        Self {
            name: name.to_owned(),
            sql_type: sql_type.to_owned(),
            cast_type: None,
            case_insensitive: false,
            nullable: true,
            max_length: None,
            comment: None,
        }
    }
}

/// A foreign key: `columns` of this table reference `target_columns` of `target_table`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ForeignKey {
    /// The constraint's name (SQLite's foreign keys have none).
    pub name: Option<String>,
    /// Referencing columns.
    pub columns: Vec<String>,
    /// Referenced table.
    pub target_table: String,
    /// Referenced columns.
    pub target_columns: Vec<String>,
    /// What the database does to the referencing rows when a referenced row is deleted.
    pub on_delete: OnDelete,
}

/// A foreign key's `ON DELETE` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnDelete {
    /// `NO ACTION` or `RESTRICT` (the default): the delete is refused while rows refer to it.
    #[default]
    Refuse,
    /// `CASCADE`: the referencing rows are deleted too.
    Cascade,
    /// `SET NULL` or `SET DEFAULT`: the referencing rows keep living without the reference.
    Detach,
}

impl OnDelete {
    /// Reads a rule as the catalogues spell it: `CASCADE`, `SET NULL`, `RESTRICT`, ... (SQL
    /// standard, MySQL, SQLite) or PostgreSQL's one-letter `confdeltype` (`c`, `n`, `d`, `r`, `a`).
    pub fn parse(rule: &str) -> Self {
        match rule.trim().to_ascii_uppercase().as_str() {
            "CASCADE" | "C" => Self::Cascade,
            "SET NULL" | "SET DEFAULT" | "N" | "D" => Self::Detach,
            _ => Self::Refuse,
        }
    }
}

/// The leading column of an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedColumn {
    /// The column.
    pub column: String,
    /// Whether the index is on `lower(column)`.
    pub lowercase: bool,
}

/// Checks every table and column `map` names (primary keys, columns, references within the
/// store) against `schema`. Errors list what exists.
pub fn check_map(map: &DataMap, schema: &Schema) -> Vec<MapError> {
    let mut errors = Vec::new();
    for (t, table) in map.tables.iter().enumerate() {
        let Some(live) = schema.tables.get(&table.name) else {
            errors.push(MapError::at(
                format!("tables[{t}].name"),
                format!("the store has no table `{}`; it has: {}", table.name, names(schema.tables.keys())),
            ));
            continue;
        };
        let mut check = |path: String, column: &str| {
            if live.column(column).is_none() {
                errors.push(MapError::at(
                    path,
                    format!(
                        "table `{}` has no column `{column}`; it has: {}",
                        table.name,
                        names(live.columns.iter().map(|c| &c.name))
                    ),
                ));
            }
        };
        for (i, column) in table.primary_key.iter().enumerate() {
            check(format!("tables[{t}].primary_key[{i}]"), column);
        }
        for (c, column) in table.columns.iter().enumerate() {
            check(format!("tables[{t}].columns[{c}].name"), &column.name);
        }
        for (r, reference) in table.references.iter().enumerate() {
            check(format!("tables[{t}].references[{r}].column"), &reference.column);
        }
        for (r, reference) in table.references.iter().enumerate() {
            if reference.target.store.is_some() {
                continue;
            }
            if let Some(target) = schema.tables.get(&reference.target.table)
                && target.column(&reference.target.column).is_none()
            {
                errors.push(MapError::at(
                    format!("tables[{t}].references[{r}].target.column"),
                    format!(
                        "table `{}` has no column `{}`; it has: {}",
                        reference.target.table,
                        reference.target.column,
                        names(target.columns.iter().map(|c| &c.name))
                    ),
                ));
            }
        }
    }
    errors
}

/// Identity and reference columns that locating looks rows up by but no index covers: each is
/// a full table scan per request. Returned as `table.column` (with `lower()` where the match
/// ignores case).
pub fn missing_indexes(map: &DataMap, schema: &Schema, lookups: &[(String, String, bool)]) -> Vec<String> {
    let mut missing = Vec::new();
    for (table, column, lowercase) in lookups {
        if map.table(table).is_none() {
            continue;
        }
        let Some(live) = schema.tables.get(table) else { continue };
        if !live.has_index(column, *lowercase) {
            missing.push(if *lowercase { format!("{table}: lower({column})") } else { format!("{table}: {column}") });
        }
    }
    missing.sort();
    missing.dedup();
    missing
}

fn names<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let all: Vec<&str> = names.map(String::as_str).collect();
    if all.is_empty() { "nothing".to_owned() } else { all.join(", ") }
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

#[cfg(test)]
mod tests {
    use super::*;
    use lethe_entities::datamap::parse::from_yaml;

    fn column(name: &str) -> ColumnSchema {
        ColumnSchema::new(name, "text")
    }

    #[test]
    fn unknown_tables_and_columns_list_what_exists() {
        let mut schema = Schema::default();
        schema.tables.insert(
            "customers".into(),
            TableSchema {
                columns: vec![column("id"), column("email")],
                primary_key: vec!["id".into()],
                ..Default::default()
            },
        );
        let (map, _) = from_yaml(
            r#"
version: 1
tables:
  - name: customers
    primary_key: [id]
    columns: [{ name: mail, identity: email }]
    references: [{ column: id, target: { table: customers, column: nope }, direction: none }]
  - name: clients
    primary_key: [id]
"#,
        )
        .unwrap();
        let errors = check_map(&map, &schema);
        let text: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.path, e.message)).collect();
        assert_eq!(
            text,
            [
                "tables[0].columns[0].name: table `customers` has no column `mail`; it has: id, email",
                "tables[0].references[0].target.column: table `customers` has no column `nope`; it has: id, email",
                "tables[1].name: the store has no table `clients`; it has: customers",
            ]
        );
        let lookups =
            vec![("customers".to_owned(), "email".to_owned(), true), ("customers".to_owned(), "id".to_owned(), false)];
        assert_eq!(missing_indexes(&map, &schema, &lookups), ["customers: lower(email)"]);
    }
}
