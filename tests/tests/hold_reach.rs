//! A legal hold on a person keeps everything that belongs to them from retention, not only rows
//! with an identity column: rows reached through references (the shop's logins and the CRM's
//! consents of her customer and contact rows, the analytics events that point at her customer
//! id from another store) and Redis keys (her session, keyed by her customer id; her cart, keyed
//! by her address). On PostgreSQL, MariaDB, SQLite and Redis stores, with the company fixture:
//! the preview counts what the run removes, exactly her rows stay; a store the walk must pass
//! through being down fails the run (`legal_hold_unresolved`) instead of guessing; once the last
//! hold is released the next runs purge her rows too.

use std::collections::BTreeSet;

use lethe_tests::app::{TestApp, org_slug, spawn_app};
use lethe_tests::company::{ANN_EMAIL, ANN_OTHER_EMAIL, ANN_PHONE, Company};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

/// One policy target: store, table or key pattern, and how to list what is there.
struct Target {
    store: &'static str,
    /// A short name for the policy.
    name: &'static str,
    /// Table, or `SCAN` pattern for Redis.
    table: String,
    /// The data map's name for it (the key pattern with its placeholder, for Redis).
    mapped: String,
    /// SQL listing the primary keys as text (composite keys joined with `,`); empty for Redis.
    keys_sql: &'static str,
    age_column: Option<&'static str>,
}

fn targets(prefix: &str) -> Vec<Target> {
    let sql = |store, table: &'static str, keys_sql, age| Target {
        store,
        name: table,
        table: table.to_owned(),
        mapped: table.to_owned(),
        keys_sql,
        age_column: Some(age),
    };
    let redis = |name, pattern: &str, mapped: &str| Target {
        store: "cache",
        name,
        table: format!("{prefix}{pattern}"),
        mapped: format!("{prefix}{mapped}"),
        keys_sql: "",
        age_column: None,
    };
    vec![
        sql("shop", "logins", "SELECT CAST(id AS TEXT) AS k FROM logins", "at"),
        sql("crm", "consents", "SELECT CONCAT(contact_id, ',', purpose) AS k FROM consents", "granted_at"),
        sql("analytics", "events", "SELECT CAST(id AS TEXT) AS k FROM events", "at"),
        redis("sessions", "session:*", "session:{customer_id}"),
        redis("carts", "cart:*", "cart:{email}"),
    ]
}

/// What is in the target now.
async fn present(company: &Company, target: &Target) -> BTreeSet<String> {
    if target.store == "cache" {
        let client = redis::Client::open(company.redis_url.as_str()).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS").arg(&target.table).query_async(&mut c).await.unwrap();
        return keys.into_iter().collect();
    }
    let url = match target.store {
        "shop" => &company.shop_url,
        "crm" => &company.crm_url,
        _ => &company.analytics_url,
    };
    let db = Database::connect(url).await.unwrap();
    let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), target.keys_sql)).await.unwrap();
    let keys = rows.iter().map(|r| r.try_get::<String>("", "k").unwrap()).collect();
    db.close().await.ok();
    keys
}

