//! The customer portal in a real headless Chromium (chromedriver and fantoccini, as the
//! console's browser test): a deletion request in English, German and Swedish from the start
//! page, each verified with the code read from the test mailbox, its status page changing as an
//! operator approves (through the JSON API) until it is completed; an invalid form keeping its
//! input, its title and focus saying so; an access request in each language, its export
//! downloaded from the link in its e-mail and its package opened in the browser, then the link
//! expired. Every page state and each package is audited with axe-core (WCAG 2.1 A/AA) and at
//! 320 px ([`lethe_tests::a11y`]). Screenshots of the form and the status page go to
//! `target/artifacts/`.

use fantoccini::{Client, Locator};
use lethe_entities::domain::enums::Role;
use lethe_tests::a11y::audit;
use lethe_tests::app::{TestApp, org_slug};
use lethe_tests::browser::{
    browser, click, downloaded, fill, follow, reload_until, reload_until_text, screenshot, start_driver, text, value,
};
use lethe_tests::{Backend, mailbox, spawn_app};
use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::json;

/// Fills in the form for `email` and `kind` from the start page and sends it.
async fn request(client: &Client, base: &str, org: &str, lang: &str, email: &str, kind: &str, shot: Option<&str>) {
    client.goto(&format!("{base}/p/{org}/?lang={lang}")).await.unwrap();
    audit(client, &format!("start page ({lang})")).await;
    follow(client, "#start").await;
    audit(client, &format!("request form ({lang})")).await;
    fill(client, "#email", email).await;
    click(client, &format!("#kind-{kind}")).await;
    click(client, "#confirm").await;
    if let Some(name) = shot {
        client.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
        screenshot(client, name).await;
    }
    follow(client, "#submit").await;
}

/// Enters the code e-mailed to `email` (its `n`th message) on the verification page.
async fn verify(client: &Client, app: &TestApp, email: &str, n: usize) {
    assert!(client.current_url().await.unwrap().path().contains("/verify/"), "{}", client.source().await.unwrap());
    audit(client, "verification page").await;
    let code = app.code_for(email, n).await;
    fill(client, "#code", &code).await;
    follow(client, "#verify").await;
}

