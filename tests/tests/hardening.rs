//! Small hardening: API calls are rate-limited per caller when authenticated and per address
//! otherwise.

use lethe_api::engine::Mode;
use lethe_tests::app::{TestApp, org_slug};
use lethe_tests::{Backend, spawn_app_with};
use reqwest::StatusCode;
use serde_json::json;

/// `GET path` with an optional bearer credential: the status and the problem code, if any.
async fn get_status(app: &TestApp, path: &str, bearer: Option<&str>) -> (StatusCode, String) {
    let (status, body) = app.get(path, bearer).await;
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticated_callers_have_their_own_rate_limit() {
    let app = spawn_app_with(Backend::Sqlite, Mode::All, |s| {
        s.public_rate_per_minute = 5;
        s.authenticated_rate_per_minute = 30;
    })
    .await;
    let org = org_slug();
    let admin = app.admin(&org).await; // one public call: the sign-in
    let req = app.submit(&org, "access", "gdpr", "rhea@example.com").await; // two
    let (status, created) =
        app.post("/v1/api-keys", Some(&admin), json!({"name": "sync", "scopes": ["requests:read"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["secret"].as_str().unwrap().to_owned();
    let one = format!("/v1/requests/{}", req.id);

    // The operator reads the request far more often than the address's public budget allows.
    for n in 0..12 {
        assert_eq!(get_status(&app, &one, Some(&admin)).await, (StatusCode::OK, String::new()), "operator call {n}");
    }
    // The data subject, from the same address, runs out of the public budget.
    let subject = format!("{one}?token={}", req.token);
    let mut public = Vec::new();
    for _ in 0..6 {
        public.push(get_status(&app, &subject, None).await);
    }
    assert!(public.contains(&(StatusCode::TOO_MANY_REQUESTS, "rate_limited".into())), "{public:?}");
    // A made-up credential buys no budget of its own: it is counted by address.
    assert_eq!(get_status(&app, &one, Some("made-up")).await, (StatusCode::TOO_MANY_REQUESTS, "rate_limited".into()));
    assert_eq!(
        get_status(&app, &one, Some("lethe_0123456789abcdef_forged")).await,
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited".into())
    );
    // The operator and the API key go on, each on its own budget.
    assert_eq!(get_status(&app, &one, Some(&admin)).await.0, StatusCode::OK);
    for n in 0..12 {
        assert_eq!(get_status(&app, "/v1/requests", Some(&key)).await.0, StatusCode::OK, "key call {n}");
    }
    // The operator's own limit: 30 a minute (14 used above), on every endpoint it calls.
    let mut statuses = Vec::new();
    for _ in 0..25 {
        statuses.push(get_status(&app, "/v1/requests", Some(&admin)).await);
    }
    assert!(statuses[..10].iter().all(|(s, _)| *s == StatusCode::OK), "{statuses:?}");
    assert_eq!(statuses.last().unwrap(), &(StatusCode::TOO_MANY_REQUESTS, "rate_limited".to_owned()), "{statuses:?}");
    // ... which is the operator's alone: the key still has budget.
    assert_eq!(get_status(&app, "/v1/requests", Some(&key)).await.0, StatusCode::OK);
}
