//! Queues of approved erasure requests of the benchmarks' PostgreSQL shop (see [`crate::bench`]),
//! for the throughput benchmarks: preparing them with the API alone running, waiting for them to
//! complete, and checking afterwards that each person was erased exactly as the map says and
//! that the ledger has exactly one entry per request and step.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use futures::StreamExt;
use lethe_api::engine::Mode;
use lethe_entities::domain::enums::RequestState;
use lethe_entities::entity::{ledger_entry, request};
use reqwest::StatusCode;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, Statement,
};
use serde_json::json;

use crate::app::{Backend, TestApp, org_slug, spawn_app_with};
use crate::bench::{DATA_MAP, email_of, url_for};
use crate::mailbox::{code_line, recipient, wait_for_messages};

/// HTTP calls in flight while the requests are prepared.
const SETUP_PARALLELISM: usize = 8;
/// Ledger entries per request: one per step of the plan (2 kept tables updated, 6 deleted) and
/// the closing entry.
pub const ENTRIES_PER_REQUEST: u64 = 9;

/// On a fresh Lethe database on `backend`: registers the shop `shop_name` as a store with the
/// benchmarks' map, submits one erasure request per customer of `persons` and verifies and
/// approves each over HTTP (their codes are mailed by a worker engine), which queues one
/// fulfilment job each. Returns the engine, restarted to serve the API alone, so the jobs wait
/// for whichever workers the caller starts.
pub async fn approved_erasures(backend: Backend, shop_name: &str, persons: std::ops::Range<i64>) -> TestApp {
    let n = persons.clone().count();
    let app = spawn_app_with(backend, Mode::All, |_| {}).await;
    let org = org_slug();
    let admin = app.admin(&org).await;
    register_shop(&app, &admin, shop_name).await;
    let ids = verified(&app, &org, "erasure", persons).await;
    // No worker from here on: approved requests wait in the queue.
    let app = app.restart(Mode::Serve).await;
    futures::stream::iter(&ids)
        .for_each_concurrent(SETUP_PARALLELISM, |id| {
            let (app, admin) = (&app, &admin);
            async move {
                let (status, body) = app.post(&format!("/v1/requests/{id}/approve"), Some(admin), json!({})).await;
                assert_eq!(status, StatusCode::OK, "{body}");
            }
        })
        .await;
    assert_eq!(in_state(&app.db, RequestState::Approved).await, n as u64, "every request is approved and queued");
    app
}

/// Submits one request of `kind` per customer of `persons` to `org` of `app` (which must run
/// workers: they mail the codes) and verifies each over HTTP; returns their ids in the order of
/// `persons`, all `pending_approval`.
pub async fn verified(app: &TestApp, org: &str, kind: &str, persons: std::ops::Range<i64>) -> Vec<String> {
    let submitted: Vec<(String, String, String)> = futures::stream::iter(persons)
        .map(|c| async move {
            let email = email_of(c);
            let req = app.submit(org, kind, "gdpr", &email).await;
            (email, req.id, req.token)
        })
        .buffered(SETUP_PARALLELISM)
        .collect()
        .await;
    let emails: Vec<String> = submitted.iter().map(|(email, _, _)| email.clone()).collect();
    let codes = codes_for(&app.outbox, &emails).await;
    futures::stream::iter(&submitted)
        .for_each_concurrent(SETUP_PARALLELISM, |(email, id, token)| {
            let code = &codes[email];
            async move {
                let (status, body) =
                    app.post(&format!("/v1/requests/{id}/verify"), None, json!({ "token": token, "code": code })).await;
                assert_eq!(status, StatusCode::OK, "{body}");
            }
        })
        .await;
    submitted.into_iter().map(|(_, id, _)| id).collect()
}

/// Waits until all `n` requests in Lethe's database `db` are `completed` (looking every 10 ms);
/// fails if one fails or it takes more than 10 minutes.
pub async fn until_completed(db: &DatabaseConnection, n: usize) {
    let t = Instant::now();
    loop {
        let done = in_state(db, RequestState::Completed).await;
        if done == n as u64 {
            return;
        }
        let failed = in_state(db, RequestState::Failed).await;
        assert!(failed == 0 && t.elapsed() < Duration::from_secs(600), "{done} completed, {failed} failed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// After every request of `persons` completed: the shop holds exactly what the map leaves of
/// them (see [`check_erased`]) and the ledger exactly [`ENTRIES_PER_REQUEST`] entries per
/// request, so no store was erased twice and no entry is missing.
pub async fn check_exactly_once(app: &TestApp, shop: &DatabaseConnection, persons: &std::ops::Range<i64>) {
    check_erased(shop, persons).await;
    let n = persons.clone().count() as u64;
    let entries = ledger_entry::Entity::find().count(&app.db).await.unwrap();
    assert_eq!(entries, n * ENTRIES_PER_REQUEST, "one ledger entry per request and step, and one closing");
}

/// Registers the shop as a PostgreSQL store with the benchmarks' map.
pub async fn register_shop(app: &TestApp, admin: &str, shop_name: &str) {
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

/// Waits until every one of `emails` has been sent a verification code (other messages in the
/// outbox are passed over); returns each recipient's latest code.
async fn codes_for(outbox: &Path, emails: &[String]) -> BTreeMap<String, String> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let mut codes = BTreeMap::new();
        for message in wait_for_messages(outbox, 0).await {
            if let Some(code) = code_line(&message) {
                codes.insert(recipient(&message), code);
            }
        }
        let missing = emails.iter().filter(|e| !codes.contains_key(*e)).count();
        if missing == 0 {
            return codes;
        }
        assert!(Instant::now() < deadline, "{missing} of {} verification messages did not arrive", emails.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Requests in `state`.
pub async fn in_state(db: &DatabaseConnection, state: RequestState) -> u64 {
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

/// The single integer `sql` returns.
pub async fn scalar_i64(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned())).await.unwrap().unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// The single text `sql` returns.
pub async fn scalar_text(db: &DatabaseConnection, sql: &str) -> String {
    let row = db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned())).await.unwrap().unwrap();
    row.try_get_by_index::<String>(0).unwrap()
}
