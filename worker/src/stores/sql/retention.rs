//! Retention in a SQL store: the condition that selects rows past their age, the preview, and
//! one batch (its keys by keyset pagination on the primary key, and the store transaction that
//! deletes or anonymises them).
//!
//! Statements are built with sea-query (quoted identifiers, bound values; on PostgreSQL values
//! are cast to the column's type so its index is used). The age column is compared with the
//! run's cutoff: a timestamp column with the cutoff as a timestamp (PostgreSQL), or as UTC text
//! `YYYY-MM-DD HH:MM:SS` (MySQL/MariaDB, SQLite); an integer column as Unix seconds.

use futures::FutureExt;
use lethe_entities::Keyring;
use lethe_entities::StoreKind;
use lethe_entities::datamap::ColumnAction;
use lethe_entities::entity::retention_policy::Model as Policy;
use lethe_entities::retention::{Filter, FilterOp, PolicyAction};
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, Func, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr};
use time::OffsetDateTime;
use uuid::Uuid;

use super::erase::{by_key, update};
use super::fetch::{as_text, bind, table_ref};
use super::plan::{ColumnChange, Step, StepKind};
use super::{SqlStore, classify};
use crate::ledger::external::Work;
use crate::ledger::receipts;
use crate::retention::held::Held;
use crate::retention::preview_types::{Preview, SAMPLE};
use crate::stores::StoreError;
use crate::stores::schema::TableSchema;

/// Bound key values per statement inside a batch (under every backend's parameter limit:
/// 32,766 on SQLite, 65,535 on PostgreSQL and MySQL).
const VALUES_PER_STATEMENT: usize = 30_000;

/// What selects a policy's rows in one table.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The store's kind.
    pub kind: StoreKind,
    /// The table.
    pub table: &'a str,
    /// Its live schema.
    pub live: &'a TableSchema,
    /// The column dating each row.
    pub age_column: &'a str,
    /// Further conditions.
    pub filters: &'a [Filter],
    /// What is done to the rows.
    pub action: &'a PolicyAction,
    /// Rows legal holds keep (held subjects' identity values and located primary keys).
    pub held: &'a Held,
    /// Filters of other policies that govern some of these rows (see [`crate::retention::overlap`]):
    /// rows matching one of them are left alone.
    pub yield_to: &'a [Vec<Filter>],
}

