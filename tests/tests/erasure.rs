//! Erasure across the company's stores: exactly the located data is deleted or pseudonymised as
//! mapped, foreign keys are respected, `keep` rows stay (pseudonymised) and are reported, the
//! ledger's counts are the stores' own, the verification pass catches what erasure missed, a
//! crashed erasure is settled once, and manual tasks are completed or waived by people.

use std::collections::BTreeMap;

use lethe_api::engine::Mode;
use lethe_entities::domain::enums::Role;
use lethe_tests::app::{Backend, TestApp, org_slug, spawn_app_with};
use lethe_tests::company::Company;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::json;

/// Rows per store and table a preview finds for `email` (keys with values).
async fn found(app: &TestApp, admin: &str, store: &str, email: &str) -> BTreeMap<String, BTreeMap<String, u64>> {
    let (status, preview) = app
        .post(
            &format!("/v1/stores/{store}/preview"),
            Some(admin),
            json!({ "identities": [{ "kind": "email", "value": email }] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    std::iter::once(&preview["store"])
        .chain(preview["others"].as_array().unwrap())
        .filter(|s| s["status"] == "located")
        .map(|s| {
            let counts = s["counts"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(_, n)| n.as_u64().unwrap() > 0)
                .map(|(t, n)| (t.clone(), n.as_u64().unwrap()))
                .collect();
            (s["store"].as_str().unwrap().to_owned(), counts)
        })
        .collect()
}

async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<Vec<Option<String>>> {
    let result = db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
    result
        .iter()
        .map(|r| (0..r.column_names().len()).map(|i| r.try_get_by_index::<Option<String>>(i).unwrap()).collect())
        .collect()
}

/// Ledger erasure entries of a request: (store, table, action) -> rows.
async fn ledger(app: &TestApp, admin: &str, request: &str) -> BTreeMap<(String, String, String), u64> {
    let (status, page) =
        app.get(&format!("/v1/ledger/entries?kind=erasure&request_id={request}&limit=500"), Some(admin)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut out = BTreeMap::new();
    for e in page["entries"].as_array().unwrap() {
        let key = (
            e["store"].as_str().unwrap().to_owned(),
            e["table"].as_str().unwrap().to_owned(),
            e["action"].as_str().unwrap().to_owned(),
        );
        *out.entry(key).or_insert(0) += e["row_count"].as_u64().unwrap();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_request_erases_exactly_what_is_mapped_and_completes() {
    let (app, company) = tokio::join!(spawn_app_with(Backend::Postgres, Mode::All, |_| {}), Company::create());
    let org = org_slug();
    let admin = app.admin(&org).await;
    let ids = company.register(&app, &admin, true).await;
    let ann = &company.ann.emails[0];
    let before = found(&app, &admin, &ids["shop"], ann).await;
    let bob_before = found(&app, &admin, &ids["shop"], &company.bob.emails[0]).await;
    assert!(
        before["shop"]["customers"] == 1 && before["crm"]["contacts"] >= 1 && before["cache"].len() == 2,
        "{before:?}"
    );

    let req = app.verified(&org, "erasure", "gdpr", ann).await;
    let (status, _) = app.post(&format!("/v1/requests/{}/approve", req.id), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let tasks = app.tasks_settled(&req.id, &admin).await;
    for task in &tasks {
        let expected = if task["store"] == "paper-archive" { "waiting" } else { "done" };
        assert_eq!(task["status"], expected, "{task}");
    }

    // Nothing of Ann's is found any more, except the rows kept for bookkeeping (no longer
    // reachable: their link to her was cleared); Bob is untouched.
    let after = found(&app, &admin, &ids["shop"], ann).await;
    assert!(after.values().all(|tables| tables.is_empty()), "{after:?}");
    assert_eq!(found(&app, &admin, &ids["shop"], &company.bob.emails[0]).await, bob_before);

    // The shop: deleted children and parent; orders kept with the customer link cleared;
    // card numbers replaced by 64-hex pseudonyms; the customer Ann referred keeps his row.
    let shop = Database::connect(&company.shop_url).await.unwrap();
    let id = company.ann.customer_id;
    assert!(rows(&shop, &format!("SELECT id::text FROM customers WHERE id = {id}")).await.is_empty());
    for table in ["addresses", "logins", "support_tickets"] {
        assert!(
            rows(&shop, &format!("SELECT id::text FROM {table} WHERE customer_id = {id}")).await.is_empty(),
            "{table}"
        );
    }
    let orders = rows(&shop, "SELECT customer_id::text FROM orders WHERE id IN (1001, 1002, 1003)").await;
    assert_eq!(orders, vec![vec![None]; 3], "orders are kept, unlinked");
    let cards = rows(&shop, "SELECT card_number FROM payments WHERE order_id IN (1001, 1002, 1003)").await;
    assert_eq!(cards.len(), 3);
    for card in cards {
        let card = card[0].clone().unwrap();
        assert!(card.len() == 64 && card.bytes().all(|b| b.is_ascii_hexdigit()), "pseudonymised: {card}");
    }
    assert_eq!(rows(&shop, "SELECT id::text FROM customers WHERE id = 102").await.len(), 1, "Bob is still a customer");

    // The ledger: one entry per store, table and action, counts equal to what was located.
    let entries = ledger(&app, &admin, &req.id).await;
    let deleted = |store: &str, table: &str| entries.get(&(store.into(), table.into(), "delete_row".into())).copied();
    assert_eq!(deleted("shop", "customers"), Some(1));
    assert_eq!(deleted("shop", "logins"), Some(before["shop"]["logins"]));
    assert_eq!(deleted("shop", "addresses"), Some(before["shop"]["addresses"]));
    assert_eq!(deleted("crm", "contacts"), Some(before["crm"]["contacts"]));
    assert_eq!(deleted("analytics", "page_views"), Some(before["analytics"]["page_views"]));
    assert_eq!(
        entries.get(&("analytics".into(), "events".into(), "update".into())),
        Some(&before["analytics"]["events"])
    );
    assert_eq!(entries.get(&("shop".into(), "orders".into(), "pseudonymise".into())), Some(&before["shop"]["orders"]));
    let cache_deleted: u64 =
        entries.iter().filter(|((s, _, a), _)| s == "cache" && a == "delete_row").map(|(_, n)| n).sum();
    assert_eq!(cache_deleted, 2, "session and cart");
    let text = serde_json::to_string(&entries.keys().collect::<Vec<_>>()).unwrap();
    assert!(!text.contains("example.com"), "no personal data in the ledger");

    // The timeline says what was erased and retained, per store.
    let (_, detail) = app.get(&format!("/v1/requests/{}", req.id), Some(&admin)).await;
    let shop_event = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "store_erased" && e["detail"]["store"] == "shop")
        .cloned()
        .unwrap();
    let retained: Vec<&str> =
        shop_event["detail"]["retained"].as_array().unwrap().iter().map(|r| r["table"].as_str().unwrap()).collect();
    assert!(retained.contains(&"orders") && retained.contains(&"payments"), "{shop_event}");
    assert!(shop_event["detail"]["retained"][0]["until"].as_str().unwrap().len() == 10);

    // The manual store waits for a person; an operator completes it with a note; the request
    // completes and its closing is in the ledger.
    let operator = app.operator_in(&org, &format!("op@{org}.test"), Role::Operator).await;
    let manual = tasks.iter().find(|t| t["store"] == "paper-archive").unwrap();
    let path = format!("/v1/requests/{}/tasks/{}/complete", req.id, manual["id"].as_str().unwrap());
    let (status, problem) = app.post(&path, Some(&operator), json!({ "reason": " " })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, task) = app.post(&path, Some(&operator), json!({ "reason": "Folder shredded on site." })).await;
    assert_eq!(status, StatusCode::OK, "{task}");
    assert_eq!(task["status"], "done");
    let detail = app.wait_for_state(&req.id, &admin, "completed").await;
    assert!(
        detail["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "task_completed" && e["reason"] == "Folder shredded on site.")
    );
    let (_, closed) =
        app.get(&format!("/v1/ledger/entries?kind=request_closed&request_id={}", req.id), Some(&admin)).await;
    assert_eq!(closed["entries"].as_array().unwrap().len(), 1);
    let (status, _) = app.post(&path, Some(&operator), json!({ "reason": "again" })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    company.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verification_pass_catches_a_row_written_during_erasure() {
    let (app, company) = tokio::join!(spawn_app_with(Backend::Sqlite, Mode::All, |_| {}), Company::create());
    let org = org_slug();
    let admin = app.admin(&org).await;
    company.register(&app, &admin, false).await;
    // While the shop deletes the customer, the "application" signs the address up again.
    let shop = Database::connect(&company.shop_url).await.unwrap();
    shop.execute_unprepared(
        "CREATE FUNCTION resubscribe() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN INSERT INTO newsletter_subscribers (email) VALUES (OLD.email); RETURN OLD; END $$; \
         CREATE TRIGGER resubscribe AFTER DELETE ON customers FOR EACH ROW EXECUTE FUNCTION resubscribe();",
    )
    .await
    .unwrap();
    let req = app.verified(&org, "erasure", "gdpr", &company.ann.emails[0]).await;
    app.post(&format!("/v1/requests/{}/approve", req.id), Some(&admin), json!({})).await;
    let tasks = app.tasks_settled(&req.id, &admin).await;
    let shop_task = tasks.iter().find(|t| t["store"] == "shop").unwrap();
    assert_eq!(shop_task["status"], "failed", "{shop_task}");
    assert_eq!(shop_task["error_code"], "erasure_incomplete");
    let message = shop_task["error_message"].as_str().unwrap();
    assert!(message.contains("1 row(s) of `newsletter_subscribers`"), "{message}");
    assert!(!message.contains("example.com"));
    for store in ["crm", "analytics", "cache"] {
        assert_eq!(tasks.iter().find(|t| t["store"] == store).unwrap()["status"], "done", "{store}");
    }
    // A failed verification never completes the request: it fails, with the store's report.
    let detail = app.wait_for_state(&req.id, &admin, "failed").await;
    let failed = detail["timeline"].as_array().unwrap().iter().rev().find(|e| e["kind"] == "failed").unwrap();
    let reason = failed["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("erasure_incomplete: store `shop`: verification: 1 row(s) of `newsletter_subscribers`"),
        "{reason}"
    );
    // What did commit is in the ledger.
    assert_eq!(
        ledger(&app, &admin, &req.id).await.get(&("shop".into(), "customers".into(), "delete_row".into())),
        Some(&1)
    );
    company.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_killed_after_the_store_committed_is_settled_once() {
    let (app, company) = tokio::join!(spawn_app_with(Backend::Sqlite, Mode::All, |_| {}), Company::create());
    let org = org_slug();
    let admin = app.admin(&org).await;
    company.register(&app, &admin, false).await;
    let req = app.verified(&org, "erasure", "gdpr", &company.ann.emails[0]).await;
    // No worker from here until the restart below.
    let app = app.restart(Mode::Serve).await;
    app.post(&format!("/v1/requests/{}/approve", req.id), Some(&admin), json!({})).await;

    // A previous worker opened its intent, deleted Ann's logins with the receipt and was killed
    // before settling.
    let organization = lethe_entities::entity::organization::Model::find_by_slug(&app.db, &org).await.unwrap().unwrap();
    let planned = lethe_entities::ledger::NewEntry {
        request_id: Some(req.id.parse().unwrap()),
        store: Some("shop".into()),
        table: Some("logins".into()),
        action: Some("delete_row".into()),
        ..lethe_entities::ledger::NewEntry::new(lethe_entities::ledger::entry::EntryKind::Erasure)
    };
    let intent = lethe_entities::ledger::intent::open(&app.db, organization.id, &planned).await.unwrap();
    let shop = Database::connect(&company.shop_url).await.unwrap();
    lethe_worker::ledger::receipts::ensure_table(&shop).await.unwrap();
    {
        use sea_orm::TransactionTrait;
        let txn = shop.begin().await.unwrap();
        let deleted = txn
            .execute_unprepared(&format!("DELETE FROM logins WHERE customer_id = {}", company.ann.customer_id))
            .await
            .unwrap()
            .rows_affected();
        assert_eq!(deleted, 4);
        lethe_worker::ledger::receipts::record(&txn, intent.id, deleted).await.unwrap();
        txn.commit().await.unwrap();
    }

    // A worker starts: it settles the intent from the receipt, then erases the rest.
    let app = app.restart(Mode::All).await;
    let tasks = app.tasks_settled(&req.id, &admin).await;
    assert!(tasks.iter().all(|t| t["status"] == "done"), "{tasks:?}");
    let entries = ledger(&app, &admin, &req.id).await;
    assert_eq!(
        entries.get(&("shop".into(), "logins".into(), "delete_row".into())),
        Some(&4),
        "one entry, the store's count"
    );
    let (_, page) =
        app.get(&format!("/v1/ledger/entries?kind=erasure&request_id={}&limit=500", req.id), Some(&admin)).await;
    let logins = page["entries"].as_array().unwrap().iter().filter(|e| e["table"] == "logins").count();
    assert_eq!(logins, 1, "never erased twice with a second entry");
    app.wait_for_state(&req.id, &admin, "completed").await;
    company.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_can_waive_a_store_and_others_cannot() {
    let (app, company) = tokio::join!(spawn_app_with(Backend::Sqlite, Mode::All, |_| {}), Company::create());
    let org = org_slug();
    let admin = app.admin(&org).await;
    company.register(&app, &admin, true).await;
    let req = app.verified(&org, "erasure", "gdpr", &company.bob.emails[0]).await;
    app.post(&format!("/v1/requests/{}/approve", req.id), Some(&admin), json!({})).await;
    let tasks = app.tasks_settled(&req.id, &admin).await;
    let manual = tasks.iter().find(|t| t["store"] == "paper-archive").unwrap();
    let path = format!("/v1/requests/{}/tasks/{}/waive", req.id, manual["id"].as_str().unwrap());
    let operator = app.operator_in(&org, &format!("op@{org}.test"), Role::Operator).await;
    let (status, _) = app.post(&path, Some(&operator), json!({ "reason": "no paper records" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, task) =
        app.post(&path, Some(&admin), json!({ "reason": "No paper records exist for online customers." })).await;
    assert_eq!(status, StatusCode::OK, "{task}");
    assert_eq!(task["status"], "waived");
    app.wait_for_state(&req.id, &admin, "completed").await;
    // Another organization's admin cannot touch it.
    let other = app.admin(&org_slug()).await;
    let (status, problem) = app.post(&path, Some(&other), json!({ "reason": "x" })).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("request_not_found")));
    company.cleanup().await;
}
