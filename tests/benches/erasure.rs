//! Erasure benchmark: one person with 45 rows across 8 tables of a PostgreSQL shop (10,000 other
//! customers of the same shape, real foreign keys, an index on every foreign key and on
//! `lower(email)`), erased by Lethe's fulfilment job, against a baseline measured in the same
//! run: one hand-written transaction of batched `UPDATE`/`DELETE` statements for the same rows,
//! through the same connection pool, given their primary keys.
//!
//! Run with `cargo bench -p lethe-tests --bench erasure` (add `-- --quick` for 5 iterations
//! instead of 30). PostgreSQL must run on 127.0.0.1:5432 (`LETHE_TEST_POSTGRES_URL` overrides
//! the admin URL). The shop database and Lethe's own database are created fresh and dropped at
//! the end.
//!
//! Lethe runs in this process: an engine serving the API only (no worker picks the jobs up)
//! registers the store and its map and takes the requests in; the bench runs the job itself.
//! Before every timed run (Lethe's or the baseline's) the person's rows are put back as they
//! were, untimed, and an approved erasure request is ready. Timed:
//! * the whole job, `start_fulfilment::run`: start, locate, erase (intents, one store
//!   transaction with receipts, ledger entries), verification pass, completion;
//! * the same phases called one after the other (`start`, `tasks::locate_pending`,
//!   `erase::run`), so the erase part has a figure of its own;
//! * `erase::run` taken apart with the public pieces it is made of (everything but the task's
//!   claim, its final update and the completion), to show where the time goes.
//!
//! Target: the job within 2x of the baseline. Every latency is the median (with min and max).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lethe_api::engine::Mode;
use lethe_entities::domain::enums::{EventKind, RequestState, TaskStatus};
use lethe_entities::domain::lifecycle::Action;
use lethe_entities::entity::request::{self, Actor};
use lethe_entities::entity::{request_event, store, store_task, subject_identity};
use lethe_entities::ledger::entry::SubjectRef;
use lethe_entities::ledger::signer::LedgerSigner;
use lethe_entities::{Keyring, MasterKey};
use lethe_tests::app::{Backend, TestApp, org_slug, spawn_app_with};
use lethe_tests::bench::{DATA_MAP, SHAPE, Stats, connect, create_shop, email_of, fill, machine, url_for};
use lethe_worker::JobContext;
use lethe_worker::erase::recover;
use lethe_worker::jobs::start_fulfilment;
use lethe_worker::locate::{Located, Mode as LocateMode, StoreInput, locate};
use lethe_worker::queue::StartFulfilment;
use lethe_worker::stores::Connector;
use lethe_worker::stores::erasure::Context as EraseContext;
use lethe_worker::stores::sql::{erase as sql, plan};
use lethe_worker::{erase, tasks};
use reqwest::StatusCode;
use sea_orm::sqlx::{self, PgPool};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, Statement};
use serde_json::json;
use uuid::Uuid;

/// Customers other than the person, each with the person's shape.
const OTHERS: i64 = 10_000;
/// The person's customer id (after the others).
const PERSON: i64 = OTHERS + 1;
/// Runs over which statistics are counted (the least change is reported).
const COUNT_TRIES: usize = 3;
/// The store's name.
const STORE: &str = "shop";

/// The person's e-mail address.
fn email() -> String {
    email_of(PERSON)
}

/// The person's primary keys, table by table.
struct Keys {
    customer: i64,
    addresses: Vec<i64>,
    orders: Vec<i64>,
    payments: Vec<i64>,
    logins: Vec<i64>,
    tickets: Vec<i64>,
    newsletter: i64,
}

fn keys() -> Keys {
    let range = |per: i64| (per * (PERSON - 1) + 1..=per * PERSON).collect::<Vec<_>>();
    Keys {
        customer: PERSON,
        addresses: range(3),
        orders: range(5),
        payments: range(5),
        logins: range(10),
        tickets: range(5),
        newsletter: PERSON,
    }
}

