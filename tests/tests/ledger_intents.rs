//! Destruction in a customer's store (another database: no shared transaction) and its ledger
//! entry, at every crash point: never a destruction without its entry, never an entry without
//! its destruction, never a count that differs from what the store removed, never twice.

use std::time::Duration;

use futures::FutureExt;
use lethe_entities::entity::organization;
use lethe_entities::ledger::intent::{self, state};
use lethe_entities::ledger::read::{self, EntryFilter};
use lethe_entities::ledger::{EntryKind, NewEntry};
use lethe_tests::app::org_slug;
use lethe_tests::{Backend, TestApp, both_backends, spawn_app};
use lethe_worker::ledger::external::{self, ExternalError, Work};
use lethe_worker::ledger::receipts::{self, Receipt};
use lethe_worker::ledger::recovery::{self, RecoveryPass, StoreResolver};
use lethe_worker::ledger::sweep;
use sea_orm::EntityTrait;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};
use uuid::Uuid;

/// A customer's store with ten customers, on the same kind of database as Lethe's.
async fn customer_store(backend: Backend, dir: &std::path::Path) -> DatabaseConnection {
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("shop.db").display()),
        Backend::Postgres => lethe_tests::postgres::fresh_database().await,
    };
    let store = lethe_worker::database::connect(&url).await.unwrap();
    store
        .execute_unprepared("CREATE TABLE customers (id BIGINT PRIMARY KEY, email VARCHAR(100) NOT NULL)")
        .await
        .unwrap();
    for id in 1..=10 {
        store.execute_unprepared(&format!("INSERT INTO customers VALUES ({id}, 'c{id}@example.com')")).await.unwrap();
    }
    store
}

