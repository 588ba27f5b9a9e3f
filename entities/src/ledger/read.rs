//! Reading the ledger: pages of entries and checkpoints, leaf hashes for proofs, a subject's
//! entries, and the streaming export.

use futures::TryStreamExt;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::LedgerError;
use super::entry::{EntryKind, SubjectRef, format_micros, now_micros};
use super::merkle::Hash;
use super::verify::{EXPORT_FORMAT, ExportHeader, ExportLine, write_line};
use crate::entity::{ledger_checkpoint, ledger_entry, ledger_head, ledger_subject_ref};

/// Filters for listing entries.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    /// Only this kind.
    pub kind: Option<EntryKind>,
    /// Only entries caused by this request.
    pub request_id: Option<Uuid>,
    /// Only entries for this store.
    pub store: Option<String>,
    /// Recorded at or after (microseconds).
    pub from_us: Option<i64>,
    /// Recorded before (microseconds).
    pub to_us: Option<i64>,
    /// Only entries with a greater sequence number (keyset pagination).
    pub after_seq: Option<u64>,
}

/// A page of entries in sequence order.
pub async fn entries(
    db: &impl ConnectionTrait,
    organization: Uuid,
    filter: &EntryFilter,
    limit: u64,
) -> Result<Vec<ledger_entry::Model>, LedgerError> {
    let mut q = ledger_entry::Entity::find().filter(ledger_entry::Column::OrganizationId.eq(organization));
    if let Some(kind) = filter.kind {
        q = q.filter(ledger_entry::Column::Kind.eq(kind.as_str()));
    }
    if let Some(r) = filter.request_id {
        q = q.filter(ledger_entry::Column::RequestId.eq(r));
    }
    if let Some(s) = &filter.store {
        q = q.filter(ledger_entry::Column::Store.eq(s.as_str()));
    }
    if let Some(from) = filter.from_us {
        q = q.filter(ledger_entry::Column::RecordedAtUs.gte(from));
    }
    if let Some(to) = filter.to_us {
        q = q.filter(ledger_entry::Column::RecordedAtUs.lt(to));
    }
    if let Some(after) = filter.after_seq {
        q = q.filter(ledger_entry::Column::Seq.gt(after as i64));
    }
    Ok(q.order_by_asc(ledger_entry::Column::Seq).limit(limit).all(db).await?)
}

/// One entry.
pub async fn entry(
    db: &impl ConnectionTrait,
    organization: Uuid,
    seq: u64,
) -> Result<Option<ledger_entry::Model>, LedgerError> {
    Ok(ledger_entry::Entity::find_by_id((organization, seq as i64)).one(db).await?)
}

/// Entries carrying any of `refs`, in sequence order, at most `limit`.
pub async fn entries_for_subject(
    db: &impl ConnectionTrait,
    organization: Uuid,
    refs: &[SubjectRef],
    limit: u64,
) -> Result<Vec<ledger_entry::Model>, LedgerError> {
    if refs.is_empty() {
        return Ok(Vec::new());
    }
    let seqs: Vec<i64> = ledger_subject_ref::Entity::find()
        .select_only()
        .column(ledger_subject_ref::Column::Seq)
        .filter(ledger_subject_ref::Column::OrganizationId.eq(organization))
        .filter(ledger_subject_ref::Column::SubjectRef.is_in(refs.iter().map(|r| r.to_vec())))
        .distinct()
        .order_by_asc(ledger_subject_ref::Column::Seq)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    Ok(ledger_entry::Entity::find()
        .filter(ledger_entry::Column::OrganizationId.eq(organization))
        .filter(ledger_entry::Column::Seq.is_in(seqs))
        .order_by_asc(ledger_entry::Column::Seq)
        .all(db)
        .await?)
}

