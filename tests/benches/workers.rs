//! Several workers benchmark: the throughput benchmark's queue of approved erasure requests on
//! one PostgreSQL database, worked by 1, 2 and 4 separate `lethe worker` processes (the release
//! binary, as deployed: each with its own pool and LISTEN connection). The jobs in flight stay
//! 16 in all (`LETHE_WORKER_CONCURRENCY` 16, 8 and 4): on two cores more only queue for the
//! CPU, and 4 processes of 16 jobs each need more connections (Lethe's pool of 16, the store's
//! pool of 4 and the LISTEN connection per process) than PostgreSQL's default 100. Reports requests completed per second and CPU per erasure (of the worker processes
//! together, and of PostgreSQL), and checks that each request was worked exactly once: every
//! person erased exactly as the map says, exactly one `store_erased` event and one completion
//! per request, every ledger intent applied once and exactly one ledger entry per request and
//! step.
//!
//! Run with `cargo bench -p lethe-tests --bench workers` (add `-- --quick` for one run of 200
//! requests per setup instead of 3 runs of 600). It builds the `lethe` binary in release mode
//! first (`cargo build --release -p lethe-api --bin lethe`; nothing to do when it is built).
//! PostgreSQL must run on 127.0.0.1:5432 (`LETHE_TEST_POSTGRES_URL` overrides the admin URL).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use lethe_entities::domain::enums::EventKind;
use lethe_entities::entity::{ledger_intent, request_event};
use lethe_tests::app::Backend;
use lethe_tests::bench::{connect, cpu_of_pid, cpu_of_processes_named, fresh_shop, machine, rates_summary};
use lethe_tests::queued::{approved_erasures, check_exactly_once, scalar_i64, scalar_text, until_completed};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

/// Worker processes per setup.
const SETUPS: [usize; 3] = [1, 2, 4];
/// Jobs in flight across the processes: one process's default.
const TOTAL_CONCURRENCY: usize = 16;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (requests, runs) = if quick { (200, 1) } else { (600, 3) };
    let lethe = build_lethe();
    let customers = (SETUPS.len() * requests * runs) as i64 + 1000;
    let admin_db = connect(&lethe_tests::postgres::admin_url()).await;
    let version = scalar_text(&admin_db, "SHOW server_version").await;
    println!("Several-workers benchmark on {}; PostgreSQL {version}; worker binary {}.", machine(), lethe.display());
    let (shop_name, shop) = fresh_shop(&admin_db, "workers", customers).await;
    println!("shop: {customers} customers of 45 rows each; {runs} run(s) of {requests} requests per setup");

    let mut first = 1;
    let mut results: Vec<(usize, Vec<f64>)> = SETUPS.iter().map(|&n| (n, Vec::new())).collect();
    // Runs interleave the setups (1, 2, 4, 1, 2, 4, ...) so a drift of the machine hits all alike.
    for run in 1..=runs {
        for (workers, rates) in &mut results {
            let persons = first..first + requests as i64;
            first += requests as i64;
            let (rate, cpu) = one_run(&lethe, *workers, &shop_name, &shop, persons).await;
            println!(
                "  {workers} worker process(es), run {run}: {rate:.0} requests/s; CPU per erasure: workers {:.2} ms, \
                 PostgreSQL {:.2} ms",
                cpu.workers_ms, cpu.postgres_ms
            );
            rates.push(rate);
        }
    }
    for (workers, rates) in &mut results {
        println!("{workers} worker process(es): {}", rates_summary(rates));
    }
    drop(shop);
    admin_db.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{shop_name}\" WITH (FORCE)")).await.unwrap();
}

/// Builds the release `lethe` binary next to this benchmark's and returns its path.
fn build_lethe() -> PathBuf {
    // The cargo that runs this benchmark (`cargo bench` sets CARGO), else the one on the path.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace");
    let status = Command::new(cargo)
        .args(["build", "--release", "--locked", "-p", "lethe-api", "--bin", "lethe"])
        .current_dir(workspace)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the lethe binary builds");
    // This benchmark is target/release/deps/workers-<hash>: the binary is target/release/lethe.
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(|deps| deps.parent()).map(|release| release.join("lethe")).expect("target/release")
}

/// CPU time per erasure during a run, in milliseconds.
struct CpuPerErasure {
    /// The worker processes together.
    workers_ms: f64,
    /// Every PostgreSQL process (the shop's and Lethe's own database).
    postgres_ms: f64,
}

/// One run: prepares `persons.len()` approved requests on a fresh Lethe database on PostgreSQL,
/// then times `workers` worker processes working them all, and checks the outcome.
async fn one_run(
    lethe: &std::path::Path,
    workers: usize,
    shop_name: &str,
    shop: &DatabaseConnection,
    persons: std::ops::Range<i64>,
) -> (f64, CpuPerErasure) {
    let n = persons.clone().count();
    let mut app = approved_erasures(Backend::Postgres, shop_name, persons.clone()).await;
    let data = tempfile::tempdir().unwrap();
    let postgres_cpu = cpu_of_processes_named("postgres");
    let t = Instant::now();
    let mut children: Vec<Child> = (0..workers)
        .map(|i| {
            let dir = data.path().join(format!("worker-{i}"));
            Command::new(lethe)
                .arg("worker")
                .env("LETHE_ENV", "development")
                .env("LETHE_DATABASE_URL", &app.database_url)
                .env("LETHE_MASTER_KEY", app.master_key_base64())
                .env("LETHE_DATA_DIR", &dir)
                .env("LETHE_WORKER_CONCURRENCY", (TOTAL_CONCURRENCY / workers).to_string())
                .env("LETHE_LOG", "warn")
                .stdout(Stdio::null())
                .spawn()
                .expect("lethe worker starts")
        })
        .collect();
    until_completed(&app.db, n).await;
    let took = t.elapsed();
    // Read while the workers still run (their CPU since they started, start-up included).
    let workers_cpu: std::time::Duration = children.iter().map(|c| cpu_of_pid(c.id())).sum();
    let per = |d: std::time::Duration| d.as_secs_f64() * 1e3 / n as f64;
    let cpu = CpuPerErasure {
        workers_ms: per(workers_cpu),
        postgres_ms: per(cpu_of_processes_named("postgres") - postgres_cpu),
    };
    for child in &mut children {
        // SIGTERM: a worker drains and stops.
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    }
    for child in &mut children {
        let _ = child.wait();
    }
    check_exactly_once(&app, shop, &persons).await;
    let once = |kind: EventKind| {
        let db = app.db.clone();
        async move { request_event::Entity::find().filter(request_event::Column::Kind.eq(kind)).count(&db).await.unwrap() }
    };
    assert_eq!(once(EventKind::StoreErased).await, n as u64, "one store_erased event per request");
    assert_eq!(once(EventKind::Completed).await, n as u64, "one completion per request");
    let intents = ledger_intent::Entity::find().count(&app.db).await.unwrap();
    let applied =
        ledger_intent::Entity::find().filter(ledger_intent::Column::State.eq("applied")).count(&app.db).await.unwrap();
    assert_eq!((intents, applied), (8 * n as u64, 8 * n as u64), "one intent per request and step, each applied");
    let still = scalar_i64(shop, "SELECT count(*) FROM lethe_ledger_receipts WHERE outcome = 'void'").await;
    assert_eq!(still, 0, "no receipt was fenced: no erasure was voided");
    app.stop().await;
    (n as f64 / took.as_secs_f64(), cpu)
}
