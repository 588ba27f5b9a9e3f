//! The `crm` store: a fresh MariaDB database (InnoDB, utf8mb4) whose contacts point at shop
//! customers by id, and whose consents have a composite key.

use sea_orm::{ConnectionTrait, Statement};

use super::people::{Customer, Owners, Who, moment};
use super::{connect, insert, is_stale, run, text, with_database};

const STORE: &str = "crm";
const PREFIX: &str = "lethe_crm_";
const TABLE_OPTIONS: &str = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci";

/// The server's admin URL (override with `LETHE_TEST_MYSQL_URL`).
fn admin_url() -> String {
    std::env::var("LETHE_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

/// The statements that fill the CRM, recording Ann's and Bob's rows in `owners`.
pub(super) fn seed(customers: &[Customer], owners: &mut Owners) -> Vec<String> {
    let schema = [
        format!(
            "CREATE TABLE contacts (
                id INT AUTO_INCREMENT PRIMARY KEY,
                email VARCHAR(255) NOT NULL,
                full_name VARCHAR(255),
                shop_customer_id BIGINT NULL,
                UNIQUE KEY contacts_email (email),
                KEY contacts_shop_customer_id (shop_customer_id)
            ) {TABLE_OPTIONS}"
        ),
        format!(
            "CREATE TABLE notes (
                id INT AUTO_INCREMENT PRIMARY KEY,
                contact_id INT NOT NULL,
                body TEXT NOT NULL,
                KEY notes_contact_id (contact_id),
                CONSTRAINT notes_contact_id_fk FOREIGN KEY (contact_id) REFERENCES contacts (id)
            ) {TABLE_OPTIONS}"
        ),
        format!(
            "CREATE TABLE consents (
                contact_id INT NOT NULL,
                purpose VARCHAR(64) NOT NULL,
                granted_at DATETIME NOT NULL,
                PRIMARY KEY (contact_id, purpose),
                CONSTRAINT consents_contact_id_fk FOREIGN KEY (contact_id) REFERENCES contacts (id)
            ) {TABLE_OPTIONS}"
        ),
    ];
    let [mut contacts, mut notes, mut consents]: [Vec<String>; 3] = Default::default();
    let (mut contact_id, mut note_id) = (10, 0);
    for (i, c) in customers.iter().filter(|c| c.in_crm).enumerate() {
        let who = c.owner;
        contact_id += 1;
        contacts.push(format!("({contact_id}, {}, {}, {})", text(&c.email), text(&c.name), c.id));
        owners.add(who, STORE, "contacts", contact_id);
        let notes_here = if who.is_some() { 2 } else { i % 2 };
        for n in 0..notes_here {
            note_id += 1;
            let body = if n == 0 { "Called about a late delivery." } else { "Prefers e-mail to phone." };
            notes.push(format!("({note_id}, {contact_id}, {})", text(body)));
            owners.add(who, STORE, "notes", note_id);
        }
        let purposes: &[&str] = if who.is_some() { &["marketing", "profiling"] } else { &["marketing"] };
        for purpose in purposes {
            consents.push(consent(owners, who, contact_id, purpose));
        }
        if let Some(other) = c.other_email {
            // The same person under another address, not linked to the shop.
            contact_id += 1;
            contacts.push(format!("({contact_id}, {}, {}, NULL)", text(other), text(&c.name)));
            owners.add(who, STORE, "contacts", contact_id);
            note_id += 1;
            notes.push(format!("({note_id}, {contact_id}, {})", text("Signed up at a trade fair.")));
            owners.add(who, STORE, "notes", note_id);
            consents.push(consent(owners, who, contact_id, "newsletter"));
        }
    }
    contacts.push(format!("({}, 'lead@prospect.test', 'A Lead', NULL)", contact_id + 1));
    schema
        .into_iter()
        .chain(insert("contacts", "id, email, full_name, shop_customer_id", &contacts))
        .chain(insert("notes", "id, contact_id, body", &notes))
        .chain(insert("consents", "contact_id, purpose, granted_at", &consents))
        .collect()
}

/// One `consents` row, recorded for `who`.
fn consent(owners: &mut Owners, who: Option<Who>, contact: i64, purpose: &str) -> String {
    owners.add(who, STORE, "consents", format!("{contact},{purpose}"));
    format!("({contact}, {}, {})", text(purpose), text(moment(contact)))
}

/// Creates database `name` (dropping stale ones of earlier runs), fills it, returns its URL.
pub(super) async fn create(name: &str, seed: &[String]) -> String {
    let admin = connect(&admin_url(), "MariaDB on 127.0.0.1:3306").await;
    drop_stale(&admin).await;
    admin
        .execute_unprepared(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
        .await
        .expect("create the CRM database");
    admin.close().await.ok();
    let url = with_database(&admin_url(), name);
    let db = connect(&url, "the CRM database").await;
    run(&db, seed).await.expect("fill the CRM");
    db.close().await.ok();
    url
}

/// Drops databases of earlier runs made more than an hour ago.
async fn drop_stale(admin: &sea_orm::DatabaseConnection) {
    let rows = admin
        .query_all_raw(Statement::from_string(
            sea_orm::DatabaseBackend::MySql,
            format!(
                "SELECT schema_name AS name FROM information_schema.schemata WHERE schema_name LIKE '{}%'",
                PREFIX.replace('_', "\\\\_")
            ),
        ))
        .await
        .unwrap_or_default();
    for row in rows {
        let Ok(name) = row.try_get::<String>("", "name") else { continue };
        if is_stale(&name, PREFIX) {
            let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS `{name}`")).await;
        }
    }
}

/// Drops database `name`.
pub(super) async fn drop_database(name: &str) -> anyhow::Result<()> {
    let admin = sea_orm::Database::connect(admin_url()).await?;
    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS `{name}`")).await?;
    admin.close().await.ok();
    Ok(())
}
