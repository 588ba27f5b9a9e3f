//! Webhook delivery benchmark: 10,000 events announced through the outbox, each in a
//! transaction of its own as Lethe's changes announce them, delivered to a local receiver.
//!
//! Run with `cargo bench -p lethe-tests --bench webhooks` (add `-- --quick` for 1,000 and 200
//! events and one run per backend). PostgreSQL must run on 127.0.0.1:5432.
//!
//! Per run, on a fresh Lethe database (SQLite, then PostgreSQL) with one engine and one
//! endpoint subscribed to every request event: a producer commits the events one after another
//! (five per request, so one request's deliveries wait for each other as they must, to stay in
//! order), while a receiver in this process (plain HTTP on loopback, answering
//! 200 at once) notes when each `webhook-id` arrives. Two phases: a **burst** of 10,000 events
//! committed as fast as the producer can (deliveries per second: events over the time from the
//! first commit to the last arrival; the lag is then mostly the backlog), and 2,000 events
//! **paced** at 100 a second, below what either backend delivers (the lag from each event's
//! commit to its arrival: median, p99, max). Three runs per phase and backend; the median run is
//! named.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use lethe_api::engine::Mode;
use lethe_entities::entity::{begin_write, organization};
use lethe_entities::webhook::{self, Announcement, EventType};
use lethe_tests::app::{Backend, org_slug, spawn_app_with};
use lethe_tests::bench::{default_queue, machine};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

/// Events per request.
const PER_REQUEST: usize = 5;

/// The paced phase's rate: events committed per second.
const PACED_PER_SECOND: u32 = 100;

/// When each `webhook-id` arrived.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

/// What one run measured.
struct Run {
    per_second: f64,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

/// Starts the receiver; returns its URL and what it saw.
async fn receiver() -> (String, Arrivals) {
    let arrivals: Arrivals = Arc::default();
    let seen = arrivals.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap| {
            let seen = seen.clone();
            async move {
                let at = Instant::now();
                if let Some(id) = headers.get("webhook-id").and_then(|v| v.to_str().ok()) {
                    seen.lock().unwrap().entry(id.to_owned()).or_insert(at);
                }
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, arrivals)
}

async fn run(backend: Backend, events: usize, pace: Option<Duration>) -> Run {
    let mut app = spawn_app_with(backend, Mode::All, |s| {
        default_queue(s);
        s.webhooks = lethe_worker::webhooks::WebhookSettings::default();
    })
    .await;
    let (url, arrivals) = receiver().await;
    let slug = org_slug();
    let admin = app.admin(&slug).await;
    let body = json!({ "url": url, "event_types": ["request.received", "request.verified", "request.approved", "request.completed"] });
    let (status, created) = app.post("/v1/webhooks", Some(&admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let org =
        organization::Entity::find().filter(organization::Column::Slug.eq(slug)).one(&app.db).await.unwrap().unwrap();

    let types = [
        EventType::RequestReceived,
        EventType::RequestVerified,
        EventType::RequestApproved,
        EventType::RequestCompleted,
    ];
    let mut committed: Vec<(String, Instant)> = Vec::with_capacity(events);
    let mut request = Uuid::now_v7();
    let started = Instant::now();
    let mut ticks = pace.map(|every| {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks
    });
    for i in 0..events {
        if let Some(ticks) = ticks.as_mut() {
            ticks.tick().await;
        }
        if i % PER_REQUEST == 0 {
            request = Uuid::now_v7();
        }
        let announcement =
            Announcement::new(org.id, types[i % types.len()], Some(request), json!({ "state": "approved" }));
        let txn = begin_write(&app.db).await.unwrap();
        let id = webhook::announce(&txn, announcement).await.unwrap();
        txn.commit().await.unwrap();
        committed.push((format!("msg_{}", id.simple()), Instant::now()));
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    while arrivals.lock().unwrap().len() < events {
        assert!(Instant::now() < deadline, "only {} of {events} delivered", arrivals.lock().unwrap().len());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let arrivals = arrivals.lock().unwrap().clone();
    let last = arrivals.values().max().copied().unwrap();
    let mut lags: Vec<Duration> =
        committed.iter().map(|(id, at)| arrivals[id].saturating_duration_since(*at)).collect();
    lags.sort();
    app.stop().await;
    Run {
        per_second: events as f64 / last.duration_since(started).as_secs_f64(),
        p50: lags[lags.len() / 2],
        p99: lags[lags.len() * 99 / 100],
        max: lags[lags.len() - 1],
    }
}

/// Prints the runs of one phase and its median run.
fn report(label: &str, backend: Backend, mut results: Vec<Run>) {
    results.sort_by(|a, b| a.per_second.total_cmp(&b.per_second));
    for r in &results {
        println!(
            "  {backend:?} {label} run: {:.0} deliveries/s, lag from commit median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            r.per_second,
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3,
            r.max.as_secs_f64() * 1e3
        );
    }
    let m = &results[results.len() / 2];
    println!(
        "{backend:?} {label}: median run {:.0} deliveries/s, lag p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        m.per_second,
        m.p50.as_secs_f64() * 1e3,
        m.p99.as_secs_f64() * 1e3,
        m.max.as_secs_f64() * 1e3
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (burst, paced, runs) = if quick { (1_000, 200, 1) } else { (10_000, 2_000, 3) };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    println!(
        "webhooks: a burst of {burst} events, then {paced} at {PACED_PER_SECOND} a second; {PER_REQUEST} per request, one endpoint; {}",
        machine()
    );
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let results = (0..runs).map(|_| runtime.block_on(run(backend, burst, None))).collect();
        report("burst", backend, results);
        let every = Duration::from_secs(1) / PACED_PER_SECOND;
        let results = (0..runs).map(|_| runtime.block_on(run(backend, paced, Some(every)))).collect();
        report("paced", backend, results);
    }
}
