//! The installation's target policy against real files, databases and services: Lethe's own
//! database cannot be a store however it is named, a host file's existence and a local port's
//! state cannot be read from the answers, production refuses local addresses unless allowed,
//! and a failing target answers in Lethe's words only.

use std::path::{Path, PathBuf};

use lethe_api::engine::Mode;
use lethe_entities::StoreKind;
use lethe_entities::entity::store;
use lethe_tests::app::{Backend, TestApp, org_slug, spawn_app_with};
use lethe_worker::stores::StoreError;
use lethe_worker::stores::sql::{SqlStore, classify};
use lethe_worker::targets::{Net, TargetPolicy, TargetSettings};
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, Set, Statement};
use serde_json::{Value, json};

/// Lethe's data dir and database file (the engine runs on SQLite).
fn own_files(app: &TestApp) -> (PathBuf, PathBuf) {
    let file = app.database_url.trim_start_matches("sqlite://").split('?').next().unwrap();
    let file = PathBuf::from(file);
    (file.parent().unwrap().to_owned(), file)
}

/// POSTs JSON and returns the status and the body's bytes as they came.
async fn post_raw(app: &TestApp, path: &str, token: &str, body: Value) -> (StatusCode, String) {
    let response = app.http.post(app.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// Registers a store of `kind` at `url` (a base URL for `http`); returns status and raw body.
async fn register_raw(app: &TestApp, token: &str, name: &str, kind: &str, url: &str) -> (StatusCode, String) {
    let connection = if kind == "http" {
        json!({ "base_url": url, "signing_secret": "a shared secret of sixteen+" })
    } else {
        json!({ "url": url })
    };
    post_raw(app, "/v1/stores", token, json!({ "name": name, "kind": kind, "connection": connection })).await
}

/// Registers a store that must be accepted; returns its id.
async fn register(app: &TestApp, token: &str, name: &str, kind: &str, url: &str) -> String {
    let (status, body) = register_raw(app, token, name, kind, url).await;
    assert_eq!(status, StatusCode::CREATED, "{url}: {body}");
    serde_json::from_str::<Value>(&body).unwrap()["id"].as_str().unwrap().to_owned()
}

/// The refusal every refused target gets, byte for byte.
const REFUSED: &str = r#"{"type":"urn:lethe:problem:store_target_refused","title":"Unprocessable Entity","status":422,"detail":"the installation's target policy does not allow this store's location","code":"store_target_refused"}"#;

/// A SQLite file with a `seaql_migrations` table shaped like Lethe's, its rows old.
async fn lookalike(path: &Path) -> String {
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let db = sea_orm::Database::connect(&url).await.unwrap();
    db.execute_unprepared("CREATE TABLE seaql_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)")
        .await
        .unwrap();
    db.execute_unprepared("INSERT INTO seaql_migrations VALUES ('m1', 0), ('m2', 0)").await.unwrap();
    db.close().await.unwrap();
    url
}

/// Points a registered store at `url` directly in Lethe's database, as a store registered before
/// the target policy existed would be.
async fn repoint(app: &TestApp, id: &str, url: &str) {
    let model = store::Entity::find_by_id(id.parse::<uuid::Uuid>().unwrap()).one(&app.db).await.unwrap().unwrap();
    let master = lethe_entities::MasterKey::from_base64(&app.master_key_base64()).unwrap();
    let keyring = lethe_entities::Keyring::derive(&master);
    let sealed = store::seal_connection(
        &keyring,
        model.organization_id,
        model.id,
        &store::Connection::Url { url: url.to_owned() },
    );
    let mut active = model.into_active_model();
    active.connection_ciphertext = Set(Some(sealed));
    active.updated_at = Set(time::OffsetDateTime::now_utc());
    active.update(&app.db).await.unwrap();
}

/// Registers a SQLite store at `file` (a [`lookalike`]) with a policy purging its old
/// `seaql_migrations` rows; returns the store's and the policy's ids.
async fn logs_with_policy(app: &TestApp, admin: &str, file: &Path) -> (String, String) {
    let id = register(app, admin, "logs", "sqlite", &lookalike(file).await).await;
    let policy = json!({
        "name": "old-migrations", "store_id": id, "table": "seaql_migrations", "age_column": "applied_at",
        "max_age": "P1D", "action": {"type": "delete_row"}, "legal_basis": "a tenant's policy"
    });
    let (status, policy) = app.post("/v1/retention/policies", Some(admin), policy).await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    (id, policy["id"].as_str().unwrap().to_owned())
}

/// Runs `policy` now and checks the run failed with `store_target_refused`.
async fn refused_run(app: &TestApp, admin: &str, policy: &str) {
    let (status, run) = app.post(&format!("/v1/retention/policies/{policy}/run"), Some(admin), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let run = lethe_tests::retention::finished(app, admin, run["id"].as_str().unwrap()).await;
    assert_eq!((run["state"].as_str(), run["error_code"].as_str()), (Some("failed"), Some("store_target_refused")));
}

async fn migrations(db: &DatabaseConnection) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT COUNT(*) AS n FROM seaql_migrations"))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// Lethe's own database is refused however the URL names it, even though the configuration
/// allows its directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lethes_own_database_is_refused_however_it_is_named() {
    let stores = tempfile::tempdir().unwrap();
    let allowed = stores.path().to_owned();
    let app = spawn_app_with(Backend::Sqlite, Mode::All, |s| {
        s.targets.allow_dirs = Some(vec![s.data_dir.clone(), allowed, std::env::temp_dir()]);
    })
    .await;
    let admin = app.admin(&org_slug()).await;
    let (data, db) = own_files(&app);
    let s = stores.path();
    std::os::unix::fs::symlink(&db, s.join("link.db")).unwrap();
    std::os::unix::fs::symlink(&data, s.join("dir-link")).unwrap();
    std::fs::hard_link(&db, s.join("hard.db")).unwrap();
    let data_name = data.file_name().unwrap().to_str().unwrap();
    let names = [
        format!("sqlite://{}?mode=rwc", db.display()),
        format!("sqlite:{}", db.display()),
        format!("sqlite://{}-wal", db.display()),
        format!("sqlite://{}", data.display()),
        format!("sqlite://{}/exports/x.db", data.display()),
        format!("sqlite://{}/link.db", s.display()),
        format!("sqlite://{}/dir-link/lethe.db", s.display()),
        format!("sqlite://{}/../{data_name}/lethe.db", s.display()),
        format!("sqlite://{}/hard.db", s.display()),
    ];
    for (i, url) in names.iter().enumerate() {
        let (status, body) = register_raw(&app, &admin, &format!("own-{i}"), "sqlite", url).await;
        assert_eq!((status, body.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, REFUSED), "{url}");
    }
    // Changing an allowed store's URL to Lethe's database is refused the same way.
    let id = register(&app, &admin, "shop", "sqlite", &lookalike(&s.join("shop.db")).await).await;
    let change = json!({ "connection": { "url": format!("sqlite://{}", db.display()) } });
    let response = app.http.put(app.url(&format!("/v1/stores/{id}"))).bearer_auth(&admin).json(&change).send().await;
    let response = response.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.text().await.unwrap(), REFUSED);
}

/// Lethe on PostgreSQL: its own database on the same server is refused by its URL, by
/// `localhost` and by another loopback address; another database on that server is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lethes_own_postgres_database_is_refused() {
    let app = spawn_app_with(Backend::Postgres, Mode::All, |_| {}).await;
    let admin = app.admin(&org_slug()).await;
    let own = app.database_url.clone();
    assert!(own.contains("@127.0.0.1:5432/"), "{own}");
    let names = [own.clone(), own.replace("@127.0.0.1:", "@localhost:"), own.replace("@127.0.0.1:", "@127.0.0.2:")];
    for (i, url) in names.iter().enumerate() {
        let (status, body) = register_raw(&app, &admin, &format!("own-{i}"), "postgres", url).await;
        assert_eq!((status, body.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, REFUSED), "{url}");
    }
    let other = format!("{}/test", own.rsplit_once('/').unwrap().0);
    register(&app, &admin, "other", "postgres", &other).await;
}

