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
mod tests {
    use super::*;
    use crate::domain::enums::{ActorKind, Regime, RequestKind};
    use time::macros::datetime;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn request() -> request::Model {
        let t = datetime!(2026-11-01 09:00 UTC);
        request::Model {
            id: Uuid::from_u128(7),
            organization_id: Uuid::from_u128(1),
            kind: RequestKind::Erasure,
            regime: Regime::Gdpr,
            state: RequestState::Completed,
            held_from: None,
            email_index: "index".into(),
            status_token_digest: "digest".into(),
            received_at: t,
            due_at: t,
            original_due_at: t,
            acknowledgement_due_at: None,
            extended_at: None,
            extension_reason: None,
            verified_at: Some(t),
            denial_reason: None,
            closed_at: Some(datetime!(2026-11-02 10:30:00.25 UTC)),
            message_ciphertext: None,
            locale: "en".into(),
            updated_at: t,
        }
    }

    fn task(name: &str, kind: StoreKind, status: TaskStatus) -> store_task::Model {
        let t = datetime!(2026-11-02 10:00 UTC);
        store_task::Model {
            id: Uuid::new_v4(),
            organization_id: Uuid::from_u128(1),
            request_id: Uuid::from_u128(7),
            store_id: Uuid::new_v4(),
            store_name: name.into(),
            store_kind: kind,
            status,
            counts: None,
            total_rows: 0,
            error_code: None,
            error_message: None,
            attempts: 1,
            next_attempt_at: None,
            accepted_at: None,
            created_at: t,
            updated_at: t,
        }
    }

    fn recipient(store: &str, name: &str, status: RecipientStatus) -> recipient_task::Model {
        let t = datetime!(2026-11-02 10:00 UTC);
        recipient_task::Model {
            id: Uuid::new_v4(),
            organization_id: Uuid::from_u128(1),
            request_id: Uuid::from_u128(7),
            store_id: Uuid::new_v4(),
            store_name: store.into(),
            recipient: name.into(),
            contact: Some("https://example.net/privacy".into()),
            instructions: "Ask them to delete the contact.".into(),
            tables: None,
            status,
            settled_at: status.is_settled().then_some(datetime!(2026-11-02 10:15 UTC)),
            created_at: t,
            updated_at: t,
        }
    }

    fn event(kind: EventKind, reason: Option<&str>, detail: Value) -> request_event::Model {
        request_event::Model {
            id: Uuid::now_v7(),
            organization_id: Uuid::from_u128(1),
            request_id: Uuid::from_u128(7),
            at: datetime!(2026-11-02 10:00 UTC),
            actor_kind: ActorKind::System,
            actor_id: None,
            kind,
            from_state: None,
            to_state: None,
            reason: reason.map(str::to_owned),
            detail: Some(detail),
            ip_address: None,
        }
    }

    fn entry(
        seq: i64,
        kind: EntryKind,
        store: Option<&str>,
        table: &str,
        action: &str,
        rows: i64,
    ) -> ledger_entry::Model {
        ledger_entry::Model {
            organization_id: Uuid::from_u128(1),
            seq,
            recorded_at_us: 0,
            kind: kind.as_str().into(),
            request_id: Some(Uuid::from_u128(7)),
            policy_id: None,
            store: store.map(str::to_owned),
            table_name: Some(table.into()).filter(|t: &String| !t.is_empty()),
            action: Some(action.into()),
            row_count: rows,
            subject_refs: vec![9; 32],
            prev_hash: vec![0; 32],
            leaf_hash: vec![0; 32],
        }
    }

    type Records = (
        request::Model,
        Vec<store_task::Model>,
        Vec<request_event::Model>,
        Vec<ledger_entry::Model>,
        Vec<recipient_task::Model>,
    );

    /// A shop erased (orders kept), a paper archive completed by hand, a CRM waived; the shop's
    /// recipients Zendesk notified and Mailchimp waived.
    fn records() -> Records {
        let tasks = vec![
            task("shop", StoreKind::Postgres, TaskStatus::Done),
            task("paper-archive", StoreKind::Manual, TaskStatus::Done),
            task("crm", StoreKind::Mysql, TaskStatus::Waived),
        ];
        let timeline = vec![
            event(
                EventKind::StoreErased,
                None,
                serde_json::json!({
                    "store": "shop",
                    "erased": [{"table": "customers", "action": "delete_row", "rows": 1, "ledger_seq": 10}],
                    "retained": [{"table": "orders", "rows": 3, "basis": "Bookkeeping law: 7 years", "period": "P7Y", "until": "2033-11-02"}],
                }),
            ),
            event(
                EventKind::TaskCompleted,
                Some("Shredded Ann's folder"),
                serde_json::json!({"store": "paper-archive"}),
            ),
            event(EventKind::TaskWaived, Some("Ann has no CRM record"), serde_json::json!({"store": "crm"})),
            event(
                EventKind::RecipientNotified,
                Some("Told Zendesk about Ann by their form"),
                serde_json::json!({"store": "shop", "recipient": "Zendesk"}),
            ),
        ];
        let recipients = vec![
            recipient("shop", "Zendesk", RecipientStatus::Notified),
            recipient("shop", "Mailchimp", RecipientStatus::Waived),
        ];
        let entries = vec![
            entry(10, EntryKind::Erasure, Some("shop"), "customers", "delete_row", 1),
            entry(11, EntryKind::Erasure, Some("shop"), "orders", "pseudonymise", 3),
            entry(12, EntryKind::RequestClosed, None, "", "completed", 0),
        ];
        (request(), tasks, timeline, entries, recipients)
    }

