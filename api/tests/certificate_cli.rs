//! The real `lethe` binary verifies a certificate of erasure offline, in an empty directory, and
//! names what fails: an altered count, another key, a file that is not a certificate.

use std::path::Path;
use std::process::{Command, Output};

use lethe_entities::Regime;
use lethe_entities::StoreKind;
use lethe_entities::ledger::certificate::{
    Certificate, CertifiedRecipient, CertifiedStore, ErasedRows, FORMAT, LedgerRange, Outcome, RecipientOutcome,
    RetainedRows, SigningKey, sign,
};
use lethe_entities::ledger::checkpoint::{key_id, public_key_pem};
use uuid::Uuid;

fn verify(dir: &Path, file: &str, key: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lethe"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(["certificate", "verify", file, "--public-key", key])
        .output()
        .unwrap()
}

fn certificate(key: &SigningKey) -> Certificate {
    Certificate {
        format: FORMAT.into(),
        organization_id: Uuid::from_u128(1),
        request_id: Uuid::from_u128(2),
        regime: Regime::Gdpr,
        received_at: "2026-11-01T09:00:00.000000Z".into(),
        completed_at: "2026-11-02T10:00:00.000000Z".into(),
        issued_at: "2026-11-03T08:00:00.000000Z".into(),
        stores: vec![
            CertifiedStore {
                store: "paper-archive".into(),
                kind: StoreKind::Manual,
                outcome: Outcome::CompletedByOperator,
                erased: vec![],
                retained: vec![],
            },
            CertifiedStore {
                store: "shop".into(),
                kind: StoreKind::Postgres,
                outcome: Outcome::Erased,
                erased: vec![
                    ErasedRows { table: "customers".into(), action: "delete_row".into(), rows: 1, ledger_seq: 4 },
                    ErasedRows { table: "orders".into(), action: "pseudonymise".into(), rows: 3, ledger_seq: 5 },
                ],
                retained: vec![RetainedRows {
                    table: "orders".into(),
                    rows: 3,
                    basis: "Bookkeeping law: 7 years".into(),
                    period: "P7Y".into(),
                    until: Some("2033-11-02".into()),
                }],
            },
        ],
        recipients: vec![CertifiedRecipient {
            recipient: "Mailchimp".into(),
            store: "shop".into(),
            outcome: RecipientOutcome::Notified,
            at: "2026-11-02T09:30:00.000000Z".into(),
        }],
        ledger: LedgerRange { first_seq: 4, last_seq: 6, entries: 3, closing_seq: 6 },
        key_id: key_id(&key.verifying_key()),
    }
}

#[test]
fn certificates_verify_offline_and_failures_are_named() {
    let key = SigningKey::from_bytes(&[7; 32]);
    let dir = tempfile::tempdir().unwrap();
    let text = serde_json::to_string_pretty(&sign(certificate(&key), &key)).unwrap();
    std::fs::write(dir.path().join("certificate.json"), &text).unwrap();
    std::fs::write(dir.path().join("key.pem"), public_key_pem(&key.verifying_key())).unwrap();

    let ok = verify(dir.path(), "certificate.json", "key.pem");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(stdout.starts_with("OK: certificate of erasure signed by key"), "{stdout}");
    assert!(stdout.contains("Store shop (postgres): erased."), "{stdout}");
    assert!(stdout.contains("customers: 1 row(s), delete_row (ledger entry #4)"), "{stdout}");
    assert!(stdout.contains("orders: 3 row(s) until 2033-11-02 (Bookkeeping law: 7 years; P7Y)"), "{stdout}");
    assert!(stdout.contains("Store paper-archive (manual): completed by an operator."), "{stdout}");
    assert!(
        stdout.contains("Recipient Mailchimp (of store shop): notified by an operator at 2026-11-02T09:30:00.000000Z."),
        "{stdout}"
    );
    assert!(!dir.path().join("lethe-data").exists(), "verify touched no database");

    let failure = |file: &str, key: &str| {
        let out = verify(dir.path(), file, key);
        assert!(!out.status.success(), "{file} verified");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let tampered = text.replacen("\"rows\": 1,", "\"rows\": 0,", 1);
    assert_ne!(tampered, text);
    std::fs::write(dir.path().join("tampered.json"), tampered).unwrap();
    let stderr = failure("tampered.json", "key.pem");
    assert!(stderr.contains("verification FAILED: the signature does not verify"), "{stderr}");

    // RFC 8032's first test key: a valid key, but not the one that signed.
    let stderr = failure("certificate.json", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    assert!(stderr.contains("names signing key"), "{stderr}");

    std::fs::write(dir.path().join("other.json"), "{\"certificate\": {}}").unwrap();
    let stderr = failure("other.json", "key.pem");
    assert!(stderr.contains("not a signed certificate"), "{stderr}");
}
