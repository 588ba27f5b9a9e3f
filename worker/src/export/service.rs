//! The rows internal HTTP services return for access requests.
//!
//! A service asked `POST <base>/lethe/access` (see [`crate::services`]) reports
//! `{"status": "done", "tables": {"<table>": [{"<column>": <value>, ...}, ...]}}`, in its answer
//! or its callback. Values must be JSON scalars (string, number, boolean or null); table and
//! column names are 1 to 128 characters without control characters; at most [`MAX_TABLES`]
//! tables; the whole report at most [`MAX_BYTES`]. Anything else fails the task with
//! `service_data_invalid`.
//!
//! The rows are personal data: they are kept only encrypted ([`task_return`], one JSON line
//! `[table, row]` per row) until the package is built, and the task moves to `located` with its
//! counts in the same transaction. The package reads them back into its spool like located rows
//! ([`spool_rows`]); the export deletes them once the package holds them.

use std::collections::BTreeMap;
use std::io::BufRead;

use lethe_entities::Keyring;
use lethe_entities::domain::enums::{EventKind, TaskStatus};
use lethe_entities::entity::begin_write;
use lethe_entities::entity::store_task::{self, Step, TaskEvent};
use lethe_entities::entity::task_return::{self, ReturnKind};
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::package::Spool;
use crate::error::ExportError;
use crate::locate::Located;
use crate::services::{Operation, Recording, ReportError};

/// The largest report a service may send for an access request (16 MiB), answer or callback.
pub const MAX_BYTES: usize = crate::stores::http::MAX_ANSWER_BYTES;
/// Tables one report may hold.
pub const MAX_TABLES: usize = 1000;
/// Longest table or column name, in characters.
const MAX_NAME: usize = 128;

/// Access by a service: `POST <base>/lethe/access`, the task claimed as `calling`, the report's
/// rows kept encrypted ([`record_rows`]).
#[derive(Debug, Clone, Copy)]
pub struct Access;

impl Operation for Access {
    fn name(&self) -> &'static str {
        "access"
    }

    fn claim_status(&self) -> TaskStatus {
        TaskStatus::Calling
    }

    fn record_done<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        keyring: &'a Keyring,
        task: &'a store_task::Model,
        from: TaskStatus,
        report: Value,
    ) -> Recording<'a> {
        Box::pin(record_rows(db, keyring, task, from, report))
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().count() <= MAX_NAME && !name.chars().any(char::is_control)
}

/// Rows as stored (JSON lines, wiped from memory when dropped) and rows per table.
type Encoded = (Zeroizing<Vec<u8>>, BTreeMap<String, u64>);

/// Checks a report's `tables` and encodes them as JSON lines; returns them with rows per table.
fn encode(tables: Value) -> Result<Encoded, ReportError> {
    let invalid = |message: &str| ReportError::InvalidData(message.to_owned());
    let Value::Object(tables) = tables else {
        return Err(invalid("`tables` must map table names to lists of rows"));
    };
    if tables.len() > MAX_TABLES {
        return Err(invalid("a report may hold at most 1000 tables"));
    }
    let mut lines = Zeroizing::new(Vec::new());
    let mut counts = BTreeMap::new();
    for (table, rows) in &tables {
        if !valid_name(table) {
            return Err(invalid("a table name is empty, longer than 128 characters or has control characters"));
        }
        let Value::Array(rows) = rows else {
            return Err(invalid("each table must be a list of rows"));
        };
        for row in rows {
            let Value::Object(columns) = row else {
                return Err(invalid("each row must be an object of column names to values"));
            };
            for (column, value) in columns {
                if !valid_name(column) {
                    return Err(invalid(
                        "a column name is empty, longer than 128 characters or has control characters",
                    ));
                }
                if matches!(value, Value::Array(_) | Value::Object(_)) {
                    return Err(invalid("every value must be a string, a number, a boolean or null"));
                }
            }
            serde_json::to_writer(&mut *lines, &(table, columns)).map_err(|_| invalid("a row does not encode"))?;
            lines.push(b'\n');
        }
        if !rows.is_empty() {
            counts.insert(table.clone(), rows.len() as u64);
        }
    }
    Ok((lines, counts))
}

