//! `spawn_app()`: a whole Lethe engine per test, listening on a random loopback port.

use std::path::PathBuf;
use std::time::Duration;

use lethe_api::config::{Environment, LogFormat, Settings};
use lethe_api::engine::{Engine, Mode};
use lethe_entities::MasterKey;
use lethe_entities::domain::enums::Role;
use lethe_worker::mail::Mailer;
use lethe_worker::targets::{TargetPolicy, TargetSettings};
use reqwest::StatusCode;
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::mailbox;

/// Which database the test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on the local PostgreSQL server.
    Postgres,
}

/// A running engine and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// HTTP client.
    pub http: reqwest::Client,
    /// Direct access to the engine's database, for arranging and inspecting.
    pub db: DatabaseConnection,
    /// The file outbox the engine writes mail to.
    pub outbox: PathBuf,
    /// The database URL.
    pub database_url: String,
    /// The engine's counts of failed attempts, retries and work given up.
    pub work: std::sync::Arc<lethe_worker::counters::WorkCounters>,
    master_key: String,
    smtp_url: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

/// Password hashing for operators a test creates directly in the database.
pub fn hashing() -> lethe_api::auth::hashing::Hashing {
    lethe_api::auth::hashing::Hashing::new(lethe_api::auth::hashing::HashingSettings { concurrency: 2, queue: 1_000 })
}

/// Settings for tests: fast polling, generous rate limits, a fresh master key.
pub fn test_settings(database_url: String, data_dir: PathBuf) -> Settings {
    Settings {
        env: Environment::Development,
        database_url,
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir,
        master_key: MasterKey::generate(),
        master_key_source: "test".into(),
        smtp_url: None,
        mail_from: "Lethe Tests <privacy@lethe.test>".into(),
        token_ttl: Duration::from_secs(900),
        public_rate_per_minute: 10_000,
        authenticated_rate_per_minute: 10_000,
        sign_in_rate_per_minute: 10_000,
        hashing_concurrency: None,
        hashing_queue: Some(10_000),
        submissions_per_email_per_hour: 1_000,
        max_body_bytes: 64 * 1024,
        resend_cooldown: Duration::from_secs(60),
        server: lethe_api::server::ServerSettings::default(),
        // Jobs start because their workers are woken, never because a poll came round: an hour
        // keeps the fallback poll out of every test (a lost wake-up shows as a stall).
        queue_poll: Duration::from_secs(3600),
        worker_heartbeat: lethe_worker::runner::DEFAULT_HEARTBEAT,
        wait_max: Duration::from_secs(60),
        worker_concurrency: 16,
        checkpoints: lethe_worker::ledger::CheckpointSettings {
            poll: Duration::from_millis(100),
            ..Default::default()
        },
        log_format: LogFormat::Text,
        public_url: "http://lethe.test".into(),
        export_link_ttl: Duration::from_secs(7 * 24 * 3600),
        export_max_downloads: 10,
        retention_tick: Duration::from_millis(200),
        services: lethe_worker::ServiceSettings {
            public_url: "http://127.0.0.1:0".into(),
            retry_after: Duration::from_millis(200),
            max_attempts: 3,
            callback_timeout: Duration::from_secs(3),
        },
        retry: lethe_worker::RetrySettings {
            attempts: 3,
            first_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(200),
        },
        targets: TargetSettings::development(),
        // Retries after 50, 100 and 200 ms: a failing endpoint is given up in a test's time.
        webhooks: lethe_worker::webhooks::WebhookSettings {
            schedule: lethe_worker::webhooks::Schedule::new(vec![
                Duration::from_millis(50),
                Duration::from_millis(100),
                Duration::from_millis(200),
            ]),
            timeout: Duration::from_secs(5),
            ..Default::default()
        },
        // Looked for every 50 ms, retried after 50, 100 and 200 ms.
        drp_callbacks: lethe_worker::drp::callbacks::CallbackSettings {
            poll: Duration::from_millis(50),
            schedule: vec![Duration::from_millis(50), Duration::from_millis(100), Duration::from_millis(200)],
            timeout: Duration::from_secs(5),
        },
    }
}

/// The development target policy for tests and benchmarks that connect to stores without an
/// engine (they have no data dir or database of their own to protect).
pub fn development_targets() -> TargetPolicy {
    TargetPolicy::new(TargetSettings::development(), std::path::Path::new("/nonexistent/lethe-data"), "sqlite::memory:")
        .expect("the development policy has no directories to check")
}

/// Spawns an engine running API and workers.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, Mode::All, |_| {}).await
}

