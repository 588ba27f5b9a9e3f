//! A small company whose personal data is spread over four stores, fresh for every test.
//!
//! [`Company::create`] makes, per call, an isolated set of stores and fills them with known,
//! deterministic data:
//!
//! * `shop`: a new PostgreSQL database `lethe_shop_<unix secs>_<12 hex>` (customers, orders,
//!   order items, payments, logins, support tickets, a newsletter list, employees, products);
//! * `crm`: a new MariaDB database `lethe_crm_<unix secs>_<12 hex>` (contacts, notes, consents);
//! * `analytics`: a SQLite file in a temporary directory the company owns (events, page views);
//! * `cache`: Redis keys under a per-company prefix `t<12 hex>:` (sessions, carts).
//!
//! The data subject is Ann ([`Company::ann`]); Bob ([`Company::bob`]) is another customer who
//! must never be located for her (he referred her, and Eve, an employee, serves both). About
//! twenty more customers with their own rows make "not found" meaningful. Each [`Person`]
//! carries the primary keys locating must find for them, per store and table.
//!
//! The hand-written data maps are in `tests/fixtures/company/` ([`Company::data_map`] returns
//! them with this company's Redis prefix filled in); `shop.fides.yaml` is the shop as a
//! fideslang dataset ([`SHOP_FIDES_YAML`]).
//!
//! Clean-up: call [`Company::cleanup`] at the end of a test to drop the databases and delete the
//! Redis keys (errors are reported). If a company is dropped without it (a failing test), its
//! stores are removed on drop, best-effort, on a separate thread with its own runtime (so it
//! works inside `#[tokio::test]` of either flavour). Databases of earlier runs older than an
//! hour are dropped whenever a company is created, and the Redis keys expire after
//! [`KEY_TTL_SECS`], so even a killed test process leaves nothing behind for long.

mod analytics;
mod cache;
mod crm;
mod people;
mod shop;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::json;

use crate::app::TestApp;

/// Located primary keys: store name → table (or, for Redis, key pattern as written in the data
/// map) → primary keys as text. Composite keys are joined with `,` in primary-key column order
/// (`"1001,2"` for `order_items(order_id, line_no)`); Redis "keys" are the full keys. Only
/// tables with at least one located row appear.
pub type Located = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// The store names, as the data maps' cross-store references use them.
pub const STORES: [&str; 4] = ["shop", "crm", "analytics", "cache"];

/// Ann's e-mail address in the shop.
pub const ANN_EMAIL: &str = "ann@example.com";
/// Ann's second address, as she typed it: in the newsletter list (upper-cased) and the CRM.
pub const ANN_OTHER_EMAIL: &str = "Ann.Other@Example.ORG";
/// Ann's phone number (E.164), in `customers.phone`.
pub const ANN_PHONE: &str = "+46701234567";
/// Ann's `customers.id`.
pub const ANN_CUSTOMER_ID: i64 = 101;
/// Bob's e-mail address.
pub const BOB_EMAIL: &str = "bob@example.com";
/// Bob's phone number (E.164).
pub const BOB_PHONE: &str = "+46709876543";
/// Bob's `customers.id`; he referred Ann (`customers.referred_by`).
pub const BOB_CUSTOMER_ID: i64 = 102;
/// Eve's `employees.id`: support representative of Ann and Bob, assigned their tickets.
/// The chain is Carol (1) ← Dave (2) ← Eve (3) ← Grace (5), and Frank (4) reports to Dave.
pub const EVE_EMPLOYEE_ID: i32 = 3;
/// How long the Redis keys live (a safety net for killed test processes).
pub const KEY_TTL_SECS: u64 = 2 * 3600;

/// The shop's data map as written (PostgreSQL).
pub const SHOP_YAML: &str = include_str!("../../fixtures/company/shop.yaml");
/// The CRM's data map as written (MariaDB).
pub const CRM_YAML: &str = include_str!("../../fixtures/company/crm.yaml");
/// The analytics data map as written (SQLite).
pub const ANALYTICS_YAML: &str = include_str!("../../fixtures/company/analytics.yaml");
/// The cache's data map as written (Redis), with the literal placeholder `${prefix}`.
pub const CACHE_YAML: &str = include_str!("../../fixtures/company/cache.yaml");
/// The shop as a fideslang dataset, equivalent to [`SHOP_YAML`] for locating.
pub const SHOP_FIDES_YAML: &str = include_str!("../../fixtures/company/shop.fides.yaml");

