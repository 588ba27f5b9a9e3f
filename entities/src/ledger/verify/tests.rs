//! Tests of [`super`] (verify).

use ed25519_dalek::SigningKey;

use super::*;
use crate::ledger::entry::{Entry, format_micros};

const ORG: Uuid = Uuid::from_u128(0xabc);

/// Builds an export of `n` entries with checkpoints after the entries named in `at`.
fn export(n: u64, at: &[u64], key: &SigningKey) -> Vec<String> {
    let mut lines = vec![line(&ExportLine::Header(ExportHeader {
        format: EXPORT_FORMAT.into(),
        organization_id: ORG,
        exported_at: format_micros(0),
        key_id: "test".into(),
    }))];
    let mut frontier = Frontier::new();
    let mut prev = [0u8; 32];
    for seq in 0..n {
        let e = Entry {
            seq,
            recorded_at_us: 1_000_000 + seq as i64,
            organization_id: ORG,
            kind: "erasure".into(),
            request_id: Some(Uuid::from_u128(u128::from(seq))),
            policy_id: None,
            store: Some("shop".into()),
            table: Some("orders".into()),
            action: Some("delete_row".into()),
            row_count: seq % 7,
            subject_refs: vec![[seq as u8; 32]],
            prev_hash: prev,
        };
        prev = e.leaf_hash();
        frontier.push(prev);
        lines.push(line(&ExportLine::Entry(e.to_record())));
        if at.contains(&(seq + 1)) {
            let cp = Checkpoint::sign(key, ORG, seq + 1, 2_000_000 + seq as i64, frontier.root());
            lines.push(line(&ExportLine::Checkpoint(cp.to_record())));
        }
    }
    lines
}

fn line(l: &ExportLine) -> String {
    serde_json::to_string(l).unwrap()
}

