//! Reading a SQL store's schema: tables, columns and their types, primary keys, foreign keys
//! and the leading column of each index (`pg_catalog`/`information_schema` on PostgreSQL,
//! `information_schema` on MySQL/MariaDB, `sqlite_master` and pragmas on SQLite).

use std::collections::BTreeMap;

use lethe_entities::StoreKind;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QueryResult, Statement};

use crate::ledger::receipts;
use crate::stores::schema::{ColumnSchema, ForeignKey, IndexedColumn, OnDelete, Schema, TableSchema};

/// Reads the schema of the store behind `db`.
pub async fn read(db: &DatabaseConnection, kind: StoreKind) -> Result<Schema, DbErr> {
    let mut schema = match kind {
        StoreKind::Postgres => postgres(db).await?,
        StoreKind::Mysql => mysql(db).await?,
        _ => sqlite(db).await?,
    };
    // Lethe's own bookkeeping in the store is not the customer's data.
    schema.tables.remove(receipts::TABLE);
    Ok(schema)
}

fn get(row: &QueryResult, column: &str) -> Result<String, DbErr> {
    row.try_get::<Option<String>>("", column).map(Option::unwrap_or_default)
}

/// The catalogue's character length of a column (`len`), where it has one.
fn length(row: &QueryResult) -> Result<Option<u32>, DbErr> {
    Ok(row.try_get::<Option<i64>>("", "len")?.and_then(|n| u32::try_from(n).ok()))
}

/// The length a declared type names (`varchar(60)`, `character(20)`, `nvarchar(40)`): SQLite
/// keeps the declaration as written and does not enforce it, but the map must work in any
/// database the same schema is deployed to.
fn declared_length(sql_type: &str) -> Option<u32> {
    if !sql_type.contains("char") {
        return None;
    }
    let (_, rest) = sql_type.split_once('(')?;
    rest.split([')', ',']).next()?.trim().parse().ok()
}

