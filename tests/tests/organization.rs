//! The organization's settings: every operator role reads them, only admins change them, values
//! are validated with the field named and never echoed, `null` resets the export link lifetime
//! to the installation's default, and another organization's settings are never visible.

use lethe_entities::domain::enums::Role;
use lethe_tests::app::{TestApp, org_slug, spawn_app};
use lethe_tests::both_backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn patch(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    app.patch("/v1/organization", token, body).await
}

async fn settings(app: &TestApp, token: &str) -> Value {
    let (status, body) = app.get("/v1/organization", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

both_backends! {
    async fn settings_round_trip_and_are_validated(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let operator = app.operator_in(&org, &format!("op@{org}.test"), Role::Operator).await;
        let auditor = app.operator_in(&org, &format!("aud@{org}.test"), Role::Auditor).await;

        // Defaults, seen alike by every role.
        let initial = settings(&app, &admin).await;
        assert_eq!(initial["slug"], org.as_str());
        assert_eq!(initial["name"], org.as_str());
        assert_eq!(initial["auto_approve"], false);
        assert_eq!(initial["export_link_days"], Value::Null);
        assert_eq!(initial["effective_export_link_days"], 7, "the installation's default");
        assert_eq!(settings(&app, &operator).await, initial);
        assert_eq!(settings(&app, &auditor).await, initial);

        // Changed, and read back.
        let (status, changed) = patch(&app, &admin, json!({ "export_link_days": 30, "auto_approve": true })).await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!((changed["export_link_days"].as_i64(), changed["effective_export_link_days"].as_i64()), (Some(30), Some(30)));
        assert_eq!(changed["auto_approve"], true);
        assert_eq!(settings(&app, &auditor).await, changed);

        // Left out: unchanged. `null`: back to the default.
        let (status, same) = patch(&app, &admin, json!({})).await;
        assert_eq!((status, &same), (StatusCode::OK, &changed));
        let (status, reset) = patch(&app, &admin, json!({ "export_link_days": null })).await;
        assert_eq!(status, StatusCode::OK, "{reset}");
        assert_eq!(reset["export_link_days"], Value::Null);
        assert_eq!(reset["effective_export_link_days"], 7);
        assert_eq!(reset["auto_approve"], true, "not sent, not changed");

        // Bad values: 422 naming the field, nothing stored, nothing echoed.
        for (body, field) in [
            (json!({ "export_link_days": 0 }), "export_link_days"),
            (json!({ "export_link_days": 366 }), "export_link_days"),
            (json!({ "export_link_days": -5 }), "export_link_days"),
            (json!({ "auto_approve": null }), "auto_approve"),
        ] {
            let (status, problem) = patch(&app, &admin, body.clone()).await;
            assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")), "{body}");
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        }
        for body in [
            json!({ "export_link_days": "9999 days" }),
            json!({ "export_link_days": 2.5 }),
            json!({ "name": "Renamed AB" }),
            json!({ "slug": "renamed" }),
            json!({ "colour": "blue" }),
        ] {
            let (status, problem) = patch(&app, &admin, body.clone()).await;
            assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")), "{body}");
            let text = problem.to_string();
            assert!(!text.contains("9999") && !text.contains("Renamed") && !text.contains("blue"), "not echoed: {text}");
        }
        assert_eq!(settings(&app, &admin).await, reset, "refused changes stored nothing");

        // Operators and auditors cannot change anything.
        for token in [&operator, &auditor] {
            let (status, problem) = patch(&app, token, json!({ "export_link_days": 2 })).await;
            assert_eq!((status, problem["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
        }
        assert_eq!(settings(&app, &admin).await, reset);

        // Another organization sees only its own settings, and its changes do not leak here.
        let other = org_slug();
        let other_admin = app.admin(&other).await;
        let theirs = settings(&app, &other_admin).await;
        assert_eq!(theirs["slug"], other.as_str());
        assert_ne!(theirs["id"], reset["id"]);
        assert_eq!((theirs["auto_approve"].as_bool(), theirs["export_link_days"].as_i64()), (Some(false), None));
        let (status, _) = patch(&app, &other_admin, json!({ "export_link_days": 3 })).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(settings(&app, &admin).await, reset);
    }
}
