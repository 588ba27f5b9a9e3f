//! Discovery on a schema written for this test alone (`tests/fixtures/music_store/schema.sql`,
//! an invented record shop), in a SQLite file and in a PostgreSQL database: the whole proposed
//! map, the reasons for every reference's direction and the notes are exactly
//! `tests/fixtures/music_store/discovered.json`. It shows the catalogue that invoice lines point
//! at (tracks, and the albums, artists, genres and playlists around them) set apart as shared,
//! with no column proposed as personal data and every reference into it `none`; the loyalty card
//! each customer has one of kept as the customer's (`to`); a delivery address that one
//! customer's two deliveries repeat not taken for shared (it has personal columns); run-together names
//! (`billingpostalcode`) classified; an invoice date never taken for a birth date; a job title
//! never taken for a name. `LETHE_UPDATE_FIXTURES=1` rewrites the file from the SQLite run.

use lethe_tests::app::{TestApp, org_slug};
use lethe_tests::{Backend, spawn_app};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

const SCHEMA: &str = include_str!("../fixtures/music_store/schema.sql");
const EXPECTED: &str = "tests/fixtures/music_store/discovered.json";

/// Creates the shop's tables and rows in the database at `url`.
async fn create(url: &str) {
    let db = Database::connect(url).await.unwrap();
    let sql: Vec<&str> = SCHEMA.lines().filter(|l| !l.trim_start().starts_with("--")).collect();
    for statement in sql.join("\n").split(';').map(str::trim).filter(|s| !s.is_empty()) {
        db.execute_unprepared(statement).await.unwrap();
    }
    db.close().await.unwrap();
}

/// Registers the store, runs discovery and returns what it proposed, without the column
/// map, the suggestions with their evidence, the references' reasons, the notes and indexes.
async fn discover(app: &TestApp, admin: &str, kind: &str, url: &str) -> Value {
    let body = json!({"name": format!("groove-hall-{kind}"), "kind": kind, "connection": {"url": url}});
    let (status, store) = app.post("/v1/stores", Some(admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{store}");
    let id = store["id"].as_str().unwrap();
    let (status, found) = app.post(&format!("/v1/stores/{id}/discover"), Some(admin), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    json!({
        "map": found["map"],
        "suggestions": found["suggestions"],
        "references": found["references"],
        "notes": found["notes"],
        "missing_indexes": found["missing_indexes"],
    })
}

fn expected(found: &Value) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(EXPECTED);
    if std::env::var_os("LETHE_UPDATE_FIXTURES").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(found).unwrap() + "\n").unwrap();
    }
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_record_shop_is_proposed_exactly() {
    let app = spawn_app(Backend::Sqlite).await;
    let admin = app.admin(&org_slug()).await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}?mode=rwc", dir.path().join("groove-hall.db").display());
    create(&sqlite).await;
    let found = discover(&app, &admin, "sqlite", &sqlite).await;
    assert_eq!(found, expected(&found), "SQLite");

    let postgres = lethe_tests::postgres::empty_database().await;
    create(&postgres).await;
    let pg = discover(&app, &admin, "postgres", &postgres).await;
    for part in ["map", "suggestions", "references", "notes", "missing_indexes"] {
        assert_eq!(pg[part], found[part], "PostgreSQL's {part} is SQLite's");
    }
}
