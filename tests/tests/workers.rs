//! Several `lethe worker` processes on one PostgreSQL database share one queue: every job runs
//! exactly once, whichever worker takes it.

use std::time::Duration;

use lethe_api::engine::Mode;
use lethe_tests::app::org_slug;
use lethe_tests::mailbox::{code_in, recipient, wait_for_messages};
use lethe_tests::{Backend, spawn_app_with};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_share_the_postgres_queue_without_duplicates() {
    // One engine serves the API only; two more run only workers on the same database, writing
    // mail to one shared outbox.
    let api = spawn_app_with(Backend::Postgres, Mode::Serve, |_| {}).await;
    let outbox = api.outbox.clone();
    let url = api.database_url.clone();
    let key = api.master_key_base64();
    let workers = [spawn_app_with_shared(&url, &key, &outbox).await, spawn_app_with_shared(&url, &key, &outbox).await];
    let org = org_slug();
    let admin = api.admin(&org).await;

    const N: usize = 12;
    let mut requests = Vec::new();
    for i in 0..N {
        requests.push((i, api.submit(&org, "access", "gdpr", &format!("p{i}@example.com")).await));
    }
    let messages = wait_for_messages(&outbox, N).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages_after = wait_for_messages(&outbox, 0).await;
    assert_eq!(messages_after.len(), N, "one code per request, never two");
    let mut recipients: Vec<String> = messages.iter().map(|m| recipient(m)).collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), N);

    for (i, req) in &requests {
        let message = messages.iter().find(|m| recipient(m) == format!("p{i}@example.com")).unwrap();
        let (status, _) = api
            .post(
                &format!("/v1/requests/{}/verify", req.id),
                None,
                json!({"token": req.token, "code": code_in(message)}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = api.post(&format!("/v1/requests/{}/approve", req.id), Some(&admin), json!({})).await;
        assert_eq!(status, StatusCode::OK);
    }
    for (_, req) in &requests {
        let detail = api.wait_for_state(&req.id, &admin, "in_progress").await;
        let started = detail["timeline"].as_array().unwrap().iter().filter(|e| e["kind"] == "started").count();
        assert_eq!(started, 1);
    }
    drop(workers);
}

async fn spawn_app_with_shared(url: &str, key: &str, outbox: &std::path::Path) -> lethe_tests::TestApp {
    let (url, key, outbox) = (url.to_owned(), key.to_owned(), outbox.to_path_buf());
    lethe_tests::app::spawn_on(url, &key, Mode::Worker, outbox).await
}
