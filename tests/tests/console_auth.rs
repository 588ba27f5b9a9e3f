//! The operator console's sign-in over HTTP: security headers, CSRF refusal, TOTP enrolment
//! and sign-in with it, replayed and recovery codes, the organization's MFA requirement, the
//! lockout shared with the JSON login, signing out everywhere, and the account events in the
//! audit log. Each test runs on SQLite and on PostgreSQL.

use lethe_entities::domain::enums::Role;
use lethe_entities::entity::operator_event::{self, OperatorEventKind};
use lethe_tests::app::org_slug;
use lethe_tests::console::{Console, PASSWORD, totp_code};
use lethe_tests::{both_backends, spawn_app};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

/// The kinds of account events recorded for the operator with `email`.
async fn account_events(app: &lethe_tests::TestApp, email: &str) -> Vec<OperatorEventKind> {
    let op = lethe_entities::entity::operator::Model::find_by_email(&app.db, email).await.unwrap().unwrap();
    operator_event::Entity::find()
        .filter(operator_event::Column::OperatorId.eq(op.id))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            assert_eq!(e.ip_address.as_deref(), Some("127.0.0.1"), "every event has the client address");
            e.kind
        })
        .collect()
}

/// Enrols a second factor for the signed-in `console`; returns the secret and recovery codes.
async fn enrol(console: &Console) -> (String, Vec<String>) {
    let page = console.get("/console/mfa").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let secret = page.text_of("totp-secret").expect("the secret is shown as text");
    let qr = console.get("/console/mfa/qr.svg").await;
    assert_eq!(qr.status, StatusCode::OK);
    assert_eq!(qr.headers["content-type"], "image/svg+xml");
    assert!(qr.body.contains("<svg") && !qr.body.contains("<script"));
    let csrf = page.csrf();
    let wrong = console.post("/console/mfa", &[("csrf", &csrf), ("code", "000000")]).await;
    let right = totp_code(&secret, 0);
    if right != "000000" {
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "a wrong first code");
    }
    let done = console.post("/console/mfa", &[("csrf", &csrf), ("code", &right)]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let list = lethe_tests::console::between(&done.body, "id=\"recovery-codes\">", "</ul>").unwrap();
    let codes: Vec<String> = list.split("<code>").skip(1).map(|c| c.split('<').next().unwrap().to_owned()).collect();
    assert_eq!(codes.len(), 10, "ten recovery codes");
    assert_eq!(console.get("/console/").await.status, StatusCode::OK, "signed in after enrolment");
    (secret, codes)
}

