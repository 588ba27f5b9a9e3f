//! Export benchmark: one person with 1,000,000 rows (`-- --quick`: 100,000) in a SQLite store,
//! exported end to end by a whole engine in this process (Lethe's database on SQLite): access
//! request verified and approved, rows located and spooled, package assembled and encrypted,
//! link mailed, request completed; then the package downloaded (decrypted as it streams) to a
//! file and checked.
//!
//! Prints the time from approval to completion, the download time, the package sizes and the
//! process's peak resident memory (`VmHWM`, reset through `/proc/self/clear_refs` after the
//! store is generated, so the figure is the export's own). Target: peak RSS under 200 MB.
//!
//! Run with `cargo bench -p lethe-tests --bench export` (add `-- --quick` for 100,000 rows).

use std::io::{BufRead, BufReader, Read, Write};
use std::time::{Duration, Instant};

use lethe_tests::app::{Backend, org_slug, spawn_app};
use lethe_tests::mailbox;
use sea_orm::{ConnectionTrait, Database};
use serde_json::json;

/// The store's map: an e-mail identity on `customers`, the events hang off the customer.
const DATA_MAP: &str = "
version: 1
tables:
  - name: customers
    primary_key: [id]
    purpose: Your customer account.
    columns:
      - { name: email, identity: email, category: user.contact.email }
      - { name: name, category: user.name }
  - name: events
    primary_key: [id]
    purpose: Understanding how the shop is used.
    columns:
      - { name: url, category: user.behavior.browsing_history }
      - { name: ip, category: user.device.ip_address }
    references:
      - { column: customer_id, target: { table: customers, column: id }, direction: from }
";

const EMAIL: &str = "heavy.user@example.com";

/// A field of `/proc/self/status` in kB.
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rows: u64 = if quick { 100_000 } else { 1_000_000 };
    let dir = tempfile::tempdir().unwrap();

    // The store: 1,000 customers, `rows` events for customer 1 and 10 for each of the others.
    let started = Instant::now();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("store.db").display());
    let store = Database::connect(&url).await.unwrap();
    for statement in [
        "PRAGMA journal_mode = WAL".to_owned(),
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL)".to_owned(),
        "CREATE INDEX customers_email ON customers (lower(email))".to_owned(),
        "CREATE TABLE events (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers (id), \
         kind TEXT NOT NULL, at TEXT NOT NULL, url TEXT, ip TEXT)"
            .to_owned(),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) \
             INSERT INTO customers SELECT i, CASE i WHEN 1 THEN '{EMAIL}' ELSE 'customer' || i || '@example.com' END, \
             'Customer ' || i FROM n"
        ),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) \
             INSERT INTO events SELECT i, 1, 'page_view', '2026-01-01T00:00:00Z', \
             'https://shop.example/products/' || (i % 5000) || '?ref=\"mail, week ' || (i % 52) || '\"', \
             '192.0.2.' || (i % 250) FROM n"
        ),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 9990) \
             INSERT INTO events SELECT {rows} + i, 2 + i % 999, 'page_view', '2026-01-01T00:00:00Z', '/', NULL FROM n"
        ),
        "CREATE INDEX events_customer ON events (customer_id)".to_owned(),
    ] {
        store.execute_unprepared(&statement).await.unwrap();
    }
    drop(store);
    println!("store: {rows} events for one person generated in {:.1?}", started.elapsed());

    let app = spawn_app(Backend::Sqlite).await;
    let org = org_slug();
    let admin = app.admin(&org).await;
    let (status, created) = app
        .post(
            "/v1/stores",
            Some(&admin),
            json!({ "name": "analytics", "kind": "sqlite", "connection": { "url": url } }),
        )
        .await;
    assert!(status.is_success(), "{created}");
    let id = created["id"].as_str().unwrap();
    let response = app
        .http
        .put(app.url(&format!("/v1/stores/{id}/datamap")))
        .bearer_auth(&admin)
        .json(&json!({ "yaml": DATA_MAP }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
    let request = app.verified(&org, "access", "gdpr", EMAIL).await;

    // Measure the export alone: reset the peak (Linux: writing 5 to clear_refs resets VmHWM).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status_kb("VmRSS:");
    let started = Instant::now();
    let (status, _) = app.post(&format!("/v1/requests/{}/approve", request.id), Some(&admin), json!({})).await;
    assert!(status.is_success());
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        let (_, detail) = app.get(&format!("/v1/requests/{}", request.id), Some(&admin)).await;
        if detail["state"] == "completed" {
            break;
        }
        assert!(Instant::now() < deadline, "not completed: {}", detail["state"]);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let export_time = started.elapsed();
    let export_peak = status_kb("VmHWM:");

    // The link, from the export-ready message.
    let message = mailbox::wait_for_message_with(&app.outbox, EMAIL, "/v1/exports/").await;
    let text = message.replace("=\r\n", "").replace("=\n", "");
    let at = text.find("/v1/exports/").unwrap() + "/v1/exports/".len();
    let token: String =
        text[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    let stored: u64 = std::fs::read_dir(app.outbox.parent().unwrap().join("exports"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "bin"))
        .map(|e| e.metadata().unwrap().len())
        .sum();

    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let started = Instant::now();
    let mut response = app.http.get(app.url(&format!("/v1/exports/{token}"))).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let zip_path = dir.path().join("download.zip");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&zip_path).unwrap());
    let mut downloaded = 0u64;
    while let Some(chunk) = response.chunk().await.unwrap() {
        downloaded += chunk.len() as u64;
        file.write_all(&chunk).unwrap();
    }
    file.flush().unwrap();
    drop(file);
    let download_time = started.elapsed();
    let download_peak = status_kb("VmHWM:");

    // The package holds every row: the events CSV has a header and one line per event.
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let csv = zip.by_name("analytics/events.csv").unwrap();
    let lines = BufReader::new(csv).split(b'\n').count() as u64;
    assert_eq!(lines, rows + 1, "every event is in the CSV");
    let mut json_head = [0u8; 64];
    zip.by_name("data.json").unwrap().read_exact(&mut json_head).unwrap();
    let data_json = zip.by_name("data.json").unwrap().size();

    println!("export of {rows} rows (approve -> completed, mail included): {export_time:.2?}");
    println!(
        "  package: {:.1} MB encrypted on disk, {:.1} MB ZIP, data.json {:.1} MB uncompressed",
        stored as f64 / 1e6,
        downloaded as f64 / 1e6,
        data_json as f64 / 1e6
    );
    println!("  RSS before: {:.1} MB; peak during export (VmHWM): {:.1} MB", mb(before), mb(export_peak));
    println!(
        "download (streamed, decrypted): {download_time:.2?}; peak RSS during download: {:.1} MB",
        mb(download_peak)
    );
    let target = 200.0;
    println!(
        "target: peak RSS < {target} MB: {}",
        if mb(export_peak.max(download_peak)) < target { "met" } else { "NOT met" }
    );
}
