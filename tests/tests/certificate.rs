//! The certificate of erasure: after a real erasure across the company's stores (and a manual
//! store completed by an operator), the certificate verifies with the published key, its rows
//! are the ledger's, it lists what the shop retained and why, it names nobody, tampering breaks
//! it, its HTML page is self-contained, and only readers of the request's organization get it,
//! only once the request is completed.

use std::collections::BTreeMap;

use lethe_api::engine::Mode;
use lethe_entities::domain::enums::Role;
use lethe_entities::ledger::certificate::{self, CertificateError, Outcome};
use lethe_entities::ledger::checkpoint::parse_public_key;
use lethe_tests::app::{Backend, TestApp, org_slug, spawn_app_with};
use lethe_tests::company::Company;
use reqwest::StatusCode;
use serde_json::{Value, json};

const NOTE: &str = "Folder 17-B shredded on site by the archive clerk.";

/// GETs the certificate with optional extra query and Accept header: status, content type, body.
async fn fetch(
    app: &TestApp,
    bearer: Option<&str>,
    id: &str,
    query: &str,
    accept: Option<&str>,
) -> (StatusCode, String, String) {
    let mut req = app.http.get(app.url(&format!("/v1/requests/{id}/certificate{query}")));
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let response = req.send().await.unwrap();
    let status = response.status();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (status, content_type, response.text().await.unwrap())
}

