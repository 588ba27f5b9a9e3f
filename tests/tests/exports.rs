//! Access exports end to end, against the company's four automated stores (PostgreSQL shop,
//! MariaDB CRM, SQLite analytics, Redis cache): an access request is verified, approved and
//! completed; the e-mailed link downloads a ZIP holding exactly the subject's located rows
//! (`data.json`, one CSV per table, a readable `index.html`) and nothing of anyone else's; the
//! file at rest is encrypted; wrong, expired and used-up links are refused; a store that is down
//! blocks the package until it is located again; the purge destroys the key, deletes the file
//! and writes an `export_purge` ledger entry. Manual stores: the package waits for their tasks,
//! and a file an operator attaches goes into it (kept only encrypted until then).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lethe_entities::entity::export::{self, ExportState};
use lethe_entities::entity::task_return;
use lethe_tests::app::{TestApp, org_slug, spawn_app};
use lethe_tests::company::{Company, STORES};
use lethe_tests::mailbox;
use lethe_tests::package::{download, export_token, open, read_entry, unquote};
use lethe_tests::scan::{Logs, stored_in};
use lethe_tests::{Backend, both_backends};
use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

type Keys = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// Keys per store and table that a preview with values finds for `email`.
async fn preview_keys(app: &TestApp, token: &str, store: &str, email: &str) -> Keys {
    let body = json!({ "identities": [{ "kind": "email", "value": email }], "include_values": true });
    let (status, preview) = app.post(&format!("/v1/stores/{store}/preview"), Some(token), body).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    let mut out = Keys::new();
    for store in std::iter::once(&preview["store"]).chain(preview["others"].as_array().unwrap()) {
        let Some(rows) = store["rows"].as_object() else { continue };
        for (table, rows) in rows {
            let keys: BTreeSet<String> =
                rows.as_array().unwrap().iter().map(|r| r["key"].as_str().unwrap().to_owned()).collect();
            assert!(keys.len() < 50, "the preview shows at most 50 rows per table");
            if !keys.is_empty() {
                out.entry(store["store"].as_str().unwrap().to_owned()).or_default().insert(table.clone(), keys);
            }
        }
    }
    out
}

async fn problem(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    (status, response.json().await.unwrap())
}

fn exports_dir(app: &TestApp) -> PathBuf {
    app.outbox.parent().unwrap().join("exports")
}

fn package_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect()
}

async fn export_of(app: &TestApp, request: &str) -> export::Model {
    let id: uuid::Uuid = request.parse().unwrap();
    export::Entity::find().filter(export::Column::RequestId.eq(id)).one(&app.db).await.unwrap().expect("an export row")
}

async fn set_export(app: &TestApp, id: uuid::Uuid, column: export::Column, value: sea_orm::Value) {
    export::Entity::update_many()
        .col_expr(column, Expr::value(value))
        .filter(export::Column::Id.eq(id))
        .exec(&app.db)
        .await
        .unwrap();
}

