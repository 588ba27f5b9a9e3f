//! A request's acknowledgement ("we have received your request") reaches the person before its
//! answer, also when approval follows verification at once and the work is quicker than the
//! acknowledgement's job (`lethe_worker::acknowledge`): eight access requests to an organization
//! that approves by itself, each person's mails in order (code, received, then the export's
//! link and the completion), the acknowledgement once, with Lethe's database on SQLite and on
//! PostgreSQL (the queue's own rows are taken with a compare-and-set).

use lethe_tests::app::org_slug;
use lethe_tests::{both_backends, mailbox, spawn_app};
use reqwest::StatusCode;
use serde_json::json;

/// The messages to `address`, oldest first, once there are `count` (waiting up to 120 s: an
/// answer may wait for an acknowledgement a worker holds, up to 60 s).
async fn messages_to(app: &lethe_tests::TestApp, address: &str, count: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let all = mailbox::wait_for_messages(&app.outbox, 0).await;
        let mine: Vec<String> = all.into_iter().filter(|m| mailbox::recipient(m) == address).collect();
        if mine.len() >= count {
            return mine;
        }
        assert!(std::time::Instant::now() < deadline, "{address}: {} of {count} messages", mine.len());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The subject line of an e-mail file.
fn subject(message: &str) -> &str {
    message.lines().find_map(|l| l.strip_prefix("Subject: ")).unwrap_or_default()
}

both_backends! {
    async fn the_acknowledgement_comes_before_the_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = org_slug();
    let admin = app.admin(&org).await;
    let people: Vec<String> = (0..8).map(|i| format!("person{i}@example.com")).collect();
    let emails: Vec<&str> = people.iter().map(String::as_str).collect();
    let _store = lethe_tests::portal::people_store(&app, &admin, &emails).await;
    assert_eq!(app.patch("/v1/organization", &admin, json!({ "auto_approve": true })).await.0, StatusCode::OK);

    for email in &emails {
        app.verified(&org, "access", "gdpr", email).await;
    }
    for email in &emails {
        // The code, the acknowledgement, the export's link and the completion.
        let messages = messages_to(&app, email, 4).await;
        let subjects: Vec<&str> = messages.iter().map(|m| subject(m)).collect();
        let received: Vec<usize> =
            (0..messages.len()).filter(|&i| subjects[i].ends_with("we have received your request")).collect();
        assert_eq!(received.len(), 1, "{email}: one acknowledgement: {subjects:#?}");
        let link = messages.iter().position(|m| m.contains("/v1/exports/")).expect("the export's link");
        let completed = subjects.iter().position(|s| s.ends_with("your request is complete")).expect("the completion");
        assert!(received[0] < link && received[0] < completed, "{email}: the acknowledgement first: {subjects:#?}");
    }
}
}
