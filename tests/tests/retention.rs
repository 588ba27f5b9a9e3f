//! Retention policies and runs on real stores: a PostgreSQL, a MariaDB and a SQLite table of
//! API logs (the company fixture's databases, with a table of their own added), with Lethe on
//! SQLite and on PostgreSQL.
//!
//! Policies naming a missing table or column are refused at save time; a preview counts exactly
//! what the run then removes; a run works in batches, each one ledger entry with the store's
//! count; anonymisation nulls and hashes in place; a second run finds nothing; the throttle
//! holds the pace; a store transaction that fails mid-run stops the run with its batches so far
//! in the ledger; a crash after a batch committed in the store is settled once on resume.

use std::time::Duration;

use lethe_entities::entity::retention_run::{self, RunState, RunTrigger};
use lethe_entities::ledger::{EntryKind, NewEntry, intent};
use lethe_tests::app::{TestApp, org_slug, spawn_app};
use lethe_tests::both_backends;
use lethe_tests::company::Company;
use lethe_tests::retention::finished;
use lethe_worker::ledger::external;
use lethe_worker::queue::FollowUp;
use reqwest::StatusCode;
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait, Statement};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

/// Rows in each test table.
const ROWS: i64 = 120;

/// Old (40 days) when odd, recent (1 day) when even.
fn is_old(id: i64) -> bool {
    id % 2 == 1
}

/// `open` when divisible by three, else `closed`.
fn is_open(id: i64) -> bool {
    id % 3 == 0
}

/// Ten distinct addresses, so equal values can be seen to stay equal when hashed.
fn email(id: i64) -> String {
    format!("user{}@example.com", id % 10)
}

/// Creates `api_logs` with [`ROWS`] rows in a store of `kind`.
async fn api_logs(kind: &str, url: &str) -> DatabaseConnection {
    let db = Database::connect(url).await.unwrap();
    let (create, zone) = match kind {
        "postgres" => (
            "CREATE TABLE api_logs (id BIGINT PRIMARY KEY, status TEXT NOT NULL, email TEXT, note TEXT, at TIMESTAMPTZ NOT NULL)",
            "+00",
        ),
        "mysql" => (
            "CREATE TABLE api_logs (id BIGINT PRIMARY KEY, status VARCHAR(16) NOT NULL, email VARCHAR(100), note VARCHAR(100), at DATETIME(6) NOT NULL)",
            "",
        ),
        _ => (
            "CREATE TABLE api_logs (id INTEGER PRIMARY KEY, status TEXT NOT NULL, email TEXT, note TEXT, at TEXT NOT NULL)",
            "",
        ),
    };
    db.execute_unprepared(create).await.unwrap();
    db.execute_unprepared("CREATE INDEX api_logs_at ON api_logs (at)").await.unwrap();
    let now = OffsetDateTime::now_utc();
    let values: Vec<String> = (1..=ROWS)
        .map(|id| {
            let at = now - time::Duration::days(if is_old(id) { 40 } else { 1 });
            let at = format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}{zone}",
                at.year(),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute(),
                at.second()
            );
            let status = if is_open(id) { "open" } else { "closed" };
            format!("({id}, '{status}', '{}', 'note {id}', '{at}')", email(id))
        })
        .collect();
    db.execute_unprepared(&format!("INSERT INTO api_logs (id, status, email, note, at) VALUES {}", values.join(", ")))
        .await
        .unwrap();
    db
}

/// The ids left in `api_logs`.
async fn ids(db: &DatabaseConnection) -> Vec<i64> {
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT id FROM api_logs ORDER BY id"))
        .await
        .unwrap();
    rows.iter().map(|r| r.try_get::<i64>("", "id").unwrap()).collect()
}