/// A store that already names Lethe's database (registered before the policy existed) is
/// refused at every connection: its test, discovery, a retention preview and a retention run;
/// Lethe's migration records stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_and_discovery_cannot_reach_lethes_own_database() {
    let app = spawn_app_with(Backend::Sqlite, Mode::All, |_| {}).await;
    let admin = app.admin(&org_slug()).await;
    let (_, db) = own_files(&app);
    let stores = tempfile::tempdir().unwrap();
    let (id, policy) = logs_with_policy(&app, &admin, &stores.path().join("logs.db")).await;

    app.db.execute_unprepared("UPDATE seaql_migrations SET applied_at = 0").await.unwrap();
    let before = migrations(&app.db).await;
    repoint(&app, &id, &format!("sqlite://{}?mode=rwc", db.display())).await;

    let (status, result) = app.post(&format!("/v1/stores/{id}/test"), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((result["ok"].as_bool(), result["code"].as_str()), (Some(false), Some("store_target_refused")));
    let (status, body) = post_raw(&app, &format!("/v1/stores/{id}/discover"), &admin, json!({})).await;
    assert_eq!((status, body.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, REFUSED));
    let (status, body) = post_raw(&app, &format!("/v1/retention/policies/{policy}/preview"), &admin, json!({})).await;
    assert_eq!((status, body.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, REFUSED));
    refused_run(&app, &admin, &policy).await;
    assert_eq!(migrations(&app.db).await, before, "Lethe's migration records are untouched");
    assert!(before > 0);
}

