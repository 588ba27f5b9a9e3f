//! Trusted intake: an API key with `requests:submit` files a request for a person its own
//! application authenticated. It starts verified, with the key and the attestation on the
//! timeline, no verification code is mailed, and an `Idempotency-Key` makes retries safe, also
//! when two arrive at once.

use lethe_tests::app::org_slug;
use lethe_tests::{TestApp, both_backends, mailbox, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Creates a key with `scopes`; returns its id and secret.
async fn key(app: &TestApp, admin: &str, scopes: &[&str]) -> (String, String) {
    let (status, created) = app.post("/v1/api-keys", Some(admin), json!({"name": "shop-app", "scopes": scopes})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (created["key"]["id"].as_str().unwrap().to_owned(), created["secret"].as_str().unwrap().to_owned())
}

fn body(email: &str) -> Value {
    json!({
        "kind": "access",
        "regime": "gdpr",
        "email": email,
        "customer_id": "C-1042",
        "attestation": "signed in with password and TOTP"
    })
}

/// POSTs `body` to the trusted intake with `bearer` and, when given, an `Idempotency-Key`;
/// the status, whether it was a replay, and the body.
async fn file(app: &TestApp, bearer: &str, key: Option<&str>, body: &Value) -> (StatusCode, bool, Value) {
    let mut call = app.http.post(app.url("/v1/requests/attested")).bearer_auth(bearer).json(body);
    if let Some(key) = key {
        call = call.header("Idempotency-Key", key);
    }
    let answer = call.send().await.unwrap();
    let status = answer.status();
    let replayed = answer.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
    (status, replayed, answer.json().await.unwrap_or(Value::Null))
}

both_backends! {
    async fn a_trusted_application_files_verified_requests_once_per_key(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let (key_id, secret) = key(&app, &admin, &["requests:submit"]).await;

        let email = "signed-in@example.com";
        let (status, replayed, filed) = file(&app, &secret, Some("order-7731"), &body(email)).await;
        assert_eq!((status, replayed), (StatusCode::CREATED, false), "{filed}");
        assert_eq!(filed["state"], "pending_approval", "verified at once");
        let id = filed["id"].as_str().unwrap().to_owned();

        // The timeline says which key attested it and how; the person gets the notice of
        // receipt, never a code.
        let (_, detail) = app.get(&format!("/v1/requests/{id}"), Some(&admin)).await;
        let verified = detail["timeline"].as_array().unwrap().iter().find(|e| e["kind"] == "verified").unwrap().clone();
        assert_eq!((verified["actor_kind"].clone(), verified["actor_id"].clone()), (json!("api_key"), json!(key_id)), "{verified}");
        assert_eq!(verified["reason"], "identity attested by the integration: signed in with password and TOTP");
        let submitted = detail["timeline"].as_array().unwrap().iter().find(|e| e["kind"] == "submitted").unwrap().clone();
        assert_eq!(submitted["actor_kind"], "api_key");
        let notice = mailbox::wait_for_messages_to(&app.outbox, email, 1).await;
        assert!(mailbox::code_line(&notice[0]).is_none(), "no verification code for an attested request");
        let stored = lethe_tests::scan::stored_in(&app, "signed in with password").await;
        assert!(stored.is_empty(), "the attestation is encrypted at rest: {stored:?}");

        // A retry with the key gets the first answer, the same token too; nothing new is filed.
        let (status, replayed, again) = file(&app, &secret, Some("order-7731"), &body(email)).await;
        assert_eq!((status, replayed), (StatusCode::CREATED, true));
        assert_eq!(again, filed);
        // The same key with another body is refused; another key files another request.
        let (status, _, problem) = file(&app, &secret, Some("order-7731"), &body("someone-else@example.com")).await;
        assert_eq!((status, problem["code"].clone()), (StatusCode::CONFLICT, json!("idempotency_key_reused")));
        let (status, _, other) = file(&app, &secret, Some("order-7732"), &body(email)).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_ne!(other["id"], filed["id"]);
        // Without a key every call files.
        let (status, _, third) = file(&app, &secret, None, &body(email)).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_ne!(third["id"], other["id"]);

        // Two calls with one key at once: one request, both get its answer.
        let same = body(email);
        let (a, b) = tokio::join!(
            file(&app, &secret, Some("order-8000"), &same),
            file(&app, &secret, Some("order-8000"), &same)
        );
        assert_eq!((a.0, b.0), (StatusCode::CREATED, StatusCode::CREATED), "{} {}", a.2, b.2);
        assert_eq!(a.2["id"], b.2["id"]);
        assert!(a.1 != b.1, "one filed, one replayed");
        let (_, list) = app.get("/v1/requests?per_page=100", Some(&admin)).await;
        assert_eq!(list["total"], 4, "{list}");

        // A day later the key is forgotten: the same key files anew.
        use lethe_entities::entity::idempotency_key;
        use sea_orm::EntityTrait;
        use sea_orm::sea_query::Expr;
        let day_ago = time::OffsetDateTime::now_utc() - time::Duration::hours(25);
        idempotency_key::Entity::update_many()
            .col_expr(idempotency_key::Column::CreatedAt, Expr::value(day_ago))
            .exec(&app.db)
            .await
            .unwrap();
        let forgotten = idempotency_key::Model::forget_expired(&app.db, time::OffsetDateTime::now_utc()).await.unwrap();
        assert_eq!(forgotten, 3, "order-7731, order-7732 and order-8000");
        let (status, replayed, anew) = file(&app, &secret, Some("order-7731"), &body(email)).await;
        assert_eq!((status, replayed), (StatusCode::CREATED, false));
        assert_ne!(anew["id"], filed["id"]);
    }

    async fn trusted_intake_needs_its_scope_and_valid_input(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let (_, submitter) = key(&app, &admin, &["requests:submit"]).await;
        let (_, writer) = key(&app, &admin, &["requests:write"]).await;
        let (status, _, problem) = file(&app, &writer, None, &body("a@example.com")).await;
        assert_eq!((status, problem["code"].clone()), (StatusCode::FORBIDDEN, json!("forbidden")));
        let anonymous = app.http.post(app.url("/v1/requests/attested")).json(&body("a@example.com")).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

        let mut no_attestation = body("a@example.com");
        no_attestation["attestation"] = json!("  ");
        let (status, _, problem) = file(&app, &submitter, None, &no_attestation).await;
        assert_eq!((status, problem["errors"][0]["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("attestation")));
        let (status, _, problem) = file(&app, &submitter, None, &body("not-an-address")).await;
        assert_eq!((status, problem["errors"][0]["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("email")));
        for bad in ["", "has space", &"k".repeat(256)] {
            let (status, _, problem) = file(&app, &submitter, Some(bad), &body("a@example.com")).await;
            assert_eq!((status, problem["code"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_idempotency_key")), "{bad:?}");
        }

        // With auto-approval the request goes straight on.
        let (status, _) = app.patch("/v1/organization", &admin, json!({"auto_approve": true})).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, filed) = file(&app, &submitter, None, &body("auto@example.com")).await;
        assert_eq!((status, filed["state"].clone()), (StatusCode::CREATED, json!("approved")), "{filed}");
    }
}
