//! Lethe's own tables read directly, as whoever holds a copy of the database would: for
//! checking that what people type is not stored in clear.

use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult};
use uuid::Uuid;

/// The `texts` found in clear in any column of any row of `organization` in `table`.
pub async fn in_clear(db: &DatabaseConnection, table: &str, organization: Uuid, texts: &[&str]) -> Vec<String> {
    let select = Query::select()
        .column(Asterisk)
        .from(Alias::new(table))
        .and_where(Expr::col(Alias::new("organization_id")).eq(organization))
        .to_owned();
    let rows = db.query_all(&select).await.unwrap_or_else(|e| panic!("reading {table}: {e}"));
    assert!(!rows.is_empty(), "{table} has rows of the organization");
    let values: Vec<Vec<u8>> = rows.iter().flat_map(columns).collect();
    texts
        .iter()
        .filter(|t| values.iter().any(|v| v.windows(t.len()).any(|w| w == t.as_bytes())))
        .map(|t| (*t).to_owned())
        .collect()
}

/// Every column of `row` that reads as text, bytes or JSON, as bytes.
fn columns(row: &QueryResult) -> Vec<Vec<u8>> {
    (0..row.column_names().len())
        .filter_map(|i| {
            if let Ok(text) = row.try_get_by_index::<Option<String>>(i) {
                return text.map(String::into_bytes);
            }
            if let Ok(bytes) = row.try_get_by_index::<Option<Vec<u8>>>(i) {
                return bytes;
            }
            row.try_get_by_index::<Option<serde_json::Value>>(i).ok().flatten().map(|j| j.to_string().into_bytes())
        })
        .collect()
}