/// Host files outside the allowed directories, existing or not, readable or not, a file or a
/// directory: the same answers, byte for byte. In development (files allowed anywhere but
/// Lethe's data) the connection tests and discoveries answer alike too, a named pipe included
/// (not opened: it would block).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_files_cannot_be_told_apart() {
    let files = ["/etc/passwd", "/etc/nonexistent", "/etc", "/etc/nonexistent-dir/x.db"];
    let stores = tempfile::tempdir().unwrap();
    let allowed = stores.path().to_owned();
    let production = spawn_app_with(Backend::Sqlite, Mode::All, |s| {
        s.targets = TargetSettings { allow_dirs: Some(vec![allowed]), ..TargetSettings::production() };
    })
    .await;
    let admin = production.admin(&org_slug()).await;
    for (i, file) in files.iter().enumerate() {
        let (status, body) =
            register_raw(&production, &admin, &format!("f{i}"), "sqlite", &format!("sqlite://{file}")).await;
        assert_eq!((status, body.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, REFUSED), "{file}");
    }

    let development = spawn_app_with(Backend::Sqlite, Mode::All, |_| {}).await;
    let admin = development.admin(&org_slug()).await;
    let fifo = stores.path().join("pipe.db");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let fifo = fifo.display().to_string();
    let mut answers = Vec::new();
    for (i, file) in files.iter().copied().chain([fifo.as_str()]).enumerate() {
        let id = register(&development, &admin, &format!("f{i}"), "sqlite", &format!("sqlite://{file}")).await;
        let (_, test) = development.post(&format!("/v1/stores/{id}/test"), Some(&admin), json!({})).await;
        let (status, discovery) = post_raw(&development, &format!("/v1/stores/{id}/discover"), &admin, json!({})).await;
        answers.push((test["ok"].clone(), test["code"].clone(), test["message"].clone(), status, discovery));
    }
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:#?}");
    assert_eq!(answers[0].1, "store_unreachable", "{:?}", answers[0]);
}

