//! Registered stores against real databases: a company with a PostgreSQL shop, a MariaDB CRM,
//! a SQLite analytics file and Redis sessions and carts (`lethe_tests::company`), plus an HTTP
//! service and a manual store. Registration, connection tests, discovery, data maps (YAML and
//! Fides), preview, and locating a verified request's data with per-store results.

use std::collections::{BTreeMap, BTreeSet};

use lethe_api::engine::Mode;
use lethe_entities::domain::enums::Role;
use lethe_tests::app::{Backend, TestApp, org_slug, spawn_app, spawn_app_with};
use lethe_tests::company::Company;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Registers a store and returns its id.
async fn register(app: &TestApp, token: &str, body: Value) -> String {
    let (status, store) = app.post("/v1/stores", Some(token), body).await;
    assert_eq!(status, StatusCode::CREATED, "{store}");
    store["id"].as_str().unwrap().to_owned()
}

async fn put(app: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let response = app.http.put(app.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A signed-ping HTTP service on loopback, checking Lethe's signature like a real one would.
async fn http_service(secret: &'static str) -> String {
    use axum::http::HeaderMap;
    async fn ping(headers: HeaderMap, body: axum::body::Bytes, secret: &'static str) -> StatusCode {
        let ts = headers.get("lethe-timestamp").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        let sig = headers.get("lethe-signature").and_then(|v| v.to_str().ok());
        match (ts, sig) {
            (Some(ts), Some(sig)) if lethe_worker::stores::http::verify(secret, ts, &body, sig) => StatusCode::OK,
            _ => StatusCode::UNAUTHORIZED,
        }
    }
    let router = axum::Router::new().route("/lethe/ping", axum::routing::post(move |h, b| ping(h, b, secret)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

/// Registers the company's four automated stores with their maps, plus an HTTP service and a
/// manual store. Returns store name -> id.
async fn register_company(app: &TestApp, token: &str, company: &Company) -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    for (name, kind, url) in [
        ("shop", "postgres", &company.shop_url),
        ("crm", "mysql", &company.crm_url),
        ("analytics", "sqlite", &company.analytics_url),
        ("cache", "redis", &company.redis_url),
    ] {
        let id = register(app, token, json!({ "name": name, "kind": kind, "connection": { "url": url } })).await;
        ids.insert(name.to_owned(), id);
    }
    let billing = http_service("a shared secret of the billing api").await;
    let id = register(
        app,
        token,
        json!({ "name": "billing-api", "kind": "http",
                "connection": { "base_url": billing, "signing_secret": "a shared secret of the billing api" } }),
    )
    .await;
    ids.insert("billing-api".into(), id);
    let id = register(
        app,
        token,
        json!({ "name": "paper-archive", "kind": "manual", "instructions": "Find the folder in cabinet 3 and shred it." }),
    )
    .await;
    ids.insert("paper-archive".into(), id);
    for name in ["shop", "crm", "analytics", "cache"] {
        let (status, saved) =
            put(app, token, &format!("/v1/stores/{}/datamap", ids[name]), json!({ "yaml": company.data_map(name) }))
                .await;
        assert_eq!(status, StatusCode::OK, "{name}: {saved}");
        assert_eq!(saved["store"]["data_map_version"], 1);
    }
    ids
}

/// Keys per store and table from a preview with values.
fn keys_of(preview: &Value) -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let mut out: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let all = std::iter::once(&preview["store"]).chain(preview["others"].as_array().unwrap());
    for store in all {
        let Some(rows) = store["rows"].as_object() else { continue };
        for (table, rows) in rows {
            let keys: BTreeSet<String> =
                rows.as_array().unwrap().iter().map(|r| r["key"].as_str().unwrap().to_owned()).collect();
            if !keys.is_empty() {
                out.entry(store["store"].as_str().unwrap().to_owned()).or_default().insert(table.clone(), keys);
            }
        }
    }
    out
}

fn counts_of(preview: &Value) -> BTreeMap<String, BTreeMap<String, u64>> {
    std::iter::once(&preview["store"])
        .chain(preview["others"].as_array().unwrap())
        .filter(|s| s["status"] == "located")
        .map(|s| {
            let counts =
                s["counts"].as_object().unwrap().iter().map(|(t, n)| (t.clone(), n.as_u64().unwrap())).collect();
            (s["store"].as_str().unwrap().to_owned(), counts)
        })
        .collect()
}

async fn preview(app: &TestApp, token: &str, store: &str, emails: &[String], values: bool) -> Value {
    let identities: Vec<Value> = emails.iter().map(|e| json!({ "kind": "email", "value": e })).collect();
    let (status, body) = app
        .post(
            &format!("/v1/stores/{store}/preview"),
            Some(token),
            json!({ "identities": identities, "include_values": values }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_with_two_emails_is_found_in_every_store_and_nobody_else_is() {
    let (app, company) = tokio::join!(spawn_app(Backend::Sqlite), Company::create());
    let org = org_slug();
    let admin = app.admin(&org).await;
    let ids = register_company(&app, &admin, &company).await;

    for (name, id) in &ids {
        let (status, result) = app.post(&format!("/v1/stores/{id}/test"), Some(&admin), json!({})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(result["ok"], true, "{name}: {result}");
    }

    let found = preview(&app, &admin, &ids["shop"], &company.ann.emails, true).await;
    assert_eq!(keys_of(&found), company.ann.located, "exactly Ann's rows and keys, in every store");
    let counts = counts_of(&found);
    assert_eq!(counts["shop"]["employees"], 0, "the employee who served her is never pulled in");
    assert_eq!(found["others"].as_array().unwrap().iter().filter(|s| s["status"] == "waiting").count(), 2);
    assert!(found["hops"].as_u64().unwrap() < 10, "the customers <-> orders cycle terminates: {}", found["hops"]);

    // Bob is found as himself, and none of Ann's rows come with him.
    let bob = preview(&app, &admin, &ids["shop"], &company.bob.emails, true).await;
    assert_eq!(keys_of(&bob), company.bob.located);

    // Counts only, without values, for an auditor: refused; an operator may preview.
    let auditor = app.operator_in(&org, "auditor@t.test", Role::Auditor).await;
    let (status, _) = app
        .post(
            &format!("/v1/stores/{}/preview", ids["shop"]),
            Some(&auditor),
            json!({ "identities": [{ "kind": "email", "value": "x@y.io" }] }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    company.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_proposes_identities_references_and_patterns() {
    let (app, company) = tokio::join!(spawn_app(Backend::Sqlite), Company::create());
    let admin = app.admin(&org_slug()).await;
    let ids = register_company(&app, &admin, &company).await;
    // The databases' own comments become the labels the person reads (a long one does not).
    let comments = [
        (&company.shop_url, "COMMENT ON TABLE customers IS 'Customer accounts'"),
        (&company.shop_url, "COMMENT ON COLUMN customers.email IS '  E-mail\n address '"),
        (&company.shop_url, "COMMENT ON COLUMN customers.name IS ''"),
        (&company.crm_url, "ALTER TABLE contacts COMMENT = 'People we are in touch with'"),
        (&company.crm_url, "ALTER TABLE contacts MODIFY email VARCHAR(255) NOT NULL COMMENT 'Their e-mail'"),
    ];
    for (url, sql) in comments {
        sea_orm::ConnectionTrait::execute_unprepared(&sea_orm::Database::connect(url.as_str()).await.unwrap(), sql)
            .await
            .unwrap();
    }
    let long = format!("COMMENT ON COLUMN customers.phone IS '{}'", "x".repeat(201));
    let shop_db = sea_orm::Database::connect(company.shop_url.as_str()).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(&shop_db, &long).await.unwrap();

    let (status, shop) = app.post(&format!("/v1/stores/{}/discover", ids["shop"]), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{shop}");
    let table =
        |name: &str| shop["map"]["tables"].as_array().unwrap().iter().find(|t| t["name"] == name).cloned().unwrap();
    let identity = |t: &Value, c: &str| {
        t["columns"].as_array().unwrap().iter().find(|x| x["name"] == c).map(|x| x["identity"].clone())
    };
    assert_eq!(identity(&table("customers"), "email"), Some(json!("email")));
    let label =
        |t: &Value, c: &str| t["columns"].as_array().unwrap().iter().find(|x| x["name"] == c).unwrap()["label"].clone();
    assert_eq!(table("customers")["label"], "Customer accounts");
    assert_eq!(label(&table("customers"), "email"), "E-mail address");
    assert_eq!(label(&table("customers"), "phone"), Value::Null, "a comment too long for a label");
    assert_eq!(identity(&table("newsletter_subscribers"), "email"), Some(json!("email")));
    let direction = |t: &str, c: &str| {
        table(t)["references"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["column"] == c)
            .map(|r| r["direction"].clone())
            .unwrap()
    };
    assert_eq!(direction("orders", "customer_id"), "from");
    assert_eq!(direction("order_items", "order_id"), "from");
    assert_eq!(direction("customers", "support_rep_id"), "none", "an employee is another person");
    assert_eq!(direction("employees", "manager_id"), "none", "self-references point at others");
    assert_eq!(direction("customers", "referred_by"), "none");
    let payments = table("payments");
    let card = payments["columns"].as_array().unwrap().iter().find(|c| c["name"] == "card_number").unwrap();
    assert_eq!(card["category"], "user.financial.credit_card");
    // Many customers' order items point at one product: the catalogue is shared, nobody's.
    assert_eq!(table("products")["columns"], Value::Null, "no column of a shared table is proposed");
    assert_eq!(direction("order_items", "product_id"), "none");
    assert!(shop["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().starts_with("`products` is shared")));
    // The fixture indexes every lookup column but the employees' e-mail addresses.
    assert_eq!(shop["missing_indexes"], json!(["employees: lower(email)"]));
    let text = shop.to_string();
    assert!(!text.contains("ann@example.com") && !text.contains("4000"), "no sampled value is returned");

    let (status, crm) = app.post(&format!("/v1/stores/{}/discover", ids["crm"]), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{crm}");
    let contacts = crm["map"]["tables"].as_array().unwrap().iter().find(|t| t["name"] == "contacts").unwrap();
    assert_eq!(contacts["label"], "People we are in touch with");
    assert_eq!(label(contacts, "email"), "Their e-mail");
    assert!(contacts["columns"].as_array().unwrap().iter().any(|c| c["name"] == "email" && c["identity"] == "email"));
    let notes = crm["map"]["tables"].as_array().unwrap().iter().find(|t| t["name"] == "notes").unwrap();
    assert_eq!(notes["references"][0]["direction"], "from");

    let (status, analytics) =
        app.post(&format!("/v1/stores/{}/discover", ids["analytics"]), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{analytics}");
    assert!(analytics["map"]["tables"].as_array().unwrap().iter().any(|t| t["name"] == "page_views"));

    let (status, cache) = app.post(&format!("/v1/stores/{}/discover", ids["cache"]), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{cache}");
    let patterns: Vec<&str> =
        cache["map"]["keys"].as_array().unwrap().iter().map(|k| k["pattern"].as_str().unwrap()).collect();
    let prefix = &company.redis_prefix;
    assert!(patterns.contains(&format!("{prefix}session:{{id}}").as_str()), "{patterns:?}");
    assert!(patterns.contains(&format!("{prefix}cart:{{email}}").as_str()), "{patterns:?}");

    // Discovery is a proposal: the saved map is unchanged until saved.
    let (_, store) = app.get(&format!("/v1/stores/{}", ids["shop"]), Some(&admin)).await;
    assert_eq!(store["data_map_version"], 1);
    assert!(store["proposed_map"]["tables"].is_array());
    let (status, _) = app.post(&format!("/v1/stores/{}/discover", ids["paper-archive"]), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    company.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fides_dataset_imports_and_locates_the_same_rows() {
    let (app, company) = tokio::join!(spawn_app(Backend::Sqlite), Company::create());
    let admin = app.admin(&org_slug()).await;
    let shop = register(
        &app,
        &admin,
        json!({ "name": "shop", "kind": "postgres", "connection": { "url": company.shop_url } }),
    )
    .await;
    let (status, saved) =
        put(&app, &admin, &format!("/v1/stores/{shop}/datamap"), json!({ "yaml": company.data_map("shop") })).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let by_hand = counts_of(&preview(&app, &admin, &shop, &company.ann.emails, false).await);

    let (status, imported) = app
        .post(
            &format!("/v1/stores/{shop}/datamap/fides"),
            Some(&admin),
            json!({ "yaml": lethe_tests::company::SHOP_FIDES_YAML, "save": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{imported}");
    assert_eq!(imported["fides_key"], "shop");
    assert_eq!(imported["store"]["data_map_version"], 2);
    // Fides gives every field null; the import chose what the live columns take, and says so.
    let warnings: Vec<&str> = imported["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    for chosen in [
        "customers.email: `email` is NOT NULL text, so null would be refused; redact (`[redacted]`) instead",
        "addresses.street: `street` is NOT NULL text, so null would be refused; redact (`[redacted]`) instead",
        "orders.placed_at: `placed_at` is NOT NULL timestamp with time zone, so no action can clear it",
        "logins: no column can be cleared in place, so erasure deletes its located rows",
    ] {
        assert!(warnings.iter().any(|w| w.starts_with(chosen)), "{chosen}: {warnings:?}");
    }
    let (_, store) = app.get(&format!("/v1/stores/{shop}"), Some(&admin)).await;
    let customers = &store["data_map"]["tables"][0];
    assert_eq!(
        (customers["name"].as_str(), customers["erasure"]["action"].as_str()),
        (Some("customers"), Some("update"))
    );
    let email = customers["columns"].as_array().unwrap().iter().find(|c| c["name"] == "email").unwrap();
    assert_eq!(email["action"], "redact", "{customers}");
    let from_fides = counts_of(&preview(&app, &admin, &shop, &company.ann.emails, false).await);
    assert_eq!(
        from_fides["shop"].iter().filter(|(_, n)| **n > 0).collect::<Vec<_>>(),
        by_hand["shop"].iter().filter(|(_, n)| **n > 0).collect::<Vec<_>>()
    );
    company.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_data_maps_are_refused_with_precise_errors() {
    let (app, company) = tokio::join!(spawn_app(Backend::Sqlite), Company::create());
    let admin = app.admin(&org_slug()).await;
    let shop = register(
        &app,
        &admin,
        json!({ "name": "shop", "kind": "postgres", "connection": { "url": company.shop_url } }),
    )
    .await;
    let path = format!("/v1/stores/{shop}/datamap");
    let error = |body: &Value| -> (String, String) {
        let e = &body["errors"][0];
        (e["field"].as_str().unwrap_or_default().to_owned(), e["message"].as_str().unwrap_or_default().to_owned())
    };

    // A column the live table does not have: the error lists the columns it has.
    let yaml = "version: 1\ntables:\n  - name: customers\n    primary_key: [id]\n    columns:\n      - { name: mail, identity: email }\n";
    let (status, body) = put(&app, &admin, &path, json!({ "yaml": yaml })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "invalid_data_map");
    let (field, message) = error(&body);
    assert_eq!(field, "tables[0].columns[0].name");
    assert!(
        message.contains("line 6") && message.contains("no column `mail`") && message.contains("email"),
        "{message}"
    );

    // An unknown table lists the tables.
    let (status, body) = put(
        &app,
        &admin,
        &path,
        json!({ "map": { "version": 1, "tables": [{ "name": "clients", "primary_key": ["id"] }] } }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error(&body).1.contains("customers"), "{body}");

    // Syntax and type errors carry their line.
    let (_, body) = put(&app, &admin, &path, json!({ "yaml": "version: 1\ntables:\n  - name: customers\n    primary_key: [id]\n    erasure: { action: shred }\n" })).await;
    assert!(error(&body).1.starts_with("line 5"), "{body}");
    let (_, body) = put(&app, &admin, &path, json!({ "yaml": "version: 1\ntables: [\n" })).await;
    assert!(error(&body).1.starts_with("line"), "{body}");

    // Structure: an unknown identity kind, a reference to a store that does not exist, a keep
    // without a legal basis.
    let yaml = "version: 1\ntables:\n  - name: customers\n    primary_key: [id]\n    columns: [{ name: email, identity: passport }]\n";
    let (status, body) = put(&app, &admin, &path, json!({ "yaml": yaml })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error(&body).1.contains("line 5"), "{body}");
    let map = json!({ "version": 1, "tables": [{ "name": "orders", "primary_key": ["id"],
        "references": [{ "column": "customer_id", "target": { "store": "billing", "table": "c", "column": "id" }, "direction": "from" }],
        "erasure": { "action": "keep", "basis": "", "period": "ten years" } }] });
    let (_, body) = put(&app, &admin, &path, json!({ "map": map })).await;
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(
        fields,
        ["tables[0].erasure.basis", "tables[0].erasure.period", "tables[0].references[0].target.store"],
        "{body}"
    );

    // Nothing was saved.
    let (_, store) = app.get(&format!("/v1/stores/{shop}"), Some(&admin)).await;
    assert_eq!(store["data_map_version"], 0);
    assert!(store["data_map"].is_null());

    // A valid map is saved, with warnings for lookups no index serves and tables no identity
    // reaches (the shop's own map has only the latter: employees and products). Addresses,
    // orders, logins and tickets refer to customers and are not mapped, so the customers' rows
    // are kept with their personal columns cleared (deleting them would be refused).
    let yaml = "version: 1\ntables:\n  - name: customers\n    primary_key: [id]\n    columns: [{ name: name, identity: customer_id, action: \"null\" }]\n    erasure: { action: update }\n  - name: products\n    primary_key: [id]\n";
    let (status, saved) = put(&app, &admin, &path, json!({ "yaml": yaml })).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let warnings: Vec<&str> = saved["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    assert_eq!(
        warnings,
        [
            "no index serves lookups on customers: name",
            "`products` is not reachable from any identity column or reference: locating never finds its rows",
        ]
    );
    let (status, saved) = put(&app, &admin, &path, json!({ "yaml": company.data_map("shop") })).await;
    assert_eq!(status, StatusCode::OK);
    let warnings: Vec<&str> = saved["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    assert!(warnings.iter().all(|w| !w.starts_with("no index")), "{warnings:?}");
    assert_eq!(warnings.len(), 2, "employees and products are mapped only as targets: {warnings:?}");
    company.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_secrets_are_encrypted_and_never_returned() {
    let app = spawn_app(Backend::Sqlite).await;
    let admin = app.admin(&org_slug()).await;
    let url = "postgres://shop_user:Sup3r-Secret-PW@127.0.0.1:5432/test";
    let id = register(&app, &admin, json!({ "name": "shop", "kind": "postgres", "connection": { "url": url } })).await;
    let (_, one) = app.get(&format!("/v1/stores/{id}"), Some(&admin)).await;
    let (_, all) = app.get("/v1/stores", Some(&admin)).await;
    for body in [one.to_string(), all.to_string()] {
        assert!(!body.contains("Sup3r-Secret-PW") && !body.contains("shop_user"), "{body}");
    }
    assert_eq!(one["location"], "postgres://127.0.0.1:5432/test");
    use sea_orm::{ConnectionTrait, Statement};
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT connection_ciphertext FROM stores",
        ))
        .await
        .unwrap();
    let blob: Vec<u8> = rows[0].try_get("", "connection_ciphertext").unwrap();
    assert!(!String::from_utf8_lossy(&blob).contains("Sup3r"));

    // Bad registrations: each field named.
    let (status, body) = app
        .post(
            "/v1/stores",
            Some(&admin),
            json!({ "name": "Bad Name", "kind": "mysql", "connection": { "url": "postgres://x/y" } }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "connection.url"]);
    let (status, _) = app
        .post("/v1/stores", Some(&admin), json!({ "name": "shop", "kind": "postgres", "connection": { "url": url } }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = app.post("/v1/stores", Some(&admin), json!({ "name": "m", "kind": "manual" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "manual stores need instructions");

    // Wrong credentials and a closed port: clear codes, no secrets in the message.
    let (status, result) = app.post(&format!("/v1/stores/{id}/test"), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(result["ok"], false);
    assert_eq!(result["code"], "store_auth_failed", "{result}");
    let (status, _) = put(
        &app,
        &admin,
        &format!("/v1/stores/{id}"),
        json!({ "connection": { "url": "postgres://u:Sup3r-Secret-PW@127.0.0.1:1/x" } }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, result) = app.post(&format!("/v1/stores/{id}/test"), Some(&admin), json!({})).await;
    assert_eq!(result["code"], "store_unreachable", "{result}");
    assert!(!result.to_string().contains("Sup3r"));
    let (status, _) = app.post(&format!("/v1/stores/{id}/discover"), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_request_records_per_store_results_and_a_down_store_says_why() {
    let (app, company) = tokio::join!(spawn_app_with(Backend::Postgres, Mode::All, |_| {}), Company::create());
    let org = org_slug();
    let admin = app.admin(&org).await;
    let ids = register_company(&app, &admin, &company).await;
    let expected = counts_of(&preview(&app, &admin, &ids["shop"], &company.ann.emails[..1], false).await);

    // An objection is worked by operators: its tasks stay as locating left them (an erasure or
    // an access request would go on to erase or export at once).
    let req = app.verified(&org, "objection", "gdpr", &company.ann.emails[0]).await;
    let (status, _) = app.post(&format!("/v1/requests/{}/approve", req.id), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    app.wait_for_state(&req.id, &admin, "in_progress").await;
    let tasks = wait_for_tasks(&app, &admin, &req.id).await;
    let by_store: BTreeMap<&str, &Value> = tasks.iter().map(|t| (t["store"].as_str().unwrap(), t)).collect();
    for store in ["shop", "crm", "analytics", "cache"] {
        assert_eq!(by_store[store]["status"], "located", "{store}: {}", by_store[store]);
        let counts: BTreeMap<String, u64> = serde_json::from_value(by_store[store]["counts"].clone()).unwrap();
        assert_eq!(counts, expected[store], "{store}");
    }
    assert_eq!(by_store["billing-api"]["status"], "waiting");
    assert_eq!(by_store["paper-archive"]["status"], "waiting");
    let (_, detail) = app.get(&format!("/v1/requests/{}", req.id), Some(&admin)).await;
    let located: Vec<&Value> =
        detail["timeline"].as_array().unwrap().iter().filter(|e| e["kind"] == "store_located").collect();
    assert_eq!(located.len(), 4, "{detail}");
    assert!(!detail["timeline"].to_string().contains("example.com"), "no identity on the timeline");

    // The CRM goes down; locating again reports it per store and keeps the others.
    let (status, _) = put(
        &app,
        &admin,
        &format!("/v1/stores/{}", ids["crm"]),
        json!({ "connection": { "url": "mysql://root@127.0.0.1:1/nowhere" } }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let req2 = app.verified(&org, "objection", "gdpr", &company.bob.emails[0]).await;
    app.post(&format!("/v1/requests/{}/approve", req2.id), Some(&admin), json!({})).await;
    let tasks = wait_for_tasks(&app, &admin, &req2.id).await;
    let crm = tasks.iter().find(|t| t["store"] == "crm").unwrap();
    assert_eq!(crm["status"], "failed");
    assert_eq!(crm["error_code"], "store_unreachable", "{crm}");
    assert_eq!(tasks.iter().find(|t| t["store"] == "shop").unwrap()["status"], "located");
    let (_, detail) = app.get(&format!("/v1/requests/{}", req2.id), Some(&admin)).await;
    let failed = detail["timeline"].as_array().unwrap().iter().find(|e| e["kind"] == "store_failed").cloned().unwrap();
    assert_eq!(failed["detail"]["code"], "store_unreachable");

    // A store failed for good: the request fails, with the store's code.
    app.wait_for_state(&req2.id, &admin, "failed").await;

    // Fixed: the retry locates only the failed store again.
    put(&app, &admin, &format!("/v1/stores/{}", ids["crm"]), json!({ "connection": { "url": company.crm_url } })).await;
    let (status, _) = app.post(&format!("/v1/requests/{}/retry", req2.id), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, tasks) = app.get(&format!("/v1/requests/{}/tasks", req2.id), Some(&admin)).await;
        let crm = tasks.as_array().unwrap().iter().find(|t| t["store"] == "crm").cloned().unwrap();
        if crm["status"] == "located" {
            assert!(crm["total_rows"].as_i64().unwrap() > 0);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "crm not located again: {crm}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    company.cleanup().await;
}

async fn wait_for_tasks(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    // A store that is down is tried 3 times (the test settings), each connection attempt for up
    // to the store pool's 10-second timeout.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let (status, tasks) = app.get(&format!("/v1/requests/{id}/tasks"), Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{tasks}");
        let tasks = tasks.as_array().cloned().unwrap_or_default();
        if !tasks.is_empty() && tasks.iter().all(|t| t["status"] != "pending") {
            return tasks;
        }
        assert!(std::time::Instant::now() < deadline, "tasks still pending: {tasks:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
