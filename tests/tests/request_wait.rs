//! `GET /v1/requests/{id}/wait`: a bounded long poll that answers as soon as the request
//! reaches a state, for operators and API keys and for the data subject with the status token.

use lethe_tests::app::org_slug;
use lethe_tests::{Backend, TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Verifies `req` with the code mailed to `email`.
async fn verify(app: &TestApp, id: &str, token: &str, email: &str) {
    let code = app.code_for(email, 1).await;
    let (status, body) =
        app.post(&format!("/v1/requests/{id}/verify"), None, json!({"token": token, "code": code})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn answers_when_the_state_is_reached(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let org = org_slug();
    let admin = app.admin(&org).await;
    let email = "waiting@example.com";
    let req = app.submit(&org, "access", "gdpr", email).await;

    // The operator waits for verification while the subject verifies: the wait answers with it.
    let wait = format!("/v1/requests/{}/wait?state=pending_approval&timeout=60", req.id);
    let ((status, outcome), ()) = tokio::join!(app.get(&wait, Some(&admin)), verify(&app, &req.id, &req.token, email));
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["reached"], true, "{outcome}");
    assert_eq!(outcome["request"]["state"], "pending_approval");
    assert!(outcome["request"]["timeline"].is_array(), "the operator's view: {outcome}");

    // Already there: at once.
    let (status, outcome) = app.get(&wait, Some(&admin)).await;
    assert_eq!((status, &outcome["reached"]), (StatusCode::OK, &Value::Bool(true)));

    // Without `state`: any change. The subject waits with the status token while the request
    // is approved; the subject's view comes back.
    let wait_any = format!("/v1/requests/{}/wait?token={}&timeout=60", req.id, req.token);
    let approve_path = format!("/v1/requests/{}/approve", req.id);
    let approve = app.post(&approve_path, Some(&admin), json!({}));
    let ((status, outcome), (approved, _)) = tokio::join!(app.get(&wait_any, None), approve);
    assert_eq!((status, approved), (StatusCode::OK, StatusCode::OK), "{outcome}");
    assert_eq!(outcome["reached"], true, "{outcome}");
    assert_ne!(outcome["request"]["state"], "pending_approval");
    assert!(outcome["request"].get("timeline").is_none(), "the subject's view: {outcome}");

    // A state that does not come: the timeout answers, with the request as it is.
    let never = format!("/v1/requests/{}/wait?state=denied&timeout=1", req.id);
    let (status, outcome) = app.get(&never, Some(&admin)).await;
    assert_eq!((status, &outcome["reached"]), (StatusCode::OK, &Value::Bool(false)), "{outcome}");
    app.stop().await;
}

#[tokio::test]
async fn waiting_answers_when_the_state_is_reached_sqlite() {
    answers_when_the_state_is_reached(Backend::Sqlite).await;
}

#[tokio::test]
async fn waiting_answers_when_the_state_is_reached_postgres() {
    answers_when_the_state_is_reached(Backend::Postgres).await;
}

#[tokio::test]
async fn a_wait_with_bad_input_or_no_right_is_refused_clearly() {
    let mut app = spawn_app(Backend::Sqlite).await;
    let org = org_slug();
    let admin = app.admin(&org).await;
    let req = app.submit(&org, "access", "gdpr", "refused@example.com").await;
    let base = format!("/v1/requests/{}/wait", req.id);
    for query in ["timeout=0", "timeout=61", "state=finished", "state=", "state=completed,,failed"] {
        let (status, problem) = app.get(&format!("{base}?{query}"), Some(&admin)).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")),
            "{query}: {problem}"
        );
    }
    let (status, problem) = app.get(&format!("{base}?wait=1"), Some(&admin)).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")), "{problem}");
    let (status, problem) = app.get(&format!("{base}?timeout=1"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
    let (status, problem) = app.get(&format!("{base}?token=not-the-token&timeout=1"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    let other = format!("/v1/requests/{}/wait?timeout=1", uuid::Uuid::new_v4());
    let (status, problem) = app.get(&other, Some(&admin)).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("request_not_found")), "{problem}");
    app.stop().await;
}

#[tokio::test]
async fn the_server_s_limit_shortens_a_long_wait() {
    // Behind a proxy that cuts reads at 30 s, an operator sets LETHE_WAIT_MAX_SECS below it.
    let mut app = lethe_tests::spawn_app_with(Backend::Sqlite, lethe_api::engine::Mode::All, |settings| {
        settings.wait_max = std::time::Duration::from_secs(1);
    })
    .await;
    let org = org_slug();
    let admin = app.admin(&org).await;
    let req = app.submit(&org, "access", "gdpr", "limited@example.com").await;
    let never = format!("/v1/requests/{}/wait?state=denied&timeout=60", req.id);
    let answered = tokio::time::timeout(std::time::Duration::from_secs(30), app.get(&never, Some(&admin))).await;
    let (status, outcome) = answered.expect("the server's one-second limit answered long before the asked 60 s");
    assert_eq!((status, &outcome["reached"]), (StatusCode::OK, &Value::Bool(false)), "{outcome}");
    app.stop().await;
}