/// Production refuses loopback targets (by address, by a name resolving to one, in IPv4-mapped
/// form), open and closed ports alike; an allow rule lets them through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_refuses_local_targets_unless_allowed() {
    let service = signed_service(StatusCode::OK).await;
    let port = service.rsplit(':').next().unwrap().to_owned();
    let loopback = [
        ("postgres", "postgres://postgres@127.0.0.1:5432/test".to_owned()),
        ("postgres", "postgres://postgres@127.0.0.1:5439/test".to_owned()),
        ("postgres", "postgres://postgres@localhost:5432/test".to_owned()),
        ("mysql", "mysql://root@127.0.0.1:3306/test".to_owned()),
        ("redis", "redis://127.0.0.1:6379/0".to_owned()),
        ("redis", "redis://localhost:6380/0".to_owned()),
        ("http", service.clone()),
        ("http", "http://127.0.0.1:1".to_owned()),
        ("http", format!("http://localhost:{port}")),
        ("http", format!("http://[::ffff:127.0.0.1]:{port}")),
        ("http", "http://169.254.169.254".to_owned()),
    ];
    let refusing = spawn_app_with(Backend::Sqlite, Mode::All, |s| s.targets = TargetSettings::production()).await;
    let admin = refusing.admin(&org_slug()).await;
    for (i, (kind, url)) in loopback.iter().enumerate() {
        let (status, body) = register_raw(&refusing, &admin, &format!("s{i}"), kind, url).await;
        assert_eq!((status, body.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, REFUSED), "{url}");
    }

    let allow: Vec<Net> = ["127.0.0.0/8", "::1"].iter().map(|n| n.parse().unwrap()).collect();
    let allowing = spawn_app_with(Backend::Sqlite, Mode::All, |s| {
        s.targets = TargetSettings { allow_nets: allow, ..TargetSettings::production() };
    })
    .await;
    let admin = allowing.admin(&org_slug()).await;
    for (name, kind, url) in [
        ("pg", "postgres", "postgres://postgres@localhost:5432/test"),
        ("maria", "mysql", "mysql://root@127.0.0.1:3306/test"),
        ("cache", "redis", "redis://127.0.0.1:6379/0"),
        ("billing", "http", service.as_str()),
    ] {
        let id = register(&allowing, &admin, name, kind, url).await;
        let (_, result) = allowing.post(&format!("/v1/stores/{id}/test"), Some(&admin), json!({})).await;
        assert_eq!(result["ok"], true, "{url}: {result}");
    }
    // Link-local stays refused: only what the rule names is allowed.
    let (status, body) = register_raw(&allowing, &admin, "metadata", "http", "http://169.254.169.254").await;
    assert_eq!((status, body.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, REFUSED));
}

/// An allowed target that fails answers with a stable code and Lethe's own words: no status of
/// the service, no SQLite result code, no operating-system error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_target_answers_in_lethes_words() {
    let app = spawn_app_with(Backend::Sqlite, Mode::All, |_| {}).await;
    let admin = app.admin(&org_slug()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("not-a-database.db"), "plain text, not SQLite").unwrap();
    let failing = [
        ("http", signed_service(StatusCode::INTERNAL_SERVER_ERROR).await, "store_protocol_error"),
        ("http", signed_service(StatusCode::NOT_FOUND).await, "store_rejected"),
        ("http", "http://127.0.0.1:1".to_owned(), "store_unreachable"),
        ("sqlite", format!("sqlite://{}/not-a-database.db", dir.path().display()), "store_unreachable"),
        ("postgres", "postgres://postgres@127.0.0.1:1/test".to_owned(), "store_unreachable"),
        ("redis", "redis://127.0.0.1:1/0".to_owned(), "store_unreachable"),
    ];
    for (i, (kind, url, code)) in failing.iter().enumerate() {
        let id = register(&app, &admin, &format!("failing-{i}"), kind, url).await;
        let (_, result) = app.post(&format!("/v1/stores/{id}/test"), Some(&admin), json!({})).await;
        assert_eq!(result["code"], *code, "{url}: {result}");
        let message = result["message"].as_str().unwrap();
        assert!(!message.chars().any(|c| c.is_ascii_digit()), "{url}: {message}");
        for os in ["os error", "Connection refused", "ConnectionRefused", "secret detail"] {
            assert!(!message.contains(os), "{url}: {message}");
        }
    }
}

