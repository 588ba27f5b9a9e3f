//! Ledger benchmark: append throughput on SQLite and offline verification of a 1,000,000-entry
//! export, each against a baseline measured in the same run.
//!
//! Run with `cargo bench -p lethe-tests --bench ledger` (add `-- --quick` for a smaller run).
//! Every figure is the median of several runs.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use lethe_entities::ledger::checkpoint::Checkpoint;
use lethe_entities::ledger::entry::Entry;
use lethe_entities::ledger::merkle::Frontier;
use lethe_entities::ledger::verify::{EXPORT_FORMAT, ExportHeader, ExportLine, verify_export, write_line};
use lethe_entities::ledger::{self, EntryKind, NewEntry};
use lethe_migrations::{Migrator, MigratorTraitSelf};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use uuid::Uuid;

const RUNS: usize = 5;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpu}, {} cores available", std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn new_entries(n: usize) -> Vec<NewEntry> {
    (0..n)
        .map(|i| NewEntry {
            request_id: Some(Uuid::now_v7()),
            store: Some("shop".into()),
            table: Some("orders".into()),
            action: Some("delete_row".into()),
            row_count: i as u64,
            subject_refs: vec![[i as u8; 32]],
            ..NewEntry::new(EntryKind::Erasure)
        })
        .collect()
}

async fn fresh_db(dir: &std::path::Path, name: &str) -> (DatabaseConnection, Uuid) {
    let url = format!("sqlite://{}?mode=rwc", dir.join(name).display());
    let db = lethe_worker::database::connect(&url).await.unwrap();
    Migrator::new(&lethe_entities::Keyring::derive(&lethe_entities::MasterKey::generate()))
        .up(&db, None)
        .await
        .unwrap();
    let (org, _) = lethe_api::accounts::ensure_organization(&db, "bench", "Bench").await.unwrap();
    db.execute_unprepared(
        "CREATE TABLE plain_entries (organization_id BLOB, seq INTEGER, recorded_at_us INTEGER, kind TEXT, \
         request_id BLOB, policy_id BLOB, store TEXT, table_name TEXT, action TEXT, row_count INTEGER, \
         subject_refs BLOB, prev_hash BLOB, leaf_hash BLOB, PRIMARY KEY (organization_id, seq))",
    )
    .await
    .unwrap();
    (db, org.id)
}

