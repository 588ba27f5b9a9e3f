//! Outbound webhooks, end to end: a real receiver process checks every delivery with the
//! Standard Webhooks reference library from PyPI ([`lethe_tests::webhook_receiver`]). Events
//! come from the outbox written in each change's own transaction, in order per request; failing
//! endpoints are retried on the schedule, then disabled with their admins e-mailed, and get the
//! events kept for them once enabled again; secrets rotate with an overlap.

use lethe_entities::domain::enums::Role;
use lethe_entities::entity::webhook_event;
use lethe_tests::app::org_slug;
use lethe_tests::portal::people_store;
use lethe_tests::webhook_receiver::{Receiver, types_for};
use lethe_tests::{Backend, TestApp, mailbox, spawn_app, spawn_app_with};
use lethe_worker::targets::TargetSettings;
use reqwest::StatusCode;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

/// Creates an endpoint at `url` for `events`; returns its id and secret.
async fn endpoint(app: &TestApp, admin: &str, url: &str, events: &[&str]) -> (String, String) {
    let (status, created) = app
        .post("/v1/webhooks", Some(admin), json!({ "url": url, "description": "test receiver", "event_types": events }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{created}");
    (created["webhook"]["id"].as_str().unwrap().to_owned(), secret)
}

/// Waits until endpoint `id`'s delivery log satisfies `done` (30 s at most), and returns it.
async fn delivery_log(app: &TestApp, admin: &str, id: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (status, log) = app.get(&format!("/v1/webhooks/{id}/deliveries"), Some(admin)).await;
        assert_eq!(status, StatusCode::OK, "{log}");
        let log = log.as_array().cloned().unwrap_or_default();
        if done(&log) {
            return log;
        }
        assert!(std::time::Instant::now() < deadline, "the delivery log never got there: {log:#?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

const REQUEST_EVENTS: [&str; 9] = [
    "request.received",
    "request.verified",
    "request.approved",
    "request.denied",
    "request.extended",
    "request.on_hold",
    "request.completed",
    "request.failed",
    "request.canceled",
];

async fn request_events_arrive_signed_and_in_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let receiver = Receiver::start();
    let org = org_slug();
    let admin = app.admin(&org).await;
    let (id, secret) = endpoint(&app, &admin, &receiver.url("/hooks"), &REQUEST_EVENTS).await;
    receiver.verify_with(&[&secret]).await;

    let email = "webhook-subject@example.com";
    let _store = people_store(&app, &admin, &[email]).await;
    let req = app.verified(&org, "erasure", "gdpr", email).await;
    let (status, body) = app.post(&format!("/v1/requests/{}/approve", req.id), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.wait_for_state(&req.id, &admin, "completed").await;

    let received = receiver
        .wait_until("request.completed", |d| types_for(d, &req.id).contains(&"request.completed".to_owned()))
        .await;
    let types = types_for(&received, &req.id);
    assert_eq!(
        types,
        ["request.received", "request.verified", "request.approved", "request.completed"],
        "{received:#?}"
    );
    for delivery in &received {
        assert_eq!(delivery["verified"], json!([true]), "the reference library verifies every delivery: {delivery}");
        assert_eq!(delivery["path"], "/hooks");
        assert!(delivery["id"].as_str().unwrap().starts_with("msg_"));
        let text = delivery["payload"].to_string();
        assert!(!text.contains("webhook-subject"), "no identity in a payload: {text}");
        assert_eq!(delivery["payload"]["data"]["request"]["kind"], "erasure");
        assert_eq!(delivery["payload"]["data"]["request"]["regime"], "gdpr");
        assert!(delivery["payload"]["data"]["request"]["due_at"].is_string());
    }
    let completed = received.iter().find(|d| d["payload"]["type"] == "request.completed").unwrap();
    assert_eq!(completed["payload"]["data"]["state"], "completed");
    assert_eq!(completed["payload"]["data"]["previous_state"], "in_progress");
    let link = completed["payload"]["data"]["request"]["links"]["api"].as_str().unwrap();
    assert!(link.ends_with(&format!("/v1/requests/{}", req.id)), "{link}");

    // The log shows each delivery with its one attempt and the answer.
    let log =
        delivery_log(&app, &admin, &id, |log| log.len() == 4 && log.iter().all(|d| d["status"] != "pending")).await;
    for delivery in &log {
        assert_eq!(delivery["status"], "succeeded", "{delivery}");
        assert_eq!(delivery["attempt_log"][0]["http_status"], 200);
        assert_eq!(delivery["attempt_log"][0]["response_excerpt"], "ok");
    }

    // Nothing happened, nothing is announced: a refused transition writes no event.
    let events = webhook_event::Entity::find().count(&app.db).await.unwrap();
    let (status, problem) =
        app.post(&format!("/v1/requests/{}/deny", req.id), Some(&admin), json!({"ground": "excessive"})).await;
    assert_eq!(problem["code"], "invalid_transition", "{status}: {problem}");
    assert_eq!(webhook_event::Entity::find().count(&app.db).await.unwrap(), events);
}

#[tokio::test]
async fn request_events_arrive_signed_and_in_order_sqlite() {
    request_events_arrive_signed_and_in_order(Backend::Sqlite).await;
}

#[tokio::test]
async fn request_events_arrive_signed_and_in_order_postgres() {
    request_events_arrive_signed_and_in_order(Backend::Postgres).await;
}

async fn failing_endpoints_are_retried_then_disabled(backend: Backend) {
    let app = spawn_app(backend).await;
    let receiver = Receiver::start();
    let org = org_slug();
    let admin = app.admin(&org).await;
    let (id, secret) = endpoint(&app, &admin, &receiver.url("/down"), &["request.received"]).await;
    receiver.configure(json!({ "secrets": [secret], "status": 503 })).await;

    // A test ping: attempted on the whole schedule (4 attempts in tests), then failed for good.
    let (status, queued) = app.post(&format!("/v1/webhooks/{id}/test"), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let received = receiver.wait_until("four attempts", |d| d.len() >= 4).await;
    assert!(received.iter().all(|d| d["payload"]["type"] == "webhook.test" && d["verified"] == json!([true])));
    assert!(received.windows(2).all(|w| w[0]["id"] == w[1]["id"]), "retries keep the webhook-id");

    // The endpoint is disabled, its admins are told, and nothing more is attempted.
    let admin_email = format!("admin@{org}.test");
    let mail = mailbox::wait_for_message_with(&app.outbox, &admin_email, &id).await;
    assert!(mail.contains("webhook_failing"), "{mail}");
    let (_, view) = app.get(&format!("/v1/webhooks/{id}"), Some(&admin)).await;
    assert_eq!((view["enabled"].clone(), view["disabled_reason"].clone()), (json!(false), json!("failing")), "{view}");
    let log = delivery_log(&app, &admin, &id, |log| log.len() == 1 && log[0]["status"] != "pending").await;
    assert_eq!(log[0]["status"], "failed", "{log:#?}");
    assert_eq!(log[0]["attempts"], 4);
    let codes: Vec<&Value> = log[0]["attempt_log"].as_array().unwrap().iter().map(|a| &a["http_status"]).collect();
    assert_eq!(codes, [&json!(503); 4]);
    assert_eq!(log[0]["attempt_log"][0]["response_excerpt"], "failing on purpose");
    assert_eq!(receiver.received().await.len(), 4);
    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("lethe_webhook_endpoints_failing 1"), "{metrics}");
    assert!(metrics.contains("lethe_webhook_deliveries{status=\"failed\"} 1"), "{metrics}");

    // While it is disabled, events are kept for it; enabled again, they are delivered.
    let req = app.submit(&org, "access", "gdpr", "kept@example.com").await;
    let (status, _) = app.post(&format!("/v1/webhooks/{id}/test"), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "a disabled endpoint takes no ping");
    receiver.configure(json!({ "status": 200 })).await;
    let (status, view) = app.patch(&format!("/v1/webhooks/{id}"), &admin, json!({ "enabled": true })).await;
    assert_eq!((status, view["enabled"].clone()), (StatusCode::OK, json!(true)), "{view}");
    let received = receiver
        .wait_until("the kept event", |d| {
            types_for(d, &req.id) == ["request.received"] && d.last().unwrap()["status"] == 200
        })
        .await;
    assert_eq!(received.last().unwrap()["verified"], json!([true]));

    // The failed ping can be sent again by hand: the same webhook-id, now taken.
    let failed = log[0]["id"].as_str().unwrap();
    let (status, _) =
        app.post(&format!("/v1/webhooks/{id}/deliveries/{failed}/redeliver"), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let received = receiver
        .wait_until("the redelivered ping", |d| {
            d.iter().any(|x| x["payload"]["type"] == "webhook.test" && x["status"] == 200)
        })
        .await;
    let ping_ids: Vec<&Value> =
        received.iter().filter(|d| d["payload"]["type"] == "webhook.test").map(|d| &d["id"]).collect();
    assert!(ping_ids.windows(2).all(|w| w[0] == w[1]));
}

#[tokio::test]
async fn failing_endpoints_are_retried_then_disabled_sqlite() {
    failing_endpoints_are_retried_then_disabled(Backend::Sqlite).await;
}

#[tokio::test]
async fn failing_endpoints_are_retried_then_disabled_postgres() {
    failing_endpoints_are_retried_then_disabled(Backend::Postgres).await;
}

#[tokio::test]
async fn a_delivery_that_fails_passing_succeeds_on_a_retry_and_secrets_rotate_with_overlap() {
    let app = spawn_app(Backend::Sqlite).await;
    let receiver = Receiver::start();
    let org = org_slug();
    let admin = app.admin(&org).await;
    let (id, old) = endpoint(&app, &admin, &receiver.url("/flaky"), &["request.received"]).await;
    receiver.configure(json!({ "secrets": [old], "fail": 2 })).await;
    let req = app.submit(&org, "access", "ccpa", "flaky@example.com").await;
    let received = receiver.wait_until("the third attempt", |d| d.len() >= 3).await;
    let statuses: Vec<&Value> = received.iter().map(|d| &d["status"]).collect();
    assert_eq!(statuses, [&json!(500), &json!(500), &json!(200)]);
    assert_eq!(types_for(&received, &req.id), ["request.received"; 3]);
    let log = delivery_log(&app, &admin, &id, |log| log.len() == 1 && log[0]["status"] != "pending").await;
    let attempt_statuses: Vec<&Value> =
        log[0]["attempt_log"].as_array().unwrap().iter().map(|a| &a["http_status"]).collect();
    assert_eq!(
        (log[0]["status"].clone(), attempt_statuses),
        (json!("succeeded"), vec![&json!(500), &json!(500), &json!(200)])
    );

    // Rotation with an overlap: both secrets sign, each verifies on its own.
    let (status, rotated) =
        app.post(&format!("/v1/webhooks/{id}/rotate-secret"), Some(&admin), json!({ "overlap_hours": 1 })).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(rotated["webhook"]["previous_secret_expires_at"].is_string());
    receiver.verify_with(&[&old, &new]).await;
    let (status, _) = app.post(&format!("/v1/webhooks/{id}/test"), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let received = receiver.wait_until("the ping", |d| d.iter().any(|x| x["payload"]["type"] == "webhook.test")).await;
    let ping = received.iter().find(|x| x["payload"]["type"] == "webhook.test").unwrap();
    assert_eq!(ping["verified"], json!([true, true]), "{ping}");
    assert_eq!(ping["signature"].as_str().unwrap().split(' ').count(), 2);

    // Without an overlap, the old secret stops at once.
    let (_, rotated) =
        app.post(&format!("/v1/webhooks/{id}/rotate-secret"), Some(&admin), json!({ "overlap_hours": 0 })).await;
    let newest = rotated["secret"].as_str().unwrap().to_owned();
    receiver.verify_with(&[&new, &newest]).await;
    app.post(&format!("/v1/webhooks/{id}/test"), Some(&admin), json!({})).await;
    let received = receiver
        .wait_until("the second ping", |d| d.iter().filter(|x| x["payload"]["type"] == "webhook.test").count() == 2)
        .await;
    let ping = received.iter().rfind(|x| x["payload"]["type"] == "webhook.test").unwrap();
    assert_eq!(ping["verified"], json!([false, true]), "{ping}");
    // The secret is never shown again.
    let (_, view) = app.get(&format!("/v1/webhooks/{id}"), Some(&admin)).await;
    assert!(!view.to_string().contains("whsec_"), "{view}");
}

#[tokio::test]
async fn endpoints_are_checked_scoped_and_kept_to_their_organization() {
    let app = spawn_app_with(Backend::Sqlite, lethe_api::engine::Mode::All, |s| {
        s.targets = TargetSettings { refuse_local: true, ..TargetSettings::development() };
    })
    .await;
    let org = org_slug();
    let admin = app.admin(&org).await;
    let invalid = [
        (json!({ "url": "ftp://hooks.example.com/x", "event_types": ["request.received"] }), "url"),
        (json!({ "url": "https://user:pw@hooks.example.com/x", "event_types": ["request.received"] }), "url"),
        (json!({ "url": "http://127.0.0.1:9/x", "event_types": ["request.received"] }), "url"),
        (json!({ "url": "https://10.1.2.3/x", "event_types": ["request.received"] }), "url"),
        (json!({ "url": "https://1.1.1.1/x", "event_types": [] }), "event_types"),
        (json!({ "url": "https://1.1.1.1/x", "event_types": ["request.nope"] }), "event_types"),
        (json!({ "url": "https://1.1.1.1/x", "event_types": ["webhook.test"] }), "event_types"),
    ];
    for (body, field) in invalid {
        let (status, problem) = app.post("/v1/webhooks", Some(&admin), body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {problem}");
        assert_eq!(problem["code"], "validation_failed");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        assert!(!problem.to_string().contains("local address"), "the refusal does not say why: {problem}");
    }
    let (status, _) = app
        .post(
            "/v1/webhooks",
            Some(&admin),
            json!({ "url": "https://1.1.1.1/x", "event_types": ["request.received"], "extra": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, created) = app
        .post(
            "/v1/webhooks",
            Some(&admin),
            json!({ "url": "https://1.1.1.1/hooks?token=abc", "event_types": ["request.completed"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["webhook"]["id"].as_str().unwrap();

    // Operators read, admins and keys with `webhooks:manage` change; other keys neither.
    let operator = app.operator_in(&org, &format!("operator@{org}.test"), Role::Operator).await;
    let (status, list) = app.get("/v1/webhooks", Some(&operator)).await;
    assert_eq!((status, list.as_array().map(Vec::len)), (StatusCode::OK, Some(1)));
    assert_eq!(list[0]["url"], "https://1.1.1.1/…", "readers see no token: {list}");
    let (status, _) = app.delete(&format!("/v1/webhooks/{id}"), &operator).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let key = |scopes: Value| {
        let (app, admin) = (&app, &admin);
        async move {
            let (status, key) =
                app.post("/v1/api-keys", Some(admin), json!({ "name": "hooks", "scopes": scopes })).await;
            assert_eq!(status, StatusCode::CREATED, "{key}");
            key["secret"].as_str().unwrap().to_owned()
        }
    };
    let manager = key(json!(["webhooks:manage"])).await;
    let reader = key(json!(["requests:read"])).await;
    let (status, _) = app.get("/v1/webhooks", Some(&reader)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, changed) = app
        .patch(&format!("/v1/webhooks/{id}"), &manager, json!({ "event_types": ["request.failed", "task.waiting"] }))
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["event_types"], json!(["request.failed", "task.waiting"]));
    assert_eq!(changed["url"], "https://1.1.1.1/hooks?token=abc");

    // Another organization sees nothing of it.
    let other = app.admin(&org_slug()).await;
    let (status, problem) = app.get(&format!("/v1/webhooks/{id}"), Some(&other)).await;
    assert_eq!((status, problem["code"].clone()), (StatusCode::NOT_FOUND, json!("webhook_not_found")));
    let (status, _) = app.post(&format!("/v1/webhooks/{id}/test"), Some(&other), json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = app.get("/v1/webhooks", Some(&other)).await;
    assert_eq!(list, json!([]));

    let (status, _) = app.delete(&format!("/v1/webhooks/{id}"), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get(&format!("/v1/webhooks/{id}"), Some(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_kind_of_change_is_announced_without_personal_data() {
    let app = spawn_app(Backend::Sqlite).await;
    let receiver = Receiver::start();
    let org = org_slug();
    let admin = app.admin(&org).await;
    let every = [
        "task.waiting",
        "export.ready",
        "retention_run.finished",
        "hold.placed",
        "hold.released",
        "ledger.checkpoint_signed",
    ];
    let (_, secret) = endpoint(&app, &admin, &receiver.url("/all"), &every).await;
    receiver.verify_with(&[&secret]).await;
    let arrived = |kind: &'static str| move |d: &[Value]| d.iter().any(|x| x["payload"]["type"] == kind);

    // An access request: its package's link is sent.
    let email = "every-kind@example.com";
    let dir = people_store(&app, &admin, &[email]).await;
    let access = app.verified(&org, "access", "gdpr", email).await;
    app.post(&format!("/v1/requests/{}/approve", access.id), Some(&admin), json!({})).await;
    let received = receiver.wait_until("export.ready", arrived("export.ready")).await;
    let ready = received.iter().find(|x| x["payload"]["type"] == "export.ready").unwrap();
    assert_eq!(ready["payload"]["data"]["request"]["id"], access.id.as_str());
    assert!(
        ready["payload"]["data"]["export_id"].is_string() && ready["payload"]["data"]["expires_at"].is_number(),
        "{ready}"
    );

    // A manual store: the next request's task there waits for an operator.
    let (status, manual) = app
        .post(
            "/v1/stores",
            Some(&admin),
            json!({"name": "paper-files", "kind": "manual", "instructions": "Shred them."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{manual}");
    let erasure = app.verified(&org, "erasure", "gdpr", "every-kind-2@example.com").await;
    app.post(&format!("/v1/requests/{}/approve", erasure.id), Some(&admin), json!({})).await;
    let received = receiver.wait_until("task.waiting", arrived("task.waiting")).await;
    let waiting = received.iter().find(|x| x["payload"]["type"] == "task.waiting").unwrap();
    assert_eq!(waiting["payload"]["data"]["waits_for"], "operator", "{waiting}");
    assert_eq!(waiting["payload"]["data"]["store_id"], manual["id"], "{waiting}");
    assert_eq!(waiting["payload"]["data"]["request"]["id"], erasure.id.as_str());

    // A legal hold placed and released.
    let (_, stores) = app.get("/v1/stores", Some(&admin)).await;
    let store = stores.as_array().unwrap().iter().find(|s| s["name"] == "people").unwrap()["id"].clone();
    let hold = json!({"scope": "store", "store_id": store, "reason": "Litigation 12", "owner": "legal@example.com"});
    let (status, hold) = app.post("/v1/holds", Some(&admin), hold).await;
    assert_eq!(status, StatusCode::CREATED, "{hold}");
    let (status, _) = app
        .post(
            &format!("/v1/holds/{}/release", hold["id"].as_str().unwrap()),
            Some(&admin),
            json!({"reason": "settled"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let received = receiver.wait_until("hold.released", arrived("hold.released")).await;
    let placed = received.iter().find(|x| x["payload"]["type"] == "hold.placed").unwrap();
    assert_eq!(
        (placed["payload"]["data"]["hold_id"].clone(), placed["payload"]["data"]["scope"].clone()),
        (hold["id"].clone(), json!("store"))
    );

    // A retention run over the store's table.
    let people =
        sea_orm::Database::connect(format!("sqlite://{}", dir.path().join("people.db").display())).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(&people, "CREATE TABLE visits (id INTEGER PRIMARY KEY, at TEXT)")
        .await
        .unwrap();
    let policy = json!({"name": "visits", "store_id": store, "table": "visits", "age_column": "at", "max_age": "P30D",
                        "action": {"type": "delete_row"}, "legal_basis": "Visits are kept 30 days"});
    let (status, policy) = app.post("/v1/retention/policies", Some(&admin), policy).await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    let (status, run) = app
        .post(&format!("/v1/retention/policies/{}/run", policy["id"].as_str().unwrap()), Some(&admin), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let received = receiver.wait_until("retention_run.finished", arrived("retention_run.finished")).await;
    let finished = received.iter().find(|x| x["payload"]["type"] == "retention_run.finished").unwrap();
    assert_eq!(finished["payload"]["data"]["run_id"], run["id"], "{finished}");
    assert_eq!(
        (finished["payload"]["data"]["state"].clone(), finished["payload"]["data"]["rows"].clone()),
        (json!("done"), json!(0))
    );

    // A checkpoint signed on demand.
    let (status, _) = app.post("/v1/ledger/checkpoints", Some(&admin), json!({})).await;
    assert!(status.is_success(), "{status}");
    let received = receiver.wait_until("ledger.checkpoint_signed", arrived("ledger.checkpoint_signed")).await;

    for delivery in &received {
        assert_eq!(delivery["verified"], json!([true]), "{delivery}");
        let text = delivery["payload"].to_string();
        for secret in
            ["every-kind", "Litigation", "legal@example.com", "settled", "Shred", "paper-files", "Visits are kept"]
        {
            assert!(!text.contains(secret), "{secret:?} in a payload: {text}");
        }
    }
}

#[tokio::test]
async fn ended_deliveries_are_pruned_after_thirty_days_and_pending_ones_kept() {
    use lethe_entities::entity::{webhook_attempt, webhook_delivery};
    use sea_orm::sea_query::Expr;
    use sea_orm::{ActiveModelTrait, ColumnTrait, QueryFilter};
    let app = spawn_app(Backend::Sqlite).await;
    let receiver = Receiver::start();
    let org = org_slug();
    let admin = app.admin(&org).await;
    let (id, _) = endpoint(&app, &admin, &receiver.url("/prune"), &["request.received"]).await;
    app.post(&format!("/v1/webhooks/{id}/test"), Some(&admin), json!({})).await;
    let log = delivery_log(&app, &admin, &id, |log| log.len() == 1 && log[0]["status"] == "succeeded").await;
    let ended = uuid::Uuid::parse_str(log[0]["id"].as_str().unwrap()).unwrap();

    // An old event still pending for a disabled endpoint: kept.
    let (parked, _) = endpoint(&app, &admin, &receiver.url("/parked"), &["request.received"]).await;
    app.patch(&format!("/v1/webhooks/{parked}"), &admin, json!({"enabled": false})).await;
    let now = time::OffsetDateTime::now_utc();
    let long_ago = now - time::Duration::days(31);
    let organization = app.operator(&format!("admin@{org}.test")).await.organization_id;
    let kept_event = webhook_event::Model {
        id: uuid::Uuid::now_v7(),
        organization_id: organization,
        event_type: "request.received".into(),
        request_id: None,
        data: json!({}),
        payload: Some(json!({"type": "request.received"})),
        dispatched: true,
        created_at: long_ago,
    };
    webhook_event::ActiveModel::from(kept_event.clone()).insert(&app.db).await.unwrap();
    let mut kept =
        lethe_worker::webhooks::fanout::new_delivery(&kept_event, uuid::Uuid::parse_str(&parked).unwrap(), long_ago);
    kept.created_at = sea_orm::ActiveValue::Set(long_ago);
    let kept = kept.insert(&app.db).await.unwrap();

    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::FinishedAt, Expr::value(Some(long_ago)))
        .filter(webhook_delivery::Column::Id.eq(ended))
        .exec(&app.db)
        .await
        .unwrap();
    webhook_event::Entity::update_many()
        .col_expr(webhook_event::Column::CreatedAt, Expr::value(long_ago))
        .exec(&app.db)
        .await
        .unwrap();

    let (deliveries, events) = lethe_worker::webhooks::prune::run_once(&app.db, now).await.unwrap();
    assert_eq!((deliveries, events), (1, 1), "the ended delivery and its event");
    assert_eq!(webhook_delivery::Entity::find_by_id(ended).one(&app.db).await.unwrap(), None);
    assert_eq!(webhook_attempt::Entity::find().count(&app.db).await.unwrap(), 0);
    let (_, log) = app.get(&format!("/v1/webhooks/{id}/deliveries"), Some(&admin)).await;
    assert_eq!(log, json!([]));
    assert!(webhook_delivery::Entity::find_by_id(kept.id).one(&app.db).await.unwrap().is_some());
    assert!(webhook_event::Entity::find_by_id(kept.event_id).one(&app.db).await.unwrap().is_some());
    // Nothing recent goes.
    assert_eq!(lethe_worker::webhooks::prune::run_once(&app.db, now).await.unwrap(), (0, 0));
}

#[tokio::test]
async fn the_console_manages_endpoints_and_shows_the_delivery_log() {
    use lethe_tests::console::Console;
    let app = spawn_app(Backend::Sqlite).await;
    let receiver = Receiver::start();
    let org = org_slug();
    app.admin(&org).await;
    let c = Console::signed_in(&app.base, &format!("admin@{org}.test")).await;
    let list = c.get("/console/webhooks").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("No webhook endpoints.") && list.body.contains("id=\"new-webhook\""));
    let csrf = list.csrf();
    let url = receiver.url("/console");
    let form = [
        ("csrf", csrf.as_str()),
        ("url", url.as_str()),
        ("description", "help desk"),
        ("event", "request.received"),
        ("event", "task.waiting"),
    ];
    let shown = c.post("/console/webhooks", &form).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    let secret = shown.text_of("secret").unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    receiver.verify_with(&[&secret]).await;

    let list = c.get("/console/webhooks").await;
    assert!(list.body.contains("help desk") && list.body.contains("request.received, task.waiting"), "{}", list.body);
    let (_, hooks) =
        app.get("/v1/webhooks", Some(&app.login(&format!("admin@{org}.test"), "a long test password").await)).await;
    let id = hooks[0]["id"].as_str().unwrap().to_owned();
    assert!(!c.get(&format!("/console/webhooks/{id}")).await.body.contains(&secret), "the secret is shown once");

    // A test event from the page arrives, verified, and shows in the log.
    let page = c.get(&format!("/console/webhooks/{id}")).await;
    let sent = c.post(&format!("/console/webhooks/{id}/test"), &[("csrf", &page.csrf())]).await;
    assert_eq!(sent.location(), Some(format!("/console/webhooks/{id}?done=test").as_str()));
    let received = receiver.wait_until("the console's test event", |d| !d.is_empty()).await;
    assert_eq!(received[0]["verified"], json!([true]));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let page = c.get(&format!("/console/webhooks/{id}")).await;
        // The delivery is read before its attempts: once it says succeeded, its attempt is there.
        if page.body.contains("succeeded") {
            assert!(page.body.contains("webhook.test") && page.body.contains("HTTP 200"), "{}", page.body);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the log never showed the delivery: {}", page.body);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // Rotating shows the new secret once; an operator sees the page without the forms.
    let page = c.get(&format!("/console/webhooks/{id}")).await;
    let rotated = c.post(&format!("/console/webhooks/{id}/rotate"), &[("csrf", &page.csrf())]).await;
    let new = rotated.text_of("secret").unwrap();
    assert!(new.starts_with("whsec_") && new != secret);
    let operator = format!("operator@{org}.test");
    app.operator_in(&org, &operator, Role::Operator).await;
    let o = Console::signed_in(&app.base, &operator).await;
    let seen = o.get(&format!("/console/webhooks/{id}")).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(!seen.body.contains("id=\"send-test\"") && seen.body.contains("webhook.test"));
    let refused = o.post(&format!("/console/webhooks/{id}/delete"), &[("csrf", &seen.csrf())]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // Disabled from the form, then deleted.
    let page = c.get(&format!("/console/webhooks/{id}")).await;
    let csrf = page.csrf();
    let change =
        [("csrf", csrf.as_str()), ("url", url.as_str()), ("description", "help desk"), ("event", "request.received")];
    let changed = c.post(&format!("/console/webhooks/{id}"), &change).await;
    assert_eq!(changed.location(), Some(format!("/console/webhooks/{id}?done=changed").as_str()));
    let page = c.get(&format!("/console/webhooks/{id}")).await;
    assert_eq!(page.text_of("webhook-state").as_deref(), Some("disabled by an admin"));
    let deleted = c.post(&format!("/console/webhooks/{id}/delete"), &[("csrf", &page.csrf())]).await;
    assert_eq!(deleted.location(), Some("/console/webhooks?done=deleted"));
    assert!(c.get("/console/webhooks").await.body.contains("No webhook endpoints."));
}

#[tokio::test]
async fn denials_extensions_holds_cancellations_recipients_purges_and_failures_are_announced_too() {
    let app = spawn_app(Backend::Sqlite).await;
    let receiver = Receiver::start();
    let org = org_slug();
    let admin = app.admin(&org).await;
    let mut wanted: Vec<&str> = REQUEST_EVENTS.to_vec();
    wanted.extend(["task.waiting", "export.purged", "hold.expiring", "retention_run.failed"]);
    let (_, secret) = endpoint(&app, &admin, &receiver.url("/rest"), &wanted).await;
    receiver.verify_with(&[&secret]).await;
    let of_type = |received: &[Value], kind: &str| -> Vec<Value> {
        received.iter().filter(|d| d["payload"]["type"] == kind).map(|d| d["payload"].clone()).collect()
    };

    // Denied, extended, put on hold, canceled by the person.
    let denied = app.verified(&org, "access", "gdpr", "deny@example.com").await;
    let (status, _) =
        app.post(&format!("/v1/requests/{}/deny", denied.id), Some(&admin), json!({"ground": "excessive"})).await;
    assert_eq!(status, StatusCode::OK);
    let extended = app.verified(&org, "access", "gdpr", "extend@example.com").await;
    let (status, _) = app
        .post(&format!("/v1/requests/{}/extend", extended.id), Some(&admin), json!({"reason": "Many systems."}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .post(&format!("/v1/requests/{}/hold", extended.id), Some(&admin), json!({"reason": "Waiting for legal."}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let canceled = app.submit(&org, "erasure", "gdpr", "cancel@example.com").await;
    let (status, _) =
        app.post(&format!("/v1/requests/{}/cancel", canceled.id), None, json!({"token": canceled.token})).await;
    assert_eq!(status, StatusCode::OK);
    let received = receiver
        .wait_until("denied, extended, on hold, canceled", |d| {
            ["request.denied", "request.extended", "request.on_hold", "request.canceled"]
                .iter()
                .all(|t| d.iter().any(|x| x["payload"]["type"] == *t))
        })
        .await;
    assert_eq!(of_type(&received, "request.denied")[0]["data"]["request"]["id"], denied.id.as_str());
    assert!(of_type(&received, "request.extended")[0]["data"]["new_due_at"].is_number());
    assert_eq!(of_type(&received, "request.on_hold")[0]["data"]["state"], "on_hold");
    assert_eq!(of_type(&received, "request.canceled")[0]["data"]["previous_state"], "identity_unverified");

    // A recipient to notify (GDPR Art. 19) waits for an operator.
    let email = "recipient@example.com";
    let dir = people_store(&app, &admin, &[email]).await;
    let (_, stores) = app.get("/v1/stores", Some(&admin)).await;
    let store = stores[0]["id"].as_str().unwrap().to_owned();
    let map = "version: 1\ntables:\n  - name: people\n    primary_key: [id]\n    columns: [{ name: email, identity: email }]\nrecipients:\n  - { name: Mailchimp, instructions: Delete the contact., tables: [people] }\n";
    let (status, saved) = app.put(&format!("/v1/stores/{store}/datamap"), &admin, json!({"yaml": map})).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let erasure = app.verified(&org, "erasure", "gdpr", email).await;
    app.post(&format!("/v1/requests/{}/approve", erasure.id), Some(&admin), json!({})).await;
    let received = receiver
        .wait_until("the recipient's task", |d| d.iter().any(|x| x["payload"]["data"]["waits_for"] == "recipient"))
        .await;
    let waiting = of_type(&received, "task.waiting");
    let recipient = waiting.iter().find(|p| p["data"]["waits_for"] == "recipient").unwrap();
    assert_eq!(
        (recipient["data"]["store_id"].as_str(), recipient["data"]["request"]["id"].as_str()),
        (Some(store.as_str()), Some(erasure.id.as_str()))
    );
    assert!(!recipient.to_string().contains("Mailchimp"), "no recipient name: {recipient}");

    // An access package purged after its link expired.
    let access = app.verified(&org, "access", "gdpr", "purge@example.com").await;
    app.post(&format!("/v1/requests/{}/approve", access.id), Some(&admin), json!({})).await;
    app.wait_for_state(&access.id, &admin, "completed").await;
    lethe_tests::portal::expire_exports(&app).await;
    let keyring =
        lethe_entities::Keyring::derive(&lethe_entities::MasterKey::from_base64(&app.master_key_base64()).unwrap());
    let exports = app.outbox.parent().unwrap().join("exports");
    lethe_worker::export::purge_expired(&app.db, &keyring, &exports, time::OffsetDateTime::now_utc()).await.unwrap();
    let received =
        receiver.wait_until("export.purged", |d| d.iter().any(|x| x["payload"]["type"] == "export.purged")).await;
    assert!(of_type(&received, "export.purged")[0]["data"]["export_id"].is_string());

    // A retention run that fails: its table is gone when it runs.
    let people =
        sea_orm::Database::connect(format!("sqlite://{}", dir.path().join("people.db").display())).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(&people, "CREATE TABLE visits (id INTEGER PRIMARY KEY, at TEXT)")
        .await
        .unwrap();
    let policy = json!({"name": "visits", "store_id": store, "table": "visits", "age_column": "at", "max_age": "P30D",
                        "action": {"type": "delete_row"}, "legal_basis": "Visits are kept 30 days"});
    let (status, policy) = app.post("/v1/retention/policies", Some(&admin), policy).await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    sea_orm::ConnectionTrait::execute_unprepared(&people, "DROP TABLE visits").await.unwrap();
    let (status, run) = app
        .post(&format!("/v1/retention/policies/{}/run", policy["id"].as_str().unwrap()), Some(&admin), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let received = receiver
        .wait_until("retention_run.failed", |d| d.iter().any(|x| x["payload"]["type"] == "retention_run.failed"))
        .await;
    let failed = &of_type(&received, "retention_run.failed")[0];
    assert_eq!(
        (failed["data"]["run_id"].clone(), failed["data"]["state"].clone()),
        (run["id"].clone(), json!("failed"))
    );
    assert!(failed["data"]["error_code"].is_string(), "{failed}");

    // A legal hold two days from expiry: its owner is warned, and so are integrators.
    let expires = (time::OffsetDateTime::now_utc() + time::Duration::days(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let hold = json!({"scope": "store", "store_id": store, "reason": "Audit", "owner": "legal@example.com", "expires_at": expires});
    let (status, hold) = app.post("/v1/holds", Some(&admin), hold).await;
    assert_eq!(status, StatusCode::CREATED, "{hold}");
    let received =
        receiver.wait_until("hold.expiring", |d| d.iter().any(|x| x["payload"]["type"] == "hold.expiring")).await;
    assert_eq!(of_type(&received, "hold.expiring")[0]["data"]["hold_id"], hold["id"]);

    for delivery in &received {
        assert_eq!(delivery["verified"], json!([true]), "{delivery}");
        let text = delivery["payload"].to_string();
        for secret in ["@example.com", "Many systems", "Waiting for legal", "Audit", "Mailchimp", "Visits are kept"] {
            assert!(!text.contains(secret), "{secret:?} in a payload: {text}");
        }
    }
}
