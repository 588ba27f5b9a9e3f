//! Accounts and credentials over HTTP: tenant isolation, password change, disabling operators
//! and the last-admin rule, sign-in lockout, API keys (create, use, regenerate, revoke) and
//! creating operators. Each test runs on SQLite and on PostgreSQL.

use lethe_entities::domain::enums::Role;
use lethe_entities::entity::operator;
use lethe_tests::app::org_slug;
use lethe_tests::{TestApp, both_backends, spawn_app};
use reqwest::StatusCode;
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use serde_json::{Value, json};

/// The password `TestApp::operator_in` gives every account.
const PASSWORD: &str = "a long test password";

/// Sends a PATCH with a JSON body and a bearer token.
async fn patch(app: &TestApp, path: &str, bearer: &str, body: Value) -> (StatusCode, Value) {
    let response = app.http.patch(app.url(path)).bearer_auth(bearer).json(&body).send().await.unwrap();
    read(response).await
}

/// Sends a DELETE with a bearer token.
async fn delete(app: &TestApp, path: &str, bearer: &str) -> (StatusCode, Value) {
    read(app.http.delete(app.url(path)).bearer_auth(bearer).send().await.unwrap()).await
}

async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
}

/// Signs in and returns the status and problem code, for sign-ins expected to fail.
async fn login_fails(app: &TestApp, email: &str, password: &str) -> (StatusCode, Option<String>) {
    let (status, body) = app.post("/v1/auth/login", None, json!({"email": email, "password": password})).await;
    (status, body["code"].as_str().map(str::to_owned))
}

fn unauthorized(code: &str) -> (StatusCode, Option<String>) {
    (StatusCode::UNAUTHORIZED, Some(code.to_owned()))
}

/// Status and problem code of a response.
fn outcome(response: &(StatusCode, Value)) -> (StatusCode, Option<String>) {
    (response.0, response.1["code"].as_str().map(str::to_owned))
}

/// The id of the operator with `email`, as listed to `admin`.
async fn operator_id(app: &TestApp, admin: &str, email: &str) -> String {
    let (status, operators) = app.get("/v1/operators", Some(admin)).await;
    assert_eq!(status, StatusCode::OK, "{operators}");
    let found = operators.as_array().unwrap().iter().find(|o| o["email"] == email);
    found.unwrap_or_else(|| panic!("{email} not in {operators}"))["id"].as_str().unwrap().to_owned()
}

