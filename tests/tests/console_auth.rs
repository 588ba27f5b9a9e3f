//! The operator console's sign-in over HTTP: security headers, CSRF refusal, TOTP enrolment
//! and sign-in with it, replayed and recovery codes, the organization's MFA requirement, the
//! lockout shared with the JSON login, signing out everywhere, changing the password,
//! replacing one's own second factor and an admin's reset of another's, and the account events
//! in the audit log. Each test runs on SQLite and on PostgreSQL.

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
    let op = app.operator(email).await;
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
        let op = app.operator(&email).await;
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

    async fn changing_the_password_ends_other_sessions_and_keeps_this_one(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let email = format!("op@{org}.test");
        let api_token = app.operator_in(&org, &email, Role::Operator).await;
        let laptop = Console::signed_in(&app.base, &email).await;
        let phone = Console::signed_in(&app.base, &email).await;
        let page = laptop.get("/console/password").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("id=\"change-password\"") && page.body.contains("href=\"/console/password\" aria-current=\"page\""));
        let csrf = page.csrf();
        let new_password = "a brand new console passphrase";
        let form = |csrf: &str, current: &str, new: &str, repeat: &str| {
            vec![("csrf", csrf.to_owned()), ("current_password", current.to_owned()), ("new_password", new.to_owned()), ("repeat_password", repeat.to_owned())]
        };
        let post = |fields: Vec<(&'static str, String)>| {
            let laptop = &laptop;
            async move {
                let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                laptop.post("/console/password", &pairs).await
            }
        };

        // CSRF: no token, a forged one, another session's: refused before anything.
        let others = phone.csrf().await;
        for token in ["", "forged", others.as_str()] {
            let refused = post(form(token, PASSWORD, new_password, new_password)).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{token}");
            assert!(refused.body.contains("csrf_failed"));
        }
        // The two new ones must agree and follow the rules; the current one must be right.
        let differ = post(form(&csrf, PASSWORD, new_password, "a brand new console passphrasE")).await;
        assert_eq!(differ.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(differ.body.contains("The two new passwords differ."));
        let short = post(form(&csrf, PASSWORD, "short", "short")).await;
        assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(short.body.contains("12 to 256 characters"));
        let wrong = post(form(&csrf, "not my password at all", new_password, new_password)).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert!(wrong.body.contains("The current password is wrong"), "{}", wrong.body);
        assert!(!wrong.body.contains("not my password at all"), "never echoed");
        let op = app.operator(&email).await;
        assert_eq!(op.failed_logins, 1, "a wrong current password counts towards the lockout");
        assert_eq!(phone.get("/console/").await.status, StatusCode::OK, "refusals change nothing");

        let changed = post(form(&csrf, PASSWORD, new_password, new_password)).await;
        assert_eq!((changed.status, changed.location()), (StatusCode::SEE_OTHER, Some("/console/password?done=changed")), "{}", changed.body);
        let done = laptop.get("/console/password?done=changed").await;
        assert_eq!(done.status, StatusCode::OK, "this browser stays signed in");
        assert!(done.body.contains("Your password is changed."));
        assert_eq!(phone.get("/console/").await.location(), Some("/console/sign-in"), "the other browser is out");
        let (status, body) = app.get("/v1/requests", Some(&api_token)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));
        assert_eq!(Console::new(&app.base).sign_in(&email, PASSWORD).await.status, StatusCode::UNAUTHORIZED, "the old password");
        let fresh = Console::new(&app.base);
        assert_eq!(fresh.sign_in(&email, new_password).await.location(), Some("/console/"));
        let op = app.operator(&email).await;
        assert_eq!(op.failed_logins, 0);

        // Five wrong current passwords lock the account, as five wrong sign-ins do.
        let csrf = laptop.get("/console/password").await.csrf();
        for _ in 0..5 {
            assert_eq!(post(form(&csrf, "still not my password", PASSWORD, PASSWORD)).await.status, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(post(form(&csrf, new_password, PASSWORD, PASSWORD)).await.status, StatusCode::UNAUTHORIZED, "locked: the right one is refused too");
        assert_eq!(Console::new(&app.base).sign_in(&email, new_password).await.status, StatusCode::UNAUTHORIZED, "and sign-in is locked");
        let events = account_events(&app, &email).await;
        assert_eq!(events.iter().filter(|k| **k == OperatorEventKind::PasswordChanged).count(), 1);
        assert_eq!(events.iter().filter(|k| **k == OperatorEventKind::Locked).count(), 1);
        assert!(events.iter().filter(|k| **k == OperatorEventKind::SignInFailed).count() >= 7);
    }

    async fn a_second_factor_is_replaced_by_its_operator_and_reset_by_an_admin(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let (admin_email, email) = (format!("dpo@{org}.test"), format!("op@{org}.test"));
        let admin_token = app.operator_in(&org, &admin_email, Role::Admin).await;
        app.operator_in(&org, &email, Role::Operator).await;
        let op_id = app.operator(&email).await.id;
        let admin_id = app.operator(&admin_email).await.id;
        let console = Console::signed_in(&app.base, &email).await;
        let (secret, codes) = enrol(&console).await;

        // Replacing one's own: the password and a code (here a recovery code) confirm it.
        let other_browser = Console::new(&app.base);
        other_browser.sign_in(&email, PASSWORD).await;
        let page = other_browser.get("/console/sign-in/code").await;
        let signed = other_browser.post("/console/sign-in/code", &[("csrf", &page.csrf()), ("code", &totp_code(&secret, 1))]).await;
        assert_eq!(signed.location(), Some("/console/"));
        let status = console.get("/console/mfa").await;
        assert!(status.body.contains("id=\"reset-mfa\""), "{}", status.body);
        let csrf = status.csrf();
        let forged = console.post("/console/mfa/reset", &[("csrf", "forged"), ("password", PASSWORD), ("code", &codes[0])]).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        let wrong_password = console.post("/console/mfa/reset", &[("csrf", &csrf), ("password", "not the password at all"), ("code", &codes[0])]).await;
        assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
        let wrong_code = console.post("/console/mfa/reset", &[("csrf", &csrf), ("password", PASSWORD), ("code", "aaaaa-bbbbb")]).await;
        assert_eq!(wrong_code.status, StatusCode::UNAUTHORIZED);
        assert!(wrong_code.body.contains("Wrong password or code"));
        let op = app.operator(&email).await;
        assert!(op.has_mfa() && op.failed_logins == 2, "both refusals count towards the lockout; nothing removed");
        let replaced = console.post("/console/mfa/reset", &[("csrf", &csrf), ("password", PASSWORD), ("code", &codes[0])]).await;
        assert_eq!(replaced.location(), Some("/console/mfa"), "{}", replaced.body);
        assert_eq!(other_browser.get("/console/").await.location(), Some("/console/sign-in"), "other sessions end");
        let (new_secret, _) = enrol(&console).await;
        assert_ne!(new_secret, secret);
        let old_code = Console::new(&app.base);
        old_code.sign_in(&email, PASSWORD).await;
        let page = old_code.get("/console/sign-in/code").await;
        let refused = old_code.post("/console/sign-in/code", &[("csrf", &page.csrf()), ("code", &codes[1])]).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "the old recovery codes are gone");

        // An admin resets another operator's second factor from Settings, with a reason.
        let admin = Console::signed_in(&app.base, &admin_email).await;
        let settings = admin.get("/console/settings").await;
        assert!(settings.body.contains(&format!("/console/settings/operators/{op_id}/mfa-reset")));
        assert!(!settings.body.contains(&format!("/console/settings/operators/{admin_id}/mfa-reset")), "not the admin's own");
        let acsrf = settings.csrf();
        let path = format!("/console/settings/operators/{op_id}/mfa-reset");
        let forged = admin.post(&path, &[("csrf", &csrf), ("reason", "Lost phone")]).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "another session's token");
        let no_reason = admin.post(&path, &[("csrf", &acsrf), ("reason", "  ")]).await;
        assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
        let own = admin.post(&format!("/console/settings/operators/{admin_id}/mfa-reset"), &[("csrf", &acsrf), ("reason", "Lost phone")]).await;
        assert_eq!(own.status, StatusCode::FORBIDDEN);
        assert!(own.body.contains("own_second_factor"));
        let ocsrf = console.csrf().await;
        let not_admin = console.post(&format!("/console/settings/operators/{admin_id}/mfa-reset"), &[("csrf", &ocsrf), ("reason", "Lost phone")]).await;
        assert_eq!(not_admin.status, StatusCode::FORBIDDEN, "operators cannot reset anyone's");
        assert!(not_admin.body.contains("forbidden"));
        let reset = admin.post(&path, &[("csrf", &acsrf), ("reason", "Lost phone, identity checked")]).await;
        assert_eq!(reset.location(), Some("/console/settings?done=mfa-reset"), "{}", reset.body);
        assert_eq!(console.get("/console/").await.location(), Some("/console/sign-in"), "their sessions end");
        let csv = admin.get("/console/audit.csv").await.body;
        let line = csv.lines().find(|l| l.contains(",mfa_reset,") && l.contains("Lost phone")).expect("in the audit CSV");
        assert!(line.contains(&admin_email) && line.ends_with(",127.0.0.1"), "{line}");
        let op = app.operator(&email).await;
        assert!(!op.has_mfa() && op.mfa_secret.is_none());
        let again = Console::new(&app.base);
        again.sign_in(&email, PASSWORD).await;
        let page = again.get("/console/sign-in/code").await;
        assert_eq!(page.location(), Some("/console/"), "no code asked for any more");

        // With MFA required, the operator enrols again at the next sign-in.
        let (status, _) = app.patch("/v1/organization", &admin_token, json!({"mfa_required": true})).await;
        assert_eq!(status, StatusCode::OK);
        let next = Console::new(&app.base);
        assert_eq!(next.sign_in(&email, PASSWORD).await.location(), Some("/console/mfa"));
        enrol(&next).await;

        // The JSON API: admins only, never one's own, another organization's operator unknown.
        let (status, body) = app.post(&format!("/v1/operators/{op_id}/mfa/reset"), Some(&admin_token), json!({"reason": "Second lost phone"})).await;
        assert_eq!((status, body["mfa_enrolled"].as_bool()), (StatusCode::OK, Some(false)), "{body}");
        let (status, body) = app.post(&format!("/v1/operators/{op_id}/mfa/reset"), Some(&admin_token), json!({"reason": "Again"})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("mfa_not_enrolled")));
        let (status, body) = app.post(&format!("/v1/operators/{admin_id}/mfa/reset"), Some(&admin_token), json!({"reason": "Mine"})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("own_second_factor")));
        let stranger = app.admin(&org_slug()).await;
        let (status, body) = app.post(&format!("/v1/operators/{op_id}/mfa/reset"), Some(&stranger), json!({"reason": "Not mine"})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("operator_not_found")));

        // The audit log: the operator's own reset and the admin's, with the reason; the reasons
        // are stored encrypted.
        assert_eq!(account_events(&app, &email).await.iter().filter(|k| **k == OperatorEventKind::MfaReset).count(), 1);
        let (status, _) = app.patch("/v1/organization", &admin_token, json!({"mfa_required": false})).await;
        assert_eq!(status, StatusCode::OK, "the admin, not enrolled, reads the audit log again");
        let csv = admin.get("/console/audit.csv").await.body;
        for reason in [format!("operator {op_id}: Lost phone, identity checked"), format!("operator {op_id}: Second lost phone")] {
            assert!(csv.lines().any(|l| l.contains(",mfa_reset,") && l.contains(&reason) && l.contains(&admin_email)), "{reason}: {csv}");
        }
        let org_id = app.operator(&email).await.organization_id;
        let typed = ["Lost phone, identity checked", "Second lost phone"];
        assert_eq!(lethe_tests::raw::in_clear(&app.db, "operator_events", org_id, &typed).await, Vec::<String>::new());
    }
    // An address with accounts in two organizations: the console's form without an
    // organization answers like a wrong password; naming one signs in to it.
    async fn the_console_asks_which_organization_of_a_shared_address(backend: Backend) {
        let app = spawn_app(backend).await;
        let (first, second) = (org_slug(), org_slug());
        let email = format!("shared@{first}.test");
        app.operator_in(&first, &email, Role::Operator).await;
        let (org, _) = lethe_api::accounts::ensure_organization(&app.db, &second, &second).await.unwrap();
        lethe_api::accounts::create_operator(&app.db, &lethe_tests::app::hashing(), org.id, &email, Role::Auditor, Some(PASSWORD.into())).await.unwrap();

        let console = Console::new(&app.base);
        let refused = console.sign_in(&email, PASSWORD).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(refused.body.contains("name the organization too"), "{}", refused.body);
        let form = console.get("/console/sign-in").await;
        let csrf = form.csrf();
        let fields = [("csrf", csrf.as_str()), ("email", email.as_str()), ("password", PASSWORD), ("organization", second.as_str())];
        let signed_in = console.post("/console/sign-in", &fields).await;
        assert_eq!(signed_in.location(), Some("/console/"), "{}", signed_in.body);
        assert_eq!(console.get("/console/").await.status, StatusCode::OK);
        let events: Vec<_> = operator_event::Entity::find()
            .filter(operator_event::Column::Kind.eq(OperatorEventKind::SignedIn))
            .filter(operator_event::Column::OrganizationId.eq(org.id))
            .all(&app.db)
            .await
            .unwrap();
        assert_eq!(events.len(), 1, "signed in to the organization named");
    }
}