/// One person of the company and what locating must find for them.
#[derive(Debug, Clone)]
pub struct Person {
    /// `customers.id` in the shop.
    pub customer_id: i64,
    /// The e-mail addresses the person gives as identities, as they write them.
    pub emails: Vec<String>,
    /// Phone number (E.164).
    pub phone: String,
    /// Full name.
    pub name: String,
    /// Every row and key of this person, in every store.
    pub located: Located,
}

/// A company with its four stores, filled. See the module documentation.
pub struct Company {
    /// PostgreSQL URL of the `shop` database.
    pub shop_url: String,
    /// MariaDB URL of the `crm` database.
    pub crm_url: String,
    /// sea-orm URL of the `analytics` SQLite file (`sqlite://<path>?mode=rwc`).
    pub analytics_url: String,
    /// Redis URL of the `cache` store.
    pub redis_url: String,
    /// This company's key prefix in Redis (`t<12 hex>:`).
    pub redis_prefix: String,
    /// The data subject.
    pub ann: Person,
    /// Another customer: nothing of his may be located for Ann.
    pub bob: Person,
    stores: Stores,
    _dir: tempfile::TempDir,
}

impl Company {
    /// Creates fresh stores and fills them. Panics, naming the service, when one is down.
    pub async fn create() -> Company {
        let token = || uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let secs = time::OffsetDateTime::now_utc().unix_timestamp();
        let dir = tempfile::tempdir().expect("temporary directory");
        let stores = Stores {
            shop_db: format!("lethe_shop_{secs}_{}", token()),
            crm_db: format!("lethe_crm_{secs}_{}", token()),
            redis_url: cache::server_url(),
            redis_prefix: format!("t{}:", token()),
            armed: true,
        };
        let customers = people::customers();
        let mut owners = people::Owners::default();
        let shop_seed = shop::seed(&customers, &mut owners);
        let crm_seed = crm::seed(&customers, &mut owners);
        let analytics_seed = analytics::seed(&customers, &mut owners);
        let cache_seed = cache::seed(&customers, &stores.redis_prefix, &mut owners);
        let analytics_url = format!("sqlite://{}?mode=rwc", dir.path().join("analytics.db").display());
        let (shop_url, crm_url, (), ()) = tokio::join!(
            shop::create(&stores.shop_db, &shop_seed),
            crm::create(&stores.crm_db, &crm_seed),
            analytics::create(&analytics_url, &analytics_seed),
            cache::create(&stores.redis_url, &cache_seed),
        );
        let person = |id: i64, emails: &[&str], phone: &str, name: &str, located: Located| Person {
            customer_id: id,
            emails: emails.iter().map(|e| (*e).to_owned()).collect(),
            phone: phone.to_owned(),
            name: name.to_owned(),
            located,
        };
        let people::Owners { ann, bob } = owners;
        let ann = person(ANN_CUSTOMER_ID, &[ANN_EMAIL, ANN_OTHER_EMAIL], ANN_PHONE, people::ANN_NAME, ann);
        let bob = person(BOB_CUSTOMER_ID, &[BOB_EMAIL], BOB_PHONE, people::BOB_NAME, bob);
        Company {
            shop_url,
            crm_url,
            analytics_url,
            redis_url: stores.redis_url.clone(),
            redis_prefix: stores.redis_prefix.clone(),
            ann,
            bob,
            stores,
            _dir: dir,
        }
    }

    /// The data map of `store` (one of [`STORES`]) as YAML, with `${prefix}` replaced by this
    /// company's Redis prefix. Panics on an unknown store.
    pub fn data_map(&self, store: &str) -> String {
        let text = match store {
            "shop" => SHOP_YAML,
            "crm" => CRM_YAML,
            "analytics" => ANALYTICS_YAML,
            "cache" => CACHE_YAML,
            other => panic!("no store named {other}; the stores are {STORES:?}"),
        };
        text.replace("${prefix}", &self.redis_prefix)
    }

