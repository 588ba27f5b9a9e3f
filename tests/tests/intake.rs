//! Public intake: bad input gets a precise problem document and changes nothing; the
//! verification code's limits (attempts, expiry, resend cool-down) hold; nothing enumerates.

use lethe_tests::app::org_slug;
use lethe_tests::{both_backends, spawn_app};
use reqwest::StatusCode;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

async fn raw_post(
    app: &lethe_tests::TestApp,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    // A connection of its own: the server may close it after refusing a body it did not read
    // to the end, and a later request must not pick up that half-closed connection.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let mut req = client.post(app.url(path)).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let response = req.send().await.unwrap();
    let status = response.status();
    let ct = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    let json: Value = response.json().await.unwrap();
    assert_eq!(ct.as_deref(), Some("application/problem+json"), "{json}");
    (status, json)
}

both_backends! {
    async fn bad_input_is_refused_precisely_and_stores_nothing(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let good = json!({ "organization": org, "kind": "erasure", "regime": "gdpr", "email": "hal@example.com" });

        let (status, p) = raw_post(&app, "/v1/requests", Some("application/json"), b"{\"organization\": ".to_vec()).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed_json")));

        let (status, p) = raw_post(&app, "/v1/requests", None, serde_json::to_vec(&good).unwrap()).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type")));

        let mut wrong_type = good.clone();
        wrong_type["email"] = json!(42);
        let (status, p) = app.post("/v1/requests", None, wrong_type).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")));

        let mut unknown = good.clone();
        unknown["is_admin"] = json!(true);
        let (status, p) = app.post("/v1/requests", None, unknown).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")));
        assert!(p["detail"].as_str().unwrap().contains("is_admin"));

        // An invalid address is reported by field, and never echoed back.
        let mut bad_email = good.clone();
        bad_email["email"] = json!("secret-person@@example");
        bad_email["phone"] = json!("12");
        let (status, p) = app.post("/v1/requests", None, bad_email).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")));
        let fields: Vec<&str> = p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["email", "phone"]);
        assert!(!p.to_string().contains("secret-person"));

        let mut typed_email = good.clone();
        typed_email["email"] = json!(["secret-person@example.com"]);
        let (status, p) = app.post("/v1/requests", None, typed_email).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(!p.to_string().contains("secret-person"), "{p}");

        let mut long_message = good.clone();
        long_message["message"] = json!("x".repeat(2001));
        let (status, p) = app.post("/v1/requests", None, long_message).await;
        assert_eq!((status, p["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("message")));

        let mut huge = good.clone();
        huge["message"] = json!("x".repeat(200_000));
        let (status, p) = raw_post(&app, "/v1/requests", Some("application/json"), serde_json::to_vec(&huge).unwrap()).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")));

        let mut unknown_org = good.clone();
        unknown_org["organization"] = json!("no-such-org");
        let (status, p) = app.post("/v1/requests", None, unknown_org).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::NOT_FOUND, Some("organization_not_found")));

        // Nothing above was stored.
        let stored = lethe_entities::entity::request::Entity::find().count(&app.db).await.unwrap();
        assert_eq!(stored, 0);

        // Unknown ids, wrong tokens and malformed ids.
        let req = app.submit(&org, "access", "gdpr", "ida@example.com").await;
        let unknown = uuid::Uuid::now_v7();
        for path in [format!("/v1/requests/{unknown}?token={}", req.token), format!("/v1/requests/{}?token=wrong", req.id)] {
            let (status, p) = app.get(&path, None).await;
            assert_eq!((status, p["code"].as_str()), (StatusCode::NOT_FOUND, Some("request_not_found")), "{path}");
        }
        let (status, p) = app.get(&format!("/v1/requests/{unknown}"), Some(&admin)).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::NOT_FOUND, Some("request_not_found")));
        let (status, p) = app.get("/v1/requests/not-a-uuid", Some(&admin)).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_path")));
        let (status, p) = app.get("/v1/requests?per_page=1000", Some(&admin)).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")));
        let (status, p) = app.get("/v1/requests?state=lost", Some(&admin)).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")));
        let (status, p) = app.get("/v1/nothing-here", None).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
        let response = app.http.delete(app.url("/v1/requests")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        let (status, p) = app.post(&format!("/v1/requests/{}/verify", req.id), None, json!({"token": req.token, "code": "12ab56"})).await;
        assert_eq!((status, p["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("code")));
    }

    async fn codes_wear_out_expire_and_can_be_resent(backend: Backend) {
        use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
        let app = spawn_app(backend).await;
        let org = org_slug();
        app.admin(&org).await;
        let req = app.submit(&org, "erasure", "ccpa", "jo@example.com").await;
        let first = app.code_for("jo@example.com", 1).await;
        let verify = format!("/v1/requests/{}/verify", req.id);
        let wrong = if first == "999999" { "888888" } else { "999999" };

        for left in (0..5).rev() {
            let (status, p) = app.post(&verify, None, json!({"token": req.token, "code": wrong})).await;
            assert_eq!((status, p["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_code")));
            assert_eq!(p["attempts_left"], left);
        }
        // Used up: even the right code no longer works.
        let (status, p) = app.post(&verify, None, json!({"token": req.token, "code": first})).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::CONFLICT, Some("code_exhausted")));

        // A new code may be asked for only after the cool-down.
        let resend = format!("/v1/requests/{}/resend", req.id);
        let (status, p) = app.post(&resend, None, json!({"token": req.token})).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("resend_too_soon")));
        let (status, p) = app.post(&resend, None, json!({"token": "wrong"})).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::NOT_FOUND, Some("request_not_found")));
        let challenge = lethe_entities::entity::verification_challenge::Entity::find().one(&app.db).await.unwrap().unwrap();
        let mut aged = challenge.into_active_model();
        aged.created_at = Set(time::OffsetDateTime::now_utc() - time::Duration::minutes(2));
        aged.update(&app.db).await.unwrap();
        let (status, _) = app.post(&resend, None, json!({"token": req.token})).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let second = app.code_for("jo@example.com", 2).await;

        // The new code expires like any other.
        let latest = lethe_entities::entity::verification_challenge::Model::latest(&app.db, challenge_org(&app).await, req.id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        let mut expired = latest.clone().into_active_model();
        expired.expires_at = Set(time::OffsetDateTime::now_utc() - time::Duration::seconds(1));
        expired.update(&app.db).await.unwrap();
        let (status, p) = app.post(&verify, None, json!({"token": req.token, "code": second})).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::GONE, Some("code_expired")));

        // Within its 15 minutes, the new code works.
        let mut fresh = latest.into_active_model();
        fresh.expires_at = Set(time::OffsetDateTime::now_utc() + time::Duration::minutes(15));
        fresh.update(&app.db).await.unwrap();
        let (status, v) = app.post(&verify, None, json!({"token": req.token, "code": second})).await;
        assert_eq!((status, v["state"].as_str()), (StatusCode::OK, Some("pending_approval")));
    }

    async fn same_answer_for_everyone_and_a_limit_per_address(backend: Backend) {
        let app = lethe_tests::spawn_app_with(backend, lethe_api::engine::Mode::All, |s| s.submissions_per_email_per_hour = 2).await;
        let org = org_slug();
        app.admin(&org).await;
        let submit = |email: &str| json!({ "organization": org, "kind": "access", "regime": "gdpr", "email": email });

        // The engine does not consult the company's data at intake: answers have one shape.
        let (s1, a1) = app.post("/v1/requests", None, submit("known.customer@example.com")).await;
        let (s2, a2) = app.post("/v1/requests", None, submit("never.seen@example.org")).await;
        assert_eq!((s1, s2), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&a1), keys(&a2));
        assert_eq!(a1["state"], a2["state"]);

        // Nobody can flood one inbox: the third submission for one address within the hour is
        // refused, however the address is spelled; other addresses are unaffected.
        let (status, _) = app.post("/v1/requests", None, submit("Known.Customer@Example.com ")).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let (status, p) = app.post("/v1/requests", None, submit("KNOWN.customer@example.com")).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("too_many_submissions")));
        let (status, _) = app.post("/v1/requests", None, submit("someone.else@example.com")).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
}

async fn challenge_org(app: &lethe_tests::TestApp) -> uuid::Uuid {
    lethe_entities::entity::organization::Entity::find().one(&app.db).await.unwrap().unwrap().id
}
