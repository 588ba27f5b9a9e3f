//! Tests of [`super`] (certificate).

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
        extension_reason_ciphertext: None,
        verified_at: Some(t),
        denial_reason_ciphertext: None,
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
        // Stored encrypted; the bytes of the text stand in for it (a certificate reads neither).
        reason_ciphertext: reason.map(|r| r.as_bytes().to_vec()),
        detail: Some(detail),
        ip_address: None,
    }
}

fn entry(seq: i64, kind: EntryKind, store: Option<&str>, table: &str, action: &str, rows: i64) -> ledger_entry::Model {
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
        event(EventKind::TaskCompleted, Some("Shredded Ann's folder"), serde_json::json!({"store": "paper-archive"})),
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
    let recipients: Vec<(&str, &str, RecipientOutcome, &str)> =
        cert.recipients.iter().map(|r| (r.store.as_str(), r.recipient.as_str(), r.outcome, r.at.as_str())).collect();
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
    assert_eq!(Certificate::build(facts, "k".into(), OffsetDateTime::now_utc()), Err(CertificateError::NotCompleted));
    request.state = RequestState::Completed;
    request.kind = RequestKind::Access;
    let facts =
        Facts { request: &request, tasks: &tasks, recipients: &recipients, timeline: &timeline, entries: &entries };
    assert_eq!(Certificate::build(facts, "k".into(), OffsetDateTime::now_utc()), Err(CertificateError::NotCompleted));
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