fn run(lines: &[String], key: &SigningKey) -> Result<VerifyReport, VerifyFailure> {
    verify_export(lines.join("\n").as_bytes(), &key.verifying_key())
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

/// Index of the line holding entry `seq` (the header is line 0 here).
fn entry_line(lines: &[String], seq: u64) -> usize {
    lines.iter().position(|l| l.starts_with(&format!("{{\"entry\":{{\"seq\":{seq},"))).unwrap()
}

#[test]
fn an_intact_export_verifies() {
    let lines = export(20, &[5, 10, 20], &key());
    let report = run(&lines, &key()).unwrap();
    assert_eq!((report.entries, report.checkpoints, report.unsigned_tail()), (20, 3, 0));
    let lines = export(12, &[10], &key());
    assert_eq!(run(&lines, &key()).unwrap().unsigned_tail(), 2);
}

#[test]
fn a_changed_byte_is_pinpointed_to_its_entry() {
    let mut lines = export(20, &[10, 20], &key());
    let i = entry_line(&lines, 7);
    lines[i] = lines[i].replace("\"table\":\"orders\"", "\"table\":\"ordens\"");
    let err = run(&lines, &key()).unwrap_err();
    assert_eq!((err.line, err.seq, err.problem), (i as u64 + 1, Some(7), Problem::LeafHashMismatch));
}

#[test]
fn a_changed_entry_with_a_recomputed_hash_breaks_the_chain_at_the_next() {
    let mut lines = export(20, &[10, 20], &key());
    let i = entry_line(&lines, 7);
    let ExportLine::Entry(mut record) = serde_json::from_str(&lines[i]).unwrap() else { panic!() };
    record.row_count += 100;
    record.leaf_hash = to_hex(&record.to_entry().unwrap().leaf_hash());
    lines[i] = line(&ExportLine::Entry(record));
    let err = run(&lines, &key()).unwrap_err();
    assert_eq!((err.seq, err.problem), (Some(8), Problem::ChainBroken));
}

#[test]
fn a_rewritten_tail_fails_at_the_checkpoint_that_covers_it() {
    // An attacker rewrites entry 19 (the last) consistently: only the signed root catches it.
    let mut lines = export(20, &[10, 20], &key());
    let i = entry_line(&lines, 19);
    let ExportLine::Entry(mut record) = serde_json::from_str(&lines[i]).unwrap() else { panic!() };
    record.row_count = 0;
    record.leaf_hash = to_hex(&record.to_entry().unwrap().leaf_hash());
    lines[i] = line(&ExportLine::Entry(record));
    let err = run(&lines, &key()).unwrap_err();
    assert_eq!(err.problem, Problem::RootMismatch { tree_size: 20 });
}

#[test]
fn a_deleted_entry_is_named() {
    let mut lines = export(20, &[10, 20], &key());
    let i = entry_line(&lines, 4);
    lines.remove(i);
    let err = run(&lines, &key()).unwrap_err();
    assert_eq!((err.seq, err.problem), (Some(5), Problem::OutOfSequence { expected: 4, found: 5 }));
}

#[test]
fn reordered_entries_are_named() {
    let mut lines = export(20, &[10, 20], &key());
    let (a, b) = (entry_line(&lines, 12), entry_line(&lines, 13));
    lines.swap(a, b);
    let err = run(&lines, &key()).unwrap_err();
    assert_eq!((err.seq, err.problem), (Some(13), Problem::OutOfSequence { expected: 12, found: 13 }));
}

#[test]
fn a_replaced_checkpoint_is_named() {
    // Signed with the right key over a wrong root (a rogue insider with the key, or a bug).
    let mut lines = export(20, &[10, 20], &key());
    let i = lines.iter().position(|l| l.contains("\"tree_size\":10")).unwrap();
    let forged = Checkpoint::sign(&key(), ORG, 10, 2_000_009, [7; 32]);
    lines[i] = line(&ExportLine::Checkpoint(forged.to_record()));
    let err = run(&lines, &key()).unwrap_err();
    assert_eq!((err.line, err.problem), (i as u64 + 1, Problem::RootMismatch { tree_size: 10 }));
}

#[test]
fn a_signature_forged_with_another_key_is_named() {
    let lines = export(20, &[10, 20], &key());
    let other = SigningKey::from_bytes(&[7; 32]);
    let forged = export(20, &[10, 20], &other);
    let mut mixed = lines.clone();
    let i = lines.iter().position(|l| l.contains("\"tree_size\":20")).unwrap();
    mixed[i] = forged[i].clone();
    let err = run(&mixed, &key()).unwrap_err();
    assert_eq!(err.problem, Problem::BadSignature { tree_size: 20 });
    // And a whole export signed by another key fails at its first checkpoint.
    assert_eq!(run(&forged, &key()).unwrap_err().problem, Problem::BadSignature { tree_size: 10 });
}

#[test]
fn a_truncated_tail_after_a_checkpoint_is_named() {
    let mut lines = export(20, &[10, 20], &key());
    let cp = lines.pop().unwrap();
    lines.truncate(entry_line(&lines, 15));
    lines.push(cp);
    let err = run(&lines, &key()).unwrap_err();
    assert_eq!(err.problem, Problem::Truncated { tree_size: 20, entries: 15 });
}

#[test]
fn checkpoints_must_grow_and_stay_in_place() {
    let lines = export(20, &[10, 20], &key());
    let mut moved = lines.clone();
    let i = moved.iter().position(|l| l.contains("\"tree_size\":10")).unwrap();
    let cp = moved.remove(i);
    moved.push(cp);
    assert_eq!(run(&moved, &key()).unwrap_err().problem, Problem::CheckpointMisplaced { tree_size: 10, seen: 20 });
    let mut repeated = lines.clone();
    let last = repeated.last().unwrap().clone();
    repeated.push(last);
    assert_eq!(run(&repeated, &key()).unwrap_err().problem, Problem::CheckpointOrder { tree_size: 20, previous: 20 });
}

#[test]
fn garbage_and_foreign_lines_are_refused() {
    let mut lines = export(3, &[3], &key());
    lines[2] = "{not json".into();
    assert!(matches!(run(&lines, &key()).unwrap_err().problem, Problem::Malformed(_)));
    assert_eq!(run(&lines[1..], &key()).unwrap_err().problem, Problem::MissingHeader);
    let mut lines = export(3, &[3], &key());
    lines[2] = lines[2].replace(&ORG.to_string(), &Uuid::from_u128(1).to_string());
    assert_eq!(run(&lines, &key()).unwrap_err().problem, Problem::WrongOrganization);
}
