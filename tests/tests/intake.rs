//! Public intake: bad input gets a precise problem document and changes nothing; the
//! verification code's limits (attempts, expiry, resend cool-down) hold; guessing is bounded
//! per request and by the submission limit, and a stranger's guesses never lock out the person
//! who got the code; nothing enumerates.

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

/// A 6-digit code that is none of `mailed`.
fn wrong_code(mailed: &[String]) -> String {
    (0..).map(|n| format!("{n:06}")).find(|c| !mailed.contains(c)).unwrap()
}

/// Every code mailed to `address` once `count` code messages arrived.
async fn codes_mailed(app: &lethe_tests::TestApp, address: &str, count: usize) -> Vec<String> {
    let messages = lethe_tests::mailbox::wait_for_codes_to(&app.outbox, address, count).await;
    messages.iter().map(|m| lethe_tests::mailbox::code_in(m)).collect()
}

/// Moves every code of `request` two minutes into the past: the resend cool-down has passed.
async fn age_codes(app: &lethe_tests::TestApp, request: &str) {
    use lethe_entities::entity::verification_challenge::{Column, Entity};
    use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
    Entity::update_many()
        .col_expr(Column::CreatedAt, Expr::value(time::OffsetDateTime::now_utc() - time::Duration::minutes(2)))
        .filter(Column::RequestId.eq(request.parse::<uuid::Uuid>().unwrap()))
        .exec(&app.db)
        .await
        .unwrap();
}

/// Finding 5 of issue 16: someone who submits requests for another person's address, and so
/// never sees the codes, spends every wrong attempt those requests allow (more than the 30 an
/// hour per address the old limit shared between all of the address's requests); the person's
/// own code on her own request still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_guessing_cannot_lock_out_the_person_who_got_the_code() {
    let app = spawn_app(lethe_tests::Backend::Sqlite).await;
    let org = org_slug();
    app.admin(&org).await;
    let address = "vera@example.com";
    let hers = app.submit(&org, "erasure", "gdpr", address).await;
    let code = app.code_for(address, 1).await;

    let mut answers = Vec::new();
    for n in 0..7 {
        let theirs = app.submit(&org, "erasure", "gdpr", address).await;
        let wrong = wrong_code(&codes_mailed(&app, address, n + 2).await);
        for _ in 0..6 {
            let body = json!({ "token": theirs.token, "code": wrong });
            let (status, p) = app.post(&format!("/v1/requests/{}/verify", theirs.id), None, body).await;
            answers.push((status, p["code"].as_str().unwrap_or_default().to_owned()));
        }
    }
    let (status, body) =
        app.post(&format!("/v1/requests/{}/verify", hers.id), None, json!({ "token": hers.token, "code": code })).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("pending_approval")), "her own code: {body}");

    // Every stranger's request took its five wrong guesses and then refused: no more per code.
    let wrong = answers.iter().filter(|(s, c)| *s == StatusCode::UNPROCESSABLE_ENTITY && c == "invalid_code").count();
    let exhausted = answers.iter().filter(|(s, c)| *s == StatusCode::CONFLICT && c == "code_exhausted").count();
    assert_eq!((wrong, exhausted), (35, 7), "{answers:?}");
}

both_backends! {
    async fn guessing_stops_at_each_requests_budget_and_the_submission_limit(backend: Backend) {
        let app = lethe_tests::spawn_app_with(backend, lethe_api::engine::Mode::All, |s| s.submissions_per_email_per_hour = 2).await;
        let org = org_slug();
        app.admin(&org).await;
        let address = "gil@example.com";
        let req = app.submit(&org, "access", "gdpr", address).await;
        let verify = format!("/v1/requests/{}/verify", req.id);
        let resend = format!("/v1/requests/{}/resend", req.id);

        // Five codes of five attempts each: 25 wrong guesses, then nothing more is checked.
        let mut mailed = Vec::new();
        for n in 1..=lethe_api::services::intake::MAX_CODES_PER_REQUEST as usize {
            mailed = codes_mailed(&app, address, n).await;
            let wrong = wrong_code(&mailed);
            for left in (0..5).rev() {
                let (status, p) = app.post(&verify, None, json!({ "token": req.token, "code": wrong })).await;
                assert_eq!((status, p["code"].as_str(), p["attempts_left"].as_i64()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_code"), Some(left)));
            }
            age_codes(&app, &req.id).await;
            let (status, p) = app.post(&resend, None, json!({ "token": req.token })).await;
            let expected = if n < 5 { (StatusCode::ACCEPTED, None) } else { (StatusCode::TOO_MANY_REQUESTS, Some("too_many_codes")) };
            assert_eq!((status, p["code"].as_str()), expected, "after code {n}");
        }
        let last = mailed.last().unwrap().clone();
        let (status, p) = app.post(&verify, None, json!({ "token": req.token, "code": last })).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::CONFLICT, Some("code_exhausted")), "even the right code, once the budget is spent");

        // A new request for the address brings a new budget; the submission limit (2 an hour
        // here) bounds how many: 2 × 25 guesses an hour for this address.
        let again = app.submit(&org, "access", "gdpr", address).await;
        let code = codes_mailed(&app, address, 6).await.into_iter().find(|c| !mailed.contains(c)).unwrap();
        let (status, _) = app.post(&format!("/v1/requests/{}/verify", again.id), None, json!({ "token": again.token, "code": code })).await;
        assert_eq!(status, StatusCode::OK);
        let body = json!({ "organization": org, "kind": "access", "regime": "gdpr", "email": address });
        let (status, p) = app.post("/v1/requests", None, body).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("too_many_submissions")));
    }
}

async fn challenge_org(app: &lethe_tests::TestApp) -> uuid::Uuid {
    lethe_entities::entity::organization::Entity::find().one(&app.db).await.unwrap().unwrap().id
}
