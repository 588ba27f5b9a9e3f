//! An access request processed to completion in the operator console, in a real headless
//! Chromium (chromedriver and fantoccini, as `console_browser.rs`). A person asks through the
//! API and confirms with the code mailed to her; an operator signs in with TOTP, finds the
//! request by her e-mail, sees it verified and its empty checklist, approves it, sees the SQLite
//! shop located (her customer row and two orders), completes the paper archive's manual step
//! with a note and a scanned file, and watches the request complete with its export ready (state,
//! rows per table, expiry, downloads left). The person then downloads the package from the
//! page her e-mail links to: it holds her rows and the scan, and nothing of the other customer;
//! the request page then counts one download fewer. A screenshot of the completed request goes
//! to `target/artifacts/console-access-request.png`. The pages and the package's `index.html`
//! (with a manual store's attachment) are audited like every browser test's ([`lethe_tests::a11y`]).

use std::io::Read;

use fantoccini::Locator;
use lethe_entities::domain::enums::Role;
use lethe_tests::a11y::audit;
use lethe_tests::app::org_slug;
use lethe_tests::browser::{
    browser, click, console_sign_in_with_totp, downloaded, fill, follow, reload_until, reload_until_text, screenshot,
    start_driver, text, wait_text,
};
use lethe_tests::console::{register_sqlite_shop, sqlite_shop};
use lethe_tests::package::read_entry;
use lethe_tests::{Backend, mailbox, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Only in the scanned file the operator attaches: it must reach the package.
const SCAN_MARKER: &str = "scan-marker-5d17a2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_processes_an_access_request_to_its_download_in_chromium() {
    let app = spawn_app(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let org = org_slug();
    let admin = app.admin(&org).await;
    let email = format!("privacy@{org}.test");
    app.operator_in(&org, &email, Role::Operator).await;

    // The shop (SQLite: Ann with two orders, Bob with one) and a paper archive to search.
    register_sqlite_shop(&app, &admin, &sqlite_shop(dir.path()).await).await;
    let archive = json!({ "name": "paper-archive", "kind": "manual", "instructions": "Scan the customer's folder in cabinet 3." });
    assert_eq!(app.post("/v1/stores", Some(&admin), archive).await.0, StatusCode::CREATED);

    // Ann asks for a copy of her data and confirms her address with the mailed code.
    let req = app.verified(&org, "access", "gdpr", "ann@example.com").await;

    let driver = start_driver().await;
    let client = browser(&driver, "en").await;
    let base = &app.base;
    console_sign_in_with_totp(&client, base, &email).await;

    // Find her request by e-mail and open it: verified, nothing on the checklist yet.
    fill(&client, "#q", "ANN@example.com").await;
    follow(&client, "#search").await;
    let rows = client.find_all(Locator::Css("#queue tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 1, "exactly her request");
    follow(&client, &format!("a[href='/console/requests/{}']", req.id)).await;
    assert_eq!(text(&client, "#state").await, "pending_approval");
    assert!(text(&client, "#verification").await.starts_with("verified "));
    assert!(client.source().await.unwrap().contains("No store tasks yet"));

    // Approve: the shop is located, the archive waits for a person, the export for both.
    fill(&client, "#approve-note", "Identity verified by e-mail").await;
    follow(&client, "#approve").await;
    wait_text(&client, "#notice", "Approved").await;
    let located = reload_until_text(&client, "#task-shop", "Located").await;
    assert!(located.contains("Located 3 rows: customers 1, orders 2."), "{located}");
    reload_until(&client, "#task-paper-archive form[action$='/complete']").await;
    assert!(text(&client, "#task-paper-archive").await.contains("cabinet 3"), "the instructions");
    assert!(text(&client, "#export-pending").await.contains("not started yet"));
    audit(&client, "request, located, a manual step waiting").await;

    // Complete the archive's step with a note and the scan of her folder.
    let scan: Vec<u8> = [b"%PDF-1.7\n".as_slice(), SCAN_MARKER.as_bytes(), &[0, 255, 1]].concat();
    let scan_path = dir.path().join("ann-folder-scan.pdf");
    std::fs::write(&scan_path, &scan).unwrap();
    let task = "#task-paper-archive form[action$='/complete']";
    fill(&client, &format!("{task} textarea"), "Folder 3 scanned, 2 pages").await;
    fill(&client, &format!("{task} input[type=file]"), scan_path.to_str().unwrap()).await;
    click(&client, &format!("{task} input[type=checkbox]")).await;
    follow(&client, &format!("{task} button")).await;
    wait_text(&client, "#notice", "checklist item is settled").await;

    // The request completes; the page shows the export ready, with its expiry and downloads.
    reload_until_text(&client, "#export-state", "ready").await;
    reload_until_text(&client, "#state", "completed").await;
    let rows = text(&client, "#export-rows").await;
    assert!(rows.starts_with("3 ") && rows.contains("shop.customers 1") && rows.contains("shop.orders 2"), "{rows}");
    let expires = text(&client, "#export-expires").await;
    let in_a_week = (time::OffsetDateTime::now_utc() + time::Duration::days(7)).date().to_string();
    assert!(expires.starts_with(&in_a_week), "the link lives 7 days: {expires}");
    assert_eq!(text(&client, "#export-downloads-left").await, "10 of 10");
    assert!(text(&client, "#export-mailed").await.contains("verified address"));
    assert!(text(&client, "#task-paper-archive").await.contains("done"));
    assert!(text(&client, "#timeline").await.contains("Folder 3 scanned"));
    audit(&client, "request, completed with its export").await;
    client.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
    screenshot(&client, "console-access-request.png").await;

    // Ann downloads the package from the page her e-mail links to.
    let message = mailbox::wait_for_message_with(&app.outbox, "ann@example.com", "/v1/exports/").await;
    let mail = mailbox::part(&message, "text/plain").unwrap();
    let link = format!("http://lethe.test/p/{org}/download/");
    let at = mail.find(&link).expect("the download page's link") + link.len();
    let token: String =
        mail[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')).collect();
    client.goto(&format!("{base}/p/{org}/download/{token}")).await.unwrap();
    assert_eq!(text(&client, "#downloads-left").await, "10");
    click(&client, "#download").await;
    let zip = downloaded(&driver, "zip").await;
    let mut package = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("a ZIP");

    // Her rows, store by store, and the scan byte for byte; nothing of Bob's.
    let data: Value = serde_json::from_str(&read_entry(&mut package, "data.json")).unwrap();
    let text_of = data.to_string();
    assert!(text_of.contains("ann@example.com") && text_of.contains("Ann Example"), "{data}");
    assert!(!text_of.contains("bob@example.com") && !text_of.contains("Bob Example"), "nothing of Bob's: {data}");
    let customers = read_entry(&mut package, "shop/customers.csv");
    assert_eq!(customers.lines().count(), 2, "a header and her row: {customers}");
    assert!(customers.contains("Ann Example"));
    let orders = read_entry(&mut package, "shop/orders.csv");
    let totals: Vec<&str> = orders.lines().skip(1).filter_map(|l| l.split(',').next_back()).collect();
    assert_eq!(totals, ["100", "250"], "her two orders, not Bob's: {orders}");
    let mut attached = Vec::new();
    package.by_name("paper-archive/attachments/ann-folder-scan.pdf").unwrap().read_to_end(&mut attached).unwrap();
    assert_eq!(attached, scan, "the scan as attached");
    assert!(read_entry(&mut package, "index.html").contains("paper-archive"));
    let unpacked = tempfile::tempdir().unwrap();
    let index = unpacked.path().join("index.html");
    std::fs::write(&index, read_entry(&mut package, "index.html")).unwrap();
    client.goto(&format!("file://{}", index.display())).await.unwrap();
    audit(&client, "the package's index.html, with an attachment").await;

    // The request page counts the download.
    client.goto(&format!("{base}/console/requests/{}", req.id)).await.unwrap();
    assert_eq!(text(&client, "#export-downloads-left").await, "9 of 10");
    client.close().await.unwrap();
}
