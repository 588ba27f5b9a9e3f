//! Certificates of erasure: a signed statement of what Lethe erased for one completed erasure
//! request, store by store and table by table, what it retained and why, and which ledger
//! entries prove it. Pure: built from records the caller read, no I/O.
//!
//! A certificate holds no personal data: no identity, no subject reference, no operator text
//! (a manual store says "completed by an operator", a waived one "waived"; the reasons stay on
//! the request's timeline). Recipients of the data (GDPR Art. 19) are listed by name with how
//! and when they were settled, never with the operator's note. It is signed with the ledger's Ed25519 key over
//!
//! ```text
//! "lethe-certificate/v1\n" || canonical JSON of the certificate
//! ```
//!
//! where the canonical JSON is the `certificate` object with every object's keys sorted by
//! their bytes, no whitespace, integers as decimal digits and strings escaped as `serde_json`
//! does (only `"`, `\` and control characters; `\b \t \n \f \r`, otherwise `\u00xx`). For this
//! document (ASCII keys, integers only) that is RFC 8785 (JCS), so a verifier that re-parses
//! the file, whatever the order of its keys, gets the same bytes.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, Verifier};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// The key types [`sign`] and [`verify`] take (re-exported, so callers need no direct
/// dependency on `ed25519-dalek`).
pub use ed25519_dalek::{SigningKey, VerifyingKey};

use super::checkpoint::key_id;
use super::entry::{EntryKind, format_micros};
use crate::domain::enums::{EventKind, RecipientStatus, Regime, RequestKind, RequestState, StoreKind, TaskStatus};
use crate::entity::{ledger_entry, recipient_task, request, request_event, store_task};

/// The value of [`Certificate::format`].
pub const FORMAT: &str = "lethe-certificate/1";

/// The domain separator the signed bytes start with.
pub const DOMAIN: &[u8] = b"lethe-certificate/v1\n";

/// A certificate of erasure (the signed part).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    /// Always `lethe-certificate/1`.
    pub format: String,
    /// The organization that erased.
    pub organization_id: Uuid,
    /// The erasure request.
    pub request_id: Uuid,
    /// The law it was handled under.
    pub regime: Regime,
    /// When the request was received (RFC 3339 UTC, six fractional digits).
    pub received_at: String,
    /// When it was completed.
    pub completed_at: String,
    /// When this certificate was issued.
    pub issued_at: String,
    /// Every store of the request, by name.
    pub stores: Vec<CertifiedStore>,
    /// Every recipient of the stores' data that was to be told of the erasure (GDPR Art. 19),
    /// by store and name. Absent when the data maps name none (certificates from before
    /// recipients existed verify unchanged).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<CertifiedRecipient>,
    /// The request's entries in the deletion ledger.
    pub ledger: LedgerRange,
    /// Id of the key that signed (the ledger's checkpoint key, `GET /v1/ledger/public-key`).
    pub key_id: String,
}

/// What happened in one store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertifiedStore {
    /// The store's name.
    pub store: String,
    /// Its kind.
    pub kind: StoreKind,
    /// How its part was settled.
    pub outcome: Outcome,
    /// Rows erased, one item per ledger entry, in ledger order.
    pub erased: Vec<ErasedRows>,
    /// Rows kept under a legal obligation (pseudonymised as the data map says).
    pub retained: Vec<RetainedRows>,
}

/// How a store's part of the request was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Erased by Lethe (and verified: nothing of the person was left), or by the store's own
    /// service, which reported its counts (ledger action `service_erase`).
    Erased,
    /// An operator did the work by hand and marked it done (their note stays on the timeline).
    CompletedByOperator,
    /// An admin waived it (their reason stays on the timeline).
    Waived,
}

/// One recipient of a store's data and how notifying it was settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertifiedRecipient {
    /// The recipient's name (a processor, e.g. `Mailchimp`).
    pub recipient: String,
    /// The store whose data map names it.
    pub store: String,
    /// Notified by an operator, or waived by an admin.
    pub outcome: RecipientOutcome,
    /// When (RFC 3339 UTC, six fractional digits).
    pub at: String,
}

/// How notifying a recipient was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecipientOutcome {
    /// An operator notified the recipient (their note stays on the timeline).
    Notified,
    /// An admin waived it (their reason stays on the timeline).
    Waived,
}

/// Rows of one table erased by one ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasedRows {
    /// Table or key pattern.
    pub table: String,
    /// `delete_row`, `update`, `pseudonymise`, `null`, ...
    pub action: String,
    /// Rows the store's own transaction touched.
    pub rows: u64,
    /// The ledger entry that records it.
    pub ledger_seq: u64,
}

/// Rows of one table kept under a legal obligation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetainedRows {
    /// Table or key pattern.
    pub table: String,
    /// Rows kept.
    pub rows: u64,
    /// The legal basis.
    pub basis: String,
    /// How long (ISO 8601 duration).
    pub period: String,
    /// The date they are kept until at the latest (`YYYY-MM-DD`), when known.
    pub until: Option<String>,
}

