//! Offline verification of an exported ledger: no database, no network, only the export file
//! and the public key the auditor already trusts.
//!
//! The export is JSON lines: one `{"header": ...}`, then `{"entry": ...}` lines in sequence
//! order with `{"checkpoint": ...}` lines placed right after the entry that completes them.
//! The verifier streams it once, in O(log n) memory:
//!
//! 1. every entry belongs to the header's organization and has the next sequence number;
//! 2. its `prev_hash` equals the recomputed leaf hash of the entry before it (32 zero bytes for
//!    the first), and its recomputed leaf hash equals the `leaf_hash` it carries;
//! 3. each leaf is pushed onto a Merkle frontier; at each checkpoint the recomputed root of the
//!    first `tree_size` leaves must equal the checkpoint's root, and its Ed25519 signature must
//!    verify under the trusted key;
//! 4. checkpoints grow (strictly larger tree sizes, non-decreasing times). Because every root is
//!    recomputed from one sequence of leaves, each checkpoint's tree is a prefix of the next:
//!    the consistency a consistency proof would show is checked on the full data;
//! 5. no checkpoint may cover more entries than the file holds (a truncated tail).
//!
//! The first failure is reported with its line and entry.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::{Arc, Mutex, mpsc};

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::checkpoint::{Checkpoint, CheckpointRecord};
use super::entry::{EntryRecord, EntryView, from_hex32, parse_micros, to_hex};
use super::merkle::{Frontier, Hash};

/// The export's format name.
pub const EXPORT_FORMAT: &str = "lethe-ledger/1";

/// The first line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportHeader {
    /// Always [`EXPORT_FORMAT`].
    pub format: String,
    /// The organization whose ledger this is.
    pub organization_id: Uuid,
    /// When the export was written (RFC 3339).
    pub exported_at: String,
    /// The id of the key that signed the checkpoints (informative: verify with a key you trust).
    pub key_id: String,
}

/// One line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportLine {
    /// The header.
    Header(ExportHeader),
    /// An entry.
    Entry(EntryRecord),
    /// A checkpoint.
    Checkpoint(CheckpointRecord),
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The organization.
    pub organization_id: Uuid,
    /// Entries verified.
    pub entries: u64,
    /// Checkpoints verified.
    pub checkpoints: u64,
    /// The latest checkpoint's tree size and root.
    pub latest_checkpoint: Option<(u64, Hash)>,
    /// Root of all entries in the file.
    pub root_hash: Hash,
}

impl VerifyReport {
    /// Entries after the latest checkpoint: chained, but not yet covered by a signature.
    pub fn unsigned_tail(&self) -> u64 {
        self.entries - self.latest_checkpoint.map_or(0, |(size, _)| size)
    }
}

/// What is wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}{}: {problem}", entry_suffix(*.seq))]
pub struct VerifyFailure {
    /// 1-based line number in the file.
    pub line: u64,
    /// The entry concerned, when there is one.
    pub seq: Option<u64>,
    /// The problem.
    pub problem: Problem,
}

fn entry_suffix(seq: Option<u64>) -> String {
    seq.map(|s| format!(" (entry {s})")).unwrap_or_default()
}

