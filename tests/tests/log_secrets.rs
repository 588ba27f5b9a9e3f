//! No secret and no identity in the logs at any level (issue 16, finding 4).
//!
//! A whole engine logs through the `lethe` binary's own subscriber
//! ([`lethe_api::logging::install`]) with `LETHE_LOG=trace`: Lethe on PostgreSQL with a
//! password in its URL, mail over SMTP with a login. It registers, tests and discovers four
//! stores with passwords in their URLs (PostgreSQL, MariaDB, Redis; SQLite's file path) and an
//! HTTP service with a signing secret; operators sign in (a wrong password, a right one, a
//! token, an API key, a console session); a seeded person's access request (JSON API) and
//! erasure request (portal, with a typed message) go from submission to completion, with a
//! wrong code before the right one; the access package is downloaded; a retention policy runs.
//! Then every line logged is searched for each secret and identity, as written, in any letter
//! case and URL-encoded.
//!
//! A test binary of its own: the log subscriber is one per process.

use std::collections::BTreeMap;

use lethe_api::engine::Mode;
use lethe_tests::app::{Backend, TestApp, org_slug, spawn_app_with};
use lethe_tests::company::{ANN_EMAIL, Company};
use lethe_tests::console::{Console, PASSWORD};
use lethe_tests::leaks::{self, Needle};
use lethe_tests::logins::{StoreLogins, password, with_login};
use lethe_tests::scan::Logs;
use lethe_tests::smtp::SmtpServer;
use lethe_tests::{mailbox, package};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// What the test watches for, and the engine and mail it watches.
struct Run {
    app: TestApp,
    smtp: SmtpServer,
    org: String,
    admin: String,
    watch: Vec<Needle>,
}

impl Run {
    fn watch(&mut self, what: &str, value: &str) {
        self.watch.push(Needle::new(what, value));
    }

    /// The `n`th code mailed to `address` (1-based), watched for from now on.
    async fn code(&mut self, address: &str, n: usize) -> String {
        let messages = mailbox::wait_for_codes_to(&self.smtp.maildir, address, n).await;
        let code = mailbox::code_in(&messages[n - 1]);
        self.watch.push(Needle::number("verification code", &code));
        code
    }
}

