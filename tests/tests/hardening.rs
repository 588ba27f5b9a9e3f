//! Small hardening: API calls are rate-limited per caller when authenticated and per address
//! otherwise; every file Lethe writes is its owner's alone, an older installation is tightened
//! at start; API answers are never cached; a console or portal form without a CSRF token is
//! `403 csrf_failed`; a JSON body must be an object.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lethe_api::engine::Mode;
use lethe_tests::app::{TestApp, org_slug};
use lethe_tests::console::Console;
use lethe_tests::{Backend, both_backends, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use reqwest::header::CACHE_CONTROL;
use serde_json::{Value, json};

/// `GET path` with an optional bearer credential: the status and the problem code, if any.
async fn get_status(app: &TestApp, path: &str, bearer: Option<&str>) -> (StatusCode, String) {
    let (status, body) = app.get(path, bearer).await;
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticated_callers_have_their_own_rate_limit() {
    let app = spawn_app_with(Backend::Sqlite, Mode::All, |s| {
        s.public_rate_per_minute = 5;
        s.authenticated_rate_per_minute = 30;
    })
    .await;
    let org = org_slug();
    let admin = app.admin(&org).await; // one public call: the sign-in
    let req = app.submit(&org, "access", "gdpr", "rhea@example.com").await; // two
    let (status, created) =
        app.post("/v1/api-keys", Some(&admin), json!({"name": "sync", "scopes": ["requests:read"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["secret"].as_str().unwrap().to_owned();
    let one = format!("/v1/requests/{}", req.id);

    // The operator reads the request far more often than the address's public budget allows.
    for n in 0..12 {
        assert_eq!(get_status(&app, &one, Some(&admin)).await, (StatusCode::OK, String::new()), "operator call {n}");
    }
    // The data subject, from the same address, runs out of the public budget.
    let subject = format!("{one}?token={}", req.token);
    let mut public = Vec::new();
    for _ in 0..6 {
        public.push(get_status(&app, &subject, None).await);
    }
    assert!(public.contains(&(StatusCode::TOO_MANY_REQUESTS, "rate_limited".into())), "{public:?}");
    // A made-up credential buys no budget of its own: it is counted by address.
    assert_eq!(get_status(&app, &one, Some("made-up")).await, (StatusCode::TOO_MANY_REQUESTS, "rate_limited".into()));
    assert_eq!(
        get_status(&app, &one, Some("lethe_0123456789abcdef_forged")).await,
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited".into())
    );
    // The operator and the API key go on, each on its own budget.
    assert_eq!(get_status(&app, &one, Some(&admin)).await.0, StatusCode::OK);
    for n in 0..12 {
        assert_eq!(get_status(&app, "/v1/requests", Some(&key)).await.0, StatusCode::OK, "key call {n}");
    }
    // The operator's own limit: 30 a minute (14 used above), on every endpoint it calls.
    let mut statuses = Vec::new();
    for _ in 0..25 {
        statuses.push(get_status(&app, "/v1/requests", Some(&admin)).await);
    }
    assert!(statuses[..10].iter().all(|(s, _)| *s == StatusCode::OK), "{statuses:?}");
    assert_eq!(statuses.last().unwrap(), &(StatusCode::TOO_MANY_REQUESTS, "rate_limited".to_owned()), "{statuses:?}");
    // ... which is the operator's alone: the key still has budget.
    assert_eq!(get_status(&app, "/v1/requests", Some(&key)).await.0, StatusCode::OK);
}

/// Every file and directory under `dir` (and `dir` itself) with its permission bits.
fn modes(dir: &Path) -> Vec<(PathBuf, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = vec![(dir.to_path_buf(), std::fs::metadata(dir).unwrap().permissions().mode() & 0o777)];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(modes(&path));
        } else if let Ok(meta) = std::fs::metadata(&path) {
            out.push((path, meta.permissions().mode() & 0o777));
        }
    }
    out
}

/// Checks that every file under `dir` is `0600` and every directory `0700`; returns the files.
fn assert_private(dir: &Path) -> Vec<PathBuf> {
    let all = modes(dir);
    for (path, mode) in &all {
        let expected = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(*mode, expected, "{} is {mode:o}", path.display());
    }
    all.into_iter().map(|(path, _)| path).filter(|p| p.is_file()).collect()
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Takes an access request through a manual store whose task is completed with a file, until
/// its package is in `<data dir>/exports`.
async fn export_with_attachment(app: &TestApp, org: &str, admin: &str) {
    let store = json!({ "name": "paper-archive", "kind": "manual", "instructions": "Scan folder 3." });
    let (status, body) = app.post("/v1/stores", Some(admin), store).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let req = app.verified(org, "access", "gdpr", "sara@example.com").await;
    let (status, body) = app.post(&format!("/v1/requests/{}/approve", req.id), Some(admin), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let task = loop {
        let (_, tasks) = app.get(&format!("/v1/requests/{}/tasks", req.id), Some(admin)).await;
        if let Some(task) = tasks.as_array().and_then(|t| t.first()).cloned() {
            break task;
        }
        assert!(Instant::now() < deadline, "no task");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let attachment = json!({ "file_name": "scan.pdf", "content_base64": STANDARD.encode(b"%PDF-1.7 scan") });
    let path = format!("/v1/requests/{}/tasks/{}/complete", req.id, task["id"].as_str().unwrap());
    let (status, body) = app.post(&path, Some(admin), json!({ "reason": "Scanned.", "attachment": attachment })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.wait_for_state(&req.id, admin, "completed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_file_lethe_writes_is_its_owners_alone() {
    let app = spawn_app(Backend::Sqlite).await;
    let org = org_slug();
    let admin = app.admin(&org).await;
    export_with_attachment(&app, &org, &admin).await;
    let data = app.outbox.parent().unwrap().to_path_buf();
    let files = assert_private(&data);
    let named = |end: &str| files.iter().any(|f| f.to_string_lossy().ends_with(end));
    assert!(named("lethe.db") && named("lethe.db-wal") && named("lethe.db-shm"), "{files:?}");
    assert!(named(".eml") && named(".bin"), "mail and the access package: {files:?}");

    // An installation from an older version, readable by everyone: tightened at the next start.
    let eml = files.iter().find(|f| f.extension().is_some_and(|e| e == "eml")).unwrap().clone();
    for (path, mode) in [(&data, 0o755), (&data.join("outbox"), 0o755), (&data.join("exports"), 0o755)] {
        set_mode(path, mode);
    }
    for file in [data.join("lethe.db"), data.join("lethe.db-wal"), eml] {
        set_mode(&file, 0o644);
    }
    let app = app.restart(Mode::All).await;
    assert_private(&data);
    assert_eq!(app.get("/readyz", None).await.0, StatusCode::OK);
}

/// The `Cache-Control` of an answer, if any.
fn cache_control(headers: &reqwest::header::HeaderMap) -> Option<&str> {
    headers.get(CACHE_CONTROL).map(|v| v.to_str().unwrap())
}

async fn answer(app: &TestApp, path: &str, bearer: Option<&str>) -> (reqwest::header::HeaderMap, String) {
    let mut request = app.http.get(app.url(path));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    let response = request.send().await.unwrap();
    (response.headers().clone(), response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_with_data_are_never_cached() {
    let app = spawn_app(Backend::Sqlite).await;
    let org = org_slug();
    let email = format!("admin@{org}.test");
    let admin = app.admin(&org).await;
    let login = json!({ "email": email, "password": lethe_tests::console::PASSWORD });
    let signed_in = app.http.post(app.url("/v1/auth/login")).json(&login).send().await.unwrap();
    assert_eq!(signed_in.status(), StatusCode::OK);
    assert_eq!(cache_control(signed_in.headers()), Some("no-store"), "the access token");
    let req = app.submit(&org, "access", "gdpr", "tove@example.com").await;

    for (path, bearer, holds) in [
        (format!("/v1/requests/{}", req.id), Some(admin.as_str()), "tove@example.com"),
        ("/v1/requests".to_owned(), Some(admin.as_str()), req.id.as_str()),
        (format!("/v1/requests/{}?token={}", req.id, req.token), None, "identity_unverified"),
        ("/v1/requests".to_owned(), None, "unauthenticated"),
        ("/metrics".to_owned(), None, "lethe_requests"),
    ] {
        let (headers, body) = answer(&app, &path, bearer).await;
        assert!(body.contains(holds), "{path}: {body}");
        assert_eq!(cache_control(&headers), Some("no-store"), "{path}");
    }
    // Pages with data: the console's request page and the portal's status page.
    let console = Console::signed_in(&app.base, &email).await;
    let page = console.get(&format!("/console/requests/{}", req.id)).await;
    assert!(page.body.contains("tove@example.com"));
    assert_eq!(cache_control(&page.headers), Some("no-store"));
    let (headers, _) = answer(&app, &format!("/p/{org}/status/{}", req.token), None).await;
    assert_eq!(cache_control(&headers), Some("no-store"));
    // What holds nothing of anyone may be cached: the stylesheet, the OpenAPI document.
    assert_eq!(cache_control(&answer(&app, "/assets/style.css", None).await.0), Some("public, max-age=3600"));
    assert_eq!(cache_control(&answer(&app, "/openapi.json", None).await.0), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_a_csrf_token_are_refused_as_forged() {
    let app = spawn_app(Backend::Sqlite).await;
    let org = org_slug();
    let email = format!("admin@{org}.test");
    app.admin(&org).await;
    let console = Console::signed_in(&app.base, &email).await;
    let hold = [("name", "Audit 2026"), ("scope", "organization"), ("reason", "Tax audit")];
    let forms: [(&str, &[(&str, &str)]); 6] = [
        ("/console/sign-out", &[]),
        ("/console/search", &[("q", "someone@example.com")]),
        ("/console/settings/operators", &[("email", "new@example.com"), ("role", "admin")]),
        ("/console/retention/holds", &hold),
        ("/console/password", &[("current_password", "x"), ("new_password", "y"), ("repeat_password", "y")]),
        ("/console/settings/api-keys", &[("name", "sync"), ("scope", "requests:read")]),
    ];
    for (path, fields) in forms {
        for csrf in [None, Some(""), Some("forged")] {
            let mut form = fields.to_vec();
            form.extend(csrf.map(|token| ("csrf", token)));
            let page = console.post(path, &form).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{path} with {csrf:?}: {}", page.body);
            assert!(page.body.contains("csrf_failed"), "{path}: {}", page.body);
            assert_eq!(cache_control(&page.headers), Some("no-store"));
        }
    }
    // Nothing happened: still signed in, no operator created.
    assert_eq!(console.get("/console/").await.status, StatusCode::OK);
    let (_, operators) = app.get("/v1/operators", Some(&app.login(&email, lethe_tests::console::PASSWORD).await)).await;
    assert_eq!(operators.as_array().unwrap().len(), 1, "{operators}");

    // Before signing in, and on the portal.
    let anonymous = Console::new(&app.base);
    let sign_in = anonymous.post("/console/sign-in", &[("email", &email), ("password", "a long test password")]).await;
    assert_eq!(sign_in.status, StatusCode::FORBIDDEN, "{}", sign_in.body);
    let fields = [("email", "uma@example.com"), ("kind", "access"), ("country", "SE")];
    let portal = anonymous.post(&format!("/p/{org}/request"), &fields).await;
    assert_eq!(portal.status, StatusCode::FORBIDDEN, "{}", portal.body);
    assert!(portal.body.contains("csrf_failed"), "{}", portal.body);
}

both_backends! {
    async fn json_bodies_must_be_objects(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let (status, created) = app
            .post("/v1/operators", Some(&admin), json!({"email": "ivy@example.com", "role": "operator", "password": "a long test password"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let ivy = created["operator"]["id"].as_str().unwrap().to_owned();
        let req = app.submit(&org, "access", "gdpr", "wren@example.com").await;

        let not_objects = [json!([null, null]), json!(["auditor", true]), json!("auditor"), json!(42), json!(true), json!(null)];
        for body in &not_objects {
            let (status, problem) = app.patch(&format!("/v1/operators/{ivy}"), &admin, body.clone()).await;
            assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")), "{body}: {problem}");
            assert_eq!(problem["detail"], "the body must be a JSON object");
        }
        let endpoints = [
            ("/v1/auth/login".to_owned(), json!([format!("admin@{org}.test"), "a long test password", null])),
            ("/v1/requests".to_owned(), json!([org, "access", "gdpr", "xena@example.com", null, null, null, null])),
            (format!("/v1/requests/{}/approve", req.id), json!([null])),
            (format!("/v1/requests/{}/cancel", req.id), json!([req.token, null])),
            ("/v1/api-keys".to_owned(), json!(["sync", ["requests:read"]])),
        ];
        for (path, body) in endpoints {
            for body in [body, json!("text"), json!(7)] {
                let (status, problem) = app.post(&path, Some(&admin), body.clone()).await;
                assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")), "{path} {body}: {problem}");
            }
        }
        // Nothing changed: Ivy is an enabled operator, the request waits, no key, no new request.
        let (_, operators) = app.get("/v1/operators", Some(&admin)).await;
        let ivy_now = operators.as_array().unwrap().iter().find(|o| o["id"] == ivy.as_str()).unwrap().clone();
        assert_eq!((&ivy_now["role"], &ivy_now["disabled"]), (&json!("operator"), &json!(false)), "{ivy_now}");
        let (_, view) = app.get(&format!("/v1/requests/{}", req.id), Some(&admin)).await;
        assert_eq!(view["state"], "identity_unverified");
        let (_, keys) = app.get("/v1/api-keys", Some(&admin)).await;
        assert_eq!(keys, Value::Array(Vec::new()));
        let (_, list) = app.get("/v1/requests", Some(&admin)).await;
        assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
        // An object is read as before; an omitted optional body too.
        let (status, _) = app.patch(&format!("/v1/operators/{ivy}"), &admin, json!({"role": "auditor"})).await;
        assert_eq!(status, StatusCode::OK);
        let bare = app.http.post(app.url(&format!("/v1/requests/{}/approve", req.id))).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(bare.status(), StatusCode::CONFLICT, "no body at all: read as {{}}, refused by the state machine");
    }
}