/// Registers a store; returns its id.
async fn store(app: &TestApp, admin: &str, name: &str, kind: &str, url: &str) -> String {
    let (status, body) =
        app.post("/v1/stores", Some(admin), json!({"name": name, "kind": kind, "connection": {"url": url}})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// A policy purging closed API logs older than a week, in batches of 7.
fn purge_closed(name: &str, store: &str) -> Value {
    json!({
        "name": name, "store_id": store, "table": "api_logs", "age_column": "at", "max_age": "P7D",
        "filter": [{"column": "status", "op": "eq", "value": "closed"}],
        "action": {"type": "delete_row"}, "batch_size": 7,
        "legal_basis": "Security questionnaire: API logs are kept 7 days"
    })
}

/// Runs a policy now and waits for the run to end.
async fn run_now(app: &TestApp, token: &str, policy: &str) -> Value {
    let (status, run) = app.post(&format!("/v1/retention/policies/{policy}/run"), Some(token), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    finished(app, token, run["id"].as_str().unwrap()).await
}

/// The ledger's `retention_purge` entries of `policy`: (store, table, action, rows) each.
async fn purge_entries(app: &TestApp, token: &str, policy: &str) -> Vec<(String, String, String, u64)> {
    let (status, page) = app.get("/v1/ledger/entries?kind=retention_purge&limit=1000", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["policy_id"] == policy)
        .map(|e| {
            (
                e["store"].as_str().unwrap().to_owned(),
                e["table"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
                e["row_count"].as_u64().unwrap(),
            )
        })
        .collect()
}

both_backends! {
    async fn policies_purge_exactly_what_the_preview_counts(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let operator =
            app.operator_in(&org, &format!("op@{org}.test"), lethe_entities::domain::enums::Role::Operator).await;
        let company = Company::create().await;
        let expected: Vec<i64> = (1..=ROWS).filter(|id| !is_old(*id) || is_open(*id)).collect();
        let purged = (1..=ROWS).filter(|id| is_old(*id) && !is_open(*id)).count() as u64;
        for (name, kind, url) in [
            ("shop", "postgres", company.shop_url.clone()),
            ("crm", "mysql", company.crm_url.clone()),
            ("analytics", "sqlite", company.analytics_url.clone()),
        ] {
            let db = api_logs(kind, &url).await;
            let store = store(&app, &admin, name, kind, &url).await;

            // Save time: the live schema is checked, and what exists is listed.
            let mut typo = purge_closed(&format!("{name}-typo"), &store);
            typo["age_column"] = json!("created_at");
            let (status, problem) = app.post("/v1/retention/policies", Some(&admin), typo).await;
            assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")), "{problem}");
            assert_eq!(problem["errors"][0]["field"], "age_column", "{problem}");
            let message = problem["errors"][0]["message"].as_str().unwrap();
            assert!(message.contains("has no column `created_at`") && message.contains("at"), "{message}");
            let mut no_table = purge_closed(&format!("{name}-typo"), &store);
            no_table["table"] = json!("api_log");
            no_table["filter"][0]["column"] = json!("state");
            let (status, problem) = app.post("/v1/retention/policies", Some(&admin), no_table).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
            assert_eq!(problem["errors"][0]["field"], "table", "{problem}");
            // Operators may not change policies.
            let (status, _) = app.post("/v1/retention/policies", Some(&operator), purge_closed(name, &store)).await;
            assert_eq!(status, StatusCode::FORBIDDEN);

            let (status, policy) = app.post("/v1/retention/policies", Some(&admin), purge_closed(name, &store)).await;
            assert_eq!(status, StatusCode::CREATED, "{policy}");
            let policy_id = policy["id"].as_str().unwrap().to_owned();
            let (status, again) = app.post("/v1/retention/policies", Some(&admin), purge_closed(name, &store)).await;
            assert_eq!((status, again["code"].as_str()), (StatusCode::CONFLICT, Some("policy_name_taken")));

            // The preview counts what the run removes, and changes nothing.
            let (status, preview) =
                app.post(&format!("/v1/retention/policies/{policy_id}/preview"), Some(&operator), json!({})).await;
            assert_eq!(status, StatusCode::OK, "{preview}");
            assert_eq!(preview["rows"], purged, "{name}: {preview}");
            assert_eq!(preview["primary_key"], json!(["id"]));
            let sample: Vec<String> =
                preview["sample_keys"].as_array().unwrap().iter().map(|k| k[0].as_str().unwrap().to_owned()).collect();
            let first: Vec<String> =
                (1..=ROWS).filter(|id| is_old(*id) && !is_open(*id)).take(20).map(|id| id.to_string()).collect();
            assert_eq!(sample, first, "{name}");
            assert!(preview["oldest"].is_string() && preview["newest"].is_string(), "{preview}");
            assert_eq!(ids(&db).await.len() as i64, ROWS);

            let run = run_now(&app, &operator, &policy_id).await;
            assert_eq!(run["state"], "done", "{name}: {run}");
            assert_eq!(run["rows"], purged, "{name}: {run}");
            assert_eq!(run["batches"], purged.div_ceil(7), "{name}: {run}");
            assert_eq!(run["trigger"], "manual");
            assert_eq!(ids(&db).await, expected, "{name}: exactly the old closed rows are gone");
            let entries = purge_entries(&app, &admin, &policy_id).await;
            assert_eq!(entries.len() as u64, purged.div_ceil(7), "{name}: one entry per batch");
            assert!(entries.iter().all(|(s, t, a, _)| (s.as_str(), t.as_str(), a.as_str()) == (name, "api_logs", "delete_row")));
            assert_eq!(entries.iter().map(|e| e.3).sum::<u64>(), purged, "{name}: the ledger has the store's counts");

            // Nothing is left to do: a second run removes nothing and writes no entry.
            let (_, preview) =
                app.post(&format!("/v1/retention/policies/{policy_id}/preview"), Some(&admin), json!({})).await;
            assert_eq!(preview["rows"], 0);
            let second = run_now(&app, &admin, &policy_id).await;
            assert_eq!((second["state"].as_str(), second["rows"].as_i64(), second["batches"].as_i64()), (Some("done"), Some(0), Some(0)));
            assert_eq!(purge_entries(&app, &admin, &policy_id).await.len() as u64, purged.div_ceil(7));

            // Anonymisation in place: old open rows keep their row, lose their note, and their
            // address becomes a keyed pseudonym (equal addresses stay equal).
            let anonymise = json!({
                "name": format!("{name}-anon"), "store_id": store, "table": "api_logs", "age_column": "at",
                "max_age": "P7D", "filter": [{"column": "status", "op": "eq", "value": "open"}],
                "action": {"type": "anonymise", "columns": [{"name": "note", "action": "null"}, {"name": "email", "action": "hash"}]},
                "batch_size": 4, "legal_basis": "Open tickets are kept, without identities, after a week"
            });
            let (status, anon) = app.post("/v1/retention/policies", Some(&admin), anonymise).await;
            assert_eq!(status, StatusCode::CREATED, "{anon}");
            let anon_id = anon["id"].as_str().unwrap();
            let run = run_now(&app, &admin, anon_id).await;
            let touched = (1..=ROWS).filter(|id| is_old(*id) && is_open(*id)).count() as u64;
            assert_eq!((run["state"].as_str(), run["rows"].as_u64()), (Some("done"), Some(touched)), "{run}");
            let rows = db
                .query_all_raw(Statement::from_string(
                    db.get_database_backend(),
                    "SELECT id, email, note FROM api_logs ORDER BY id",
                ))
                .await
                .unwrap();
            let mut pseudonyms = std::collections::BTreeMap::new();
            for row in &rows {
                let id: i64 = row.try_get("", "id").unwrap();
                let mail: String = row.try_get("", "email").unwrap();
                let note: Option<String> = row.try_get("", "note").unwrap();
                if is_old(id) && is_open(id) {
                    assert_eq!(note, None, "{name}: row {id}");
                    assert!(mail.len() == 64 && mail.chars().all(|c| c.is_ascii_hexdigit()), "{name}: row {id}");
                    assert_eq!(pseudonyms.entry(email(id)).or_insert_with(|| mail.clone()), &mail);
                } else {
                    assert_eq!((mail, note), (email(id), Some(format!("note {id}"))), "{name}: row {id}");
                }
            }
            assert!(pseudonyms.len() > 1);
            let entries = purge_entries(&app, &admin, anon_id).await;
            assert!(entries.iter().all(|e| e.2 == "anonymise"));
            assert_eq!(entries.iter().map(|e| e.3).sum::<u64>(), touched);
            db.close().await.ok();
        }

        // Reading: every role; the policies list shows what was saved.
        let auditor =
            app.operator_in(&org, &format!("aud@{org}.test"), lethe_entities::domain::enums::Role::Auditor).await;
        let (status, list) = app.get("/v1/retention/policies", Some(&auditor)).await;
        assert_eq!(status, StatusCode::OK);
        let mine: Vec<&Value> = list.as_array().unwrap().iter().filter(|p| p["builtin"].is_null()).collect();
        let names: Vec<&str> = mine.iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["analytics", "analytics-anon", "crm", "crm-anon", "shop", "shop-anon"]);
        assert_eq!(mine[0]["max_age"], "P7D");
        assert_eq!(mine[0]["filter"], json!([{"column": "status", "op": "eq", "value": "closed"}]));
        let (status, _) =
            app.post(&format!("/v1/retention/policies/{}/preview", mine[0]["id"].as_str().unwrap()), Some(&auditor), json!({})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        company.cleanup().await;
    }
}

/// A policy that is changed, replaced and deleted; other organizations see none of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_are_replaced_deleted_and_tenant_scoped() {
    let app = spawn_app(lethe_tests::Backend::Sqlite).await;
    let org = org_slug();
    let admin = app.admin(&org).await;
    let other = app.admin(&org_slug()).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("logs.db").display());
    let db = api_logs("sqlite", &url).await;
    let store = store(&app, &admin, "logs", "sqlite", &url).await;
    let mut body = purge_closed("logs", &store);
    body["schedule"] = json!("0 3 * * *");
    body["time_zone"] = json!("Europe/Stockholm");
    let (status, policy) = app.post("/v1/retention/policies", Some(&admin), body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    let id = policy["id"].as_str().unwrap();
    let next =
        OffsetDateTime::parse(policy["next_run_at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339)
            .unwrap();
    let local = next.to_offset(if (4..=9).contains(&u8::from(next.month())) {
        time::macros::offset!(+2)
    } else {
        time::macros::offset!(+1)
    });
    assert!(next > OffsetDateTime::now_utc() && local.hour() == 3 && local.minute() == 0, "{next}");

    // Another organization: the same answers as for an unknown id, and its store is unknown here.
    for path in [format!("/v1/retention/policies/{id}")] {
        let (status, problem) = app.get(&path, Some(&other)).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("policy_not_found")));
    }
    let (status, problem) = app.post(&format!("/v1/retention/policies/{id}/run"), Some(&other), json!({})).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("policy_not_found")));
    let (status, problem) = app.post(&format!("/v1/retention/policies/{id}/preview"), Some(&other), json!({})).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("policy_not_found")));
    let (status, problem) = app.delete(&format!("/v1/retention/policies/{id}"), &other).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("policy_not_found")));
    let (status, problem) = app.post("/v1/retention/policies", Some(&other), purge_closed("theirs", &store)).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("store_id")));
    let (_, list) = app.get("/v1/retention/policies", Some(&other)).await;
    assert!(list.as_array().unwrap().iter().all(|p| !p["builtin"].is_null()), "only its built-in policies: {list}");

    // Structural mistakes are named by field, and no value is echoed.
    let mut bad = body.clone();
    bad["max_age"] = json!("two weeks");
    bad["schedule"] = json!("at night");
    bad["time_zone"] = json!("Mars/Base");
    bad["filter"] = json!([{"column": "status", "op": "eq", "value": "secret-value-x"}, {"column": "status", "op": "is_null", "value": "x"}]);
    let (status, problem) = app.post("/v1/retention/policies", Some(&admin), bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["max_age", "filter[1].value", "schedule", "time_zone"]);
    assert!(!problem.to_string().contains("secret-value-x") && !problem.to_string().contains("Mars"));
    let mut unknown = body.clone();
    unknown["sql"] = json!("DELETE FROM api_logs");
    let (status, problem) = app.post("/v1/retention/policies", Some(&admin), unknown).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")));

    // Replace: no schedule any more, so no next run.
    let mut replaced = body.clone();
    replaced.as_object_mut().unwrap().remove("schedule");
    replaced["max_age"] = json!("P30D");
    let (status, changed) = app.put(&format!("/v1/retention/policies/{id}"), &admin, replaced).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!((changed["max_age"].as_str(), changed["next_run_at"].is_null()), (Some("P30D"), true));
    let (_, preview) = app.post(&format!("/v1/retention/policies/{id}/preview"), Some(&admin), json!({})).await;
    assert_eq!(preview["rows"], (1..=ROWS).filter(|i| is_old(*i) && !is_open(*i)).count());

    // One run at a time.
    let (status, first) = app.post(&format!("/v1/retention/policies/{id}/run"), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, problem) = app.post(&format!("/v1/retention/policies/{id}/run"), Some(&admin), json!({})).await;
    if status == StatusCode::CONFLICT {
        assert_eq!(problem["code"], "run_in_progress");
    }
    finished(&app, &admin, first["id"].as_str().unwrap()).await;

    let (status, _) = app.delete(&format!("/v1/retention/policies/{id}"), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get(&format!("/v1/retention/policies/{id}"), Some(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, runs) = app.get(&format!("/v1/retention/runs?policy_id={id}"), Some(&admin)).await;
    assert!(!runs.as_array().unwrap().is_empty(), "the history stays");
    let (_, runs) = app.get("/v1/retention/runs", Some(&other)).await;
    assert_eq!(runs, json!([]));
    let (status, _) = app.get("/v1/retention/runs?limit=0", Some(&admin)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    db.close().await.ok();
}

/// A SQLite store's `api_logs` and a policy purging every old row at 20 rows per second in
/// batches of `batch_size`: (the store, the policy id, the directory holding the file).
async fn slow_policy(app: &TestApp, admin: &str, batch_size: u32) -> (DatabaseConnection, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("logs.db").display());
    let db = api_logs("sqlite", &url).await;
    let store = store(app, admin, "logs", "sqlite", &url).await;
    let mut body = purge_closed("slow", &store);
    body["filter"] = json!([]);
    body["batch_size"] = json!(batch_size);
    body["throttle_rows_per_sec"] = json!(20);
    let (status, policy) = app.post("/v1/retention/policies", Some(admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    (db, policy["id"].as_str().unwrap().to_owned(), dir)
}

/// The throttle keeps a run at or below its rows per second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_throttle_is_respected() {
    let app = spawn_app(lethe_tests::Backend::Sqlite).await;
    let admin = app.admin(&org_slug()).await;
    let (db, policy, _dir) = slow_policy(&app, &admin, 100).await;
    let run = run_now(&app, &admin, &policy).await;
    let rows = run["rows"].as_f64().unwrap();
    assert_eq!(rows as i64, ROWS / 2, "{run}");
    let at = |field: &str| {
        OffsetDateTime::parse(run[field].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap()
    };
    let seconds = (at("finished_at") - at("started_at")).as_seconds_f64();
    let rate = rows / seconds;
    assert!((15.0..=21.0).contains(&rate), "{rate:.1} rows/s over {seconds:.2} s; the limit is 20");
    // Batches are no larger than one second's worth.
    assert_eq!(run["largest_batch"], 20, "{run}");
    db.close().await.ok();
}

both_backends! {
    async fn a_failing_batch_stops_the_run_with_the_ledger_consistent(backend: Backend) {
        let app = spawn_app(backend).await;
        let admin = app.admin(&org_slug()).await;
        let company = Company::create().await;
        let db = api_logs("postgres", &company.shop_url).await;
        // The store refuses to delete row 61: the batch holding it rolls back.
        db.execute_unprepared(
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN IF OLD.id = 61 THEN RAISE EXCEPTION 'kept'; END IF; RETURN OLD; END $$ LANGUAGE plpgsql",
        )
        .await
        .unwrap();
        db.execute_unprepared("CREATE TRIGGER refuse BEFORE DELETE ON api_logs FOR EACH ROW EXECUTE FUNCTION refuse()")
            .await
            .unwrap();
        let store = store(&app, &admin, "shop", "postgres", &company.shop_url).await;
        let mut body = purge_closed("logs", &store);
        body["filter"] = json!([]);
        body["batch_size"] = json!(10);
        let (_, policy) = app.post("/v1/retention/policies", Some(&admin), body).await;
        let policy_id = policy["id"].as_str().unwrap();
        let run = run_now(&app, &admin, policy_id).await;
        // Old rows are the odd ids: batches of ten odd ids; 61 is in the fourth batch.
        assert_eq!((run["state"].as_str(), run["error_code"].as_str()), (Some("failed"), Some("store_query_failed")), "{run}");
        assert_eq!((run["rows"].as_i64(), run["batches"].as_i64()), (Some(30), Some(3)), "{run}");
        let left = ids(&db).await;
        assert!(left.iter().all(|id| !is_old(*id) || *id >= 61), "the fourth batch rolled back: {left:?}");
        assert_eq!(left.len() as i64, ROWS - 30);
        let entries = purge_entries(&app, &admin, policy_id).await;
        assert_eq!(entries.iter().map(|e| e.3).collect::<Vec<_>>(), [10, 10, 10]);
        let pending = intent::pending(&app.db, i64::MAX, 10).await.unwrap();
        assert!(pending.is_empty(), "the failed batch's intent was voided");
        db.close().await.ok();
        company.cleanup().await;
    }

    async fn a_crash_after_the_store_committed_is_settled_once(backend: Backend) {
        let app = spawn_app(backend).await;
        let slug = org_slug();
        let admin = app.admin(&slug).await;
        let org = lethe_entities::entity::organization::Model::find_by_slug(&app.db, &slug).await.unwrap().unwrap().id;
        let company = Company::create().await;
        let db = api_logs("mysql", &company.crm_url).await;
        let store = store(&app, &admin, "crm", "mysql", &company.crm_url).await;
        let mut body = purge_closed("logs", &store);
        body["filter"] = json!([]);
        body["batch_size"] = json!(25);
        let (_, policy) = app.post("/v1/retention/policies", Some(&admin), body).await;
        let policy_id: Uuid = policy["id"].as_str().unwrap().parse().unwrap();

        // A worker ran the first batch (ids 1..49, odd) and died after the store committed,
        // before the ledger entry and the run's counts were written.
        let now = OffsetDateTime::now_utc();
        let run_id = Uuid::now_v7();
        let first: Vec<i64> = (1..=ROWS).filter(|id| is_old(*id)).take(25).collect();
        let planned = NewEntry {
            policy_id: Some(policy_id),
            store: Some("crm".into()),
            table: Some("api_logs".into()),
            action: Some("delete_row".into()),
            ..NewEntry::new(EntryKind::RetentionPurge)
        };
        let opened = external::open(&app.db, org, &planned).await.unwrap();
        retention_run::ActiveModel {
            id: Set(run_id),
            organization_id: Set(org),
            policy_id: Set(policy_id),
            trigger: Set(RunTrigger::Manual),
            scheduled_for: Set(None),
            state: Set(RunState::Running),
            cutoff: Set(Some(now - time::Duration::days(7))),
            cursor: Set(None),
            pending_intent: Set(Some(opened.id)),
            pending_cursor: Set(Some(json!([first.last().unwrap().to_string()]))),
            rows: Set(0),
            batches: Set(0),
            largest_batch: Set(0),
            error_code: Set(None),
            error_message: Set(None),
            started_at: Set(Some(now)),
            finished_at: Set(None),
            resumes: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&app.db)
        .await
        .unwrap();
        let store_db = Database::connect(&company.crm_url).await.unwrap();
        lethe_worker::ledger::receipts::ensure_table(&store_db).await.unwrap();
        let list = first.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        let work: external::Work = Box::new(move |txn| {
            use futures::FutureExt;
            async move { Ok(txn.execute_unprepared(&format!("DELETE FROM api_logs WHERE id IN ({list})")).await?.rows_affected()) }.boxed()
        });
        assert_eq!(external::apply(&store_db, opened.id, work).await.unwrap(), 25);

        // The job is delivered again: the batch is settled from the receipt and counted once.
        let job = FollowUp::Retention { organization_id: org, run_id, resumes: 0 };
        lethe_worker::JobQueue::for_database(&app.db).schedule(&job).await.unwrap();
        let run = finished(&app, &admin, &run_id.to_string()).await;
        let old = (1..=ROWS).filter(|id| is_old(*id)).count() as i64;
        assert_eq!((run["state"].as_str(), run["rows"].as_i64()), (Some("done"), Some(old)), "{run}");
        assert_eq!(run["batches"].as_i64(), Some((old as u64).div_ceil(25) as i64), "{run}");
        let entries = purge_entries(&app, &admin, &policy_id.to_string()).await;
        assert_eq!(entries.iter().map(|e| e.3 as i64).sum::<i64>(), old, "each row once in the ledger");
        assert_eq!(entries.first().map(|e| e.3), Some(25), "the crashed batch has the store's count");
        assert!(intent::pending(&app.db, i64::MAX, 10).await.unwrap().is_empty());
        assert_eq!(ids(&db).await, (1..=ROWS).filter(|id| !is_old(*id)).collect::<Vec<_>>());
        let stored = retention_run::Entity::find_by_id(run_id).one(&app.db).await.unwrap().unwrap();
        assert_eq!((stored.pending_intent, stored.pending_cursor), (None, None));
        db.close().await.ok();
        store_db.close().await.ok();
        company.cleanup().await;
    }
}

both_backends! {
    async fn the_scheduler_runs_each_tick_once_and_catches_up_once(backend: Backend) {
        use lethe_worker::retention::scheduler::{Pass, tick};
        let app = spawn_app(backend).await;
        let admin = app.admin(&org_slug()).await;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("logs.db").display());
        let db = api_logs("sqlite", &url).await;
        let store = store(&app, &admin, "logs", "sqlite", &url).await;
        let mut body = purge_closed("hourly", &store);
        body["schedule"] = json!("0 * * * *");
        let (status, policy) = app.post("/v1/retention/policies", Some(&admin), body).await;
        assert_eq!(status, StatusCode::CREATED, "{policy}");
        let policy_id = policy["id"].as_str().unwrap().to_owned();
        let rfc = &time::format_description::well_known::Rfc3339;
        let next = OffsetDateTime::parse(policy["next_run_at"].as_str().unwrap(), rfc).unwrap();
        assert_eq!((next.minute(), next.second()), (0, 0));
        let queue = lethe_worker::JobQueue::for_database(&app.db);
        // Lethe's own (hourly, daily) built-in policies would be due at the injected times too:
        // take them off the schedule for this test.
        app.get("/v1/retention/policies", Some(&admin)).await;
        app.db
            .execute_unprepared("UPDATE retention_policies SET next_run_at = NULL WHERE builtin IS NOT NULL")
            .await
            .unwrap();

        // Nothing is due before the tick.
        assert_eq!(tick(&app.db, &queue, next - time::Duration::seconds(1)).await.unwrap(), Pass::default());
        // The engine was down for five hours and ten minutes: one run, for the latest tick.
        let now = next + time::Duration::minutes(5 * 60 + 10);
        let pass = tick(&app.db, &queue, now).await.unwrap();
        assert_eq!((pass.started, pass.skipped), (1, 0), "{pass:?}");
        assert_eq!(tick(&app.db, &queue, now).await.unwrap(), Pass::default(), "caught up once, not once per tick");
        let (_, policy) = app.get(&format!("/v1/retention/policies/{policy_id}"), Some(&admin)).await;
        assert_eq!(OffsetDateTime::parse(policy["next_run_at"].as_str().unwrap(), rfc).unwrap(), next + time::Duration::hours(6));
        let (_, runs) = app.get(&format!("/v1/retention/runs?policy_id={policy_id}"), Some(&admin)).await;
        assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
        assert_eq!(runs[0]["trigger"], "schedule");
        assert_eq!(OffsetDateTime::parse(runs[0]["scheduled_for"].as_str().unwrap(), rfc).unwrap(), next + time::Duration::hours(5));
        let run = finished(&app, &admin, runs[0]["id"].as_str().unwrap()).await;
        assert_eq!(run["rows"], (1..=ROWS).filter(|i| is_old(*i) && !is_open(*i)).count(), "{run}");

        // Eight schedulers (as in eight worker processes) at the same tick: one run.
        let at = next + time::Duration::hours(6) + time::Duration::seconds(1);
        let passes = futures::future::join_all((0..8).map(|_| tick(&app.db, &queue, at))).await;
        let started: usize = passes.iter().map(|p| p.as_ref().unwrap().started).sum();
        assert_eq!(started, 1, "{passes:?}");
        let (_, runs) = app.get(&format!("/v1/retention/runs?policy_id={policy_id}"), Some(&admin)).await;
        assert_eq!(runs.as_array().unwrap().len(), 2, "{runs}");
        finished(&app, &admin, runs[0]["id"].as_str().unwrap()).await;

        // The figures in /metrics.
        let metrics = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        let purged = (1..=ROWS).filter(|i| is_old(*i) && !is_open(*i)).count();
        for line in [
            format!("lethe_retention_rows_purged {purged}"),
            "lethe_retention_runs{state=\"done\"} 2".to_owned(),
            "lethe_retention_runs{state=\"failed\"} 0".to_owned(),
            "lethe_retention_lag_seconds 0.000".to_owned(),
        ] {
            assert!(metrics.lines().any(|l| l == line), "{line} in:\n{metrics}");
        }
        db.close().await.ok();
    }
}

/// Two `lethe worker` processes on one PostgreSQL database, each with its own scheduler firing
/// on a schedule of every second: every tick gets one run, and rows are purged and recorded in
/// the ledger once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_run_each_scheduled_tick_once() {
    let mut app = spawn_app(lethe_tests::Backend::Postgres).await;
    let mut second = lethe_tests::app::spawn_on(
        app.database_url.clone(),
        &app.master_key_base64(),
        lethe_api::engine::Mode::Worker,
        app.outbox.clone(),
    )
    .await;
    let admin = app.admin(&org_slug()).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("logs.db").display());
    let db = api_logs("sqlite", &url).await;
    let store = store(&app, &admin, "logs", "sqlite", &url).await;
    let mut body = purge_closed("every-second", &store);
    body["schedule"] = json!("* * * * * *");
    let (status, policy) = app.post("/v1/retention/policies", Some(&admin), body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    let policy_id = policy["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_secs(4)).await;
    body["enabled"] = json!(false);
    let (status, _) = app.put(&format!("/v1/retention/policies/{policy_id}"), &admin, body).await;
    assert_eq!(status, StatusCode::OK);
    let (_, runs) = app.get(&format!("/v1/retention/runs?policy_id={policy_id}&limit=500"), Some(&admin)).await;
    let runs = runs.as_array().unwrap().clone();
    assert!(runs.len() >= 2, "ticks ran: {runs:?}");
    let mut ticks: Vec<&str> = runs.iter().map(|r| r["scheduled_for"].as_str().unwrap()).collect();
    ticks.sort_unstable();
    let before = ticks.len();
    ticks.dedup();
    assert_eq!(ticks.len(), before, "one run per tick");
    let mut total = 0;
    for run in &runs {
        let run = finished(&app, &admin, run["id"].as_str().unwrap()).await;
        assert_eq!(run["state"], "done", "{run}");
        total += run["rows"].as_u64().unwrap();
    }
    let purged = (1..=ROWS).filter(|i| is_old(*i) && !is_open(*i)).count() as u64;
    assert_eq!(total, purged, "every row purged once over all runs");
    let entries = purge_entries(&app, &admin, &policy_id).await;
    assert_eq!(entries.iter().map(|e| e.3).sum::<u64>(), purged, "and in the ledger once");
    db.close().await.ok();
    second.stop().await;
    app.stop().await;
}

/// Redis: keys past their age by a "last seen" hash field, and by idle time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_keys_past_their_age_are_deleted() {
    use redis::AsyncCommands;
    let app = spawn_app(lethe_tests::Backend::Sqlite).await;
    let admin = app.admin(&org_slug()).await;
    let company = Company::create().await;
    let prefix = company.redis_prefix.clone();
    let client = redis::Client::open(company.redis_url.as_str()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    for i in 1..=30i64 {
        let seen = if is_old(i) { now - 40 * 86_400 } else { now - 86_400 };
        let _: () = c
            .hset_multiple(format!("{prefix}visit:{i}"), &[("last_seen", seen.to_string()), ("ip", "192.0.2.1".into())])
            .await
            .unwrap();
        let _: () = c.expire(format!("{prefix}visit:{i}"), 3600).await.unwrap();
    }
    let store = store(&app, &admin, "cache", "redis", &company.redis_url).await;
    let body = json!({
        "name": "visits", "store_id": store, "key_pattern": format!("{prefix}visit:*"), "age_column": "last_seen",
        "max_age": "P7D", "action": {"type": "delete_row"}, "batch_size": 4, "legal_basis": "Visits are kept a week"
    });
    let (status, policy) = app.post("/v1/retention/policies", Some(&admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    assert_eq!(policy["key_pattern"], format!("{prefix}visit:*"));
    let id = policy["id"].as_str().unwrap();
    let (status, preview) = app.post(&format!("/v1/retention/policies/{id}/preview"), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["rows"], 15, "{preview}");
    let mut old: Vec<String> = (1..=30).filter(|i| is_old(*i)).map(|i| format!("{prefix}visit:{i}")).collect();
    old.sort();
    let sample: Vec<String> =
        preview["sample_keys"].as_array().unwrap().iter().map(|k| k[0].as_str().unwrap().to_owned()).collect();
    assert_eq!(sample, old);
    let run = run_now(&app, &admin, id).await;
    assert_eq!((run["state"].as_str(), run["rows"].as_i64()), (Some("done"), Some(15)), "{run}");
    for i in 1..=30i64 {
        let exists: bool = c.exists(format!("{prefix}visit:{i}")).await.unwrap();
        assert_eq!(exists, !is_old(i), "visit {i}");
    }
    let entries = purge_entries(&app, &admin, id).await;
    assert_eq!(entries.iter().map(|e| e.3).sum::<u64>(), 15);
    assert!(entries.iter().all(|e| e.0 == "cache" && e.1 == format!("{prefix}visit:*") && e.2 == "delete_row"));

    // Idle time: keys nobody used for an hour go (restored with `IDLETIME 3600`); the four
    // just written stay.
    for i in 1..=10 {
        let key = format!("{prefix}tmp:{i}");
        let _: () = c.set_ex(&key, "x", 3600).await.unwrap();
        if i > 4 {
            let dumped: Vec<u8> = redis::cmd("DUMP").arg(&key).query_async(&mut c).await.unwrap();
            let _: () = redis::cmd("RESTORE")
                .arg(&key)
                .arg(3_600_000)
                .arg(dumped)
                .arg("REPLACE")
                .arg("IDLETIME")
                .arg(3600)
                .query_async(&mut c)
                .await
                .unwrap();
        }
    }
    let body = json!({
        "name": "tmp", "store_id": store, "key_pattern": format!("{prefix}tmp:*"), "max_age": "PT30M",
        "action": {"type": "delete_row"}, "legal_basis": "Temporary keys"
    });
    let (status, policy) = app.post("/v1/retention/policies", Some(&admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    let run = run_now(&app, &admin, policy["id"].as_str().unwrap()).await;
    assert_eq!((run["state"].as_str(), run["rows"].as_i64()), (Some("done"), Some(6)), "{run}");
    for i in 1..=10 {
        let exists: bool = c.exists(format!("{prefix}tmp:{i}")).await.unwrap();
        assert_eq!(exists, i <= 4, "tmp {i}");
    }
    // A Redis policy takes no table and no filter.
    let body = json!({
        "name": "bad", "store_id": store, "table": "visits", "max_age": "P1D",
        "filter": [{"column": "x", "op": "is_null"}], "action": {"type": "delete_row"}, "legal_basis": "x"
    });
    let (status, problem) = app.post("/v1/retention/policies", Some(&admin), body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["table", "key_pattern", "filter"]);
    company.cleanup().await;
}

/// Two policies on one table: the narrower one (open logs, kept 60 days) governs its rows, so
/// the broad one (every log, 7 days) leaves them; the narrow one has nothing to do yet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_narrower_policy_governs_its_rows() {
    let app = spawn_app(lethe_tests::Backend::Sqlite).await;
    let admin = app.admin(&org_slug()).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("logs.db").display());
    let db = api_logs("sqlite", &url).await;
    let store = store(&app, &admin, "logs", "sqlite", &url).await;
    let mut broad = purge_closed("all-logs", &store);
    broad["filter"] = json!([]);
    let (_, broad) = app.post("/v1/retention/policies", Some(&admin), broad).await;
    let mut narrow = purge_closed("open-logs", &store);
    narrow["filter"] = json!([{"column": "status", "op": "eq", "value": "open"}]);
    narrow["max_age"] = json!("P60D");
    let (status, narrow) = app.post("/v1/retention/policies", Some(&admin), narrow).await;
    assert_eq!(status, StatusCode::CREATED, "{narrow}");
    let purged = (1..=ROWS).filter(|i| is_old(*i) && !is_open(*i)).count();
    let (_, preview) = app
        .post(&format!("/v1/retention/policies/{}/preview", broad["id"].as_str().unwrap()), Some(&admin), json!({}))
        .await;
    assert_eq!(preview["rows"], purged, "{preview}");
    let run = run_now(&app, &admin, broad["id"].as_str().unwrap()).await;
    assert_eq!(run["rows"], purged, "{run}");
    assert_eq!(ids(&db).await, (1..=ROWS).filter(|i| !is_old(*i) || is_open(*i)).collect::<Vec<_>>());
    let run = run_now(&app, &admin, narrow["id"].as_str().unwrap()).await;
    assert_eq!(run["rows"], 0, "open logs are 40 days old, kept 60: {run}");
    db.close().await.ok();
}

both_backends! {
    async fn lethe_keeps_its_own_retention_promises(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let (status, list) = app.get("/v1/retention/policies", Some(&admin)).await;
        assert_eq!(status, StatusCode::OK);
        let builtins: Vec<(&str, &str, &str)> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["name"].as_str().unwrap(), p["builtin"].as_str().unwrap(), p["max_age"].as_str().unwrap()))
            .collect();
        assert_eq!(
            builtins,
            [
                ("lethe-closed-request-identities", "closed_request_identities", "P90D"),
                ("lethe-expired-exports", "expired_exports", "P7D"),
                ("lethe-finished-jobs", "finished_jobs", "P14D"),
                ("lethe-request-events", "request_events", "P12M"),
                ("lethe-verification-challenges", "verification_challenges", "P1D"),
            ]
        );
        assert!(list.as_array().unwrap().iter().all(|p| p["enabled"] == true && p["store_id"] == Uuid::nil().to_string()));
        let id_of = |key: &str| {
            list.as_array().unwrap().iter().find(|p| p["builtin"] == key).unwrap()["id"].as_str().unwrap().to_owned()
        };

        // An old closed request (canceled 100 days ago, events 13 months old) and a fresh one.
        let old = app.submit(&org, "erasure", "gdpr", "old@example.com").await;
        app.code_for("old@example.com", 1).await;
        let (status, _) = app.post(&format!("/v1/requests/{}/cancel", old.id), None, json!({"token": old.token})).await;
        assert_eq!(status, StatusCode::OK);
        let fresh = app.submit(&org, "access", "gdpr", "fresh@example.com").await;
        app.code_for("fresh@example.com", 1).await;
        let backend_of = app.db.get_database_backend();
        let exec = |sql: String, values: Vec<sea_orm::Value>| {
            let db = app.db.clone();
            async move { db.execute_raw(Statement::from_sql_and_values(backend_of, sql, values)).await.unwrap() }
        };
        let mark = |n: usize| if backend_of == sea_orm::DatabaseBackend::Postgres { format!("${n}") } else { "?".into() };
        let now = OffsetDateTime::now_utc();
        let old_id: Uuid = old.id.parse().unwrap();
        exec(format!("UPDATE requests SET closed_at = {} WHERE id = {}", mark(1), mark(2)), vec![(now - time::Duration::days(100)).into(), old_id.into()]).await;
        exec(format!("UPDATE request_events SET at = {} WHERE request_id = {}", mark(1), mark(2)), vec![(now - time::Duration::days(400)).into(), old_id.into()]).await;
        exec(format!("UPDATE verification_challenges SET created_at = {} WHERE request_id = {}", mark(1), mark(2)), vec![(now - time::Duration::days(2)).into(), old_id.into()]).await;

        let old_events = {
            use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
            use lethe_entities::entity::request_event;
            request_event::Entity::find().filter(request_event::Column::RequestId.eq(old_id)).count(&app.db).await.unwrap()
        };
        assert!(old_events >= 2);
        // The console's audit events (`operator_events`) go with the timelines: three 13 months
        // old, one fresh. Batches of 2 fill up with account events once the timelines are done.
        let admin_id = app.operator(&format!("admin@{org}.test")).await.id;
        for age in [400, 400, 395, 1] {
            use lethe_entities::entity::operator_event::{ActiveModel, OperatorEventKind};
            let mut event = ActiveModel::record(&app.keyring(), detail_org(&app, &org).await, admin_id, OperatorEventKind::SignedIn, None, Some("password"));
            event.at = Set(now - time::Duration::days(age));
            event.insert(&app.db).await.unwrap();
        }
        let events_policy = list.as_array().unwrap().iter().find(|p| p["builtin"] == "request_events").unwrap();
        let mut small = events_policy.clone();
        for field in ["id", "builtin", "next_run_at", "created_at", "updated_at"] {
            small.as_object_mut().unwrap().remove(field);
        }
        small["batch_size"] = json!(2);
        let (status, body) = app.put(&format!("/v1/retention/policies/{}", id_of("request_events")), &admin, small).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        for (key, rows) in [("verification_challenges", 1), ("closed_request_identities", 1), ("request_events", old_events + 3)] {
            let (_, preview) = app.post(&format!("/v1/retention/policies/{}/preview", id_of(key)), Some(&admin), json!({})).await;
            assert_eq!(preview["rows"], rows, "{key}: {preview}");
            let run = run_now(&app, &admin, &id_of(key)).await;
            assert_eq!((run["state"].as_str(), run["rows"].as_u64()), (Some("done"), Some(rows)), "{key}: {run}");
        }
        // The old request keeps its row, its blind index and no timeline; its identity is gone.
        let (_, detail) = app.get(&format!("/v1/requests/{}", old.id), Some(&admin)).await;
        assert_eq!(detail["state"], "canceled");
        assert_eq!(detail["identities"][0]["kind"], "email");
        assert_eq!(detail["identities"][0]["value"], Value::Null, "{detail}");
        assert_eq!(detail["timeline"], json!([]), "{detail}");
        let identities = lethe_entities::entity::subject_identity::Model::of_request(&app.db, detail_org(&app, &org).await, old_id).await.unwrap();
        assert!(identities[0].ciphertext.is_empty() && identities[0].blind_index.len() == 64);
        // The fresh request is untouched.
        let (_, fresh_detail) = app.get(&format!("/v1/requests/{}", fresh.id), Some(&admin)).await;
        assert_eq!(fresh_detail["identities"][0]["value"], "fresh@example.com");
        assert!(!fresh_detail["timeline"].as_array().unwrap().is_empty());
        let entries = purge_entries(&app, &admin, &id_of("closed_request_identities")).await;
        assert_eq!(entries, [("lethe".to_owned(), "subject_identities".to_owned(), "anonymise".to_owned(), 1)]);
        let entries = purge_entries(&app, &admin, &id_of("request_events")).await;
        let rows_of = |table: &str| entries.iter().filter(|e| e.1 == table).map(|e| e.3).sum::<u64>();
        assert_eq!((rows_of("request_events"), rows_of("operator_events")), (old_events, 3), "{entries:?}");
        assert!(entries.iter().all(|e| e.0 == "lethe" && e.2 == "delete_row" && (1..=2).contains(&e.3)), "{entries:?}");
        let accounts = {
            use sea_orm::{ColumnTrait, QueryFilter};
            use lethe_entities::entity::operator_event;
            operator_event::Entity::find().filter(operator_event::Column::OperatorId.eq(admin_id)).all(&app.db).await.unwrap()
        };
        assert_eq!(accounts.len(), 1, "the fresh account event stays");
        assert!(accounts[0].at > now - time::Duration::days(2));

        // Finished job rows older than 14 days (the verification jobs above, made old).
        let old_jobs = if backend_of == sea_orm::DatabaseBackend::Postgres {
            exec("UPDATE apalis.jobs SET done_at = now() - interval '20 days' WHERE status = 'Done'".into(), vec![]).await.rows_affected()
        } else {
            exec("UPDATE Jobs SET done_at = strftime('%s', 'now') - 20 * 86400 WHERE status = 'Done'".into(), vec![]).await.rows_affected()
        };
        assert!(old_jobs >= 2, "{old_jobs}");
        let run = run_now(&app, &admin, &id_of("finished_jobs")).await;
        assert_eq!((run["state"].as_str(), run["rows"].as_u64()), (Some("done"), Some(old_jobs)), "{run}");

        // Configurable: the age and schedule, not the target; never deleted.
        let builtin = list.as_array().unwrap().iter().find(|p| p["builtin"] == "request_events").unwrap().clone();
        let mut body = builtin.clone();
        for field in ["id", "builtin", "next_run_at", "created_at", "updated_at"] {
            body.as_object_mut().unwrap().remove(field);
        }
        body["max_age"] = json!("P24M");
        body["schedule"] = json!("0 2 * * 0");
        let (status, changed) = app.put(&format!("/v1/retention/policies/{}", id_of("request_events")), &admin, body.clone()).await;
        assert_eq!((status, changed["max_age"].as_str()), (StatusCode::OK, Some("P24M")), "{changed}");
        body["table"] = json!("requests");
        let (status, problem) = app.put(&format!("/v1/retention/policies/{}", id_of("request_events")), &admin, body).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("table")), "{problem}");
        let (status, problem) = app.delete(&format!("/v1/retention/policies/{}", id_of("request_events")), &admin).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("builtin_policy")));
    }
}

