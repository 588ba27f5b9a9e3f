//! Erasure through internal HTTP services, against a real local service: synchronous success,
//! retries with backoff, refusal, a service that stays down, asynchronous completion by signed
//! callback, a callback that never comes (timeout) and one that comes too late, and forged
//! callbacks. Access requests: one service answering with its rows at once and one calling
//! back with them make one package holding exactly their rows, kept only encrypted until then;
//! services that stay down, answer malformed rows or too much block the package.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use lethe_entities::domain::enums::TaskStatus;
use lethe_entities::entity::export;
use lethe_entities::entity::{store_task, task_return};
use lethe_tests::app::{Backend, TestApp, org_slug, spawn_app};
use lethe_tests::both_backends;
use lethe_tests::package::{export_token, open, read_entry};
use lethe_tests::scan::{Logs, stored_in};
use lethe_worker::stores::http::{sign, verify};
use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

const SECRET: &str = "the billing service's shared secret";

/// What the service saw: calls per mode, and the last body (to find the task id).
#[derive(Default)]
struct Seen {
    calls: HashMap<String, usize>,
    last: HashMap<String, Value>,
}

type Shared = Arc<Mutex<Seen>>;

async fn erase(
    State(seen): State<Shared>,
    Path(mode): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (AxumStatus, String) {
    let ts = headers.get("lethe-timestamp").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
    let sig = headers.get("lethe-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !verify(SECRET, ts, &body, sig) {
        return (AxumStatus::UNAUTHORIZED, String::new());
    }
    let request: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(request["identities"][0]["kind"], "email", "the service is told whom to erase");
    let n = {
        let mut seen = seen.lock().unwrap();
        seen.last.insert(mode.clone(), request);
        let n = seen.calls.entry(mode.clone()).or_default();
        *n += 1;
        *n
    };
    match mode.as_str() {
        "sync" => (AxumStatus::OK, json!({ "status": "done", "erased": { "invoices": 3, "payments": 2 } }).to_string()),
        "flaky" if n < 3 => (AxumStatus::SERVICE_UNAVAILABLE, String::new()),
        "flaky" => (AxumStatus::OK, json!({ "status": "done", "erased": { "invoices": 1 } }).to_string()),
        "refuse" => (AxumStatus::BAD_REQUEST, String::new()),
        "down" => (AxumStatus::INTERNAL_SERVER_ERROR, String::new()),
        _ => (AxumStatus::ACCEPTED, json!({ "status": "accepted" }).to_string()),
    }
}

/// A value only the billing service knows: it must reach the package and nowhere else.
const MARKER: &str = "marker-7f3a9c-billing";
/// The same for the support service's callback.
const TICKET_MARKER: &str = "marker-51d2e0-support";

/// What the billing service holds about `email`.
fn invoices(email: &str) -> Value {
    json!([
        { "id": 1, "email": email, "amount": 12.5, "paid": true, "note": null, "reference": MARKER },
        { "id": 2, "email": email, "amount": 7, "paid": false, "note": "two, \"quoted\"\nlines", "reference": MARKER },
    ])
}

/// What the support service holds: enough to exceed the global 64 KiB body limit.
fn tickets() -> Value {
    (0..1500)
        .map(|i| json!({ "ticket": format!("T-{i}"), "subject": format!("{TICKET_MARKER} {i}"), "open": i % 2 == 0 }))
        .collect()
}

async fn access(
    State(seen): State<Shared>,
    Path(mode): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (AxumStatus, String) {
    let ts = headers.get("lethe-timestamp").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
    let sig = headers.get("lethe-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !verify(SECRET, ts, &body, sig) {
        return (AxumStatus::UNAUTHORIZED, String::new());
    }
    let request: Value = serde_json::from_slice(&body).unwrap();
    let email = request["identities"][0]["value"].as_str().unwrap().to_owned();
    {
        let mut seen = seen.lock().unwrap();
        seen.last.insert(format!("access/{mode}"), request);
        *seen.calls.entry(format!("access/{mode}")).or_default() += 1;
    }
    match mode.as_str() {
        "sync" => (AxumStatus::OK, json!({ "status": "done", "tables": { "invoices": invoices(&email) } }).to_string()),
        "down" => (AxumStatus::INTERNAL_SERVER_ERROR, String::new()),
        "malformed" => {
            let tables = json!({ "invoices": [{ "id": 1, "card": { "number": MARKER } }] });
            (AxumStatus::OK, json!({ "status": "done", "tables": tables }).to_string())
        }
        "huge" => {
            let tables = json!({ "invoices": [{ "id": 1, "blob": "x".repeat(17 << 20), "reference": MARKER }] });
            (AxumStatus::OK, json!({ "status": "done", "tables": tables }).to_string())
        }
        _ => (AxumStatus::ACCEPTED, json!({ "status": "accepted" }).to_string()),
    }
}

async fn service() -> (String, Shared) {
    let seen: Shared = Arc::default();
    let router = axum::Router::new()
        .route("/{mode}/lethe/erase", axum::routing::post(erase))
        .route("/{mode}/lethe/access", axum::routing::post(access))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, seen)
}

/// An organization with one HTTP store in `mode`, and an approved erasure request; returns the
/// admin token and the request id.
async fn erasure_with(app: &TestApp, base: &str, mode: &str) -> (String, String) {
    let org = org_slug();
    let admin = app.admin(&org).await;
    let (status, store) = app
        .post(
            "/v1/stores",
            Some(&admin),
            json!({ "name": "billing", "kind": "http", "connection": { "base_url": format!("{base}/{mode}"), "signing_secret": SECRET } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{store}");
    let req = app.verified(&org, "erasure", "gdpr", &format!("{mode}@example.com")).await;
    let (status, _) = app.post(&format!("/v1/requests/{}/approve", req.id), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    (admin, req.id)
}

/// An organization with one HTTP store per (name, mode), and an approved access request for
/// `email`; returns the admin token and the request id.
async fn access_with(app: &TestApp, base: &str, stores: &[(&str, &str)], email: &str) -> (String, String) {
    let org = org_slug();
    let admin = app.admin(&org).await;
    for (name, mode) in stores {
        let connection = json!({ "base_url": format!("{base}/{mode}"), "signing_secret": SECRET });
        let (status, store) = app
            .post("/v1/stores", Some(&admin), json!({ "name": name, "kind": "http", "connection": connection }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{store}");
    }
    let req = app.verified(&org, "access", "gdpr", email).await;
    let (status, _) = app.post(&format!("/v1/requests/{}/approve", req.id), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    (admin, req.id)
}

/// Polls the request's tasks until `done` says they are where they should be.
async fn tasks_until(app: &TestApp, admin: &str, id: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, tasks) = app.get(&format!("/v1/requests/{id}/tasks"), Some(admin)).await;
        let tasks = tasks.as_array().cloned().unwrap_or_default();
        if done(&tasks) {
            return tasks;
        }
        assert!(std::time::Instant::now() < deadline, "tasks never got there: {tasks:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn timeline(app: &TestApp, admin: &str, id: &str) -> Value {
    let (_, detail) = app.get(&format!("/v1/requests/{id}"), Some(admin)).await;
    detail["timeline"].clone()
}

async fn export_row(app: &TestApp, id: &str) -> Option<export::Model> {
    let id: uuid::Uuid = id.parse().unwrap();
    export::Entity::find().filter(export::Column::RequestId.eq(id)).one(&app.db).await.unwrap()
}

async fn task_until(app: &TestApp, admin: &str, id: &str, status: &str) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, tasks) = app.get(&format!("/v1/requests/{id}/tasks"), Some(admin)).await;
        let task = tasks[0].clone();
        if task["status"] == status {
            return task;
        }
        assert!(std::time::Instant::now() < deadline, "task never reached {status}: {task}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn service_entries(app: &TestApp, admin: &str, id: &str) -> Vec<(String, u64)> {
    let (_, page) = app.get(&format!("/v1/ledger/entries?kind=erasure&request_id={id}"), Some(admin)).await;
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["action"], "service_erase");
            (e["table"].as_str().unwrap().to_owned(), e["row_count"].as_u64().unwrap())
        })
        .collect()
}

/// Posts a callback for `task` signed with `secret`.
async fn callback(app: &TestApp, task: &str, secret: &str, body: Value) -> (StatusCode, Value) {
    raw_callback(app, task, secret, body.to_string()).await
}

/// Posts `body` as a callback for `task` signed with `secret`.
async fn raw_callback(app: &TestApp, task: &str, secret: &str, body: String) -> (StatusCode, Value) {
    let ts = time::OffsetDateTime::now_utc().unix_timestamp();
    let response = app
        .http
        .post(app.url(&format!("/v1/callbacks/tasks/{task}")))
        .header("content-type", "application/json")
        .header("Lethe-Timestamp", ts.to_string())
        .header("Lethe-Signature", sign(secret, ts, body.as_bytes()))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_that_answer_now_retry_or_refuse() {
    let (app, (base, seen)) = tokio::join!(spawn_app(Backend::Sqlite), service());

    let (admin, id) = erasure_with(&app, &base, "sync").await;
    task_until(&app, &admin, &id, "done").await;
    assert_eq!(service_entries(&app, &admin, &id).await, [("invoices".into(), 3), ("payments".into(), 2)]);
    app.wait_for_state(&id, &admin, "completed").await;

    // Two 503s, then success: retried with backoff, three calls in all.
    let (admin, id) = erasure_with(&app, &base, "flaky").await;
    let task = task_until(&app, &admin, &id, "done").await;
    assert_eq!(task["attempts"], 3);
    assert_eq!(seen.lock().unwrap().calls["flaky"], 3);
    assert_eq!(service_entries(&app, &admin, &id).await, [("invoices".into(), 1)]);

    // A refusal is final at once.
    let (admin, id) = erasure_with(&app, &base, "refuse").await;
    let task = task_until(&app, &admin, &id, "failed").await;
    assert_eq!(task["error_code"], "store_rejected", "{task}");
    assert_eq!(seen.lock().unwrap().calls["refuse"], 1);
    app.wait_for_state(&id, &admin, "failed").await;

    // Down for good: fails after the configured attempts with the service's error.
    let (admin, id) = erasure_with(&app, &base, "down").await;
    let task = task_until(&app, &admin, &id, "failed").await;
    assert_eq!(task["error_code"], "store_protocol_error", "{task}");
    assert!(task["error_message"].as_str().unwrap().contains("after 3 attempt(s)"), "{task}");
    assert_eq!(seen.lock().unwrap().calls["down"], 3);
    assert!(service_entries(&app, &admin, &id).await.is_empty(), "nothing erased, nothing in the ledger");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_that_call_back_in_time_late_or_never() {
    let (app, (base, seen)) = tokio::join!(spawn_app(Backend::Postgres), service());

    // Accepted, then a signed callback: done, in the ledger, the request completes.
    let (admin, id) = erasure_with(&app, &base, "async").await;
    let mut waiting = task_until(&app, &admin, &id, "waiting").await;
    for _ in 0..50 {
        if seen.lock().unwrap().calls.contains_key("async") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let task_id = seen.lock().unwrap().last["async"]["task_id"].as_str().unwrap().to_owned();
    assert_eq!(waiting["id"], task_id.as_str());
    // Forged: another secret, or an unknown task; both the same answer.
    let (status, problem) = callback(&app, &task_id, "not the secret", json!({ "status": "done", "erased": {} })).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_signature")));
    let unknown = uuid::Uuid::now_v7().to_string();
    let (status, problem) = callback(&app, &unknown, SECRET, json!({ "status": "done", "erased": {} })).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_signature")));
    let (status, problem) = callback(&app, &task_id, SECRET, json!({ "status": "maybe" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, _) = callback(&app, &task_id, SECRET, json!({ "status": "done", "erased": { "accounts": 1 } })).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    waiting = task_until(&app, &admin, &id, "done").await;
    assert_eq!(waiting["status"], "done");
    assert_eq!(service_entries(&app, &admin, &id).await, [("accounts".into(), 1)]);
    app.wait_for_state(&id, &admin, "completed").await;
    // Once is enough: a repeated callback changes nothing.
    let (status, problem) =
        callback(&app, &task_id, SECRET, json!({ "status": "done", "erased": { "accounts": 1 } })).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("task_not_waiting")));
    assert_eq!(service_entries(&app, &admin, &id).await.len(), 1);

    // Accepted and never called back: fails when the callback timeout (3 s in tests) passes;
    // the late callback is refused.
    let (admin, id) = erasure_with(&app, &base, "silent").await;
    task_until(&app, &admin, &id, "waiting").await;
    let task = task_until(&app, &admin, &id, "failed").await;
    assert_eq!(task["error_code"], "service_timeout", "{task}");
    let task_id = task["id"].as_str().unwrap();
    let (status, problem) =
        callback(&app, task_id, SECRET, json!({ "status": "done", "erased": { "accounts": 1 } })).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("task_not_waiting")));
    assert!(service_entries(&app, &admin, &id).await.is_empty());
    let (_, detail) = app.get(&format!("/v1/requests/{id}"), Some(&admin)).await;
    assert!(!detail["timeline"].to_string().contains("silent@example.com"));
}

both_backends! {
    async fn access_requests_package_what_services_return(backend: Backend) {
        let logs = Logs::capture();
        let (app, (base, seen)) = tokio::join!(spawn_app(backend), service());
        let email = format!("ann-{}@example.com", org_slug());
        let (admin, id) = access_with(&app, &base, &[("billing", "sync"), ("support", "async")], &email).await;

        // Billing answers at once; support accepts and will call back.
        let tasks = tasks_until(&app, &admin, &id, |tasks| {
            tasks.len() == 2 && tasks[0]["status"] == "located" && tasks[1]["status"] == "waiting"
        })
        .await;
        assert_eq!((tasks[0]["store"].as_str(), tasks[1]["store"].as_str()), (Some("billing"), Some("support")));
        assert_eq!(tasks[0]["counts"], json!({ "invoices": 2 }));
        assert_eq!(tasks[0]["total_rows"], 2);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !timeline(&app, &admin, &id).await.to_string().contains("service_callback") {
            assert!(std::time::Instant::now() < deadline, "support never accepted");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let support = seen.lock().unwrap().last["access/async"]["task_id"].as_str().unwrap().to_owned();
        assert_eq!(tasks[1]["id"], support.as_str());
        assert_eq!(seen.lock().unwrap().calls["access/sync"], 1);

        // The package waits for the service still working: no export, no link.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (_, detail) = app.get(&format!("/v1/requests/{id}"), Some(&admin)).await;
        assert_eq!(detail["state"], "in_progress");
        assert!(export_row(&app, &id).await.is_none());
        // Meanwhile billing's rows are kept, encrypted only.
        let kept = task_return::Entity::find().all(&app.db).await.unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!((kept[0].rows, kept[0].task_id.to_string()), (2, tasks[0]["id"].as_str().unwrap().to_owned()));
        let clear = String::from_utf8_lossy(&kept[0].ciphertext).into_owned();
        assert!(!clear.contains(MARKER) && !clear.contains(&email));
        assert_eq!(stored_in(&app, MARKER).await, Vec::<String>::new(), "nothing of it in clear in the database");

        // Malformed and oversized callbacks are refused; nothing of them is echoed.
        let nested = json!({ "status": "done", "tables": { "tickets": [{ "subject": { "text": TICKET_MARKER } }] } });
        let (status, problem) = callback(&app, &support, SECRET, nested).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("service_data_invalid")));
        assert!(!problem.to_string().contains(TICKET_MARKER));
        let huge = format!("{{\"status\":\"done\",\"tables\":{{\"t\":[{{\"x\":\"{}\"}}]}}}}", "y".repeat(16 << 20));
        let (status, problem) = raw_callback(&app, &support, SECRET, huge).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")));

        // The rows, by signed callback (over the global 64 KiB body limit): the package is built.
        let report = json!({ "status": "done", "tables": { "tickets": tickets() } });
        assert!(report.to_string().len() > 64 * 1024);
        let (status, problem) = callback(&app, &support, SECRET, report).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{problem}");
        app.wait_for_state(&id, &admin, "completed").await;
        let tasks = tasks_until(&app, &admin, &id, |tasks| tasks.iter().all(|t| t["status"] == "done")).await;
        assert_eq!(tasks[1]["counts"], json!({ "tickets": 1500 }));

        // The package holds exactly what the services returned, store by store.
        let token = export_token(&app, &email).await;
        let mut zip = open(&app, &token).await;
        let data: Value = serde_json::from_str(&read_entry(&mut zip, "data.json")).unwrap();
        let stores = data["stores"].as_array().unwrap();
        assert_eq!(stores.len(), 2);
        assert_eq!((stores[0]["store"].as_str(), stores[0]["kind"].as_str()), (Some("billing"), Some("http")));
        assert_eq!(stores[0]["tables"].as_array().unwrap().len(), 1);
        assert_eq!(stores[0]["tables"][0]["table"], "invoices");
        assert_eq!(stores[0]["tables"][0]["row_count"], 2);
        assert_eq!(stores[0]["tables"][0]["rows"], invoices(&email));
        assert_eq!(stores[1]["store"], "support");
        assert_eq!(stores[1]["tables"][0]["rows"], tickets());
        assert_eq!(data["not_included"], json!([]));
        assert_eq!(
            read_entry(&mut zip, "billing/invoices.csv"),
            format!(
                "amount,email,id,note,paid,reference\r\n12.5,{email},1,,true,{MARKER}\r\n\
                 7,{email},2,\"two, \"\"quoted\"\"\nlines\",false,{MARKER}\r\n"
            )
        );
        let csv = read_entry(&mut zip, "support/tickets.csv");
        assert_eq!(csv.matches("\r\n").count(), 1501);
        assert!(csv.starts_with("open,subject,ticket\r\ntrue,marker-51d2e0-support 0,T-0\r\n"), "{csv}");
        let html = read_entry(&mut zip, "index.html");
        assert!(html.contains("In our system “billing”") && html.contains("In our system “support”") && html.contains(MARKER));
        assert!(!html.contains("Not in this package"));
        assert_eq!(zip.len(), 4, "index.html, data.json and two CSVs");

        // Once packaged, Lethe's copies are gone; nothing of them was ever stored in clear or logged.
        assert_eq!(task_return::Entity::find().count(&app.db).await.unwrap(), 0);
        for marker in [MARKER, TICKET_MARKER] {
            assert_eq!(stored_in(&app, marker).await, Vec::<String>::new(), "{marker} in the database");
            assert!(!logs.contain(marker), "{marker} in the logs");
        }
        assert!(logs.contain(&support) && !logs.contain(&email), "logs captured (the task id), without the address");
        assert!(!stored_in(&app, "support").await.is_empty(), "the scan finds what is stored in clear (a store name)");
        let events = timeline(&app, &admin, &id).await.to_string();
        assert!(!events.contains(MARKER) && !events.contains(TICKET_MARKER) && !events.contains(&email));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_services_that_fail_block_the_package() {
    let (app, (base, seen)) = tokio::join!(spawn_app(Backend::Sqlite), service());
    for (mode, code, calls) in [
        ("down", "store_protocol_error", 3),
        ("malformed", "service_data_invalid", 1),
        ("huge", "store_answer_too_large", 1),
    ] {
        let email = format!("{mode}-access@example.com");
        let (admin, id) = access_with(&app, &base, &[("billing", mode)], &email).await;
        let task = task_until(&app, &admin, &id, "failed").await;
        assert_eq!(task["error_code"], code, "{task}");
        assert_eq!(seen.lock().unwrap().calls[&format!("access/{mode}")], calls, "{mode}");
        assert!(!task.to_string().contains(MARKER));
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !timeline(&app, &admin, &id).await.to_string().contains("export_blocked") {
            assert!(std::time::Instant::now() < deadline, "{mode}: no export_blocked event");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        app.wait_for_state(&id, &admin, "failed").await;
        assert!(export_row(&app, &id).await.is_none(), "{mode}: no package");
        let mails = lethe_tests::mailbox::wait_for_messages_to(&app.outbox, &email, 1).await;
        assert!(mails.iter().all(|m| !m.contains("/v1/exports/")), "{mode}: no link");
    }
    assert_eq!(task_return::Entity::find().count(&app.db).await.unwrap(), 0);
    assert_eq!(stored_in(&app, MARKER).await, Vec::<String>::new());

    // A worker that died during its call left the task `calling`: once the claim is stale the
    // next run calls again.
    let (admin, id) = access_with(&app, &base, &[("billing", "async")], "claimed-access@example.com").await;
    let task = task_until(&app, &admin, &id, "waiting").await;
    let task_id: uuid::Uuid = task["id"].as_str().unwrap().parse().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !timeline(&app, &admin, &id).await.to_string().contains("service_callback") {
        assert!(std::time::Instant::now() < deadline, "the service never accepted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stale = time::OffsetDateTime::now_utc() - time::Duration::minutes(2);
    store_task::Entity::update_many()
        .col_expr(store_task::Column::Status, Expr::value(TaskStatus::Calling))
        .col_expr(store_task::Column::AcceptedAt, Expr::value(Option::<time::OffsetDateTime>::None))
        .col_expr(store_task::Column::UpdatedAt, Expr::value(stale))
        .filter(store_task::Column::Id.eq(task_id))
        .exec(&app.db)
        .await
        .unwrap();
    let (status, _) = app.post(&format!("/v1/requests/{id}/locate"), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while seen.lock().unwrap().calls["access/async"] < 2 {
        assert!(std::time::Instant::now() < deadline, "the stale call was not made again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let task = task_until(&app, &admin, &id, "waiting").await;
    assert_eq!(task["attempts"], 2, "{task}");
}
