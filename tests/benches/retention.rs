//! Retention benchmark: purge 1,000,000 expired rows out of 2,000,000 in a PostgreSQL table
//! (an index on the age column; every other row expired, so batches span the whole key range)
//! with batch size 10,000 and no throttle. Lethe's run (a whole engine in this process on a
//! PostgreSQL database of its own: the job, keyset batches, one store transaction each with its
//! ledger intent, receipt and entry) against a hand-written loop of the same batched statements
//! (`SELECT` the next 10,000 keys after the last one, `DELETE ... WHERE id IN (...) AND at <
//! cutoff` in a transaction) on an identical copy of the table in the same database, in the same
//! run. Both tables have autovacuum off and each timed part starts from a `CHECKPOINT`, so
//! neither pays for the other's writes. Prints rows/s for both, the ratio, and the peak resident memory of this process during
//! Lethe's run (`VmHWM`, reset through `/proc/self/clear_refs` just before it).
//!
//! Target: Lethe at least 80% of the hand-written loop's rows/s; peak RSS under 100 MB.
//!
//! Run with `cargo bench -p lethe-tests --bench retention` (add `-- --quick` for 100,000 of
//! 200,000 rows). PostgreSQL must run on 127.0.0.1:5432 (`LETHE_TEST_POSTGRES_URL` overrides
//! the admin URL). The store database is created fresh and dropped at the end.

use std::time::{Duration, Instant};

use lethe_tests::app::{Backend, org_slug, spawn_app};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use serde_json::json;

/// Rows per batch.
const BATCH: u64 = 10_000;

fn url_for(database: &str) -> String {
    let admin = lethe_tests::postgres::admin_url();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    format!("{base}/{database}")
}

async fn connect(url: &str) -> DatabaseConnection {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false).max_connections(2);
    Database::connect(options)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must run on 127.0.0.1:5432 for this benchmark ({e})"))
}