/// The kinds of failure, each naming what it found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// Not a JSON line of the export format.
    #[error("not a valid export line: {0}")]
    Malformed(String),
    /// The first line is not a header of a known format.
    #[error("the file does not start with a {EXPORT_FORMAT} header")]
    MissingHeader,
    /// An entry or checkpoint of another organization.
    #[error("belongs to another organization")]
    WrongOrganization,
    /// Entries missing, duplicated or out of order.
    #[error("expected entry {expected} here, found entry {found} (entries missing, duplicated or reordered)")]
    OutOfSequence {
        /// The sequence number that should come next.
        expected: u64,
        /// The one found.
        found: u64,
    },
    /// The entry's contents do not hash to the leaf hash it carries.
    #[error("its contents do not match its leaf hash (the entry was altered)")]
    LeafHashMismatch,
    /// The chain link to the previous entry is broken.
    #[error("prev_hash does not match the previous entry (an entry before it was altered or removed)")]
    ChainBroken,
    /// A checkpoint's root differs from the root recomputed from the entries.
    #[error("checkpoint at tree size {tree_size}: root hash does not match the entries")]
    RootMismatch {
        /// The checkpoint's tree size.
        tree_size: u64,
    },
    /// A checkpoint's signature does not verify under the trusted key.
    #[error("checkpoint at tree size {tree_size}: signature does not verify with the given public key")]
    BadSignature {
        /// The checkpoint's tree size.
        tree_size: u64,
    },
    /// Checkpoints that shrink, repeat or go back in time.
    #[error("checkpoint at tree size {tree_size} does not follow the previous one (size {previous})")]
    CheckpointOrder {
        /// This checkpoint's size.
        tree_size: u64,
        /// The previous checkpoint's size.
        previous: u64,
    },
    /// A checkpoint placed after more entries than it covers.
    #[error("checkpoint at tree size {tree_size} appears after entry {seen} (out of place)")]
    CheckpointMisplaced {
        /// The checkpoint's size.
        tree_size: u64,
        /// Entries already read.
        seen: u64,
    },
    /// A checkpoint covers entries the file does not hold.
    #[error(
        "checkpoint at tree size {tree_size} covers entries the file does not hold (it ends after {entries}: the tail was truncated)"
    )]
    Truncated {
        /// The checkpoint's size.
        tree_size: u64,
        /// Entries in the file.
        entries: u64,
    },
}

/// Lines per unit of parallel work.
const CHUNK_LINES: usize = 4096;