/// Creates an operator over the API with a known password; returns its id.
async fn create_operator(app: &TestApp, admin: &str, email: &str, role: &str) -> String {
    let (status, created) =
        app.post("/v1/operators", Some(admin), json!({"email": email, "role": role, "password": PASSWORD})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(created["initial_password"].is_null(), "no password is generated when one is given");
    created["operator"]["id"].as_str().unwrap().to_owned()
}

/// Creates an API key as `admin`; returns the creation answer.
async fn create_key(app: &TestApp, admin: &str, name: &str, scopes: &[&str]) -> Value {
    let (status, created) = app.post("/v1/api-keys", Some(admin), json!({"name": name, "scopes": scopes})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

both_backends! {
    async fn tenants_are_isolated(backend: Backend) {
        let app = spawn_app(backend).await;
        let (org_a, org_b) = (org_slug(), org_slug());
        let admin_a = app.admin(&org_a).await;
        let admin_b = app.admin(&org_b).await;
        let key_b = create_key(&app, &admin_b, "b-integration", &["requests:write"]).await;
        let key_b = key_b["secret"].as_str().unwrap().to_owned();

        let theirs = app.verified(&org_a, "access", "gdpr", "iso-a@example.com").await;
        let ours = app.submit(&org_b, "access", "gdpr", "iso-b@example.com").await;

        for (who, bearer) in [("org B's admin", admin_b.as_str()), ("org B's API key", key_b.as_str())] {
            // Org A's request does not exist for org B: same answer as an unknown id.
            let path = format!("/v1/requests/{}", theirs.id);
            let response = app.get(&path, Some(bearer)).await;
            assert_eq!(outcome(&response), (StatusCode::NOT_FOUND, Some("request_not_found".into())), "{who}");
            let actions = [
                ("approve", json!({"reason": "not mine"})),
                ("deny", json!({"ground": "excessive"})),
                ("extend", json!({"reason": "not mine"})),
                ("hold", json!({"reason": "not mine"})),
                ("cancel", json!({"reason": "not mine"})),
            ];
            for (action, body) in actions {
                let response = app.post(&format!("{path}/{action}"), Some(bearer), body).await;
                assert_eq!(outcome(&response), (StatusCode::NOT_FOUND, Some("request_not_found".into())), "{who} {action}");
            }

            // Org B's list holds org B's request only.
            let (status, list) = app.get("/v1/requests", Some(bearer)).await;
            assert_eq!(status, StatusCode::OK, "{who}: {list}");
            let ids: Vec<&str> = list["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
            assert_eq!(ids, [ours.id.as_str()], "{who}");
            assert_eq!(list["total"], 1, "{who}");
        }

        // Nothing org B tried touched org A's request.
        let (status, detail) = app.get(&format!("/v1/requests/{}", theirs.id), Some(&admin_a)).await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        assert_eq!(detail["state"], "pending_approval");
        assert_eq!(detail["extended_at"], Value::Null);
        let actors: Vec<&Value> = detail["timeline"].as_array().unwrap().iter().map(|e| &e["actor_kind"]).collect();
        assert!(actors.iter().all(|a| *a == "subject" || *a == "system"), "no operator acted: {detail}");
        // Org A's admin sees org A's request only, not org B's.
        let (_, list) = app.get("/v1/requests", Some(&admin_a)).await;
        assert_eq!(list["total"], 1);
        assert_eq!(list["items"][0]["id"], theirs.id.as_str());
    }

    async fn password_change_revokes_tokens(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let _admin = app.admin(&org).await;
        let email = format!("pw@{org}.test");
        let token = app.operator_in(&org, &email, Role::Operator).await;
        let new_password = "a brand new passphrase";

        let wrong = app
            .post("/v1/auth/password", Some(&token), json!({"current_password": "not my password", "new_password": new_password}))
            .await;
        assert_eq!(outcome(&wrong), unauthorized("invalid_credentials"));
        let short = app.post("/v1/auth/password", Some(&token), json!({"current_password": PASSWORD, "new_password": "short"})).await;
        assert_eq!(outcome(&short), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed".into())));
        assert_eq!(short.1["errors"][0]["field"], "new_password");
        // Neither failure changed anything: the token still works.
        let (status, _) = app.get("/v1/requests", Some(&token)).await;
        assert_eq!(status, StatusCode::OK);

        let (status, body) = app
            .post("/v1/auth/password", Some(&token), json!({"current_password": PASSWORD, "new_password": new_password}))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        assert_eq!(body, Value::Null);

        let stale = app.get("/v1/requests", Some(&token)).await;
        assert_eq!(outcome(&stale), unauthorized("invalid_token"), "tokens issued before the change are revoked");
        let again = app.post("/v1/auth/password", Some(&token), json!({"current_password": new_password, "new_password": PASSWORD})).await;
        assert_eq!(outcome(&again), unauthorized("invalid_token"));
        assert_eq!(login_fails(&app, &email, PASSWORD).await, unauthorized("invalid_credentials"));

        let fresh = app.login(&email, new_password).await;
        let (status, _) = app.get("/v1/requests", Some(&fresh)).await;
        assert_eq!(status, StatusCode::OK);
    }

    async fn disabled_operators_and_the_last_admin(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let email = format!("leaver@{org}.test");
        let leaver = create_operator(&app, &admin, &email, "operator").await;
        let token = app.login(&email, PASSWORD).await;
        let (status, _) = app.get("/v1/requests", Some(&token)).await;
        assert_eq!(status, StatusCode::OK);

        let (status, changed) = patch(&app, &format!("/v1/operators/{leaver}"), &admin, json!({"disabled": true})).await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(changed["disabled"], true);
        assert_eq!(outcome(&app.get("/v1/requests", Some(&token)).await), unauthorized("invalid_token"));
        assert_eq!(login_fails(&app, &email, PASSWORD).await, unauthorized("invalid_credentials"));

        // Re-enabled, the operator can sign in again; the old token stays revoked.
        let (status, changed) = patch(&app, &format!("/v1/operators/{leaver}"), &admin, json!({"disabled": false})).await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(changed["disabled"], false);
        assert_eq!(outcome(&app.get("/v1/requests", Some(&token)).await), unauthorized("invalid_token"));
        let back = app.login(&email, PASSWORD).await;
        assert_eq!(app.get("/v1/requests", Some(&back)).await.0, StatusCode::OK);

        // The only admin can be neither disabled nor demoted.
        let first = operator_id(&app, &admin, &format!("admin@{org}.test")).await;
        let path = format!("/v1/operators/{first}");
        for change in [json!({"disabled": true}), json!({"role": "operator"}), json!({"role": "auditor", "disabled": true})] {
            let response = patch(&app, &path, &admin, change.clone()).await;
            assert_eq!(outcome(&response), (StatusCode::CONFLICT, Some("last_admin".into())), "{change}");
        }
        assert_eq!(app.get("/v1/operators", Some(&admin)).await.0, StatusCode::OK, "the refused change revoked nothing");

        // A disabled admin does not count as the one that remains.
        let second_email = format!("second@{org}.test");
        let second = create_operator(&app, &admin, &second_email, "admin").await;
        let (status, _) = patch(&app, &format!("/v1/operators/{second}"), &admin, json!({"disabled": true})).await;
        assert_eq!(status, StatusCode::OK);
        let response = patch(&app, &path, &admin, json!({"role": "operator"})).await;
        assert_eq!(outcome(&response), (StatusCode::CONFLICT, Some("last_admin".into())));

        // With a second active admin, the first can step down; then the second is the last.
        let (status, _) = patch(&app, &format!("/v1/operators/{second}"), &admin, json!({"disabled": false})).await;
        assert_eq!(status, StatusCode::OK);
        let (status, changed) = patch(&app, &path, &admin, json!({"role": "operator"})).await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(changed["role"], "operator");
        assert_eq!(outcome(&app.get("/v1/operators", Some(&admin)).await), unauthorized("invalid_token"), "a role change revokes tokens");
        let second_token = app.login(&second_email, PASSWORD).await;
        let response = patch(&app, &format!("/v1/operators/{second}"), &second_token, json!({"disabled": true})).await;
        assert_eq!(outcome(&response), (StatusCode::CONFLICT, Some("last_admin".into())));
        let (status, problem) = patch(&app, "/v1/operators/00000000-0000-7000-8000-000000000000", &second_token, json!({"disabled": true})).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::NOT_FOUND, Some("operator_not_found")));
    }

    async fn repeated_failures_lock_the_account(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let _admin = app.admin(&org).await;
        let email = format!("target@{org}.test");
        app.operator_in(&org, &email, Role::Operator).await;

        // Fewer failures than the threshold do not lock, and a success resets the count.
        for _ in 0..4 {
            assert_eq!(login_fails(&app, &email, "wrong password!").await, unauthorized("invalid_credentials"));
        }
        app.login(&email, PASSWORD).await;

        for _ in 0..5 {
            assert_eq!(login_fails(&app, &email, "wrong password!").await, unauthorized("invalid_credentials"));
        }
        // Locked: even the right password is refused, with the same answer.
        assert_eq!(login_fails(&app, &email, PASSWORD).await, unauthorized("invalid_credentials"));
        // An unknown address is indistinguishable.
        assert_eq!(login_fails(&app, &format!("nobody@{org}.test"), PASSWORD).await, unauthorized("invalid_credentials"));
        // Other accounts are not affected.
        app.login(&format!("admin@{org}.test"), PASSWORD).await;

        // The lock lasts 15 minutes...
        let locked = app.operator(&email).await;
        let until = locked.locked_until.expect("the account is locked");
        let left = until - time::OffsetDateTime::now_utc();
        assert!(left > time::Duration::minutes(14) && left <= time::Duration::minutes(15), "locked for {left}");
        // ...and once it has passed (moved into the past here rather than waited out), the
        // right password works again.
        let mut expired = locked.into_active_model();
        expired.locked_until = Set(Some(time::OffsetDateTime::now_utc() - time::Duration::seconds(1)));
        expired.update(&app.db).await.unwrap();
        let token = app.login(&email, PASSWORD).await;
        assert_eq!(app.get("/v1/requests", Some(&token)).await.0, StatusCode::OK);
        let reset = app.operator(&email).await;
        assert_eq!((reset.failed_logins, reset.locked_until), (0, None));
    }

    async fn api_key_lifecycle(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;

        let created = create_key(&app, &admin, "crm-sync", &["requests:read"]).await;
        let id = created["key"]["id"].as_str().unwrap().to_owned();
        let secret = created["secret"].as_str().unwrap().to_owned();
        let prefix = created["key"]["prefix"].as_str().unwrap();
        assert!(secret.starts_with(&format!("lethe_{prefix}_")), "{secret}");
        assert_eq!(created["key"]["scopes"], json!(["requests:read"]));
        assert_eq!(created["key"]["revoked_at"], Value::Null);

        let (status, list) = app.get("/v1/requests", Some(&secret)).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let forbidden = app.post("/v1/api-keys", Some(&secret), json!({"name": "self-made", "scopes": ["requests:write"]})).await;
        assert_eq!(outcome(&forbidden), (StatusCode::FORBIDDEN, Some("forbidden".into())), "a key cannot mint keys");

        // The list never shows a secret, and records the use.
        let (status, keys) = app.get("/v1/api-keys", Some(&admin)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(keys.as_array().unwrap().len(), 1);
        assert_eq!(keys[0]["id"], id.as_str());
        assert!(keys[0].get("secret").is_none(), "{keys}");
        let secret_part = secret.rsplit_once('_').unwrap().1;
        assert!(!keys.to_string().contains(secret_part), "{keys}");
        assert!(!keys[0]["last_used_at"].is_null(), "the use was recorded: {keys}");

        // Regenerating: same key, new secret; the old secret stops working at once.
        let (status, regenerated) = app.post(&format!("/v1/api-keys/{id}/regenerate"), Some(&admin), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{regenerated}");
        let fresh = regenerated["secret"].as_str().unwrap().to_owned();
        assert!(fresh.starts_with("lethe_") && fresh != secret, "{fresh}");
        assert_eq!(regenerated["key"]["id"], id.as_str());
        assert_eq!(regenerated["key"]["scopes"], json!(["requests:read"]));
        assert_eq!(outcome(&app.get("/v1/requests", Some(&secret)).await), unauthorized("invalid_token"));
        assert_eq!(app.get("/v1/requests", Some(&fresh)).await.0, StatusCode::OK);

        // Revoking: 204, the key stops working, revoking again is harmless, and it cannot be
        // brought back.
        let (status, body) = delete(&app, &format!("/v1/api-keys/{id}"), &admin).await;
        assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
        assert_eq!(outcome(&app.get("/v1/requests", Some(&fresh)).await), unauthorized("invalid_token"));
        assert_eq!(delete(&app, &format!("/v1/api-keys/{id}"), &admin).await.0, StatusCode::NO_CONTENT);
        let response = app.post(&format!("/v1/api-keys/{id}/regenerate"), Some(&admin), json!({})).await;
        assert_eq!(outcome(&response), (StatusCode::CONFLICT, Some("api_key_revoked".into())));
        let (_, keys) = app.get("/v1/api-keys", Some(&admin)).await;
        assert!(!keys[0]["revoked_at"].is_null(), "{keys}");

        // Unknown ids, and another organization's keys, are not found.
        let unknown = "00000000-0000-7000-8000-000000000000";
        let response = delete(&app, &format!("/v1/api-keys/{unknown}"), &admin).await;
        assert_eq!(outcome(&response), (StatusCode::NOT_FOUND, Some("api_key_not_found".into())));
        let other_admin = app.admin(&org_slug()).await;
        let theirs = create_key(&app, &other_admin, "theirs", &["requests:write"]).await;
        let their_id = theirs["key"]["id"].as_str().unwrap();
        let response = delete(&app, &format!("/v1/api-keys/{their_id}"), &admin).await;
        assert_eq!(outcome(&response), (StatusCode::NOT_FOUND, Some("api_key_not_found".into())));
        let response = app.post(&format!("/v1/api-keys/{their_id}/regenerate"), Some(&admin), json!({})).await;
        assert_eq!(outcome(&response), (StatusCode::NOT_FOUND, Some("api_key_not_found".into())));
        assert_eq!(app.get("/v1/requests", Some(theirs["secret"].as_str().unwrap())).await.0, StatusCode::OK);

        // Invalid scopes or names are refused.
        for (body, field) in [
            (json!({"name": "bad", "scopes": ["requests:delete"]}), "scopes"),
            (json!({"name": "bad", "scopes": ["requests:read", "admin"]}), "scopes"),
            (json!({"name": "bad", "scopes": []}), "scopes"),
            (json!({"name": "   ", "scopes": ["requests:read"]}), "name"),
        ] {
            let (status, problem) = app.post("/v1/api-keys", Some(&admin), body.clone()).await;
            assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")), "{body}");
            assert_eq!(problem["errors"][0]["field"], field, "{body}");
        }
        let (_, keys) = app.get("/v1/api-keys", Some(&admin)).await;
        assert_eq!(keys.as_array().unwrap().len(), 1, "no invalid key was created");
    }

    async fn admins_create_operators(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let email = format!("newcomer@{org}.test");

        let (status, created) = app.post("/v1/operators", Some(&admin), json!({"email": email, "role": "operator"})).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["operator"]["email"], email.as_str());
        assert_eq!(created["operator"]["role"], "operator");
        assert_eq!(created["operator"]["disabled"], false);
        let initial = created["initial_password"].as_str().expect("a generated password").to_owned();
        assert!(initial.chars().count() >= 12, "the generated password meets the policy");

        let token = app.login(&email, &initial).await;
        assert_eq!(app.get("/v1/requests", Some(&token)).await.0, StatusCode::OK);
        let forbidden = app.get("/v1/operators", Some(&token)).await;
        assert_eq!(outcome(&forbidden), (StatusCode::FORBIDDEN, Some("forbidden".into())), "an operator is not an admin");

        // The address is taken in the organization, whatever its case.
        for taken in [email.clone(), email.to_uppercase(), format!("  {email} ")] {
            let response = app.post("/v1/operators", Some(&admin), json!({"email": taken, "role": "auditor"})).await;
            assert_eq!(outcome(&response), (StatusCode::CONFLICT, Some("email_taken".into())), "{taken}");
        }

        // A given password is used as is; a short one or a bad address is refused.
        create_operator(&app, &admin, &format!("chosen@{org}.test"), "auditor").await;
        app.login(&format!("chosen@{org}.test"), PASSWORD).await;
        let (status, problem) = app
            .post("/v1/operators", Some(&admin), json!({"email": format!("short@{org}.test"), "role": "auditor", "password": "short"}))
            .await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")), "{problem}");
        let (status, problem) = app.post("/v1/operators", Some(&admin), json!({"email": "not an address", "role": "auditor"})).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")), "{problem}");
        assert_eq!(problem["errors"][0]["field"], "email");

        let (_, operators) = app.get("/v1/operators", Some(&admin)).await;
        let emails: Vec<&str> = operators.as_array().unwrap().iter().map(|o| o["email"].as_str().unwrap()).collect();
        assert_eq!(emails, [format!("admin@{org}.test"), email.clone(), format!("chosen@{org}.test")]);
    }
    // One address, two organizations: creating the second account succeeds (another
    // organization's use of an address is not revealed), each signs in to its own organization
    // and sees only it, and the address alone is refused like a wrong password, the same
    // answer an unknown address gets.
    async fn an_address_may_serve_several_organizations(backend: Backend) {
        let app = spawn_app(backend).await;
        let (first, second) = (org_slug(), org_slug());
        let (admin_a, admin_b) = (app.admin(&first).await, app.admin(&second).await);
        let shared = format!("shared@{first}.test");
        create_operator(&app, &admin_a, &shared, "operator").await;
        let (status, created) = app
            .post("/v1/operators", Some(&admin_b), json!({"email": shared.to_uppercase(), "role": "auditor", "password": "another long password"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "another organization's address is no conflict: {created}");
        assert_eq!(created["operator"]["email"], shared.as_str());

        let in_a = app.login_to(&first, &shared, PASSWORD).await;
        let in_b = app.login_to(&second, &shared, "another long password").await;
        let (_, me_a) = app.get("/v1/organization", Some(&in_a)).await;
        let (_, me_b) = app.get("/v1/organization", Some(&in_b)).await;
        assert_eq!((me_a["slug"].as_str(), me_b["slug"].as_str()), (Some(first.as_str()), Some(second.as_str())));
        let (_, listed_a) = app.get("/v1/operators", Some(&admin_a)).await;
        let (_, listed_b) = app.get("/v1/operators", Some(&admin_b)).await;
        let id_b = created["operator"]["id"].as_str().unwrap();
        assert!(!listed_a.to_string().contains(id_b), "the first organization does not see the second's account");
        assert_eq!(listed_b.as_array().unwrap().len(), 2, "the second sees its admin and its own account: {listed_b}");
        let (status, _) = app.patch(&format!("/v1/operators/{id_b}"), &admin_a, json!({"role": "admin"})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "nor can change it");

        // The password of one account does not open the other; a wrong organization is unknown.
        let wrong = json!({"email": shared, "password": PASSWORD, "organization": second});
        assert_eq!(outcome(&app.post("/v1/auth/login", None, wrong).await), unauthorized("invalid_credentials"));
        let nowhere = json!({"email": shared, "password": PASSWORD, "organization": "no-such-org"});
        assert_eq!(outcome(&app.post("/v1/auth/login", None, nowhere).await), unauthorized("invalid_credentials"));
        // Without an organization the address is ambiguous: the answer of an unknown address.
        let (status, ambiguous) = app.post("/v1/auth/login", None, json!({"email": shared, "password": PASSWORD})).await;
        let (_, unknown) = app.post("/v1/auth/login", None, json!({"email": format!("nobody@{first}.test"), "password": PASSWORD})).await;
        assert_eq!((status, &ambiguous["code"]), (StatusCode::UNAUTHORIZED, &json!("invalid_credentials")));
        assert_eq!(ambiguous["detail"], unknown["detail"], "one answer for both");
        let accounts = operator::Entity::find().filter(operator::Column::Email.eq(&shared)).all(&app.db).await.unwrap();
        let charged: i32 = accounts.iter().map(|o| o.failed_logins).sum();
        assert_eq!(accounts.len(), 2);
        assert_eq!(charged, 1, "only the named organization's account was charged (once), none for the ambiguous attempt");
        // An address with one account still signs in without naming its organization.
        app.login(&format!("admin@{second}.test"), PASSWORD).await;
    }
}
