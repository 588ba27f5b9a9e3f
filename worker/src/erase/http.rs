//! Erasure by an internal HTTP service: Lethe calls `POST <base>/lethe/erase` (the protocol
//! shared with access is [`crate::services`]) and the service's `done` report is
//! `{"status": "done", "erased": {"<table>": <rows>, ...}}`. The rows it reports are written to
//! the ledger as `service_erase` entries: the count is the service's own word, as with a SQL
//! store's receipt.

use std::collections::BTreeMap;

use serde::Deserialize;

use lethe_entities::domain::enums::{EventKind, TaskStatus};
use lethe_entities::entity::store_task::{self, Step, TaskEvent};
use lethe_entities::ledger::entry::{EntryKind, SubjectRef};
use lethe_entities::ledger::{self, NewEntry};
use sea_orm::DatabaseConnection;

use lethe_entities::Keyring;

use crate::services::{Operation, Recording, ReportError};

/// The ledger action of rows a service reports as erased.
pub const ACTION: &str = "service_erase";

/// Erasure by a service: `POST <base>/lethe/erase`, the task claimed as `erasing`, the report's
/// rows written to the ledger under `refs`.
#[derive(Debug, Clone, Copy)]
pub struct Erase<'a> {
    /// The subject references of the ledger entries.
    pub refs: &'a [SubjectRef],
}

impl Operation for Erase<'_> {
    fn name(&self) -> &'static str {
        "erase"
    }

    fn claim_status(&self) -> TaskStatus {
        TaskStatus::Erasing
    }

    fn record_done<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        _keyring: &'a Keyring,
        task: &'a store_task::Model,
        from: TaskStatus,
        report: serde_json::Value,
    ) -> Recording<'a> {
        Box::pin(async move { record_done(db, task, from, &report, self.refs).await })
    }
}

/// Records a service's erasure report: the task moves from `from` to done, the reported rows go
/// to the ledger (one `service_erase` entry per table) and the timeline, in one transaction.
pub async fn record_done(
    db: &DatabaseConnection,
    task: &store_task::Model,
    from: TaskStatus,
    report: &serde_json::Value,
    refs: &[SubjectRef],
) -> Result<(), ReportError> {
    let invalid = |message: &str| ReportError::Invalid { field: "erased", message: message.into() };
    let erased: BTreeMap<String, u64> = match report.get("erased") {
        None | Some(serde_json::Value::Null) => BTreeMap::new(),
        Some(erased) => {
            BTreeMap::deserialize(erased).map_err(|_| invalid("`erased` must map table names to row counts"))?
        }
    };
    if erased.len() > 1000 {
        return Err(invalid("a report may name at most 1000 tables"));
    }
    let entries: Vec<NewEntry> = erased
        .iter()
        .map(|(table, rows)| NewEntry {
            request_id: Some(task.request_id),
            store: Some(task.store_name.clone()),
            table: Some(table.clone()),
            action: Some(ACTION.into()),
            row_count: *rows,
            subject_refs: refs.to_vec(),
            ..NewEntry::new(EntryKind::Erasure)
        })
        .collect();
    for entry in &entries {
        entry.validate().map_err(|_| invalid("a reported table name is not a valid name"))?;
    }
    let txn = lethe_entities::entity::begin_write(db).await?;
    let first = if entries.is_empty() {
        None
    } else {
        Some(ledger::append(&txn, task.organization_id, &entries).await?.first_seq)
    };
    let erased: Vec<serde_json::Value> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            serde_json::json!({ "table": e.table, "action": ACTION, "rows": e.row_count, "ledger_seq": first.map(|s| s + i as u64) })
        })
        .collect();
    let detail =
        serde_json::json!({ "store": task.store_name, "erased": erased, "retained": [], "reported_by": "service" });
    // The entries and the move commit together; a task no longer waiting rolls both back.
    let event = TaskEvent::system(EventKind::StoreErased, detail);
    if !task.apply(&txn, from, Step::Erased, Some(event)).await? {
        return Err(ReportError::NotWaiting);
    }
    txn.commit().await?;
    Ok(())
}