/// A store's file replaced by a symlink to Lethe's database after the store was opened: the
/// cached connector is not reused (its file is checked again before each use), so a retention
/// preview and a run are refused; Lethe's migration records stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_file_swapped_for_a_symlink_is_refused_before_reuse() {
    let app = spawn_app_with(Backend::Sqlite, Mode::All, |_| {}).await;
    let admin = app.admin(&org_slug()).await;
    let (_, db) = own_files(&app);
    let stores = tempfile::tempdir().unwrap();
    let file = stores.path().join("logs.db");
    let (_, policy) = logs_with_policy(&app, &admin, &file).await;
    let (status, preview) =
        app.post(&format!("/v1/retention/policies/{policy}/preview"), Some(&admin), json!({})).await;
    assert_eq!((status, preview["rows"].as_u64()), (StatusCode::OK, Some(2)), "{preview}");

    app.db.execute_unprepared("UPDATE seaql_migrations SET applied_at = 0").await.unwrap();
    let before = migrations(&app.db).await;
    std::fs::remove_file(&file).unwrap();
    std::os::unix::fs::symlink(&db, &file).unwrap();

    let (status, body) = post_raw(&app, &format!("/v1/retention/policies/{policy}/preview"), &admin, json!({})).await;
    assert_eq!((status, body.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, REFUSED));
    refused_run(&app, &admin, &policy).await;
    assert_eq!(migrations(&app.db).await, before, "Lethe's migration records are untouched");
}

/// The same swap while a connector is in use: the pool's next connection is checked too and
/// fails (after the pool's acquire timeout, sqlx retrying), and nothing reaches Lethe's rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_connection_of_an_open_pool_is_checked_too() {
    let dir = tempfile::tempdir().unwrap();
    let (data, stores) = (dir.path().join("data"), dir.path().join("stores"));
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&stores).unwrap();
    let own = lookalike(&data.join("lethe.db")).await;
    let url = lookalike(&stores.join("shop.db")).await;
    let policy = TargetPolicy::new(TargetSettings::development(), &data, &own).unwrap();
    let store = SqlStore::connect(&policy, StoreKind::Sqlite, &url).await.unwrap();
    let pool = store.connection().get_sqlite_connection_pool();
    // Hold every connection the pool has opened (a connection on its way back to the pool is
    // counted by `size` but not yet by `num_idle`), so the next query must open a new one.
    let mut held = Vec::new();
    while pool.size() as usize > held.len() {
        held.push(pool.acquire().await.unwrap());
    }
    std::fs::remove_file(stores.join("shop.db")).unwrap();
    std::os::unix::fs::symlink(data.join("lethe.db"), stores.join("shop.db")).unwrap();
    assert_eq!(store.recheck(&policy), Err(StoreError::TargetRefused));
    let next = store.connection().execute_unprepared("DELETE FROM seaql_migrations").await.unwrap_err();
    assert_eq!(classify(next), StoreError::Unreachable("could not connect"));
    drop(held);
    assert_eq!(migrations(&sea_orm::Database::connect(&own).await.unwrap()).await, 2);
}

/// A ping service on loopback answering `status` (with `{}` on success, with a text of its own
/// otherwise).
async fn signed_service(status: StatusCode) -> String {
    let body = if status.is_success() { "{}" } else { "secret detail of the service 4242" };
    let router = axum::Router::new().route("/lethe/ping", axum::routing::post(move || async move { (status, body) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}
