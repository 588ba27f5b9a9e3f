//! Health, readiness, metrics, the OpenAPI document and the offline docs page.

use lethe_tests::app::org_slug;
use lethe_tests::{Backend, both_backends, spawn_app};
use reqwest::StatusCode;

both_backends! {
    async fn health_readiness_and_metrics(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.http.get(app.url("/healthz")).send().await.unwrap().text().await.unwrap(), "ok");
    assert_eq!(app.http.get(app.url("/readyz")).send().await.unwrap().status(), StatusCode::OK);

    let org = org_slug();
    app.admin(&org).await;
    app.submit(&org, "erasure", "gdpr", "una@example.com").await;
    app.code_for("una@example.com", 1).await;
    let closed = app.submit(&org, "access", "gdpr", "vic@example.com").await;
    let (status, _) =
        app.post(&format!("/v1/requests/{}/cancel", closed.id), None, serde_json::json!({"token": closed.token})).await;
    assert_eq!(status, StatusCode::OK);
    let response = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = response.text().await.unwrap();
    assert!(text.contains("lethe_requests{state=\"identity_unverified\"} 1"), "{text}");
    assert!(text.contains("lethe_ledger_entries 1\n"), "{text}");
    assert!(text.contains("lethe_ledger_unsigned_entries 1\n"), "{text}");
    assert!(text.contains("lethe_ledger_intents_pending 0"), "{text}");
    assert!(text.contains("lethe_requests_overdue 0"), "{text}");
    assert!(text.contains("lethe_job_queue_depth{queue=\"lethe.send_verification_code\"}"), "{text}");
    assert!(text.contains("lethe_job_failures{queue=\"lethe.send_verification_code\"} 0"), "{text}");
    assert!(!text.contains("una@"), "no personal data in metrics");
}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_are_served_without_any_external_resource() {
    let app = spawn_app(Backend::Sqlite).await;
    let (status, doc) = app.get("/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["info"]["title"], "Lethe");
    assert!(doc["paths"]["/v1/requests"]["post"].is_object());

    let page = app.http.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    // Every script and stylesheet is served by Lethe itself.
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let url = &part[..part.find('"').unwrap()];
            assert!(!url.starts_with("http") && !url.starts_with("//"), "external resource {url}");
            let absolute =
                if url.starts_with('/') { url.to_owned() } else { format!("/docs/{}", url.trim_start_matches("./")) };
            let asset = app.http.get(app.url(&absolute)).send().await.unwrap();
            assert_eq!(asset.status(), StatusCode::OK, "{absolute}");
        }
    }
    let initializer = app.http.get(app.url("/docs/swagger-initializer.js")).send().await.unwrap().text().await.unwrap();
    assert!(initializer.contains("/openapi.json"), "{initializer}");
}