/// Puts the person's rows back as they were before any erasure (what a run keeps or leaves is
/// removed first).
async fn reset_person(shop: &DatabaseConnection) {
    let k = keys();
    let list = |xs: &[i64]| xs.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let orders = list(&k.orders);
    let statements = [
        format!("DELETE FROM payments WHERE order_id IN ({orders})"),
        format!("DELETE FROM order_items WHERE order_id IN ({orders})"),
        format!("DELETE FROM orders WHERE id IN ({orders})"),
        format!("DELETE FROM addresses WHERE id IN ({})", list(&k.addresses)),
        format!("DELETE FROM logins WHERE id IN ({})", list(&k.logins)),
        format!("DELETE FROM support_tickets WHERE id IN ({})", list(&k.tickets)),
        format!("DELETE FROM newsletter_subscribers WHERE id = {}", k.newsletter),
        format!("DELETE FROM customers WHERE id = {}", k.customer),
    ];
    let mut script = statements.join(";\n");
    for statement in fill(PERSON, PERSON) {
        script.push_str(";\n");
        script.push_str(&statement);
    }
    shop.execute_unprepared(&format!("BEGIN;\n{script};\nCOMMIT")).await.expect("reset the person's rows");
}

/// What is left of the person after an erasure: rows per table still linked to the customer or
/// carrying the person's keys, kept orders still linked, and the card numbers now stored.
async fn leftovers(shop: &DatabaseConnection) -> (Vec<i64>, Vec<String>) {
    let k = keys();
    let list = |xs: &[i64]| xs.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let orders = list(&k.orders);
    let counts = format!(
        "SELECT (SELECT count(*) FROM customers WHERE id = {p}), \
         (SELECT count(*) FROM addresses WHERE customer_id = {p}), \
         (SELECT count(*) FROM orders WHERE id IN ({orders})), \
         (SELECT count(*) FROM orders WHERE customer_id = {p}), \
         (SELECT count(*) FROM order_items WHERE order_id IN ({orders})), \
         (SELECT count(*) FROM payments WHERE order_id IN ({orders})), \
         (SELECT count(*) FROM logins WHERE customer_id = {p}), \
         (SELECT count(*) FROM support_tickets WHERE customer_id = {p}), \
         (SELECT count(*) FROM newsletter_subscribers WHERE lower(email) = '{e}')",
        p = k.customer,
        e = email()
    );
    let row = shop.query_one_raw(Statement::from_string(DbBackend::Postgres, counts)).await.unwrap().unwrap();
    let counts = (0..9).map(|i| row.try_get_by_index::<i64>(i).unwrap()).collect();
    let cards = shop
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT card_number FROM payments WHERE order_id IN ({orders}) ORDER BY id"),
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect();
    (counts, cards)
}

/// Rows touched per table.
type Touched = BTreeMap<String, u64>;