    fn certificate() -> Certificate {
        let (request, tasks, timeline, entries, recipients) = records();
        let facts =
            Facts { request: &request, tasks: &tasks, recipients: &recipients, timeline: &timeline, entries: &entries };
        Certificate::build(facts, key_id(&key(1).verifying_key()), datetime!(2026-11-03 08:00 UTC)).unwrap()
    }

    #[test]
    fn builds_from_the_records_without_personal_text() {
        let cert = certificate();
        let names: Vec<(&str, Outcome)> = cert.stores.iter().map(|s| (s.store.as_str(), s.outcome)).collect();
        assert_eq!(
            names,
            [("crm", Outcome::Waived), ("paper-archive", Outcome::CompletedByOperator), ("shop", Outcome::Erased)]
        );
        let shop = &cert.stores[2];
        assert_eq!(
            shop.erased.iter().map(|e| (e.table.as_str(), e.rows, e.ledger_seq)).collect::<Vec<_>>(),
            [("customers", 1, 10), ("orders", 3, 11)]
        );
        assert_eq!(shop.retained[0].basis, "Bookkeeping law: 7 years");
        assert_eq!(shop.retained[0].until.as_deref(), Some("2033-11-02"));
        assert_eq!(cert.ledger, LedgerRange { first_seq: 10, last_seq: 12, entries: 3, closing_seq: 12 });
        assert_eq!(cert.completed_at, "2026-11-02T10:30:00.250000Z");
        let recipients: Vec<(&str, &str, RecipientOutcome, &str)> = cert
            .recipients
            .iter()
            .map(|r| (r.store.as_str(), r.recipient.as_str(), r.outcome, r.at.as_str()))
            .collect();
        assert_eq!(
            recipients,
            [
                ("shop", "Mailchimp", RecipientOutcome::Waived, "2026-11-02T10:15:00.000000Z"),
                ("shop", "Zendesk", RecipientOutcome::Notified, "2026-11-02T10:15:00.000000Z"),
            ]
        );
        let text = serde_json::to_string(&sign(cert, &key(1))).unwrap();
        assert!(!text.contains("Ann") && !text.contains("Shredded") && !text.contains("index"), "{text}");
        assert!(!text.contains("their form") && !text.contains("Ask them") && !text.contains("example.net"), "{text}");
    }

    #[test]
    fn only_completed_erasure_requests_are_certified() {
        let (mut request, tasks, timeline, entries, recipients) = records();
        request.state = RequestState::InProgress;
        let facts =
            Facts { request: &request, tasks: &tasks, recipients: &recipients, timeline: &timeline, entries: &entries };
        assert_eq!(
            Certificate::build(facts, "k".into(), OffsetDateTime::now_utc()),
            Err(CertificateError::NotCompleted)
        );
        request.state = RequestState::Completed;
        request.kind = RequestKind::Access;
        let facts =
            Facts { request: &request, tasks: &tasks, recipients: &recipients, timeline: &timeline, entries: &entries };
        assert_eq!(
            Certificate::build(facts, "k".into(), OffsetDateTime::now_utc()),
            Err(CertificateError::NotCompleted)
        );
        request.kind = RequestKind::Erasure;
        let facts = Facts {
            request: &request,
            tasks: &tasks,
            recipients: &recipients,
            timeline: &timeline,
            entries: &entries[..2],
        };
        assert!(matches!(
            Certificate::build(facts, "k".into(), OffsetDateTime::now_utc()),
            Err(CertificateError::Inconsistent(_))
        ));
    }

    #[test]
    fn a_signed_certificate_round_trips_through_its_file() {
        let signed = sign(certificate(), &key(1));
        let text = serde_json::to_string_pretty(&signed).unwrap();
        let back = parse(&text).unwrap();
        assert_eq!(back, signed);
        assert_eq!(verify(&back, &key(1).verifying_key()), Ok(()));
    }

