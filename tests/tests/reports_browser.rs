//! The dashboard and the published metrics in a real headless Chromium (as
//! `console_browser.rs`): an operator opens the dashboard from the menu, picks last year and
//! reads its pictures and figures; a person finds the published figures from the portal's start
//! page, in German. Every page state is audited with axe-core (WCAG 2.1 A/AA) and at 320 px
//! ([`lethe_tests::a11y`]).

use lethe_entities::domain::enums::Role;
use lethe_tests::a11y::audit;
use lethe_tests::app::org_slug;
use lethe_tests::browser::{browser, choose, console_sign_in, follow, screenshot, start_driver, text};
use lethe_tests::reports::{a_year_of_requests, last_year};
use lethe_tests::{Backend, spawn_app};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_and_the_published_metrics_in_chromium() {
    let app = spawn_app(Backend::Sqlite).await;
    let org = org_slug();
    let email = format!("operator@{org}.test");
    let admin = app.admin(&org).await;
    app.operator_in(&org, &email, Role::Operator).await;
    a_year_of_requests(&app, &org).await;
    let year = last_year().number().to_string();

    let driver = start_driver().await;
    let client = browser(&driver, "en").await;
    let base = &app.base;
    console_sign_in(&client, base, &email).await;
    follow(&client, "nav a[href='/console/dashboard']").await;
    assert_eq!(text(&client, "#received-sum").await, "0", "this year has no requests yet");
    audit(&client, "dashboard, an empty year").await;
    choose(&client, "#year", &year).await;
    follow(&client, "#year-form button").await;
    assert_eq!(text(&client, "h1").await, format!("Dashboard {year}"));
    assert_eq!(text(&client, "#received-sum").await, "10");
    let bars =
        client.execute("return document.querySelectorAll('#chart-received rect title').length", vec![]).await.unwrap();
    assert_eq!(
        bars,
        json!(6),
        "one bar per kind and week with requests: erasures in weeks 0, 1, 10 (two), access in 14 (four) and 51, an opt-out in 28"
    );
    let drawn = client
        .execute("return document.querySelector('svg#chart-days').getBoundingClientRect().width", vec![])
        .await
        .unwrap();
    assert!(drawn.as_f64().unwrap_or(0.0) > 300.0, "the chart is drawn at the page's width: {drawn}");
    audit(&client, "dashboard, a year of requests").await;
    screenshot(&client, "dashboard.png").await;
    client.execute("document.getElementById('h-days').scrollIntoView()", vec![]).await.unwrap();
    screenshot(&client, "dashboard-days.png").await;

    // The portal, once the organization publishes its figures.
    let (status, _) = app.patch("/v1/organization", &admin, json!({ "portal": { "publish_metrics": true } })).await;
    assert!(status.is_success());
    client.goto(&format!("{base}/p/{org}/?lang=de")).await.unwrap();
    follow(&client, "#metrics-link").await;
    assert!(text(&client, "h1").await.starts_with("Datenschutzanträge"));
    let table = text(&client, "#metrics").await;
    assert!(table.contains("Alle Anträge"), "{table}");
    audit(&client, "published metrics, last year, in German").await;
    choose(&client, "#year", &year).await;
    follow(&client, "#year-form button").await;
    assert_eq!(text(&client, "h1").await, format!("Datenschutzanträge {year}"));
    audit(&client, "published metrics, chosen year").await;
    client.close().await.unwrap();
}