fn code(body: &str) -> Option<String> {
    serde_json::from_str::<Value>(body).ok().and_then(|v| v["code"].as_str().map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_erasure_has_a_verifiable_certificate_that_names_nobody() {
    let (app, company) = tokio::join!(spawn_app_with(Backend::Postgres, Mode::All, |_| {}), Company::create());
    let org = org_slug();
    let admin = app.admin(&org).await;
    company.register(&app, &admin, true).await;
    let ann = &company.ann;
    let req = app.verified(&org, "erasure", "gdpr", &ann.emails[0]).await;

    // Not yet: verified but not approved, then in progress with the manual store waiting.
    let (status, _, body) = fetch(&app, Some(&admin), &req.id, "", None).await;
    assert_eq!((status, code(&body).as_deref()), (StatusCode::CONFLICT, Some("not_completed")), "{body}");
    let (status, _) = app.post(&format!("/v1/requests/{}/approve", req.id), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let tasks = app.tasks_settled(&req.id, &admin).await;
    let (status, _, body) = fetch(&app, Some(&admin), &req.id, "", None).await;
    assert_eq!((status, code(&body).as_deref()), (StatusCode::CONFLICT, Some("not_completed")), "{body}");

    let operator = app.operator_in(&org, &format!("op@{org}.test"), Role::Operator).await;
    let manual = tasks.iter().find(|t| t["store"] == "paper-archive").unwrap();
    let path = format!("/v1/requests/{}/tasks/{}/complete", req.id, manual["id"].as_str().unwrap());
    let (status, task) = app.post(&path, Some(&operator), json!({ "reason": NOTE })).await;
    assert_eq!(status, StatusCode::OK, "{task}");
    let detail = app.wait_for_state(&req.id, &admin, "completed").await;

    // The certificate verifies with the published key.
    let (status, content_type, text) = fetch(&app, Some(&admin), &req.id, "", None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(content_type.starts_with("application/json"), "{content_type}");
    let signed = certificate::parse(&text).unwrap();
    let (_, public) = app.get("/v1/ledger/public-key", None).await;
    let key = parse_public_key(public["pem"].as_str().unwrap()).unwrap();
    assert_eq!(certificate::verify(&signed, &key), Ok(()));
    let cert = &signed.certificate;
    assert_eq!(cert.request_id.to_string(), req.id);
    assert_eq!(cert.key_id, public["key_id"].as_str().unwrap());

    // Its rows are the ledger's: per store, table and action.
    let (status, page) = app.get(&format!("/v1/ledger/entries?request_id={}&limit=1000", req.id), Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let entries = page["entries"].as_array().unwrap();
    let mut ledger: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for e in entries.iter().filter(|e| e["kind"] == "erasure") {
        let key = (
            e["store"].as_str().unwrap().into(),
            e["table"].as_str().unwrap().into(),
            e["action"].as_str().unwrap().into(),
        );
        *ledger.entry(key).or_default() += e["row_count"].as_u64().unwrap();
    }
    let mut certified: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for store in &cert.stores {
        for e in &store.erased {
            *certified.entry((store.store.clone(), e.table.clone(), e.action.clone())).or_default() += e.rows;
        }
    }
    assert!(!ledger.is_empty());
    assert_eq!(certified, ledger);
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    let closing = entries.iter().find(|e| e["kind"] == "request_closed").unwrap()["seq"].as_u64().unwrap();
    assert_eq!(
        (cert.ledger.first_seq, cert.ledger.last_seq, cert.ledger.entries, cert.ledger.closing_seq),
        (seqs[0], *seqs.last().unwrap(), seqs.len() as u64, closing)
    );

    // Every store is accounted for; the shop says what it kept and why.
    let outcomes: BTreeMap<&str, Outcome> = cert.stores.iter().map(|s| (s.store.as_str(), s.outcome)).collect();
    assert_eq!(
        outcomes,
        BTreeMap::from([
            ("analytics", Outcome::Erased),
            ("cache", Outcome::Erased),
            ("crm", Outcome::Erased),
            ("paper-archive", Outcome::CompletedByOperator),
            ("shop", Outcome::Erased),
        ])
    );
    let shop = cert.stores.iter().find(|s| s.store == "shop").unwrap();
    let retained: BTreeMap<&str, &str> = shop.retained.iter().map(|r| (r.table.as_str(), r.basis.as_str())).collect();
    assert_eq!(retained.get("orders"), Some(&"Bookkeeping law: order records are kept seven years"), "{retained:?}");
    assert_eq!(retained.get("payments"), Some(&"Bookkeeping law"), "{retained:?}");
    assert!(
        shop.retained
            .iter()
            .all(|r| r.rows > 0 && r.period == "P7Y" && r.until.as_ref().is_some_and(|u| u.len() == 10))
    );
    assert_eq!(cert.completed_at.len(), "2026-11-22T10:00:00.123456Z".len());

    // The HTML page: the same facts, self-contained, chosen by ?format=html or Accept.
    let (status, content_type, html) = fetch(&app, Some(&admin), &req.id, "?format=html", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let (status, by_accept, _) = fetch(&app, Some(&admin), &req.id, "", Some("text/html,*/*;q=0.8")).await;
    assert_eq!((status, by_accept.starts_with("text/html")), (StatusCode::OK, true), "{by_accept}");
    let lower = html.to_ascii_lowercase();
    for banned in ["<script", "http://", "https://", "src=", "<link", "url("] {
        assert!(!lower.contains(banned), "the page contains {banned}");
    }
    for expected in [
        "Certificate of erasure",
        "Bookkeeping law: order records are kept seven years",
        "payments",
        &cert.key_id,
        "lethe certificate verify",
    ] {
        assert!(html.contains(expected), "the page lacks {expected}");
    }
    assert!(html.contains(&format!("#{}", cert.ledger.closing_seq)));

    // No identity, name or note anywhere; the timeline keeps the note.
    assert!(detail["timeline"].as_array().unwrap().iter().any(|e| e["reason"] == NOTE));
    for page in [&text, &html] {
        // (Not "17-B" alone: lower-cased, it turns up by chance in the hex of ids, "…e17-b4…".)
        let mut personal: Vec<&str> = vec!["example.com", &ann.name, &ann.phone, NOTE, "Folder 17-B"];
        personal.extend(ann.emails.iter().map(String::as_str));
        for value in personal {
            assert!(!page.to_lowercase().contains(&value.to_lowercase()), "the certificate contains {value}");
        }
    }

    // Tampering with a row count breaks the signature.
    let mut tampered = signed.clone();
    let shop_index = tampered.certificate.stores.iter().position(|s| s.store == "shop").unwrap();
    tampered.certificate.stores[shop_index].erased[0].rows += 1;
    assert_eq!(certificate::verify(&tampered, &key), Err(CertificateError::Signature));
    let edited = text.replacen("\"rows\":", "\"rows\":1", 1);
    assert_ne!(edited, text);
    assert_eq!(certificate::verify(&certificate::parse(&edited).unwrap(), &key), Err(CertificateError::Signature));

    // An auditor may read it; another organization cannot see the request; no token, no
    // certificate; a key without `requests:read` is refused.
    let auditor = app.operator_in(&org, &format!("auditor@{org}.test"), Role::Auditor).await;
    let (status, _, body) = fetch(&app, Some(&auditor), &req.id, "", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(certificate::verify(&certificate::parse(&body).unwrap(), &key), Ok(()));
    let other = app.admin(&org_slug()).await;
    let (status, _, body) = fetch(&app, Some(&other), &req.id, "", None).await;
    assert_eq!((status, code(&body).as_deref()), (StatusCode::NOT_FOUND, Some("request_not_found")), "{body}");
    let (status, _, body) = fetch(&app, None, &req.id, "", None).await;
    assert_eq!((status, code(&body).as_deref()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")), "{body}");
    let (status, created) =
        app.post("/v1/api-keys", Some(&admin), json!({"name": "ledger", "scopes": ["ledger:read"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, _, body) = fetch(&app, created["secret"].as_str(), &req.id, "", None).await;
    assert_eq!((status, code(&body).as_deref()), (StatusCode::FORBIDDEN, Some("forbidden")), "{body}");
    let (status, _, body) = fetch(&app, Some(&admin), &req.id, "?format=pdf", None).await;
    assert_eq!((status, code(&body).as_deref()), (StatusCode::BAD_REQUEST, Some("invalid_query")), "{body}");
    company.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_completed_erasure_requests_have_a_certificate() {
    let app = spawn_app_with(Backend::Sqlite, Mode::All, |_| {}).await;
    let org = org_slug();
    let admin = app.admin(&org).await;
    // A canceled erasure request and an access request: closed, but not completed erasures.
    let canceled = app.submit(&org, "erasure", "gdpr", "canceled-subject@example.com").await;
    let (status, _) =
        app.post(&format!("/v1/requests/{}/cancel", canceled.id), None, json!({"token": canceled.token})).await;
    assert_eq!(status, StatusCode::OK);
    let access = app.verified(&org, "access", "gdpr", "access-subject@example.com").await;
    for id in [&canceled.id, &access.id] {
        let (status, _, body) = fetch(&app, Some(&admin), id, "?format=html", None).await;
        assert_eq!((status, code(&body).as_deref()), (StatusCode::CONFLICT, Some("not_completed")), "{body}");
    }
    // Unknown ids answer like another organization's.
    let (status, _, body) = fetch(&app, Some(&admin), &uuid::Uuid::now_v7().to_string(), "", None).await;
    assert_eq!((status, code(&body).as_deref()), (StatusCode::NOT_FOUND, Some("request_not_found")), "{body}");
}
