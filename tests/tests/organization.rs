//! The organization's settings: every operator role reads them, only admins change them, values
//! are validated with the field named and never echoed, `null` resets the export link lifetime
//! to the installation's default, and another organization's settings are never visible. The
//! `other` regime's deadlines apply to requests received after a change; earlier requests keep
//! their due dates; the law's deadlines are shown and cannot be changed.

use lethe_entities::domain::enums::Role;
use lethe_tests::app::{TestApp, org_slug, spawn_app};
use lethe_tests::both_backends;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

async fn patch(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    app.patch("/v1/organization", token, body).await
}

/// A request's due date and its days from receipt.
async fn due(app: &TestApp, token: &str, id: &str) -> (OffsetDateTime, i64) {
    let (status, body) = app.get(&format!("/v1/requests/{id}"), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let at = |field: &str| OffsetDateTime::parse(body[field].as_str().unwrap(), &Rfc3339).unwrap();
    (at("due_at"), (at("due_at") - at("received_at")).whole_days())
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
        let deadlines = &initial["deadlines"];
        assert_eq!(
            (&deadlines["other_days"], &deadlines["other_extension_days"], &deadlines["due_soon_days"]),
            (&json!(30), &json!(0), &json!(7))
        );
        let legal = |regime: &str| deadlines["legal"].as_array().unwrap().iter().find(|l| l["regime"] == regime).cloned();
        assert_eq!(deadlines["legal"].as_array().unwrap().len(), 5, "every regime but `other`: {deadlines}");
        assert_eq!(legal("other"), None);
        let gdpr = legal("gdpr").unwrap();
        assert_eq!((&gdpr["deadline"], &gdpr["extension"]), (&json!({"unit": "months", "count": 1}), &json!({"unit": "months", "count": 2})));
        assert_eq!(gdpr["source"], "GDPR Art. 12(3)");
        assert_eq!(legal("uk_gdpr").unwrap()["deadline"], gdpr["deadline"]);
        let ccpa = legal("ccpa").unwrap();
        assert_eq!((&ccpa["deadline"], &ccpa["extension"], &ccpa["acknowledgement_business_days"]), (&json!({"unit": "days", "count": 45}), &json!({"unit": "days", "count": 45}), &json!(10)));
        assert_eq!(legal("vcdpa").unwrap()["extension"], json!({"unit": "days", "count": 45}));
        let lgpd = legal("lgpd").unwrap();
        assert_eq!((&lgpd["deadline"], &lgpd["extension"]), (&json!({"unit": "days", "count": 15}), &Value::Null));
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
            (json!({ "deadlines": { "other_days": 0 } }), "deadlines.other_days"),
            (json!({ "deadlines": { "other_days": 366 } }), "deadlines.other_days"),
            (json!({ "deadlines": { "other_days": null } }), "deadlines.other_days"),
            (json!({ "deadlines": { "other_extension_days": -1 } }), "deadlines.other_extension_days"),
            (json!({ "deadlines": { "other_extension_days": 366 } }), "deadlines.other_extension_days"),
            (json!({ "deadlines": { "due_soon_days": 0 } }), "deadlines.due_soon_days"),
            (json!({ "deadlines": { "due_soon_days": 61 } }), "deadlines.due_soon_days"),
            (json!({ "privacy": { "supervisory_authority_url": "http://imy.example/" } }), "privacy.supervisory_authority_url"),
            (json!({ "privacy": { "dpo_contact": "x".repeat(501) } }), "privacy.dpo_contact"),
            (json!({ "privacy": { "controller": "Acme\u{7}AB" } }), "privacy.controller"),
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
            json!({ "deadlines": { "other_days": "9999 days" } }),
            json!({ "deadlines": { "legal": [] } }),
            json!({ "deadlines": { "gdpr_days": 9999 } }),
        ] {
            let (status, problem) = patch(&app, &admin, body.clone()).await;
            assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")), "{body}");
            let text = problem.to_string();
            assert!(!text.contains("9999") && !text.contains("Renamed") && !text.contains("blue"), "not echoed: {text}");
        }
        assert_eq!(settings(&app, &admin).await, reset, "refused changes stored nothing");

        // The privacy notice: set, trimmed, and removed with null (or an empty text).
        let notice = json!({ "privacy": { "controller": "  Acme AB, Box 1  ", "automated_decisions": "Credit scoring." } });
        let (status, changed) = patch(&app, &admin, notice).await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(
            changed["privacy"],
            json!({ "controller": "Acme AB, Box 1", "dpo_contact": null, "supervisory_authority": null,
                    "supervisory_authority_url": null, "automated_decisions": "Credit scoring." })
        );
        let (_, cleared) = patch(&app, &admin, json!({ "privacy": { "controller": null, "automated_decisions": " " } })).await;
        assert_eq!((&cleared["privacy"]["controller"], &cleared["privacy"]["automated_decisions"]), (&Value::Null, &Value::Null));
        assert_eq!(settings(&app, &admin).await, reset);

        // Operators and auditors cannot change anything.
        for token in [&operator, &auditor] {
            for body in [json!({ "export_link_days": 2 }), json!({ "deadlines": { "other_days": 10, "due_soon_days": 3 } })] {
                let (status, problem) = patch(&app, token, body).await;
                assert_eq!((status, problem["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
            }
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

    async fn deadlines_apply_to_requests_received_afterwards(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let before = app.submit(&org, "erasure", "other", "early@example.com").await;
        let gdpr = app.submit(&org, "access", "gdpr", "gdpr@example.com").await;
        let (early_due, early_days) = due(&app, &admin, &before.id).await;
        assert_eq!(early_days, 30, "the default deadline");
        let gdpr_due = due(&app, &admin, &gdpr.id).await.0;

        // Round trip, fields left out unchanged.
        let (status, changed) = patch(&app, &admin, json!({ "deadlines": { "other_days": 10, "other_extension_days": 5 } })).await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        let deadlines = &changed["deadlines"];
        assert_eq!((&deadlines["other_days"], &deadlines["other_extension_days"], &deadlines["due_soon_days"]), (&json!(10), &json!(5), &json!(7)));
        let (status, changed) = patch(&app, &admin, json!({ "deadlines": { "due_soon_days": 3 } })).await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!((&changed["deadlines"]["other_days"], &changed["deadlines"]["due_soon_days"]), (&json!(10), &json!(3)));
        assert_eq!(settings(&app, &admin).await, changed);

        // A new `other` request gets the new deadline; the earlier ones keep theirs.
        let after = app.submit(&org, "erasure", "other", "late@example.com").await;
        assert_eq!(due(&app, &admin, &after.id).await.1, 10);
        assert_eq!(due(&app, &admin, &before.id).await.0, early_due, "an existing request keeps its due date");
        assert_eq!(due(&app, &admin, &gdpr.id).await.0, gdpr_due);

        // An extension (now allowed: 5 days) adds to each request's own original due date.
        for (id, original) in [(&after.id, due(&app, &admin, &after.id).await.0), (&before.id, early_due)] {
            let (status, body) = app.post(&format!("/v1/requests/{id}/extend"), Some(&admin), json!({ "reason": "Many systems" })).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(due(&app, &admin, id).await.0 - original, time::Duration::days(5));
        }
    }
}