/// The request's entries in the organization's deletion ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LedgerRange {
    /// Sequence number of its first entry.
    pub first_seq: u64,
    /// Of its last entry.
    pub last_seq: u64,
    /// How many entries name the request.
    pub entries: u64,
    /// The `request_closed` entry.
    pub closing_seq: u64,
}

/// A certificate with its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedCertificate {
    /// What is certified.
    pub certificate: Certificate,
    /// Ed25519 signature over [`Certificate::signed_bytes`], base64.
    pub signature: String,
}

/// Why a certificate could not be built, read or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The request is not an erasure request in state `completed`.
    #[error("the request is not a completed erasure request")]
    NotCompleted,
    /// Lethe's records of the request contradict each other.
    #[error("the request's records are inconsistent: {0}")]
    Inconsistent(&'static str),
    /// The text is not a signed certificate (the message names the field).
    #[error("not a signed certificate: {0}")]
    Malformed(String),
    /// The certificate's format is not one this verifier knows.
    #[error("unsupported format `{0}` (this verifier knows `{FORMAT}`)")]
    Format(String),
    /// The certificate names another signing key than the one given.
    #[error("the certificate names signing key {certificate}, but the given public key is {given}")]
    WrongKey {
        /// The key id in the certificate.
        certificate: String,
        /// The id of the key given.
        given: String,
    },
    /// The signature is not base64 of 64 bytes.
    #[error("the signature is not base64 of a 64-byte Ed25519 signature")]
    MalformedSignature,
    /// The signature does not match the certificate.
    #[error("the signature does not verify: the certificate was altered after signing")]
    Signature,
}

/// What Lethe recorded about a request, read by the caller.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The request.
    pub request: &'a request::Model,
    /// Its store tasks.
    pub tasks: &'a [store_task::Model],
    /// Its recipient tasks (GDPR Art. 19).
    pub recipients: &'a [recipient_task::Model],
    /// Its timeline.
    pub timeline: &'a [request_event::Model],
    /// Its ledger entries (every kind).
    pub entries: &'a [ledger_entry::Model],
}

impl Certificate {
    /// Builds the certificate of a completed erasure request. Erased rows come from the ledger
    /// (the stores' own counts); retained rows from the erasure reports on the timeline; each
    /// store's outcome from its task.
    pub fn build(facts: Facts<'_>, key_id: String, issued_at: OffsetDateTime) -> Result<Self, CertificateError> {
        let request = facts.request;
        if request.kind != RequestKind::Erasure || request.state != RequestState::Completed {
            return Err(CertificateError::NotCompleted);
        }
        let completed_at =
            request.closed_at.ok_or(CertificateError::Inconsistent("completed without a closing time"))?;
        let mut entries: Vec<&ledger_entry::Model> =
            facts.entries.iter().filter(|e| e.request_id == Some(request.id)).collect();
        entries.sort_by_key(|e| e.seq);
        let closing = entries
            .iter()
            .rev()
            .find(|e| e.kind == EntryKind::RequestClosed.as_str())
            .ok_or(CertificateError::Inconsistent("no request_closed entry in the ledger"))?;
        let ledger = LedgerRange {
            first_seq: entries.first().map_or(0, |e| e.seq as u64),
            last_seq: entries.last().map_or(0, |e| e.seq as u64),
            entries: entries.len() as u64,
            closing_seq: closing.seq as u64,
        };
        let erasures: Vec<&ledger_entry::Model> =
            entries.iter().copied().filter(|e| e.kind == EntryKind::Erasure.as_str()).collect();
        if erasures.iter().any(|e| !facts.tasks.iter().any(|t| e.store.as_deref() == Some(t.store_name.as_str()))) {
            return Err(CertificateError::Inconsistent("a ledger entry names a store the request has no task for"));
        }
        let mut tasks: Vec<&store_task::Model> = facts.tasks.iter().collect();
        tasks.sort_by(|a, b| a.store_name.cmp(&b.store_name));
        let stores = tasks
            .into_iter()
            .map(|task| certify_store(task, facts.timeline, &erasures))
            .collect::<Result<Vec<_>, _>>()?;
        let recipients = certify_recipients(facts.recipients)?;
        Ok(Self {
            format: FORMAT.to_owned(),
            organization_id: request.organization_id,
            request_id: request.id,
            regime: request.regime,
            received_at: format_time(request.received_at),
            completed_at: format_time(completed_at),
            issued_at: format_time(issued_at),
            stores,
            recipients,
            ledger,
            key_id,
        })
    }

    /// The bytes the signature covers: [`DOMAIN`] and the canonical JSON (see the module).
    pub fn signed_bytes(&self) -> Vec<u8> {
        let value = serde_json::to_value(self).expect("a certificate is plain JSON");
        let mut out = DOMAIN.to_vec();
        write_canonical(&value, &mut out);
        out
    }
}

/// Signs a certificate with `key`.
pub fn sign(certificate: Certificate, key: &SigningKey) -> SignedCertificate {
    let signature = key.sign(&certificate.signed_bytes());
    SignedCertificate { certificate, signature: STANDARD.encode(signature.to_bytes()) }
}