impl Target<'_> {
    /// Rows past the age that the policy still has work on: dated before `cutoff`, meeting
    /// every filter condition, and (for an anonymisation that only clears columns) with a
    /// column left to clear.
    pub fn condition(&self, cutoff: OffsetDateTime) -> Condition {
        let mut all = Condition::all().add(Expr::col(Alias::new(self.age_column)).lt(self.cutoff_value(cutoff)));
        for f in self.filters {
            all = all.add(self.filter_expr(f));
        }
        for other in self.yield_to {
            all = all.add(match other.as_slice() {
                // Another policy governs every row.
                [] => Condition::all().add(Expr::val(1).eq(0)),
                filters => filters.iter().fold(Condition::all(), |c, f| c.add(self.filter_expr(f))).not(),
            });
        }
        for held in &self.held.columns {
            let native_ci = self.live.column(&held.column).is_some_and(|c| c.case_insensitive);
            let compared: Expr = if held.ignore_case && !native_ci {
                Func::lower(Expr::col(Alias::new(&held.column))).into()
            } else {
                Expr::col(Alias::new(&held.column))
            };
            let values = held.values.iter().map(|v| bind(self.live, &held.column, v));
            all = all.add(
                Condition::any().add(Expr::col(Alias::new(&held.column)).is_null()).add(compared.is_not_in(values)),
            );
        }
        let pk = &self.live.primary_key;
        for chunk in self.held.keys.chunks((VALUES_PER_STATEMENT / pk.len().max(1)).max(1)) {
            let keys = match pg_any(self.live, pk, chunk) {
                Some(any) => Condition::all().add(any),
                None => by_key(self.live, pk, chunk),
            };
            all = all.add(keys.not());
        }
        if let PolicyAction::Anonymise { columns } = self.action
            && columns.iter().all(|c| c.action == ColumnAction::Null)
        {
            all = all.add(
                columns.iter().fold(Condition::any(), |any, c| any.add(Expr::col(Alias::new(&c.name)).is_not_null())),
            );
        }
        all
    }

    fn filter_expr(&self, f: &Filter) -> Expr {
        let column = Expr::col(Alias::new(&f.column));
        let value = || bind(self.live, &f.column, f.value.as_deref().unwrap_or_default());
        match f.op {
            FilterOp::Eq => column.eq(value()),
            FilterOp::Ne => column.ne(value()),
            FilterOp::Lt => column.lt(value()),
            FilterOp::Lte => column.lte(value()),
            FilterOp::Gt => column.gt(value()),
            FilterOp::Gte => column.gte(value()),
            FilterOp::IsNull => column.is_null(),
            FilterOp::IsNotNull => column.is_not_null(),
        }
    }

    fn is_epoch(&self) -> bool {
        self.live.column(self.age_column).is_some_and(|c| c.sql_type.contains("int"))
    }

    fn cutoff_value(&self, cutoff: OffsetDateTime) -> Expr {
        if self.is_epoch() {
            return match self.kind {
                StoreKind::Postgres => bind(self.live, self.age_column, &cutoff.unix_timestamp().to_string()),
                _ => Expr::val(cutoff.unix_timestamp()),
            };
        }
        match self.kind {
            StoreKind::Postgres => bind(
                self.live,
                self.age_column,
                &cutoff.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            ),
            _ => Expr::val(utc_text(cutoff)),
        }
    }

    /// Reads the keys [`Self::keys_after`] selects from `db`: each row's primary key as text,
    /// in key order.
    pub async fn read_keys(
        &self,
        db: &impl ConnectionTrait,
        condition: Condition,
        cursor: Option<&[String]>,
        limit: u64,
    ) -> Result<Vec<Vec<String>>, DbErr> {
        let width = self.live.primary_key.len();
        let mut keys = Vec::new();
        for row in db.query_all(&self.keys_after(condition, cursor, limit)).await? {
            let mut key = Vec::with_capacity(width);
            for i in 0..width {
                key.push(row.try_get::<Option<String>>("", &format!("k{i}"))?.unwrap_or_default());
            }
            keys.push(key);
        }
        Ok(keys)
    }

    /// Up to `limit` primary keys (as text, in key order) of rows matching `condition` after
    /// `cursor`.
    pub fn keys_after(&self, condition: Condition, cursor: Option<&[String]>, limit: u64) -> SelectStatement {
        let pk = &self.live.primary_key;
        let mut query = Query::select();
        for (i, column) in pk.iter().enumerate() {
            query.expr_as(as_text(self.kind, column), Alias::new(format!("k{i}")));
        }
        query.from(table_ref(self.table)).cond_where(condition);
        if let Some(cursor) = cursor.filter(|c| c.len() == pk.len()) {
            let after = if let ([column], [value]) = (pk.as_slice(), cursor) {
                Expr::col(Alias::new(column)).gt(bind(self.live, column, value))
            } else {
                Expr::tuple(pk.iter().map(|c| Expr::col(Alias::new(c))))
                    .gt(Expr::tuple(pk.iter().zip(cursor).map(|(c, v)| bind(self.live, c, v))))
            };
            query.and_where(after);
        }
        for column in pk {
            query.order_by(Alias::new(column), Order::Asc);
        }
        query.limit(limit);
        query
    }

    /// The preview's aggregate: row count, oldest and newest age (as text).
    pub fn summary(&self, condition: Condition) -> SelectStatement {
        let text = Alias::new(if self.kind == StoreKind::Mysql { "CHAR" } else { "TEXT" });
        let age = || Expr::col(Alias::new(self.age_column));
        Query::select()
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
            .expr_as(Func::cast_as(Func::min(age()), text.clone()), Alias::new("oldest"))
            .expr_as(Func::cast_as(Func::max(age()), text), Alias::new("newest"))
            .from(table_ref(self.table))
            .cond_where(condition)
            .to_owned()
    }

    /// An age as the store returned it, as RFC 3339 when it is Unix seconds.
    pub fn age_text(&self, raw: String) -> String {
        match raw
            .parse::<i64>()
            .ok()
            .filter(|_| self.is_epoch())
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        {
            Some(at) => at.format(&time::format_description::well_known::Rfc3339).unwrap_or(raw),
            None => raw,
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS` in UTC.
fn utc_text(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// On PostgreSQL, a single-column key of a built-in type: `key = ANY(CAST($1 AS "pg_catalog"."_int8"))`
/// with the batch's keys as one array parameter, instead of one cast parameter per key (which
/// PostgreSQL parses and plans one by one). `None` elsewhere.
fn pg_any(live: &TableSchema, primary_key: &[String], rows: &[Vec<String>]) -> Option<Expr> {
    let [column] = primary_key else { return None };
    let (type_schema, type_name) = live.column(column)?.cast_type.as_ref()?;
    if type_schema != "pg_catalog" {
        return None;
    }
    let elements: Vec<String> = rows
        .iter()
        .map(|r| format!("\"{}\"", r.first().map_or("", String::as_str).replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    let array = format!("{{{}}}", elements.join(","));
    let cast = Func::cast_as_quoted(Expr::val(array), (Alias::new(type_schema), Alias::new(format!("_{type_name}"))));
    Some(Expr::col(Alias::new(column)).eq(Func::cust(Alias::new("ANY")).arg(cast)))
}

/// One batch's store-side work.
pub struct Batch {
    /// The table.
    pub table: String,
    /// Its live schema.
    pub live: TableSchema,
    /// The rows' primary keys.
    pub keys: Vec<Vec<String>>,
    /// The policy's condition, checked again inside the transaction: a row changed since its
    /// key was read (no longer past its age, or no longer matching the filter) is left alone.
    pub recheck: Condition,
    /// What is done.
    pub action: PolicyAction,
    /// Pseudonym keys for `hash`.
    pub keyring: Keyring,
    /// Tenant (pseudonyms are keyed per organization).
    pub organization: Uuid,
    /// The receipt of the previous, settled batch, removed in this batch's transaction.
    pub forget: Option<Uuid>,
}

impl Batch {
    /// The work for the ledger's intent protocol: runs inside the store's transaction and
    /// returns the rows it deleted or anonymised.
    pub fn into_work(self) -> Work {
        Box::new(move |txn| {
            async move {
                let pk = self.live.primary_key.clone();
                let changes: Vec<ColumnChange> = match &self.action {
                    PolicyAction::DeleteRow => Vec::new(),
                    PolicyAction::Anonymise { columns } => columns
                        .iter()
                        .map(|c| ColumnChange { column: c.name.clone(), action: c.action, redact_with: String::new() })
                        .collect(),
                };
                let step = Step {
                    table: self.table.clone(),
                    primary_key: pk.clone(),
                    kind: StepKind::Update(changes.clone()),
                    rows: Vec::new(),
                };
                let mut rows = 0;
                for chunk in self.keys.chunks((VALUES_PER_STATEMENT / pk.len().max(1)).max(1)) {
                    let keys = match pg_any(&self.live, &pk, chunk) {
                        Some(any) => Condition::all().add(any),
                        None => by_key(&self.live, &pk, chunk),
                    };
                    let cond = Condition::all().add(keys).add(self.recheck.clone());
                    rows += match self.action {
                        PolicyAction::DeleteRow => {
                            let stmt = Query::delete().from_table(table_ref(&self.table)).cond_where(cond).to_owned();
                            txn.execute(&stmt).await?.rows_affected()
                        }
                        PolicyAction::Anonymise { .. } => {
                            update(&self.keyring, self.organization, txn, &self.live, &step, cond, &changes).await?
                        }
                    };
                }
                if let Some(settled) = self.forget {
                    receipts::forget_applied(txn, settled).await?;
                }
                Ok::<u64, DbErr>(rows)
            }
            .boxed()
        })
    }
}

/// Previews `policy` in `sql` with `cutoff`: the rows the next run would remove, their oldest
/// and newest ages, and a sample of their keys; rows `held` keeps and rows other policies govern
/// (`yield_to`) are left out.
pub async fn preview(
    sql: &SqlStore,
    policy: &Policy,
    cutoff: OffsetDateTime,
    held: &Held,
    yield_to: &[Vec<Filter>],
) -> Result<Preview, StoreError> {
    let schema = sql.schema().await?;
    let live = schema
        .tables
        .get(&policy.target)
        .ok_or_else(|| StoreError::Schema(format!("the store has no table `{}`", policy.target)))?;
    let age_column = policy.age_column.clone().unwrap_or_default();
    if live.column(&age_column).is_none() || live.primary_key.is_empty() {
        return Err(StoreError::Schema(format!(
            "table `{}` has lost its primary key or age column since the policy was saved",
            policy.target
        )));
    }
    let filters = policy.filters();
    let action = policy.policy_action().unwrap_or(PolicyAction::DeleteRow);
    let target = Target {
        kind: sql.kind(),
        table: &policy.target,
        live,
        age_column: &age_column,
        filters: &filters,
        action: &action,
        held,
        yield_to,
    };
    let store_db = sql.connection();
    let summary = store_db.query_one(&target.summary(target.condition(cutoff))).await.map_err(classify)?;
    let (rows, oldest, newest) = match summary {
        Some(row) => (
            row.try_get::<i64>("", "n").map_err(classify)?,
            row.try_get::<Option<String>>("", "oldest").map_err(classify)?,
            row.try_get::<Option<String>>("", "newest").map_err(classify)?,
        ),
        None => (0, None, None),
    };
    let sample = target.read_keys(store_db, target.condition(cutoff), None, SAMPLE).await.map_err(classify)?;
    Ok(Preview {
        cutoff,
        rows: u64::try_from(rows).unwrap_or(0),
        oldest: oldest.map(|o| target.age_text(o)),
        newest: newest.map(|n| target.age_text(n)),
        sample,
        held_by: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stores::schema::ColumnSchema;
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};
    use time::macros::datetime;

    fn live(age_type: &str) -> TableSchema {
        let col = |n: &str, t: &str, cast: (&str, &str)| ColumnSchema {
            cast_type: Some((cast.0.into(), cast.1.into())),
            ..ColumnSchema::new(n, t)
        };
        TableSchema {
            columns: vec![
                col("id", "bigint", ("pg_catalog", "int8")),
                col("at", age_type, ("pg_catalog", if age_type == "bigint" { "int8" } else { "timestamptz" })),
                col("status", "text", ("pg_catalog", "text")),
            ],
            primary_key: vec!["id".into()],
            ..Default::default()
        }
    }

    #[test]
    fn statements_bind_every_value() {
        let schema = live("timestamp with time zone");
        let filters = vec![Filter { column: "status".into(), op: FilterOp::Eq, value: Some("closed'; --".into()) }];
        let action = PolicyAction::DeleteRow;
        let target = Target {
            kind: StoreKind::Postgres,
            table: "logs",
            live: &schema,
            age_column: "at",
            filters: &filters,
            action: &action,
            held: &Held::default(),
            yield_to: &[],
        };
        let cutoff = datetime!(2026-01-01 00:00 UTC);
        let (sql, values) =
            target.keys_after(target.condition(cutoff), Some(&["41".to_owned()]), 100).build(PostgresQueryBuilder);
        assert_eq!(
            sql,
            r#"SELECT CAST("id" AS TEXT) AS "k0" FROM "logs" WHERE "at" < CAST($1 AS "pg_catalog"."timestamptz") AND "status" = CAST($2 AS "pg_catalog"."text") AND "id" > CAST($3 AS "pg_catalog"."int8") ORDER BY "id" ASC LIMIT $4"#
        );
        assert_eq!(values.0.len(), 4);
        let epoch = live("bigint");
        let target = Target { kind: StoreKind::Sqlite, live: &epoch, ..target };
        let (sql, _) = target.keys_after(target.condition(cutoff), None, 10).build(SqliteQueryBuilder);
        assert!(sql.starts_with(r#"SELECT CAST("id" AS TEXT) AS "k0" FROM "logs" WHERE "at" < ?"#), "{sql}");
        assert_eq!(utc_text(datetime!(2026-03-04 05:06:07 +02:00)), "2026-03-04 03:06:07");
    }

    #[test]
    fn postgres_batches_bind_their_keys_as_one_array() {
        let schema = live("timestamp with time zone");
        let keys = vec![vec!["1".to_owned()], vec!["a\"b\\c".to_owned()]];
        let any = pg_any(&schema, &["id".to_owned()], &keys).unwrap();
        let (sql, values) =
            Query::delete().from_table(table_ref("logs")).and_where(any).to_owned().build(PostgresQueryBuilder);
        assert_eq!(sql, r#"DELETE FROM "logs" WHERE "id" = ANY(CAST($1 AS "pg_catalog"."_int8"))"#);
        assert_eq!(values.0.len(), 1);
        assert_eq!(values.0[0], sea_orm::Value::from(r#"{"1","a\"b\\c"}"#.to_owned()));
        let mut composite = schema.clone();
        composite.primary_key = vec!["id".into(), "status".into()];
        assert!(pg_any(&composite, &composite.primary_key, &keys).is_none());
    }

    #[test]
    fn composite_keys_page_by_row_value() {
        let mut schema = live("text");
        schema.primary_key = vec!["id".into(), "status".into()];
        let action = PolicyAction::DeleteRow;
        let target = Target {
            kind: StoreKind::Sqlite,
            table: "t",
            live: &schema,
            age_column: "at",
            filters: &[],
            action: &action,
            held: &Held::default(),
            yield_to: &[],
        };
        let (sql, _) =
            target.keys_after(Condition::all(), Some(&["1".to_owned(), "b".to_owned()]), 5).build(SqliteQueryBuilder);
        assert!(sql.contains(r#"("id", "status") > (CAST(? AS "pg_catalog"."int8"), CAST(? AS"#), "{sql}");
        assert!(sql.ends_with(r#"ORDER BY "id" ASC, "status" ASC LIMIT ?"#), "{sql}");
    }
}