    #[test]
    fn any_change_is_detected() {
        let signed = sign(certificate(), &key(1));
        let pk = key(1).verifying_key();
        let changes: [fn(&mut Certificate); 8] = [
            |c| c.recipients[1].outcome = RecipientOutcome::Waived,
            |c| c.recipients[0].recipient = "Mailchimp Inc".into(),
            |c| c.recipients.clear(),
            |c| c.stores[2].erased[0].rows = 0,
            |c| c.stores[2].store = "shop2".into(),
            |c| c.stores[2].retained[0].basis = "Because".into(),
            |c| c.stores[0].outcome = Outcome::Erased,
            |c| c.ledger.closing_seq += 1,
        ];
        for (i, change) in changes.iter().enumerate() {
            let mut bad = signed.clone();
            change(&mut bad.certificate);
            assert_eq!(verify(&bad, &pk), Err(CertificateError::Signature), "change {i}");
        }
        let mut bad = signed.clone();
        bad.signature = "not base64!".into();
        assert_eq!(verify(&bad, &pk), Err(CertificateError::MalformedSignature));
        let mut bad = signed;
        bad.certificate.format = "lethe-certificate/2".into();
        assert_eq!(verify(&bad, &pk), Err(CertificateError::Format("lethe-certificate/2".into())));
    }

    #[test]
    fn every_recipient_must_be_settled() {
        let (request, tasks, timeline, entries, mut recipients) = records();
        recipients.push(recipient("shop", "Hubspot", RecipientStatus::Waiting));
        let facts =
            Facts { request: &request, tasks: &tasks, recipients: &recipients, timeline: &timeline, entries: &entries };
        assert!(matches!(
            Certificate::build(facts, "k".into(), OffsetDateTime::now_utc()),
            Err(CertificateError::Inconsistent(_))
        ));
    }

    #[test]
    fn without_recipients_the_document_has_no_recipients_field() {
        let (request, tasks, timeline, entries, _) = records();
        let facts = Facts { request: &request, tasks: &tasks, recipients: &[], timeline: &timeline, entries: &entries };
        let cert = Certificate::build(facts, key_id(&key(1).verifying_key()), OffsetDateTime::now_utc()).unwrap();
        let signed = sign(cert, &key(1));
        let value = serde_json::to_value(&signed).unwrap();
        assert!(value["certificate"].get("recipients").is_none(), "{value}");
        // A certificate issued before recipients existed reads and verifies as it did.
        let back = parse(&value.to_string()).unwrap();
        assert_eq!(verify(&back, &key(1).verifying_key()), Ok(()));
    }

    #[test]
    fn another_key_is_refused() {
        let signed = sign(certificate(), &key(1));
        assert!(matches!(verify(&signed, &key(2).verifying_key()), Err(CertificateError::WrongKey { .. })));
        // Even when the certificate is made to name the other key.
        let mut forged = signed;
        forged.certificate.key_id = key_id(&key(2).verifying_key());
        assert_eq!(verify(&forged, &key(2).verifying_key()), Err(CertificateError::Signature));
    }

    /// JSON text with every object's keys in reverse order and some whitespace.
    fn reversed(value: &Value) -> String {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                keys.reverse();
                let items: Vec<String> = keys.iter().map(|k| format!("{:?} : {}", k, reversed(&map[*k]))).collect();
                format!("{{ {} }}", items.join(",\n "))
            }
            Value::Array(items) => format!("[ {} ]", items.iter().map(reversed).collect::<Vec<_>>().join(", ")),
            scalar => scalar.to_string(),
        }
    }

    #[test]
    fn reordered_keys_in_the_file_still_verify() {
        let signed = sign(certificate(), &key(1));
        let text = reversed(&serde_json::to_value(&signed).unwrap());
        assert!(text.starts_with("{ \"signature\""), "{text}");
        let back = parse(&text).unwrap();
        assert_eq!(verify(&back, &key(1).verifying_key()), Ok(()));
        assert!(signed.certificate.signed_bytes().starts_with(b"lethe-certificate/v1\n{\"completed_at\":"));
    }

    #[test]
    fn unknown_fields_are_refused_and_named() {
        let mut value = serde_json::to_value(sign(certificate(), &key(1))).unwrap();
        value["certificate"]["stores"][0]["note"] = Value::String("unsigned".into());
        let error = parse(&value.to_string()).unwrap_err();
        assert!(matches!(&error, CertificateError::Malformed(m) if m.contains("certificate.stores[0]")), "{error}");
    }

    #[test]
    fn retained_reports_of_retried_runs_are_merged() {
        let (request, tasks, mut timeline, entries, recipients) = records();
        let kept = |rows: u64, until: &str| serde_json::json!({"store": "shop", "retained": [{"table": "orders", "rows": rows, "basis": "Bookkeeping law: 7 years", "period": "P7Y", "until": until}]});
        timeline.insert(0, event(EventKind::StoreFailed, None, kept(2, "2033-11-01")));
        timeline.push(event(EventKind::StoreErased, None, kept(1, "2033-11-04")));
        let facts =
            Facts { request: &request, tasks: &tasks, recipients: &recipients, timeline: &timeline, entries: &entries };
        let cert = Certificate::build(facts, "k".into(), OffsetDateTime::now_utc()).unwrap();
        let orders = &cert.stores[2].retained;
        assert_eq!(orders.len(), 1);
        assert_eq!((orders[0].rows, orders[0].until.as_deref()), (3, Some("2033-11-04")));
    }
}