both_backends! {
    async fn pages_carry_security_headers_and_forms_need_their_token(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let email = format!("op@{org}.test");
        app.operator_in(&org, &email, Role::Operator).await;
        let console = Console::new(&app.base);
        let page = console.get("/console/sign-in").await;
        assert_eq!(page.status, StatusCode::OK);
        for (name, value) in lethe_api::web::headers::defaults() {
            assert_eq!(page.headers[&name], value, "{name}");
        }
        assert!(page.body.starts_with("<!doctype html>\n<html lang=\"en\">"));
        assert!(!page.body.contains("<script>") && !page.body.contains("style=\""), "nothing inline");
        let cookie = page.headers["set-cookie"].to_str().unwrap();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && !cookie.contains("Secure"));

        // No token, a made-up one, another browser's: a 403 page, never a 500.
        for token in ["", "forged"] {
            let refused = console.post("/console/sign-in", &[("csrf", token), ("email", &email), ("password", PASSWORD)]).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN);
            assert!(refused.body.contains("csrf_failed"), "{}", refused.body);
        }
        let other = Console::new(&app.base);
        let others = other.get("/console/sign-in").await.csrf();
        let refused = console.post("/console/sign-in", &[("csrf", &others), ("email", &email), ("password", PASSWORD)]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "a token of another session");
        let missing = console.post("/console/sign-in", &[("csrf", &page.csrf())]).await;
        assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY, "a form without its fields is a 422 page");
        assert!(missing.body.contains("invalid_form"));

        // Signed in, every POST checks the session's token.
        let signed = Console::signed_in(&app.base, &email).await;
        let home = signed.get("/console/").await;
        assert_eq!(home.status, StatusCode::OK);
        assert_eq!(home.headers["cache-control"], "no-store");
        let out = signed.post("/console/sign-out", &[("csrf", "nope")]).await;
        assert_eq!(out.status, StatusCode::FORBIDDEN);
        let search = signed.post("/console/search", &[("csrf", &others), ("q", "someone@example.com")]).await;
        assert_eq!(search.status, StatusCode::FORBIDDEN, "the sign-in form's token is not the session's");

        // Errors are HTML pages with a code; assets are served with their types.
        let unknown = signed.get("/console/nowhere").await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        assert!(unknown.body.contains("not_found") && unknown.headers["content-type"].to_str().unwrap().starts_with("text/html"));
        assert_eq!(unknown.headers["x-frame-options"], "DENY");
        let css = signed.get("/assets/style.css").await;
        assert_eq!((css.status, css.headers["content-type"].to_str().unwrap()), (StatusCode::OK, "text/css; charset=utf-8"));
        let js = signed.get("/assets/app.js").await;
        assert_eq!(js.status, StatusCode::OK);
        // Not signed in: to the sign-in page.
        let anonymous = Console::new(&app.base).get("/console/").await;
        assert_eq!((anonymous.status, anonymous.location()), (StatusCode::SEE_OTHER, Some("/console/sign-in")));
    }

    async fn totp_enrolment_sign_in_replay_and_recovery_codes(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let email = format!("dpo@{org}.test");
        app.operator_in(&org, &email, Role::Admin).await;
        let console = Console::signed_in(&app.base, &email).await;
        let (secret, codes) = enrol(&console).await;
        // The secret is encrypted at rest.
        let op = lethe_entities::entity::operator::Model::find_by_email(&app.db, &email).await.unwrap().unwrap();
        let stored = op.mfa_secret.clone().unwrap();
        let raw = totp_rs::Secret::try_from_base32(&secret).unwrap();
        assert!(!stored.windows(raw.as_ref().len()).any(|w| w == raw.as_ref()), "no clear secret in the row");
        assert!(op.mfa_pending_secret.is_none());

        // The password alone is not enough any more.
        let browser = Console::new(&app.base);
        let answer = browser.sign_in(&email, PASSWORD).await;
        assert_eq!(answer.location(), Some("/console/sign-in/code"));
        assert_eq!(browser.get("/console/").await.location(), Some("/console/sign-in/code"), "no page before the code");
        let page = browser.get("/console/sign-in/code").await;
        let next = totp_code(&secret, 1);
        let ok = browser.post("/console/sign-in/code", &[("csrf", &page.csrf()), ("code", &next)]).await;
        assert_eq!((ok.status, ok.location()), (StatusCode::SEE_OTHER, Some("/console/")), "{}", ok.body);
        assert_eq!(browser.get("/console/").await.status, StatusCode::OK);

        // The same code again (same time step): refused.
        let again = Console::new(&app.base);
        again.sign_in(&email, PASSWORD).await;
        let page = again.get("/console/sign-in/code").await;
        let replay = again.post("/console/sign-in/code", &[("csrf", &page.csrf()), ("code", &next)]).await;
        assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "a code is accepted once");
        // A recovery code works once, in any case and with spaces.
        let typed = codes[0].to_uppercase().replace('-', " ");
        let recovered = again.post("/console/sign-in/code", &[("csrf", &page.csrf()), ("code", &typed)]).await;
        assert_eq!(recovered.location(), Some("/console/"), "{}", recovered.body);
        let third = Console::new(&app.base);
        third.sign_in(&email, PASSWORD).await;
        let page = third.get("/console/sign-in/code").await;
        let reused = third.post("/console/sign-in/code", &[("csrf", &page.csrf()), ("code", &codes[0])]).await;
        assert_eq!(reused.status, StatusCode::UNAUTHORIZED, "a recovery code is used once");

        // The JSON login asks for the code too; a recovery code works there once as well.
        let (status, body) = app.post("/v1/auth/login", None, json!({"email": email, "password": PASSWORD})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("mfa_required")));
        let with_code = json!({"email": email, "password": PASSWORD, "code": codes[1]});
        let (status, _) = app.post("/v1/auth/login", None, with_code.clone()).await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = app.post("/v1/auth/login", None, with_code).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_credentials")));

        let events = account_events(&app, &email).await;
        for kind in [OperatorEventKind::MfaEnrolled, OperatorEventKind::SignedIn, OperatorEventKind::SignInFailed, OperatorEventKind::RecoveryCodeUsed] {
            assert!(events.contains(&kind), "{kind:?} in {events:?}");
        }
    }

    async fn an_organization_can_require_a_second_factor(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let email = format!("op@{org}.test");
        app.operator_in(&org, &email, Role::Operator).await;
        let request = app.http.patch(app.url("/v1/organization")).bearer_auth(&admin).json(&json!({"mfa_required": true}));
        let changed: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
        assert_eq!(changed["mfa_required"], true);
        let console = Console::new(&app.base);
        let answer = console.sign_in(&email, PASSWORD).await;
        assert_eq!(answer.location(), Some("/console/mfa"), "to enrolment after the password");
        assert_eq!(console.get("/console/").await.location(), Some("/console/mfa"), "no page before enrolment");
        let (status, body) = app.post("/v1/auth/login", None, json!({"email": email, "password": PASSWORD})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("mfa_enrolment_required")));
        enrol(&console).await;
        assert_eq!(console.get("/console/").await.status, StatusCode::OK);
    }

    async fn repeated_failures_lock_the_account_for_console_and_api(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let email = format!("op@{org}.test");
        app.operator_in(&org, &email, Role::Operator).await;
        let console = Console::new(&app.base);
        for _ in 0..5 {
            let wrong = console.sign_in(&email, "not the password at all").await;
            assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
            assert!(wrong.body.contains("locked after too many failures"), "one answer for every failure");
        }
        let right = console.sign_in(&email, PASSWORD).await;
        assert_eq!(right.status, StatusCode::UNAUTHORIZED, "locked: the right password does not open it");
        let (status, _) = app.post("/v1/auth/login", None, json!({"email": email, "password": PASSWORD})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "the JSON login shares the lockout");
        let unknown = console.sign_in("nobody@example.com", PASSWORD).await;
        assert_eq!(unknown.body.contains("locked after too many failures"), right.body.contains("locked after too many failures"));
        let events = account_events(&app, &email).await;
        assert_eq!(events.iter().filter(|k| **k == OperatorEventKind::SignInFailed).count(), 6);
        assert_eq!(events.iter().filter(|k| **k == OperatorEventKind::Locked).count(), 1);
    }

    async fn signing_out_everywhere_ends_every_session_and_token(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let email = format!("op@{org}.test");
        let api_token = app.operator_in(&org, &email, Role::Operator).await;
        let laptop = Console::signed_in(&app.base, &email).await;
        let phone = Console::signed_in(&app.base, &email).await;
        let csrf = laptop.csrf().await;
        let out = laptop.post("/console/sign-out-everywhere", &[("csrf", &csrf)]).await;
        assert_eq!(out.location(), Some("/console/sign-in"));
        assert_eq!(phone.get("/console/").await.location(), Some("/console/sign-in"), "the other browser is out");
        let (status, body) = app.get("/v1/requests", Some(&api_token)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));
        // Signing out in one browser leaves the other signed in.
        let a = Console::signed_in(&app.base, &email).await;
        let b = Console::signed_in(&app.base, &email).await;
        let csrf = a.csrf().await;
        a.post("/console/sign-out", &[("csrf", &csrf)]).await;
        assert_eq!(a.get("/console/").await.location(), Some("/console/sign-in"));
        assert_eq!(b.get("/console/").await.status, StatusCode::OK);
        assert!(account_events(&app, &email).await.contains(&OperatorEventKind::SignedOutEverywhere));
    }
}
