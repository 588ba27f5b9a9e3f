//! One ledger entry, its canonical byte encoding (what is hashed) and its JSON form (what is
//! exported). The encoding is deliberately simple so an auditor can reimplement it:
//!
//! ```text
//! u8      format version (1)
//! u64     seq                      all integers big-endian
//! i64     recorded_at, microseconds since the Unix epoch (UTC)
//! [16]    organization id (UUID bytes)
//! str     kind                     str = u32 length + UTF-8 bytes
//! opt16   request id               opt16 = 0x00, or 0x01 + 16 UUID bytes
//! opt16   policy id
//! optstr  store name               optstr = 0x00, or 0x01 + str
//! optstr  table (or key pattern) name
//! optstr  action
//! u64     row count
//! u32     number of subject references, then 32 bytes each
//! [32]    prev_hash: the leaf hash of entry seq-1 (32 zero bytes for seq 0)
//! ```
//!
//! The entry's leaf hash is `SHA-256(0x00 || encoding)` ([`super::merkle::leaf_hash`]); it is
//! both the Merkle leaf and the link the next entry's `prev_hash` carries.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::merkle::{Hash, leaf_hash};

/// The encoding version written first in every entry.
pub const ENTRY_FORMAT: u8 = 1;

/// Longest store, table or action name accepted.
pub const MAX_NAME_LEN: usize = 128;

/// Most subject references on one entry.
pub const MAX_SUBJECT_REFS: usize = 16;

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Personal data erased for a request.
    Erasure,
    /// Data purged by a retention policy.
    RetentionPurge,
    /// An access export's file deleted and its key destroyed.
    ExportPurge,
    /// A legal hold placed.
    HoldPlaced,
    /// A legal hold released.
    HoldReleased,
    /// A request reached a final state (completed, denied or cancelled).
    RequestClosed,
}

impl EntryKind {
    /// Every kind.
    pub const ALL: [Self; 6] = [
        Self::Erasure,
        Self::RetentionPurge,
        Self::ExportPurge,
        Self::HoldPlaced,
        Self::HoldReleased,
        Self::RequestClosed,
    ];

    /// The stable name, as encoded and exported.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Erasure => "erasure",
            Self::RetentionPurge => "retention_purge",
            Self::ExportPurge => "export_purge",
            Self::HoldPlaced => "hold_placed",
            Self::HoldReleased => "hold_released",
            Self::RequestClosed => "request_closed",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A keyed pseudonym of one identity: it tells nothing about the person to whoever holds the
/// ledger, but Lethe can recompute it from an identity to find that person's entries.
pub type SubjectRef = [u8; 32];

/// One ledger entry, as hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position in the organization's ledger, from 0; also the Merkle leaf index.
    pub seq: u64,
    /// When it was appended, in microseconds since the Unix epoch.
    pub recorded_at_us: i64,
    /// The organization whose ledger this is.
    pub organization_id: Uuid,
    /// What happened (a stable name, see [`EntryKind`]).
    pub kind: String,
    /// The request that caused it.
    pub request_id: Option<Uuid>,
    /// The retention policy that caused it.
    pub policy_id: Option<Uuid>,
    /// The store's name (never a value from it).
    pub store: Option<String>,
    /// The table, collection or key pattern.
    pub table: Option<String>,
    /// The action applied (`delete_row`, `null`, `redact`, `hash`, `keep`, `crypto_shred`, ...).
    pub action: Option<String>,
    /// How many rows (keys, files) it touched.
    pub row_count: u64,
    /// The subjects concerned, as keyed pseudonyms.
    pub subject_refs: Vec<SubjectRef>,
    /// The leaf hash of the previous entry.
    pub prev_hash: Hash,
}

