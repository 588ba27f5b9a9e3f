//! Queue-wait benchmark: how long a job waits between the commit that makes it due and its
//! start, for single requests spaced apart, on each way Lethe runs: its database on SQLite, on
//! PostgreSQL, and on PostgreSQL with the API and the workers in two engines that share only the
//! database (what `lethe serve` and `lethe worker` in two processes do: the worker learns of a
//! job through LISTEN/NOTIFY alone).
//!
//! Run with `cargo bench -p lethe-tests --bench queue_wait` (add `-- --quick` for 100 requests
//! per setup instead of 1,000). PostgreSQL must run on 127.0.0.1:5432 (`LETHE_TEST_POSTGRES_URL`
//! overrides the admin URL).
//!
//! Per setup, on a fresh Lethe database with the default queue settings (fallback poll 1 s,
//! heartbeat 10 s) and one small SQLite store: the requests are submitted and verified (untimed),
//! the worker engine is restarted and its workers are registered (so the first jobs after a
//! start are measured too), then each
//! request in turn is approved, followed with `GET /v1/requests/{id}/wait` until it is
//! completed, and the next one comes 10 ms later. From the request's timeline, afterwards:
//! * **queue wait**: `approved` (written in the approving transaction, just before its commit
//!   and the enqueue) to `started` (the fulfilment job's first write): the wait for the job,
//!   plus the commit, the enqueue and the job's first statement;
//! * **server time**: `approved` to `completed` (the whole fulfilment of a store search that
//!   finds nothing).
//!
//! A *stall* is a queue wait over 100 ms. Targets: p99 < 20 ms, max < 100 ms, zero stalls.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use futures::StreamExt;
use lethe_api::engine::Mode;
use lethe_entities::domain::enums::EventKind;
use lethe_entities::entity::request_event;
use lethe_tests::app::{Backend, TestApp, org_slug, spawn_app_with, spawn_on_with};
use lethe_tests::bench::{default_queue, machine};
use lethe_tests::console::{register_sqlite_shop, sqlite_shop};
use lethe_tests::mailbox::{code_in, recipient, wait_for_messages};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder, Statement};
use serde_json::json;
use uuid::Uuid;

/// HTTP calls in flight while the requests are prepared.
const SETUP_PARALLELISM: usize = 8;
/// The pause between one request's completion and the next one's approval.
const SPACING: Duration = Duration::from_millis(10);
/// Lethe's queues: one worker each per engine.
const QUEUES: usize = 6;
/// A queue wait longer than this is a stall.
const STALL: Duration = Duration::from_millis(100);

/// How Lethe runs.
#[derive(Debug, Clone, Copy)]
enum Setup {
    /// One engine on SQLite: the API wakes its workers in-process.
    Sqlite,
    /// One engine on PostgreSQL: the same, plus LISTEN/NOTIFY.
    Postgres,
    /// An API engine and a worker engine on one PostgreSQL database: NOTIFY alone.
    PostgresTwoEngines,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 100 } else { 1000 };
    println!("Queue-wait benchmark on {}; {n} single requests per setup, {SPACING:?} apart.", machine());
    for setup in [Setup::Sqlite, Setup::Postgres, Setup::PostgresTwoEngines] {
        let (waits, servers) = Box::pin(one_setup(setup, n)).await;
        report(setup, &waits, &servers);
    }
}

