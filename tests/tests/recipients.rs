//! Art. 19 recipients: the shop's data map names two processors its data is disclosed to; an
//! erasure request gets one task per recipient, created once however often fulfilment runs, and
//! completes only when both are notified (operators, with a note) or waived (admins, with a
//! reason). The timeline keeps the texts (encrypted at rest); the certificate lists the
//! recipients, never the texts.
//! Access requests notify nobody; rectification requests do.

use lethe_entities::domain::enums::Role;
use lethe_entities::entity::{organization, recipient_task, store};
use lethe_entities::ledger::certificate::{self, RecipientOutcome};
use lethe_entities::ledger::checkpoint::parse_public_key;
use lethe_tests::app::{Backend, TestApp, org_slug, spawn_app};
use lethe_tests::company::Company;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

const NOTE: &str = "Deleted the contact through Mailchimp's API, ticket 4711.";
const REASON: &str = "Zendesk was introduced after her last ticket was closed.";

/// The shop's data map with two recipients: Mailchimp (with a contact and the tables it got)
/// and Zendesk.
fn shop_map_with_recipients(company: &Company) -> String {
    format!(
        "{}\nrecipients:\n  - name: Mailchimp\n    contact: https://mailchimp.com/contact/\n    \
         instructions: Delete the contact from the newsletter audience.\n    \
         tables: [customers, newsletter_subscribers]\n  - name: Zendesk\n    \
         instructions: Ask support to delete the customer's ticket history.\n",
        company.data_map("shop")
    )
}

/// Registers the company's stores and saves the shop's map with its recipients.
async fn register(app: &TestApp, admin: &str, company: &Company) -> String {
    let ids = company.register(app, admin, false).await;
    let path = format!("/v1/stores/{}/datamap", ids["shop"]);
    let (status, saved) = app.put(&path, admin, json!({ "yaml": shop_map_with_recipients(company) })).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    ids["shop"].clone()
}

