//! Data maps are checked against the live schema's constraints when they are saved, on each
//! kind of SQL store: a map whose erasure the database would refuse (deleting rows others refer
//! to, a pseudonym longer than its column, NULL into a NOT NULL column) is refused with
//! `invalid_data_map`, the field path and what would work.

use lethe_tests::app::{Backend, TestApp, org_slug, spawn_app};
use lethe_tests::company::Company;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

async fn register(app: &TestApp, token: &str, name: &str, kind: &str, url: &str) -> String {
    let body = json!({ "name": name, "kind": kind, "connection": { "url": url } });
    let (status, store) = app.post("/v1/stores", Some(token), body).await;
    assert_eq!(status, StatusCode::CREATED, "{store}");
    store["id"].as_str().unwrap().to_owned()
}

/// Saves `yaml` as the store's map: the status and, when refused, each error as `field: message`.
async fn save(app: &TestApp, token: &str, store: &str, yaml: &str) -> (StatusCode, Vec<String>, Value) {
    let response =
        app.http.put(app.url(&format!("/v1/stores/{store}/datamap"))).bearer_auth(token).json(&json!({ "yaml": yaml }));
    let response = response.send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    let errors = body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| format!("{}: {}", e["field"].as_str().unwrap_or(""), e["message"].as_str().unwrap_or("")))
        .collect();
    if status != StatusCode::OK {
        assert_eq!(body["code"], "invalid_data_map", "{body}");
    }
    (status, errors, body)
}

#[tokio::test]
async fn maps_the_database_would_refuse_at_erasure_are_refused_when_saved() {
    let (app, company) = tokio::join!(spawn_app(Backend::Sqlite), Company::create());
    let admin = app.admin(&org_slug()).await;

    // PostgreSQL: employees are referred to by customers, tickets and other employees.
    let shop = register(&app, &admin, "shop", "postgres", &company.shop_url).await;
    let employees = "version: 1\ntables:\n  - name: employees\n    primary_key: [id]\n    columns:\n      - { name: email, identity: email }\n";
    let (status, errors, _) = save(&app, &admin, &shop, employees).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(errors.iter().all(|e| e.starts_with("tables[0].erasure")), "{errors:?}");
    for fk in
        ["customers_support_rep_id_fkey", "employees_manager_id_fkey", "support_tickets_assigned_employee_id_fkey"]
    {
        assert!(errors.iter().any(|e| e.contains(&format!("through foreign key {fk}"))), "{fk}: {errors:?}");
    }
    assert!(errors[0].contains("delete_row `employees`: rows in `customers` still refer to them"), "{errors:?}");
    // Keeping the row and clearing a NOT NULL column is refused too; redacting it is what works.
    let nulled = format!("{employees}      - {{ name: name, action: \"null\" }}\n    erasure: {{ action: update }}\n");
    let (status, errors, _) = save(&app, &admin, &shop, &nulled).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("tables[0].columns[1].action: "), "{errors:?}");
    assert!(errors[0].contains("`employees.name` is NOT NULL, so it cannot be set to null; use redact"), "{errors:?}");
    let redacted = nulled.replace("action: \"null\"", "action: redact");
    let (status, errors, _) = save(&app, &admin, &shop, &redacted).await;
    assert_eq!((status, errors), (StatusCode::OK, vec![]));
    // The company's own map (customers deleted after their addresses, logins and tickets, orders
    // kept with the reference cleared) passes as before.
    let (status, errors, _) = save(&app, &admin, &shop, &company.data_map("shop")).await;
    assert_eq!((status, errors), (StatusCode::OK, vec![]));

    // MariaDB: notes refer to contacts; a redaction text longer than VARCHAR(64).
    let crm = register(&app, &admin, "crm", "mysql", &company.crm_url).await;
    let contacts = "version: 1\ntables:\n  - name: contacts\n    primary_key: [id]\n    columns:\n      - { name: email, identity: email }\n";
    let (status, errors, _) = save(&app, &admin, &crm, contacts).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("rows in `notes` still refer to them through foreign key notes_contact_id_fk"))
    );
    assert!(errors.iter().any(|e| e.contains("foreign key consents_contact_id_fk")), "{errors:?}");
    let long = "x".repeat(65);
    let consents = format!(
        "{contacts}      - {{ name: full_name, action: \"null\" }}\n    erasure: {{ action: update }}\n  - name: consents\n    primary_key: [contact_id, purpose]\n    columns:\n      - {{ name: purpose, action: redact, redact_with: {long} }}\n      - {{ name: granted_at, action: \"null\" }}\n    references: [{{ column: contact_id, target: {{ table: contacts, column: id }}, direction: from }}]\n    erasure: {{ action: update }}\n"
    );
    let (status, errors, _) = save(&app, &admin, &crm, &consents).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("tables[1].columns[0].action: "), "{errors:?}");
    assert!(errors[0].contains("`consents.purpose` holds at most 64 characters"), "{errors:?}");
    assert!(errors[1].starts_with("tables[1].columns[1].action: "), "{errors:?}");
    assert!(errors[1].contains("`consents.granted_at` is NOT NULL"), "{errors:?}");
    let (status, errors, _) = save(&app, &admin, &crm, &company.data_map("crm")).await;
    assert_eq!((status, errors), (StatusCode::OK, vec![]));

    // SQLite: declared lengths are not enforced there, but the map must work wherever the schema
    // is deployed; foreign keys without a name are described by their column.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("staff.db").display());
    let db = Database::connect(&url).await.unwrap();
    db.execute_unprepared(
        "CREATE TABLE staff (id integer PRIMARY KEY, email varchar(60) NOT NULL, manager integer REFERENCES staff(id))",
    )
    .await
    .unwrap();
    db.close().await.unwrap();
    let staff = register(&app, &admin, "staff", "sqlite", &url).await;
    let hashed = "version: 1\ntables:\n  - name: staff\n    primary_key: [id]\n    columns:\n      - { name: email, identity: email, action: hash }\n    erasure: { action: update }\n";
    let (status, errors, _) = save(&app, &admin, &staff, hashed).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(errors[0].contains("`staff.email` holds at most 60 characters, and hash writes a 64-character pseudonym"));
    let deleted = hashed.replace(", action: hash", "").replace("update", "delete_row");
    let (status, errors, _) = save(&app, &admin, &staff, &deleted).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(errors[0].contains("rows in `staff` still refer to them through a foreign key on `manager`"), "{errors:?}");
    company.cleanup().await;
}
