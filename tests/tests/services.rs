//! Erasure through internal HTTP services, against a real local service: synchronous success,
//! retries with backoff, refusal, a service that stays down, asynchronous completion by signed
//! callback, a callback that never comes (timeout) and one that comes too late, and forged
//! callbacks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use lethe_tests::app::{Backend, TestApp, org_slug, spawn_app};
use lethe_worker::stores::http::{sign, verify};
use reqwest::StatusCode;
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

async fn service() -> (String, Shared) {
    let seen: Shared = Arc::default();
    let router = axum::Router::new().route("/{mode}/lethe/erase", axum::routing::post(erase)).with_state(seen.clone());
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
    let body = body.to_string();
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
    let (_, detail) = app.get(&format!("/v1/requests/{id}"), Some(&admin)).await;
    assert_eq!(detail["state"], "in_progress");

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
