//! The Data Rights Protocol 1.0, Lethe as the covered business, end to end: an agent whose key
//! lives in PyNaCl ([`lethe_tests::drp_agent`]) sets up its token, files requests signed in
//! libsodium's combined mode, reads their status and revokes them; its status callbacks reach a
//! receiver process, retried when it fails. Every way a signed message can be wrong (expired,
//! issued in the future, a window over ten minutes, replayed, signed by another key, for
//! another agent or business, another agent's request) is refused with the protocol's error
//! shape.

use lethe_entities::entity::organization;
use lethe_tests::app::org_slug;
use lethe_tests::drp_agent::Agent;
use lethe_tests::portal::people_store;
use lethe_tests::webhook_receiver::Receiver;
use lethe_tests::{TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

/// Registers `agent` with `org` (business id: the slug) and sets up its token.
async fn registered(app: &TestApp, admin: &str, org: &str, agent: &Agent) -> String {
    let body = json!({ "agent_id": agent.id, "name": "Permission Slip", "verify_key": agent.verify_key(), "contact": "drp@agent.example" });
    let (status, created) = app.post("/v1/drp/agents", Some(admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["business_id"], org);
    let setup = agent.sign(&agent.message(org, json!({ "drp.version": "1.0" })));
    let answer = app.http.post(app.url(&format!("/v1/agent/{}", agent.id))).body(setup).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let issued: Value = answer.json().await.unwrap();
    assert_eq!(issued["agent-id"], agent.id.as_str());
    issued["token"].as_str().unwrap().to_owned()
}

/// Sends `method path` with the agent's `token` and a text body; status and JSON (Null if none).
async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> (StatusCode, Value) {
    let mut request = app.http.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.header("content-type", "text/plain").body(body);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status();
    (status, answer.json().await.unwrap_or(Value::Null))
}

async fn file(app: &TestApp, token: &str, body: String) -> (StatusCode, Value) {
    call(app, reqwest::Method::POST, "/v1/data-rights-request", Some(token), Some(body)).await
}

/// Waits until request `id` is in `state` (30 s at most).
async fn wait_for(app: &TestApp, admin: &str, id: &str, state: &str) -> Value {
    let (status, answer) = app.get(&format!("/v1/requests/{id}/wait?state={state}&timeout=30"), Some(admin)).await;
    assert_eq!((status, answer["request"]["state"].as_str()), (StatusCode::OK, Some(state)), "{answer}");
    answer["request"].clone()
}

lethe_tests::both_backends! {
    async fn an_agent_files_a_verified_deletion_and_hears_it_fulfilled(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let _people = people_store(&app, &admin, &["ann.lee@example.com", "bo@example.com"]).await;
        let receiver = Receiver::start();
        receiver.configure(json!({ "fail": 1 })).await;
        let agent = Agent::new("CR_AA");
        let token = registered(&app, &admin, &org, &agent).await;
        let (status, checked) = call(&app, reqwest::Method::GET, "/v1/agent/CR_AA", Some(&token), None).await;
        assert_eq!((status, checked), (StatusCode::OK, json!({})));

        let callback = receiver.url("/drp/status");
        let request = agent.message(&org, json!({
            "drp.version": "1.0",
            "agent-request-id": "aa-req-1",
            "exercise": "deletion",
            "regime": "ccpa",
            "relationships": ["customer"],
            "status_callback": callback,
            "name": "Ann Lee",
            "email": "ann.lee@example.com",
            "email_verified": true,
            "address": { "street_address": "1 Main St", "locality": "Oakland", "region": "CA" },
        }));
        let (status, filed) = file(&app, &token, agent.sign(&request)).await;
        assert_eq!(status, StatusCode::OK, "{filed}");
        assert_eq!((filed["status"].as_str(), filed["agent_request_id"].as_str()), (Some("in_progress"), Some("aa-req-1")));
        assert!(filed["reason"].is_null() && filed["user_verification_url"].is_null(), "verified by the agent: {filed}");
        assert!(filed["received_at"].is_string() && filed["expected_by"].is_string(), "{filed}");
        let id = filed["request_id"].as_str().unwrap().to_owned();

        // Lethe's side: an erasure under the CCPA, verified by the agent's attestation.
        let (_, seen) = app.get(&format!("/v1/requests/{id}"), Some(&admin)).await;
        assert_eq!((seen["kind"].as_str(), seen["regime"].as_str(), seen["state"].as_str()), (Some("erasure"), Some("ccpa"), Some("pending_approval")));
        let timeline = seen["timeline"].as_array().unwrap();
        assert!(timeline.iter().any(|e| e["kind"] == "verified" && e["actor_kind"] == "agent"), "{seen}");
        let (status, _) = app.post(&format!("/v1/requests/{id}/approve"), Some(&admin), json!({})).await;
        assert_eq!(status, StatusCode::OK);
        wait_for(&app, &admin, &id, "completed").await;

        let (status, now) = call(&app, reqwest::Method::GET, &format!("/v1/data-rights-request/{id}"), Some(&token), None).await;
        assert_eq!((status, now["status"].as_str()), (StatusCode::OK, Some("fulfilled")), "{now}");
        // Callbacks: the first failed and was sent again; the last says fulfilled.
        let got = receiver.wait_until("the fulfilled callback", |d| d.iter().any(|c| c["payload"]["status"] == "fulfilled")).await;
        assert!(got.iter().all(|c| c["path"] == "/drp/status" && c["payload"]["request_id"] == id.as_str()), "{got:#?}");
        assert_eq!(got[0]["status"].as_i64(), Some(500), "the receiver failed the first: {got:#?}");
        // The next attempt succeeds, with the status of that moment: still in progress, or
        // already fulfilled (a change while a callback fails replaces it).
        assert_eq!(got[1]["status"].as_i64(), Some(200), "retried: {got:#?}");
        let last = got.last().unwrap();
        assert_eq!((last["status"].as_i64(), last["payload"]["status"].as_str()), (Some(200), Some("fulfilled")));
        let org_id = organization::Model::find_by_slug(&app.db, &org).await.unwrap().unwrap().id;
        for table in ["drp_requests", "drp_agents", "requests", "request_events", "subject_identities"] {
            let clear = lethe_tests::raw::in_clear(&app.db, table, org_id, &["Ann Lee", "ann.lee@example.com", "Oakland", &callback, "drp@agent.example"]).await;
            assert!(clear.is_empty(), "{table} holds {clear:?} in clear");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unverified_opt_out_points_to_the_portal_and_can_be_revoked() {
    let app = spawn_app(lethe_tests::Backend::Sqlite).await;
    let org = org_slug();
    let admin = app.admin(&org).await;
    let receiver = Receiver::start();
    let agent = Agent::new("CR_AA");
    let token = registered(&app, &admin, &org, &agent).await;
    let request = agent.message(
        &org,
        json!({
            "drp.version": "1.0",
            "exercise": "sale:opt-out",
            "status_callback": receiver.url("/s"),
            "email": "cy@example.com",
            "email_verified": false,
        }),
    );
    let (status, filed) = file(&app, &token, agent.sign(&request)).await;
    assert_eq!(status, StatusCode::OK, "{filed}");
    assert_eq!(
        (filed["status"].as_str(), filed["reason"].as_str()),
        (Some("in_progress"), Some("need_user_verification"))
    );
    let verify = filed["user_verification_url"].as_str().unwrap();
    assert!(verify.contains(&format!("/p/{org}/verify/")), "{verify}");
    let path = verify.split_once("/p/").map(|(_, p)| format!("/p/{p}")).unwrap();
    assert_eq!(app.http.get(app.url(&path)).send().await.unwrap().status(), StatusCode::OK, "the portal page opens");
    let id = filed["request_id"].as_str().unwrap().to_owned();
    let (_, seen) = app.get(&format!("/v1/requests/{id}"), Some(&admin)).await;
    assert_eq!(
        (seen["kind"].as_str(), seen["regime"].as_str(), seen["state"].as_str()),
        (Some("opt_out"), Some("other"), Some("identity_unverified"))
    );
    lethe_tests::mailbox::wait_for_codes_to(&app.outbox, "cy@example.com", 1).await;

    // Another agent reads nothing of it.
    let stranger = Agent::new("OTHER_AA");
    let stranger_token = registered(&app, &admin, &org, &stranger).await;
    let (status, refused) =
        call(&app, reqwest::Method::GET, &format!("/v1/data-rights-request/{id}"), Some(&stranger_token), None).await;
    assert_eq!(
        (status, refused["error"].as_str(), refused["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_your_request"), Some("403"))
    );
    let revoke = stranger.sign(&json!({ "reason": "not mine" }));
    let (status, _) = call(
        &app,
        reqwest::Method::DELETE,
        &format!("/v1/data-rights-request/{id}"),
        Some(&stranger_token),
        Some(revoke),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The agent revokes it; a second revocation is refused.
    let revoke = agent.sign(&json!({ "reason": "I changed my mind" }));
    let (status, revoked) = call(
        &app,
        reqwest::Method::DELETE,
        &format!("/v1/data-rights-request/{id}"),
        Some(&token),
        Some(revoke.clone()),
    )
    .await;
    assert_eq!((status, revoked["status"].as_str()), (StatusCode::OK, Some("revoked")), "{revoked}");
    let (status, again) =
        call(&app, reqwest::Method::DELETE, &format!("/v1/data-rights-request/{id}"), Some(&token), Some(revoke)).await;
    assert_eq!((status, again["error"].as_str()), (StatusCode::CONFLICT, Some("not_revocable")));
    let got =
        receiver.wait_until("the revoked callback", |d| d.iter().any(|c| c["payload"]["status"] == "revoked")).await;
    assert_eq!(got[0]["payload"]["reason"], "need_user_verification");
    assert!(got[0]["payload"]["user_verification_url"].is_string());

    // A new key setup replaces the token; the same setup message again issues nothing.
    let setup = agent.sign(&agent.message(&org, json!({ "drp.version": "1.0" })));
    let answer = app.http.post(app.url("/v1/agent/CR_AA")).body(setup.clone()).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let new_token = answer.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let replayed = app.http.post(app.url("/v1/agent/CR_AA")).body(setup).send().await.unwrap();
    assert_eq!(replayed.status(), StatusCode::FORBIDDEN, "a replayed setup");
    let (status, _) = call(&app, reqwest::Method::GET, "/v1/agent/CR_AA", Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old token was replaced");
    let (status, _) = call(&app, reqwest::Method::GET, "/v1/agent/CR_AA", Some(&new_token), None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_messages_are_checked_in_the_specifications_order() {
    let app = spawn_app(lethe_tests::Backend::Sqlite).await;
    let org = org_slug();
    let admin = app.admin(&org).await;
    let agent = Agent::new("CR_AA");
    let token = registered(&app, &admin, &org, &agent).await;
    let fields =
        json!({ "drp.version": "1.0", "exercise": "access", "email": "di@example.com", "email_verified": true });
    let with = |mut message: Value| {
        for (k, v) in fields.as_object().unwrap() {
            message[k] = v.clone();
        }
        message
    };
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        ("not base64", "%%%".to_owned(), StatusCode::BAD_REQUEST, "invalid_encoding"),
        ("signed by another key", Agent::new("CR_AA").sign(&agent.message(&org, fields.clone())), StatusCode::FORBIDDEN, "invalid_signature"),
        ("for another agent", agent.sign(&with(Agent::new("OTHER").envelope(&org, Duration::ZERO, Duration::minutes(5)))), StatusCode::FORBIDDEN, "wrong_agent"),
        ("for another business", agent.sign(&agent.message("someone-else", fields.clone())), StatusCode::FORBIDDEN, "wrong_business"),
        ("issued in the future", agent.sign(&with(agent.envelope(&org, Duration::minutes(3), Duration::minutes(5)))), StatusCode::BAD_REQUEST, "issued_in_future"),
        ("expired", agent.sign(&with(agent.envelope(&org, Duration::minutes(-9), Duration::minutes(5)))), StatusCode::BAD_REQUEST, "expired"),
        ("valid for an hour", agent.sign(&with(agent.envelope(&org, Duration::ZERO, Duration::hours(1)))), StatusCode::BAD_REQUEST, "expired"),
        ("opt-in", agent.sign(&agent.message(&org, json!({ "drp.version": "1.0", "exercise": "sale:opt-in", "email": "di@example.com" }))), StatusCode::BAD_REQUEST, "unsupported_exercise"),
        ("GDPR", agent.sign(&agent.message(&org, json!({ "drp.version": "1.0", "exercise": "access", "regime": "gdpr", "email": "di@example.com" }))), StatusCode::BAD_REQUEST, "unsupported_regime"),
        ("no e-mail", agent.sign(&agent.message(&org, json!({ "drp.version": "1.0", "exercise": "access" }))), StatusCode::BAD_REQUEST, "identity_missing"),
        ("version 0.5", agent.sign(&agent.message(&org, json!({ "drp.version": "0.5", "exercise": "access", "email": "di@example.com" }))), StatusCode::BAD_REQUEST, "unsupported_version"),
        ("a callback that is not http(s)", agent.sign(&agent.message(&org, json!({ "drp.version": "1.0", "exercise": "access", "email": "di@example.com", "status_callback": "ftp://127.0.0.1/x" }))), StatusCode::BAD_REQUEST, "invalid_status_callback"),
    ];
    for (what, body, status, error) in cases {
        let (got, answer) = file(&app, &token, body).await;
        assert_eq!(
            (got, answer["error"].as_str(), answer["code"].as_str()),
            (status, Some(error), Some(status.as_str())),
            "{what}: {answer}"
        );
    }
    let (_, expired) =
        file(&app, &token, agent.sign(&with(agent.envelope(&org, Duration::minutes(-9), Duration::minutes(5))))).await;
    assert_eq!(expired["fatal"], true, "an expired request will not be processed");

    // A good one is filed once: the same message again is a replay.
    let body = agent.sign(&agent.message(&org, fields.clone()));
    let (status, first) = file(&app, &token, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, replay) = file(&app, &token, body).await;
    assert_eq!((status, replay["error"].as_str()), (StatusCode::CONFLICT, Some("replayed")));
    let (_, list) = app.get("/v1/requests", Some(&admin)).await;
    assert_eq!(list["total"], 1, "nothing else was filed: {list}");

    // Tokens: none, made up, or after the key changed.
    let (status, answer) = file(&app, "made-up", agent.sign(&agent.message(&org, fields.clone()))).await;
    assert_eq!((status, answer["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));
    let (status, _) = call(&app, reqwest::Method::GET, "/v1/agent/OTHER", Some(&token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the token is CR_AA's");
    let (status, _) = call(&app, reqwest::Method::GET, "/v1/data-rights-request/not-an-id", Some(&token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A key setup signed with another key, or for another business, is a bodiless 403.
    for setup in [
        Agent::new("CR_AA").sign(&agent.message(&org, json!({ "drp.version": "1.0" }))),
        agent.sign(&agent.message("someone-else", json!({ "drp.version": "1.0" }))),
        agent.sign(&with(agent.envelope(&org, Duration::minutes(-9), Duration::minutes(5)))),
    ] {
        let answer = app.http.post(app.url("/v1/agent/CR_AA")).body(setup).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::FORBIDDEN);
        assert!(answer.text().await.unwrap().is_empty());
    }
    let (_, agents) = app.get("/v1/drp/agents", Some(&admin)).await;
    let registration = agents[0]["id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .patch(
            &format!("/v1/drp/agents/{registration}"),
            &admin,
            json!({ "verify_key": Agent::new("CR_AA").verify_key() }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&app, reqwest::Method::GET, "/v1/agent/CR_AA", Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a new key ends the old token");
    let (status, problem) = app.delete(&format!("/v1/drp/agents/{registration}"), &admin).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("agent_has_requests")));

    // Admins only; keys and ids are checked.
    let operator =
        app.operator_in(&org, &format!("op@{org}.test"), lethe_entities::domain::enums::Role::Operator).await;
    let (status, _) = app.get("/v1/drp/agents", Some(&operator)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, problem) = app
        .post("/v1/drp/agents", Some(&admin), json!({ "agent_id": "has space", "name": "", "verify_key": "AAAA" }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["agent_id", "name", "verify_key"]);
    let (status, problem) = app
        .post(
            "/v1/drp/agents",
            Some(&admin),
            json!({ "agent_id": "CR_AA", "name": "again", "verify_key": agent.verify_key() }),
        )
        .await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("agent_registered")));
}
