//! Purging expired exports: the key is destroyed (its column set to NULL: crypto-shredding),
//! the state set to `purged`, an `export_purge` ledger entry appended and anything the
//! request's tasks returned that is still kept deleted, in one transaction;
//! the file is deleted after the commit. Each purge is a compare-and-set UPDATE
//! (`state = 'ready'`), so several worker processes may run this at once and each export is
//! purged, and entered in the ledger, exactly once.
//!
//! The same pass deletes files no live export uses: the file of an export purged before its
//! file could be deleted (a crash), and, once older than [`ORPHAN_AGE`], files of builds that
//! lost a race or crashed (their keys never reached the database, so they were unreadable
//! anyway) and abandoned build directories.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use lethe_entities::Keyring;
use lethe_entities::domain::enums::EventKind;
use lethe_entities::entity::export::{self, ExportState, ExportStep};
use lethe_entities::entity::{begin_write, subject_identity, task_return};
use lethe_entities::ledger::{self, EntryKind, NewEntry};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ExportError;

/// Exports purged per pass (the next pass takes the rest).
const BATCH: u64 = 100;
/// Age after which a file or build directory no export uses is deleted.
pub const ORPHAN_AGE: Duration = Duration::from_secs(24 * 3600);

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Exports purged by this pass.
    pub exports: usize,
    /// Files and build directories deleted that no export uses.
    pub orphans: usize,
}

/// Purges every export expired at `now` whose files live in `dir`, then deletes orphans there.
pub async fn purge_expired(
    db: &DatabaseConnection,
    keyring: &Keyring,
    dir: &Path,
    now: OffsetDateTime,
) -> Result<Purged, ExportError> {
    let due = export::Entity::find()
        .filter(export::Column::State.eq(ExportState::Ready))
        .filter(export::Column::ExpiresAt.lte(now))
        .order_by_asc(export::Column::ExpiresAt)
        .limit(BATCH)
        .all(db)
        .await?;
    let mut done = Purged::default();
    for row in due {
        if purge_one(db, keyring, &row, now).await? {
            done.exports += 1;
            tracing::info!(export_id = %row.id, request_id = %row.request_id, "export purged: key destroyed");
        }
        if let Some(name) = &row.file_name {
            remove(&dir.join(name))?;
        }
    }
    done.orphans = sweep(db, dir).await?;
    Ok(done)
}

/// Destroys one export's key with its ledger entry and timeline event; false if another worker
/// got there first.
async fn purge_one(
    db: &DatabaseConnection,
    keyring: &Keyring,
    row: &export::Model,
    now: OffsetDateTime,
) -> Result<bool, ExportError> {
    let org = row.organization_id;
    let mut subject_refs: Vec<[u8; 32]> = Vec::new();
    for identity in subject_identity::Model::of_request(db, org, row.request_id).await? {
        let reference = keyring.ledger_subject_ref(org, &identity.blind_index);
        if !subject_refs.contains(&reference) && subject_refs.len() < 16 {
            subject_refs.push(reference);
        }
    }
    let txn = begin_write(db).await?;
    let detail = serde_json::json!({ "export_id": row.id, "row_count": row.row_count, "downloads": row.downloads });
    if !row.apply(&txn, ExportStep::Purge, now, Some((EventKind::ExportPurged, detail))).await? {
        txn.rollback().await?;
        return Ok(false);
    }
    let entry = NewEntry {
        request_id: Some(row.request_id),
        action: Some("crypto_shred".to_owned()),
        row_count: u64::try_from(row.row_count).unwrap_or_default(),
        subject_refs,
        ..NewEntry::new(EntryKind::ExportPurge)
    };
    ledger::append(&txn, org, &[entry]).await?;
    // Anything a task returned that is still kept (normally deleted once packaged) goes too.
    task_return::Model::delete_of_request(&txn, org, row.request_id).await?;
    txn.commit().await?;
    Ok(true)
}

/// Deletes a file; one already gone is fine.
fn remove(path: &Path) -> Result<(), ExportError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

/// The export id in a package file name (`<export id>-<attempt>.bin`).
fn export_of(name: &str) -> Option<Uuid> {
    let stem = name.strip_suffix(".bin")?;
    let (export, attempt) = stem.split_once('-')?;
    Uuid::try_parse(attempt).ok()?;
    Uuid::try_parse(export).ok()
}

/// Deletes what no export uses (see the module documentation); returns how many.
async fn sweep(db: &DatabaseConnection, dir: &Path) -> Result<usize, ExportError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let old = entry.metadata()?.modified().ok().and_then(|m| m.elapsed().ok()).is_some_and(|age| age > ORPHAN_AGE);
        if name.starts_with(".build-") && entry.file_type()?.is_dir() {
            if old {
                std::fs::remove_dir_all(entry.path())?;
                tracing::info!("abandoned export build directory deleted");
                files.push(None);
            }
        } else if let Some(export) = export_of(&name) {
            files.push(Some((export, name, old)));
        }
    }
    let mut deleted = files.iter().filter(|f| f.is_none()).count();
    let files: Vec<(Uuid, String, bool)> = files.into_iter().flatten().collect();
    let mut rows: HashMap<Uuid, export::Model> = HashMap::new();
    for chunk in files.chunks(500) {
        let ids: Vec<Uuid> = chunk.iter().map(|(id, _, _)| *id).collect();
        for row in export::Entity::find().filter(export::Column::Id.is_in(ids)).all(db).await? {
            rows.insert(row.id, row);
        }
    }
    for (id, name, old) in files {
        let row = rows.get(&id);
        let live = row.is_some_and(|r| r.state == ExportState::Ready && r.file_name.as_deref() == Some(&name));
        let purged = row.is_some_and(|r| r.state == ExportState::Purged);
        if !live && (purged || old) {
            remove(&dir.join(&name))?;
            tracing::info!(export_id = %id, "export file no export uses deleted");
            deleted += 1;
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_file_names_name_their_export() {
        let (export, attempt) = (Uuid::now_v7(), Uuid::new_v4());
        let name = format!("{}-{}.bin", export.simple(), attempt.simple());
        assert_eq!(export_of(&name), Some(export));
        assert_eq!(export_of("master.key"), None);
        assert_eq!(export_of(&format!("{}.bin", export.simple())), None);
    }
}
