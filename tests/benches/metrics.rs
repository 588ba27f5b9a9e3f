//! Metrics benchmark: the yearly request metrics (CCPA regulations § 7102) and the dashboard's
//! figures over 1,000,000 requests of one organization received in one year, with Lethe's own
//! database on SQLite and on PostgreSQL, against a baseline measured in the same run: a bare
//! `COUNT(*)` of the same year's requests (the least any query reading the year must do).
//!
//! Run with `cargo bench -p lethe-tests --bench metrics` (add `-- --quick` for 100,000
//! requests). PostgreSQL must run on 127.0.0.1:5432 (`LETHE_TEST_POSTGRES_URL` overrides the
//! admin URL); its database and the SQLite file are created fresh and dropped at the end. Every
//! figure is the median (with min and max) of 5 runs after one warm-up.
//!
//! The requests are spread over last year: a sixth of each kind, half under the CCPA, 85%
//! closed (completed, denied or withdrawn) 0 to 44 days after receipt; one in ten has a store
//! task, and one in a hundred of those is waived.

use std::time::{Duration, Instant};

use lethe_entities::reports::Year;
use lethe_entities::reports::dashboard::Dashboard;
use lethe_entities::reports::yearly::YearlyMetrics;
use lethe_migrations::{Migrator, MigratorTraitSelf};
use lethe_tests::bench::{Stats, connect, machine, url_for};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use time::OffsetDateTime;
use uuid::Uuid;

const RUNS: usize = 5;

/// The requests, written in one statement: `{n}` is the row number, `{start}` the year's first
/// day as text; per backend below.
const KIND: &str = "CASE {n} % 6 WHEN 0 THEN 'access' WHEN 1 THEN 'erasure' WHEN 2 THEN 'rectification' \
                    WHEN 3 THEN 'restriction' WHEN 4 THEN 'objection' ELSE 'opt_out' END";
const REGIME: &str = "CASE {n} % 4 WHEN 0 THEN 'ccpa' WHEN 1 THEN 'ccpa' WHEN 2 THEN 'gdpr' ELSE 'lgpd' END";
const STATE: &str = "CASE WHEN {n} % 20 < 14 THEN 'completed' WHEN {n} % 20 < 16 THEN 'denied' \
                     WHEN {n} % 20 = 16 THEN 'canceled' WHEN {n} % 20 = 17 THEN 'pending_approval' \
                     WHEN {n} % 20 = 18 THEN 'in_progress' ELSE 'identity_unverified' END";

/// The statement writing `count` requests of `org` received in `year`.
fn requests(backend: DbBackend, count: u64) -> String {
    let fill = |template: &str, n: &str| template.replace("{n}", n);
    match backend {
        DbBackend::Postgres => {
            let at = |days: &str| {
                format!("($2::timestamptz + (n % 365) * interval '1 day' + (n % 86400) * interval '1 second' + {days})")
            };
            format!(
                "INSERT INTO requests (id, organization_id, kind, regime, state, held_from, email_index, \
                 status_token_digest, received_at, due_at, original_due_at, verified_at, closed_at, locale, updated_at) \
                 SELECT gen_random_uuid(), $1, {kind}, {regime}, {state}, NULL, md5(n::text) || md5(n::text), \
                 md5((n + 1)::text) || md5((n + 1)::text), {received}, {due}, {due}, \
                 CASE WHEN n % 20 < 19 THEN {received} END, \
                 CASE WHEN n % 20 < 17 THEN {closed} END, 'en', {received} \
                 FROM generate_series(1, {count}) n",
                kind = fill(KIND, "n"),
                regime = fill(REGIME, "n"),
                state = fill(STATE, "n"),
                received = at("interval '0 days'"),
                due = at("interval '45 days'"),
                closed = at("(n % 45) * interval '1 day'"),
            )
        }
        _ => {
            let at = |days: &str| {
                format!(
                    "strftime('%Y-%m-%dT%H:%M:%SZ', ?2, '+' || (n % 365) || ' days', '+' || (n % 86400) || ' seconds', \
                     '+' || ({days}) || ' days')"
                )
            };
            format!(
                "INSERT INTO requests (id, organization_id, kind, regime, state, held_from, email_index, \
                 status_token_digest, received_at, due_at, original_due_at, verified_at, closed_at, locale, updated_at) \
                 WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {count}) \
                 SELECT randomblob(16), ?1, {kind}, {regime}, {state}, NULL, lower(hex(randomblob(32))), \
                 lower(hex(randomblob(32))), {received}, {due}, {due}, \
                 CASE WHEN n % 20 < 19 THEN {received} END, \
                 CASE WHEN n % 20 < 17 THEN {closed} END, 'en', {received} FROM g",
                kind = fill(KIND, "n"),
                regime = fill(REGIME, "n"),
                state = fill(STATE, "n"),
                received = at("0"),
                due = at("45"),
                closed = at("n % 45"),
            )
        }
    }
}

