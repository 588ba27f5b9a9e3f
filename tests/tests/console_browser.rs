//! The operator console in a real headless Chromium, driven over WebDriver (chromedriver and
//! fantoccini): sign in, enrol TOTP (the code computed from the secret the page shows), sign in
//! again with a code, find a request by e-mail, approve it, complete its manual checklist item,
//! watch it complete and open the certificate of erasure. Screenshots of the queue and of the
//! request page go to `target/artifacts/`. `.ci/run` installs `chromium` and `chromium-driver`.

use fantoccini::Locator;
use lethe_entities::domain::enums::Role;
use lethe_tests::app::org_slug;
use lethe_tests::browser::{artifacts, browser, click, fill, follow, reload_until, start_driver, text};
use lethe_tests::console::{PASSWORD, totp_code};
use lethe_tests::{Backend, spawn_app};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_enrols_totp_and_completes_an_erasure_in_chromium() {
    let app = spawn_app(Backend::Sqlite).await;
    let org = org_slug();
    let email = format!("dpo@{org}.test");
    let admin = app.operator_in(&org, &email, Role::Admin).await;
    let store = json!({ "name": "paper-archive", "kind": "manual", "instructions": "Shred the customer's folder in cabinet 3." });
    let (status, body) = app.post("/v1/stores", Some(&admin), store).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for other in ["bob@example.com", "cid@example.com"] {
        app.verified(&org, "access", "ccpa", other).await;
    }
    let req = app.verified(&org, "erasure", "gdpr", "ann.subject@example.com").await;

    let driver = start_driver().await;
    let client = browser(&driver, "en").await;
    let base = &app.base;

    // Sign in with the password, enrol TOTP from the secret shown as text.
    client.goto(&format!("{base}/console/sign-in")).await.unwrap();
    fill(&client, "#email", &email).await;
    fill(&client, "#password", PASSWORD).await;
    follow(&client, "#sign-in").await;
    client.goto(&format!("{base}/console/mfa")).await.unwrap();
    let qr_loaded = client.execute("return document.querySelector('img.qr').naturalWidth", vec![]).await.unwrap();
    assert!(qr_loaded.as_u64().unwrap_or(0) > 0, "the QR code image loads under the CSP");
    let secret = text(&client, "#totp-secret").await;
    fill(&client, "#code", &totp_code(&secret, 0)).await;
    follow(&client, "#confirm-mfa").await;
    let codes = text(&client, "#recovery-codes").await;
    assert_eq!(codes.lines().filter(|l| !l.trim().is_empty()).count(), 10, "{codes}");
    follow(&client, "#continue").await;

    // Sign out, sign in again with a TOTP code.
    follow(&client, "form[action='/console/sign-out'] button").await;
    fill(&client, "#email", &email).await;
    fill(&client, "#password", PASSWORD).await;
    follow(&client, "#sign-in").await;
    assert!(client.current_url().await.unwrap().path().ends_with("/sign-in/code"));
    fill(&client, "#code", &totp_code(&secret, 1)).await;
    follow(&client, "#verify-code").await;
    assert_eq!(client.current_url().await.unwrap().path(), "/console/");
    let queue_shot = client.screenshot().await.unwrap();
    std::fs::write(artifacts().join("console-queue.png"), queue_shot).unwrap();

    // Find her request by e-mail and open it.
    fill(&client, "#q", "Ann.Subject@example.com").await;
    follow(&client, "#search").await;
    let rows = client.find_all(Locator::Css("#queue tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 1, "exactly her request");
    follow(&client, &format!("a[href='/console/requests/{}']", req.id)).await;
    assert_eq!(text(&client, "#state").await, "pending_approval");

    // Approve; the manual store's task appears; complete it.
    fill(&client, "#approve-note", "Identity verified by e-mail").await;
    follow(&client, "#approve").await;
    assert!(text(&client, "#notice").await.contains("Approved"));
    reload_until(&client, "form[action$='/complete'] textarea").await;
    fill(&client, "form[action$='/complete'] textarea", "Folder shredded, witnessed by J. Doe").await;
    click(&client, "form[action$='/complete'] input[type=checkbox]").await;
    let request_shot = client.screenshot().await.unwrap();
    std::fs::write(artifacts().join("console-request.png"), request_shot).unwrap();
    follow(&client, "form[action$='/complete'] button").await;
    reload_until(&client, "#certificate").await;
    assert_eq!(text(&client, "#state").await, "completed");
    assert!(text(&client, "#timeline").await.contains("Folder shredded"));

    // The certificate of erasure.
    follow(&client, "#certificate").await;
    let source = client.source().await.unwrap();
    assert!(source.contains("paper-archive") && source.to_lowercase().contains("certificate"), "{source}");
    assert!(!source.contains("ann.subject@example.com"), "no personal data in the certificate");
    client.close().await.unwrap();
}