/// The request id shown on a status page.
async fn reference(client: &Client) -> String {
    client.find(Locator::Css(".facts code")).await.unwrap().text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_use_the_portal_in_three_languages_in_chromium() {
    let app = spawn_app(Backend::Sqlite).await;
    let org = org_slug();
    let admin = app.operator_in(&org, &format!("dpo@{org}.test"), Role::Admin).await;
    let people = [
        "emma@example.com",
        "lena@example.com",
        "sara@example.com",
        "olle@example.com",
        "nils@example.com",
        "karin@example.com",
    ];
    let store = lethe_tests::portal::people_store(&app, &admin, &people).await;
    let branding = json!({ "portal": { "colour": "#1d6b35", "privacy_policy_url": "https://shop.example/privacy" } });
    assert_eq!(app.patch("/v1/organization", &admin, branding).await.0, StatusCode::OK);
    let driver = start_driver().await;
    let client = browser(&driver, "de-DE,de").await;
    let base = &app.base;

    // The browser's language decides the first page; the switch changes it.
    client.goto(&format!("{base}/p/{org}/")).await.unwrap();
    assert_eq!(client.find(Locator::Css("html")).await.unwrap().attr("lang").await.unwrap().as_deref(), Some("de"));

    // An erasure in each language: submit, verify, see it received, approved, completed.
    let cases = [
        ("en", people[0], "Received", "Completed"),
        ("de", people[1], "Eingegangen", "Abgeschlossen"),
        ("sv", people[2], "Mottagen", "Klar"),
    ];
    for (lang, email, received, completed) in cases {
        let shot = (lang == "en").then_some("portal-form.png");
        request(&client, base, &org, lang, email, "erasure", shot).await;
        verify(&client, &app, email, 1).await;
        assert_eq!(text(&client, "#state").await, received, "{lang}");
        audit(&client, &format!("status page, received ({lang})")).await;
        assert!(client.find(Locator::Css("#cancel")).await.is_ok(), "cancel while pending");
        if lang == "en" {
            screenshot(&client, "portal-status.png").await;
        }
        let id = reference(&client).await;
        let (status, body) = app.post(&format!("/v1/requests/{id}/approve"), Some(&admin), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        reload_until_text(&client, "#state", completed).await;
        audit(&client, &format!("status page, completed ({lang})")).await;
        assert!(client.find(Locator::Css("#cancel")).await.is_err());
        let html = client.find(Locator::Css("html")).await.unwrap();
        assert_eq!(html.attr("lang").await.unwrap().as_deref(), Some(lang));
    }
    // Their rows are gone from the store; each got the code, received and completed mails.
    let url = format!("sqlite://{}", store.path().join("people.db").display());
    let rows = sea_orm::Database::connect(&url)
        .await
        .unwrap()
        .query_all_raw(sea_orm::Statement::from_string(sea_orm::DbBackend::Sqlite, "SELECT email FROM people"))
        .await
        .unwrap();
    let left: Vec<String> = rows.iter().map(|r| r.try_get::<String>("", "email").unwrap()).collect();
    assert_eq!(left, people[3..]);
    for email in &people[..3] {
        let subjects = mailbox::wait_for_messages_to(&app.outbox, email, 3).await;
        assert_eq!(subjects.len(), 3, "code, received and completed mails");
    }

    // An invalid form keeps what was typed, with the errors next to the fields.
    client.goto(&format!("{base}/p/{org}/request?lang=en")).await.unwrap();
    fill(&client, "#email", "olle at example").await;
    fill(&client, "#message", "Please hurry.").await;
    click(&client, "#kind-access").await;
    follow(&client, "#submit").await;
    assert!(text(&client, "#email-error").await.contains("e-mail address"));
    assert!(client.find(Locator::Css("#confirm-error")).await.is_ok());
    assert_eq!(value(&client, "#email").await, "olle at example");
    assert_eq!(value(&client, "#message").await, "Please hurry.");
    assert!(client.find(Locator::Css("#kind-access:checked")).await.is_ok());
    // The title and the focus say so (WCAG 3.3.1): the error summary has the focus.
    assert!(client.title().await.unwrap().starts_with("Error: "), "{}", client.title().await.unwrap());
    let focused = client.execute("return document.activeElement.id", vec![]).await.unwrap();
    assert_eq!(focused, json!("error-summary"));
    audit(&client, "request form with errors").await;
    screenshot(&client, "portal-form-errors.png").await;
    // The error summary links to the field.
    click(&client, "#error-summary a[href='#email']").await;
    assert!(client.current_url().await.unwrap().as_str().ends_with("#email"));
    // The brand colour comes from the organization's stylesheet (no inline style under the CSP).
    let colour = client
        .execute("return getComputedStyle(document.querySelector('#submit')).backgroundColor", vec![])
        .await
        .unwrap();
    assert_eq!(colour, json!("rgb(29, 107, 53)"));

    // An access request in each language: its export downloaded from the e-mailed link, its
    // download page and its package audited like every page.
    let access = [("en", people[3], "Completed"), ("de", people[4], "Abgeschlossen"), ("sv", people[5], "Klar")];
    for (lang, email, completed) in access {
        request(&client, base, &org, lang, email, "access", None).await;
        verify(&client, &app, email, 1).await;
        let id = reference(&client).await;
        let (status, _) = app.post(&format!("/v1/requests/{id}/approve"), Some(&admin), json!({})).await;
        assert_eq!(status, StatusCode::OK);
        reload_until_text(&client, "#state", completed).await;
        reload_until(&client, "#export-ready").await;
        audit(&client, &format!("status page, the copy ready ({lang})")).await;
        let token = lethe_tests::package::export_token(&app, email).await;
        let message = mailbox::wait_for_message_with(&app.outbox, email, "/v1/exports/").await;
        let mail = mailbox::part(&message, "text/plain").unwrap();
        let page = format!("/p/{org}/download/{token}");
        assert!(mail.contains(&format!("http://lethe.test{page}")), "{mail}");
        client.goto(&format!("{base}{page}")).await.unwrap();
        assert_eq!(text(&client, "#downloads-left").await, "10");
        audit(&client, &format!("download page ({lang})")).await;
        click(&client, "#download").await;
        let zip = downloaded(&driver, "zip").await;
        for file in std::fs::read_dir(driver.downloads()).unwrap().flatten() {
            std::fs::remove_file(file.path()).unwrap();
        }
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
        let data = lethe_tests::package::read_entry(&mut archive, "data.json");
        assert!(data.contains(email) && !data.contains(people[0]), "her rows only");
        client.refresh().await.unwrap();
        assert_eq!(text(&client, "#downloads-left").await, "9");
        // The package's page, opened as the person opens it: from the unpacked ZIP.
        let unpacked = tempfile::tempdir().unwrap();
        let index = unpacked.path().join("index.html");
        std::fs::write(&index, lethe_tests::package::read_entry(&mut archive, "index.html")).unwrap();
        client.goto(&format!("file://{}", index.display())).await.unwrap();
        let html = client.find(Locator::Css("html")).await.unwrap();
        assert_eq!(html.attr("lang").await.unwrap().as_deref(), Some(lang));
        audit(&client, &format!("the package's index.html ({lang})")).await;
        client.goto(&format!("{base}{page}")).await.unwrap();
    }

    // The last link (Swedish) once expired: the page explains how to ask again.
    lethe_tests::portal::expire_exports(&app).await;
    client.refresh().await.unwrap();
    reload_until(&client, "#gone").await;
    assert!(text(&client, "#gone").await.contains("gör en ny begäran"), "{}", text(&client, "#gone").await);
    audit(&client, "download page, link expired (sv)").await;
    follow(&client, "#new-request").await;
    assert!(client.current_url().await.unwrap().path().ends_with("/request"));
    client.close().await.unwrap();
}
