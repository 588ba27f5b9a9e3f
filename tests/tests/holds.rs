//! Legal holds over the API, with Lethe on SQLite and PostgreSQL: a held subject's rows are
//! kept by retention runs (exactly those rows), holds are additive, releasing the last one lets
//! the next run purge; a held table stops runs; a held subject's erasure request goes
//! `on_hold` with the hold's reason; placing and releasing write ledger entries with the
//! subject's keyed reference only; mistakes, tenants and double releases.

use std::time::Duration;

use lethe_tests::app::{TestApp, org_slug, spawn_app};
use lethe_tests::both_backends;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};

/// `logs(id, email, at)`: ids 1..=40, odd ids 40 days old, even ones a day old; the address of
/// row `id` is `user<id % 5>@example.com`.
async fn logs(url: &str) -> DatabaseConnection {
    let db = Database::connect(url).await.unwrap();
    db.execute_unprepared("CREATE TABLE logs (id INTEGER PRIMARY KEY, email TEXT, at TEXT NOT NULL)").await.unwrap();
    let now = time::OffsetDateTime::now_utc();
    let rows: Vec<String> = (1..=40i64)
        .map(|id| {
            let at = now - time::Duration::days(if id % 2 == 1 { 40 } else { 1 });
            let at = format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                at.year(),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute(),
                at.second()
            );
            format!("({id}, 'user{}@example.com', '{at}')", id % 5)
        })
        .collect();
    db.execute_unprepared(&format!("INSERT INTO logs (id, email, at) VALUES {}", rows.join(", "))).await.unwrap();
    db
}

async fn ids(db: &DatabaseConnection) -> Vec<i64> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT id FROM logs ORDER BY id"))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<i64>("", "id").unwrap())
        .collect()
}

