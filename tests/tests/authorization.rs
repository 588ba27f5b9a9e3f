//! Who may call what: every authenticated route against every kind of caller.
//!
//! The matrix below lists each non-public route with the callers allowed on it. Every caller
//! is tried on every route: anonymous callers get 401 `unauthenticated`, a garbage or forged
//! credential 401 `invalid_token`, a caller without the permission 403 `forbidden`, and a
//! caller with it gets past authorization (a success, or 409 when the action does not apply to
//! the request's current state). The matrix runs on SQLite only: authorization does not depend
//! on the database, and the account tests cover both backends.

use std::fmt;

use lethe_entities::domain::enums::Role;
use lethe_tests::app::org_slug;
use lethe_tests::{Backend, TestApp, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The password `TestApp::operator_in` gives every account.
const PASSWORD: &str = "a long test password";
/// The password each signed-in caller changes to in the last row of the matrix.
const NEW_PASSWORD: &str = "another long test password";

/// Every kind of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// No `Authorization` header.
    Anonymous,
    /// A bearer token that is neither a JWT we issued nor an API key.
    Garbage,
    /// Something shaped like an API key (`lethe_<16 hex>_<secret>`) that does not exist.
    ForgedKey,
    /// An operator account with the `admin` role.
    Admin,
    /// An operator account with the `operator` role.
    Operator,
    /// An operator account with the `auditor` role.
    Auditor,
    /// An API key with scope `requests:read`.
    KeyRead,
    /// An API key with scope `requests:write`.
    KeyWrite,
}

use Caller::*;

const EVERY_CALLER: [Caller; 8] = [Anonymous, Garbage, ForgedKey, Admin, Operator, Auditor, KeyRead, KeyWrite];

/// Reading requests: every role and both scopes.
/// Every request state, for a wait that answers at once.
const ANY_STATE: &str =
    "identity_unverified,pending_approval,approved,in_progress,completed,denied,canceled,failed,on_hold";
const READ_REQUESTS: &[Caller] = &[Admin, Operator, Auditor, KeyRead, KeyWrite];
/// Acting on requests: admins, operators and `requests:write` keys.
const MANAGE_REQUESTS: &[Caller] = &[Admin, Operator, KeyWrite];
/// Operators and API keys: admins only.
const ADMINS: &[Caller] = &[Admin];
/// Reading the ledger: every operator role (API keys need the `ledger:read` scope).
const READ_LEDGER: &[Caller] = &[Admin, Operator, Auditor];
/// Signing a checkpoint on demand: admins and operators.
const SIGN_CHECKPOINT: &[Caller] = &[Admin, Operator];
/// Looking a subject up in the ledger by identity: admins and auditors.
const LOOKUP_LEDGER: &[Caller] = &[Admin, Auditor];
/// Having a password: signed-in operators of any role, never a key.
const SIGNED_IN: &[Caller] = &[Admin, Operator, Auditor];
const READ_STORES: &[Caller] = &[Admin, Operator, Auditor];
const PREVIEW_STORES: &[Caller] = &[Admin, Operator];
/// Reading retention policies and runs, and legal holds: every operator role.
const READ_RETENTION: &[Caller] = &[Admin, Operator, Auditor];
/// Previewing and running a retention policy: admins and operators.
const RUN_RETENTION: &[Caller] = &[Admin, Operator];
/// Reading webhook endpoints and their delivery logs: admins and operators (API keys need the
/// `webhooks:manage` scope).
const READ_WEBHOOKS: &[Caller] = &[Admin, Operator];
/// Reading the yearly metrics: every operator role (API keys need the `reports:read` scope).
const READ_REPORTS: &[Caller] = &[Admin, Operator, Auditor];