impl Entry {
    /// The canonical encoding (see the module documentation).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160 + 32 * self.subject_refs.len());
        self.encode_into(&mut out);
        out
    }

    /// Appends the canonical encoding to `out` (reusing its allocation).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        self.view().encode_into(out);
    }

    /// The entry, borrowed.
    pub fn view(&self) -> EntryView<'_> {
        EntryView {
            seq: self.seq,
            recorded_at_us: self.recorded_at_us,
            organization_id: self.organization_id,
            kind: &self.kind,
            request_id: self.request_id,
            policy_id: self.policy_id,
            store: self.store.as_deref(),
            table: self.table.as_deref(),
            action: self.action.as_deref(),
            row_count: self.row_count,
            subject_refs: &self.subject_refs,
            prev_hash: &self.prev_hash,
        }
    }

    /// `SHA-256(0x00 || encoding)`.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.encode())
    }

    /// The exported JSON form, with the leaf hash for convenience (verifiers recompute it).
    pub fn to_record(&self) -> EntryRecord {
        EntryRecord {
            seq: self.seq,
            recorded_at: format_micros(self.recorded_at_us),
            organization_id: self.organization_id,
            kind: self.kind.clone(),
            request_id: self.request_id,
            policy_id: self.policy_id,
            store: self.store.clone(),
            table: self.table.clone(),
            action: self.action.clone(),
            row_count: self.row_count,
            subject_refs: self.subject_refs.iter().map(|r| to_hex(r)).collect(),
            prev_hash: to_hex(&self.prev_hash),
            leaf_hash: to_hex(&self.leaf_hash()),
        }
    }
}

/// An entry's fields, borrowed: what the encoding is computed from (the verifier builds these
/// straight from the export's text without copying it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryView<'a> {
    /// See [`Entry::seq`].
    pub seq: u64,
    /// See [`Entry::recorded_at_us`].
    pub recorded_at_us: i64,
    /// See [`Entry::organization_id`].
    pub organization_id: Uuid,
    /// See [`Entry::kind`].
    pub kind: &'a str,
    /// See [`Entry::request_id`].
    pub request_id: Option<Uuid>,
    /// See [`Entry::policy_id`].
    pub policy_id: Option<Uuid>,
    /// See [`Entry::store`].
    pub store: Option<&'a str>,
    /// See [`Entry::table`].
    pub table: Option<&'a str>,
    /// See [`Entry::action`].
    pub action: Option<&'a str>,
    /// See [`Entry::row_count`].
    pub row_count: u64,
    /// See [`Entry::subject_refs`].
    pub subject_refs: &'a [SubjectRef],
    /// See [`Entry::prev_hash`].
    pub prev_hash: &'a Hash,
}

impl EntryView<'_> {
    /// Appends the canonical encoding (see the module documentation) to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(ENTRY_FORMAT);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.recorded_at_us.to_be_bytes());
        out.extend_from_slice(self.organization_id.as_bytes());
        put_str(out, self.kind);
        put_opt_uuid(out, self.request_id);
        put_opt_uuid(out, self.policy_id);
        put_opt_str(out, self.store);
        put_opt_str(out, self.table);
        put_opt_str(out, self.action);
        out.extend_from_slice(&self.row_count.to_be_bytes());
        out.extend_from_slice(&(self.subject_refs.len() as u32).to_be_bytes());
        for r in self.subject_refs {
            out.extend_from_slice(r);
        }
        out.extend_from_slice(self.prev_hash);
    }
}

/// An entry as JSON (in exports and the API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EntryRecord {
    /// Position in the ledger, from 0.
    pub seq: u64,
    /// RFC 3339 UTC with exactly six fractional digits.
    #[schema(example = "2026-11-22T10:00:00.000000Z")]
    pub recorded_at: String,
    /// The organization.
    pub organization_id: Uuid,
    /// `erasure`, `retention_purge`, `export_purge`, `hold_placed`, `hold_released`, `request_closed`.
    pub kind: String,
    /// The request that caused it.
    pub request_id: Option<Uuid>,
    /// The retention policy that caused it.
    pub policy_id: Option<Uuid>,
    /// Store name.
    pub store: Option<String>,
    /// Table, collection or key pattern.
    pub table: Option<String>,
    /// Action applied.
    pub action: Option<String>,
    /// Rows touched.
    pub row_count: u64,
    /// Subject references, hex.
    pub subject_refs: Vec<String>,
    /// Leaf hash of the previous entry, hex.
    pub prev_hash: String,
    /// This entry's leaf hash, hex.
    pub leaf_hash: String,
}

/// Why a JSON entry could not be turned back into an [`Entry`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RecordError(pub &'static str);