    /// Registers the four stores with `app` as `admin` and saves their data maps (and, with
    /// `manual`, a manual store `paper-archive`); returns store name -> id.
    pub async fn register(&self, app: &TestApp, admin: &str, manual: bool) -> BTreeMap<String, String> {
        let mut ids = BTreeMap::new();
        for (name, kind, url) in [
            ("shop", "postgres", &self.shop_url),
            ("crm", "mysql", &self.crm_url),
            ("analytics", "sqlite", &self.analytics_url),
            ("cache", "redis", &self.redis_url),
        ] {
            let (status, store) = app
                .post("/v1/stores", Some(admin), json!({ "name": name, "kind": kind, "connection": { "url": url } }))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{store}");
            ids.insert(name.to_owned(), store["id"].as_str().unwrap().to_owned());
        }
        for name in STORES {
            let path = format!("/v1/stores/{}/datamap", ids[name]);
            let (status, saved) = app.put(&path, admin, json!({ "yaml": self.data_map(name) })).await;
            assert_eq!(status, StatusCode::OK, "{name}: {saved}");
        }
        if manual {
            let (status, store) = app
                .post(
                    "/v1/stores",
                    Some(admin),
                    json!({ "name": "paper-archive", "kind": "manual", "instructions": "Shred the customer's folder." }),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{store}");
            ids.insert("paper-archive".into(), store["id"].as_str().unwrap().to_owned());
        }
        ids
    }

    /// Drops both databases and deletes this company's Redis keys (the SQLite file goes with the
    /// temporary directory). Panics if a removal fails.
    pub async fn cleanup(mut self) {
        self.stores.remove().await.expect("company clean-up");
    }
}

/// What has to be removed when a company goes away. Removes it on drop unless disarmed.
#[derive(Default)]
struct Stores {
    shop_db: String,
    crm_db: String,
    redis_url: String,
    redis_prefix: String,
    armed: bool,
}

impl Stores {
    async fn remove(&mut self) -> anyhow::Result<()> {
        self.armed = false;
        let (shop, crm, cache) = tokio::join!(
            shop::drop_database(&self.shop_db),
            crm::drop_database(&self.crm_db),
            cache::delete_prefix(&self.redis_url, &self.redis_prefix),
        );
        shop.and(crm).and(cache)
    }
}

impl Drop for Stores {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut stores = std::mem::take(self);
        crate::cleanup::on_own_runtime(async move { stores.remove().await });
    }
}

/// `url` with its database (the last path segment) replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let base = url.rsplit_once('/').map_or(url, |(base, _)| base);
    format!("{base}/{database}")
}

/// Connects to a server that the tests need, or panics saying which.
async fn connect(url: &str, what: &str) -> DatabaseConnection {
    Database::connect(url).await.unwrap_or_else(|e| panic!("{what} must be running for the company fixture ({e})"))
}

/// Runs `statements` one by one (every driver accepts a single statement).
async fn run(db: &DatabaseConnection, statements: &[String]) -> Result<(), sea_orm::DbErr> {
    for statement in statements {
        db.execute_unprepared(statement).await?;
    }
    Ok(())
}

/// Whether a store's name `prefix_<unix secs>_<hex>` was made more than an hour ago.
fn is_stale(name: &str, prefix: &str) -> bool {
    let hour_ago = time::OffsetDateTime::now_utc().unix_timestamp() - 3600;
    name.strip_prefix(prefix)
        .and_then(|rest| rest.split('_').next())
        .and_then(|secs| secs.parse::<i64>().ok())
        .is_some_and(|created| created < hour_ago)
}

/// `INSERT INTO table (columns) VALUES (row), (row), ...`, for non-empty `rows`.
fn insert(table: &str, columns: &str, rows: &[String]) -> Option<String> {
    (!rows.is_empty()).then(|| format!("INSERT INTO {table} ({columns}) VALUES {}", rows.join(", ")))
}

/// A SQL string literal.
fn text(value: impl Display) -> String {
    format!("'{}'", value.to_string().replace('\'', "''"))
}