/// Spawns an engine in `mode` after `configure` has adjusted the settings.
pub async fn spawn_app_with(backend: Backend, mode: Mode, configure: impl FnOnce(&mut Settings)) -> TestApp {
    if let Ok(filter) = std::env::var("LETHE_TEST_LOG") {
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    }
    let dir = tempfile::tempdir().unwrap();
    let database_url = match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.path().join("lethe.db").display()),
        Backend::Postgres => crate::postgres::fresh_database().await,
    };
    let mut settings = test_settings(database_url, dir.path().to_path_buf());
    configure(&mut settings);
    start(settings, mode, dir).await
}

/// Spawns another engine on an existing database with its master key, writing mail to
/// `outbox`: a second process of the same installation.
pub async fn spawn_on(database_url: String, master_key: &str, mode: Mode, outbox: PathBuf) -> TestApp {
    spawn_on_with(database_url, master_key, mode, outbox, |_| {}).await
}

/// As [`spawn_on`], after `configure` has adjusted the settings.
pub async fn spawn_on_with(
    database_url: String,
    master_key: &str,
    mode: Mode,
    outbox: PathBuf,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(database_url, dir.path().to_path_buf());
    settings.master_key = MasterKey::from_base64(master_key).unwrap();
    configure(&mut settings);
    start_with_outbox(settings, mode, dir, outbox).await
}

async fn start(settings: Settings, mode: Mode, dir: tempfile::TempDir) -> TestApp {
    let outbox = dir.path().join("outbox");
    start_with_outbox(settings, mode, dir, outbox).await
}

async fn start_with_outbox(settings: Settings, mode: Mode, dir: tempfile::TempDir, outbox: PathBuf) -> TestApp {
    let mailer = match &settings.smtp_url {
        Some(url) => Mailer::smtp(url, &settings.mail_from).unwrap(),
        None => Mailer::file(&outbox, &settings.mail_from).unwrap(),
    };
    let master_key = settings.master_key.to_base64().to_string();
    let engine = Engine::build(&settings, mailer).await.expect("engine starts");
    let db = engine.state.db.clone();
    let work = engine.state.work.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(engine.run(mode, Some(listener), async move {
        let _ = rx.await;
    }));
    TestApp {
        base,
        http: reqwest::Client::new(),
        db,
        outbox,
        database_url: settings.database_url,
        work,
        master_key,
        smtp_url: settings.smtp_url,
        shutdown: Some(tx),
        task: Some(task),
        _dir: dir,
    }
}

/// A request as submitted: id and status token.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// Request id.
    pub id: String,
    /// Status token.
    pub token: String,
}

