//! The operator console in a real headless Chromium, driven over WebDriver (chromedriver and
//! fantoccini): sign in, enrol TOTP (the code computed from the secret the page shows), sign in
//! again with a code, find a request by e-mail, approve it, complete its manual checklist item,
//! watch it complete and open the certificate of erasure; and, as an admin, register a SQLite
//! store (an invalid name first, answered inline), test it, run discovery and save the reviewed
//! data map, place and release a legal hold, process an erasure request to completion and prove
//! it on the ledger page (the subject's entries, "verify now"). Screenshots of the queue, a
//! request page, the store form's errors, a store's discovery review and the ledger page go to
//! `target/artifacts/`. Every page state visited, and the settings and retention pages, are
//! audited with axe-core (WCAG 2.1 A/AA) and at 320 px ([`lethe_tests::a11y`]). `.ci/run` installs `chromium` and `chromium-driver`. The access request
//! is in `console_access_browser.rs`.

use fantoccini::Locator;
use lethe_entities::domain::enums::Role;
use lethe_tests::a11y::audit;
use lethe_tests::app::org_slug;
use lethe_tests::browser::{
    artifacts, browser, choose, click, console_sign_in, console_sign_in_with_totp, fill, follow, reload_until,
    screenshot, start_driver, text, value, wait_text,
};
use lethe_tests::console::sqlite_shop;
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

    // Sign in with the password, enrol TOTP from the secret shown as text; sign out, sign in
    // again with a TOTP code.
    console_sign_in_with_totp(&client, base, &email).await;
    audit(&client, "queue").await;
    let queue_shot = client.screenshot().await.unwrap();
    std::fs::write(artifacts().join("console-queue.png"), queue_shot).unwrap();

    // Find her request by e-mail and open it.
    fill(&client, "#q", "Ann.Subject@example.com").await;
    follow(&client, "#search").await;
    let rows = client.find_all(Locator::Css("#queue tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 1, "exactly her request");
    audit(&client, "queue, searched").await;
    follow(&client, &format!("a[href='/console/requests/{}']", req.id)).await;
    assert_eq!(text(&client, "#state").await, "pending_approval");
    audit(&client, "request, pending approval").await;

    // Approve; the manual store's task appears; complete it.
    fill(&client, "#approve-note", "Identity verified by e-mail").await;
    follow(&client, "#approve").await;
    assert!(text(&client, "#notice").await.contains("Approved"));
    reload_until(&client, "form[action$='/complete'] textarea").await;
    fill(&client, "form[action$='/complete'] textarea", "Folder shredded, witnessed by J. Doe").await;
    click(&client, "form[action$='/complete'] input[type=checkbox]").await;
    audit(&client, "request, a manual task to complete").await;
    let request_shot = client.screenshot().await.unwrap();
    std::fs::write(artifacts().join("console-request.png"), request_shot).unwrap();
    follow(&client, "form[action$='/complete'] button").await;
    reload_until(&client, "#certificate").await;
    assert_eq!(text(&client, "#state").await, "completed");
    assert!(text(&client, "#timeline").await.contains("Folder shredded"));
    audit(&client, "request, completed").await;

    // The certificate of erasure.
    follow(&client, "#certificate").await;
    let source = client.source().await.unwrap();
    assert!(source.contains("paper-archive") && source.to_lowercase().contains("certificate"), "{source}");
    assert!(!source.contains("ann.subject@example.com"), "no personal data in the certificate");
    audit(&client, "certificate").await;
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_maps_a_sqlite_store_holds_and_proves_an_erasure_in_chromium() {
    let app = spawn_app(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let shop_url = sqlite_shop(dir.path()).await;
    let org = org_slug();
    let email = format!("dpo@{org}.test");
    app.operator_in(&org, &email, Role::Admin).await;
    let req = app.verified(&org, "erasure", "gdpr", "ann@example.com").await;

    let driver = start_driver().await;
    let client = browser(&driver, "en").await;
    let base = &app.base;
    console_sign_in(&client, base, &email).await;
    wait_text(&client, "nav a[href='/console/stores']", "Stores").await;

    // The settings page (with the privacy notice) and the retention page (its new-policy form).
    client.goto(&format!("{base}/console/settings")).await.unwrap();
    wait_text(&client, "#h-privacy", "Privacy notice").await;
    audit(&client, "settings").await;
    fill(&client, "#authority", "Integritetsskyddsmyndigheten (IMY)").await;
    fill(&client, "#authority-url", "https://www.imy.se/").await;
    follow(&client, "#save-privacy").await;
    wait_text(&client, "#notice", "privacy notice is saved").await;
    assert_eq!(value(&client, "#authority").await, "Integritetsskyddsmyndigheten (IMY)");
    client.goto(&format!("{base}/console/retention")).await.unwrap();
    wait_text(&client, "#new-policy", "Maximum age").await;
    audit(&client, "retention").await;
    let (form, card) = (
        client.execute("return document.querySelector('#new-policy').scrollWidth", vec![]).await.unwrap(),
        client.execute("return document.querySelector('#new-policy').clientWidth", vec![]).await.unwrap(),
    );
    assert!(form.as_u64() <= card.as_u64(), "the new-policy form fits its card: {form} > {card}");

    // Register the SQLite store (a name in capitals first: the error next to the field, the
    // kind kept, the URL to type again), test it, discover it, review and save the proposed map.
    follow(&client, "nav a[href='/console/stores']").await;
    fill(&client, "#store-name", "Shop").await;
    choose(&client, "#store-kind", "sqlite").await;
    fill(&client, "#store-url", &shop_url).await;
    follow(&client, "#register-store").await;
    assert!(text(&client, "#store-name-error").await.contains("lower-case letters"));
    assert!(text(&client, "#error-summary").await.contains("Name: 1 to 64 characters"));
    assert_eq!(value(&client, "#store-kind").await, "sqlite");
    assert_eq!(value(&client, "#store-url").await, "", "the URL with credentials is not sent back");
    audit(&client, "stores, a form with errors").await;
    screenshot(&client, "console-store-errors.png").await;
    client.find(Locator::Css("#store-name")).await.unwrap().clear().await.unwrap();
    fill(&client, "#store-name", "shop").await;
    fill(&client, "#store-url", &shop_url).await;
    follow(&client, "#register-store").await;
    wait_text(&client, "#notice", "Registered").await;
    follow(&client, "#test-store").await;
    wait_text(&client, "#last-test", "passed").await;
    audit(&client, "store, tested").await;
    follow(&client, "#discover").await;
    wait_text(&client, "#notice", "review the proposed data map").await;
    let customers = client.find(Locator::Css("#table-customers")).await.expect("the customers table in the review");
    assert!(customers.text().await.unwrap().contains("email"));
    let identity =
        client.find(Locator::Css("#table-customers select[name$='.identity'] option[selected]")).await.unwrap();
    assert_eq!(
        identity.attr("value").await.unwrap().as_deref(),
        Some("email"),
        "discovery proposes the e-mail identity"
    );
    let store_shot = client.screenshot().await.unwrap();
    audit(&client, "store, discovery's review").await;
    std::fs::write(artifacts().join("console-store-discovery.png"), store_shot).unwrap();
    follow(&client, "#save-map").await;
    wait_text(&client, "#notice", "Data map version 1 saved.").await;
    assert!(text(&client, "#map-version").await.contains("version 1"));
    audit(&client, "store, map saved").await;

    // Place a legal hold on another person and release it.
    follow(&client, "nav a[href='/console/retention/holds']").await;
    choose(&client, "#hold-scope", "subject").await;
    choose(&client, "#hold-kind", "email").await;
    fill(&client, "#hold-value", "zed@example.com").await;
    fill(&client, "#hold-reason", "Litigation: Zed v. Shop").await;
    fill(&client, "#hold-owner", "legal@shop.test").await;
    follow(&client, "#place").await;
    wait_text(&client, "#notice", "in force").await;
    assert!(text(&client, ".hold .hold-state").await.contains("in force"));
    audit(&client, "holds, one in force").await;
    click(&client, ".hold details summary").await;
    fill(&client, ".hold details textarea", "Case settled").await;
    follow(&client, ".hold details button").await;
    wait_text(&client, "#notice", "released").await;
    assert!(text(&client, ".hold .hold-state").await.contains("Case settled"));

    // Approve Ann's erasure and watch it complete through the SQLite store.
    client.goto(&format!("{base}/console/requests/{}", req.id)).await.unwrap();
    fill(&client, "#approve-note", "Identity verified").await;
    follow(&client, "#approve").await;
    wait_text(&client, "#notice", "Approved").await;
    reload_until(&client, "#certificate").await;
    assert_eq!(text(&client, "#state").await, "completed");
    assert!(text(&client, "#task-shop").await.contains("done"));
    audit(&client, "request, erasure completed").await;

    // Prove it on the ledger page: "verify now" passes, and her entries by e-mail show the
    // erasure in the shop.
    follow(&client, "nav a[href='/console/ledger']").await;
    follow(&client, "#verify-now").await;
    let verification = wait_text(&client, "#verification", "OK:").await;
    assert!(verification.starts_with("OK:"), "{verification}");
    choose(&client, "#lookup-kind", "email").await;
    fill(&client, "#lookup-value", "Ann@Example.com").await;
    follow(&client, "#look-up").await;
    let entries = wait_text(&client, "#entries", "entries").await;
    assert!(entries.contains("erasure") && entries.contains("shop") && entries.contains(&req.id), "{entries}");
    audit(&client, "ledger, verified and looked up").await;
    let ledger_shot = client.screenshot().await.unwrap();
    std::fs::write(artifacts().join("console-ledger.png"), ledger_shot).unwrap();
    client.close().await.unwrap();

    // Her rows are gone from the shop; Bob's are still there.
    use sea_orm::{ConnectionTrait, Statement};
    let shop = sea_orm::Database::connect(&shop_url).await.unwrap();
    let count = |sql: &'static str| {
        let shop = shop.clone();
        async move {
            let row =
                shop.query_one_raw(Statement::from_string(shop.get_database_backend(), sql)).await.unwrap().unwrap();
            row.try_get_by_index::<i64>(0).unwrap()
        }
    };
    assert_eq!(count("SELECT count(*) FROM customers WHERE email = 'ann@example.com'").await, 0);
    assert_eq!(count("SELECT count(*) FROM orders").await, 1, "Bob's order stays");
}