async fn customers(store: &DatabaseConnection) -> i64 {
    let row = store
        .query_one_raw(sea_orm::Statement::from_string(
            store.get_database_backend(),
            "SELECT COUNT(*) AS n FROM customers",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

/// Deletes customers 1 to 3: the work an erasure does in the store's transaction.
fn delete_three() -> Work {
    Box::new(|txn| {
        async move { Ok(txn.execute_unprepared("DELETE FROM customers WHERE id IN (1, 2, 3)").await?.rows_affected()) }
            .boxed()
    })
}

fn planned() -> NewEntry {
    NewEntry {
        request_id: Some(Uuid::now_v7()),
        store: Some("shop".into()),
        table: Some("customers".into()),
        action: Some("delete_row".into()),
        subject_refs: vec![[5; 32]],
        ..NewEntry::new(EntryKind::Erasure)
    }
}

struct OneStore(DatabaseConnection);

impl StoreResolver for OneStore {
    fn connection(&self, _organization: Uuid, store: &str) -> Option<DatabaseConnection> {
        (store == "shop").then(|| self.0.clone())
    }
}

async fn setup(backend: Backend) -> (TestApp, Uuid, DatabaseConnection, tempfile::TempDir) {
    let app = spawn_app(backend).await;
    let slug = org_slug();
    app.admin(&slug).await;
    let org = organization::Model::find_by_slug(&app.db, &slug).await.unwrap().unwrap().id;
    let dir = tempfile::tempdir().unwrap();
    let store = customer_store(backend, dir.path()).await;
    receipts::ensure_table(&store).await.unwrap();
    (app, org, store, dir)
}

async fn erasures(app: &TestApp, org: Uuid) -> Vec<(u64, u64)> {
    let filter = EntryFilter { kind: Some(EntryKind::Erasure), ..Default::default() };
    read::entries(&app.db, org, &filter, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| (e.seq as u64, e.row_count as u64))
        .collect()
}

both_backends! {
    async fn a_completed_destruction_has_exactly_one_entry_with_its_count(backend: Backend) {
        let (app, org, store, _dir) = setup(backend).await;
        let settled = external::destroy(&app.db, &store, org, &planned(), delete_three()).await.unwrap();
        assert_eq!((settled.seq, settled.row_count), (Some(0), 3));
        assert_eq!(customers(&store).await, 7);
        assert_eq!(erasures(&app, org).await, [(0, 3)]);
        let intent = intent::find(&app.db, settled.intent_id).await.unwrap().unwrap();
        assert_eq!((intent.state.as_str(), intent.row_count, intent.seq), (state::APPLIED, Some(3), Some(0)));
        assert_eq!(receipts::read(&store, settled.intent_id).await.unwrap(), None, "settled receipts are cleaned up");
        // Recovery finds nothing to do; settling again appends nothing.
        let pass = recovery::run_once(&app.db, &OneStore(store.clone()), Duration::ZERO).await.unwrap();
        assert_eq!(pass, RecoveryPass::default());
        assert_eq!(intent::settle_applied(&app.db, settled.intent_id, 3).await.unwrap(), 0);
        assert_eq!(erasures(&app, org).await.len(), 1);
    }

    async fn crash_after_the_intent_before_the_store_voids_it(backend: Backend) {
        let (app, org, store, _dir) = setup(backend).await;
        // The process dies right after step 1.
        let opened = external::open(&app.db, org, &planned()).await.unwrap();
        let pass = recovery::run_once(&app.db, &OneStore(store.clone()), Duration::ZERO).await.unwrap();
        assert_eq!(pass, RecoveryPass { voided: 1, ..Default::default() });
        assert_eq!(customers(&store).await, 10, "nothing was destroyed");
        assert!(erasures(&app, org).await.is_empty(), "no entry without a destruction");
        assert_eq!(intent::find(&app.db, opened.id).await.unwrap().unwrap().state, state::VOID);
        // The voided intent can never commit late: its receipt slot is taken.
        let late = external::apply(&store, opened.id, delete_three()).await;
        assert!(matches!(late, Err(ExternalError::Store(_))), "{late:?}");
        assert_eq!(customers(&store).await, 10);
        // The erasure is simply run again, under a new intent.
        let settled = external::destroy(&app.db, &store, org, &planned(), delete_three()).await.unwrap();
        assert_eq!(settled.row_count, 3);
        assert_eq!(erasures(&app, org).await, [(0, 3)]);
    }

    async fn crash_after_the_store_commits_is_settled_with_the_stores_count(backend: Backend) {
        let (app, org, store, _dir) = setup(backend).await;
        let opened = external::open(&app.db, org, &planned()).await.unwrap();
        let removed = external::apply(&store, opened.id, delete_three()).await.unwrap();
        assert_eq!(removed, 3);
        // The process dies before step 3: destroyed, not yet in the ledger.
        assert!(erasures(&app, org).await.is_empty());
        let pass = recovery::run_once(&app.db, &OneStore(store.clone()), Duration::ZERO).await.unwrap();
        assert_eq!(pass, RecoveryPass { applied: 1, ..Default::default() });
        assert_eq!(erasures(&app, org).await, [(0, 3)], "the entry carries the store's own count");
        // A second recovery, or the original worker waking up and settling, changes nothing.
        assert_eq!(recovery::run_once(&app.db, &OneStore(store.clone()), Duration::ZERO).await.unwrap(), RecoveryPass::default());
        external::settle(&app.db, &store, opened.id, Receipt::Applied { row_count: 3 }).await.unwrap();
        assert_eq!(erasures(&app, org).await.len(), 1, "never recorded twice");
        assert_eq!(customers(&store).await, 7);
    }

    async fn a_failing_store_transaction_destroys_nothing_and_records_nothing(backend: Backend) {
        let (app, org, store, _dir) = setup(backend).await;
        let failing: Work = Box::new(|txn| {
            async move {
                txn.execute_unprepared("DELETE FROM customers WHERE id IN (1, 2, 3)").await?;
                txn.execute_unprepared("DELETE FROM no_such_table").await?;
                Ok(0)
            }
            .boxed()
        });
        let result = external::destroy(&app.db, &store, org, &planned(), failing).await;
        assert!(matches!(result, Err(ExternalError::Store(_))), "{result:?}");
        assert_eq!(customers(&store).await, 10, "rolled back");
        assert!(erasures(&app, org).await.is_empty());
        assert!(intent::pending(&app.db, i64::MAX, 10).await.unwrap().is_empty(), "the intent is settled as void");
    }

    async fn recovery_skips_a_store_it_cannot_reach_and_settles_later(backend: Backend) {
        let (app, org, store, _dir) = setup(backend).await;
        let opened = external::open(&app.db, org, &planned()).await.unwrap();
        external::apply(&store, opened.id, delete_three()).await.unwrap();
        struct Nowhere;
        impl StoreResolver for Nowhere {
            fn connection(&self, _: Uuid, _: &str) -> Option<DatabaseConnection> {
                None
            }
        }
        let pass = recovery::run_once(&app.db, &Nowhere, Duration::ZERO).await.unwrap();
        assert_eq!(pass, RecoveryPass { skipped: 1, ..Default::default() });
        // Young intents are left to the worker that is still running them.
        let pass = recovery::run_once(&app.db, &OneStore(store.clone()), Duration::from_secs(3600)).await.unwrap();
        assert_eq!(pass, RecoveryPass::default());
        let pass = recovery::run_once(&app.db, &OneStore(store.clone()), Duration::ZERO).await.unwrap();
        assert_eq!(pass.applied, 1);
        assert_eq!(erasures(&app, org).await, [(0, 3)]);
    }
}

/// Recovery runs while the original transaction is still open (a stalled worker): on
/// PostgreSQL the void receipt lands first, so the stalled transaction can no longer commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_during_an_open_store_transaction_fences_it_off() {
    let (app, org, store, _dir) = setup(Backend::Postgres).await;
    let opened = external::open(&app.db, org, &planned()).await.unwrap();
    let txn = store.begin().await.unwrap();
    txn.execute_unprepared("DELETE FROM customers WHERE id IN (1, 2, 3)").await.unwrap();
    let pass = recovery::run_once(&app.db, &OneStore(store.clone()), Duration::ZERO).await.unwrap();
    assert_eq!(pass, RecoveryPass { voided: 1, ..Default::default() });
    // The stalled worker wakes up and tries to finish: its receipt collides with the void one.
    let receipt: Result<(), DbErr> = receipts::record(&txn, opened.id, 3).await;
    assert!(receipt.is_err(), "the receipt slot is taken");
    drop(txn);
    assert_eq!(customers(&store).await, 10, "the stalled destruction never committed");
    assert!(erasures(&app, org).await.is_empty());
}

both_backends! {
    async fn concurrent_settlements_get_their_own_entries_once(backend: Backend) {
        let (app, org, _store, _dir) = setup(backend).await;
        // Twelve jobs with three intents each, and one intent settled twice by the same job.
        let mut jobs = Vec::new();
        for _ in 0..12 {
            let planned = vec![planned(), planned(), planned()];
            let opened = intent::open_many(&app.db, org, &planned).await.unwrap();
            jobs.push(opened.iter().enumerate().map(|(i, o)| (o.id, i as u64 + 1)).collect::<Vec<_>>());
        }
        let settlements = lethe_worker::ledger::Settlements::default();
        let answers = futures::future::join_all(jobs.iter().map(|job| settlements.settle(&app.db, org, job.clone()))).await;
        let again = settlements.settle(&app.db, org, jobs[0].clone()).await.unwrap();

        let entries = erasures(&app, org).await;
        assert_eq!(entries.len(), 36, "one entry per intent, none twice");
        let mut seen = std::collections::BTreeSet::new();
        for (job, answer) in jobs.iter().zip(answers) {
            let seqs = answer.unwrap();
            assert_eq!(seqs.len(), job.len());
            for ((intent_id, rows), seq) in job.iter().zip(&seqs) {
                assert!(seen.insert(*seq), "entry {seq} answered twice");
                let entry = entries.iter().find(|e| e.0 == *seq).expect("the answered entry exists");
                assert_eq!(entry.1, *rows, "the entry carries this intent's count");
                let stored = intent::find(&app.db, *intent_id).await.unwrap().unwrap();
                assert_eq!((stored.state.as_str(), stored.seq), (state::APPLIED, Some(*seq as i64)));
            }
        }
        assert_eq!(again, answers_of(&app, &jobs[0]).await, "settling again answers the same entries");
    }
}

/// The entries of a job's intents as stored.
async fn answers_of(app: &TestApp, job: &[(Uuid, u64)]) -> Vec<u64> {
    let mut seqs = Vec::new();
    for (id, _) in job {
        seqs.push(intent::find(&app.db, *id).await.unwrap().unwrap().seq.unwrap() as u64);
    }
    seqs
}

/// The periodic sweep reaches every organization's stores through the registry: a SQL store's
/// committed destruction gets its entry with the store's count, an uncommitted one is voided; a
/// Redis store's applied receipt likewise, a missing one fenced and voided; an intent of a store
/// that no longer exists stays pending; young intents are left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_settles_forgotten_intents_of_sql_and_redis_stores() {
    use redis::AsyncCommands;
    let (app, org, store, dir) = setup(Backend::Sqlite).await;
    let slug = organization::Entity::find_by_id(org).one(&app.db).await.unwrap().unwrap().slug;
    let admin = app.operator_in(&slug, "stores@sweep.test", lethe_entities::Role::Admin).await;
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("shop.db").display());
    let redis_url = std::env::var("LETHE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    for (name, kind, url) in [("shop", "sqlite", url.as_str()), ("cache", "redis", redis_url.as_str())] {
        let body = serde_json::json!({"name": name, "kind": kind, "connection": {"url": url}});
        let (status, created) = app.post("/v1/stores", Some(&admin), body).await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{created}");
    }
    let on = |store: &str| NewEntry { store: Some(store.into()), ..planned() };
    let committed = external::open(&app.db, org, &planned()).await.unwrap();
    external::apply(&store, committed.id, delete_three()).await.unwrap();
    let abandoned = external::open(&app.db, org, &planned()).await.unwrap();
    let redis_applied = external::open(&app.db, org, &on("cache")).await.unwrap();
    let redis_abandoned = external::open(&app.db, org, &on("cache")).await.unwrap();
    let gone = external::open(&app.db, org, &on("no-such-store")).await.unwrap();
    let client = redis::Client::open(redis_url.as_str()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let receipt = lethe_worker::stores::redis::receipts::receipt_key(redis_applied.id);
    let _: () = c.set_ex(&receipt, "applied:4", 600).await.unwrap();

    let registry = lethe_worker::stores::Registry::new(std::sync::Arc::new(lethe_tests::app::development_targets()));
    let master = lethe_entities::MasterKey::from_base64(&app.master_key_base64()).unwrap();
    let keyring = lethe_entities::Keyring::derive(&master);
    let young = sweep::run_once(&app.db, &registry, &keyring, Duration::from_secs(3600)).await.unwrap();
    assert_eq!(young, RecoveryPass::default(), "young intents are left to their jobs");
    let pass = sweep::run_once(&app.db, &registry, &keyring, Duration::ZERO).await.unwrap();
    assert_eq!(pass, RecoveryPass { applied: 2, voided: 2, skipped: 1 });
    let state = |id: Uuid| {
        let db = app.db.clone();
        async move { intent::find(&db, id).await.unwrap().unwrap() }
    };
    let settled = state(committed.id).await;
    assert_eq!((settled.state.as_str(), settled.row_count), (state::APPLIED, Some(3)));
    assert_eq!(state(abandoned.id).await.state, state::VOID);
    let settled = state(redis_applied.id).await;
    assert_eq!((settled.state.as_str(), settled.row_count), (state::APPLIED, Some(4)));
    assert_eq!(state(redis_abandoned.id).await.state, state::VOID);
    assert_eq!(state(gone.id).await.state, state::PENDING, "a store that is gone: left pending");
    let exists: bool = c.exists(&receipt).await.unwrap();
    assert!(!exists, "the settled receipt is removed");
    let fenced: String = c.get(lethe_worker::stores::redis::receipts::receipt_key(redis_abandoned.id)).await.unwrap();
    assert!(fenced.starts_with("void"), "{fenced}");
    assert_eq!(erasures(&app, org).await.iter().map(|e| e.1).collect::<Vec<_>>(), [3, 4]);
    let _: () = c.del(lethe_worker::stores::redis::receipts::receipt_key(redis_abandoned.id)).await.unwrap();
}

/// Workers erasing in one store for the first time create its receipts table at the same
/// moment; on PostgreSQL the losers of that race see the winner's catalog rows (a unique
/// violation, or "type already exists"), which must not fail their erasure (it once failed a
/// store task in the kill test).
#[tokio::test]
async fn many_sessions_create_the_receipts_table_at_once() {
    for _ in 0..10 {
        let url = lethe_tests::postgres::fresh_database().await;
        let mut sessions = Vec::new();
        for _ in 0..8 {
            sessions.push(lethe_worker::database::connect(&url).await.unwrap());
        }
        let created = futures::future::join_all(sessions.iter().map(receipts::ensure_table)).await;
        assert!(created.iter().all(Result::is_ok), "{created:?}");
    }
}
