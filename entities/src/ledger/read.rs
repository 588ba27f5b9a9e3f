//! Reading the ledger: pages of entries and checkpoints, leaf hashes for proofs, a subject's
//! entries, and the streaming export.

use std::collections::{BTreeSet, HashMap};

use futures::TryStreamExt;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::LedgerError;
use super::entry::{EntryKind, SubjectRef, format_micros, now_micros};
use super::merkle::{self, Hash, TILE_LEAVES};
use super::verify::{EXPORT_FORMAT, ExportHeader, ExportLine, write_line};
use crate::entity::{ledger_checkpoint, ledger_entry, ledger_head, ledger_subject_ref, ledger_tile};

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

/// An inclusion proof read from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// The entry's leaf hash.
    pub leaf: Hash,
    /// The audit path, nearest sibling first.
    pub path: Vec<Hash>,
    /// The root of the tree of the requested size.
    pub root: Hash,
}

/// The inclusion proof of entry `index` in the tree of the first `size` entries. The caller
/// checks `index < size <= tree size`.
pub async fn inclusion_proof(
    db: &DatabaseConnection,
    organization: Uuid,
    index: u64,
    size: u64,
) -> Result<InclusionProof, LedgerError> {
    let mut wanted = vec![(index, index + 1), (0, size)];
    merkle::inclusion_proof_with(index, size, &mut |a, b| {
        wanted.push((a, b));
        [0; 32]
    });
    let subtrees = Subtrees::load(db, organization, &wanted).await?;
    let path = merkle::inclusion_proof_with(index, size, &mut |a, b| subtrees.root(a, b))
        .ok_or(LedgerError::Invalid("entry outside the tree"))?;
    Ok(InclusionProof { leaf: subtrees.root(index, index + 1), path, root: subtrees.root(0, size) })
}

/// A consistency proof read from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// The proof's hashes.
    pub proof: Vec<Hash>,
    /// Root of the older tree.
    pub first_root: Hash,
    /// Root of the newer tree.
    pub second_root: Hash,
}

/// The consistency proof between the trees of the first `first` and `second` entries. The
/// caller checks `0 < first <= second <= tree size`.
pub async fn consistency_proof(
    db: &DatabaseConnection,
    organization: Uuid,
    first: u64,
    second: u64,
) -> Result<ConsistencyProof, LedgerError> {
    let mut wanted = vec![(0, first), (0, second)];
    merkle::consistency_proof_with(first, second, &mut |a, b| {
        wanted.push((a, b));
        [0; 32]
    });
    let subtrees = Subtrees::load(db, organization, &wanted).await?;
    let proof = merkle::consistency_proof_with(first, second, &mut |a, b| subtrees.root(a, b))
        .ok_or(LedgerError::Invalid("sizes outside the tree"))?;
    Ok(ConsistencyProof { proof, first_root: subtrees.root(0, first), second_root: subtrees.root(0, second) })
}

/// The tiles and leaf hashes needed to compute some subtree roots: each range is cut into its
/// perfect pieces; pieces of at least 256 leaves come from tiles, smaller ones from leaves.
struct Subtrees {
    tiles: HashMap<u64, Hash>,
    leaves: HashMap<u64, Hash>,
}

impl Subtrees {
    async fn load(db: &DatabaseConnection, organization: Uuid, ranges: &[(u64, u64)]) -> Result<Self, LedgerError> {
        let mut tile_ranges = BTreeSet::new();
        let mut leaf_ranges = BTreeSet::new();
        for &(start, end) in ranges {
            for (a, b) in merkle::perfect_pieces(start, end) {
                if b - a >= TILE_LEAVES {
                    tile_ranges.insert((a / TILE_LEAVES, b / TILE_LEAVES));
                } else {
                    leaf_ranges.insert((a, b));
                }
            }
        }
        let mut tiles = HashMap::new();
        for (a, b) in tile_ranges {
            let rows: Vec<(i64, Vec<u8>)> = ledger_tile::Entity::find()
                .select_only()
                .columns([ledger_tile::Column::Idx, ledger_tile::Column::Hash])
                .filter(ledger_tile::Column::OrganizationId.eq(organization))
                .filter(ledger_tile::Column::Idx.gte(a as i64))
                .filter(ledger_tile::Column::Idx.lt(b as i64))
                .into_tuple()
                .all(db)
                .await?;
            for (idx, hash) in rows {
                tiles.insert(idx as u64, to_hash(&hash)?);
            }
        }
        let mut leaves = HashMap::new();
        for (a, b) in leaf_ranges {
            let rows: Vec<(i64, Vec<u8>)> = ledger_entry::Entity::find()
                .select_only()
                .columns([ledger_entry::Column::Seq, ledger_entry::Column::LeafHash])
                .filter(ledger_entry::Column::OrganizationId.eq(organization))
                .filter(ledger_entry::Column::Seq.gte(a as i64))
                .filter(ledger_entry::Column::Seq.lt(b as i64))
                .into_tuple()
                .all(db)
                .await?;
            for (seq, hash) in rows {
                leaves.insert(seq as u64, to_hash(&hash)?);
            }
        }
        let subtrees = Self { tiles, leaves };
        for &(start, end) in ranges {
            if !subtrees.complete(start, end) {
                return Err(LedgerError::Corrupt("entries or tiles missing below the tree size"));
            }
        }
        Ok(subtrees)
    }

    fn pieces(&self, start: u64, end: u64) -> impl Iterator<Item = Option<Hash>> + '_ {
        merkle::perfect_pieces(start, end).into_iter().map(|(a, b)| {
            let (source, a, b) = if b - a >= TILE_LEAVES {
                (&self.tiles, a / TILE_LEAVES, b / TILE_LEAVES)
            } else {
                (&self.leaves, a, b)
            };
            (a..b).map(|i| source.get(&i).copied()).collect::<Option<Vec<_>>>().map(|hashes| merkle::root_of(&hashes))
        })
    }

    fn complete(&self, start: u64, end: u64) -> bool {
        self.pieces(start, end).all(|p| p.is_some())
    }

    /// `MTH(D[start:end])`; only called for ranges checked by [`Subtrees::complete`].
    fn root(&self, start: u64, end: u64) -> Hash {
        let roots: Vec<Hash> = self.pieces(start, end).map(|p| p.unwrap_or([0; 32])).collect();
        merkle::fold_pieces(&roots)
    }
}

fn to_hash(bytes: &[u8]) -> Result<Hash, LedgerError> {
    bytes.try_into().map_err(|_| LedgerError::Corrupt("hash length"))
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