/// The baseline: one transaction of batched statements for the known keys, children first;
/// card numbers read in the transaction and replaced by their pseudonyms, one `UPDATE` per
/// distinct value. Returns the rows touched per table and the statements sent.
async fn baseline(pool: &PgPool, keyring: &Keyring, organization: Uuid) -> (Touched, usize) {
    let k = keys();
    let mut touched = Touched::new();
    let mut tx = pool.begin().await.unwrap();
    let mut statements = 1;
    let n = execute(&mut tx, "UPDATE orders SET customer_id = NULL WHERE id = ANY($1)", &k.orders).await;
    touched.insert("orders".into(), n);
    let cards: Vec<(i64, String)> = sqlx::query_as("SELECT id, card_number FROM payments WHERE id = ANY($1)")
        .bind(&k.payments)
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    statements += 2;
    let mut by_card: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (id, card) in cards {
        by_card.entry(card).or_default().push(id);
    }
    for (card, ids) in &by_card {
        let n = sqlx::query("UPDATE payments SET card_number = $1 WHERE id = ANY($2)")
            .bind(keyring.pseudonym(organization, card))
            .bind(ids)
            .execute(&mut *tx)
            .await
            .unwrap()
            .rows_affected();
        *touched.entry("payments".into()).or_default() += n;
        statements += 1;
    }
    let deletes: [(&str, &'static str, &[i64]); 6] = [
        ("order_items", "DELETE FROM order_items WHERE order_id = ANY($1)", &k.orders),
        ("addresses", "DELETE FROM addresses WHERE id = ANY($1)", &k.addresses),
        ("logins", "DELETE FROM logins WHERE id = ANY($1)", &k.logins),
        ("support_tickets", "DELETE FROM support_tickets WHERE id = ANY($1)", &k.tickets),
        ("newsletter_subscribers", "DELETE FROM newsletter_subscribers WHERE id = ANY($1)", &[k.newsletter]),
        ("customers", "DELETE FROM customers WHERE id = ANY($1)", &[k.customer]),
    ];
    for (table, sql, ids) in deletes {
        touched.insert(table.into(), execute(&mut tx, sql, ids).await);
        statements += 1;
    }
    tx.commit().await.unwrap();
    (touched, statements + 1)
}

async fn execute(tx: &mut sqlx::PgConnection, sql: &'static str, ids: &[i64]) -> u64 {
    sqlx::query(sql).bind(ids).execute(tx).await.unwrap().rows_affected()
}

/// What Lethe's erasure of `request` touched per table (the store's own counts, from the
/// timeline), after checking that the request completed and its task is done.
async fn lethe_touched(ctx: &JobContext, organization: Uuid, request: Uuid) -> Touched {
    let model = request::Model::find_in_org(&ctx.db, organization, request).await.unwrap().unwrap();
    assert_eq!(model.state, RequestState::Completed, "the erasure request completed");
    let tasks = store_task::Model::of_request(&ctx.db, organization, request).await.unwrap();
    assert!(tasks.len() == 1 && tasks[0].status == TaskStatus::Done, "the shop's task is done");
    let event = request_event::Entity::find()
        .filter(request_event::Column::RequestId.eq(request))
        .filter(request_event::Column::Kind.eq(EventKind::StoreErased))
        .one(&ctx.db)
        .await
        .unwrap()
        .expect("a store_erased event");
    let detail = event.detail.expect("the erasure report");
    let mut touched = Touched::new();
    for erased in detail["erased"].as_array().unwrap() {
        *touched.entry(erased["table"].as_str().unwrap().to_owned()).or_default() += erased["rows"].as_u64().unwrap();
    }
    touched
}

async fn text(db: &DatabaseConnection, sql: &str) -> String {
    let row = db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned())).await.unwrap().unwrap();
    row.try_get_by_index::<String>(0).unwrap()
}

/// Counters from PostgreSQL's statistics: transactions committed in each of `databases` (every
/// statement outside an explicit transaction counts as one), then WAL flushes to disk in the
/// whole cluster. A backend may keep its counts for up to 10 s before publishing them, but
/// publishes them when it exits: the databases' connections are ended first (the pools open new
/// ones when next used).
async fn counters(admin: &DatabaseConnection, databases: &[&str]) -> Vec<i64> {
    let names = databases.iter().map(|d| format!("'{d}'")).collect::<Vec<_>>().join(", ");
    admin
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname IN ({names}) AND pid <> pg_backend_pid()"
        ))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut out = Vec::new();
    for name in databases {
        let sql = format!("SELECT xact_commit FROM pg_stat_database WHERE datname = '{name}'");
        let row = admin.query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await.unwrap().unwrap();
        out.push(row.try_get_by_index::<i64>(0).unwrap());
    }
    let sql = "SELECT wal_sync FROM pg_stat_wal".to_owned();
    let row = admin.query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await.unwrap().unwrap();
    out.push(row.try_get_by_index::<i64>(0).unwrap());
    out
}

/// The change of [`counters`] from `before` to `after`, keeping the least seen in `best`
/// (autovacuum and the WAL writer add to them now and then).
fn least_change(best: &mut Option<Vec<i64>>, before: &[i64], after: &[i64]) {
    let delta: Vec<i64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    *best = Some(match best.take() {
        None => delta,
        Some(best) => best.iter().zip(&delta).map(|(a, b)| *a.min(b)).collect(),
    });
}

/// Creates the shop database and fills it with the other customers and the person.
async fn create_person_shop(admin: &DatabaseConnection, name: &str) -> DatabaseConnection {
    let shop = create_shop(admin, name, OTHERS).await;
    reset_person(&shop).await;
    shop.execute_unprepared("VACUUM (ANALYZE)").await.unwrap();
    shop
}

