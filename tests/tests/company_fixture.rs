//! The company fixture: two companies side by side are independent, hold what their expected
//! sets say, their data maps parse and validate, and clean-up removes everything.

use std::collections::BTreeSet;

use lethe_entities::datamap::parse::from_yaml;
use lethe_entities::datamap::validate::{Context, validate};
use lethe_entities::domain::enums::StoreKind;
use lethe_tests::company::{ANN_CUSTOMER_ID, BOB_CUSTOMER_ID, Company, Located, SHOP_FIDES_YAML, STORES};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

async fn texts(db: &DatabaseConnection, sql: &str) -> BTreeSet<String> {
    let statement = Statement::from_string(db.get_database_backend(), sql.to_owned());
    let rows = db.query_all_raw(statement).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter().map(|row| row.try_get::<String>("", "v").unwrap()).collect()
}

async fn count(db: &DatabaseConnection, table: &str) -> i64 {
    let statement = Statement::from_string(db.get_database_backend(), format!("SELECT COUNT(*) AS n FROM {table}"));
    db.query_one_raw(statement).await.unwrap().unwrap().try_get::<i64>("", "n").unwrap()
}

async fn redis(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap()
}

async fn keys(url: &str, prefix: &str) -> BTreeSet<String> {
    redis::cmd("KEYS").arg(format!("{prefix}*")).query_async(&mut redis(url).await).await.unwrap()
}

fn luhn(number: &str) -> bool {
    let sum: u32 = number
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = c.to_digit(10).unwrap() * if i % 2 == 1 { 2 } else { 1 };
            if d > 9 { d - 9 } else { d }
        })
        .sum();
    number.len() == 16 && sum.is_multiple_of(10)
}

/// What the stores hold for one customer, found with hand-written queries.
async fn held_by(company: &Company, customer: i64, emails: &[&str]) -> Located {
    let shop = Database::connect(&company.shop_url).await.unwrap();
    let crm = Database::connect(&company.crm_url).await.unwrap();
    let analytics = Database::connect(&company.analytics_url).await.unwrap();
    let lower: Vec<String> = emails.iter().map(|e| format!("'{}'", e.to_lowercase())).collect();
    let lower = lower.join(", ");
    let mut located = Located::new();
    let shop_queries = [
        ("customers", format!("SELECT id::text AS v FROM customers WHERE id = {customer}")),
        ("addresses", format!("SELECT id::text AS v FROM addresses WHERE customer_id = {customer}")),
        ("orders", format!("SELECT id::text AS v FROM orders WHERE customer_id = {customer}")),
        (
            "order_items",
            format!(
                "SELECT i.order_id || ',' || i.line_no AS v FROM order_items i JOIN orders o ON o.id = i.order_id \
                 WHERE o.customer_id = {customer}"
            ),
        ),
        (
            "payments",
            format!(
                "SELECT p.id::text AS v FROM payments p JOIN orders o ON o.id = p.order_id WHERE o.customer_id = {customer}"
            ),
        ),
        ("logins", format!("SELECT id::text AS v FROM logins WHERE customer_id = {customer}")),
        ("support_tickets", format!("SELECT id::text AS v FROM support_tickets WHERE customer_id = {customer}")),
        (
            "newsletter_subscribers",
            format!("SELECT id::text AS v FROM newsletter_subscribers WHERE lower(email) IN ({lower})"),
        ),
    ];
    let contacts = format!("SELECT id FROM contacts WHERE lower(email) IN ({lower}) OR shop_customer_id = {customer}");
    let crm_queries = [
        ("contacts", format!("SELECT CAST(id AS CHAR) AS v FROM ({contacts}) c")),
        ("notes", format!("SELECT CAST(id AS CHAR) AS v FROM notes WHERE contact_id IN ({contacts})")),
        (
            "consents",
            format!("SELECT CONCAT(contact_id, ',', purpose) AS v FROM consents WHERE contact_id IN ({contacts})"),
        ),
    ];
    let analytics_queries = [
        ("events", format!("SELECT CAST(id AS TEXT) AS v FROM events WHERE customer_id = {customer}")),
        ("page_views", format!("SELECT CAST(id AS TEXT) AS v FROM page_views WHERE customer_id = {customer}")),
    ];
    for (store, db, queries) in [
        ("shop", &shop, &shop_queries[..]),
        ("crm", &crm, &crm_queries[..]),
        ("analytics", &analytics, &analytics_queries[..]),
    ] {
        for (table, sql) in queries {
            let found = texts(db, sql).await;
            if !found.is_empty() {
                located.entry(store.to_owned()).or_default().insert((*table).to_owned(), found);
            }
        }
    }
    let prefix = &company.redis_prefix;
    let all_keys = keys(&company.redis_url, prefix).await;
    let session = format!("{prefix}session:{customer}");
    if all_keys.contains(&session) {
        located.entry("cache".into()).or_default().insert(format!("{prefix}session:{{customer_id}}"), [session].into());
    }
    for email in emails {
        let cart = format!("{prefix}cart:{}", email.to_lowercase());
        if all_keys.contains(&cart) {
            located
                .entry("cache".into())
                .or_default()
                .entry(format!("{prefix}cart:{{email}}"))
                .or_default()
                .insert(cart);
        }
    }
    for db in [shop, crm, analytics] {
        db.close().await.unwrap();
    }
    located
}

