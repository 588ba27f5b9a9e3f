//! Jobs start because their workers are woken, never because a timer came round. With the
//! fallback poll and the workers' heartbeats both an hour away (before this, a fetch that missed
//! a job left it for the next heartbeat, 10-30 s), requests go through every job they need (the
//! verification code, the fulfilment, its notices) one after the other, starting with the first
//! jobs after a start: in one engine, woken in-process by whoever enqueued the job, and on
//! PostgreSQL across engines that share nothing but the database, woken by LISTEN/NOTIFY.

use std::time::Duration;

use lethe_api::config::Settings;
use lethe_api::engine::Mode;
use lethe_tests::app::{org_slug, spawn_on_with};
use lethe_tests::console::{register_sqlite_shop, sqlite_shop};
use lethe_tests::{Backend, TestApp, spawn_app_with};
use reqwest::StatusCode;
use serde_json::json;

/// Requests followed one after the other, each from submission to completion.
const REQUESTS: usize = 5;

/// No timer finds jobs: only wake-ups start them.
fn no_timers(settings: &mut Settings) {
    settings.queue_poll = Duration::from_secs(3600);
    settings.worker_heartbeat = Duration::from_secs(3600);
}

/// Takes `REQUESTS` erasure requests through verification, approval, the search of a small shop
/// and completion, one at a time, through `api` (whose workers, here or elsewhere, must be woken
/// for each job).
async fn follow_requests(api: &TestApp) {
    let org = org_slug();
    let admin = api.admin(&org).await;
    let dir = tempfile::tempdir().unwrap();
    register_sqlite_shop(api, &admin, &sqlite_shop(dir.path()).await).await;
    for i in 0..REQUESTS {
        let req = api.verified(&org, "erasure", "gdpr", &format!("woken{i}@example.com")).await;
        let (status, body) = api.post(&format!("/v1/requests/{}/approve", req.id), Some(&admin), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let wait = format!("/v1/requests/{}/wait?state=completed,failed&timeout=60", req.id);
        let (status, outcome) = api.get(&wait, Some(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{outcome}");
        assert_eq!(outcome["reached"], true, "request {i} was never worked: {outcome}");
        assert_eq!(outcome["request"]["state"], "completed", "{outcome}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_start_on_a_wake_up_in_one_engine_sqlite() {
    let mut app = spawn_app_with(Backend::Sqlite, Mode::All, no_timers).await;
    follow_requests(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_start_on_a_wake_up_in_one_engine_postgres() {
    let mut app = spawn_app_with(Backend::Postgres, Mode::All, no_timers).await;
    follow_requests(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_start_on_postgres_notify_in_another_engine() {
    // The API engine has no workers; the worker engine shares only the database with it, so
    // the API's jobs can reach it through PostgreSQL alone.
    let mut api = spawn_app_with(Backend::Postgres, Mode::Serve, no_timers).await;
    let (url, key) = (api.database_url.clone(), api.master_key_base64());
    let mut worker = spawn_on_with(url, &key, Mode::Worker, api.outbox.clone(), no_timers).await;
    follow_requests(&api).await;
    worker.stop().await;
    api.stop().await;
}

/// How many jobs sit fetched (`Queued`) and locked to a worker in `app`'s queue.
async fn fetched_and_locked(app: &TestApp) -> i64 {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let backend = app.db.get_database_backend();
    let table = if backend == DbBackend::Postgres { "apalis.jobs" } else { "Jobs" };
    let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE status = 'Queued' AND lock_by IS NOT NULL");
    let row = app.db.query_one_raw(Statement::from_string(backend, sql)).await.unwrap().unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// An engine stopped gracefully while its workers fetch leaves no job locked to itself: what it
/// fetched and never started is back in the queue, and the next engine (whose heartbeat, and so
/// whose orphan recovery, is an hour away) sends every code at once. Before, a fetch under way
/// at the stop left its jobs to the orphan recovery: after a restart, a request's link waited
/// 10-30 s for its acknowledgement that nobody could send.
async fn a_graceful_stop_leaves_no_job_locked(backend: Backend) {
    let mut app = spawn_app_with(backend, Mode::All, no_timers).await;
    let org = org_slug();
    app.admin(&org).await;
    let addresses: Vec<String> = (0..12).map(|i| format!("stopped{i}@example.com")).collect();
    let submitted = addresses.iter().map(|a| app.submit(&org, "access", "gdpr", a));
    futures::future::join_all(submitted).await;
    app.stop().await;
    assert_eq!(fetched_and_locked(&app).await, 0, "jobs left locked to a stopped worker");
    let (url, key) = (app.database_url.clone(), app.master_key_base64());
    let mut next = spawn_on_with(url, &key, Mode::All, app.outbox.clone(), no_timers).await;
    for address in &addresses {
        next.code_for(address, 1).await;
    }
    next.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_leaves_no_job_locked_sqlite() {
    a_graceful_stop_leaves_no_job_locked(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_leaves_no_job_locked_postgres() {
    a_graceful_stop_leaves_no_job_locked(Backend::Postgres).await;
}