/// A wrong password, the right one (a token), an API key used once, a console session.
async fn sign_ins(run: &mut Run) {
    let email = format!("admin@{}.test", run.org);
    let wrong = password("typed-wrong-password");
    let (status, _) = run.app.post("/v1/auth/login", None, json!({ "email": email, "password": wrong })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    run.watch("a mistyped password", &wrong);
    let token = run.app.login(&email, PASSWORD).await;
    run.watch("an access token", &token);
    let (status, key) =
        run.app.post("/v1/api-keys", Some(&run.admin), json!({ "name": "ci", "scopes": ["requests:read"] })).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let secret = key["secret"].as_str().unwrap().to_owned();
    let (status, _) = run.app.get("/v1/requests", Some(&secret)).await;
    assert_eq!(status, StatusCode::OK);
    run.watch("an API key", &secret);
    let console = Console::signed_in(&run.app.base, &email).await;
    assert_eq!(console.get("/console/").await.status, StatusCode::OK);
    for cookie in console.cookie_values() {
        run.watch("a console cookie", &cookie);
    }
}

/// An HTTP service that answers every signed call with `200`.
async fn http_service() -> String {
    let router = axum::Router::new().fallback(|| async { StatusCode::OK });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

/// Registers, tests and discovers the company's stores with password-carrying URLs, and an
/// HTTP service with a signing secret (removed again: it has no data of the person).
async fn stores(run: &mut Run, company: &Company, logins: &StoreLogins) -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    for (name, kind, url) in [
        ("shop", "postgres", &logins.shop_url),
        ("crm", "mysql", &logins.crm_url),
        ("analytics", "sqlite", &company.analytics_url),
        ("cache", "redis", &logins.cache_url),
    ] {
        let body = json!({ "name": name, "kind": kind, "connection": { "url": url } });
        let (status, store) = run.app.post("/v1/stores", Some(&run.admin), body).await;
        assert_eq!(status, StatusCode::CREATED, "{store}");
        let id = store["id"].as_str().unwrap().to_owned();
        let (status, saved) = run
            .app
            .put(&format!("/v1/stores/{id}/datamap"), &run.admin, json!({ "yaml": company.data_map(name) }))
            .await;
        assert_eq!(status, StatusCode::OK, "{name}: {saved}");
        ids.insert(name.to_owned(), id);
    }
    let secret = password("signing-secret");
    let body = json!({ "name": "billing-api", "kind": "http",
                       "connection": { "base_url": http_service().await, "signing_secret": secret } });
    let (status, service) = run.app.post("/v1/stores", Some(&run.admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{service}");
    run.watch("a service's signing secret", &secret);
    let service = service["id"].as_str().unwrap().to_owned();
    for id in ids.values().chain([&service]) {
        let (status, tested) = run.app.post(&format!("/v1/stores/{id}/test"), Some(&run.admin), json!({})).await;
        assert_eq!((status, &tested["ok"]), (StatusCode::OK, &json!(true)), "{tested}");
    }
    for id in ids.values() {
        let (status, found) = run.app.post(&format!("/v1/stores/{id}/discover"), Some(&run.admin), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{found}");
    }
    let (status, _) = run.app.delete(&format!("/v1/stores/{service}"), &run.admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    ids
}

/// Ann's access request through the JSON API (with her phone number and a message): a wrong
/// code, the right one, approval, the package downloaded.
async fn access(run: &mut Run, typed: &str) {
    let body = json!({ "organization": run.org, "kind": "access", "regime": "gdpr", "email": ANN_EMAIL,
                       "phone": lethe_tests::company::ANN_PHONE, "message": typed });
    let (status, req) = run.app.post("/v1/requests", None, body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{req}");
    let (id, token) = (req["id"].as_str().unwrap().to_owned(), req["status_token"].as_str().unwrap().to_owned());
    run.watch("a status token", &token);
    let code = run.code(ANN_EMAIL, 1).await;
    let verify = format!("/v1/requests/{id}/verify");
    let wrong = if code == "999999" { "888888" } else { "999999" };
    let (status, _) = run.app.post(&verify, None, json!({ "token": token, "code": wrong })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = run.app.post(&verify, None, json!({ "token": token, "code": code })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = run.app.post(&format!("/v1/requests/{id}/approve"), Some(&run.admin), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    run.app.wait_for_state(&id, &run.admin, "completed").await;
    let link = package::token_in(&mailbox::wait_for_message_with(&run.smtp.maildir, ANN_EMAIL, "/v1/exports/").await);
    run.watch("an export link token", &link);
    assert_eq!(package::download(&run.app, &link).await.status(), StatusCode::OK);
}

/// Ann's erasure request through the portal form, with a typed message; approved, completed.
async fn erasure(run: &mut Run, typed: &str) {
    let browser = Console::new(&run.app.base);
    let form = browser.get(&format!("/p/{}/request", run.org)).await;
    let csrf = form.csrf();
    let fields = [
        ("csrf", csrf.as_str()),
        ("email", ANN_EMAIL),
        ("country", "se"),
        ("kind", "erasure"),
        ("message", typed),
        ("confirm", "yes"),
        ("website", ""),
    ];
    let answer = browser.post(&format!("/p/{}/request", run.org), &fields).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let verify = answer.location().unwrap().to_owned();
    run.watch("a portal link token", verify.rsplit('/').next().unwrap());
    let code = run.code(ANN_EMAIL, 2).await;
    let page = browser.get(&format!("{verify}?code={code}")).await;
    let confirmed = browser.post(&verify, &[("csrf", &page.csrf()), ("code", &code)]).await;
    assert_eq!(confirmed.status, StatusCode::SEE_OTHER, "{}", confirmed.body);
    let (_, list) = run.app.get("/v1/requests?kind=erasure", Some(&run.admin)).await;
    let id = list["items"][0]["id"].as_str().unwrap_or_else(|| panic!("{list}")).to_owned();
    let (status, _) = run.app.post(&format!("/v1/requests/{id}/approve"), Some(&run.admin), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let tasks = run.app.tasks_settled(&id, &run.admin).await;
    assert!(tasks.iter().all(|t| t["status"] == "done"), "{tasks:?}");
}

/// A retention policy over the shop's logins, run now and waited for.
async fn retention(run: &Run, shop: &str) {
    let policy = json!({ "name": "old-logins", "store_id": shop, "table": "logins", "age_column": "at",
                         "max_age": "P1D", "action": { "type": "delete_row" }, "batch_size": 5,
                         "legal_basis": "Logins are kept a day" });
    let (status, policy) = run.app.post("/v1/retention/policies", Some(&run.admin), policy).await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    let path = format!("/v1/retention/policies/{}/run", policy["id"].as_str().unwrap());
    let (status, started) = run.app.post(&path, Some(&run.admin), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, runs) = run.app.get("/v1/retention/runs", Some(&run.admin)).await;
        let state =
            runs.as_array().and_then(|r| r.iter().find(|r| r["id"] == started["id"])).map(|r| r["state"].clone());
        if state == Some(Value::from("done")) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "retention run not done: {state:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The seeded people's identities and the typed texts.
fn identities(company: &Company, typed: &[&str]) -> Vec<Needle> {
    let mut needles = Vec::new();
    for person in [&company.ann, &company.bob] {
        for email in &person.emails {
            needles.push(Needle::new("a subject's e-mail address", email));
        }
        needles.push(Needle::new("a subject's phone number", &person.phone));
        needles.push(Needle::new("a subject's phone number", person.phone.trim_start_matches('+')));
        needles.push(Needle::new("a subject's name", &person.name));
    }
    needles.extend(typed.iter().map(|t| Needle::new("text a subject typed", t)));
    needles
}

/// Lines per secret or identity, each with the crates that logged them and one example.
fn report(found: &BTreeMap<String, Vec<String>>) -> String {
    let mut out = String::new();
    for (what, lines) in found {
        let mut sources: BTreeMap<String, usize> = BTreeMap::new();
        for line in lines {
            *sources.entry(leaks::source(line)).or_default() += 1;
        }
        let example: String = lines[0].chars().take(400).collect();
        out.push_str(&format!("\n{what}: {} lines, from {sources:?}\n  e.g. {example}", lines.len()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_or_identity_is_logged_at_trace() {
    // The company's stores are filled (and their users made) before the capture starts: the
    // test's own statements carry the people's data and the passwords, Lethe's must not.
    let company = Company::create().await;
    let logins = StoreLogins::create(&company).await;
    let logs = Logs::capture();
    let smtp = SmtpServer::start_accepting_logins();
    let (db_password, smtp_password) = (password("lethe-db"), password("smtp"));
    let smtp_url = smtp.url_with_login("lethe-mailer", &smtp_password);
    let app = spawn_app_with(Backend::Postgres, Mode::All, |s| {
        s.database_url = with_login(&s.database_url, "postgres", &db_password);
        s.smtp_url = Some(smtp_url);
    })
    .await;
    let org = org_slug();
    let admin = app.admin(&org).await;
    let mut run = Run { app, smtp, org, admin, watch: Vec::new() };
    let master_key = run.app.master_key_base64();
    run.watch("Lethe's database password", &db_password);
    run.watch("the SMTP password", &smtp_password);
    run.watch("the master key", &master_key);
    run.watch("an operator's password", PASSWORD);
    run.watch("an access token", &run.admin.clone());
    for (store, secret) in &logins.passwords {
        run.watch(&format!("the {store} store's password"), secret);
    }
    let analytics = company.analytics_url.trim_start_matches("sqlite://").split('?').next().unwrap().to_owned();
    run.watch("the analytics store's file", &analytics);

    sign_ins(&mut run).await;
    let ids = stores(&mut run, &company, &logins).await;
    let typed = [password("typed-access-message"), password("typed-erasure-message")];
    access(&mut run, &format!("Please send everything, {}", typed[0])).await;
    erasure(&mut run, &format!("Delete my account, {}", typed[1])).await;
    retention(&run, &ids["shop"]).await;
    run.app.stop().await;

    let lines = logs.lines();
    let mut watch = std::mem::take(&mut run.watch);
    watch.extend(identities(&company, &[&typed[0], &typed[1]]));
    let found = leaks::find(&lines, &watch);
    let leaking: usize = {
        let mut all: Vec<&String> = found.values().flatten().collect();
        all.sort();
        all.dedup();
        all.len()
    };
    eprintln!("scanned {} log lines for {} secrets and identities; {leaking} lines leak", lines.len(), watch.len());
    logins.remove().await;
    company.cleanup().await;
    assert!(lines.iter().any(|l| l.contains("requester verified")), "the capture sees Lethe's own lines");
    assert!(found.is_empty(), "{leaking} of {} log lines leak:{}", lines.len(), report(&found));
}
