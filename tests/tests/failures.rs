//! Requests and retention runs under real faults: a store's connection killed in the middle of
//! its erasure, a store down for longer than the retries, Lethe's own database pool exhausted
//! while a store commits, a foreign key that refuses the erasure. Each ends `completed` after
//! retries, or `failed` with the right code on its timeline, the admins e-mailed and
//! `/metrics` counting it; a retry after the fault is fixed completes with the ledger exact:
//! one entry per store, table and action, with the rows the stores removed, and no store erased
//! twice.
//!
//! The engine runs with the test retry settings (3 attempts, 50 ms doubling to 200 ms). The
//! faults are real: `pg_terminate_backend` on the store's backend while it sits in the
//! erasure's transaction (held there by a trigger until the test has seen it,
//! `pg_stat_activity`), a TCP proxy in front of PostgreSQL that refuses and cuts connections,
//! and every connection of Lethe's own pool held by the test. Every wait is for a condition.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use lethe_api::engine::Mode;
use lethe_tests::app::{Backend, TestApp, org_slug, spawn_app_with};
use lethe_tests::console::Console;
use lethe_tests::mailbox;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The shop's data map: customers found by e-mail, their orders deleted first.
const SHOP_MAP: &str = r#"version: 1
tables:
  - name: customers
    primary_key: [id]
    purpose: Your customer account.
    columns:
      - name: id
        category: user.unique_id
      - name: email
        category: user.contact.email
        identity: email
    erasure:
      action: delete_row
  - name: orders
    primary_key: [id]
    purpose: Your orders.
    columns:
      - name: customer_id
        category: user.unique_id
      - name: total_cents
        category: user.behavior.purchase_history
    references:
      - column: customer_id
        target: { table: customers, column: id }
        direction: from
    erasure:
      action: delete_row
"#;

/// The app's data map (SQLite): sessions found by e-mail.
const APP_MAP: &str = r#"version: 1
tables:
  - name: sessions
    primary_key: [id]
    purpose: Keeping you signed in.
    columns:
      - name: email
        category: user.contact.email
        identity: email
    erasure:
      action: delete_row
"#;

const ANN: &str = "ann@example.com";

/// What a complete erasure of Ann writes to the ledger: (store, table, action) → rows.
fn ann_erased() -> BTreeMap<(String, String, String), u64> {
    [("app", "sessions", 2), ("shop", "customers", 1), ("shop", "orders", 2)]
        .into_iter()
        .map(|(s, t, n)| ((s.to_owned(), t.to_owned(), "delete_row".to_owned()), n))
        .collect()
}

/// A PostgreSQL database of its own for the test (`lethe_shop_<secs>_<hex>`, so the company
/// fixture's clean-up drops it if this test dies), with customers, orders, old API logs and a
/// trigger that holds a deletion of orders while `fault_armed` has a row.
struct Shop {
    name: String,
    url: String,
    db: DatabaseConnection,
}