async fn check(company: &Company) {
    let ann_emails: Vec<&str> = company.ann.emails.iter().map(String::as_str).collect();
    assert_eq!(ann_emails, ["ann@example.com", "Ann.Other@Example.ORG"]);
    assert_eq!(company.ann.customer_id, ANN_CUSTOMER_ID);
    assert_eq!(held_by(company, ANN_CUSTOMER_ID, &ann_emails).await, company.ann.located);
    assert_eq!(held_by(company, BOB_CUSTOMER_ID, &["bob@example.com"]).await, company.bob.located);

    let ann = &company.ann.located;
    let sizes = |store: &str, table: &str| ann[store][table].len();
    assert_eq!(
        [sizes("shop", "addresses"), sizes("shop", "orders"), sizes("shop", "order_items"), sizes("shop", "logins")],
        [2, 3, 7, 4]
    );
    assert_eq!(ann["shop"]["newsletter_subscribers"].len(), 1);
    assert_eq!(ann["crm"]["contacts"].len(), 2);
    assert_eq!(ann["cache"].values().map(BTreeSet::len).sum::<usize>(), 2);
    for (store, tables) in ann {
        for (table, keys) in tables {
            let bob = company.bob.located.get(store).and_then(|t| t.get(table));
            assert!(bob.is_none_or(|bob| bob.is_disjoint(keys)), "{store}.{table} shared by Ann and Bob");
        }
    }

    let shop = Database::connect(&company.shop_url).await.unwrap();
    assert_eq!(count(&shop, "customers").await, 22);
    assert_eq!(count(&shop, "employees").await, 5);
    assert!(count(&shop, "order_items").await > 30);
    for card in texts(&shop, "SELECT card_number AS v FROM payments").await {
        assert!(luhn(&card), "{card} fails the Luhn check");
    }
    let upper = texts(
        &shop,
        &format!("SELECT email AS v FROM newsletter_subscribers WHERE id = {}", {
            ann["shop"]["newsletter_subscribers"].first().unwrap()
        }),
    )
    .await;
    assert_eq!(upper, ["ANN.OTHER@EXAMPLE.ORG".to_owned()].into());
    shop.close().await.unwrap();

    let crm = Database::connect(&company.crm_url).await.unwrap();
    assert_eq!(count(&crm, "contacts").await, 14);
    crm.close().await.unwrap();
    let analytics = Database::connect(&company.analytics_url).await.unwrap();
    assert!(count(&analytics, "events").await > 30);
    analytics.close().await.unwrap();
    assert_eq!(keys(&company.redis_url, &company.redis_prefix).await.len(), 12);

    let others = |me: &str| STORES.iter().filter(|s| **s != me).map(|s| (*s).to_owned()).collect::<Vec<_>>();
    for (store, kind) in [
        ("shop", StoreKind::Postgres),
        ("crm", StoreKind::Mysql),
        ("analytics", StoreKind::Sqlite),
        ("cache", StoreKind::Redis),
    ] {
        let text = company.data_map(store);
        let (map, _) = from_yaml(&text).unwrap_or_else(|e| panic!("{store}: {e:?}"));
        let other_stores = others(store);
        let errors = validate(&map, Context { kind, other_stores: &other_stores });
        assert!(errors.is_empty(), "{store}: {errors:?}");
        for table in ann.get(store).into_iter().flat_map(|t| t.keys()) {
            let mapped = map.table(table).is_some() || map.keys.iter().any(|k| &k.pattern == table);
            assert!(mapped, "{store}: {table} is located but not mapped");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_companies_stand_side_by_side_and_clean_up() {
    let (one, two) = tokio::join!(Company::create(), Company::create());
    assert_ne!(one.shop_url, two.shop_url);
    assert_ne!(one.crm_url, two.crm_url);
    assert_ne!(one.analytics_url, two.analytics_url);
    assert_ne!(one.redis_prefix, two.redis_prefix);
    tokio::join!(check(&one), check(&two));

    // A change in one company is not seen in the other.
    let shop = Database::connect(&one.shop_url).await.unwrap();
    shop.execute_unprepared("DELETE FROM newsletter_subscribers").await.unwrap();
    shop.close().await.unwrap();
    let cart = format!("{}cart:ann@example.com", one.redis_prefix);
    redis::cmd("DEL").arg(&cart).query_async::<()>(&mut redis(&one.redis_url).await).await.unwrap();
    let shop = Database::connect(&two.shop_url).await.unwrap();
    assert_eq!(count(&shop, "newsletter_subscribers").await, 8);
    shop.close().await.unwrap();
    assert_eq!(keys(&two.redis_url, &two.redis_prefix).await.len(), 12);

    // The fideslang form of the shop is YAML naming the same dataset.
    assert!(SHOP_FIDES_YAML.contains("fides_key: shop") && SHOP_FIDES_YAML.contains("identity: email"));
    // The cache map as written carries the placeholder; the company's has its prefix.
    assert!(lethe_tests::company::CACHE_YAML.contains("${prefix}session:{customer_id}"));
    assert!(one.data_map("cache").contains(&format!("{}session:{{customer_id}}", one.redis_prefix)));

    let (shop_url, redis_url, prefix) = (one.shop_url.clone(), one.redis_url.clone(), one.redis_prefix.clone());
    let analytics_file = one.analytics_url.trim_start_matches("sqlite://").trim_end_matches("?mode=rwc").to_owned();
    tokio::join!(one.cleanup(), two.cleanup());
    assert!(Database::connect(&shop_url).await.is_err(), "the shop database is dropped");
    assert!(keys(&redis_url, &prefix).await.is_empty(), "the cache keys are deleted");
    assert!(!std::path::Path::new(&analytics_file).exists(), "the analytics file is removed");
}
