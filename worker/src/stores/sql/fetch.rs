//! The one query locating issues against a SQL table: rows whose `column` is in a batch of
//! values, `WHERE column IN (...)` (chunked), selected columns read as text and streamed, so a
//! person with a million rows never sits in memory at once.
//!
//! Statements are built with sea-query: table and column names are quoted identifiers and
//! values are bound parameters. On PostgreSQL each bound value is cast to the column's own type
//! (`CAST($1 AS "pg_catalog"."int8")`), so the comparison is the column's and its index is used.

use futures::TryStreamExt;
use lethe_entities::StoreKind;
use sea_orm::StreamTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, IntoTableRef, Query, SelectStatement, TableRef};

use super::{SqlStore, classify};
use crate::stores::StoreError;
use crate::stores::schema::TableSchema;

/// Values per statement: well under every backend's parameter limit.
pub const CHUNK: usize = 500;

/// Rows of `table` whose `column` holds one of `values`.
#[derive(Debug, Clone, Copy)]
pub struct Lookup<'a> {
    /// The table (`schema.table` outside the default schema).
    pub table: &'a str,
    /// Its live schema.
    pub schema: &'a TableSchema,
    /// The column compared.
    pub column: &'a str,
    /// Compare ignoring case (`LOWER(column)`; values are lower-cased).
    pub ignore_case: bool,
    /// The values (personal data: never logged).
    pub values: &'a [String],
}

/// A table name as a sea-query table reference (`schema.table` → schema-qualified).
pub fn table_ref(name: &str) -> TableRef {
    match name.split_once('.') {
        Some((schema, table)) => (Alias::new(schema), Alias::new(table)).into_table_ref(),
        None => Alias::new(name).into_table_ref(),
    }
}

/// `column` read as text on this backend.
pub fn as_text(kind: StoreKind, column: &str) -> Expr {
    let column = Expr::col(Alias::new(column));
    // Fixed type names: `cast_as` writes them verbatim.
    Func::cast_as(column, Alias::new(if kind == StoreKind::Mysql { "CHAR" } else { "TEXT" })).into()
}

/// A bound value compared with `column`: cast to the column's type on PostgreSQL.
pub fn bind(schema: &TableSchema, column: &str, value: &str) -> Expr {
    match schema.column(column).and_then(|c| c.cast_type.as_ref()) {
        Some((type_schema, type_name)) => {
            Func::cast_as_quoted(Expr::val(value), (Alias::new(type_schema), Alias::new(type_name))).into()
        }
        None => Expr::val(value),
    }
}

/// Builds the statement for one chunk of values.
pub fn statement(kind: StoreKind, lookup: &Lookup<'_>, select: &[String], chunk: &[String]) -> SelectStatement {
    let mut query = Query::select();
    for (i, column) in select.iter().enumerate() {
        query.expr_as(as_text(kind, column), Alias::new(format!("c{i}")));
    }
    query.from(table_ref(lookup.table));
    let native_ci = lookup.schema.column(lookup.column).is_some_and(|c| c.case_insensitive);
    let compared: Expr = if lookup.ignore_case && !native_ci {
        Func::lower(Expr::col(Alias::new(lookup.column))).into()
    } else {
        Expr::col(Alias::new(lookup.column))
    };
    let values = chunk.iter().map(|v| {
        if lookup.ignore_case {
            bind(lookup.schema, lookup.column, &v.to_lowercase())
        } else {
            bind(lookup.schema, lookup.column, v)
        }
    });
    query.and_where(compared.is_in(values));
    query
}

impl SqlStore {
    /// Streams the rows matching `lookup`, `select` columns as text (NULL as `None`), into
    /// `on_row`. Returns the number of statements issued.
    pub async fn fetch(
        &self,
        lookup: Lookup<'_>,
        select: &[String],
        mut on_row: impl FnMut(Vec<Option<String>>),
    ) -> Result<usize, StoreError> {
        let mut statements = 0;
        for chunk in lookup.values.chunks(CHUNK) {
            let query = statement(self.kind, &lookup, select, chunk);
            statements += 1;
            let mut rows = self.db.stream(&query).await.map_err(classify)?;
            while let Some(row) = rows.try_next().await.map_err(classify)? {
                let mut values = Vec::with_capacity(select.len());
                for i in 0..select.len() {
                    values.push(row.try_get_by_index::<Option<String>>(i).map_err(classify)?);
                }
                on_row(values);
            }
        }
        Ok(statements)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stores::schema::ColumnSchema;
    use sea_orm::sea_query::{MysqlQueryBuilder, PostgresQueryBuilder, SqliteQueryBuilder};

    fn schema() -> TableSchema {
        TableSchema {
            columns: vec![
                ColumnSchema {
                    cast_type: Some(("pg_catalog".into(), "int8".into())),
                    ..ColumnSchema::new("id", "bigint")
                },
                ColumnSchema {
                    cast_type: Some(("pg_catalog".into(), "text".into())),
                    ..ColumnSchema::new("e\"mail", "text")
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn identifiers_are_quoted_and_values_bound() {
        let schema = schema();
        let values = vec!["Ann@Example.com".to_owned()];
        let lookup =
            Lookup { table: "crm.people", schema: &schema, column: "e\"mail", ignore_case: true, values: &values };
        let (sql, params) =
            statement(StoreKind::Postgres, &lookup, &["id".into()], &values).build(PostgresQueryBuilder);
        assert_eq!(
            sql,
            r#"SELECT CAST("id" AS TEXT) AS "c0" FROM "crm"."people" WHERE LOWER("e""mail") IN (CAST($1 AS "pg_catalog"."text"))"#
        );
        assert_eq!(params.0.len(), 1);
        assert!(!sql.contains("example"));
        let lookup = Lookup { table: "orders", schema: &schema, column: "id", ignore_case: false, values: &values };
        let (sql, _) = statement(StoreKind::Mysql, &lookup, &["id".into()], &values).build(MysqlQueryBuilder);
        assert_eq!(
            sql,
            "SELECT CAST(`id` AS CHAR) AS `c0` FROM `orders` WHERE `id` IN (CAST(? AS `pg_catalog`.`int8`))"
        );
        let (sql, _) = statement(StoreKind::Sqlite, &lookup, &["id".into()], &values).build(SqliteQueryBuilder);
        assert!(sql.starts_with(r#"SELECT CAST("id" AS TEXT) AS "c0" FROM "orders" WHERE "id" IN ("#), "{sql}");
    }
}
