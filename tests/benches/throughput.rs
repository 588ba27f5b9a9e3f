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

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use futures::StreamExt;
use lethe_api::engine::Mode;
use lethe_entities::domain::enums::RequestState;
use lethe_entities::entity::{ledger_entry, request};
use lethe_tests::app::{Backend, TestApp, org_slug, spawn_app_with, spawn_on};
use lethe_tests::bench::{
    DATA_MAP, connect, cpu_of_processes_named, cpu_of_this_process, create_shop, email_of, machine, url_for,
};
use lethe_tests::mailbox::{code_in, recipient};
use reqwest::StatusCode;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, Statement,
};
use serde_json::json;

/// HTTP calls in flight while the requests are prepared.
const SETUP_PARALLELISM: usize = 8;
/// Ledger entries per request: one per step of the plan (2 kept tables updated, 6 deleted) and
/// the closing entry.
const ENTRIES_PER_REQUEST: u64 = 9;

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
    let shop_name = format!(
        "lethe_bench_throughput_{}_{}",
        time::OffsetDateTime::now_utc().unix_timestamp(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let shop = create_shop(&admin_db, &shop_name, customers).await;
    shop.execute_unprepared("VACUUM (ANALYZE)").await.unwrap();
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
        rates.sort_by(f64::total_cmp);
        println!(
            "{backend:?}: median {:.0} requests/s (min {:.0}, max {:.0}) over {runs} run(s); target >= 250/s",
            rates[rates.len() / 2],
            rates[0],
            rates[rates.len() - 1]
        );
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
    let app = spawn_app_with(backend, Mode::All, |_| {}).await;
    let org = org_slug();
    let admin = app.admin(&org).await;
    register_shop(&app, &admin, shop_name).await;
    let submitted: Vec<(String, String, String)> = futures::stream::iter(persons.clone())
        .map(|c| {
            let (app, org) = (&app, &org);
            async move {
                let email = email_of(c);
                let req = app.submit(org, "erasure", "gdpr", &email).await;
                (email, req.id, req.token)
            }
        })
        .buffer_unordered(SETUP_PARALLELISM)
        .collect()
        .await;
    let codes = codes_by_recipient(&app.outbox, n).await;
    // No worker from here on: approved requests wait in the queue.
    let app = app.restart(Mode::Serve).await;
    futures::stream::iter(&submitted)
        .for_each_concurrent(SETUP_PARALLELISM, |(email, id, token)| {
            let (app, admin, codes) = (&app, &admin, &codes);
            async move {
                let code = &codes[email];
                let (status, body) =
                    app.post(&format!("/v1/requests/{id}/verify"), None, json!({ "token": token, "code": code })).await;
                assert_eq!(status, StatusCode::OK, "{body}");
                let (status, body) = app.post(&format!("/v1/requests/{id}/approve"), Some(admin), json!({})).await;
                assert_eq!(status, StatusCode::OK, "{body}");
            }
        })
        .await;
    assert_eq!(in_state(&app.db, RequestState::Approved).await, n as u64, "every request is approved and queued");

    let (lethe_cpu, postgres_cpu) = (cpu_of_this_process(), cpu_of_processes_named("postgres"));
    let t = Instant::now();
    let mut worker =
        spawn_on(app.database_url.clone(), &app.master_key_base64(), Mode::Worker, app.outbox.clone()).await;
    loop {
        let done = in_state(&app.db, RequestState::Completed).await;
        if done == n as u64 {
            break;
        }
        let failed = in_state(&app.db, RequestState::Failed).await;
        assert!(failed == 0 && t.elapsed() < Duration::from_secs(600), "{done} completed, {failed} failed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let took = t.elapsed();
    let per = |d: Duration| d.as_secs_f64() * 1e3 / n as f64;
    let cpu = CpuPerErasure {
        lethe_ms: per(cpu_of_this_process() - lethe_cpu),
        postgres_ms: per(cpu_of_processes_named("postgres") - postgres_cpu),
    };
    worker.stop().await;

    check_erased(shop, &persons).await;
    let entries = ledger_entry::Entity::find().count(&app.db).await.unwrap();
    assert_eq!(entries, n as u64 * ENTRIES_PER_REQUEST, "one ledger entry per request and step, and one closing");
    let mut app = app;
    app.stop().await;
    (n as f64 / took.as_secs_f64(), cpu)
}

/// Registers the shop as a PostgreSQL store with the erasure benchmark's map.
async fn register_shop(app: &TestApp, admin: &str, shop_name: &str) {
    let (status, created) = app
        .post(
            "/v1/stores",
            Some(admin),
            json!({ "name": "shop", "kind": "postgres", "connection": { "url": url_for(shop_name) } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    let response = app
        .http
        .put(app.url(&format!("/v1/stores/{id}/datamap")))
        .bearer_auth(admin)
        .json(&json!({ "yaml": DATA_MAP }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
}

/// Waits until `n` messages are in the outbox (reading the directory, not the files, while
/// waiting), then returns each recipient's verification code.
async fn codes_by_recipient(outbox: &Path, n: usize) -> BTreeMap<String, String> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let count = std::fs::read_dir(outbox).map_or(0, |d| d.count());
        if count >= n {
            break;
        }
        assert!(Instant::now() < deadline, "{count} of {n} verification messages arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut codes = BTreeMap::new();
    for entry in std::fs::read_dir(outbox).unwrap().flatten() {
        let message = std::fs::read_to_string(entry.path()).unwrap();
        codes.insert(recipient(&message), code_in(&message));
    }
    assert_eq!(codes.len(), n, "one code per person");
    codes
}

async fn in_state(db: &DatabaseConnection, state: RequestState) -> u64 {
    request::Entity::find().filter(request::Column::State.eq(state)).count(db).await.unwrap()
}

/// Every person's rows are gone, their kept orders unlinked and their payments' card numbers
/// pseudonymised; the next customer is whole.
async fn check_erased(shop: &DatabaseConnection, persons: &std::ops::Range<i64>) {
    let (lo, hi) = (persons.start, persons.end - 1);
    let orders = format!("id BETWEEN {} AND {}", 5 * (lo - 1) + 1, 5 * hi);
    let checks = [
        (format!("SELECT count(*) FROM customers WHERE id BETWEEN {lo} AND {hi}"), 0),
        (format!("SELECT count(*) FROM addresses WHERE customer_id BETWEEN {lo} AND {hi}"), 0),
        (format!("SELECT count(*) FROM logins WHERE customer_id BETWEEN {lo} AND {hi}"), 0),
        (format!("SELECT count(*) FROM support_tickets WHERE customer_id BETWEEN {lo} AND {hi}"), 0),
        (format!("SELECT count(*) FROM newsletter_subscribers WHERE id BETWEEN {lo} AND {hi}"), 0),
        (format!("SELECT count(*) FROM order_items WHERE order_id BETWEEN {} AND {}", 5 * (lo - 1) + 1, 5 * hi), 0),
        (format!("SELECT count(*) FROM orders WHERE {orders} AND customer_id IS NULL"), 5 * (hi - lo + 1)),
        (
            format!(
                "SELECT count(*) FROM payments WHERE order_id BETWEEN {} AND {} AND length(card_number) = 64",
                5 * (lo - 1) + 1,
                5 * hi
            ),
            5 * (hi - lo + 1),
        ),
        // The next customer (the next run's, or nobody's) is whole.
        (format!("SELECT count(*) FROM customers WHERE id = {}", hi + 1), 1),
        (format!("SELECT count(*) FROM logins WHERE customer_id = {}", hi + 1), 10),
    ];
    for (sql, expected) in checks {
        assert_eq!(scalar_i64(shop, &sql).await, expected, "{sql}");
    }
}

async fn scalar_i64(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned())).await.unwrap().unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn scalar_text(db: &DatabaseConnection, sql: &str) -> String {
    let row = db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned())).await.unwrap().unwrap();
    row.try_get_by_index::<String>(0).unwrap()
}