/// A store over `url` with its data map (`logs.email` identifies a person); a policy purging
/// rows older than a week. Returns (store id, policy id).
async fn store_and_policy(app: &TestApp, admin: &str, url: &str) -> (String, String) {
    let (status, store) = app
        .post("/v1/stores", Some(admin), json!({"name": "logs", "kind": "sqlite", "connection": {"url": url}}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{store}");
    let store = store["id"].as_str().unwrap().to_owned();
    let map =
        "version: 1\ntables:\n  - name: logs\n    primary_key: [id]\n    columns: [{ name: email, identity: email }]\n";
    let (status, saved) = app.put(&format!("/v1/stores/{store}/datamap"), admin, json!({"yaml": map})).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let body = json!({
        "name": "logs-week", "store_id": store, "table": "logs", "age_column": "at", "max_age": "P7D",
        "action": {"type": "delete_row"}, "batch_size": 3, "legal_basis": "Logs are kept a week"
    });
    let (status, policy) = app.post("/v1/retention/policies", Some(admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    (store, policy["id"].as_str().unwrap().to_owned())
}

async fn preview(app: &TestApp, token: &str, policy: &str) -> Value {
    let (status, preview) = app.post(&format!("/v1/retention/policies/{policy}/preview"), Some(token), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    preview
}

async fn run_policy(app: &TestApp, token: &str, policy: &str) -> Value {
    let (status, run) = app.post(&format!("/v1/retention/policies/{policy}/run"), Some(token), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, runs) = app.get(&format!("/v1/retention/runs?policy_id={policy}"), Some(token)).await;
        let found = runs.as_array().unwrap().iter().find(|r| r["id"] == run["id"]).unwrap().clone();
        if !["queued", "running"].contains(&found["state"].as_str().unwrap()) {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "{found}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn place(app: &TestApp, admin: &str, body: Value) -> String {
    let (status, hold) = app.post("/v1/holds", Some(admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{hold}");
    hold["id"].as_str().unwrap().to_owned()
}

async fn release(app: &TestApp, admin: &str, hold: &str) -> (StatusCode, Value) {
    app.post(&format!("/v1/holds/{hold}/release"), Some(admin), json!({"reason": "The matter is closed"})).await
}

/// Ledger entries of `kind`.
async fn entries(app: &TestApp, token: &str, kind: &str) -> Vec<Value> {
    let (_, page) = app.get(&format!("/v1/ledger/entries?kind={kind}"), Some(token)).await;
    page["entries"].as_array().unwrap().clone()
}

both_backends! {
    async fn holds_keep_exactly_the_held_rows_until_the_last_is_released(backend: Backend) {
        let app = spawn_app(backend).await;
        let admin = app.admin(&org_slug()).await;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("logs.db").display());
        let db = logs(&url).await;
        let (_, policy) = store_and_policy(&app, &admin, &url).await;
        let old = |id: &i64| id % 2 == 1;
        let held = |id: &i64| id % 5 == 3;

        // Two holds on the same person (written differently: e-mail matches ignore case).
        let subject = |matter: &str| json!({
            "scope": "subject", "identity": {"kind": "email", "value": "User3@Example.com"},
            "reason": "Litigation: User 3 v. Shop", "owner": "legal@shop.example", "matter": matter
        });
        let first = place(&app, &admin, subject("CASE-1")).await;
        let second = place(&app, &admin, subject("CASE-2")).await;
        let expected = (1..=40).filter(|i| old(i) && !held(i)).count();
        assert_eq!(preview(&app, &admin, &policy).await["rows"], expected);
        let done = run_policy(&app, &admin, &policy).await;
        assert_eq!((done["state"].as_str(), done["rows"].as_u64()), (Some("done"), Some(expected as u64)), "{done}");
        let left: Vec<i64> = (1..=40).filter(|i| !old(i) || held(i)).collect();
        assert_eq!(ids(&db).await, left, "exactly the held person's old rows stay");

        // Releasing one hold is not enough: the other still holds.
        let (status, released) = release(&app, &admin, &first).await;
        assert_eq!((status, released["active"].as_bool()), (StatusCode::OK, Some(false)), "{released}");
        assert_eq!(preview(&app, &admin, &policy).await["rows"], 0);
        assert_eq!(run_policy(&app, &admin, &policy).await["rows"], 0);
        let (status, problem) = release(&app, &admin, &first).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("hold_released")));

        // The last one released: the next run purges them.
        release(&app, &admin, &second).await;
        let now_free = (1..=40).filter(|i| old(i) && held(i)).count();
        assert_eq!(preview(&app, &admin, &policy).await["rows"], now_free);
        assert_eq!(run_policy(&app, &admin, &policy).await["rows"], now_free);
        assert_eq!(ids(&db).await, (1..=40).filter(|i| !old(i)).collect::<Vec<_>>());

        // The ledger: two placed, two released, each with the subject's keyed reference (the
        // same one), and no address anywhere.
        let placed = entries(&app, &admin, "hold_placed").await;
        let released = entries(&app, &admin, "hold_released").await;
        assert_eq!((placed.len(), released.len()), (2, 2));
        for e in placed.iter().chain(&released) {
            assert_eq!(e["action"], "subject", "{e}");
            assert_eq!(e["subject_refs"].as_array().unwrap().len(), 1, "{e}");
            assert_eq!(e["subject_refs"], placed[0]["subject_refs"]);
        }
        let (_, listed) = app.get("/v1/holds", Some(&admin)).await;
        let text = listed.to_string() + &json!(placed).to_string();
        assert!(!text.to_lowercase().contains("user3@example.com"), "no identity in clear: {text}");
        assert_eq!(listed.as_array().unwrap().len(), 2);
        assert_eq!(listed[0]["identity_kind"], "email");
        db.close().await.ok();
    }

    async fn a_held_table_stops_runs_and_a_held_subject_waits_on_hold(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("logs.db").display());
        let db = logs(&url).await;
        let (store, policy) = store_and_policy(&app, &admin, &url).await;

        for body in [
            json!({"scope": "table", "store_id": store, "table": "logs", "reason": "Audit of the logs", "owner": "audit@shop.example"}),
            json!({"scope": "store", "store_id": store, "reason": "Forensics", "owner": "sec@shop.example"}),
            json!({"scope": "organization", "reason": "Regulator's order", "owner": "dpo@shop.example",
                   "expires_at": "2099-01-01T00:00:00Z"}),
        ] {
            let hold = place(&app, &admin, body).await;
            let p = preview(&app, &admin, &policy).await;
            assert_eq!((p["rows"].as_u64(), p["held_by"].as_str()), (Some(0), Some(hold.as_str())), "{p}");
            let done = run_policy(&app, &admin, &policy).await;
            assert_eq!((done["state"].as_str(), done["error_code"].as_str(), done["rows"].as_u64()), (Some("held"), Some("legal_hold"), Some(0)), "{done}");
            assert_eq!(ids(&db).await.len(), 40, "nothing purged");
            release(&app, &admin, &hold).await;
        }
        let done = run_policy(&app, &admin, &policy).await;
        assert_eq!((done["state"].as_str(), done["rows"].as_u64()), (Some("done"), Some(20)), "{done}");

        // A held subject's erasure request waits on hold with the hold's reason; once the hold
        // is released and an operator resumes it, it goes ahead.
        let hold = place(&app, &admin, json!({
            "scope": "subject", "identity": {"kind": "email", "value": "held@example.com"},
            "reason": "Litigation hold for matter 7", "owner": "legal@shop.example"
        })).await;
        let req = app.verified(&org, "erasure", "gdpr", "held@example.com").await;
        let (status, _) = app.post(&format!("/v1/requests/{}/approve", req.id), Some(&admin), json!({})).await;
        assert_eq!(status, StatusCode::OK);
        let detail = app.wait_for_state(&req.id, &admin, "on_hold").await;
        let event = detail["timeline"].as_array().unwrap().iter().find(|e| e["kind"] == "held").cloned().unwrap();
        assert!(event.to_string().contains("Litigation hold for matter 7") && event.to_string().contains(&hold), "{event}");
        // Someone else's request is not held.
        let free = app.verified(&org, "erasure", "gdpr", "free@example.com").await;
        app.post(&format!("/v1/requests/{}/approve", free.id), Some(&admin), json!({})).await;
        let detail = app.wait_for_state(&free.id, &admin, "completed").await;
        assert_eq!(detail["state"], "completed");
        release(&app, &admin, &hold).await;
        let (status, resumed) =
            app.post(&format!("/v1/requests/{}/resume", req.id), Some(&admin), json!({"reason": "hold released"})).await;
        assert_eq!(status, StatusCode::OK, "{resumed}");
        app.wait_for_state(&req.id, &admin, "completed").await;
        db.close().await.ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_are_validated_and_tenant_scoped() {
    let app = spawn_app(lethe_tests::Backend::Sqlite).await;
    let admin = app.admin(&org_slug()).await;
    let other = app.admin(&org_slug()).await;
    let (_, store) = app
        .post("/v1/stores", Some(&admin), json!({"name": "paper", "kind": "manual", "instructions": "Shred."}))
        .await;
    let store = store["id"].as_str().unwrap();
    for (body, fields) in [
        (json!({"scope": "subject", "reason": "r", "owner": "legal@shop.example"}), vec!["identity"]),
        (
            json!({"scope": "subject", "identity": {"kind": "email", "value": "not an address"}, "reason": "r", "owner": "legal@shop.example"}),
            vec!["identity.value"],
        ),
        (json!({"scope": "table", "store_id": store, "reason": "r", "owner": "legal@shop.example"}), vec!["table"]),
        (
            json!({"scope": "store", "reason": " ", "owner": "", "expires_at": "2001-01-01T00:00:00Z"}),
            vec!["reason", "owner", "expires_at", "store_id"],
        ),
        (
            json!({"scope": "organization", "store_id": store, "table": "x", "reason": "r", "owner": "legal@shop.example"}),
            vec!["store_id", "table"],
        ),
    ] {
        let (status, problem) = app.post("/v1/holds", Some(&admin), body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {problem}");
        let got: Vec<&str> =
            problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(got, fields, "{body}");
        assert!(!problem.to_string().contains("not an address"));
    }
    let (status, problem) = app
        .post("/v1/holds", Some(&admin), json!({"scope": "everything", "reason": "r", "owner": "legal@shop.example"}))
        .await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")));
    let hold =
        place(&app, &admin, json!({"scope": "store", "store_id": store, "reason": "r", "owner": "legal@shop.example"}))
            .await;
    // Another organization: its own store ids only, and this hold is unknown to it.
    let (status, problem) = app
        .post(
            "/v1/holds",
            Some(&other),
            json!({"scope": "store", "store_id": store, "reason": "r", "owner": "legal@shop.example"}),
        )
        .await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("store_id")));
    let (status, problem) = release(&app, &other, &hold).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("hold_not_found")));
    let (_, listed) = app.get("/v1/holds", Some(&other)).await;
    assert_eq!(listed, json!([]));
    let (status, problem) = app.post(&format!("/v1/holds/{hold}/release"), Some(&admin), json!({"reason": ""})).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")));
    let (_, active) = app.get("/v1/holds?active=true", Some(&admin)).await;
    assert_eq!(active.as_array().unwrap().len(), 1);
    release(&app, &admin, &hold).await;
    let (_, active) = app.get("/v1/holds?active=true", Some(&admin)).await;
    assert_eq!(active, json!([]));
    let (_, all) = app.get("/v1/holds", Some(&admin)).await;
    assert_eq!(
        (all[0]["release_reason"].as_str(), all[0]["active"].as_bool()),
        (Some("The matter is closed"), Some(false))
    );
}
