//! Retention runs as the API shows them.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::app::TestApp;

/// Waits until the run is over and returns it as the API shows it.
pub async fn finished(app: &TestApp, token: &str, run: &str) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (status, runs) = app.get("/v1/retention/runs?limit=500", Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{runs}");
        let found = runs.as_array().unwrap().iter().find(|r| r["id"] == run).cloned().expect("the run is listed");
        if ["done", "failed", "canceled"].contains(&found["state"].as_str().unwrap()) {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "run stuck: {found}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