/// An authorized agent to register, with a fresh id and key each time.
fn agent_body(org: &str) -> Value {
    use ed25519_dalek::SigningKey;
    let seed: [u8; 32] = *uuid::Uuid::new_v4().as_bytes().repeat(2).first_chunk().unwrap();
    let key = SigningKey::from_bytes(&seed).verifying_key();
    let id = format!("AA_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    json!({"agent_id": id, "business_id": org, "name": "matrix agent", "verify_key": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, key.as_bytes())})
}

/// One route of the matrix.
struct Row {
    method: Method,
    path: String,
    body: Option<Value>,
    allowed: &'static [Caller],
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

fn row(method: Method, path: impl Into<String>, body: Option<Value>, allowed: &'static [Caller]) -> Row {
    Row { method, path: path.into(), body, allowed }
}

/// The credentials of every caller.
struct Callers {
    admin: String,
    operator: String,
    auditor: String,
    key_read: String,
    key_write: String,
}

impl Callers {
    fn bearer(&self, caller: Caller) -> Option<&str> {
        match caller {
            Anonymous => None,
            Garbage => Some("not-a-real-token"),
            ForgedKey => Some("lethe_0123456789abcdef_forged-secret"),
            Admin => Some(&self.admin),
            Operator => Some(&self.operator),
            Auditor => Some(&self.auditor),
            KeyRead => Some(&self.key_read),
            KeyWrite => Some(&self.key_write),
        }
    }
}

/// Sends `method path` with an optional JSON body and bearer; returns status and JSON body.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut request = app.http.request(method, app.url(path));
    if let Some(body) = body {
        request = request.json(body);
    }
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
}

/// Creates an API key as `admin` and returns (id, secret).
async fn create_key(app: &TestApp, admin: &str, name: &str, scope: &str) -> (String, String) {
    let (status, created) = app.post("/v1/api-keys", Some(admin), json!({"name": name, "scopes": [scope]})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (created["key"]["id"].as_str().unwrap().to_owned(), created["secret"].as_str().unwrap().to_owned())
}

/// What `caller` must get on `row`, checked against what it got; `None` when it matches.
fn mismatch(row: &Row, caller: Caller, status: StatusCode, body: &Value) -> Option<String> {
    let code = body["code"].as_str().unwrap_or("");
    let ok = match caller {
        Anonymous => status == StatusCode::UNAUTHORIZED && code == "unauthenticated",
        Garbage | ForgedKey => status == StatusCode::UNAUTHORIZED && code == "invalid_token",
        _ if row.allowed.contains(&caller) => status.is_success() || status == StatusCode::CONFLICT,
        _ => status == StatusCode::FORBIDDEN && code == "forbidden",
    };
    let expected = match caller {
        Anonymous => "401 unauthenticated",
        Garbage | ForgedKey => "401 invalid_token",
        _ if row.allowed.contains(&caller) => "2xx or 409 (past authorization)",
        _ => "403 forbidden",
    };
    (!ok).then(|| format!("{row} as {caller:?}: expected {expected}, got {status} {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_enforces_roles_and_scopes() {
    let app = spawn_app(Backend::Sqlite).await;
    let org = org_slug();
    let admin = app.admin(&org).await;
    let operator = app.operator_in(&org, &format!("operator@{org}.test"), Role::Operator).await;
    let auditor = app.operator_in(&org, &format!("auditor@{org}.test"), Role::Auditor).await;
    let (key_read_id, key_read) = create_key(&app, &admin, "reader", "requests:read").await;
    let (key_write_id, key_write) = create_key(&app, &admin, "writer", "requests:write").await;
    let callers = Callers { admin, operator, auditor, key_read, key_write };

    // Targets of the routes that take an id, all in the callers' organization.
    let req = app.verified(&org, "access", "gdpr", "matrix-subject@example.com").await;
    let (status, target) = app
        .post("/v1/operators", Some(&callers.admin), json!({"email": format!("target@{org}.test"), "role": "operator"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{target}");
    let target = target["operator"]["id"].as_str().unwrap().to_owned();
    let (doomed_key, _) = create_key(&app, &callers.admin, "to-revoke", "requests:read").await;
    let (rotated_key, _) = create_key(&app, &callers.admin, "to-regenerate", "requests:read").await;

    // Identities are shown in clear to admins and operators only.
    let detail_path = format!("/v1/requests/{}", req.id);
    for (caller, expected) in [
        (Admin, json!("matrix-subject@example.com")),
        (Operator, json!("matrix-subject@example.com")),
        (Auditor, Value::Null),
        (KeyRead, Value::Null),
        (KeyWrite, Value::Null),
    ] {
        let (status, detail) = app.get(&detail_path, callers.bearer(caller)).await;
        assert_eq!(status, StatusCode::OK, "{caller:?}: {detail}");
        assert_eq!(detail["identities"][0]["kind"], "email", "{caller:?}: {detail}");
        assert_eq!(detail["identities"][0]["value"], expected, "{caller:?} sees the identity as {expected}");
    }

    // One closed request, so the ledger has an entry to sign and prove.
    let closed = app.submit(&org, "erasure", "gdpr", "closed-subject@example.com").await;
    let (status, _) =
        app.post(&format!("/v1/requests/{}/cancel", closed.id), None, json!({"token": closed.token})).await;
    assert_eq!(status, StatusCode::OK);

    // A SQLite store of the organization's own, and one to delete.
    let dir = tempfile::tempdir().unwrap();
    let store_url = format!("sqlite://{}?mode=rwc", dir.path().join("people.db").display());
    let people = sea_orm::Database::connect(&store_url).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(&people, "CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT)")
        .await
        .unwrap();
    let (status, store) = app
        .post(
            "/v1/stores",
            Some(&callers.admin),
            json!({"name": "people", "kind": "sqlite", "connection": {"url": store_url}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{store}");
    let store = store["id"].as_str().unwrap().to_owned();
    let map = "version: 1\ntables:\n  - name: people\n    primary_key: [id]\n    columns: [{ name: email, identity: email }]\nrecipients:\n  - { name: Mailchimp, instructions: Delete the contact., tables: [people] }\n";
    let (status, saved) = app.put(&format!("/v1/stores/{store}/datamap"), &callers.admin, json!({"yaml": map})).await;
    assert_eq!(status, StatusCode::OK, "{saved}");

    // An erasure request in progress whose only open task is notifying the store's recipient.
    let erasure = app.verified(&org, "erasure", "gdpr", "recipient-subject@example.com").await;
    let (status, _) = app.post(&format!("/v1/requests/{}/approve", erasure.id), Some(&callers.admin), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let recipients_path = format!("/v1/requests/{}/recipients", erasure.id);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let recipient = loop {
        let (_, list) = app.get(&recipients_path, Some(&callers.admin)).await;
        if let Some(id) = list[0]["id"].as_str() {
            break id.to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "no recipient task: {list}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let recipient_path = |action: &str| format!("{recipients_path}/{recipient}/{action}");

    let (_, doomed_store) = app
        .post(
            "/v1/stores",
            Some(&callers.admin),
            json!({"name": "old", "kind": "manual", "instructions": "Nothing left."}),
        )
        .await;
    let doomed_store = doomed_store["id"].as_str().unwrap().to_owned();
    let fides = "dataset:\n  - fides_key: people\n    collections:\n      - name: people\n        fields:\n          - name: id\n            fides_meta: { primary_key: true }\n          - name: email\n            data_categories: [user.contact.email]\n            fides_meta: { identity: email }\n";
    let s = |action: &str| format!("/v1/stores/{store}/{action}");

    // Retention policies on a table of the same store: one to work on, one to delete.
    sea_orm::ConnectionTrait::execute_unprepared(&people, "CREATE TABLE visits (id INTEGER PRIMARY KEY, at TEXT)")
        .await
        .unwrap();
    let policy_body = |name: &str| {
        json!({"name": name, "store_id": store, "table": "visits", "age_column": "at", "max_age": "P30D",
               "action": {"type": "delete_row"}, "legal_basis": "Visits are kept 30 days"})
    };
    let (status, policy) = app.post("/v1/retention/policies", Some(&callers.admin), policy_body("visits")).await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    let policy = policy["id"].as_str().unwrap().to_owned();
    let (_, doomed_policy) = app.post("/v1/retention/policies", Some(&callers.admin), policy_body("doomed")).await;
    let doomed_policy = doomed_policy["id"].as_str().unwrap().to_owned();
    let p = |action: &str| format!("/v1/retention/policies/{policy}/{action}");
    let (_, stoppable) = app.post("/v1/retention/policies", Some(&callers.admin), policy_body("stoppable")).await;
    let stoppable = stoppable["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/retention/policies/{stoppable}/run");
    let (status, run) = app.post(&path, Some(&callers.admin), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let run = |action: &str| format!("/v1/retention/runs/{}/{action}", run["id"].as_str().unwrap());
    let hold_body =
        json!({"scope": "store", "store_id": store, "reason": "Matrix matter", "owner": "legal@example.com"});
    let (status, hold) = app.post("/v1/holds", Some(&callers.admin), hold_body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{hold}");
    let hold = hold["id"].as_str().unwrap().to_owned();

    // Webhook endpoints: one to work on (nothing listens at its port: its ping fails, and the
    // endpoint may be disabled while the matrix runs, which answers 409), one to delete.
    let hook_body = json!({"url": "http://127.0.0.1:9/hooks", "event_types": ["request.completed"]});
    let (status, hook) = app.post("/v1/webhooks", Some(&callers.admin), hook_body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let hook = hook["webhook"]["id"].as_str().unwrap().to_owned();
    let (status, ping) = app.post(&format!("/v1/webhooks/{hook}/test"), Some(&callers.admin), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{ping}");
    let ping = ping["delivery_id"].as_str().unwrap().to_owned();
    let (_, doomed_hook) = app.post("/v1/webhooks", Some(&callers.admin), hook_body.clone()).await;
    let (status, agent) = app.post("/v1/drp/agents", Some(&callers.admin), agent_body(&org)).await;
    assert_eq!(status, StatusCode::CREATED, "{agent}");
    let (_, doomed_agent) = app.post("/v1/drp/agents", Some(&callers.admin), agent_body(&org)).await;
    let (agent, doomed_agent) =
        (agent["id"].as_str().unwrap().to_owned(), doomed_agent["id"].as_str().unwrap().to_owned());
    let doomed_hook = doomed_hook["webhook"]["id"].as_str().unwrap().to_owned();
    let w = |action: &str| format!("/v1/webhooks/{hook}/{action}");

    let r = |action: &str| format!("/v1/requests/{}/{action}", req.id);
    // The whole matrix. Rows run in this order; the password change is last because it
    // revokes the access token of every caller it succeeds for.
    let matrix = [
        row(Method::GET, "/v1/requests", None, READ_REQUESTS),
        row(Method::GET, detail_path.clone(), None, READ_REQUESTS),
        // Every state named: a permitted caller's wait answers at once.
        row(Method::GET, r(&format!("wait?state={ANY_STATE}&timeout=1")), None, READ_REQUESTS),
        row(Method::POST, r("approve"), Some(json!({"reason": "identity confirmed"})), MANAGE_REQUESTS),
        row(
            Method::POST,
            r("deny"),
            Some(json!({"ground": "legal_exception", "detail": "Kept for tax law."})),
            MANAGE_REQUESTS,
        ),
        row(Method::POST, r("extend"), Some(json!({"reason": "Data spread over many systems."})), MANAGE_REQUESTS),
        row(Method::POST, r("retry"), Some(json!({"reason": "store is back"})), MANAGE_REQUESTS),
        row(Method::POST, r("hold"), Some(json!({"reason": "waiting for legal"})), MANAGE_REQUESTS),
        row(Method::POST, r("resume"), Some(json!({"reason": "legal answered"})), MANAGE_REQUESTS),
        // No `token` in the body: an operator cancel.
        row(Method::POST, r("cancel"), Some(json!({"reason": "duplicate request"})), MANAGE_REQUESTS),
        row(Method::GET, "/v1/ledger/entries", None, READ_LEDGER),
        row(Method::POST, "/v1/ledger/checkpoints", None, SIGN_CHECKPOINT),
        row(Method::GET, "/v1/ledger/checkpoints", None, READ_LEDGER),
        row(Method::GET, "/v1/ledger/checkpoints/latest", None, READ_LEDGER),
        row(Method::GET, "/v1/ledger/proofs/inclusion?entry=0", None, READ_LEDGER),
        row(Method::GET, "/v1/ledger/proofs/consistency?first=1&second=1", None, READ_LEDGER),
        row(
            Method::POST,
            "/v1/ledger/lookup",
            Some(json!({"identities": [{"kind": "email", "value": "matrix-subject@example.com"}]})),
            LOOKUP_LEDGER,
        ),
        row(Method::GET, "/v1/operators", None, ADMINS),
        row(
            Method::POST,
            "/v1/operators",
            Some(json!({"email": format!("new@{org}.test"), "role": "auditor"})),
            ADMINS,
        ),
        // Re-enabling an enabled account changes nothing (and revokes no token).
        row(Method::PATCH, format!("/v1/operators/{target}"), Some(json!({"disabled": false})), ADMINS),
        // The target has no second factor: past authorization, a 409 `mfa_not_enrolled`.
        row(Method::POST, format!("/v1/operators/{target}/mfa/reset"), Some(json!({"reason": "lost phone"})), ADMINS),
        row(Method::GET, "/v1/api-keys", None, ADMINS),
        row(Method::POST, "/v1/api-keys", Some(json!({"name": "matrix", "scopes": ["requests:read"]})), ADMINS),
        row(Method::DELETE, format!("/v1/api-keys/{doomed_key}"), None, ADMINS),
        row(Method::POST, format!("/v1/api-keys/{rotated_key}/regenerate"), None, ADMINS),
        row(Method::GET, "/v1/stores", None, READ_STORES),
        row(
            Method::POST,
            "/v1/stores",
            Some(json!({"name": "archive", "kind": "manual", "instructions": "Shred folder 3."})),
            ADMINS,
        ),
        row(Method::GET, format!("/v1/stores/{store}"), None, READ_STORES),
        row(Method::PUT, format!("/v1/stores/{store}"), Some(json!({"description": "people"})), ADMINS),
        row(Method::POST, s("test"), None, ADMINS),
        row(Method::POST, s("discover"), None, ADMINS),
        row(Method::PUT, s("datamap"), Some(json!({"yaml": map})), ADMINS),
        row(Method::POST, s("datamap/fides"), Some(json!({"yaml": fides})), ADMINS),
        row(
            Method::POST,
            s("preview"),
            Some(json!({"identities": [{"kind": "email", "value": "matrix-subject@example.com"}]})),
            PREVIEW_STORES,
        ),
        row(Method::DELETE, format!("/v1/stores/{doomed_store}"), None, ADMINS),
        row(Method::GET, "/v1/retention/policies", None, READ_RETENTION),
        row(Method::POST, "/v1/retention/policies", Some(policy_body("matrix")), ADMINS),
        row(Method::GET, format!("/v1/retention/policies/{policy}"), None, READ_RETENTION),
        row(Method::PUT, format!("/v1/retention/policies/{policy}"), Some(policy_body("visits")), ADMINS),
        row(Method::POST, p("preview"), None, RUN_RETENTION),
        row(Method::POST, p("run"), None, RUN_RETENTION),
        row(Method::GET, "/v1/retention/runs", None, READ_RETENTION),
        row(Method::POST, run("stop"), None, RUN_RETENTION),
        row(Method::POST, run("resume"), None, RUN_RETENTION),
        row(Method::DELETE, format!("/v1/retention/policies/{doomed_policy}"), None, ADMINS),
        row(Method::GET, "/v1/holds", None, READ_RETENTION),
        row(Method::POST, "/v1/holds", Some(hold_body.clone()), ADMINS),
        row(Method::POST, format!("/v1/holds/{hold}/release"), Some(json!({"reason": "closed"})), ADMINS),
        row(Method::GET, r("tasks"), None, READ_REQUESTS),
        row(Method::POST, r("locate"), None, MANAGE_REQUESTS),
        row(Method::GET, recipients_path.clone(), None, READ_REQUESTS),
        // The first permitted caller notifies; the request completes, and every later call
        // (and the waiver) is a 409.
        row(
            Method::POST,
            recipient_path("complete"),
            Some(json!({"reason": "Told them by their form."})),
            MANAGE_REQUESTS,
        ),
        row(Method::POST, recipient_path("waive"), Some(json!({"reason": "Never disclosed to them."})), ADMINS),
        // Trusted intake: admins and keys with `requests:submit` (none in the matrix).
        row(
            Method::POST,
            "/v1/requests/attested",
            Some(
                json!({"kind": "access", "regime": "gdpr", "email": "attested@example.com", "attestation": "signed in"}),
            ),
            ADMINS,
        ),
        row(Method::GET, "/v1/webhooks", None, READ_WEBHOOKS),
        row(Method::POST, "/v1/webhooks", Some(hook_body.clone()), ADMINS),
        row(Method::GET, format!("/v1/webhooks/{hook}"), None, READ_WEBHOOKS),
        row(Method::PATCH, format!("/v1/webhooks/{hook}"), Some(json!({"description": "matrix"})), ADMINS),
        row(Method::POST, w("rotate-secret"), Some(json!({"overlap_hours": 1})), ADMINS),
        row(Method::POST, w("test"), None, ADMINS),
        row(Method::GET, w("deliveries"), None, READ_WEBHOOKS),
        row(Method::POST, w(&format!("deliveries/{ping}/redeliver")), None, ADMINS),
        row(Method::DELETE, format!("/v1/webhooks/{doomed_hook}"), None, ADMINS),
        row(Method::GET, "/v1/reports/metrics", None, READ_REPORTS),
        row(Method::GET, "/v1/drp/agents", None, ADMINS),
        row(Method::POST, "/v1/drp/agents", Some(agent_body(&org)), ADMINS),
        row(Method::PATCH, format!("/v1/drp/agents/{agent}"), Some(json!({"name": "matrix"})), ADMINS),
        row(Method::DELETE, format!("/v1/drp/agents/{doomed_agent}"), None, ADMINS),
        row(Method::GET, "/v1/reports/metrics?format=csv", None, READ_REPORTS),
        row(Method::GET, "/v1/organization", None, SIGNED_IN),
        row(Method::PATCH, "/v1/organization", Some(json!({"auto_approve": false})), ADMINS),
        row(
            Method::POST,
            "/v1/auth/password",
            Some(json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD})),
            SIGNED_IN,
        ),
    ];

    let mut failures = Vec::new();
    for row in &matrix {
        for caller in EVERY_CALLER {
            let (status, body) =
                call(&app, row.method.clone(), &row.path, callers.bearer(caller), row.body.as_ref()).await;
            failures.extend(mismatch(row, caller, status, &body));
        }
    }
    assert!(failures.is_empty(), "{} authorization mismatches:\n{}", failures.len(), failures.join("\n"));

    // Every signed-in caller really changed its password in the last row...
    for email in [format!("admin@{org}.test"), format!("operator@{org}.test"), format!("auditor@{org}.test")] {
        let (status, problem) = app.post("/v1/auth/login", None, json!({"email": email, "password": PASSWORD})).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_credentials")),
            "{email}"
        );
    }
    let admin = app.login(&format!("admin@{org}.test"), NEW_PASSWORD).await;
    // The permitted notification settled the erasure's last open task.
    app.wait_for_state(&erasure.id, &admin, "completed").await;

    // ...and the refused calls left nothing behind: one operator and one key were created, by
    // the admin; the target kept its role.
    let (status, operators) = app.get("/v1/operators", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    let mut emails: Vec<&str> = operators.as_array().unwrap().iter().map(|o| o["email"].as_str().unwrap()).collect();
    emails.sort_unstable();
    let expected = [
        format!("admin@{org}.test"),
        format!("auditor@{org}.test"),
        format!("new@{org}.test"),
        format!("operator@{org}.test"),
        format!("target@{org}.test"),
    ];
    assert_eq!(emails, expected.iter().map(String::as_str).collect::<Vec<_>>());
    let target_view = operators.as_array().unwrap().iter().find(|o| o["id"] == target.as_str()).unwrap();
    assert_eq!((target_view["role"].as_str(), target_view["disabled"].as_bool()), (Some("operator"), Some(false)));
    let (status, keys) = app.get("/v1/api-keys", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = keys.as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["reader", "writer", "to-revoke", "to-regenerate", "matrix"]);
    let revoked: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| !k["revoked_at"].is_null())
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(revoked, ["to-revoke"], "only the admin's DELETE revoked a key");

    // Only permitted callers appear as actors in the request's timeline.
    let id_of = |email: String| {
        operators.as_array().unwrap().iter().find(|o| o["email"] == email.as_str()).unwrap()["id"].clone()
    };
    let permitted = [id_of(format!("admin@{org}.test")), id_of(format!("operator@{org}.test")), json!(key_write_id)];
    let refused = [id_of(format!("auditor@{org}.test")), json!(key_read_id)];
    let (status, detail) = app.get(&detail_path, Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&Value> =
        detail["timeline"].as_array().unwrap().iter().filter(|e| !e["actor_id"].is_null()).collect();
    assert!(!actions.is_empty(), "the permitted callers acted on the request: {detail}");
    for event in actions {
        assert!(permitted.contains(&event["actor_id"]), "{event}");
        assert!(!refused.contains(&event["actor_id"]), "{event}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_is_checked_before_the_body_is_judged() {
    // A caller who may not act learns nothing about what a valid body would be.
    let app = lethe_tests::spawn_app(lethe_tests::Backend::Sqlite).await;
    let org = lethe_tests::app::org_slug();
    app.admin(&org).await;
    let auditor = app.operator_in(&org, "aud@example.com", lethe_entities::domain::enums::Role::Auditor).await;
    let req = app.verified(&org, "erasure", "gdpr", "vic@example.com").await;
    for (action, body) in [
        ("deny", serde_json::json!({"ground": "other"})),
        ("hold", serde_json::json!({"reason": ""})),
        ("extend", serde_json::json!({"reason": ""})),
        ("cancel", serde_json::json!({})),
        ("approve", serde_json::json!({"reason": "x".repeat(5000)})),
    ] {
        let (status, problem) = app.post(&format!("/v1/requests/{}/{action}", req.id), Some(&auditor), body).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{action}");
    }
}