async fn detail_org(app: &TestApp, slug: &str) -> Uuid {
    lethe_entities::entity::organization::Model::find_by_slug(&app.db, slug).await.unwrap().unwrap().id
}

/// A run stopped between batches keeps what it did (rows, ledger entries, cursor) and does no
/// more; resumed, it finishes from its cursor with the same cutoff, every row counted once.
/// Stopping twice changes nothing; finished runs cannot be stopped, running ones not resumed;
/// auditors may do neither; other organizations' runs are not found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_run_halts_between_batches_and_resumes_where_it_stopped() {
    let app = spawn_app(lethe_tests::Backend::Sqlite).await;
    let org = org_slug();
    let admin = app.admin(&org).await;
    let auditor = app.operator_in(&org, "auditor@shop.example", lethe_entities::domain::enums::Role::Auditor).await;
    let stranger = app.admin(&org_slug()).await;
    let (db, policy, _dir) = slow_policy(&app, &admin, 5).await;
    let (status, run) = app.post(&format!("/v1/retention/policies/{policy}/run"), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let id = run["id"].as_str().unwrap().to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while run_view(&app, &admin, &id).await["rows"].as_i64().unwrap() < 10 {
        assert!(std::time::Instant::now() < deadline, "the run did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (status, problem) = app.post(&format!("/v1/retention/runs/{id}/stop"), Some(&auditor), json!({})).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{problem}");
    let (status, problem) = app.post(&format!("/v1/retention/runs/{id}/stop"), Some(&stranger), json!({})).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("run_not_found")), "{problem}");
    let (status, stopped) = app.post(&format!("/v1/retention/runs/{id}/stop"), Some(&admin), json!({})).await;
    assert_eq!((status, stopped["state"].as_str()), (StatusCode::OK, Some("stopped")), "{stopped}");
    let (status, problem) = app.post(&format!("/v1/retention/runs/{id}/resume"), Some(&stranger), json!({})).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("run_not_found")), "{problem}");

    // The batch in flight (if any) commits; then nothing more happens.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let halted = run_view(&app, &admin, &id).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let later = run_view(&app, &admin, &id).await;
    assert_eq!(later["state"], "stopped", "{later}");
    assert_eq!((later["rows"].clone(), later["batches"].clone()), (halted["rows"].clone(), halted["batches"].clone()));
    let purged = halted["rows"].as_i64().unwrap();
    assert!(purged < ROWS / 2, "stopped before the end: {halted}");
    assert!(purged - stopped["rows"].as_i64().unwrap() <= 5, "at most the batch in flight after the stop: {halted}");
    assert_eq!(ids(&db).await.len() as i64, ROWS - purged, "the store agrees with the run");
    let entries = purge_entries(&app, &admin, &policy).await;
    assert_eq!(entries.iter().map(|e| e.3 as i64).sum::<i64>(), purged, "the ledger agrees with the run");
    let (status, again) = app.post(&format!("/v1/retention/runs/{id}/stop"), Some(&admin), json!({})).await;
    assert_eq!((status, again["state"].as_str()), (StatusCode::OK, Some("stopped")), "stopping twice is harmless");

    // Resumed: the same run finishes, from its cursor, with the cutoff it started with.
    let (status, problem) = app.post(&format!("/v1/retention/runs/{id}/resume"), Some(&auditor), json!({})).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{problem}");
    let (status, resumed) = app.post(&format!("/v1/retention/runs/{id}/resume"), Some(&admin), json!({})).await;
    assert_eq!((status, resumed["state"].as_str()), (StatusCode::ACCEPTED, Some("queued")), "{resumed}");
    assert_eq!(resumed["cutoff"], halted["cutoff"]);
    let done = finished(&app, &admin, &id).await;
    assert_eq!((done["state"].as_str(), done["rows"].as_i64()), (Some("done"), Some(ROWS / 2)), "{done}");
    assert_eq!(
        (done["cutoff"].clone(), done["started_at"].clone()),
        (halted["cutoff"].clone(), halted["started_at"].clone())
    );
    assert_eq!(ids(&db).await, (1..=ROWS).filter(|i| !is_old(*i)).collect::<Vec<_>>());
    let entries = purge_entries(&app, &admin, &policy).await;
    assert_eq!(entries.iter().map(|e| e.3 as i64).sum::<i64>(), ROWS / 2, "each row once in the ledger");
    assert_eq!(entries.len() as i64, done["batches"].as_i64().unwrap());

    let (status, problem) = app.post(&format!("/v1/retention/runs/{id}/stop"), Some(&admin), json!({})).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("run_finished")), "{problem}");
    let (status, problem) = app.post(&format!("/v1/retention/runs/{id}/resume"), Some(&admin), json!({})).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("run_not_stopped")), "{problem}");
    let (status, problem) =
        app.post(&format!("/v1/retention/runs/{}/stop", Uuid::now_v7()), Some(&admin), json!({})).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("run_not_found")), "{problem}");
    db.close().await.ok();
}

/// The run `id` as the run history shows it.
async fn run_view(app: &TestApp, token: &str, id: &str) -> Value {
    let (_, runs) = app.get("/v1/retention/runs?limit=500", Some(token)).await;
    runs.as_array().unwrap().iter().find(|r| r["id"] == id).cloned().unwrap()
}
