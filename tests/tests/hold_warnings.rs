//! Expiry warnings for legal holds: the owner is e-mailed 7 days and 1 day before a hold
//! expires, once each, by the scheduler's pass (driven here with an injected clock); a hold
//! placed close to its expiry gets only the warnings still ahead of it; released holds and
//! holds without expiry get none; a pass run twice (or by two processes) sends nothing twice.

use std::time::Duration;

use lethe_tests::app::{TestApp, org_slug, spawn_app};
use lethe_tests::{both_backends, mailbox};
use lethe_worker::JobQueue;
use lethe_worker::retention::scheduler;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// Places a table hold owned by `owner` expiring `expires_in` from now (none if `None`).
async fn place(app: &TestApp, admin: &str, store: &str, owner: &str, expires_in: Option<time::Duration>) -> String {
    let mut body = json!({
        "scope": "table", "store_id": store, "table": "logs", "reason": "Audit of the logs",
        "owner": owner, "matter": "AUDIT-2026"
    });
    if let Some(d) = expires_in {
        let at = (OffsetDateTime::now_utc() + d).format(&time::format_description::well_known::Rfc3339).unwrap();
        body["expires_at"] = json!(at);
    }
    let (status, hold) = app.post("/v1/holds", Some(admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{hold}");
    hold["id"].as_str().unwrap().to_owned()
}

/// The subject lines of the messages to `owner` (header folding undone).
fn subjects(owner: &str, messages: &[String]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| mailbox::recipient(m) == owner)
        .map(|m| {
            let unfolded = m.replace("\r\n ", " ").replace("\n ", " ");
            unfolded.lines().find_map(|l| l.strip_prefix("Subject: ")).unwrap().trim().to_owned()
        })
        .collect()
}

/// Every message in the outbox once `count` have arrived, after a pause in which more could.
async fn settled(app: &TestApp, count: usize) -> Vec<String> {
    mailbox::wait_for_messages(&app.outbox, count).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    mailbox::wait_for_messages(&app.outbox, 0).await
}

both_backends! {
    async fn owners_are_warned_seven_days_and_one_day_before_a_hold_expires(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = org_slug();
    let admin = app.admin(&org).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("logs.db").display());
    let (status, store) =
        app.post("/v1/stores", Some(&admin), json!({"name": "logs", "kind": "sqlite", "connection": {"url": url}})).await;
    assert_eq!(status, StatusCode::CREATED, "{store}");
    let store = store["id"].as_str().unwrap().to_owned();
    let day = time::Duration::days(1);
    let ten_days = place(&app, &admin, &store, "ten@shop.example", Some(day * 10)).await;
    let three_days = place(&app, &admin, &store, "three@shop.example", Some(day * 3)).await;
    place(&app, &admin, &store, "twelve-hours@shop.example", Some(time::Duration::hours(12))).await;
    // Released before it is due (the engine's own passes run meanwhile): no warning ever.
    let released = place(&app, &admin, &store, "released@shop.example", Some(day * 10)).await;
    place(&app, &admin, &store, "forever@shop.example", None).await;
    let (status, _) =
        app.post(&format!("/v1/holds/{released}/release"), Some(&admin), json!({"reason": "Matter closed"})).await;
    assert_eq!(status, StatusCode::OK);

    // Now: the 3-day hold is inside its 7-day window, the 12-hour one inside its last day.
    let queue = JobQueue::for_database(&app.db);
    let now = OffsetDateTime::now_utc();
    // The engine's own scheduler passes run too (with the real clock): whichever pass comes
    // first sends a warning, so what counts is the messages, not one pass's work.
    let pass = scheduler::tick(&app.db, &queue, now).await.unwrap();
    assert!(pass.hold_warnings <= 2, "{pass:?}");
    let again = scheduler::tick(&app.db, &queue, now).await.unwrap();
    assert_eq!(again.hold_warnings, 0, "a second pass sends nothing twice");
    let messages = settled(&app, 2).await;
    assert_eq!(messages.len(), 2);
    let prefix = format!("{org}: a legal hold expires");
    assert_eq!(subjects("three@shop.example", &messages), [format!("{prefix} in 7 days")]);
    assert_eq!(subjects("twelve-hours@shop.example", &messages), [format!("{prefix} in 1 day")]);
    let warning = messages.iter().find(|m| mailbox::recipient(m) == "three@shop.example").unwrap();
    let text = warning.replace("=\r\n", "").replace("=\n", "");
    assert!(text.contains(&three_days), "the message names the hold");
    assert!(text.contains("AUDIT-2026") && text.contains("table `logs` of store `logs`"), "{text}");

    // Two and a half days later the 3-day hold owes its last warning; the 10-day one nothing
    // yet. A day after that, the 10-day hold is inside its 7-day window.
    let later = now + day * 2 + time::Duration::hours(12);
    assert_eq!(scheduler::tick(&app.db, &queue, later).await.unwrap().hold_warnings, 1);
    let messages = settled(&app, 3).await;
    assert_eq!(
        subjects("three@shop.example", &messages),
        [format!("{prefix} in 7 days"), format!("{prefix} in 1 day")]
    );
    assert_eq!(scheduler::tick(&app.db, &queue, later + day).await.unwrap().hold_warnings, 1);
    let messages = settled(&app, 4).await;
    assert_eq!(messages.len(), 4);
    assert_eq!(subjects("ten@shop.example", &messages), [format!("{prefix} in 7 days")]);
    for nobody in ["released@shop.example", "forever@shop.example"] {
        assert!(subjects(nobody, &messages).is_empty(), "{nobody} is not warned");
    }
    let (_, holds) = app.get("/v1/holds", Some(&admin)).await;
    let warned = |id: &str| -> Value {
        holds.as_array().unwrap().iter().find(|h| h["id"] == id).unwrap()["expiry_warnings_sent"].clone()
    };
    assert_eq!((warned(&ten_days), warned(&three_days)), (json!(1), json!(2)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_must_be_an_address() {
    let app = spawn_app(lethe_tests::Backend::Sqlite).await;
    let admin = app.admin(&org_slug()).await;
    let body = json!({"scope": "organization", "reason": "Regulator's order", "owner": "Legal team"});
    let (status, problem) = app.post("/v1/holds", Some(&admin), body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "owner", "{problem}");
}