async fn recipients(app: &TestApp, token: &str, request: &str) -> Vec<Value> {
    let (status, list) = app.get(&format!("/v1/requests/{request}/recipients"), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

fn id_of<'a>(tasks: &'a [Value], recipient: &str) -> &'a str {
    tasks.iter().find(|t| t["recipient"] == recipient).unwrap()["id"].as_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_completes_only_once_every_recipient_is_settled() {
    let (app, company) = tokio::join!(spawn_app(Backend::Postgres), Company::create());
    let org = org_slug();
    let admin = app.admin(&org).await;
    let operator = app.operator_in(&org, &format!("op@{org}.test"), Role::Operator).await;
    let shop = register(&app, &admin, &company).await;

    // A bad recipient list is refused with field paths and lines.
    let bad = format!(
        "{}\nrecipients:\n  - {{ name: Mailchimp, instructions: x, tables: [nowhere] }}\n  - {{ name: mailchimp, instructions: y }}\n",
        company.data_map("shop")
    );
    let (status, problem) = app.put(&format!("/v1/stores/{shop}/datamap"), &admin, json!({ "yaml": bad })).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_data_map")));
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["recipients[0].tables[0]", "recipients[1].name"], "{problem}");
    assert!(problem["errors"][0]["message"].as_str().unwrap().starts_with("line "), "{problem}");

    // The erasure runs in every store; the recipients wait for people.
    let req = app.verified(&org, "erasure", "gdpr", &company.ann.emails[0]).await;
    let (status, _) = app.post(&format!("/v1/requests/{}/approve", req.id), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let tasks = app.tasks_settled(&req.id, &admin).await;
    assert!(tasks.iter().all(|t| t["status"] == "done"), "{tasks:?}");
    let listed = recipients(&app, &admin, &req.id).await;
    let names: Vec<&str> = listed.iter().map(|t| t["recipient"].as_str().unwrap()).collect();
    assert_eq!(names, ["Mailchimp", "Zendesk"]);
    assert!(listed.iter().all(|t| t["status"] == "waiting" && t["store"] == "shop" && t["settled_at"].is_null()));
    assert_eq!(listed[0]["contact"], "https://mailchimp.com/contact/");
    assert_eq!(listed[0]["tables"], json!(["customers", "newsletter_subscribers"]));
    assert_eq!(listed[1]["instructions"], "Ask support to delete the customer's ticket history.");
    assert_eq!(listed[1]["tables"], json!([]));

    // Every store is done, yet the request does not complete while recipients wait; creating
    // the tasks again (fulfilment run twice) creates none.
    let keyring =
        lethe_entities::Keyring::derive(&lethe_entities::MasterKey::from_base64(&app.master_key_base64()).unwrap());
    let organization = organization::Model::find_by_slug(&app.db, &org).await.unwrap().unwrap();
    let request_id: Uuid = req.id.parse().unwrap();
    let completed = lethe_worker::tasks::complete_if_finished(
        &app.db,
        &keyring,
        organization.id,
        request_id,
        lethe_entities::entity::Commit::Durable,
    )
    .await
    .unwrap();
    assert!(completed.is_none(), "recipients are still waiting");
    let stores = store::Model::all_in_org(&app.db, organization.id).await.unwrap();
    lethe_worker::recipients::ensure(&app.db, organization.id, request_id, &stores).await.unwrap();
    let (status, _) = app.post(&format!("/v1/requests/{}/locate", req.id), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let rows = recipient_task::Model::of_request(&app.db, organization.id, request_id).await.unwrap();
    assert_eq!(rows.len(), 2, "each recipient once");
    let (_, detail) = app.get(&format!("/v1/requests/{}", req.id), Some(&admin)).await;
    assert_eq!(detail["state"], "in_progress");

    // An operator notifies Mailchimp with a note.
    let complete = |task: &str| format!("/v1/requests/{}/recipients/{task}/complete", req.id);
    let waive = |task: &str| format!("/v1/requests/{}/recipients/{task}/waive", req.id);
    let (mailchimp, zendesk) = (id_of(&listed, "Mailchimp"), id_of(&listed, "Zendesk"));
    let (status, problem) = app.post(&complete(mailchimp), Some(&operator), json!({ "reason": "  " })).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")));
    let (status, task) = app.post(&complete(mailchimp), Some(&operator), json!({ "reason": NOTE })).await;
    assert_eq!(status, StatusCode::OK, "{task}");
    assert_eq!(task["status"], "notified");
    assert!(task["settled_at"].is_string());
    let (status, problem) = app.post(&complete(mailchimp), Some(&operator), json!({ "reason": "again" })).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("task_finished")));
    let (_, detail) = app.get(&format!("/v1/requests/{}", req.id), Some(&admin)).await;
    assert_eq!(detail["state"], "in_progress", "Zendesk still waits");

    // Waiving is for admins, in their own organization, on this request's tasks.
    let (status, _) = app.post(&waive(zendesk), Some(&operator), json!({ "reason": REASON })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let other = app.admin(&org_slug()).await;
    let (status, problem) = app.post(&waive(zendesk), Some(&other), json!({ "reason": REASON })).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("request_not_found")));
    let (status, problem) = app.get(&format!("/v1/requests/{}/recipients", req.id), Some(&other)).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("request_not_found")));
    let unknown = waive(&Uuid::now_v7().to_string());
    let (status, problem) = app.post(&unknown, Some(&admin), json!({ "reason": REASON })).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("task_not_found")));
    let (status, task) = app.post(&waive(zendesk), Some(&admin), json!({ "reason": REASON })).await;
    assert_eq!(status, StatusCode::OK, "{task}");
    assert_eq!(task["status"], "waived");
    let detail = app.wait_for_state(&req.id, &admin, "completed").await;

    // The timeline keeps who did what and their words, encrypted: the rows do not hold them.
    let stored = lethe_tests::raw::in_clear(&app.db, "request_events", organization.id, &[NOTE, REASON]).await;
    assert_eq!(stored, Vec::<String>::new());
    let timeline = detail["timeline"].as_array().unwrap();
    let event = |kind: &str| timeline.iter().find(|e| e["kind"] == kind).cloned().unwrap();
    let notified = event("recipient_notified");
    assert_eq!(
        (notified["reason"].as_str(), notified["detail"]["recipient"].as_str()),
        (Some(NOTE), Some("Mailchimp"))
    );
    assert_eq!(notified["actor_kind"], "operator");
    let waived = event("recipient_waived");
    assert_eq!((waived["reason"].as_str(), waived["detail"]["recipient"].as_str()), (Some(REASON), Some("Zendesk")));
    assert!(!detail["timeline"].to_string().contains("example.com"));

    // The certificate lists both recipients, with no note, reason, contact or instructions.
    let (status, signed) = app.get(&format!("/v1/requests/{}/certificate", req.id), Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    let text = signed.to_string();
    for secret in [NOTE, REASON, "4711", "mailchimp.com", "newsletter audience", "example.com", &company.ann.name] {
        assert!(!text.contains(secret), "the certificate holds `{secret}`: {text}");
    }
    let parsed = certificate::parse(&text).unwrap();
    let (_, public) = app.get("/v1/ledger/public-key", None).await;
    let key = parse_public_key(public["pem"].as_str().unwrap()).unwrap();
    assert_eq!(certificate::verify(&parsed, &key), Ok(()));
    let listed: Vec<(&str, &str, RecipientOutcome)> =
        parsed.certificate.recipients.iter().map(|r| (r.recipient.as_str(), r.store.as_str(), r.outcome)).collect();
    assert_eq!(
        listed,
        [("Mailchimp", "shop", RecipientOutcome::Notified), ("Zendesk", "shop", RecipientOutcome::Waived)]
    );
    let at = task["settled_at"].as_str().unwrap();
    let zendesk_at = &parsed.certificate.recipients[1].at;
    assert_eq!(zendesk_at[..19], at[..19], "when it was waived");
    let (status, html) = app.get(&format!("/v1/requests/{}/certificate?format=html", req.id), Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    let html = html.as_str().unwrap();
    assert!(html.contains("Recipients notified (GDPR Art. 19)") && html.contains("<td>Zendesk</td>"), "{html}");
    assert!(!html.contains(NOTE) && !html.contains(REASON));

    // A settled request takes no more settling.
    let (status, problem) = app.post(&complete(zendesk), Some(&admin), json!({ "reason": NOTE })).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("task_finished")));
    company.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_requests_notify_nobody_and_rectifications_do() {
    let (app, company) = tokio::join!(spawn_app(Backend::Sqlite), Company::create());
    let org = org_slug();
    let admin = app.admin(&org).await;
    register(&app, &admin, &company).await;

    let access = app.verified(&org, "access", "gdpr", &company.bob.emails[0]).await;
    app.post(&format!("/v1/requests/{}/approve", access.id), Some(&admin), json!({})).await;
    app.wait_for_state(&access.id, &admin, "completed").await;
    assert!(recipients(&app, &admin, &access.id).await.is_empty());

    let rectification = app.verified(&org, "rectification", "gdpr", &company.ann.emails[0]).await;
    app.post(&format!("/v1/requests/{}/approve", rectification.id), Some(&admin), json!({})).await;
    app.wait_for_state(&rectification.id, &admin, "in_progress").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let listed = loop {
        let listed = recipients(&app, &admin, &rectification.id).await;
        if !listed.is_empty() {
            break listed;
        }
        assert!(std::time::Instant::now() < deadline, "no recipient tasks for the rectification");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let names: Vec<&str> = listed.iter().map(|t| t["recipient"].as_str().unwrap()).collect();
    assert_eq!(names, ["Mailchimp", "Zendesk"]);
    // An auditor reads them too.
    let auditor = app.operator_in(&org, &format!("aud@{org}.test"), Role::Auditor).await;
    assert_eq!(recipients(&app, &auditor, &rectification.id).await.len(), 2);
    company.cleanup().await;
}
