//! Every door that checks a password or a second-factor code shares one budget per client
//! address (`LETHE_SIGN_IN_RATE_PER_MINUTE`): the JSON login, the console's sign-in, password
//! changes in the API and in the console. Beyond it each door answers `429 too_many_sign_ins`
//! with `Retry-After`, before any password is checked; another address keeps its own budget.

use std::net::IpAddr;

use lethe_api::engine::Mode;
use lethe_entities::domain::enums::Role;
use lethe_tests::app::{TestApp, org_slug};
use lethe_tests::console::{Console, PASSWORD};
use lethe_tests::{Backend, spawn_app_with};
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use serde_json::{Value, json};

/// The budget the test configures.
const BUDGET: u32 = 6;

/// POSTs JSON from the loopback address `from`: the status, the `Retry-After` header and the body.
async fn post_from(
    app: &TestApp,
    from: IpAddr,
    path: &str,
    bearer: Option<&str>,
    body: Value,
) -> (StatusCode, Option<String>, Value) {
    let client = reqwest::Client::builder().local_address(from).build().unwrap();
    let mut request = client.post(app.url(path)).json(&body);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let retry = response.headers().get(RETRY_AFTER).map(|v| v.to_str().unwrap().to_owned());
    (status, retry, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_door_that_checks_a_secret_shares_one_budget_per_address() {
    let app = spawn_app_with(Backend::Sqlite, Mode::Serve, |s| s.sign_in_rate_per_minute = BUDGET).await;
    let org = org_slug();
    let email = format!("dpo@{org}.test");
    let token = app.operator_in(&org, &email, Role::Admin).await; // 1: a JSON login
    let here: IpAddr = [127, 0, 0, 1].into();
    let stranger = json!({"email": format!("nobody@{org}.test"), "password": "not the password at all"});

    // 2: a wrong JSON login; 3: a wrong console sign-in; 4: a wrong current password in the
    // API; 5: a console sign-in that works; 6: a wrong current password in the console.
    let (status, _, _) = post_from(&app, here, "/v1/auth/login", None, stranger.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        Console::new(&app.base).sign_in(&format!("nobody@{org}.test"), PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    let change = json!({"current_password": "not my password at all", "new_password": "a new and long password"});
    let (status, _, body) = post_from(&app, here, "/v1/auth/password", Some(&token), change.clone()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_credentials")));
    let console = Console::signed_in(&app.base, &email).await;
    let csrf = console.get("/console/password").await.csrf();
    let wrong_current = [
        ("csrf", csrf.as_str()),
        ("current_password", "not my password at all"),
        ("new_password", "a new and long password"),
        ("repeat_password", "a new and long password"),
    ];
    assert_eq!(console.post("/console/password", &wrong_current).await.status, StatusCode::UNAUTHORIZED);

    // The budget is spent: every door refuses before checking anything, the right password too.
    let right = json!({"email": email, "password": PASSWORD});
    let (status, retry, body) = post_from(&app, here, "/v1/auth/login", None, right.clone()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("too_many_sign_ins")), "{body}");
    assert!(retry.is_some_and(|s| s.parse::<u64>().is_ok_and(|s| s >= 1)), "Retry-After on the JSON login");
    let (status, _, body) = post_from(&app, here, "/v1/auth/password", Some(&token), change).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("too_many_sign_ins")));
    let page = Console::new(&app.base).sign_in(&email, PASSWORD).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
    assert!(page.body.contains("too_many_sign_ins") && page.headers.contains_key(RETRY_AFTER));
    let page = console.post("/console/password", &wrong_current).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);

    // None of the refused attempts counted against the account: only the console's wrong
    // current password did (the console sign-in before it reset the count). Another address
    // signs in with the right password.
    let operator = app.operator(&email).await;
    assert_eq!((operator.failed_logins, operator.locked_until), (1, None));
    let (status, _, body) = post_from(&app, [127, 0, 0, 2].into(), "/v1/auth/login", None, right).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_sign_in_stops_a_stream_of_wrong_passwords() {
    let app = spawn_app_with(Backend::Sqlite, Mode::Serve, |s| s.sign_in_rate_per_minute = 10).await;
    let org = org_slug();
    let console = Console::new(&app.base);
    let mut statuses = Vec::new();
    for n in 0..30 {
        statuses.push(console.sign_in(&format!("guess{n}@{org}.test"), "a wrong password guess").await.status);
    }
    // Ten are checked; the rest are refused unchecked (the budget refills one every six
    // seconds, which a slow machine may see once or twice).
    let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert!(statuses[..10].iter().all(|s| *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
    assert!(refused >= 18, "{statuses:?}");
    assert!(statuses.iter().all(|s| [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(s)));
}