async fn all(
    db: &DatabaseConnection,
    backend: DbBackend,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Vec<QueryResult>, DbErr> {
    db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await
}

async fn postgres(db: &DatabaseConnection) -> Result<Schema, DbErr> {
    const PG: DbBackend = DbBackend::Postgres;
    let default = all(db, PG, "SELECT current_schema() AS s", vec![]).await?;
    let default = default.first().map(|r| get(r, "s")).transpose()?.unwrap_or_else(|| "public".into());
    let mut schema = Schema::default();
    for row in all(
        db,
        PG,
        "SELECT c.table_schema::text AS s, c.table_name::text AS t, c.column_name::text AS c, c.data_type::text AS ty, \
                c.udt_schema::text AS us, c.udt_name::text AS un, c.is_nullable::text AS nl, \
                c.character_maximum_length::int8 AS len \
         FROM information_schema.columns c \
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema') AND c.table_schema NOT LIKE 'pg_%' \
           AND t.table_type IN ('BASE TABLE', 'VIEW') \
         ORDER BY c.table_schema, c.table_name, c.ordinal_position",
        vec![],
    )
    .await?
    {
        let table = qualified(&get(&row, "s")?, &get(&row, "t")?, &default);
        schema.tables.entry(table).or_default().columns.push(ColumnSchema {
            name: get(&row, "c")?,
            sql_type: get(&row, "ty")?.to_lowercase(),
            cast_type: Some((get(&row, "us")?, get(&row, "un")?)),
            case_insensitive: false,
            nullable: get(&row, "nl")? != "NO",
            max_length: length(&row)?,
            comment: None,
        });
    }
    constraints(db, &mut schema, &default).await?;
    postgres_comments(db, &mut schema, &default).await?;
    for row in all(
        db,
        PG,
        "SELECT n.nspname::text AS s, t.relname::text AS t, pg_get_indexdef(i.indexrelid, 1, true) AS k \
         FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')",
        vec![],
    )
    .await?
    {
        let table = qualified(&get(&row, "s")?, &get(&row, "t")?, &default);
        if let (Some(entry), Some(indexed)) = (schema.tables.get_mut(&table), leading_key(&get(&row, "k")?)) {
            entry.indexed.push(indexed);
        }
    }
    Ok(schema)
}

/// PostgreSQL's comments on tables and columns (`COMMENT ON`).
async fn postgres_comments(db: &DatabaseConnection, schema: &mut Schema, default: &str) -> Result<(), DbErr> {
    for row in all(
        db,
        DbBackend::Postgres,
        "SELECT n.nspname::text AS s, cl.relname::text AS t, COALESCE(a.attname::text, '') AS c, d.description AS d          FROM pg_description d JOIN pg_class cl ON cl.oid = d.objoid JOIN pg_namespace n ON n.oid = cl.relnamespace          LEFT JOIN pg_attribute a ON a.attrelid = cl.oid AND a.attnum = d.objsubid AND d.objsubid > 0          WHERE d.classoid = 'pg_catalog.pg_class'::regclass AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
        vec![],
    )
    .await?
    {
        let table = qualified(&get(&row, "s")?, &get(&row, "t")?, default);
        let (column, text) = (get(&row, "c")?, get(&row, "d")?);
        set_comment(schema, &table, &column, text);
    }
    Ok(())
}

/// Sets the comment of `table` (`column` empty) or of its `column`, when the text has words.
fn set_comment(schema: &mut Schema, table: &str, column: &str, text: String) {
    let Some(entry) = schema.tables.get_mut(table) else { return };
    let text = Some(text).filter(|t| !t.trim().is_empty());
    if column.is_empty() {
        entry.comment = text;
    } else if let Some(c) = entry.columns.iter_mut().find(|c| c.name == column) {
        c.comment = text;
    }
}

/// PostgreSQL's primary and foreign keys (with their names and `ON DELETE` rules).
async fn constraints(db: &DatabaseConnection, schema: &mut Schema, default: &str) -> Result<(), DbErr> {
    const PG: DbBackend = DbBackend::Postgres;
    for row in all(
        db,
        PG,
        "SELECT n.nspname::text AS s, cl.relname::text AS t, con.contype::text AS kind, con.conname::text AS n, \
                con.confdeltype::text AS del, \
                array_to_json(ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o) \
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o))::text AS cols, \
                fn.nspname::text AS fs, fcl.relname::text AS ft, \
                array_to_json(ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o) \
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o))::text AS fcols \
         FROM pg_constraint con \
         JOIN pg_class cl ON cl.oid = con.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace \
         LEFT JOIN pg_class fcl ON fcl.oid = con.confrelid LEFT JOIN pg_namespace fn ON fn.oid = fcl.relnamespace \
         WHERE con.contype IN ('p', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
         ORDER BY n.nspname, cl.relname, con.conname",
        vec![],
    )
    .await?
    {
        let table = qualified(&get(&row, "s")?, &get(&row, "t")?, default);
        let Some(entry) = schema.tables.get_mut(&table) else { continue };
        let columns: Vec<String> = serde_json::from_str(&get(&row, "cols")?).unwrap_or_default();
        if get(&row, "kind")? == "p" {
            entry.primary_key = columns;
        } else {
            entry.foreign_keys.push(ForeignKey {
                name: Some(get(&row, "n")?),
                columns,
                target_table: qualified(&get(&row, "fs")?, &get(&row, "ft")?, default),
                target_columns: serde_json::from_str(&get(&row, "fcols")?).unwrap_or_default(),
                on_delete: OnDelete::parse(&get(&row, "del")?),
            });
        }
    }
    Ok(())
}

/// `table`, or `schema.table` outside the `default` schema.
fn qualified(schema: &str, table: &str, default: &str) -> String {
    if schema == default { table.to_owned() } else { format!("{schema}.{table}") }
}

/// Parses PostgreSQL's rendering of an index's first key: `email`, `"Email"`,
/// `lower(email)`, `lower((email)::text)`.
fn leading_key(key: &str) -> Option<IndexedColumn> {
    let key = key.trim();
    let (inner, lowercase) = match key.strip_prefix("lower(").and_then(|k| k.strip_suffix(')')) {
        Some(inner) => (inner, true),
        None => (key, false),
    };
    let inner = inner.split("::").next()?.trim().trim_start_matches('(').trim_end_matches(')');
    let column =
        inner.strip_prefix('"').and_then(|c| c.strip_suffix('"')).map_or(inner.to_owned(), |c| c.replace("\"\"", "\""));
    if column.is_empty() || (!lowercase && column.contains('(')) {
        return None;
    }
    Some(IndexedColumn { column, lowercase })
}

async fn mysql(db: &DatabaseConnection) -> Result<Schema, DbErr> {
    const MY: DbBackend = DbBackend::MySql;
    let mut schema = Schema::default();
    for row in all(
        db,
        MY,
        "SELECT CAST(TABLE_NAME AS CHAR) AS t, CAST(COLUMN_NAME AS CHAR) AS c, CAST(COLUMN_TYPE AS CHAR) AS ty, \
                CAST(COALESCE(COLLATION_NAME, '') AS CHAR) AS coll, CAST(IS_NULLABLE AS CHAR) AS nl, \
                CAST(CHARACTER_MAXIMUM_LENGTH AS SIGNED) AS len, CAST(COLUMN_COMMENT AS CHAR) AS cm \
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION",
        vec![],
    )
    .await?
    {
        schema.tables.entry(get(&row, "t")?).or_default().columns.push(ColumnSchema {
            name: get(&row, "c")?,
            sql_type: get(&row, "ty")?.to_lowercase(),
            cast_type: None,
            case_insensitive: get(&row, "coll")?.ends_with("_ci"),
            nullable: get(&row, "nl")? != "NO",
            max_length: length(&row)?,
            comment: Some(get(&row, "cm")?).filter(|c| !c.trim().is_empty()),
        });
    }
    keys(db, &mut schema).await?;
    for row in all(
        db,
        MY,
        "SELECT CAST(TABLE_NAME AS CHAR) AS t, CAST(TABLE_COMMENT AS CHAR) AS cm FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' AND TABLE_COMMENT <> ''",
        vec![],
    )
    .await?
    {
        set_comment(&mut schema, &get(&row, "t")?, "", get(&row, "cm")?);
    }
    for row in all(
        db,
        MY,
        "SELECT CAST(TABLE_NAME AS CHAR) AS t, CAST(COLUMN_NAME AS CHAR) AS c FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = DATABASE() AND SEQ_IN_INDEX = 1 AND COLUMN_NAME IS NOT NULL",
        vec![],
    )
    .await?
    {
        if let Some(entry) = schema.tables.get_mut(&get(&row, "t")?) {
            let column = get(&row, "c")?;
            // A case-insensitive collation makes a plain index serve case-insensitive lookups.
            let ci = entry.column(&column).is_some_and(|c| c.case_insensitive);
            entry.indexed.push(IndexedColumn { column: column.clone(), lowercase: false });
            if ci {
                entry.indexed.push(IndexedColumn { column, lowercase: true });
            }
        }
    }
    Ok(schema)
}

/// MySQL's primary keys and foreign keys (with their names and `ON DELETE` rules).
async fn keys(db: &DatabaseConnection, schema: &mut Schema) -> Result<(), DbErr> {
    const MY: DbBackend = DbBackend::MySql;
    let mut foreign: BTreeMap<(String, String), ForeignKey> = BTreeMap::new();
    for row in all(
        db,
        MY,
        "SELECT CAST(TABLE_NAME AS CHAR) AS t, CAST(COLUMN_NAME AS CHAR) AS c, CAST(CONSTRAINT_NAME AS CHAR) AS n, \
                CAST(COALESCE(REFERENCED_TABLE_NAME, '') AS CHAR) AS ft, CAST(COALESCE(REFERENCED_COLUMN_NAME, '') AS CHAR) AS fc \
         FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE() \
         ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
        vec![],
    )
    .await?
    {
        let (table, constraint, target) = (get(&row, "t")?, get(&row, "n")?, get(&row, "ft")?);
        let Some(entry) = schema.tables.get_mut(&table) else { continue };
        if constraint == "PRIMARY" {
            entry.primary_key.push(get(&row, "c")?);
        } else if !target.is_empty() {
            let fk = foreign.entry((table, constraint.clone())).or_insert_with(|| ForeignKey {
                name: Some(constraint),
                target_table: target,
                ..Default::default()
            });
            fk.columns.push(get(&row, "c")?);
            fk.target_columns.push(get(&row, "fc")?);
        }
    }
    for row in all(
        db,
        MY,
        "SELECT CAST(TABLE_NAME AS CHAR) AS t, CAST(CONSTRAINT_NAME AS CHAR) AS n, CAST(DELETE_RULE AS CHAR) AS del \
         FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()",
        vec![],
    )
    .await?
    {
        if let Some(fk) = foreign.get_mut(&(get(&row, "t")?, get(&row, "n")?)) {
            fk.on_delete = OnDelete::parse(&get(&row, "del")?);
        }
    }
    for ((table, _), fk) in foreign {
        if let Some(entry) = schema.tables.get_mut(&table) {
            entry.foreign_keys.push(fk);
        }
    }
    Ok(())
}

async fn sqlite(db: &DatabaseConnection) -> Result<Schema, DbErr> {
    const LITE: DbBackend = DbBackend::Sqlite;
    let mut schema = Schema::default();
    let tables = all(
        db,
        LITE,
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name",
        vec![],
    )
    .await?;
    for row in tables {
        let table = get(&row, "name")?;
        let mut entry = TableSchema::default();
        let mut pk: Vec<(i64, String)> = Vec::new();
        for col in all(
            db,
            LITE,
            "SELECT name, type, pk, \"notnull\" AS nn FROM pragma_table_info(?)",
            vec![table.clone().into()],
        )
        .await?
        {
            let name = get(&col, "name")?;
            let position: i64 = col.try_get("", "pk")?;
            if position > 0 {
                pk.push((position, name.clone()));
            }
            let sql_type = get(&col, "type")?.to_lowercase();
            let not_null: i64 = col.try_get("", "nn")?;
            entry.columns.push(ColumnSchema {
                name,
                max_length: declared_length(&sql_type),
                sql_type,
                cast_type: None,
                case_insensitive: false,
                nullable: not_null == 0,
                comment: None,
            });
        }
        pk.sort();
        entry.primary_key = pk.into_iter().map(|(_, n)| n).collect();
        let mut foreign: BTreeMap<i64, ForeignKey> = BTreeMap::new();
        for fk in all(
            db,
            LITE,
            "SELECT id, \"table\" AS t, \"from\" AS f, \"to\" AS c, on_delete AS del \
             FROM pragma_foreign_key_list(?) ORDER BY id, seq",
            vec![table.clone().into()],
        )
        .await?
        {
            let id: i64 = fk.try_get("", "id")?;
            let entry = foreign.entry(id).or_default();
            entry.target_table = get(&fk, "t")?;
            entry.on_delete = OnDelete::parse(&get(&fk, "del")?);
            entry.columns.push(get(&fk, "f")?);
            entry.target_columns.push(get(&fk, "c")?);
        }
        entry.foreign_keys = foreign.into_values().collect();
        for index in all(
            db,
            LITE,
            "SELECT ii.name AS c FROM pragma_index_list(?) il JOIN pragma_index_info(il.name) ii WHERE ii.seqno = 0",
            vec![table.clone().into()],
        )
        .await?
        {
            let column = get(&index, "c")?;
            if !column.is_empty() {
                entry.indexed.push(IndexedColumn { column, lowercase: false });
            }
        }
        schema.tables.insert(table, entry);
    }
    Ok(schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_index_keys() {
        let key = |c: &str, l: bool| Some(IndexedColumn { column: c.into(), lowercase: l });
        assert_eq!(leading_key("email"), key("email", false));
        assert_eq!(leading_key("\"Email\""), key("Email", false));
        assert_eq!(leading_key("lower(email)"), key("email", true));
        assert_eq!(leading_key("lower((email)::text)"), key("email", true));
        assert_eq!(leading_key("date_trunc('day'::text, at)"), None);
    }

    #[test]
    fn sqlite_declared_lengths() {
        assert_eq!(declared_length("varchar(60)"), Some(60));
        assert_eq!(declared_length("nvarchar( 40 )"), Some(40));
        assert_eq!(declared_length("character(20)"), Some(20));
        assert_eq!(declared_length("text"), None);
        assert_eq!(declared_length("numeric(10,2)"), None);
    }
}