/// Streams an export and verifies it against `key`.
///
/// Parsing and hashing (the costly part) run on all cores in chunks of lines; the checks that
/// depend on order (sequence, chain, Merkle frontier, checkpoints) run on one thread in file
/// order. Memory stays bounded by a few chunks in flight.
pub fn verify_export(reader: impl BufRead + Send, key: &VerifyingKey) -> Result<VerifyReport, VerifyFailure> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    std::thread::scope(|scope| {
        let (work_tx, work_rx) = mpsc::sync_channel::<Chunk>(workers * 2);
        let work_rx = Arc::new(Mutex::new(work_rx));
        let (done_tx, done_rx) = mpsc::sync_channel::<(usize, Vec<ParsedLine>)>(workers * 2);
        for _ in 0..workers {
            let (work_rx, done_tx) = (Arc::clone(&work_rx), done_tx.clone());
            scope.spawn(move || {
                let mut scratch = Vec::with_capacity(512);
                loop {
                    let next = work_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok(chunk)) = next else { return };
                    let parsed = chunk.parse(&mut scratch);
                    if done_tx.send((chunk.index, parsed)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let reading = scope.spawn(move || read_chunks(reader, &work_tx));

        let mut v = Verifier::new(key);
        let mut pending = BTreeMap::new();
        let mut next = 0usize;
        for (index, lines) in done_rx.iter() {
            pending.insert(index, lines);
            while let Some(lines) = pending.remove(&next) {
                for (line, parsed) in lines {
                    v.line(line, parsed)?;
                }
                next += 1;
            }
        }
        let lines = reading.join().expect("the reader does not panic")?;
        v.finish(lines)
    })
}

/// Lines read together, with where each ends in `text`.
struct Chunk {
    index: usize,
    first_line: u64,
    text: String,
    ends: Vec<usize>,
}

/// A line's number and what parsing it gave.
type ParsedLine = (u64, Result<Parsed, (Option<u64>, Problem)>);

impl Chunk {
    fn parse(&self, scratch: &mut Vec<u8>) -> Vec<ParsedLine> {
        let mut start = 0;
        self.ends
            .iter()
            .enumerate()
            .map(|(i, &end)| {
                let text = &self.text[start..end];
                start = end;
                (self.first_line + i as u64, parse_line(text.trim_end(), scratch))
            })
            .collect()
    }
}

/// Reads the file into chunks; returns the number of lines.
fn read_chunks(mut reader: impl BufRead, work: &mpsc::SyncSender<Chunk>) -> Result<u64, VerifyFailure> {
    let mut line_no = 0u64;
    let mut index = 0;
    loop {
        let mut chunk =
            Chunk { index, first_line: line_no + 1, text: String::new(), ends: Vec::with_capacity(CHUNK_LINES) };
        while chunk.ends.len() < CHUNK_LINES {
            let read = reader.read_line(&mut chunk.text).map_err(|e| VerifyFailure {
                line: line_no + 1,
                seq: None,
                problem: Problem::Malformed(e.to_string()),
            })?;
            if read == 0 {
                break;
            }
            line_no += 1;
            chunk.ends.push(chunk.text.len());
        }
        let last = chunk.ends.len() < CHUNK_LINES;
        if !chunk.ends.is_empty() && work.send(chunk).is_err() {
            // The verifier stopped at a failure; it reports that one.
            return Ok(line_no);
        }
        if last {
            return Ok(line_no);
        }
        index += 1;
    }
}

/// A line, parsed and (for entries) hashed.
enum Parsed {
    Blank,
    Header(ExportHeader),
    Entry { seq: u64, organization_id: Uuid, prev_hash: Hash, leaf: Hash, claimed_leaf: Option<Hash> },
    Checkpoint(Checkpoint),
}

/// An export line, borrowing its strings from the text where it can.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum LineRef<'a> {
    Header(ExportHeader),
    Entry(#[serde(borrow)] EntryRef<'a>),
    Checkpoint(CheckpointRecord),
}

/// [`EntryRecord`], borrowed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryRef<'a> {
    seq: u64,
    #[serde(borrow)]
    recorded_at: Cow<'a, str>,
    organization_id: Uuid,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    request_id: Option<Uuid>,
    policy_id: Option<Uuid>,
    #[serde(borrow)]
    store: Option<Cow<'a, str>>,
    #[serde(borrow)]
    table: Option<Cow<'a, str>>,
    #[serde(borrow)]
    action: Option<Cow<'a, str>>,
    row_count: u64,
    #[serde(borrow)]
    subject_refs: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    prev_hash: Cow<'a, str>,
    #[serde(borrow)]
    leaf_hash: Cow<'a, str>,
}

fn parse_line(text: &str, scratch: &mut Vec<u8>) -> Result<Parsed, (Option<u64>, Problem)> {
    if text.is_empty() {
        return Ok(Parsed::Blank);
    }
    let parsed: LineRef<'_> = serde_json::from_str(text).map_err(|e| (None, Problem::Malformed(e.to_string())))?;
    match parsed {
        LineRef::Header(h) => Ok(Parsed::Header(h)),
        LineRef::Checkpoint(record) => record
            .to_checkpoint()
            .map(Parsed::Checkpoint)
            .ok_or((None, Problem::Malformed("checkpoint fields are not hex/base64/RFC 3339".into()))),
        LineRef::Entry(e) => {
            let seq = Some(e.seq);
            let malformed = |what: &str| (seq, Problem::Malformed(what.into()));
            let subject_refs = e
                .subject_refs
                .iter()
                .map(|h| from_hex32(h).ok_or_else(|| malformed("a subject_ref is not 64 hex digits")))
                .collect::<Result<Vec<_>, _>>()?;
            let prev_hash = from_hex32(&e.prev_hash).ok_or_else(|| malformed("prev_hash is not 64 hex digits"))?;
            let view = EntryView {
                seq: e.seq,
                recorded_at_us: parse_micros(&e.recorded_at).ok_or_else(|| malformed("recorded_at is not RFC 3339"))?,
                organization_id: e.organization_id,
                kind: &e.kind,
                request_id: e.request_id,
                policy_id: e.policy_id,
                store: e.store.as_deref(),
                table: e.table.as_deref(),
                action: e.action.as_deref(),
                row_count: e.row_count,
                subject_refs: &subject_refs,
                prev_hash: &prev_hash,
            };
            scratch.clear();
            view.encode_into(scratch);
            Ok(Parsed::Entry {
                seq: e.seq,
                organization_id: e.organization_id,
                prev_hash,
                leaf: super::merkle::leaf_hash(scratch),
                claimed_leaf: from_hex32(&e.leaf_hash),
            })
        }
    }
}

struct Verifier<'k> {
    key: &'k VerifyingKey,
    organization: Option<Uuid>,
    frontier: Frontier,
    prev: Hash,
    pending: BTreeMap<u64, (u64, Checkpoint)>,
    last_checkpoint: Option<Checkpoint>,
    checkpoints: u64,
}

impl<'k> Verifier<'k> {
    fn new(key: &'k VerifyingKey) -> Self {
        Self {
            key,
            organization: None,
            frontier: Frontier::new(),
            prev: [0; 32],
            pending: BTreeMap::new(),
            last_checkpoint: None,
            checkpoints: 0,
        }
    }

    fn line(&mut self, line: u64, parsed: Result<Parsed, (Option<u64>, Problem)>) -> Result<(), VerifyFailure> {
        let fail = |seq, problem| VerifyFailure { line, seq, problem };
        let parsed = parsed.map_err(|(seq, problem)| fail(seq, problem))?;
        if let Parsed::Blank = parsed {
            return Ok(());
        }
        let Some(org) = self.organization else {
            return match parsed {
                Parsed::Header(h) if h.format == EXPORT_FORMAT => {
                    self.organization = Some(h.organization_id);
                    Ok(())
                }
                _ => Err(fail(None, Problem::MissingHeader)),
            };
        };
        match parsed {
            Parsed::Blank => Ok(()),
            Parsed::Header(_) => Err(fail(None, Problem::Malformed("a second header".into()))),
            Parsed::Entry { seq, organization_id, prev_hash, leaf, claimed_leaf } => {
                let at = Some(seq);
                if organization_id != org {
                    return Err(fail(at, Problem::WrongOrganization));
                }
                let expected = self.frontier.size();
                if seq != expected {
                    return Err(fail(at, Problem::OutOfSequence { expected, found: seq }));
                }
                if claimed_leaf != Some(leaf) {
                    return Err(fail(at, Problem::LeafHashMismatch));
                }
                if prev_hash != self.prev {
                    return Err(fail(at, Problem::ChainBroken));
                }
                self.prev = leaf;
                self.frontier.push(leaf);
                if let Some((cp_line, cp)) = self.pending.remove(&self.frontier.size()) {
                    self.check_checkpoint(cp_line, cp)?;
                }
                Ok(())
            }
            Parsed::Checkpoint(cp) => {
                if cp.organization_id != org {
                    return Err(fail(None, Problem::WrongOrganization));
                }
                let seen = self.frontier.size();
                if cp.tree_size < seen {
                    return Err(fail(None, Problem::CheckpointMisplaced { tree_size: cp.tree_size, seen }));
                }
                if cp.tree_size == seen {
                    self.check_checkpoint(line, cp)
                } else {
                    self.pending.insert(cp.tree_size, (line, cp));
                    Ok(())
                }
            }
        }
    }

    fn check_checkpoint(&mut self, line: u64, cp: Checkpoint) -> Result<(), VerifyFailure> {
        let fail = |problem| VerifyFailure { line, seq: None, problem };
        let tree_size = cp.tree_size;
        if let Some(prev) = &self.last_checkpoint
            && (cp.tree_size <= prev.tree_size || cp.signed_at_us < prev.signed_at_us)
        {
            return Err(fail(Problem::CheckpointOrder { tree_size, previous: prev.tree_size }));
        }
        if !cp.verify(self.key) {
            return Err(fail(Problem::BadSignature { tree_size }));
        }
        if cp.root_hash != self.frontier.root() {
            return Err(fail(Problem::RootMismatch { tree_size }));
        }
        self.checkpoints += 1;
        self.last_checkpoint = Some(cp);
        Ok(())
    }

    fn finish(self, lines: u64) -> Result<VerifyReport, VerifyFailure> {
        let organization_id = self.organization.ok_or(VerifyFailure {
            line: lines.max(1),
            seq: None,
            problem: Problem::MissingHeader,
        })?;
        if let Some((tree_size, (line, _))) = self.pending.into_iter().next() {
            return Err(VerifyFailure {
                line,
                seq: None,
                problem: Problem::Truncated { tree_size, entries: self.frontier.size() },
            });
        }
        Ok(VerifyReport {
            organization_id,
            entries: self.frontier.size(),
            checkpoints: self.checkpoints,
            latest_checkpoint: self.last_checkpoint.map(|c| (c.tree_size, c.root_hash)),
            root_hash: self.frontier.root(),
        })
    }
}

/// Writes one export line (JSON and a newline).
pub fn write_line(out: &mut impl std::io::Write, line: &ExportLine) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, line)?;
    out.write_all(b"\n")
}

impl std::fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OK: {} entries, {} checkpoints verified", self.entries, self.checkpoints)?;
        if let Some((size, root)) = &self.latest_checkpoint {
            write!(f, "; latest checkpoint: tree size {size}, root {}", to_hex(root))?;
        }
        if self.unsigned_tail() > 0 {
            write!(f, "; {} entries after it are chained but not yet signed", self.unsigned_tail())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