/// Checks a signed certificate against the public key the verifier trusts; the error names
/// what failed.
pub fn verify(signed: &SignedCertificate, key: &VerifyingKey) -> Result<(), CertificateError> {
    let certificate = &signed.certificate;
    if certificate.format != FORMAT {
        return Err(CertificateError::Format(certificate.format.clone()));
    }
    let given = key_id(key);
    if certificate.key_id != given {
        return Err(CertificateError::WrongKey { certificate: certificate.key_id.clone(), given });
    }
    let bytes: [u8; 64] = STANDARD
        .decode(&signed.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(CertificateError::MalformedSignature)?;
    key.verify(&certificate.signed_bytes(), &Signature::from_bytes(&bytes)).map_err(|_| CertificateError::Signature)
}

/// Reads a signed certificate from its JSON text (keys in any order; unknown fields refused,
/// since they would not be covered by the signature).
pub fn parse(text: &str) -> Result<SignedCertificate, CertificateError> {
    let deserializer = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        CertificateError::Malformed(format!("at `{path}`: {}", e.into_inner()))
    })
}

fn certify_store(
    task: &store_task::Model,
    timeline: &[request_event::Model],
    erasures: &[&ledger_entry::Model],
) -> Result<CertifiedStore, CertificateError> {
    let about_store = |e: &&request_event::Model| {
        e.detail.as_ref().and_then(|d| d.get("store")).and_then(Value::as_str) == Some(task.store_name.as_str())
    };
    let by_operator = timeline.iter().filter(about_store).any(|e| e.kind == EventKind::TaskCompleted);
    let outcome = match task.status {
        TaskStatus::Waived => Outcome::Waived,
        TaskStatus::Done if by_operator || task.store_kind == StoreKind::Manual => Outcome::CompletedByOperator,
        TaskStatus::Done => Outcome::Erased,
        _ => {
            return Err(CertificateError::Inconsistent(
                "a store task of a completed request is neither done nor waived",
            ));
        }
    };
    let erased = erasures
        .iter()
        .filter(|e| e.store.as_deref() == Some(task.store_name.as_str()))
        .map(|e| ErasedRows {
            table: e.table_name.clone().unwrap_or_default(),
            action: e.action.clone().unwrap_or_default(),
            rows: e.row_count as u64,
            ledger_seq: e.seq as u64,
        })
        .collect();
    // Every erasure run reports what it kept; a run retried after a failed verification no
    // longer finds rows an earlier run already unlinked, so the reports are merged per table
    // and basis (largest count, latest date).
    let mut retained: BTreeMap<(String, String, String), RetainedRows> = BTreeMap::new();
    let reports = timeline
        .iter()
        .filter(about_store)
        .filter(|e| matches!(e.kind, EventKind::StoreErased | EventKind::StoreFailed))
        .filter_map(|e| e.detail.as_ref()?.get("retained").cloned())
        .filter_map(|r| serde_json::from_value::<Vec<RetainedRows>>(r).ok());
    for rows in reports.flatten() {
        let key = (rows.table.clone(), rows.basis.clone(), rows.period.clone());
        match retained.get_mut(&key) {
            Some(seen) => {
                seen.rows = seen.rows.max(rows.rows);
                seen.until = seen.until.take().max(rows.until);
            }
            None => {
                retained.insert(key, rows);
            }
        }
    }
    Ok(CertifiedStore {
        store: task.store_name.clone(),
        kind: task.store_kind,
        outcome,
        erased,
        retained: retained.into_values().collect(),
    })
}

fn certify_recipients(tasks: &[recipient_task::Model]) -> Result<Vec<CertifiedRecipient>, CertificateError> {
    let mut tasks: Vec<&recipient_task::Model> = tasks.iter().collect();
    tasks.sort_by(|a, b| (&a.store_name, &a.recipient).cmp(&(&b.store_name, &b.recipient)));
    tasks
        .into_iter()
        .map(|task| {
            let outcome = match task.status {
                RecipientStatus::Notified => RecipientOutcome::Notified,
                RecipientStatus::Waived => RecipientOutcome::Waived,
                RecipientStatus::Waiting => {
                    return Err(CertificateError::Inconsistent(
                        "a recipient of a completed request is neither notified nor waived",
                    ));
                }
            };
            let at = task.settled_at.ok_or(CertificateError::Inconsistent("a settled recipient task has no time"))?;
            Ok(CertifiedRecipient {
                recipient: task.recipient.clone(),
                store: task.store_name.clone(),
                outcome,
                at: format_time(at),
            })
        })
        .collect()
}

fn format_time(t: OffsetDateTime) -> String {
    format_micros((t.unix_timestamp_nanos() / 1_000) as i64)
}

/// Writes `value` as canonical JSON: keys sorted by their bytes, no whitespace.
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_scalar(&Value::String(key.clone()), out);
                out.push(b':');
                write_canonical(&map[key], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn write_scalar(value: &Value, out: &mut Vec<u8>) {
    serde_json::to_writer(out, value).expect("a JSON scalar writes to memory");
}

#[cfg(test)]
mod tests;