impl Shop {
    async fn create() -> Shop {
        let admin = Database::connect(lethe_tests::postgres::admin_url()).await.unwrap();
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let name = format!("lethe_shop_{secs}_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap();
        admin.close().await.unwrap();
        let url = database_url(&lethe_tests::postgres::admin_url(), &name);
        let db = Database::connect(&url).await.unwrap();
        for statement in [
            "CREATE TABLE customers (id integer PRIMARY KEY, email text NOT NULL)",
            "CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers(id), \
             total_cents integer NOT NULL)",
            "CREATE TABLE api_logs (id integer PRIMARY KEY, at timestamptz NOT NULL, status text NOT NULL)",
            "INSERT INTO customers VALUES (1, 'ann@example.com'), (2, 'bob@example.com')",
            "INSERT INTO orders VALUES (10, 1, 500), (11, 1, 700), (20, 2, 900)",
            "INSERT INTO api_logs SELECT g, now() - interval '30 days', 'closed' FROM generate_series(1, 20) g",
            "CREATE TABLE fault_armed (armed boolean)",
            "CREATE FUNCTION hold_while_armed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             WHILE EXISTS (SELECT 1 FROM fault_armed) LOOP PERFORM pg_sleep(0.02); END LOOP; RETURN OLD; END $$",
            "CREATE TRIGGER orders_held BEFORE DELETE ON orders FOR EACH ROW EXECUTE FUNCTION hold_while_armed()",
        ] {
            db.execute_unprepared(statement).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        Shop { name, url, db }
    }

    async fn exec(&self, sql: &str) {
        self.db.execute_unprepared(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    async fn count(&self, sql: &str) -> i64 {
        let row = self.db.query_one_raw(Statement::from_string(self.db.get_database_backend(), sql)).await.unwrap();
        row.unwrap().try_get_by_index::<i64>(0).unwrap()
    }

    /// Waits until one of this database's backends sits in the trigger's sleep; returns its pid.
    async fn held_backend(&self) -> i32 {
        let sql = format!(
            "SELECT pid FROM pg_stat_activity WHERE datname = '{}' AND wait_event = 'PgSleep' LIMIT 1",
            self.name
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let row =
                self.db.query_one_raw(Statement::from_string(self.db.get_database_backend(), &sql)).await.unwrap();
            if let Some(row) = row {
                return row.try_get_by_index::<i32>(0).unwrap();
            }
            assert!(Instant::now() < deadline, "no backend reached the trigger");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn drop(self) {
        self.db.close().await.unwrap();
        let admin = Database::connect(lethe_tests::postgres::admin_url()).await.unwrap();
        admin.execute_unprepared(&format!("DROP DATABASE \"{}\" WITH (FORCE)", self.name)).await.unwrap();
        admin.close().await.unwrap();
    }
}

/// `base`'s URL with its database replaced by `database`.
fn database_url(base: &str, database: &str) -> String {
    let prefix = base.rsplit_once('/').map_or(base, |(b, _)| b);
    format!("{prefix}/{database}")
}

/// The app's SQLite store in `dir`: Ann has two sessions, Bob one.
async fn app_store(dir: &std::path::Path) -> String {
    let url = format!("sqlite://{}?mode=rwc", dir.join("app.db").display());
    let db = Database::connect(&url).await.unwrap();
    db.execute_unprepared("CREATE TABLE sessions (id INTEGER PRIMARY KEY, email TEXT NOT NULL)").await.unwrap();
    db.execute_unprepared(
        "INSERT INTO sessions VALUES (1, 'ann@example.com'), (2, 'ann@example.com'), (3, 'bob@example.com')",
    )
    .await
    .unwrap();
    db.close().await.unwrap();
    url
}

/// A TCP proxy to PostgreSQL that can be taken down: down, its port refuses connections (the
/// listener is closed) and the connections it carried are cut; up again, it listens on the same
/// port.
struct Proxy {
    port: u16,
    wanted: watch::Sender<bool>,
    applied: watch::Receiver<bool>,
}

impl Proxy {
    async fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (wanted, mut watching) = watch::channel(true);
        let (applied_tx, applied) = watch::channel(true);
        tokio::spawn(async move {
            let mut listener = Some(listener);
            loop {
                if !*watching.borrow_and_update() {
                    drop(listener.take());
                    applied_tx.send_replace(false);
                    if watching.wait_for(|up| *up).await.is_err() {
                        return;
                    }
                    listener = Some(TcpListener::bind(("127.0.0.1", port)).await.expect("the proxy's port again"));
                    applied_tx.send_replace(true);
                }
                let Some(open) = listener.as_ref() else { continue };
                tokio::select! {
                    accepted = open.accept() => {
                        let Ok((mut client, _)) = accepted else { continue };
                        let mut cut = watching.clone();
                        tokio::spawn(async move {
                            let Ok(mut server) = TcpStream::connect("127.0.0.1:5432").await else { return };
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                                _ = cut.wait_for(|up| !*up) => {}
                            }
                        });
                    }
                    changed = watching.changed() => if changed.is_err() { return },
                }
            }
        });
        Proxy { port, wanted, applied }
    }

    /// Takes the proxy down or brings it up, and waits until it is so.
    async fn set_up(&mut self, up: bool) {
        self.wanted.send_replace(up);
        self.applied.wait_for(|applied| *applied == up).await.unwrap();
    }

    /// `url` rewritten to go through the proxy.
    fn url(&self, url: &str) -> String {
        url.replace("127.0.0.1:5432", &format!("127.0.0.1:{}", self.port))
    }
}

/// An engine, an organization with an admin, and the two stores registered with their maps.
struct Setup {
    app: TestApp,
    org: String,
    admin: String,
    shop: Shop,
    _dir: tempfile::TempDir,
}

async fn setup(backend: Backend, shop_url: impl FnOnce(&str) -> String) -> Setup {
    let (app, shop) = tokio::join!(spawn_app_with(backend, Mode::All, |_| {}), Shop::create());
    let dir = tempfile::tempdir().unwrap();
    let org = org_slug();
    let admin = app.admin(&org).await;
    let stores =
        [("shop", "postgres", shop_url(&shop.url), SHOP_MAP), ("app", "sqlite", app_store(dir.path()).await, APP_MAP)];
    for (name, kind, url, map) in stores {
        let (status, store) = app
            .post("/v1/stores", Some(&admin), json!({ "name": name, "kind": kind, "connection": { "url": url } }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{store}");
        let path = format!("/v1/stores/{}/datamap", store["id"].as_str().unwrap());
        let (status, saved) = app.put(&path, &admin, json!({ "yaml": map })).await;
        assert_eq!(status, StatusCode::OK, "{name}: {saved}");
    }
    Setup { app, org, admin, shop, _dir: dir }
}

/// Ledger erasure entries of a request: (store, table, action) → rows, each entry counted.
async fn ledger(app: &TestApp, admin: &str, request: &str) -> (BTreeMap<(String, String, String), u64>, usize) {
    let (status, page) =
        app.get(&format!("/v1/ledger/entries?kind=erasure&request_id={request}&limit=500"), Some(admin)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let entries = page["entries"].as_array().unwrap();
    let mut out = BTreeMap::new();
    for e in entries {
        let key = (
            e["store"].as_str().unwrap().to_owned(),
            e["table"].as_str().unwrap().to_owned(),
            e["action"].as_str().unwrap().to_owned(),
        );
        *out.entry(key).or_insert(0) += e["row_count"].as_u64().unwrap();
    }
    (out, entries.len())
}

/// Checks the ledger holds exactly one entry per store, table and action of Ann's erasure.
async fn assert_ledger_exact(app: &TestApp, admin: &str, request: &str) {
    let (entries, n) = ledger(app, admin, request).await;
    assert_eq!(entries, ann_erased());
    assert_eq!(n, ann_erased().len(), "one entry per store, table and action");
}

/// Waits for `state`, for up to `secs` seconds.
async fn wait_for(app: &TestApp, admin: &str, id: &str, state: &str, secs: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let (status, body) = app.get(&format!("/v1/requests/{id}"), Some(admin)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["state"] == state {
            return body;
        }
        assert!(Instant::now() < deadline, "request in {}, expected {state}: {body}", body["state"]);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The reason of the request's last `failed` event.
fn failure_reason(detail: &Value) -> String {
    let events = detail["timeline"].as_array().unwrap();
    let failed =
        events.iter().rev().find(|e| e["kind"] == "failed").unwrap_or_else(|| panic!("no failed event: {detail}"));
    failed["reason"].as_str().unwrap().to_owned()
}

/// A metric's value in `/metrics`.
async fn metric(app: &TestApp, line: &str) -> f64 {
    let text = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(line).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no `{line}` in /metrics:\n{text}"))
}

/// Approves a verified erasure request for Ann; returns its id.
async fn approve_ann(s: &Setup) -> String {
    let req = s.app.verified(&s.org, "erasure", "gdpr", ANN).await;
    let (status, body) = s.app.post(&format!("/v1/requests/{}/approve", req.id), Some(&s.admin), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    req.id
}

/// Retries the failed request `id` and checks that it completes with the ledger exact and Ann
/// gone from the shop.
async fn retry_completes_exactly(s: &Setup, id: &str) {
    let (status, body) = s.app.post(&format!("/v1/requests/{id}/retry"), Some(&s.admin), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    wait_for(&s.app, &s.admin, id, "completed", 60).await;
    assert_ledger_exact(&s.app, &s.admin, id).await;
    assert_shop_erased(&s.shop).await;
}

/// Checks that the ledger has erasure entries of the app's store only.
async fn assert_only_the_app_erased(s: &Setup, id: &str) {
    let (entries, _) = ledger(&s.app, &s.admin, id).await;
    assert_eq!(entries.keys().map(|(store, ..)| store.as_str()).collect::<Vec<_>>(), ["app"]);
}

/// Checks that Ann is gone from the shop and Bob is untouched.
async fn assert_shop_erased(shop: &Shop) {
    assert_eq!(shop.count("SELECT count(*) FROM customers WHERE id = 1").await, 0);
    assert_eq!(shop.count("SELECT count(*) FROM orders WHERE customer_id = 1").await, 0);
    assert_eq!(shop.count("SELECT count(*) FROM orders WHERE customer_id = 2").await, 1, "Bob's order stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_connection_killed_mid_erasure_is_retried_and_the_request_completes() {
    let s = setup(Backend::Postgres, str::to_owned).await;
    s.shop.exec("INSERT INTO fault_armed VALUES (true)").await;
    let id = approve_ann(&s).await;
    // The erasure's transaction is inside the store, deleting orders: kill its connection.
    let pid = s.shop.held_backend().await;
    s.shop.exec(&format!("SELECT pg_terminate_backend({pid})")).await;
    s.shop.exec("DELETE FROM fault_armed").await;

    let detail = wait_for(&s.app, &s.admin, &id, "completed", 60).await;
    assert!(s.app.work.read().failed_attempts >= 1 && s.app.work.read().retries >= 1, "{:?}", s.app.work.read());
    assert!(detail["timeline"].as_array().unwrap().iter().all(|e| e["kind"] != "failed"), "{detail}");
    assert_ledger_exact(&s.app, &s.admin, &id).await;
    assert_shop_erased(&s.shop).await;
    s.shop.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_down_longer_than_the_retries_fails_the_request_and_a_retry_completes_it() {
    let mut proxy = Proxy::start().await;
    let s = setup(Backend::Sqlite, |url| proxy.url(url)).await;
    proxy.set_up(false).await;
    let id = approve_ann(&s).await;

    // Three attempts (the test settings), then the request gives up, with the store's code.
    let detail = wait_for(&s.app, &s.admin, &id, "failed", 60).await;
    let reason = failure_reason(&detail);
    assert!(reason.starts_with("store_unreachable: store `shop`: "), "{reason}");
    assert!(!reason.contains(ANN) && !reason.contains("127.0.0.1"), "{reason}");
    let tasks = s.app.tasks_settled(&id, &s.admin).await;
    let shop_task = tasks.iter().find(|t| t["store"] == "shop").unwrap();
    assert_eq!(
        (shop_task["status"].as_str(), shop_task["error_code"].as_str()),
        (Some("failed"), Some("store_unreachable"))
    );
    assert_eq!(s.app.work.read().retries, 2, "attempts 2 and 3 were retries");
    // Attempts 1 and 2 waited for the shop before erasing anything; the last one erased the app,
    // which it had located, and nothing of the shop.
    assert_only_the_app_erased(&s, &id).await;
    assert_eq!(s.shop.count("SELECT count(*) FROM orders").await, 3);

    // The admins are told, without the person's identity; /metrics and the console count it.
    let admin_address = format!("admin@{}.test", s.org);
    let mail = mailbox::wait_for_message_with(&s.app.outbox, &admin_address, "store_unreachable").await;
    assert!(mail.contains(&id) && !mail.contains(ANN), "{mail}");
    assert_eq!(metric(&s.app, "lethe_requests{state=\"failed\"}").await, 1.0);
    assert_eq!(metric(&s.app, "lethe_requests_failed_total").await, 1.0);
    assert_eq!(metric(&s.app, "lethe_job_retries_total").await, 2.0);
    let console = Console::signed_in(&s.app.base, &admin_address).await;
    let queue = console.get("/console/?state=failed").await;
    assert!(queue.body.contains(&format!("/console/requests/{id}")), "the queue lists the failed request");

    // Fixed: the store is back. A retry erases the shop only, and the ledger is exact.
    proxy.set_up(true).await;
    retry_completes_exactly(&s, &id).await;
    s.shop.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lethe_s_own_pool_exhausted_while_a_store_commits_is_retried_and_the_ledger_is_exact() {
    let s = setup(Backend::Sqlite, str::to_owned).await;
    s.shop.exec("INSERT INTO fault_armed VALUES (true)").await;
    let id = approve_ann(&s).await;
    s.shop.held_backend().await;

    // Every connection of Lethe's pool is taken while the store's transaction is held.
    let pool = s.app.db.get_sqlite_connection_pool().clone();
    let max = pool.options().get_max_connections() as usize;
    let mut held = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while held.len() < max {
        if let Ok(Ok(connection)) = tokio::time::timeout(Duration::from_secs(1), pool.acquire()).await {
            held.push(connection);
        }
        assert!(Instant::now() < deadline, "could not take the pool");
    }
    // The store commits while Lethe's database cannot be reached: settling the intents, and the
    // workers' reading of their queues, time out. A job worker that cannot read its queue ends
    // (apalis drops the job it was running) and is restarted.
    s.shop.exec("DELETE FROM fault_armed").await;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let work = s.app.work.read();
        if work.worker_restarts > 0 || work.failed_attempts > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "nothing failed on the exhausted pool");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(held);

    // The job runs again (retried, or taken back by its restarted worker) and settles what the
    // store committed from the store's receipts, once.
    let detail = wait_for(&s.app, &s.admin, &id, "completed", 150).await;
    assert!(detail["timeline"].as_array().unwrap().iter().all(|e| e["kind"] != "failed"), "{detail}");
    assert_ledger_exact(&s.app, &s.admin, &id).await;
    assert_shop_erased(&s.shop).await;
    s.shop.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_key_refusal_fails_the_request_and_a_retry_erases_only_what_is_left() {
    let s = setup(Backend::Postgres, str::to_owned).await;
    // A table created after the map was saved refers to Ann's customer row.
    s.shop
        .exec(
            "CREATE TABLE vouchers (id integer PRIMARY KEY, customer_id integer \
             CONSTRAINT vouchers_customer_fkey REFERENCES customers(id))",
        )
        .await;
    s.shop.exec("INSERT INTO vouchers VALUES (1, 1)").await;
    let id = approve_ann(&s).await;

    // No retry can change a refusal: the request fails at once, with the store's words.
    let detail = wait_for(&s.app, &s.admin, &id, "failed", 60).await;
    let reason = failure_reason(&detail);
    assert!(
        reason.starts_with(
            "store_refused: store `shop`: delete_row `customers`: rows in `vouchers` still refer to them through \
             foreign key vouchers_customer_fkey"
        ),
        "{reason}"
    );
    assert_eq!(s.app.work.read().retries, 0, "a refusal is not retried");
    let admin_address = format!("admin@{}.test", s.org);
    mailbox::wait_for_message_with(&s.app.outbox, &admin_address, "vouchers_customer_fkey").await;
    // The app's store was erased in the same run; the shop rolled back.
    assert_only_the_app_erased(&s, &id).await;
    assert_eq!(s.shop.count("SELECT count(*) FROM orders WHERE customer_id = 1").await, 2);

    // Fixed: the voucher is gone. The retry erases the shop only; the app is not erased twice.
    s.shop.exec("DELETE FROM vouchers").await;
    retry_completes_exactly(&s, &id).await;
    s.shop.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_runs_retry_a_store_that_comes_back_and_fail_with_its_code_when_it_does_not() {
    let mut proxy = Proxy::start().await;
    let s = setup(Backend::Sqlite, |url| proxy.url(url)).await;
    let (_, stores) = s.app.get("/v1/stores", Some(&s.admin)).await;
    let shop_id = stores.as_array().unwrap().iter().find(|st| st["name"] == "shop").unwrap()["id"].clone();
    let policy = json!({
        "name": "old-api-logs", "store_id": shop_id, "table": "api_logs", "age_column": "at", "max_age": "P7D",
        "filter": [{"column": "status", "op": "eq", "value": "closed"}],
        "action": {"type": "delete_row"}, "batch_size": 7,
        "legal_basis": "API logs are kept 7 days"
    });
    let (status, policy) = s.app.post("/v1/retention/policies", Some(&s.admin), policy).await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    let run_path = format!("/v1/retention/policies/{}/run", policy["id"].as_str().unwrap());

    // Down for longer than the retries: the run fails with the store's code, the admins told.
    proxy.set_up(false).await;
    let (status, run) = s.app.post(&run_path, Some(&s.admin), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let failed = lethe_tests::retention::finished(&s.app, &s.admin, run["id"].as_str().unwrap()).await;
    assert_eq!(
        (failed["state"].as_str(), failed["error_code"].as_str()),
        (Some("failed"), Some("store_unreachable")),
        "{failed}"
    );
    let admin_address = format!("admin@{}.test", s.org);
    let mail = mailbox::wait_for_message_with(&s.app.outbox, &admin_address, "retention run").await;
    assert!(mail.contains("store_unreachable"), "{mail}");
    assert_eq!(metric(&s.app, "lethe_retention_runs_failed_total").await, 1.0);

    // Down, then back while the run retries: it completes. (Each attempt keeps trying to connect
    // for the store pool's 10-second timeout, so the store is back before the attempts run out.)
    let before = s.app.work.read().failed_attempts;
    let (status, run) = s.app.post(&run_path, Some(&s.admin), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while s.app.work.read().failed_attempts == before {
        assert!(Instant::now() < deadline, "the run never failed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    proxy.set_up(true).await;
    let done = lethe_tests::retention::finished(&s.app, &s.admin, run["id"].as_str().unwrap()).await;
    assert_eq!((done["state"].as_str(), done["rows"].as_u64()), (Some("done"), Some(20)), "{done}");
    assert_eq!(s.shop.count("SELECT count(*) FROM api_logs").await, 0);
    s.shop.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiving_the_failed_store_lets_a_failed_request_complete_without_it() {
    let s = setup(Backend::Sqlite, str::to_owned).await;
    s.shop.exec("CREATE TABLE vouchers (id integer PRIMARY KEY, customer_id integer REFERENCES customers(id))").await;
    s.shop.exec("INSERT INTO vouchers VALUES (1, 1)").await;
    let id = approve_ann(&s).await;
    s.app.wait_for_state(&id, &s.admin, "failed").await;

    // The shop cannot be erased for now (say the vouchers must be kept): an admin waives it.
    let tasks = s.app.tasks_settled(&id, &s.admin).await;
    let shop_task = tasks.iter().find(|t| t["store"] == "shop").unwrap()["id"].as_str().unwrap().to_owned();
    let reason = json!({ "reason": "Vouchers are kept until they expire; the shop is erased by hand then." });
    let (status, task) =
        s.app.post(&format!("/v1/requests/{id}/tasks/{shop_task}/waive"), Some(&s.admin), reason).await;
    assert_eq!((status, task["status"].as_str()), (StatusCode::OK, Some("waived")), "{task}");
    let detail = s.app.wait_for_state(&id, &s.admin, "completed").await;
    let retried = detail["timeline"].as_array().unwrap().iter().find(|e| e["kind"] == "retried").cloned();
    assert_eq!(retried.unwrap()["reason"], "resumed: no store task is failed any more");
    assert_only_the_app_erased(&s, &id).await;
    assert_eq!(s.shop.count("SELECT count(*) FROM customers WHERE id = 1").await, 1, "the waived store is untouched");
    s.shop.drop().await;
}