/// A field of `/proc/self/status` in kB.
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn count(db: &DatabaseConnection, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    let row = db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await.unwrap().unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// The hand-written loop: the same keyset batches, each `DELETE` in its own transaction.
async fn hand_written(db: &DatabaseConnection, table: &str, cutoff: &str) -> u64 {
    let mut last: i64 = 0;
    let mut total = 0;
    loop {
        let select = Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("SELECT id FROM {table} WHERE at < $1::timestamptz AND id > $2 ORDER BY id LIMIT {BATCH}"),
            [cutoff.into(), last.into()],
        );
        let keys: Vec<i64> =
            db.query_all_raw(select).await.unwrap().iter().map(|r| r.try_get_by_index::<i64>(0).unwrap()).collect();
        let Some(&max) = keys.last() else { return total };
        let txn = db.begin().await.unwrap();
        let placeholders: Vec<String> = (0..keys.len()).map(|i| format!("${}", i + 2)).collect();
        let mut values: Vec<sea_orm::Value> = vec![cutoff.into()];
        values.extend(keys.iter().map(|k| (*k).into()));
        let delete = Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("DELETE FROM {table} WHERE id IN ({}) AND at < $1::timestamptz", placeholders.join(", ")),
            values,
        );
        total += txn.execute_raw(delete).await.unwrap().rows_affected();
        txn.commit().await.unwrap();
        last = max;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rows: u64 = if quick { 200_000 } else { 2_000_000 };
    let admin = connect(&lethe_tests::postgres::admin_url()).await;
    let name = format!("lethe_bench_retention_{}", time::OffsetDateTime::now_utc().unix_timestamp());
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap();
    let url = url_for(&name);
    let store = connect(&url).await;

    // Two identical tables: odd ids a year old (expired), even ids a day old.
    let started = Instant::now();
    for table in ["events_hand", "events"] {
        for statement in [
            format!(
                "CREATE TABLE {table} (id BIGINT PRIMARY KEY, at TIMESTAMPTZ NOT NULL, kind TEXT NOT NULL, payload TEXT)"
            ),
            format!(
                "INSERT INTO {table} SELECT i, now() - CASE WHEN i % 2 = 1 THEN interval '365 days' ELSE interval '1 day' END, \
                 'page_view', repeat('x', 64) FROM generate_series(1, {rows}) AS i"
            ),
            format!("CREATE INDEX {table}_at ON {table} (at)"),
            format!("VACUUM (ANALYZE) {table}"),
            // Autovacuum would clean the loop's table while Lethe's run is timed: off for both.
            format!("ALTER TABLE {table} SET (autovacuum_enabled = false)"),
        ] {
            store.execute_unprepared(&statement).await.unwrap();
        }
    }
    println!("store: 2 x {rows} rows generated in {:.1?}", started.elapsed());
    let cutoff = (time::OffsetDateTime::now_utc() - time::Duration::days(30))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();

    // The hand-written loop, from a checkpoint (so neither side pays for the other's writes).
    store.execute_unprepared("CHECKPOINT").await.unwrap();
    let started = Instant::now();
    let hand = hand_written(&store, "events_hand", &cutoff).await;
    let hand_time = started.elapsed();
    assert_eq!(hand, rows / 2);
    assert_eq!(count(&store, "events_hand").await as u64, rows / 2);

    // Lethe: a whole engine, a policy, a run.
    let app = spawn_app(Backend::Postgres).await;
    let token = app.admin(&org_slug()).await;
    let (status, created) = app
        .post("/v1/stores", Some(&token), json!({"name": "events", "kind": "postgres", "connection": {"url": url}}))
        .await;
    assert!(status.is_success(), "{created}");
    let policy = json!({
        "name": "events-30-days", "store_id": created["id"], "table": "events", "age_column": "at", "max_age": "P30D",
        "action": {"type": "delete_row"}, "batch_size": BATCH, "legal_basis": "Events are kept 30 days"
    });
    let (status, policy) = app.post("/v1/retention/policies", Some(&token), policy).await;
    assert!(status.is_success(), "{policy}");
    let id = policy["id"].as_str().unwrap();
    store.execute_unprepared("CHECKPOINT").await.unwrap();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = status_kb("VmRSS:");
    let started = Instant::now();
    let (status, run) = app.post(&format!("/v1/retention/policies/{id}/run"), Some(&token), json!({})).await;
    assert!(status.is_success(), "{run}");
    let run = loop {
        let (_, runs) = app.get(&format!("/v1/retention/runs?policy_id={id}"), Some(&token)).await;
        let found = runs[0].clone();
        if !["queued", "running"].contains(&found["state"].as_str().unwrap()) {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let lethe_time = started.elapsed();
    let peak = status_kb("VmHWM:");
    assert_eq!(run["state"], "done", "{run}");
    assert_eq!(run["rows"].as_u64(), Some(rows / 2), "{run}");
    assert_eq!(count(&store, "events").await as u64, rows / 2);
    let (_, entries) = app.get("/v1/ledger/entries?kind=retention_purge&limit=1000", Some(&token)).await;
    let ledger: u64 = entries["entries"].as_array().unwrap().iter().map(|e| e["row_count"].as_u64().unwrap()).sum();
    assert_eq!(ledger, rows / 2, "the ledger has every row");

    let rate = |n: u64, t: Duration| n as f64 / t.as_secs_f64();
    let (hand_rate, lethe_rate) = (rate(hand, hand_time), rate(rows / 2, lethe_time));
    println!(
        "purge {} of {rows} rows, batch {BATCH}, no throttle ({} batches)",
        rows / 2,
        run["batches"].as_u64().unwrap_or(0)
    );
    println!("  hand-written loop: {hand_time:.2?}, {hand_rate:.0} rows/s");
    let at = |field: &str| {
        time::OffsetDateTime::parse(run[field].as_str().unwrap(), &time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let job_time: Duration = (at("finished_at") - at("started_at")).try_into().unwrap();
    let job_rate = rate(rows / 2, job_time);
    println!(
        "  Lethe's run (API call to done, queue pick-up included): {lethe_time:.2?}, {lethe_rate:.0} rows/s ({:.0}% of the loop)",
        100.0 * lethe_rate / hand_rate
    );
    println!(
        "  Lethe's run (job start to finish): {job_time:.2?}, {job_rate:.0} rows/s ({:.0}% of the loop)",
        100.0 * job_rate / hand_rate
    );
    println!(
        "  process RSS before the run {:.1} MB, peak during it (VmHWM) {:.1} MB",
        rss_before as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    println!(
        "targets: >= 80% of the loop: {}; peak RSS < 100 MB: {}",
        if lethe_rate >= 0.8 * hand_rate { "met" } else { "NOT met (API call to done)" },
        if (peak as f64 / 1024.0) < 100.0 { "met" } else { "NOT met" }
    );
    drop(store);
    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.unwrap();
}
