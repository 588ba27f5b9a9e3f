//! One-request benchmark: the server time of a single erasure and of a single access request on
//! the benchmarks' 7-table PostgreSQL shop (8 tables, 45 rows per customer; see
//! [`lethe_tests::bench`]), with Lethe's own database on SQLite and on PostgreSQL.
//!
//! Run with `cargo bench -p lethe-tests --bench one_request` (add `-- --quick` for 50 requests of
//! each kind per backend instead of 300). PostgreSQL must run on 127.0.0.1:5432
//! (`LETHE_TEST_POSTGRES_URL` overrides the admin URL).
//!
//! Per backend, on a fresh Lethe database with the default queue settings: the shop is
//! registered, one erasure and one access request per customer are submitted and verified
//! (untimed; each request a different customer), the engine is restarted and its workers
//! registered, then each request in turn is approved over HTTP and followed with
//! `GET /v1/requests/{id}/wait` until it is completed, the next one 10 ms later. Measured from
//! the timeline afterwards:
//! * **erasure**: `approved` to `completed`: start, locate, intents, the store's transaction,
//!   ledger entries, the verification pass and the completion (the verification pass is on);
//! * **access**: `approved` to `export_ready` (recorded once the link's message is handed to
//!   the mail transport, here the file transport): start, locate, the export built, packaged and
//!   encrypted, and the link sent.
//!
//! Also printed per kind: the first request's time after the restart, and the median and the
//! slowest request's timelines (each event's time after the approval): where the time goes.
//!
//! Targets: erasure p50 <= 15 ms and p99 <= 40 ms; access p50 <= 40 ms.

use std::time::Duration;

use lethe_api::engine::Mode;
use lethe_entities::domain::enums::EventKind;
use lethe_entities::entity::request_event;
use lethe_tests::app::{Backend, TestApp, org_slug, spawn_app_with};
use lethe_tests::bench::{connect, default_queue, fresh_shop, machine};
use lethe_tests::queued::{register_shop, scalar_text, verified};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::json;

/// The pause between one request's completion and the next one's approval.
const SPACING: Duration = Duration::from_millis(10);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n: i64 = if quick { 50 } else { 300 };
    let admin_db = connect(&lethe_tests::postgres::admin_url()).await;
    let version = scalar_text(&admin_db, "SHOW server_version").await;
    println!("One-request benchmark on {}; PostgreSQL {version}; {n} requests of each kind per backend.", machine());
    let customers = 4 * n + 1000;
    let (shop_name, shop) = fresh_shop(&admin_db, "one", customers).await;
    let mut first = 1;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let erasures = first..first + n;
        let accesses = first + n..first + 2 * n;
        first += 2 * n;
        let (erasure, access) = Box::pin(one_backend(backend, &shop_name, erasures, accesses)).await;
        report(backend, "erasure, approved -> completed", &erasure);
        report(backend, "access, approved -> export mailed", &access);
    }
    drop(shop);
    admin_db.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{shop_name}\" WITH (FORCE)")).await.unwrap();
}

/// Runs one backend's requests one at a time; returns the erasures' and the accesses' times.
async fn one_backend(
    backend: Backend,
    shop_name: &str,
    erasures: std::ops::Range<i64>,
    accesses: std::ops::Range<i64>,
) -> (Vec<Duration>, Vec<Duration>) {
    let app = spawn_app_with(backend, Mode::All, default_queue).await;
    let org = org_slug();
    let admin = app.admin(&org).await;
    register_shop(&app, &admin, shop_name).await;
    let erasure_ids = verified(&app, &org, "erasure", erasures).await;
    let access_ids = verified(&app, &org, "access", accesses).await;
    let app = app.restart(Mode::All).await;
    let erasure = time_each(&app, &admin, &erasure_ids, EventKind::Completed).await;
    explain(&app, backend, "erasure", &erasure_ids, &erasure).await;
    let access = time_each(&app, &admin, &access_ids, EventKind::ExportReady).await;
    explain(&app, backend, "access", &access_ids, &access).await;
    let mut app = app;
    app.stop().await;
    (erasure, access)
}