/// Checkpoints with a tree size above `after_size`, smallest first, at most `limit` (all when
/// `None`).
pub async fn checkpoints(
    db: &impl ConnectionTrait,
    organization: Uuid,
    after_size: Option<u64>,
    limit: Option<u64>,
) -> Result<Vec<ledger_checkpoint::Model>, LedgerError> {
    let mut q = ledger_checkpoint::Entity::find().filter(ledger_checkpoint::Column::OrganizationId.eq(organization));
    if let Some(after) = after_size {
        q = q.filter(ledger_checkpoint::Column::TreeSize.gt(after as i64));
    }
    Ok(q.order_by_asc(ledger_checkpoint::Column::TreeSize).limit(limit).all(db).await?)
}

/// The checkpoint of exactly `tree_size` entries, if one was signed.
pub async fn checkpoint_at(
    db: &impl ConnectionTrait,
    organization: Uuid,
    tree_size: u64,
) -> Result<Option<ledger_checkpoint::Model>, LedgerError> {
    Ok(ledger_checkpoint::Entity::find_by_id((organization, tree_size as i64)).one(db).await?)
}

/// The latest checkpoint.
pub async fn latest_checkpoint(
    db: &impl ConnectionTrait,
    organization: Uuid,
) -> Result<Option<ledger_checkpoint::Model>, LedgerError> {
    Ok(ledger_checkpoint::Entity::find()
        .filter(ledger_checkpoint::Column::OrganizationId.eq(organization))
        .order_by_desc(ledger_checkpoint::Column::TreeSize)
        .one(db)
        .await?)
}

/// The current number of entries.
pub async fn tree_size(db: &impl ConnectionTrait, organization: Uuid) -> Result<u64, LedgerError> {
    Ok(ledger_head::Entity::find_by_id(organization).one(db).await?.map_or(0, |h| h.tree_size as u64))
}

/// The leaf hashes of the first `count` entries, in order (for proofs).
pub async fn leaf_hashes(db: &DatabaseConnection, organization: Uuid, count: u64) -> Result<Vec<Hash>, LedgerError> {
    let mut out = Vec::with_capacity(count as usize);
    let mut stream = ledger_entry::Entity::find()
        .select_only()
        .column(ledger_entry::Column::LeafHash)
        .filter(ledger_entry::Column::OrganizationId.eq(organization))
        .filter(ledger_entry::Column::Seq.lt(count as i64))
        .order_by_asc(ledger_entry::Column::Seq)
        .into_tuple::<Vec<u8>>()
        .stream(db)
        .await?;
    while let Some(hash) = stream.try_next().await? {
        out.push(hash.as_slice().try_into().map_err(|_| LedgerError::Corrupt("leaf hash length"))?);
    }
    if out.len() as u64 != count {
        return Err(LedgerError::Corrupt("entries missing below the tree size"));
    }
    Ok(out)
}

/// Writes the organization's ledger as an export (see [`super::verify`]): the header, every
/// entry in order, each checkpoint right after the entry that completes it. Streams from the
/// database; memory does not grow with the ledger. Returns the number of entries written.
pub async fn export(
    db: &DatabaseConnection,
    organization: Uuid,
    key_id: &str,
    out: &mut impl std::io::Write,
) -> Result<u64, LedgerError> {
    let io = |_| LedgerError::Invalid("the export could not be written");
    write_line(
        out,
        &ExportLine::Header(ExportHeader {
            format: EXPORT_FORMAT.into(),
            organization_id: organization,
            exported_at: format_micros(now_micros()),
            key_id: key_id.into(),
        }),
    )
    .map_err(io)?;
    let cps = checkpoints(db, organization, None, None).await?;
    let mut cps = cps.into_iter().peekable();
    let mut written = 0u64;
    let mut stream = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::OrganizationId.eq(organization))
        .order_by_asc(ledger_entry::Column::Seq)
        .stream(db)
        .await?;
    while let Some(row) = stream.try_next().await? {
        write_line(out, &ExportLine::Entry(row.to_record())).map_err(io)?;
        written += 1;
        while let Some(cp) = cps.next_if(|cp| cp.tree_size as u64 <= written) {
            write_line(out, &ExportLine::Checkpoint(cp.to_checkpoint().to_record())).map_err(io)?;
        }
    }
    for cp in cps {
        write_line(out, &ExportLine::Checkpoint(cp.to_checkpoint().to_record())).map_err(io)?;
    }
    Ok(written)
}