/// Store tasks for one request in ten, one in a hundred of them waived.
fn store_tasks(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => {
            "INSERT INTO store_tasks (id, organization_id, request_id, store_id, store_name, store_kind, status, \
             total_rows, attempts, created_at, updated_at) \
             SELECT gen_random_uuid(), organization_id, id, $2, 'shop', 'postgres', \
             CASE WHEN random() < 0.01 THEN 'waived' ELSE 'done' END, 1, 1, received_at, received_at \
             FROM requests WHERE organization_id = $1 AND random() < 0.1"
        }
        _ => {
            "INSERT INTO store_tasks (id, organization_id, request_id, store_id, store_name, store_kind, status, \
             total_rows, attempts, created_at, updated_at) \
             SELECT randomblob(16), organization_id, id, ?2, 'shop', 'postgres', \
             CASE WHEN abs(random()) % 100 = 0 THEN 'waived' ELSE 'done' END, 1, 1, received_at, received_at \
             FROM requests WHERE organization_id = ?1 AND abs(random()) % 10 = 0"
        }
    }
}

/// Writes `count` requests of a new organization received in `year`; returns the organization.
async fn seed(db: &DatabaseConnection, year: Year, count: u64) -> Uuid {
    let (org, _) = lethe_api::accounts::ensure_organization(db, "bench", "Bench").await.unwrap();
    let backend = db.get_database_backend();
    let start = year.start();
    let first_day = format!("{}-01-01", year.number());
    let started = Instant::now();
    let values = match backend {
        DbBackend::Postgres => vec![org.id.into(), start.into()],
        _ => vec![org.id.into(), first_day.into()],
    };
    db.execute_raw(Statement::from_sql_and_values(backend, requests(backend, count), values)).await.unwrap();
    let values = vec![org.id.into(), Uuid::now_v7().into()];
    db.execute_raw(Statement::from_sql_and_values(backend, store_tasks(backend), values)).await.unwrap();
    db.execute_unprepared("ANALYZE").await.unwrap();
    println!("  wrote {count} requests in {:.1} s", started.elapsed().as_secs_f64());
    org.id
}

/// Times `run` [`RUNS`] times after a warm-up.
async fn time<F, Fut>(mut run: F) -> Stats
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    run().await;
    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        run().await;
        times.push(started.elapsed());
    }
    Stats::of(&times)
}

async fn measure(label: &str, db: &DatabaseConnection, count: u64) {
    Migrator::new(&lethe_entities::Keyring::derive(&lethe_entities::MasterKey::generate())).up(db, None).await.unwrap();
    let year = Year::of(OffsetDateTime::now_utc()).previous();
    println!("{label}:");
    let org = seed(db, year, count).await;
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT COUNT(*) AS n FROM requests WHERE organization_id = $1 AND received_at >= $2 AND received_at < $3"
        }
        _ => "SELECT COUNT(*) AS n FROM requests WHERE organization_id = ?1 AND received_at >= ?2 AND received_at < ?3",
    };
    let count_all = || async {
        let values = vec![org.into(), year.start().into(), year.end().into()];
        let row = db.query_one_raw(Statement::from_sql_and_values(backend, sql, values)).await.unwrap().unwrap();
        assert_eq!(row.try_get::<i64>("", "n").unwrap() as u64, count);
    };
    let baseline = time(count_all).await;
    let yearly = time(|| async {
        let metrics = YearlyMetrics::compute(db, org, year, None).await.unwrap();
        assert_eq!(metrics.total.received as u64, count);
    })
    .await;
    let by_law = time(|| async {
        YearlyMetrics::compute(db, org, year, Some(lethe_entities::Regime::Ccpa)).await.unwrap();
    })
    .await;
    let dashboard = time(|| async {
        let board = Dashboard::compute(db, org, year, OffsetDateTime::now_utc()).await.unwrap();
        assert_eq!(board.received.iter().map(|(_, w)| w.iter().sum::<i64>()).sum::<i64>() as u64, count);
    })
    .await;
    println!("  baseline COUNT(*) of the year:   {baseline}");
    println!("  yearly metrics (every law):      {yearly}  ({:.1}x the baseline)", yearly.median / baseline.median);
    println!("  yearly metrics (CCPA only):      {by_law}");
    println!(
        "  dashboard (every figure):        {dashboard}  ({:.1}x the baseline)",
        dashboard.median / baseline.median
    );
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let count: u64 = if quick { 100_000 } else { 1_000_000 };
    println!("Metrics over {count} requests of one organization in one year; {}", machine());

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("lethe.db").display());
    let db = lethe_worker::database::connect(&url).await.unwrap();
    measure("Lethe on SQLite", &db, count).await;
    db.close().await.unwrap();

    let name = format!("lethe_bench_metrics_{}", std::process::id());
    let admin = connect(&lethe_tests::postgres::admin_url()).await;
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap();
    let db = lethe_worker::database::connect(&url_for(&name)).await.unwrap();
    measure("Lethe on PostgreSQL", &db, count).await;
    db.close().await.unwrap();
    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.unwrap();
}