/// Prepares `n` verified requests, restarts the workers, then approves and follows them one at
/// a time; returns each request's queue wait and server time.
async fn one_setup(setup: Setup, n: usize) -> (Vec<Duration>, Vec<Duration>) {
    let backend = if matches!(setup, Setup::Sqlite) { Backend::Sqlite } else { Backend::Postgres };
    let two = matches!(setup, Setup::PostgresTwoEngines);
    let app = spawn_app_with(backend, Mode::All, default_queue).await;
    let org = org_slug();
    let admin = app.admin(&org).await;
    let dir = tempfile::tempdir().unwrap();
    register_sqlite_shop(&app, &admin, &sqlite_shop(dir.path()).await).await;
    let ids = verified_requests(&app, &org, n).await;
    // A fresh start: the first approvals meet workers that have just begun (once they are
    // registered: before, a job waits for the process to start, not for a wake-up).
    let before = workers(&app).await;
    let (api, mut worker) = if two {
        let api = app.restart(Mode::Serve).await;
        let (url, key) = (api.database_url.clone(), api.master_key_base64());
        let worker = spawn_on_with(url, &key, Mode::Worker, api.outbox.clone(), default_queue).await;
        (api, Some(worker))
    } else {
        (app.restart(Mode::All).await, None)
    };
    while workers(&api).await.difference(&before).count() < QUEUES {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for id in &ids {
        let (status, body) = api.post(&format!("/v1/requests/{id}/approve"), Some(&admin), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, outcome) =
            api.get(&format!("/v1/requests/{id}/wait?state=completed&timeout=60"), Some(&admin)).await;
        assert_eq!((status, &outcome["reached"]), (StatusCode::OK, &json!(true)), "{outcome}");
        tokio::time::sleep(SPACING).await;
    }
    let times = timelines(&api).await;
    if let Some(worker) = worker.as_mut() {
        worker.stop().await;
    }
    let mut api = api;
    api.stop().await;
    ids.iter()
        .map(|id| {
            let at = |kind| times.get(&(*id, kind)).copied().unwrap_or_else(|| panic!("{id}: no {kind:?} event"));
            let approved = at(EventKind::Approved);
            ((at(EventKind::Started) - approved).unsigned_abs(), (at(EventKind::Completed) - approved).unsigned_abs())
        })
        .unzip()
}

/// The names of the workers registered in `app`'s queue.
async fn workers(app: &TestApp) -> HashSet<String> {
    let table = if app.database_url.starts_with("postgres") { "apalis.workers" } else { "Workers" };
    let sql = format!("SELECT id FROM {table}");
    let rows = app.db.query_all_raw(Statement::from_string(app.db.get_database_backend(), sql)).await.unwrap();
    rows.iter().map(|row| row.try_get::<String>("", "id").unwrap()).collect()
}

/// Submits `n` erasure requests of people the shop does not know and verifies them.
async fn verified_requests(app: &TestApp, org: &str, n: usize) -> Vec<Uuid> {
    let submitted: Vec<(String, String, String)> = futures::stream::iter(0..n)
        .map(|i| async move {
            let email = format!("waiting{i}@example.com");
            let req = app.submit(org, "erasure", "gdpr", &email).await;
            (email, req.id, req.token)
        })
        .buffered(SETUP_PARALLELISM)
        .collect()
        .await;
    let codes: BTreeMap<String, String> =
        wait_for_messages(&app.outbox, n).await.iter().map(|m| (recipient(m), code_in(m))).collect();
    futures::stream::iter(&submitted)
        .for_each_concurrent(SETUP_PARALLELISM, |(email, id, token)| {
            let code = &codes[email];
            async move {
                let path = format!("/v1/requests/{id}/verify");
                let (status, body) = app.post(&path, None, json!({ "token": token, "code": code })).await;
                assert_eq!(status, StatusCode::OK, "{body}");
            }
        })
        .await;
    submitted.iter().map(|(_, id, _)| id.parse().unwrap()).collect()
}

/// When each request's events happened, by request and kind (the first of each kind).
async fn timelines(app: &TestApp) -> HashMap<(Uuid, EventKind), time::OffsetDateTime> {
    let events = request_event::Entity::find().order_by_asc(request_event::Column::At).all(&app.db).await.unwrap();
    let mut times = HashMap::new();
    for event in events {
        times.entry((event.request_id, event.kind)).or_insert(event.at);
    }
    times
}

/// The `q` quantile of sorted `xs`, in milliseconds.
fn quantile(xs: &[Duration], q: f64) -> f64 {
    let i = ((xs.len() as f64 * q).ceil() as usize).clamp(1, xs.len()) - 1;
    xs[i].as_secs_f64() * 1e3
}

fn report(setup: Setup, waits: &[Duration], servers: &[Duration]) {
    let stalled: Vec<String> = waits
        .iter()
        .enumerate()
        .filter(|(_, w)| **w > STALL)
        .map(|(i, w)| format!("request {} waited {:.0} ms", i + 1, w.as_secs_f64() * 1e3))
        .collect();
    if !stalled.is_empty() {
        println!("{setup:?}: stalls: {}", stalled.join(", "));
    }
    let (mut waits, mut servers) = (waits.to_vec(), servers.to_vec());
    waits.sort();
    servers.sort();
    let stalls = waits.iter().filter(|w| **w > STALL).count();
    println!(
        "{setup:?}: queue wait p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {stalls} stall(s) over {STALL:?}; \
         server time approved -> completed p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        quantile(&waits, 0.5),
        quantile(&waits, 0.99),
        quantile(&waits, 1.0),
        quantile(&servers, 0.5),
        quantile(&servers, 0.99),
        quantile(&servers, 1.0),
    );
}
