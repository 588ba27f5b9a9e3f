//! Crashes and restarts lose no request and never do work twice.
//!
//! * A request accepted while no worker runs is worked once a worker starts.
//! * If the process dies between committing a change and enqueueing its job, the reconciler
//!   enqueues the job, exactly once, however often it runs.
//! * Running the fulfilment job twice starts fulfilment once.

use std::time::Duration;

use lethe_api::engine::Mode;
use lethe_entities::entity::request;
use lethe_tests::app::org_slug;
use lethe_tests::{both_backends, spawn_app_with};
use lethe_worker::jobs::start_fulfilment;
use lethe_worker::queue::{FollowUp, StartFulfilment};
use lethe_worker::{JobQueue, reconcile};
use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter, Statement};
use serde_json::json;

fn jobs_table(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => "apalis.jobs",
        _ => "Jobs",
    }
}

async fn job_count(db: &DatabaseConnection, queue: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) AS n FROM {} WHERE job_type = '{queue}'", jobs_table(db));
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
    row.try_get("", "n").unwrap()
}

/// Simulates a crash between commit and enqueue: the job is gone, the row is not.
async fn lose_all_jobs(db: &DatabaseConnection) {
    db.execute_unprepared(&format!("DELETE FROM {}", jobs_table(db))).await.unwrap();
}