/// Follows each of `ids` in turn ([`follow`]); returns each one's time from `approved` to its
/// first `end` event.
async fn time_each(app: &TestApp, admin: &str, ids: &[String], end: EventKind) -> Vec<Duration> {
    let mut times = Vec::with_capacity(ids.len());
    for id in ids {
        follow(app, admin, id).await;
        let approved = event_at(app, id, EventKind::Approved).await;
        times.push((event_at(app, id, end).await - approved).unsigned_abs());
    }
    times
}

/// Approves request `id` and waits until it is completed, then pauses [`SPACING`].
async fn follow(app: &TestApp, admin: &str, id: &str) {
    let (status, body) = app.post(&format!("/v1/requests/{id}/approve"), Some(admin), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, outcome) = app.get(&format!("/v1/requests/{id}/wait?state=completed&timeout=60"), Some(admin)).await;
    assert_eq!((status, &outcome["reached"]), (StatusCode::OK, &json!(true)), "{outcome}");
    tokio::time::sleep(SPACING).await;
}

/// When request `id`'s first event of `kind` happened (waiting for it up to 60 s).
async fn event_at(app: &TestApp, id: &str, kind: EventKind) -> time::OffsetDateTime {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let at = request_event::Entity::find()
            .filter(request_event::Column::RequestId.eq(id.parse::<uuid::Uuid>().unwrap()))
            .filter(request_event::Column::Kind.eq(kind))
            .all(&app.db)
            .await
            .unwrap()
            .iter()
            .map(|e| e.at)
            .min();
        if let Some(at) = at {
            return at;
        }
        assert!(std::time::Instant::now() < deadline, "{id}: no {kind:?} event");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Prints the first request's time after the restart (the engine's connections to the shop
/// opened and its schema read while it waits, unless the start's warm-up was quicker), and the
/// median and the slowest request's timelines, each event's time after the approval: where the
/// time goes, and where an outlier's went.
async fn explain(app: &TestApp, backend: Backend, kind: &str, ids: &[String], times: &[Duration]) {
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by_key(|&i| times[i]);
    let (Some(&median), Some(&slowest)) = (order.get(order.len() / 2), order.last()) else { return };
    println!("{backend:?}: {kind}: first after the restart {:.1} ms", times[0].as_secs_f64() * 1e3);
    for (which, i) in [("median", median), ("slowest", slowest)] {
        println!("  {which} (#{}): {}", i + 1, timeline(app, &ids[i]).await);
    }
}

/// Request `id`'s events from its approval on, each with its time after the approval.
async fn timeline(app: &TestApp, id: &str) -> String {
    let events = request_event::Entity::find()
        .filter(request_event::Column::RequestId.eq(id.parse::<uuid::Uuid>().unwrap()))
        .all(&app.db)
        .await
        .unwrap();
    let approved = events.iter().filter(|e| e.kind == EventKind::Approved).map(|e| e.at).min().unwrap();
    let mut steps: Vec<_> = events.iter().filter(|e| e.at >= approved).map(|e| (e.at, e.kind)).collect();
    steps.sort_by_key(|(at, _)| *at);
    let steps: Vec<String> =
        steps.iter().map(|(at, kind)| format!("{kind:?} +{:.1} ms", (*at - approved).as_seconds_f64() * 1e3)).collect();
    steps.join(", ")
}

/// The `q` quantile of sorted `xs`, in milliseconds.
fn quantile(xs: &[Duration], q: f64) -> f64 {
    let i = ((xs.len() as f64 * q).ceil() as usize).clamp(1, xs.len()) - 1;
    xs[i].as_secs_f64() * 1e3
}

fn report(backend: Backend, what: &str, times: &[Duration]) {
    let mut times = times.to_vec();
    times.sort();
    println!(
        "{backend:?}: {what}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} requests)",
        quantile(&times, 0.5),
        quantile(&times, 0.99),
        quantile(&times, 1.0),
        times.len()
    );
}
