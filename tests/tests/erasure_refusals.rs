//! A store that refuses an erasure statement by a constraint added after its map was saved (so
//! the save-time check could not see it): the task fails, and its message and the timeline say
//! in words what refused and why — the foreign key and the table still referring to the rows,
//! the column a value is too long for, the NOT NULL column — never a driver's bare code, and no
//! row values. One test per kind of SQL store.

use lethe_api::engine::Mode;
use lethe_tests::app::{Backend, TestApp, org_slug, spawn_app_with};
use lethe_tests::company::Company;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};

/// The drivers' numbers for the refusals: none may appear in what Lethe says.
const CODES: [&str; 12] =
    ["23503", "22001", "23502", "23505", "787", "1451", "1452", "1406", "1048", "1299", "1062", "2067"];

/// Runs `script`'s statements (separated by `;`) one by one.
async fn run(db: &DatabaseConnection, script: &str) {
    for statement in script.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        db.execute_unprepared(statement).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

/// Runs an erasure for `email` and returns the message of `store`'s failed task, after
/// checking that the timeline's `store_failed` event says the same with code `store_refused`.
async fn refusal(app: &TestApp, admin: &str, org: &str, email: &str, store: &str) -> String {
    let req = app.verified(org, "erasure", "gdpr", email).await;
    let (status, _) = app.post(&format!("/v1/requests/{}/approve", req.id), Some(admin), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let tasks = app.tasks_settled(&req.id, admin).await;
    let task = tasks.iter().find(|t| t["store"] == store).unwrap();
    assert_eq!(
        (task["status"].as_str(), task["error_code"].as_str()),
        (Some("failed"), Some("store_refused")),
        "{task}"
    );
    let message = task["error_message"].as_str().unwrap().to_owned();
    let (_, detail) = app.get(&format!("/v1/requests/{}", req.id), Some(admin)).await;
    let event: &Value = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "store_failed" && e["detail"]["store"] == store)
        .unwrap_or_else(|| panic!("no store_failed event: {detail}"));
    assert_eq!(event["detail"]["message"], message.as_str());
    assert_eq!(event["detail"]["code"], "store_refused");
    for code in CODES {
        assert!(!message.contains(code), "bare code {code} in {message}");
    }
    assert!(!message.contains(email) && !message.contains("example"), "no personal data: {message}");
    message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_refusals_are_explained_in_words() {
    let (app, company) = tokio::join!(spawn_app_with(Backend::Sqlite, Mode::All, |_| {}), Company::create());
    let org = org_slug();
    let admin = app.admin(&org).await;
    company.register(&app, &admin, false).await;
    let shop = Database::connect(&company.shop_url).await.unwrap();

    // A pseudonym longer than the column became (hash writes 64 characters).
    run(&shop, "ALTER TABLE payments ALTER COLUMN card_number TYPE varchar(20)").await;
    let message = refusal(&app, &admin, &org, &company.ann.emails[0], "shop").await;
    assert!(
        message.starts_with(
            "pseudonymise `payments`: the value written is longer than the column holds: `card_number` \
             holds at most 20 characters and hash writes 64"
        ),
        "{message}"
    );

    // A table that refers to customers, created after the map was saved.
    run(&shop, "ALTER TABLE payments ALTER COLUMN card_number TYPE text").await;
    run(
        &shop,
        &format!(
            "CREATE TABLE loyalty_cards (id serial PRIMARY KEY, customer_id bigint NOT NULL \
         CONSTRAINT loyalty_cards_customer_fkey REFERENCES customers(id)); \
         INSERT INTO loyalty_cards (customer_id) VALUES ({})",
            company.bob.customer_id
        ),
    )
    .await;
    let message = refusal(&app, &admin, &org, &company.bob.emails[0], "shop").await;
    assert!(
        message.starts_with(
            "delete_row `customers`: rows in `loyalty_cards` still refer to them through foreign key \
             loyalty_cards_customer_fkey; map that table"
        ),
        "{message}"
    );
    shop.close().await.unwrap();
    company.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_refusals_are_explained_in_words() {
    let (app, company) = tokio::join!(spawn_app_with(Backend::Sqlite, Mode::All, |_| {}), Company::create());
    let org = org_slug();
    let admin = app.admin(&org).await;
    company.register(&app, &admin, false).await;
    let crm = Database::connect(&company.crm_url).await.unwrap();
    run(
        &crm,
        "CREATE TABLE calls (id INT AUTO_INCREMENT PRIMARY KEY, contact_id INT NOT NULL, \
         CONSTRAINT calls_contact_id_fk FOREIGN KEY (contact_id) REFERENCES contacts (id))",
    )
    .await;
    run(&crm, "INSERT INTO calls (contact_id) SELECT id FROM contacts").await;
    let message = refusal(&app, &admin, &org, &company.ann.emails[0], "crm").await;
    assert!(
        message.starts_with(
            "delete_row `contacts`: rows in `calls` still refer to them through foreign key calls_contact_id_fk; \
             map that table"
        ),
        "{message}"
    );
    crm.close().await.unwrap();
    company.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_refusals_are_explained_in_words() {
    let (app, company) = tokio::join!(spawn_app_with(Backend::Sqlite, Mode::All, |_| {}), Company::create());
    let org = org_slug();
    let admin = app.admin(&org).await;
    company.register(&app, &admin, false).await;
    let analytics = Database::connect(&company.analytics_url).await.unwrap();

    // Events' customer (set to null by the map) became NOT NULL: SQLite rebuilds the table.
    run(
        &analytics,
        "CREATE TABLE events_new (id integer PRIMARY KEY, customer_id integer NOT NULL DEFAULT 0, kind text, at text); \
             INSERT INTO events_new SELECT id, COALESCE(customer_id, 0), kind, at FROM events; \
             DROP TABLE events; ALTER TABLE events_new RENAME TO events",
    )
    .await;
    let message = refusal(&app, &admin, &org, &company.ann.emails[0], "analytics").await;
    assert!(
        message.starts_with(
            "update `events`: `customer_id` is NOT NULL, so the database refuses to set it to null; map it with \
             redact or hash instead"
        ),
        "{message}"
    );

    // A table referring to page views (deleted by the map): SQLite names no constraint, so the
    // schema tells which. Events take null again first.
    run(
        &analytics,
        &format!(
            "CREATE TABLE events_old (id integer PRIMARY KEY, customer_id integer, kind text, at text); \
             INSERT INTO events_old SELECT id, customer_id, kind, at FROM events; \
             DROP TABLE events; ALTER TABLE events_old RENAME TO events; \
             CREATE TABLE bookmarks (id integer PRIMARY KEY, view_id integer REFERENCES page_views(id)); \
             INSERT INTO bookmarks (view_id) SELECT id FROM page_views WHERE customer_id = {}",
            company.bob.customer_id
        ),
    )
    .await;
    let message = refusal(&app, &admin, &org, &company.bob.emails[0], "analytics").await;
    assert!(
        message.starts_with(
            "delete_row `page_views`: rows in `bookmarks` still refer to them through a foreign key on `view_id`"
        ),
        "{message}"
    );
    analytics.close().await.unwrap();
    company.cleanup().await;
}