/// Records a service's access report on a task in status `from`: the rows, encrypted, and the
/// task `located` with their counts, with its timeline event, in one transaction.
pub async fn record_rows(
    db: &DatabaseConnection,
    keyring: &Keyring,
    task: &store_task::Model,
    from: TaskStatus,
    mut report: Value,
) -> Result<(), ReportError> {
    let tables = report.get_mut("tables").map(Value::take).unwrap_or(Value::Null);
    let (lines, counts) = encode(tables)?;
    let rows: u64 = counts.values().sum();
    let sealed = task_return::seal(keyring, task.organization_id, task.id, ReturnKind::ServiceRows, &lines);
    let counts_json = serde_json::to_value(&counts).expect("counts serialise");
    let now = OffsetDateTime::now_utc();
    let txn = begin_write(db).await?;
    let detail = serde_json::json!({
        "store": task.store_name, "counts": counts_json, "total_rows": rows, "reported_by": "service"
    });
    let step = Step::Returned { counts: counts_json, rows: rows as i64 };
    if !task.apply(&txn, from, step, Some(TaskEvent::system(EventKind::StoreLocated, detail))).await? {
        return Err(ReportError::NotWaiting);
    }
    task_return::Entity::delete_many().filter(task_return::Column::TaskId.eq(task.id)).exec(&txn).await?;
    task_return::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(task.organization_id),
        request_id: Set(task.request_id),
        task_id: Set(task.id),
        kind: Set(ReturnKind::ServiceRows),
        rows: Set(rows as i64),
        bytes: Set(lines.len() as i64),
        ciphertext: Set(sealed),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    tracing::info!(task_id = %task.id, rows, "a service returned the person's data");
    Ok(())
}

/// Feeds the rows the service of `task` returned into `spool`, as rows of its store; returns
/// rows per table.
pub async fn spool_rows(
    db: &DatabaseConnection,
    keyring: &Keyring,
    task: &store_task::Model,
    spool: &mut Spool,
) -> Result<BTreeMap<String, u64>, ExportError> {
    let stored = task_return::Model::of_task(db, task.organization_id, task.id)
        .await?
        .filter(|r| r.kind == ReturnKind::ServiceRows)
        .ok_or_else(|| ExportError::Package("the rows a service returned are no longer stored".into()))?;
    let lines = stored.open(keyring).map_err(|_| ExportError::Crypto)?;
    let mut counts = BTreeMap::new();
    for line in lines.as_slice().lines() {
        let (table, row): (String, BTreeMap<String, Value>) =
            serde_json::from_str(&line?).map_err(|_| ExportError::Crypto)?;
        spool.push(Located { store: &task.store_name, table: &table, key: "", key_parts: &[], row: Some(&row) });
        *counts.entry(table).or_default() += 1;
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reports_of_scalar_rows_encode_one_line_per_row() {
        let (lines, counts) = encode(json!({
            "invoices": [{ "id": 1, "email": "ann@example.com", "paid": true, "note": null }, { "id": 2 }],
            "empty": []
        }))
        .unwrap();
        assert_eq!(counts, BTreeMap::from([("invoices".to_owned(), 2)]));
        let text = String::from_utf8(lines.to_vec()).unwrap();
        assert_eq!(
            text,
            "[\"invoices\",{\"email\":\"ann@example.com\",\"id\":1,\"note\":null,\"paid\":true}]\n[\"invoices\",{\"id\":2}]\n"
        );
    }

    #[test]
    fn anything_but_tables_of_scalar_rows_is_refused_without_echoing_it() {
        for bad in [
            json!(null),
            json!([]),
            json!({ "t": { "id": 1 } }),
            json!({ "t": [1] }),
            json!({ "t": [{ "nested": { "email": "ann@example.com" } }] }),
            json!({ "t": [{ "list": ["ann@example.com"] }] }),
            json!({ "": [] }),
            json!({ "t": [{ "a\nb": 1 }] }),
            json!({ "x".repeat(129): [] }),
        ] {
            let error = encode(bad.clone()).expect_err(&bad.to_string());
            assert_eq!(error.code(), "service_data_invalid");
            assert!(!error.to_string().contains("ann@example.com"), "{error}");
        }
        let many: serde_json::Map<String, Value> = (0..=MAX_TABLES).map(|i| (format!("t{i}"), json!([]))).collect();
        assert!(encode(Value::Object(many)).is_err());
    }
}
