//! Webhooks in the console, in a real headless Chromium (as `console_browser.rs`): an admin adds
//! an endpoint with two events, copies its secret from the page that shows it once, sends a
//! test event and watches it arrive in the delivery log with the receiver's answer. A receiver
//! process checks the delivery with the Standard Webhooks reference library. Every page state is
//! audited with axe-core (WCAG 2.1 A/AA) and at 320 px ([`lethe_tests::a11y`]).

use lethe_entities::domain::enums::Role;
use lethe_tests::a11y::audit;
use lethe_tests::app::org_slug;
use lethe_tests::browser::{
    browser, click, console_sign_in_with_totp, fill, follow, reload_until_text, start_driver, text,
};
use lethe_tests::webhook_receiver::Receiver;
use lethe_tests::{Backend, spawn_app};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_an_endpoint_and_sees_its_deliveries_in_chromium() {
    let app = spawn_app(Backend::Sqlite).await;
    let receiver = Receiver::start();
    let org = org_slug();
    let email = format!("admin@{org}.test");
    app.operator_in(&org, &email, Role::Admin).await;

    let driver = start_driver().await;
    let client = browser(&driver, "en").await;
    let base = &app.base;
    console_sign_in_with_totp(&client, base, &email).await;

    // The Webhooks page: none yet, and the form to add one.
    follow(&client, "a[href='/console/webhooks']").await;
    assert!(client.source().await.unwrap().contains("No webhook endpoints."));
    audit(&client, "webhooks, none yet").await;
    fill(&client, "#webhook-url", &receiver.url("/desk")).await;
    fill(&client, "#webhook-description", "help desk").await;
    click(&client, "input[name='event'][value='request.received']").await;
    click(&client, "input[name='event'][value='request.completed']").await;
    follow(&client, "#add-webhook").await;

    // The secret, shown once.
    let secret = text(&client, "#secret").await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    audit(&client, "the new endpoint's secret").await;
    receiver.verify_with(&[&secret]).await;
    follow(&client, "#done").await;
    assert!(text(&client, "#webhooks").await.contains("request.received, request.completed"));
    audit(&client, "webhooks, one endpoint").await;

    // Its page: a test event, answered 200, in the log.
    follow(&client, "#webhooks a").await;
    audit(&client, "an endpoint, nothing sent").await;
    follow(&client, "#send-test").await;
    // The page reads the delivery before its attempts: once the delivery says succeeded, the
    // attempt that succeeded is there too.
    let log = reload_until_text(&client, "#deliveries", "succeeded").await;
    assert!(log.contains("webhook.test") && log.contains("HTTP 200"), "{log}");
    let received = receiver.wait_until("the test event", |d| !d.is_empty()).await;
    assert_eq!(received[0]["verified"], json!([true]));
    audit(&client, "an endpoint with a delivery").await;
    client.close().await.unwrap();
}
