//! A request's life over HTTP: submit, e-mail, verify, approve, fulfilment starts; and the
//! operator actions deny, extend, cancel, hold and resume. Each test runs on SQLite and on
//! PostgreSQL.

use lethe_tests::app::org_slug;
use lethe_tests::{both_backends, spawn_app};
use reqwest::StatusCode;
use serde_json::json;

both_backends! {
    async fn submission_to_in_progress(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;

        let req = app.submit(&org, "erasure", "gdpr", "  Ann.Lee@Example.COM ").await;
        let messages = lethe_tests::mailbox::wait_for_messages(&app.outbox, 1).await;
        assert_eq!(lethe_tests::mailbox::recipient(&messages[0]), "ann.lee@example.com", "mail goes to the normalised address");
        let code = lethe_tests::mailbox::code_in(&messages[0]);

        // The subject sees the request through the status token.
        let (status, view) = app.get(&format!("/v1/requests/{}?token={}", req.id, req.token), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(view["state"], "identity_unverified");
        assert_eq!(view["can_cancel"], true);

        // A wrong code first, then the right one.
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let (status, problem) = app.post(&format!("/v1/requests/{}/verify", req.id), None, json!({"token": req.token, "code": wrong})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["code"], "invalid_code");
        assert_eq!(problem["attempts_left"], 4);
        let (status, verified) = app.post(&format!("/v1/requests/{}/verify", req.id), None, json!({"token": req.token, "code": code})).await;
        assert_eq!(status, StatusCode::OK, "{verified}");
        assert_eq!(verified["state"], "pending_approval");

        // The code cannot be used twice.
        let (status, problem) = app.post(&format!("/v1/requests/{}/verify", req.id), None, json!({"token": req.token, "code": code})).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(problem["code"], "already_verified");

        // The operator sees it in the queue and approves it.
        let (status, list) = app.get("/v1/requests?state=pending_approval", Some(&admin)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["total"], 1);
        assert_eq!(list["items"][0]["id"], req.id.as_str());
        let (status, approved) = app.post(&format!("/v1/requests/{}/approve", req.id), Some(&admin), json!({"reason": "identity confirmed"})).await;
        assert_eq!(status, StatusCode::OK, "{approved}");
        assert_eq!(approved["state"], "approved");

        // The fulfilment job moves it on and it waits there for its store tasks.
        let detail = app.wait_for_state(&req.id, &admin, "in_progress").await;
        assert_eq!(detail["identities"][0]["kind"], "email");
        assert_eq!(detail["identities"][0]["value"], "ann.lee@example.com", "admins see identities in clear");
        assert!(detail["closed_at"].is_null());
        let kinds: Vec<&str> = detail["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["submitted", "verification_sent", "verification_failed", "verified", "approved", "started"]);
        let approval = &detail["timeline"][4];
        assert_eq!(approval["actor_kind"], "operator");
        assert_eq!(approval["reason"], "identity confirmed");
        assert_eq!(approval["from_state"], "pending_approval");
        assert_eq!(approval["to_state"], "approved");

        let (_, subject_view) = app.get(&format!("/v1/requests/{}?token={}", req.id, req.token), None).await;
        assert_eq!(subject_view["state"], "in_progress");
        assert_eq!(subject_view["can_cancel"], false);
        // An approved request can no longer be approved or canceled by the subject.
        let (status, problem) = app.post(&format!("/v1/requests/{}/approve", req.id), Some(&admin), json!({})).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("invalid_transition")));
        let (status, _) = app.post(&format!("/v1/requests/{}/cancel", req.id), None, json!({"token": req.token})).await;
        assert_eq!(status, StatusCode::CONFLICT);
    }

    async fn deny_requires_a_ground_and_is_final(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let req = app.verified(&org, "access", "ccpa", "bo@example.com").await;

        let path = format!("/v1/requests/{}/deny", req.id);
        let (status, problem) = app.post(&path, Some(&admin), json!({"ground": "other"})).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")));
        assert_eq!(problem["errors"][0]["field"], "detail");
        let (status, problem) = app.post(&path, Some(&admin), json!({"ground": "because"})).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")));

        let (status, denied) = app.post(&path, Some(&admin), json!({"ground": "legal_exception", "detail": "Invoices are kept 7 years."})).await;
        assert_eq!(status, StatusCode::OK, "{denied}");
        assert_eq!(denied["state"], "denied");
        let (_, view) = app.get(&format!("/v1/requests/{}?token={}", req.id, req.token), None).await;
        assert_eq!(view["denial_reason"], "legal_exception: Invoices are kept 7 years.");
        let (status, problem) = app.post(&format!("/v1/requests/{}/approve", req.id), Some(&admin), json!({})).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("invalid_transition")));
        assert_eq!(problem["detail"], "a request in state `denied` cannot be approved");
        let (status, problem) = app.post(&format!("/v1/requests/{}/extend", req.id), Some(&admin), json!({"reason": "x"})).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("invalid_transition")));
    }

    async fn extension_once_where_the_law_allows(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let gdpr = app.verified(&org, "access", "gdpr", "cy@example.com").await;
        let path = format!("/v1/requests/{}/extend", gdpr.id);

        let (status, problem) = app.post(&path, Some(&admin), json!({"reason": "   "})).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")));
        let (status, problem) = app.post(&path, Some(&admin), json!({})).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")));

        let (status, extended) = app.post(&path, Some(&admin), json!({"reason": "Data spread over 40 systems."})).await;
        assert_eq!(status, StatusCode::OK, "{extended}");
        let received = time::OffsetDateTime::parse(extended["received_at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
        let due = time::OffsetDateTime::parse(extended["due_at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
        assert_eq!(due, lethe_entities::domain::deadline::add_months(received, 3), "one month + two months from receipt");

        let (status, problem) = app.post(&path, Some(&admin), json!({"reason": "again"})).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("already_extended")));
        let (_, view) = app.get(&format!("/v1/requests/{}?token={}", gdpr.id, gdpr.token), None).await;
        assert_eq!(view["extended"], true);
        assert_eq!(view["extension_reason"], "Data spread over 40 systems.");
        let detail = app.wait_for_state(&gdpr.id, &admin, "pending_approval").await;
        let event = detail["timeline"].as_array().unwrap().iter().find(|e| e["kind"] == "extended").unwrap().clone();
        assert_eq!(event["reason"], "Data spread over 40 systems.");
        assert_eq!(event["detail"]["new_due_at"], due.unix_timestamp());

        let lgpd = app.verified(&org, "access", "lgpd", "cy2@example.com").await;
        let (status, problem) = app.post(&format!("/v1/requests/{}/extend", lgpd.id), Some(&admin), json!({"reason": "busy"})).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::CONFLICT, Some("extension_not_allowed")));
    }

    async fn cancel_by_subject_and_by_operator(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;

        // The subject withdraws before verifying.
        let mine = app.submit(&org, "erasure", "uk_gdpr", "dee@example.com").await;
        let (status, canceled) = app.post(&format!("/v1/requests/{}/cancel", mine.id), None, json!({"token": mine.token})).await;
        assert_eq!(status, StatusCode::OK, "{canceled}");
        assert_eq!(canceled["state"], "canceled");
        let (status, _) = app.post(&format!("/v1/requests/{}/verify", mine.id), None, json!({"token": mine.token, "code": "123456"})).await;
        assert_eq!(status, StatusCode::CONFLICT, "a canceled request cannot be verified");

        // An operator must give a reason.
        let other = app.verified(&org, "erasure", "gdpr", "eve@example.com").await;
        let path = format!("/v1/requests/{}/cancel", other.id);
        let (status, problem) = app.post(&path, Some(&admin), json!({})).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")));
        let (status, problem) = app.post(&path, None, json!({"reason": "spam"})).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
        let (status, done) = app.post(&path, Some(&admin), json!({"reason": "duplicate of an earlier request"})).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        assert_eq!(done["state"], "canceled");
        let (status, _) = app.post(&path, Some(&admin), json!({"reason": "again"})).await;
        assert_eq!(status, StatusCode::CONFLICT);
    }

    async fn hold_and_resume(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let req = app.verified(&org, "rectification", "vcdpa", "fay@example.com").await;

        let (status, held) = app.post(&format!("/v1/requests/{}/hold", req.id), Some(&admin), json!({"reason": "waiting for legal"})).await;
        assert_eq!((status, held["state"].as_str()), (StatusCode::OK, Some("on_hold")));
        let (status, _) = app.post(&format!("/v1/requests/{}/approve", req.id), Some(&admin), json!({})).await;
        assert_eq!(status, StatusCode::CONFLICT, "held requests cannot be approved");
        let (status, resumed) = app.post(&format!("/v1/requests/{}/resume", req.id), Some(&admin), json!({})).await;
        assert_eq!((status, resumed["state"].as_str()), (StatusCode::OK, Some("pending_approval")));
        // The body of approve may be left out entirely.
        let response = app.http.post(app.url(&format!("/v1/requests/{}/approve", req.id))).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        app.wait_for_state(&req.id, &admin, "in_progress").await;
    }

    async fn auto_approval_skips_the_operator(backend: Backend) {
        use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let model = lethe_entities::entity::organization::Model::find_by_slug(&app.db, &org).await.unwrap().unwrap();
        let mut active = model.into_active_model();
        active.auto_approve = Set(true);
        active.update(&app.db).await.unwrap();

        let req = app.submit(&org, "access", "gdpr", "gus@example.com").await;
        let code = app.code_for("gus@example.com", 1).await;
        let (status, view) = app.post(&format!("/v1/requests/{}/verify", req.id), None, json!({"token": req.token, "code": code})).await;
        assert_eq!(status, StatusCode::OK);
        assert!(view["state"] == "approved" || view["state"] == "in_progress", "{view}");
        let detail = app.wait_for_state(&req.id, &admin, "in_progress").await;
        let verified = detail["timeline"].as_array().unwrap().iter().find(|e| e["kind"] == "verified").unwrap().clone();
        assert_eq!(verified["to_state"], "approved");
        assert_eq!(verified["reason"], "approved automatically by the organization's setting");
    }
}
