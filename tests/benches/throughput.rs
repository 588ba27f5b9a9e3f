//! Throughput benchmark: 1,000 approved erasure requests queued at once, worked by one worker
//! process; requests completed per second, with Lethe's own database on SQLite and on
//! PostgreSQL.
//!
//! Run with `cargo bench -p lethe-tests --bench throughput` (add `-- --quick` for one run of 200
//! requests per backend instead of 3 runs of 1,000). PostgreSQL must run on 127.0.0.1:5432
//! (`LETHE_TEST_POSTGRES_URL` overrides the admin URL).
//!
//! The store is the PostgreSQL shop of the erasure benchmark (8 tables with foreign keys, 45 rows
//! per customer; orders and payments kept with the customer link cleared and the card number
//! pseudonymised, the rest deleted). Each request is a different customer's. For every run, on a
//! fresh Lethe database: the store and its map are registered, the requests are submitted and
//! their codes mailed (an engine with workers), then, with the API alone running (no worker),
//! verified and approved over HTTP, which queues one fulfilment job each. Timed: from starting one
//! worker engine in this process (`lethe worker` with its default concurrency) until every request
//! is `completed`. Afterwards the shop and the ledger are checked: every person's rows gone or
//! unlinked, nobody else's touched, exactly one ledger entry per request and step.

use std::time::{Duration, Instant};

use lethe_api::engine::Mode;
use lethe_tests::app::{Backend, spawn_on};
use lethe_tests::bench::{connect, cpu_of_processes_named, cpu_of_this_process, fresh_shop, machine, rates_summary};
use lethe_tests::queued::{approved_erasures, check_exactly_once, scalar_i64, scalar_text, until_completed};
use sea_orm::{ConnectionTrait, DatabaseConnection};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (requests, runs) = if quick { (200, 1) } else { (1000, 3) };
    // Each backend's runs take their own customers; a thousand more are never asked about.
    let customers = 2 * requests * runs as i64 + 1000;
    let admin_db = connect(&lethe_tests::postgres::admin_url()).await;
    let version = scalar_text(&admin_db, "SHOW server_version").await;
    println!("Throughput benchmark on {}; PostgreSQL {version}.", machine());

    let started = Instant::now();
    let (shop_name, shop) = fresh_shop(&admin_db, "throughput", customers).await;
    println!(
        "shop: 8 tables, {customers} customers of 45 rows each, created in {:.1} s; {runs} run(s) of {requests} \
         requests per backend, each request a different customer",
        started.elapsed().as_secs_f64()
    );

    let mut first = 1;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let mut rates = Vec::new();
        for run in 1..=runs {
            let persons = first..first + requests;
            first += requests;
            let (rate, cpu) = one_run(backend, &shop_name, &shop, persons.clone()).await;
            println!(
                "  {backend:?} run {run}: {requests} requests in {:.2} s = {rate:.0} requests/s; CPU per erasure: \
                 Lethe's process {:.2} ms, PostgreSQL {:.2} ms",
                requests as f64 / rate,
                cpu.lethe_ms,
                cpu.postgres_ms
            );
            rates.push(rate);
        }
        println!("{backend:?}: {}; target >= 250/s", rates_summary(&mut rates));
    }
    let untouched = scalar_i64(&shop, &format!("SELECT count(*) FROM customers WHERE id >= {first}")).await;
    assert_eq!(untouched, customers - first + 1, "customers nobody asked about are untouched");
    drop(shop);
    admin_db.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{shop_name}\" WITH (FORCE)")).await.unwrap();
}

/// CPU time per erasure during a run, in milliseconds (from `/proc`: stable where wall time
/// is not).
struct CpuPerErasure {
    /// This process: the worker engine (and the idle API engine and this loop's reads).
    lethe_ms: f64,
    /// Every PostgreSQL process (the shop's, and Lethe's own database on that backend).
    postgres_ms: f64,
}

/// One run: prepares `persons.len()` approved requests on a fresh Lethe database, then times one
/// worker working them all. Returns requests completed per second, and the CPU they took.
async fn one_run(
    backend: Backend,
    shop_name: &str,
    shop: &DatabaseConnection,
    persons: std::ops::Range<i64>,
) -> (f64, CpuPerErasure) {
    let n = persons.clone().count();
    let mut app = approved_erasures(backend, shop_name, persons.clone()).await;
    let (lethe_cpu, postgres_cpu) = (cpu_of_this_process(), cpu_of_processes_named("postgres"));
    let t = Instant::now();
    let mut worker =
        spawn_on(app.database_url.clone(), &app.master_key_base64(), Mode::Worker, app.outbox.clone()).await;
    until_completed(&app.db, n).await;
    let took = t.elapsed();
    let per = |d: Duration| d.as_secs_f64() * 1e3 / n as f64;
    let cpu = CpuPerErasure {
        lethe_ms: per(cpu_of_this_process() - lethe_cpu),
        postgres_ms: per(cpu_of_processes_named("postgres") - postgres_cpu),
    };
    worker.stop().await;
    check_exactly_once(&app, shop, &persons).await;
    app.stop().await;
    (n as f64 / took.as_secs_f64(), cpu)
}