both_backends! {
    async fn requests_accepted_without_a_worker_are_worked_after_restart(backend: Backend) {
        let app = spawn_app_with(backend, Mode::Serve, |_| {}).await;
        let org = org_slug();
        app.admin(&org).await;
        let req = app.submit(&org, "erasure", "gdpr", "kim@example.com").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(lethe_tests::mailbox::wait_for_messages(&app.outbox, 0).await.is_empty(), "no worker, no mail yet");

        let app = app.restart(Mode::All).await;
        let code = app.code_for("kim@example.com", 1).await;
        let (status, view) = app.post(&format!("/v1/requests/{}/verify", req.id), None, json!({"token": req.token, "code": code})).await;
        assert_eq!((status, view["state"].as_str()), (StatusCode::OK, Some("pending_approval")));
    }

    async fn the_reconciler_recovers_lost_jobs_exactly_once(backend: Backend) {
        let app = spawn_app_with(backend, Mode::Serve, |_| {}).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let queue = JobQueue::for_database(&app.db);

        // A submission whose verification job was lost.
        let unverified = app.submit(&org, "access", "gdpr", "lee@example.com").await;
        lose_all_jobs(&app.db).await;
        let pass = reconcile::run_once(&app.db, &queue, Duration::ZERO).await.unwrap();
        assert_eq!(pass.verification, 1);
        let again = reconcile::run_once(&app.db, &queue, Duration::ZERO).await.unwrap();
        assert_eq!(again.verification, 1, "still missing a code, so it is offered again...");
        assert_eq!(job_count(&app.db, "lethe.send_verification_code").await, 1, "...but stored once");
        // Within the grace period the reconciler leaves fresh requests to the API.
        let early = reconcile::run_once(&app.db, &queue, Duration::from_secs(3600)).await.unwrap();
        assert_eq!(early, reconcile::Pass::default());

        // Worker up: the recovered job sends the code; once verified the reconciler is quiet.
        let app = app.restart(Mode::All).await;
        let code = app.code_for("lee@example.com", 1).await;
        let (status, _) = app.post(&format!("/v1/requests/{}/verify", unverified.id), None, json!({"token": unverified.token, "code": code})).await;
        assert_eq!(status, StatusCode::OK);
        let app = app.restart(Mode::Serve).await;

        // An approval whose fulfilment job was lost.
        let (status, _) = app.post(&format!("/v1/requests/{}/approve", unverified.id), Some(&admin), json!({})).await;
        assert_eq!(status, StatusCode::OK);
        lose_all_jobs(&app.db).await;
        let queue = JobQueue::for_database(&app.db);
        for _ in 0..3 {
            let pass = reconcile::run_once(&app.db, &queue, Duration::ZERO).await.unwrap();
            assert_eq!(pass, reconcile::Pass { verification: 0, fulfilment: 1, locate: 0 });
        }
        assert_eq!(job_count(&app.db, "lethe.start_fulfilment").await, 1);
        // Long after approval the job may have used up its attempts: one fresh job per period.
        let req = request::Entity::find_by_id(unverified.id.parse::<uuid::Uuid>().unwrap())
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        let later = req.updated_at + reconcile::STUCK_AFTER;
        let key = |at| reconcile::fulfilment(&req, at).key();
        let fresh = key(later);
        assert_ne!(fresh, FollowUp::approved(&req).key());
        assert_eq!(fresh, key(later + Duration::from_secs(1)), "stable within a period");
        assert_ne!(fresh, key(later + reconcile::STUCK_AFTER), "new in the next period");
        assert_eq!(key(req.updated_at + Duration::from_secs(60)), FollowUp::approved(&req).key(), "the API's key while fresh");
        // And the reconciler does enqueue it: an approval stuck for 20 minutes gets a second job,
        // once per period however often the reconciler runs; both run, fulfilment starts once.
        request::Entity::update_many()
            .col_expr(request::Column::UpdatedAt, Expr::value(time::OffsetDateTime::now_utc() - Duration::from_secs(20 * 60)))
            .filter(request::Column::Id.eq(req.id))
            .exec(&app.db)
            .await
            .unwrap();
        for _ in 0..3 {
            let pass = reconcile::run_once(&app.db, &queue, Duration::ZERO).await.unwrap();
            assert_eq!(pass.fulfilment, 1);
        }
        assert_eq!(job_count(&app.db, "lethe.start_fulfilment").await, 2);
        let app = app.restart(Mode::All).await;
        let detail = app.wait_for_state(&unverified.id, &admin, "in_progress").await;
        let started = detail["timeline"].as_array().unwrap().iter().filter(|e| e["kind"] == "started").count();
        assert_eq!(started, 1);
    }

    async fn running_fulfilment_twice_starts_once(backend: Backend) {
        let app = spawn_app_with(backend, Mode::All, |_| {}).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let r = app.verified(&org, "erasure", "gdpr", "max@example.com").await;
        // No worker from here on: the test runs the job by hand. Tokens survive restarts.
        let app = app.restart(Mode::Serve).await;
        let (status, _) = app.post(&format!("/v1/requests/{}/approve", r.id), Some(&admin), json!({})).await;
        assert_eq!(status, StatusCode::OK);

        let org_id = lethe_entities::entity::organization::Model::find_by_slug(&app.db, &org).await.unwrap().unwrap().id;
        let job = StartFulfilment { organization_id: org_id, request_id: r.id.parse().unwrap(), attempt: 1 };
        let ctx = lethe_worker::JobContext {
            db: app.db.clone(),
            keyring: lethe_entities::Keyring::derive(&lethe_entities::MasterKey::generate()),
            mailer: std::sync::Arc::new(lethe_worker::mail::Mailer::memory("t@lethe.test").unwrap()),
            queue: JobQueue::for_database(&app.db),
            verification: lethe_worker::VerificationSettings::default(),
            ledger: std::sync::Arc::new(lethe_entities::ledger::signer::LedgerSigner::from_key(
                ed25519_dalek::SigningKey::from_bytes(&[1; 32]),
            )),
            checkpoints: Default::default(),
            stores: lethe_worker::stores::Registry::new(std::sync::Arc::new(lethe_tests::app::development_targets())),
            services: Default::default(),
            exports: Default::default(),
            settlements: Default::default(),
            retry: Default::default(),
            counters: Default::default(),
        };
        let (a, b) = tokio::join!(start_fulfilment::run(&job, &ctx), start_fulfilment::run(&job, &ctx));
        // One run starts it; the other sees it started (or lost the race and will be retried).
        assert!(a.is_ok() || b.is_ok());
        start_fulfilment::run(&job, &ctx).await.unwrap();
        let (_, detail) = app.get(&format!("/v1/requests/{}", r.id), Some(&admin)).await;
        assert_eq!(detail["state"], "in_progress");
        let started = detail["timeline"].as_array().unwrap().iter().filter(|e| e["kind"] == "started").count();
        assert_eq!(started, 1, "fulfilment started exactly once");
    }
}