fn html_escaped(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

async fn wait_for_tasks(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    // A store that is down is tried 3 times (the test settings), each connection attempt for up
    // to the store pool's 10-second timeout.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let (status, tasks) = app.get(&format!("/v1/requests/{id}/tasks"), Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{tasks}");
        let tasks = tasks.as_array().cloned().unwrap_or_default();
        if !tasks.is_empty() && tasks.iter().all(|t| t["status"] != "pending") {
            return tasks;
        }
        assert!(std::time::Instant::now() < deadline, "tasks still pending: {tasks:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn timeline_kinds(app: &TestApp, token: &str, id: &str) -> Vec<String> {
    let (_, detail) = app.get(&format!("/v1/requests/{id}"), Some(token)).await;
    detail["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect()
}

both_backends! {
    async fn an_access_request_is_exported_downloaded_and_purged(backend: Backend) {
        let (app, company) = tokio::join!(spawn_app(backend), Company::create());
        let org = org_slug();
        let admin = app.admin(&org).await;
        let ids = company.register(&app, &admin, false).await;
        let ann_email = company.ann.emails[0].clone();
        let expected = preview_keys(&app, &admin, &ids["shop"], &ann_email).await;
        assert_eq!(expected.keys().map(String::as_str).collect::<BTreeSet<_>>(), STORES.into_iter().collect());

        // The organization's privacy notice, which the package carries.
        let notice = json!({ "privacy": {
            "controller": "Acme AB, Box 1, 111 22 Stockholm",
            "dpo_contact": "dpo@acme.example",
            "supervisory_authority": "Integritetsskyddsmyndigheten (IMY)",
            "supervisory_authority_url": "https://www.imy.se/",
        }});
        let (status, settings) = app.patch("/v1/organization", &admin, notice).await;
        assert_eq!((status, &settings["privacy"]["dpo_contact"]), (StatusCode::OK, &json!("dpo@acme.example")), "{settings}");

        // Verified, approved, exported, completed.
        let req = app.verified(&org, "access", "gdpr", &ann_email).await;
        let (status, _) = app.post(&format!("/v1/requests/{}/approve", req.id), Some(&admin), json!({})).await;
        assert_eq!(status, StatusCode::OK);
        app.wait_for_state(&req.id, &admin, "completed").await;
        let tasks = wait_for_tasks(&app, &admin, &req.id).await;
        assert!(tasks.iter().all(|t| t["status"] == "done"), "{tasks:?}");
        let kinds = timeline_kinds(&app, &admin, &req.id).await;
        assert!(kinds.contains(&"export_ready".to_owned()) && kinds.contains(&"completed".to_owned()), "{kinds:?}");
        let (_, detail) = app.get(&format!("/v1/requests/{}", req.id), Some(&admin)).await;
        assert!(!detail["timeline"].to_string().contains("example.com"), "no identity on the timeline");

        // The link is mailed to the verified address (after the verification code).
        let token = export_token(&app, &ann_email).await;
        let response = download(&app, &token).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/zip");
        let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
        assert!(disposition.starts_with("attachment; filename=\"personal-data-") && disposition.ends_with(".zip\""));
        assert_eq!(response.headers()["cache-control"], "no-store");
        let length: usize = response.headers()["content-length"].to_str().unwrap().parse().unwrap();
        let bytes = response.bytes().await.unwrap().to_vec();
        assert_eq!(bytes.len(), length);
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP");

        // data.json: exactly Ann's located rows, keyed as locating keys them.
        let data: Value = serde_json::from_str(&read_entry(&mut zip, "data.json")).unwrap();
        assert_eq!(data["format"], "lethe-access-export/2");
        assert_eq!((data["language"].as_str(), data["controller"]["dpo_contact"].as_str()), (Some("en"), Some("dpo@acme.example")));
        assert_eq!(data["controller"]["supervisory_authority"]["url"], "https://www.imy.se/");
        assert!(data["rights"]["request_url"].as_str().unwrap().ends_with(&format!("/p/{org}/")), "{}", data["rights"]);
        assert_eq!(data["request_id"], req.id.as_str());
        let mut found = Keys::new();
        let mut csvs = Vec::new();
        for store in data["stores"].as_array().unwrap() {
            let name = store["store"].as_str().unwrap();
            for table in store["tables"].as_array().unwrap() {
                let pk: Vec<&str> = table["primary_key"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
                let rows = table["rows"].as_array().unwrap();
                assert_eq!(table["row_count"].as_u64().unwrap() as usize, rows.len());
                let keys: BTreeSet<String> = rows
                    .iter()
                    .map(|row| pk.iter().map(|c| row[*c].as_str().unwrap_or_default()).collect::<Vec<_>>().join(","))
                    .collect();
                assert_eq!(keys.len(), rows.len(), "{name}.{}: no row twice", table["table"]);
                found.entry(name.to_owned()).or_default().insert(table["table"].as_str().unwrap().to_owned(), keys);
                csvs.push((table["csv"].as_str().unwrap().to_owned(), rows.len(), pk[0].to_owned()));
            }
        }
        assert_eq!(found, expected, "exactly the rows a preview of her address finds, in every store");
        assert!(data.to_string().contains(&ann_email));
        let customers = &data["stores"].as_array().unwrap().iter().find(|s| s["store"] == "shop").unwrap()["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == "customers")
            .cloned()
            .unwrap();
        assert!(customers["purpose"].as_str().unwrap().starts_with("Your customer account"));
        assert!(customers["categories"].as_array().unwrap().iter().any(|c| c["category"] == "user.contact.email"
            && c["description"].as_str().is_some_and(|d| !d.is_empty())));

        // One CSV per table with the same rows.
        for (name, rows, first_column) in &csvs {
            let csv = read_entry(&mut zip, name);
            assert!(csv.starts_with(first_column.as_str()), "{name} starts with its key column: {csv}");
            assert_eq!(csv.matches("\r\n").count(), rows + 1, "{name}: header and one line per row");
        }
        assert_eq!(zip.len(), csvs.len() + 2, "index.html, data.json and the CSVs");

        // index.html: readable, self-contained, names every store, table and purpose.
        let html = read_entry(&mut zip, "index.html");
        assert!(html.starts_with("<!doctype html>"));
        for store in STORES {
            assert!(html.contains(&format!("In our system “{store}”")), "{store}");
        }
        for expected in ["Acme AB, Box 1, 111 22 Stockholm", "dpo@acme.example", "Integritetsskyddsmyndigheten (IMY)"] {
            assert!(html.contains(expected), "{expected}");
        }
        for store in data["stores"].as_array().unwrap() {
            for table in store["tables"].as_array().unwrap() {
                assert!(html.contains(&html_escaped(table["label"].as_str().unwrap())), "{}", table["label"]);
                if let Some(purpose) = table["purpose"].as_str() {
                    assert!(html.contains(&html_escaped(purpose)), "{purpose}");
                }
            }
        }
        assert!(html.contains("An e-mail address") || html.contains("e-mail"), "categories in words");
        for external in ["<script", " src=", "<link", "@import", "url("] {
            assert!(!html.contains(external), "no script and no external resource: {external}");
        }
        // Links go only within the page, to the organization's portal and to its authority.
        for link in html.split("href=\"").skip(1).map(|rest| rest.split('"').next().unwrap()) {
            assert!(
                link.starts_with('#')
                    || link.ends_with(&format!("/p/{org}/"))
                    || link.contains(&format!("/p/{org}/request?kind="))
                    || link == "https://www.imy.se/",
                "{link}"
            );
        }

        // Nothing of Bob's anywhere.
        for i in 0..zip.len() {
            let mut text = String::new();
            zip.by_index(i).unwrap().read_to_string(&mut text).unwrap();
            assert!(!text.contains(&company.bob.emails[0]) && !text.contains(&company.bob.name), "entry {i}");
        }

        // At rest: one encrypted file, no ZIP, no address.
        let dir = exports_dir(&app);
        let files = package_files(&dir);
        assert_eq!(files.len(), 1, "{files:?}");
        let raw = std::fs::read(&files[0]).unwrap();
        assert!(!raw.starts_with(b"PK") && zip::ZipArchive::new(std::io::Cursor::new(raw.clone())).is_err());
        assert!(!String::from_utf8_lossy(&raw).contains(&ann_email));
        let row = export_of(&app, &req.id).await;
        assert_eq!(row.state, ExportState::Ready);
        assert_eq!(row.downloads, 1);
        assert!(row.token_digest.as_deref().is_some_and(|d| d != token), "only a digest is stored");

        // Altered and unknown links: the same 404.
        let mut altered = token.clone().into_bytes();
        altered[20] = if altered[20] == b'A' { b'B' } else { b'A' };
        let (status, altered_body) = problem(download(&app, std::str::from_utf8(&altered).unwrap()).await).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(altered_body["code"], "export_not_found");
        let (status, unknown_body) = problem(download(&app, &"x".repeat(64)).await).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(unknown_body, altered_body);
        assert!(!altered_body.to_string().contains(&token[..20]), "the token is not echoed");

        // The cap: once used up, 429 download_limit.
        set_export(&app, row.id, export::Column::Downloads, row.max_downloads.into()).await;
        let (status, body) = problem(download(&app, &token).await).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("download_limit")));
        set_export(&app, row.id, export::Column::Downloads, 1.into()).await;
        assert_eq!(download(&app, &token).await.status(), StatusCode::OK);

        // Expired: 410.
        let past = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
        set_export(&app, row.id, export::Column::ExpiresAt, Some(past).into()).await;
        let (status, body) = problem(download(&app, &token).await).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::GONE, Some("export_expired")));

        // Purge (the workers' loop may get there first: either way it happens once).
        let keyring = lethe_entities::Keyring::derive(
            &lethe_entities::MasterKey::from_base64(&app.master_key_base64()).unwrap(),
        );
        let now = time::OffsetDateTime::now_utc();
        let purged = lethe_worker::export::purge_expired(&app.db, &keyring, &dir, now).await.unwrap();
        assert!(purged.exports <= 1);
        let again = lethe_worker::export::purge_expired(&app.db, &keyring, &dir, now).await.unwrap();
        assert_eq!(again.exports, 0, "purged once");
        let row = export_of(&app, &req.id).await;
        assert_eq!(row.state, ExportState::Purged);
        assert!(row.key_ciphertext.is_none(), "the key is destroyed");
        assert!(package_files(&dir).is_empty(), "the file is deleted");
        let (status, body) = problem(download(&app, &token).await).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::GONE, Some("export_expired")));
        let (status, page) = app.get("/v1/ledger/entries?kind=export_purge", Some(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let entries = page["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "{page}");
        assert_eq!(entries[0]["request_id"], req.id.as_str());
        assert_eq!(entries[0]["action"], "crypto_shred");
        assert_eq!(entries[0]["row_count"].as_i64(), Some(row.row_count));
        assert_eq!(entries[0]["subject_refs"].as_array().unwrap().len(), 1);
        assert!(!page.to_string().contains(&ann_email));
        assert!(timeline_kinds(&app, &admin, &req.id).await.contains(&"export_purged".to_owned()));

        // A store that is down blocks Bob's package; once it is back, locating again builds it.
        let down = json!({ "connection": { "url": "mysql://root@127.0.0.1:1/nowhere" } });
        let (status, _) = app.put(&format!("/v1/stores/{}", ids["crm"]), &admin, down).await;
        assert_eq!(status, StatusCode::OK);
        let bob = app.verified(&org, "access", "gdpr", &company.bob.emails[0]).await;
        app.post(&format!("/v1/requests/{}/approve", bob.id), Some(&admin), json!({})).await;
        let tasks = wait_for_tasks(&app, &admin, &bob.id).await;
        assert_eq!(tasks.iter().find(|t| t["store"] == "crm").unwrap()["status"], "failed");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !timeline_kinds(&app, &admin, &bob.id).await.contains(&"export_blocked".to_owned()) {
            assert!(std::time::Instant::now() < deadline, "no export_blocked event");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        // Nothing Lethe does on its own will finish it: the request fails, and the admins are told.
        app.wait_for_state(&bob.id, &admin, "failed").await;
        let bob_id: uuid::Uuid = bob.id.parse().unwrap();
        let none = export::Entity::find().filter(export::Column::RequestId.eq(bob_id)).one(&app.db).await.unwrap();
        assert!(none.is_none(), "no package is started while a store is down");
        let mails = mailbox::wait_for_messages_to(&app.outbox, &company.bob.emails[0], 1).await;
        assert!(mails.iter().all(|m| !m.contains("/v1/exports/")), "no link");

        let back = json!({ "connection": { "url": company.crm_url } });
        app.put(&format!("/v1/stores/{}", ids["crm"]), &admin, back).await;
        let (status, _) = app.post(&format!("/v1/requests/{}/retry", bob.id), Some(&admin), json!({})).await;
        assert_eq!(status, StatusCode::OK);
        app.wait_for_state(&bob.id, &admin, "completed").await;
        let token = export_token(&app, &company.bob.emails[0]).await;
        let mut zip = open(&app, &token).await;
        let data = read_entry(&mut zip, "data.json");
        assert!(data.contains(&company.bob.emails[0]) && !data.contains(&ann_email));
        let crm = serde_json::from_str::<Value>(&data).unwrap()["stores"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["store"] == "crm")
            .cloned()
            .unwrap();
        assert!(!crm["tables"].as_array().unwrap().is_empty(), "the CRM's rows are in the package");
        company.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organizations_own_link_lifetime_sets_the_expiry() {
    let (app, company) = tokio::join!(spawn_app(Backend::Sqlite), Company::create());
    let org = org_slug();
    let admin = app.admin(&org).await;
    let response = app
        .http
        .patch(app.url("/v1/organization"))
        .bearer_auth(&admin)
        .json(&json!({ "export_link_days": 2 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (status, store) = app
        .post(
            "/v1/stores",
            Some(&admin),
            json!({ "name": "shop", "kind": "postgres", "connection": { "url": company.shop_url } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{store}");
    let path = format!("/v1/stores/{}/datamap", store["id"].as_str().unwrap());
    let (status, saved) = app.put(&path, &admin, json!({ "yaml": company.data_map("shop") })).await;
    assert_eq!(status, StatusCode::OK, "{saved}");

    let ann = company.ann.emails[0].clone();
    let before = time::OffsetDateTime::now_utc();
    let req = app.verified(&org, "access", "gdpr", &ann).await;
    app.post(&format!("/v1/requests/{}/approve", req.id), Some(&admin), json!({})).await;
    app.wait_for_state(&req.id, &admin, "completed").await;
    let token = export_token(&app, &ann).await;
    let after = time::OffsetDateTime::now_utc();

    // Two days from the mail, not the installation's seven; the mail says so.
    let row = export_of(&app, &req.id).await;
    let expires = row.expires_at.expect("an expiry");
    let two_days = time::Duration::days(2);
    assert!(before + two_days <= expires && expires <= after + two_days, "{expires} is two days after the mail");
    let mail = unquote(&mailbox::wait_for_message_with(&app.outbox, &ann, "/v1/exports/").await);
    let date = expires
        .format(time::macros::format_description!("[day padding:none] [month repr:long] [year] at [hour]:[minute] UTC"))
        .unwrap();
    assert!(mail.contains(&date), "the mail names the expiry {date}: {mail}");
    assert_eq!(download(&app, &token).await.status(), StatusCode::OK);

    // A day later it is still there; two days (and a minute) later it is purged and gone.
    let keyring =
        lethe_entities::Keyring::derive(&lethe_entities::MasterKey::from_base64(&app.master_key_base64()).unwrap());
    let dir = exports_dir(&app);
    let day_later =
        lethe_worker::export::purge_expired(&app.db, &keyring, &dir, after + time::Duration::days(1)).await.unwrap();
    assert_eq!(day_later.exports, 0);
    assert_eq!(export_of(&app, &req.id).await.state, ExportState::Ready);
    assert_eq!(download(&app, &token).await.status(), StatusCode::OK);
    let later = after + two_days + time::Duration::minutes(1);
    let purged = lethe_worker::export::purge_expired(&app.db, &keyring, &dir, later).await.unwrap();
    assert_eq!(purged.exports, 1);
    assert_eq!(export_of(&app, &req.id).await.state, ExportState::Purged);
    let (status, body) = problem(download(&app, &token).await).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::GONE, Some("export_expired")));
    company.cleanup().await;
}

/// Only in the attached file: it must reach the package and nowhere else.
const SCAN_MARKER: &str = "marker-c4e81b-paper";

both_backends! {
    async fn manual_stores_attach_files_to_the_package(backend: Backend) {
        let logs = Logs::capture();
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        for (name, instructions) in [("call-centre", "Search the call notes."), ("paper-archive", "Scan folder 3.")] {
            let body = json!({ "name": name, "kind": "manual", "instructions": instructions });
            let (status, store) = app.post("/v1/stores", Some(&admin), body).await;
            assert_eq!(status, StatusCode::CREATED, "{store}");
        }
        let email = format!("carla-{}@example.com", org_slug());
        let req = app.verified(&org, "access", "gdpr", &email).await;
        let (status, _) = app.post(&format!("/v1/requests/{}/approve", req.id), Some(&admin), json!({})).await;
        assert_eq!(status, StatusCode::OK);
        let tasks = wait_for_tasks(&app, &admin, &req.id).await;
        assert!(tasks.iter().all(|t| t["status"] == "waiting"), "{tasks:?}");
        let complete = |task: &Value, body: Value| {
            let path = format!("/v1/requests/{}/tasks/{}/complete", req.id, task["id"].as_str().unwrap());
            let admin = admin.clone();
            let app = &app;
            async move { app.post(&path, Some(&admin), body).await }
        };

        // Completed without a file: not in the package; the package still waits for the archive.
        let (status, task) = complete(&tasks[0], json!({ "reason": "Nothing in the call notes." })).await;
        assert_eq!((status, task["status"].as_str()), (StatusCode::OK, Some("done")), "{task}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert!(export::Entity::find().one(&app.db).await.unwrap().is_none(), "the package waits for the archive");
        let (_, detail) = app.get(&format!("/v1/requests/{}", req.id), Some(&admin)).await;
        assert_eq!(detail["state"], "in_progress");

        // Files that are refused; the task keeps waiting.
        let file = |name: &str, content: String| json!({ "reason": "Scanned.", "attachment": { "file_name": name, "content_base64": content } });
        for (body, field) in [
            (file("scan.pdf", "not base64!".into()), "attachment.content_base64"),
            (file("scan.pdf", String::new()), "attachment.content_base64"),
            (file("scan.pdf", STANDARD.encode(vec![7u8; (10 << 20) + 1])), "attachment.content_base64"),
            (file(" ", STANDARD.encode(b"x")), "attachment.file_name"),
            (file("a\nb.pdf", STANDARD.encode(b"x")), "attachment.file_name"),
        ] {
            let (status, problem) = complete(&tasks[1], body).await;
            assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")));
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        }
        // A connection of its own: the server may close it after refusing a body it did not read
        // whole, which would break the next request sent on a pooled connection.
        let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
        let path = format!("/v1/requests/{}/tasks/{}/complete", req.id, tasks[1]["id"].as_str().unwrap());
        let refused = client
            .post(app.url(&path))
            .bearer_auth(&admin)
            // Just over the route's limit: the server refuses it once the limit is passed, and
            // the few bytes left unread fit in the socket's buffer (a far larger body may be cut
            // off while it is still being sent).
            .json(&file("scan.pdf", "A".repeat(lethe_api::routes::requests::tasks::COMPLETE_BODY_BYTES)))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let problem: Value = refused.json().await.unwrap();
        assert_eq!(problem["code"], "payload_too_large");
        let (_, now) = app.get(&format!("/v1/requests/{}/tasks", req.id), Some(&admin)).await;
        assert_eq!(now[1]["status"], "waiting");

        // The file: the package is built with it and the request completes.
        let scan: Vec<u8> = [b"%PDF-1.7\n".as_slice(), SCAN_MARKER.as_bytes(), &[0, 255, 1, 254]].concat();
        let (status, task) = complete(&tasks[1], file("../Carla's passport scan.pdf", STANDARD.encode(&scan))).await;
        assert_eq!((status, task["status"].as_str()), (StatusCode::OK, Some("done")), "{task}");
        app.wait_for_state(&req.id, &admin, "completed").await;
        let mut zip = open(&app, &export_token(&app, &email).await).await;
        let entry = "paper-archive/attachments/_Carla_s_passport_scan.pdf";
        let mut attached = Vec::new();
        zip.by_name(entry).unwrap().read_to_end(&mut attached).unwrap();
        assert_eq!(attached, scan, "the file as attached, byte for byte");
        let data: Value = serde_json::from_str(&read_entry(&mut zip, "data.json")).unwrap();
        assert_eq!(
            data["stores"],
            json!([{ "store": "paper-archive", "kind": "manual", "tables": [], "attachments": [{ "file": entry, "bytes": scan.len() }] }])
        );
        assert_eq!(data["not_included"], json!([{ "store": "call-centre", "kind": "manual" }]));
        let html = read_entry(&mut zip, "index.html");
        assert!(html.contains(entry) && html.contains("Not in this package") && html.contains("<li>call-centre</li>"));
        assert_eq!(zip.len(), 3, "index.html, data.json and the file");

        // Gone from Lethe once packaged; its content and name never stored in clear nor logged.
        assert_eq!(task_return::Entity::find().count(&app.db).await.unwrap(), 0);
        for secret in [SCAN_MARKER, "passport"] {
            assert_eq!(stored_in(&app, secret).await, Vec::<String>::new(), "{secret} in the database");
            assert!(!logs.contain(secret), "{secret} in the logs");
        }
        let (_, detail) = app.get(&format!("/v1/requests/{}", req.id), Some(&admin)).await;
        let completed: Vec<&Value> =
            detail["timeline"].as_array().unwrap().iter().filter(|e| e["kind"] == "task_completed").collect();
        assert_eq!(completed.len(), 2);
        assert_eq!(completed[1]["detail"]["attachment_bytes"], scan.len());
        assert!(!detail["timeline"].to_string().contains("passport"));
    }
}