impl EntryRecord {
    /// Rebuilds the hashed entry from its JSON form.
    pub fn to_entry(&self) -> Result<Entry, RecordError> {
        let subject_refs = self
            .subject_refs
            .iter()
            .map(|h| from_hex32(h).ok_or(RecordError("a subject_ref is not 64 hex digits")))
            .collect::<Result<_, _>>()?;
        Ok(Entry {
            seq: self.seq,
            recorded_at_us: parse_micros(&self.recorded_at).ok_or(RecordError("recorded_at is not RFC 3339"))?,
            organization_id: self.organization_id,
            kind: self.kind.clone(),
            request_id: self.request_id,
            policy_id: self.policy_id,
            store: self.store.clone(),
            table: self.table.clone(),
            action: self.action.clone(),
            row_count: self.row_count,
            subject_refs,
            prev_hash: from_hex32(&self.prev_hash).ok_or(RecordError("prev_hash is not 64 hex digits"))?,
        })
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

fn put_opt_uuid(out: &mut Vec<u8>, id: Option<Uuid>) {
    match id {
        None => out.push(0),
        Some(id) => {
            out.push(1);
            out.extend_from_slice(id.as_bytes());
        }
    }
}

/// The current time in whole microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000) as i64
}

/// `2026-11-22T10:00:00.123456Z` for a microsecond timestamp.
pub fn format_micros(us: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    t.format(&format).expect("a valid UTC date formats")
}

/// Parses an RFC 3339 timestamp into microseconds; `None` if it is not one or has sub-microsecond
/// digits that would be lost.
pub fn parse_micros(s: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    let nanos = t.unix_timestamp_nanos();
    if nanos % 1_000 != 0 {
        return None;
    }
    i64::try_from(nanos / 1_000).ok()
}

/// Lower-case hex.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Parses exactly 64 hex digits.
pub fn from_hex32(s: &str) -> Option<[u8; 32]> {
    let bytes = s.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Entry {
        Entry {
            seq: 7,
            recorded_at_us: 1_795_000_000_123_456,
            organization_id: Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            kind: "erasure".into(),
            request_id: Some(Uuid::from_u128(1)),
            policy_id: None,
            store: Some("shop".into()),
            table: Some("customers".into()),
            action: Some("delete_row".into()),
            row_count: 3,
            subject_refs: vec![[7u8; 32]],
            prev_hash: [9u8; 32],
        }
    }

    #[test]
    fn encoding_is_the_documented_layout() {
        let e = sample();
        let bytes = e.encode();
        let mut expected = vec![1u8];
        expected.extend_from_slice(&7u64.to_be_bytes());
        expected.extend_from_slice(&1_795_000_000_123_456i64.to_be_bytes());
        expected.extend_from_slice(e.organization_id.as_bytes());
        expected.extend_from_slice(&7u32.to_be_bytes());
        expected.extend_from_slice(b"erasure");
        expected.push(1);
        expected.extend_from_slice(Uuid::from_u128(1).as_bytes());
        expected.push(0);
        expected.push(1);
        expected.extend_from_slice(&4u32.to_be_bytes());
        expected.extend_from_slice(b"shop");
        expected.push(1);
        expected.extend_from_slice(&9u32.to_be_bytes());
        expected.extend_from_slice(b"customers");
        expected.push(1);
        expected.extend_from_slice(&10u32.to_be_bytes());
        expected.extend_from_slice(b"delete_row");
        expected.extend_from_slice(&3u64.to_be_bytes());
        expected.extend_from_slice(&1u32.to_be_bytes());
        expected.extend_from_slice(&[7u8; 32]);
        expected.extend_from_slice(&[9u8; 32]);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn json_round_trip_preserves_the_hash() {
        let e = sample();
        let record = e.to_record();
        assert_eq!(record.recorded_at, "2026-11-18T11:06:40.123456Z");
        let json = serde_json::to_string(&record).unwrap();
        let back: EntryRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back.to_entry().unwrap(), e);
        assert_eq!(back.leaf_hash, to_hex(&e.leaf_hash()));
    }

    #[test]
    fn absent_and_empty_fields_encode_differently() {
        let mut a = sample();
        a.store = None;
        let mut b = sample();
        b.store = Some(String::new());
        assert_ne!(a.leaf_hash(), b.leaf_hash());
    }

    #[test]
    fn timestamps_with_lost_precision_are_refused() {
        assert_eq!(parse_micros("2026-11-18T11:06:40.123456Z"), Some(1_795_000_000_123_456));
        assert_eq!(parse_micros("2026-11-18T08:26:40.1234567Z"), None);
        assert_eq!(parse_micros("yesterday"), None);
        assert_eq!(from_hex32(&"zz".repeat(32)), None);
        assert_eq!(from_hex32(&to_hex(&[0xab; 32])), Some([0xab; 32]));
    }
}