/// Makes every key of the company look unused for two hours (idle time), keeping its TTL.
async fn age_redis_keys(company: &Company) {
    let client = redis::Client::open(company.redis_url.as_str()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> =
        redis::cmd("KEYS").arg(format!("{}*", company.redis_prefix)).query_async(&mut c).await.unwrap();
    for key in keys {
        let ttl: i64 = redis::cmd("PTTL").arg(&key).query_async(&mut c).await.unwrap();
        let dumped: Vec<u8> = redis::cmd("DUMP").arg(&key).query_async(&mut c).await.unwrap();
        let _: () = redis::cmd("RESTORE")
            .arg(&key)
            .arg(ttl.max(0))
            .arg(dumped)
            .arg("REPLACE")
            .arg("IDLETIME")
            .arg(7200)
            .query_async(&mut c)
            .await
            .unwrap();
    }
}

async fn policy(app: &TestApp, admin: &str, store_id: &str, target: &Target) -> String {
    let mut body = json!({
        "name": format!("{}-{}", target.store, target.name), "store_id": store_id,
        "action": {"type": "delete_row"}, "batch_size": 4, "legal_basis": "Kept 30 days"
    });
    match target.age_column {
        Some(age) => {
            body["table"] = json!(target.table);
            body["age_column"] = json!(age);
            body["max_age"] = json!("P30D");
        }
        None => {
            body["key_pattern"] = json!(target.table);
            body["max_age"] = json!("PT30M");
        }
    }
    let (status, policy) = app.post("/v1/retention/policies", Some(admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    policy["id"].as_str().unwrap().to_owned()
}

async fn run(app: &TestApp, admin: &str, policy: &str) -> Value {
    let (status, run) = app.post(&format!("/v1/retention/policies/{policy}/run"), Some(admin), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, runs) = app.get(&format!("/v1/retention/runs?policy_id={policy}"), Some(admin)).await;
        let found = runs.as_array().unwrap().iter().find(|r| r["id"] == run["id"]).unwrap().clone();
        if !["queued", "running"].contains(&found["state"].as_str().unwrap()) {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "{found}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_person_keeps_rows_reached_through_references_and_redis_keys() {
    let app = spawn_app(lethe_tests::Backend::Postgres).await;
    let admin = app.admin(&org_slug()).await;
    let company = Company::create().await;
    let stores = company.register(&app, &admin, false).await;
    age_redis_keys(&company).await;
    let mut holds = Vec::new();
    for (kind, value) in [("email", ANN_EMAIL), ("email", ANN_OTHER_EMAIL), ("phone", ANN_PHONE)] {
        let body = json!({
            "scope": "subject", "identity": {"kind": kind, "value": value},
            "reason": "Litigation: Ann v. Shop", "owner": "legal@shop.example", "matter": "CASE-9"
        });
        let (status, hold) = app.post("/v1/holds", Some(&admin), body).await;
        assert_eq!(status, StatusCode::CREATED, "{hold}");
        holds.push(hold["id"].as_str().unwrap().to_owned());
    }

    let mut policies = Vec::new();
    for target in targets(&company.redis_prefix) {
        let ann: BTreeSet<String> =
            company.ann.located.get(target.store).and_then(|t| t.get(&target.mapped)).cloned().unwrap_or_default();
        assert!(!ann.is_empty(), "the fixture gives Ann rows in {} {}", target.store, target.mapped);
        let before = present(&company, &target).await;
        assert!(ann.is_subset(&before) && before.len() > ann.len(), "{} {}", target.store, target.table);
        let id = policy(&app, &admin, &stores[target.store], &target).await;
        let (status, preview) =
            app.post(&format!("/v1/retention/policies/{id}/preview"), Some(&admin), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{preview}");
        let expected = (before.len() - ann.len()) as u64;
        assert_eq!(preview["rows"].as_u64(), Some(expected), "{} {}: {preview}", target.store, target.table);
        let done = run(&app, &admin, &id).await;
        assert_eq!((done["state"].as_str(), done["rows"].as_u64()), (Some("done"), Some(expected)), "{done}");
        assert_eq!(
            present(&company, &target).await,
            ann,
            "exactly Ann's rows stay in {} {}",
            target.store,
            target.table
        );
        policies.push((target, id, ann));
    }

    // The shop (through which the analytics events and the session keys are reached) is down:
    // the held rows cannot be known, so nothing is purged and the run says why.
    let (status, _) = app
        .put(
            &format!("/v1/stores/{}", stores["shop"]),
            &admin,
            json!({"connection": {"url": "postgres://127.0.0.1:5432/lethe_no_such_database"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (events, events_policy, ann_events) = policies.iter().find(|(t, _, _)| t.table == "events").unwrap();
    let failed = run(&app, &admin, events_policy).await;
    assert_eq!(
        (failed["state"].as_str(), failed["error_code"].as_str()),
        (Some("failed"), Some("legal_hold_unresolved"))
    );
    assert!(failed["error_message"].as_str().unwrap().contains("`shop`"), "{failed}");
    let (status, problem) =
        app.post(&format!("/v1/retention/policies/{events_policy}/preview"), Some(&admin), json!({})).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("legal_hold_unresolved")));
    assert_eq!(&present(&company, events).await, ann_events);
    let (status, _) = app
        .put(&format!("/v1/stores/{}", stores["shop"]), &admin, json!({"connection": {"url": company.shop_url}}))
        .await;
    assert_eq!(status, StatusCode::OK);

    // Released (all three holds): her rows go too.
    for hold in &holds {
        let (status, _) =
            app.post(&format!("/v1/holds/{hold}/release"), Some(&admin), json!({"reason": "Settled"})).await;
        assert_eq!(status, StatusCode::OK);
    }
    for (target, id, ann) in &policies {
        let done = run(&app, &admin, id).await;
        assert_eq!((done["state"].as_str(), done["rows"].as_u64()), (Some("done"), Some(ann.len() as u64)), "{done}");
        assert!(present(&company, target).await.is_empty(), "{} {}", target.store, target.table);
    }
    company.cleanup().await;
}
