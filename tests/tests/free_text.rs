//! The free text people type is stored encrypted and shown in clear: an operator's note on a
//! completed manual task, the reasons of approving, denying, extending and holding a request,
//! and a legal hold's reason, matter and release reason. The rows in Lethe's database (read
//! directly, every column) do not hold the typed text; the API and the console show it. Each
//! test runs on SQLite and on PostgreSQL.

use lethe_entities::domain::enums::Role;
use lethe_tests::app::org_slug;
use lethe_tests::console::Console;
use lethe_tests::{TestApp, both_backends, raw, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

const NOTE: &str = "Shredded the folder of Ann Example with the clerk Bo Witness";
const APPROVED: &str = "Approved after a call with Ann Example";
const DENIED: &str = "Ann Example owes invoice 4711";
const EXTENDED: &str = "Ann Example has records in forty systems";
const HELD: &str = "Ann Example asked us to wait for her lawyer";
const HOLD_REASON: &str = "Litigation against Carl Claimant";
const MATTER: &str = "Claimant versus Shop";
const RELEASED: &str = "Carl Claimant settled out of court";

/// Every text of this test.
const TEXTS: [&str; 8] = [NOTE, APPROVED, DENIED, EXTENDED, HELD, HOLD_REASON, MATTER, RELEASED];

async fn post_ok(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let (status, answer) = app.post(path, Some(token), body).await;
    assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    answer
}

/// The reasons on request `id`'s timeline, as the API shows them.
async fn timeline_reasons(app: &TestApp, token: &str, id: &str) -> (Value, Vec<String>) {
    let (status, detail) = app.get(&format!("/v1/requests/{id}"), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let reasons = detail["timeline"].as_array().unwrap().iter().filter_map(|e| e["reason"].as_str().map(str::to_owned));
    (detail.clone(), reasons.collect())
}

both_backends! {
    async fn typed_texts_are_stored_encrypted_and_shown_in_clear(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let operator_email = format!("op@{org}.test");
        let operator = app.operator_in(&org, &operator_email, Role::Operator).await;
        let store = json!({"name": "paper-archive", "kind": "manual", "instructions": "Shred the folder in cabinet 3."});
        let (status, created) = app.post("/v1/stores", Some(&admin), store).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");

        // A manual task completed with a note, after an approval with a note.
        let erased = app.verified(&org, "erasure", "gdpr", "ann@example.com").await;
        post_ok(&app, &admin, &format!("/v1/requests/{}/approve", erased.id), json!({"reason": APPROVED})).await;
        let tasks = app.tasks_settled(&erased.id, &admin).await;
        let task = tasks.iter().find(|t| t["store"] == "paper-archive").unwrap()["id"].as_str().unwrap().to_owned();
        post_ok(&app, &operator, &format!("/v1/requests/{}/tasks/{task}/complete", erased.id), json!({"reason": NOTE})).await;
        app.wait_for_state(&erased.id, &admin, "completed").await;
        // A denial and an extension with a hold.
        let denied = app.verified(&org, "access", "gdpr", "bo@example.com").await;
        post_ok(&app, &admin, &format!("/v1/requests/{}/deny", denied.id), json!({"ground": "legal_exception", "detail": DENIED})).await;
        let extended = app.verified(&org, "access", "gdpr", "cy@example.com").await;
        post_ok(&app, &admin, &format!("/v1/requests/{}/extend", extended.id), json!({"reason": EXTENDED})).await;
        post_ok(&app, &admin, &format!("/v1/requests/{}/hold", extended.id), json!({"reason": HELD})).await;
        // A legal hold placed and released.
        let hold = json!({"scope": "organization", "reason": HOLD_REASON, "owner": "legal@shop.example", "matter": MATTER});
        let (status, placed) = app.post("/v1/holds", Some(&admin), hold).await;
        assert_eq!(status, StatusCode::CREATED, "{placed}");
        let hold_id = placed["id"].as_str().unwrap().to_owned();
        post_ok(&app, &admin, &format!("/v1/holds/{hold_id}/release"), json!({"reason": RELEASED})).await;

        // The database holds none of the texts in clear, in any column of these tables.
        let org_id = app.operator(&operator_email).await.organization_id;
        for table in ["request_events", "requests", "legal_holds"] {
            assert_eq!(raw::in_clear(&app.db, table, org_id, &TEXTS).await, Vec::<String>::new(), "{table}");
        }

        // The API shows them.
        let (_, reasons) = timeline_reasons(&app, &operator, &erased.id).await;
        assert!(reasons.contains(&NOTE.to_owned()) && reasons.contains(&APPROVED.to_owned()), "{reasons:?}");
        let (detail, _) = timeline_reasons(&app, &admin, &denied.id).await;
        assert_eq!(detail["denial_reason"], format!("legal_exception: {DENIED}"));
        let (detail, reasons) = timeline_reasons(&app, &admin, &extended.id).await;
        assert_eq!(detail["extension_reason"], EXTENDED);
        assert!(reasons.contains(&HELD.to_owned()), "{reasons:?}");
        let (_, subject) = app.get(&format!("/v1/requests/{}?token={}", denied.id, denied.token), None).await;
        assert_eq!(subject["denial_reason"], format!("legal_exception: {DENIED}"), "the subject sees it too");
        let (_, listed) = app.get("/v1/holds", Some(&admin)).await;
        let shown = &listed.as_array().unwrap()[0];
        assert_eq!((&shown["reason"], &shown["matter"], &shown["release_reason"]), (&json!(HOLD_REASON), &json!(MATTER), &json!(RELEASED)));

        // The console shows them to operators of the organization.
        let console = Console::signed_in(&app.base, &operator_email).await;
        let page = console.get(&format!("/console/requests/{}", erased.id)).await;
        assert!(page.body.contains(NOTE) && page.body.contains(APPROVED), "{}", page.body);
        let page = console.get(&format!("/console/requests/{}", extended.id)).await;
        assert!(page.body.contains(EXTENDED) && page.body.contains(HELD), "{}", page.body);
        let admin_console = Console::signed_in(&app.base, &format!("admin@{org}.test")).await;
        let audit = admin_console.get("/console/audit").await;
        assert!(audit.body.contains(NOTE) && audit.body.contains(DENIED), "{}", audit.body);
        let holds_page = admin_console.get("/console/retention/holds").await;
        assert!(TEXTS[5..].iter().all(|t| holds_page.body.contains(t)), "{}", holds_page.body);
    }
}