/// Appends `total` entries in transactions of `batch`; returns entries per second.
async fn ledger_append(db: &DatabaseConnection, org: Uuid, total: usize, batch: usize) -> f64 {
    let batches: Vec<Vec<NewEntry>> = (0..total / batch).map(|_| new_entries(batch)).collect();
    let start = Instant::now();
    for entries in &batches {
        let txn = lethe_entities::entity::begin_write(db).await.unwrap();
        ledger::append(&txn, org, entries).await.unwrap();
        txn.commit().await.unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
}

/// The baseline: the same rows, the same batches, inserted with no hashing, chain or head.
async fn plain_insert(db: &DatabaseConnection, org: Uuid, total: usize, batch: usize, offset: usize) -> f64 {
    use sea_orm::sea_query::{Alias, Query};
    let start = Instant::now();
    for b in 0..total / batch {
        let txn = lethe_entities::entity::begin_write(db).await.unwrap();
        let mut insert = Query::insert();
        insert.into_table(Alias::new("plain_entries")).columns(
            [
                "organization_id",
                "seq",
                "recorded_at_us",
                "kind",
                "request_id",
                "policy_id",
                "store",
                "table_name",
                "action",
                "row_count",
                "subject_refs",
                "prev_hash",
                "leaf_hash",
            ]
            .map(Alias::new),
        );
        for i in 0..batch {
            let seq = (offset + b * batch + i) as i64;
            insert.values_panic([
                org.into(),
                seq.into(),
                0i64.into(),
                "erasure".into(),
                Some(Uuid::now_v7()).into(),
                Option::<Uuid>::None.into(),
                "shop".into(),
                "orders".into(),
                "delete_row".into(),
                (i as i64).into(),
                vec![i as u8; 32].into(),
                vec![0u8; 32].into(),
                vec![1u8; 32].into(),
            ]);
        }
        // Chunked like the ledger's insert (at most 1000 rows per statement).
        txn.execute(&insert).await.unwrap();
        txn.commit().await.unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
}

/// Writes an export of `n` entries with a checkpoint every 1000 entries.
fn write_export(path: &std::path::Path, n: u64, key: &SigningKey) {
    let org = Uuid::from_u128(7);
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    let header = ExportHeader {
        format: EXPORT_FORMAT.into(),
        organization_id: org,
        exported_at: "2026-11-22T00:00:00.000000Z".into(),
        key_id: "bench".into(),
    };
    write_line(&mut out, &ExportLine::Header(header)).unwrap();
    let mut frontier = Frontier::new();
    let mut prev = [0u8; 32];
    for seq in 0..n {
        let e = Entry {
            seq,
            recorded_at_us: 1_795_000_000_000_000 + seq as i64,
            organization_id: org,
            kind: "erasure".into(),
            request_id: Some(Uuid::from_u128(u128::from(seq) << 64 | 0xfeed)),
            policy_id: None,
            store: Some("shop".into()),
            table: Some("orders".into()),
            action: Some("delete_row".into()),
            row_count: seq % 17,
            subject_refs: vec![[seq as u8; 32]],
            prev_hash: prev,
        };
        prev = e.leaf_hash();
        frontier.push(prev);
        write_line(&mut out, &ExportLine::Entry(e.to_record())).unwrap();
        if (seq + 1) % 1000 == 0 {
            let cp = Checkpoint::sign(key, org, seq + 1, 1_795_000_000_000_000 + seq as i64, frontier.root());
            write_line(&mut out, &ExportLine::Checkpoint(cp.to_record())).unwrap();
        }
    }
    out.flush().unwrap();
}

/// The baseline: reading and parsing every line, no hashing or signatures.
fn parse_only(path: &std::path::Path) -> usize {
    let mut reader = BufReader::with_capacity(1 << 20, std::fs::File::open(path).unwrap());
    let mut line = String::new();
    let mut n = 0;
    while reader.read_line(&mut line).unwrap() > 0 {
        let parsed: ExportLine = serde_json::from_str(line.trim_end()).unwrap();
        if let ExportLine::Entry(e) = parsed {
            n += e.to_entry().unwrap().row_count as usize & 1;
        }
        line.clear();
    }
    n
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (append_total, export_size) = if quick { (20_000, 100_000) } else { (100_000, 1_000_000) };
    println!("Ledger benchmark on {}; median of {RUNS} runs each.", machine());
    let dir = tempfile::tempdir().unwrap();

    for batch in [1_000usize, 1] {
        let total = if batch == 1 { append_total / 20 } else { append_total };
        let mut ledger_rates = Vec::new();
        let mut plain_rates = Vec::new();
        let mut proof_times = Vec::new();
        for run in 0..RUNS {
            let (db, org) = fresh_db(dir.path(), &format!("append-{batch}-{run}.db")).await;
            ledger_rates.push(ledger_append(&db, org, total, batch).await);
            plain_rates.push(plain_insert(&db, org, total, batch, 0).await);
            if batch > 1 {
                let start = Instant::now();
                let proof = ledger::read::inclusion_proof(&db, org, total as u64 / 3, total as u64).await.unwrap();
                std::hint::black_box(proof);
                proof_times.push(secs(start.elapsed()));
            }
            db.close().await.unwrap();
        }
        let (l, p) = (median(ledger_rates), median(plain_rates));
        println!(
            "append on SQLite, {total} entries in transactions of {batch}: ledger {l:.0} entries/s; \
             baseline plain INSERT of the same rows {p:.0} rows/s (ledger at {:.0}% of baseline)",
            100.0 * l / p
        );
        if !proof_times.is_empty() {
            println!(
                "inclusion proof at tree size {total} (tiles of 256 + leaves): {:.1} ms",
                median(proof_times) * 1e3
            );
        }
    }

    let key = SigningKey::from_bytes(&[3; 32]);
    let path = dir.path().join("export.jsonl");
    write_export(&path, export_size, &key);
    let size_mb = std::fs::metadata(&path).unwrap().len() as f64 / 1e6;
    let mut verify_times = Vec::new();
    let mut parse_times = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let report =
            verify_export(BufReader::with_capacity(1 << 20, std::fs::File::open(&path).unwrap()), &key.verifying_key())
                .expect("the generated export verifies");
        verify_times.push(secs(start.elapsed()));
        assert_eq!(report.entries, export_size);
        let start = Instant::now();
        std::hint::black_box(parse_only(&path));
        parse_times.push(secs(start.elapsed()));
    }
    let (v, p) = (median(verify_times), median(parse_times));
    println!(
        "offline verification of {export_size} entries ({size_mb:.0} MB, {} checkpoints): {v:.2} s \
         ({:.0} entries/s); baseline parse-only {p:.2} s",
        export_size / 1000,
        export_size as f64 / v
    );
}
