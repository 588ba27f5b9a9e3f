//! What the customer portal's tests share: a small SQLite store of people to export from, and
//! expiring export links.

use reqwest::StatusCode;
use serde_json::json;

use crate::TestApp;

/// Registers a SQLite store `people` (id, email, plan) holding one row per address in
/// `emails` and its data map; keep the returned directory while the test runs.
pub async fn people_store(app: &TestApp, admin: &str, emails: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("people.db").display());
    let people = sea_orm::Database::connect(&url).await.unwrap();
    let mut sql = "CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT, plan TEXT);".to_owned();
    for (i, email) in emails.iter().enumerate() {
        sql.push_str(&format!("INSERT INTO people VALUES ({}, '{email}', 'premium');", i + 1));
    }
    sea_orm::ConnectionTrait::execute_unprepared(&people, &sql).await.unwrap();
    let (status, store) = app
        .post("/v1/stores", Some(admin), json!({"name": "people", "kind": "sqlite", "connection": {"url": url}}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{store}");
    let map = "version: 1\ntables:\n  - name: people\n    primary_key: [id]\n    purpose: Your customer account.\n    columns: [{ name: email, identity: email, category: user.contact.email }]\n";
    let path = format!("/v1/stores/{}/datamap", store["id"].as_str().unwrap());
    let (status, saved) = app.put(&path, admin, json!({"yaml": map})).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    dir
}

/// Moves every export's link expiry a day into the past (as if its lifetime had passed).
pub async fn expire_exports(app: &TestApp) {
    use lethe_entities::entity::export;
    use sea_orm::EntityTrait;
    use sea_orm::sea_query::Expr;
    let past = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    export::Entity::update_many()
        .col_expr(export::Column::ExpiresAt, Expr::value(Some(past)))
        .exec(&app.db)
        .await
        .unwrap();
}