/// Submits `n` erasure requests for the person and verifies each (a worker sends the codes);
/// returns their ids, all `pending_approval`.
async fn verified_requests(app: &TestApp, org: &str, n: usize) -> Vec<String> {
    let email = email();
    let mut ids = Vec::with_capacity(n);
    for k in 1..=n {
        let req = app.submit(org, "erasure", "gdpr", &email).await;
        let code = app.code_for(&email, k).await;
        let (status, body) = app
            .post(&format!("/v1/requests/{}/verify", req.id), None, json!({ "token": req.token, "code": code }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        ids.push(req.id);
    }
    ids
}

/// Lethe's side: the engine (API only), the job context and the approved requests to come.
struct Lethe {
    app: TestApp,
    admin: String,
    ctx: JobContext,
    organization: Uuid,
    requests: std::vec::IntoIter<String>,
}

impl Lethe {
    /// Approves the next request (over HTTP, untimed); no worker runs, so its job waits.
    async fn next_approved(&mut self) -> Uuid {
        let id = self.requests.next().expect("enough requests were prepared");
        let (status, body) = self.app.post(&format!("/v1/requests/{id}/approve"), Some(&self.admin), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        id.parse().unwrap()
    }
}

/// Times of the phases of `erase::run`, taken apart.
#[derive(Default)]
struct Parts {
    recover: Vec<Duration>,
    reads: Vec<Duration>,
    locate: Vec<Duration>,
    schema: Vec<Duration>,
    plan: Vec<Duration>,
    store: Vec<Duration>,
    verify: Vec<Duration>,
}

/// Runs the pieces `erase::run` is made of for `request` (located, not yet claimed), timing
/// each: recovery of pending intents, reading the tasks, subject and stores, locating the keys,
/// reading the store's schema, planning, the store's erasure with its intents, receipts and
/// ledger entries (`stores::sql::erase::erase`) and the verification locate. The task's claim and final
/// update and the completion are not public and not run.
async fn erase_in_parts(ctx: &JobContext, organization: Uuid, request: Uuid, parts: &mut Parts) {
    let t = Instant::now();
    recover::request(ctx, organization, request, &[]).await.unwrap();
    parts.recover.push(t.elapsed());

    let t = Instant::now();
    let todo = store_task::Model::of_request(&ctx.db, organization, request).await.unwrap();
    assert_eq!(todo[0].status, TaskStatus::Located);
    let subject = tasks::subject(&ctx.db, &ctx.keyring, organization, request).await.unwrap();
    let refs: Vec<SubjectRef> = subject_identity::Model::of_request(&ctx.db, organization, request)
        .await
        .unwrap()
        .iter()
        .map(|i| ctx.keyring.ledger_subject_ref(organization, &i.blind_index))
        .collect();
    let stores = store::Model::all_in_org(&ctx.db, organization).await.unwrap();
    let inputs = tasks::inputs(&stores, &ctx.stores, &ctx.keyring).await;
    parts.reads.push(t.elapsed());

    let located_keys = async |inputs: &[StoreInput]| {
        let mut keys: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
        locate(inputs, &subject, LocateMode::Keys, &mut |found: Located<'_>| {
            let parts = found.key_parts.iter().map(|p| p.clone().unwrap_or_default()).collect();
            keys.entry(found.table.to_owned()).or_default().push(parts);
        })
        .await;
        keys
    };
    let t = Instant::now();
    let located = located_keys(&inputs).await;
    parts.locate.push(t.elapsed());

    let (Some(map), Some(Ok(Connector::Sql(store)))) = (&inputs[0].map, &inputs[0].connector) else {
        panic!("the shop has a map and a SQL connector")
    };
    let t = Instant::now();
    let schema = store.fresh_schema().await.unwrap();
    parts.schema.push(t.elapsed());

    let t = Instant::now();
    let steps = plan::plan(map, &schema, &located).unwrap();
    parts.plan.push(t.elapsed());

    let cx = EraseContext {
        lethe: &ctx.db,
        keyring: &ctx.keyring,
        organization,
        store: STORE,
        request,
        subject_refs: &refs,
        settlements: &ctx.settlements,
    };
    let t = Instant::now();
    let applied = sql::erase(&cx, store, &schema, &steps).await.unwrap();
    parts.store.push(t.elapsed());
    assert_eq!(applied.iter().map(|a| a.rows).sum::<u64>(), SHAPE.iter().map(|(_, n)| n).sum::<u64>());

    let t = Instant::now();
    let remaining = located_keys(&inputs).await;
    parts.verify.push(t.elapsed());
    assert!(remaining.keys().all(|t| t == "orders" || t == "payments") || remaining.is_empty());
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (iterations, warmup) = if quick { (5, 2) } else { (30, 3) };
    let admin_db = connect(&lethe_tests::postgres::admin_url()).await;
    let version = text(&admin_db, "SHOW server_version").await;
    println!("Erasure benchmark on {}; PostgreSQL {version}.", machine());

    // The shop.
    let started = Instant::now();
    let shop_name = format!(
        "lethe_bench_erasure_{}_{}",
        time::OffsetDateTime::now_utc().unix_timestamp(),
        &Uuid::new_v4().simple().to_string()[..8]
    );
    let shop = create_person_shop(&admin_db, &shop_name).await;
    let person_rows: u64 = SHAPE.iter().map(|(_, n)| n).sum();
    let shape = SHAPE.iter().map(|(t, n)| format!("{t} {n}")).collect::<Vec<_>>().join(", ");
    println!(
        "shop: 8 tables, {} customers ({} rows), created in {:.1} s; the person: {person_rows} rows ({shape})",
        OTHERS + 1,
        person_rows * (OTHERS as u64 + 1),
        started.elapsed().as_secs_f64()
    );

    // Lethe: an engine with workers while the requests are verified (the codes are mailed by
    // a job), then API only, so the approved requests wait for the bench.
    let needed = (warmup + iterations) + 2 * (1 + iterations) + COUNT_TRIES;
    let started = Instant::now();
    let app = spawn_app_with(Backend::Postgres, Mode::All, |_| {}).await;
    let org = org_slug();
    let admin = app.admin(&org).await;
    let (status, created) = app
        .post(
            "/v1/stores",
            Some(&admin),
            json!({ "name": STORE, "kind": "postgres", "connection": { "url": url_for(&shop_name) } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let store_id = created["id"].as_str().unwrap().to_owned();
    let response = app
        .http
        .put(app.url(&format!("/v1/stores/{store_id}/datamap")))
        .bearer_auth(&admin)
        .json(&json!({ "yaml": DATA_MAP }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
    let requests = verified_requests(&app, &org, needed).await;
    let app = app.restart(Mode::Serve).await;
    let lethe_name = app.database_url.rsplit('/').next().unwrap().to_owned();
    let (organization, _) = lethe_api::accounts::ensure_organization(&app.db, &org, &org).await.unwrap();
    let keyring = Keyring::derive(&MasterKey::from_base64(&app.master_key_base64()).unwrap());
    let ctx = JobContext {
        db: app.db.clone(),
        keyring: keyring.clone(),
        mailer: Arc::new(lethe_worker::mail::Mailer::memory("bench@lethe.test").unwrap()),
        queue: lethe_worker::JobQueue::for_database(&app.db),
        verification: Default::default(),
        ledger: Arc::new(LedgerSigner::load_or_create(&app.db, &keyring).await.unwrap()),
        checkpoints: Default::default(),
        stores: lethe_worker::stores::Registry::new(std::sync::Arc::new(lethe_tests::app::development_targets())),
        services: Default::default(),
        exports: Default::default(),
        settlements: Default::default(),
        retry: Default::default(),
        counters: Default::default(),
    };
    println!(
        "Lethe: engine on a fresh PostgreSQL database, store and map registered, {needed} erasure requests \
         verified in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut lethe = Lethe { app, admin, ctx, organization: organization.id, requests: requests.into_iter() };

    // The baseline uses the pool Lethe's job uses for the shop.
    let shop_model = store::Model::all_in_org(&lethe.ctx.db, lethe.organization).await.unwrap().remove(0);
    let Connector::Sql(sql_store) = lethe.ctx.stores.connector(&shop_model, &lethe.ctx.keyring).await.unwrap() else {
        unreachable!("a PostgreSQL store has a SQL connector")
    };
    let pool = sql_store.connection().get_postgres_connection_pool().clone();

    println!(
        "{iterations} iterations after {warmup} warm-up ones; before every run (untimed) the person's rows are put \
         back and a request approved; Lethe and the baseline alternate which runs first."
    );

    // 1. The whole job against the baseline.
    let expected_left = |cards: &[String]| {
        cards.len() == 5 && cards.iter().all(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    let (mut job, mut base) = (Vec::new(), Vec::new());
    let mut base_statements = 0;
    for i in 0..warmup + iterations {
        let mut results = Vec::new();
        for side in if i % 2 == 0 { [0, 1] } else { [1, 0] } {
            reset_person(&shop).await;
            if side == 0 {
                let request_id = lethe.next_approved().await;
                let job_args = StartFulfilment { organization_id: lethe.organization, request_id, attempt: 1 };
                let t = Instant::now();
                start_fulfilment::run(&job_args, &lethe.ctx).await.expect("the job succeeds");
                let took = t.elapsed();
                let touched = lethe_touched(&lethe.ctx, lethe.organization, request_id).await;
                if i >= warmup {
                    job.push(took);
                }
                results.push((side, touched, leftovers(&shop).await));
            } else {
                let t = Instant::now();
                let (touched, statements) = baseline(&pool, &lethe.ctx.keyring, lethe.organization).await;
                let took = t.elapsed();
                if i >= warmup {
                    base.push(took);
                }
                base_statements = statements;
                results.push((side, touched, leftovers(&shop).await));
            }
        }
        results.sort_by_key(|r| r.0);
        let (lethe_result, base_result) = (&results[0], &results[1]);
        assert_eq!(lethe_result.1, base_result.1, "Lethe and the baseline touched different rows per table");
        assert_eq!(lethe_result.2, base_result.2, "Lethe and the baseline left different data behind");
        let (counts, cards) = &lethe_result.2;
        assert_eq!(counts, &vec![0, 0, 5, 0, 0, 5, 0, 0, 0], "orders and payments kept, nothing else");
        assert!(expected_left(cards), "card numbers replaced by 64-hex pseudonyms");
        assert_eq!(lethe_result.1.values().sum::<u64>(), person_rows);
    }

    // 2. The phases, called one after the other.
    let (mut start_t, mut locate_t, mut erase_t) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..=iterations {
        reset_person(&shop).await;
        let request_id = lethe.next_approved().await;
        let ctx = &lethe.ctx;
        let t = Instant::now();
        let started = request::Model::apply(
            &ctx.db,
            &ctx.keyring,
            lethe.organization,
            request_id,
            Action::Start,
            Actor::SYSTEM,
            None,
        )
        .await
        .unwrap();
        let t1 = t.elapsed();
        let t = Instant::now();
        let stores = store::Model::all_in_org(&ctx.db, lethe.organization).await.unwrap();
        tasks::locate_pending(ctx, &stores, lethe.organization, request_id, true, true).await.unwrap();
        let t2 = t.elapsed();
        let t = Instant::now();
        let mut next = Vec::new();
        erase::run(ctx, &started, &stores, None, true, &mut next).await.unwrap();
        ctx.queue.schedule_all(&next).await.unwrap();
        let t3 = t.elapsed();
        assert_eq!(lethe_touched(ctx, lethe.organization, request_id).await.values().sum::<u64>(), person_rows);
        if i > 0 {
            start_t.push(t1);
            locate_t.push(t2);
            erase_t.push(t3);
        }
    }

    // 3. `erase::run` taken apart.
    let mut parts = Parts::default();
    for i in 0..=iterations {
        reset_person(&shop).await;
        let request_id = lethe.next_approved().await;
        let ctx = &lethe.ctx;
        request::Model::apply(
            &ctx.db,
            &ctx.keyring,
            lethe.organization,
            request_id,
            Action::Start,
            Actor::SYSTEM,
            None,
        )
        .await
        .unwrap();
        let stores = store::Model::all_in_org(&ctx.db, lethe.organization).await.unwrap();
        tasks::locate_pending(ctx, &stores, lethe.organization, request_id, true, true).await.unwrap();
        let mut these = Parts::default();
        erase_in_parts(ctx, lethe.organization, request_id, &mut these).await;
        if i > 0 {
            parts.recover.append(&mut these.recover);
            parts.reads.append(&mut these.reads);
            parts.locate.append(&mut these.locate);
            parts.schema.append(&mut these.schema);
            parts.plan.append(&mut these.plan);
            parts.store.append(&mut these.store);
            parts.verify.append(&mut these.verify);
        }
    }

    // 4. Transactions and WAL flushes per erasure, from PostgreSQL's statistics.
    let databases = [lethe_name.as_str(), shop_name.as_str()];
    let (mut lethe_counts, mut base_counts) = (None, None);
    for _ in 0..COUNT_TRIES {
        reset_person(&shop).await;
        let request_id = lethe.next_approved().await;
        let before = counters(&admin_db, &databases).await;
        let job = StartFulfilment { organization_id: lethe.organization, request_id, attempt: 1 };
        start_fulfilment::run(&job, &lethe.ctx).await.unwrap();
        least_change(&mut lethe_counts, &before, &counters(&admin_db, &databases).await);

        reset_person(&shop).await;
        let before = counters(&admin_db, &databases).await;
        baseline(&pool, &lethe.ctx.keyring, lethe.organization).await;
        least_change(&mut base_counts, &before, &counters(&admin_db, &databases).await);
    }
    let (lethe_counts, base_counts) = (lethe_counts.unwrap(), base_counts.unwrap());

    // 5. The unit cost of a commit: one single-row write transaction in the shop.
    let mut unit = Vec::new();
    for _ in 0..warmup + iterations {
        let t = Instant::now();
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("UPDATE customers SET name = name WHERE id = 1").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        unit.push(t.elapsed());
    }
    let unit = Stats::of(&unit[warmup..]);

    let (job, base) = (Stats::of(&job), Stats::of(&base));
    let (start_s, locate_s, erase_s) = (Stats::of(&start_t), Stats::of(&locate_t), Stats::of(&erase_t));
    let verdict = |ratio: f64| if ratio <= 2.0 { "met" } else { "NOT met" };
    println!("Lethe, whole job (start_fulfilment::run): {job}");
    println!(
        "baseline (one hand-written transaction, same pool, {base_statements} statements incl. BEGIN/COMMIT): {base}; \
         same rows touched per table, same data left"
    );
    println!(
        "whole job / baseline: {:.1}x (median; target at most 2x: {})",
        job.median / base.median,
        verdict(job.median / base.median)
    );
    println!("phases called in sequence:");
    println!("  start (request transition):            {start_s}");
    println!("  tasks::locate_pending (locate + record): {locate_s}");
    println!("  erase::run:                            {erase_s}");
    println!("  erase::run / baseline: {:.1}x", erase_s.median / base.median);
    println!("erase::run taken apart (claim, final task update and completion not included):");
    for (label, xs) in [
        ("recover::request (pending intents)", &parts.recover),
        ("tasks, subject, stores (Lethe's db)", &parts.reads),
        ("locate keys again", &parts.locate),
        ("fresh_schema (introspection)", &parts.schema),
        ("plan", &parts.plan),
        ("sql::erase (intents, store txn, ledger)", &parts.store),
        ("verification locate", &parts.verify),
    ] {
        println!("  {label:<40} {}", Stats::of(xs));
    }
    println!(
        "per erasure (PostgreSQL statistics, least of {COUNT_TRIES} runs): transactions committed (a statement outside \
         a transaction counts as one): Lethe {} in its own database + {} in the shop, baseline {} in the shop; \
         WAL flushes to disk: Lethe {}, baseline {}",
        lethe_counts[0], lethe_counts[1], base_counts[1], lethe_counts[2], base_counts[2]
    );
    println!("one single-row write transaction in the shop (BEGIN, UPDATE, COMMIT; same pool): {unit}");

    // Clean up: both databases are dropped.
    let mut app = lethe.app;
    drop(lethe.ctx);
    sql_store.connection().clone().close().await.ok();
    shop.close().await.ok();
    app.stop().await;
    for name in [shop_name.as_str(), lethe_name.as_str()] {
        admin_db.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.unwrap();
    }
    admin_db.close().await.ok();
}
