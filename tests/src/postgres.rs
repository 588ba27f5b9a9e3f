//! One PostgreSQL database per test, created from a migrated template.
//!
//! The template `lethe_tpl_<schema fingerprint>` is migrated once (under an advisory lock, so
//! parallel test processes agree) and every test database is a `CREATE DATABASE ... TEMPLATE`
//! copy of it: fast, isolated, and no test sees another's rows or jobs. Databases of earlier
//! runs older than an hour are dropped on the way.

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use tokio::sync::OnceCell;

/// The server's admin URL (override with `LETHE_TEST_POSTGRES_URL`).
pub fn admin_url() -> String {
    std::env::var("LETHE_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn url_for(database: &str) -> String {
    let admin = admin_url();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    format!("{base}/{database}")
}

static TEMPLATE: OnceCell<String> = OnceCell::const_new();
const LOCK: i64 = 727_166;

async fn admin() -> DatabaseConnection {
    Database::connect(admin_url())
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must run on 127.0.0.1:5432 for the tests ({e}); .ci/run starts it"))
}

async fn exec(db: &DatabaseConnection, sql: &str) -> Result<(), sea_orm::DbErr> {
    db.execute_unprepared(sql).await.map(drop)
}

async fn template() -> String {
    TEMPLATE
        .get_or_init(|| async {
            let name = format!("lethe_tpl_{}", lethe_migrations::SCHEMA_FINGERPRINT);
            let db = admin().await;
            let conn = db.get_postgres_connection_pool();
            let mut lock = conn.acquire().await.expect("connection");
            sea_orm::sqlx::query("SELECT pg_advisory_lock($1)").bind(LOCK).execute(&mut *lock).await.expect("lock");
            let exists = db
                .query_one_raw(Statement::from_string(
                    sea_orm::DatabaseBackend::Postgres,
                    format!("SELECT 1 AS one FROM pg_database WHERE datname = '{name}'"),
                ))
                .await
                .expect("query")
                .is_some();
            if !exists {
                exec(&db, &format!("CREATE DATABASE \"{name}\"")).await.expect("create template");
                // An empty database: nothing for the migrations to encrypt, any key does.
                let keyring = lethe_entities::Keyring::derive(&lethe_entities::MasterKey::generate());
                let migrated =
                    lethe_api::engine::connect_and_migrate(&url_for(&name), &keyring).await.expect("migrate template");
                migrated.close().await.expect("close template");
            }
            drop_stale(&db).await;
            sea_orm::sqlx::query("SELECT pg_advisory_unlock($1)").bind(LOCK).execute(&mut *lock).await.expect("unlock");
            name
        })
        .await
        .clone()
}

async fn drop_stale(db: &DatabaseConnection) {
    let hour_ago = time::OffsetDateTime::now_utc().unix_timestamp() - 3600;
    let rows = db
        .query_all_raw(Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT datname FROM pg_database WHERE datname LIKE 'lethe_t_%'".to_owned(),
        ))
        .await
        .unwrap_or_default();
    for row in rows {
        let Ok(name) = row.try_get::<String>("", "datname") else { continue };
        let created = name.split('_').nth(2).and_then(|t| t.parse::<i64>().ok()).unwrap_or(i64::MAX);
        if created < hour_ago {
            let _ = exec(db, &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
        }
    }
}

/// A new test database's name (dropped by a later run once an hour old).
fn database_name() -> String {
    format!(
        "lethe_t_{}_{}",
        time::OffsetDateTime::now_utc().unix_timestamp(),
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// Creates an empty database (no migration applied) and returns its URL: for tests of the
/// migrations themselves.
pub async fn empty_database() -> String {
    let name = database_name();
    let db = admin().await;
    exec(&db, &format!("CREATE DATABASE \"{name}\"")).await.expect("create test database");
    db.close().await.ok();
    url_for(&name)
}

/// Creates a fresh, migrated database and returns its URL.
pub async fn fresh_database() -> String {
    let template = template().await;
    let name = database_name();
    let db = admin().await;
    // Copies of one template are made one at a time: PostgreSQL refuses a copy while another
    // session is using the template.
    let conn = db.get_postgres_connection_pool();
    let mut lock = conn.acquire().await.expect("connection");
    sea_orm::sqlx::query("SELECT pg_advisory_lock($1)").bind(LOCK).execute(&mut *lock).await.expect("lock");
    let created = exec(&db, &format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"")).await;
    sea_orm::sqlx::query("SELECT pg_advisory_unlock($1)").bind(LOCK).execute(&mut *lock).await.expect("unlock");
    created.expect("create test database");
    drop(lock);
    db.close().await.ok();
    url_for(&name)
}