impl TestApp {
    /// Stops the engine gracefully and waits for it.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("engine task").expect("engine stopped cleanly");
        }
    }

    /// The installation's keyring, to read what it stores encrypted.
    pub fn keyring(&self) -> lethe_entities::Keyring {
        lethe_entities::Keyring::derive(&MasterKey::from_base64(&self.master_key).unwrap())
    }

    /// The master key, base64, to start another engine of the same installation.
    pub fn master_key_base64(&self) -> String {
        self.master_key.clone()
    }

    /// Stops this engine gracefully and starts a new one in `mode` on the same database, master
    /// key and outbox: what a restart after a deploy or a crash looks like.
    pub async fn restart(mut self, mode: Mode) -> TestApp {
        self.stop().await;
        let mut settings = test_settings(self.database_url.clone(), self._dir.path().to_path_buf());
        settings.master_key = MasterKey::from_base64(&self.master_key).unwrap();
        settings.smtp_url = self.smtp_url.clone();
        let dir = std::mem::replace(&mut self._dir, tempfile::tempdir().unwrap());
        start_with_outbox(settings, mode, dir, self.outbox.clone()).await
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs JSON, optionally with a bearer token; returns status and JSON body (Null if none).
    pub async fn post(&self, path: &str, bearer: Option<&str>, body: Value) -> (StatusCode, Value) {
        let mut req = self.http.post(self.url(path)).json(&body);
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        read(req.send().await.unwrap()).await
    }

    /// PUTs JSON with a bearer token; returns status and JSON body (Null if none).
    pub async fn put(&self, path: &str, bearer: &str, body: Value) -> (StatusCode, Value) {
        read(self.http.put(self.url(path)).bearer_auth(bearer).json(&body).send().await.unwrap()).await
    }

    /// PATCHes JSON with a bearer token; returns status and JSON body (Null if none).
    pub async fn patch(&self, path: &str, bearer: &str, body: Value) -> (StatusCode, Value) {
        read(self.http.patch(self.url(path)).bearer_auth(bearer).json(&body).send().await.unwrap()).await
    }

    /// Waits (up to a minute) until the request has store tasks and none is pending, located
    /// or erasing; returns them.
    pub async fn tasks_settled(&self, id: &str, token: &str) -> Vec<Value> {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let (_, tasks) = self.get(&format!("/v1/requests/{id}/tasks"), Some(token)).await;
            let tasks = tasks.as_array().cloned().unwrap_or_default();
            if !tasks.is_empty()
                && tasks.iter().all(|t| !matches!(t["status"].as_str(), Some("pending" | "located" | "erasing")))
            {
                return tasks;
            }
            assert!(std::time::Instant::now() < deadline, "tasks not settled: {tasks:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// DELETEs with a bearer token.
    pub async fn delete(&self, path: &str, bearer: &str) -> (StatusCode, Value) {
        read(self.http.delete(self.url(path)).bearer_auth(bearer).send().await.unwrap()).await
    }

    /// GETs, optionally with a bearer token.
    pub async fn get(&self, path: &str, bearer: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.http.get(self.url(path));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        read(req.send().await.unwrap()).await
    }

    /// Creates an organization with an admin and returns the admin's access token.
    pub async fn admin(&self, org: &str) -> String {
        let email = format!("admin@{org}.test");
        self.operator_in(org, &email, Role::Admin).await
    }

    /// Creates an operator with `role` in `org` (created if new) and signs in.
    pub async fn operator_in(&self, org: &str, email: &str, role: Role) -> String {
        let (organization, _) = lethe_api::accounts::ensure_organization(&self.db, org, org).await.unwrap();
        let password = "a long test password".to_owned();
        lethe_api::accounts::create_operator(
            &self.db,
            &hashing(),
            organization.id,
            email,
            role,
            Some(password.clone()),
        )
        .await
        .unwrap();
        self.login(email, &password).await
    }

    /// Signs in and returns the access token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let (status, body) = self.post("/v1/auth/login", None, json!({ "email": email, "password": password })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Signs in to the organization with slug `org` (for an address with accounts in several)
    /// and returns the access token.
    pub async fn login_to(&self, org: &str, email: &str, password: &str) -> String {
        let body = json!({ "email": email, "password": password, "organization": org });
        let (status, body) = self.post("/v1/auth/login", None, body).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// The operator with sign-in address `email`, read from the database (the test uses the
    /// address in one organization only).
    pub async fn operator(&self, email: &str) -> lethe_entities::entity::operator::Model {
        use lethe_entities::entity::operator;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let mut found = operator::Entity::find().filter(operator::Column::Email.eq(email)).all(&self.db).await.unwrap();
        assert_eq!(found.len(), 1, "one operator has {email}");
        found.remove(0)
    }

    /// Submits a request for `email` to `org`.
    pub async fn submit(&self, org: &str, kind: &str, regime: &str, email: &str) -> Submitted {
        let body = json!({ "organization": org, "kind": kind, "regime": regime, "email": email });
        let (status, body) = self.post("/v1/requests", None, body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        Submitted {
            id: body["id"].as_str().unwrap().to_owned(),
            token: body["status_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Waits for the `n`th verification-code message (1-based) to `address` (normalised) and
    /// returns its code (other messages to the address, such as notices, are skipped).
    pub async fn code_for(&self, address: &str, n: usize) -> String {
        let messages = mailbox::wait_for_codes_to(&self.outbox, address, n).await;
        mailbox::code_in(&messages[n - 1])
    }

    /// Submits and verifies a request; returns it in `pending_approval`. Use an address no
    /// other request of the test uses.
    pub async fn verified(&self, org: &str, kind: &str, regime: &str, email: &str) -> Submitted {
        let req = self.submit(org, kind, regime, email).await;
        let code = self.code_for(email, 1).await;
        let (status, body) = self
            .post(&format!("/v1/requests/{}/verify", req.id), None, json!({ "token": req.token, "code": code }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        req
    }

    /// Polls the operator view of a request until it reaches `state`.
    pub async fn wait_for_state(&self, id: &str, token: &str, state: &str) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (status, body) = self.get(&format!("/v1/requests/{id}"), Some(token)).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            if body["state"] == state {
                return body;
            }
            assert!(std::time::Instant::now() < deadline, "request stuck in {}, expected {state}", body["state"]);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
}

/// A random organization slug.
pub fn org_slug() -> String {
    format!("org-{}", &Uuid::new_v4().simple().to_string()[..8])
}
