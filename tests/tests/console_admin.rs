//! The console's stores, retention, legal holds, ledger and settings pages over HTTP: each role
//! on each page, another organization's ids (404), auditors read-only (no forms, POSTs
//! refused), forged CSRF tokens refused; registering a store (its secret never shown again),
//! testing, discovery, the review beside the live schema and the YAML editor's inline errors;
//! invalid store and hold forms answered with their errors next to their fields, the input kept
//! and no credential echoed; dry runs, runs, holds placed and released; verifying, exporting and looking up the ledger;
//! operators, API keys and organization defaults; every action in the audit log.

use lethe_entities::domain::enums::Role;
use lethe_tests::app::org_slug;
use lethe_tests::console::{Console, between, sqlite_shop};
use lethe_tests::{both_backends, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The id of the first built-in retention policy of the caller's organization.
async fn builtin_policy(app: &lethe_tests::TestApp, token: &str) -> String {
    let (status, policies) = app.get("/v1/retention/policies", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{policies}");
    let first = policies.as_array().unwrap().iter().find(|p| !p["builtin"].is_null()).expect("built-in policies");
    first["id"].as_str().unwrap().to_owned()
}

async fn created(app: &lethe_tests::TestApp, path: &str, token: &str, body: Value) -> String {
    let (status, body) = app.post(path, Some(token), body).await;
    assert!(status.is_success(), "{path}: {status} {body}");
    body["id"]
        .as_str()
        .or_else(|| body["key"]["id"].as_str())
        .or_else(|| body["operator"]["id"].as_str())
        .unwrap()
        .to_owned()
}

both_backends! {
    async fn new_pages_check_role_and_organization(backend: Backend) {
        let app = spawn_app(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let (org, other) = (org_slug(), org_slug());
        let emails = [Role::Admin, Role::Operator, Role::Auditor].map(|role| (role, format!("{role:?}@{org}.test").to_lowercase()));
        let mut admin_token = String::new();
        for (role, email) in &emails {
            let token = app.operator_in(&org, email, *role).await;
            if *role == Role::Admin {
                admin_token = token;
            }
        }
        let url = sqlite_shop(dir.path()).await;
        let mine = created(&app, "/v1/stores", &admin_token, json!({"name": "shop", "kind": "sqlite", "connection": {"url": url}})).await;
        let stranger = format!("admin@{other}.test");
        let theirs_token = app.operator_in(&other, &stranger, Role::Admin).await;
        let theirs = created(&app, "/v1/stores", &theirs_token, json!({"name": "paper", "kind": "manual", "instructions": "Shred it."})).await;
        let their_hold = created(&app, "/v1/holds", &theirs_token, json!({"scope": "organization", "reason": "Audit", "owner": "legal@other.test"})).await;
        let their_policy = builtin_policy(&app, &theirs_token).await;
        let their_key = created(&app, "/v1/api-keys", &theirs_token, json!({"name": "sync", "scopes": ["requests:read"]})).await;
        let their_operator = created(&app, "/v1/operators", &theirs_token, json!({"email": format!("op@{other}.test"), "role": "operator"})).await;
        let my_policy = builtin_policy(&app, &admin_token).await;

        for (role, email) in &emails {
            let c = Console::signed_in(&app.base, email).await;
            for page in ["/console/stores", &format!("/console/stores/{mine}"), &format!("/console/stores/{mine}/datamap"), "/console/retention", "/console/retention/holds", "/console/ledger"] {
                let got = c.get(page).await;
                assert_eq!(got.status, StatusCode::OK, "{role:?} {page}: {}", got.body);
                assert!(got.body.contains("href=\"/console/stores\"") && got.body.contains("href=\"/console/ledger\""), "navigation on {page}");
                assert_eq!(got.body.contains("href=\"/console/settings\""), *role == Role::Admin, "{role:?}: settings in the menu");
            }
            for page in [format!("/console/stores/{theirs}"), format!("/console/stores/{theirs}/datamap")] {
                let got = c.get(&page).await;
                assert_eq!(got.status, StatusCode::NOT_FOUND, "{role:?} {page}");
                assert!(got.body.contains("store_not_found"));
            }
            let settings = c.get("/console/settings").await.status;
            assert_eq!(settings, if *role == Role::Admin { StatusCode::OK } else { StatusCode::FORBIDDEN }, "{role:?} settings");
            let csrf = c.csrf().await;
            let store_page = c.get(&format!("/console/stores/{mine}")).await.body;
            let retention = c.get("/console/retention").await.body;
            let holds = c.get("/console/retention/holds").await.body;
            let ledger = c.get("/console/ledger").await.body;
            let post = |path: String, fields: Vec<(&'static str, String)>| {
                let c = &c;
                let csrf = csrf.clone();
                async move {
                    let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf)];
                    form.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
                    c.post(&path, &form).await
                }
            };
            let lookup = post("/console/ledger/lookup".into(), vec![("kind", "email".into()), ("value", "ann@example.com".into())]).await;
            let hold_fields = || vec![("scope", "organization".to_owned()), ("reason", "Audit".to_owned()), ("owner", "legal@example.com".to_owned())];
            match role {
                Role::Auditor => {
                    assert!(!store_page.contains("/test\"") && !store_page.contains("id=\"save-map\""), "no store forms for auditors");
                    assert!(!retention.contains("/run\"") && !holds.contains("id=\"place-hold\""), "no retention or hold forms");
                    assert!(ledger.contains("id=\"lookup\""), "auditors look subjects up");
                    assert_eq!(lookup.status, StatusCode::OK, "{}", lookup.body);
                    for (path, fields) in [
                        (format!("/console/stores/{mine}/test"), vec![]),
                        (format!("/console/stores/{mine}/discover"), vec![]),
                        (format!("/console/stores/{mine}/datamap"), vec![("yaml", "version: 1\n".to_owned())]),
                        (format!("/console/retention/policies/{my_policy}/run"), vec![]),
                        (format!("/console/retention/policies/{my_policy}/preview"), vec![]),
                        ("/console/retention/holds".to_owned(), hold_fields()),
                        ("/console/stores".to_owned(), vec![("name", "crm".to_owned()), ("kind", "manual".to_owned()), ("instructions", "x".to_owned())]),
                        ("/console/settings/privacy".to_owned(), vec![("controller", "Acme AB".to_owned())]),
                    ] {
                        let refused = post(path.clone(), fields).await;
                        assert_eq!(refused.status, StatusCode::FORBIDDEN, "auditors are read-only: {path}: {}", refused.body);
                    }
                }
                Role::Operator => {
                    assert!(!store_page.contains("/test\""), "stores are admins' work");
                    assert!(retention.contains(&format!("/console/retention/policies/{my_policy}/run\"")), "operators run retention");
                    assert!(!ledger.contains("id=\"lookup\""));
                    assert_eq!(lookup.status, StatusCode::FORBIDDEN, "operators do not look subjects up");
                    let foreign = post(format!("/console/retention/policies/{their_policy}/preview"), vec![]).await;
                    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{}", foreign.body);
                    assert_eq!(post(format!("/console/stores/{mine}/test"), vec![]).await.status, StatusCode::FORBIDDEN);
                    assert_eq!(post("/console/settings/organization".into(), vec![]).await.status, StatusCode::FORBIDDEN);
                    assert_eq!(post("/console/settings/privacy".into(), vec![]).await.status, StatusCode::FORBIDDEN);
                }
                Role::Admin => {
                    assert!(store_page.contains("/test\"") && holds.contains("id=\"place-hold\""));
                    assert_eq!(lookup.status, StatusCode::OK);
                    for (path, fields) in [
                        (format!("/console/stores/{theirs}/test"), vec![]),
                        (format!("/console/stores/{theirs}/discover"), vec![]),
                        (format!("/console/stores/{theirs}/datamap"), vec![("yaml", "version: 1\n".to_owned())]),
                        (format!("/console/retention/policies/{their_policy}/run"), vec![]),
                        (format!("/console/retention/holds/{their_hold}/release"), vec![("reason", "x".to_owned())]),
                        (format!("/console/settings/operators/{their_operator}"), vec![("role", "auditor".to_owned())]),
                        (format!("/console/settings/api-keys/{their_key}/revoke"), vec![]),
                        (format!("/console/settings/api-keys/{their_key}/regenerate"), vec![]),
                        (format!("/console/settings/retention/{their_policy}"), vec![("max_age", "P60D".to_owned())]),
                    ] {
                        let foreign = post(path.clone(), fields).await;
                        assert_eq!(foreign.status, StatusCode::NOT_FOUND, "another organization's id: {path}: {}", foreign.body);
                    }
                    // A form with a token of another session is refused before anything.
                    let other_session = Console::signed_in(&app.base, email).await;
                    let forged = other_session.csrf().await;
                    for path in [format!("/console/stores/{mine}/test"), "/console/ledger/verify".to_owned(), "/console/settings/organization".to_owned(), "/console/settings/privacy".to_owned(), "/console/retention/holds".to_owned()] {
                        let refused = c.post(&path, &[("csrf", &forged), ("scope", "organization"), ("reason", "x"), ("owner", "a@b.test")]).await;
                        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
                        assert!(refused.body.contains("csrf_failed"), "{path}");
                    }
                }
            }
        }
        // The other organization's hold is untouched.
        let (_, holds) = app.get("/v1/holds", Some(&theirs_token)).await;
        assert_eq!(holds[0]["active"], true);
    }

    async fn stores_are_registered_discovered_and_mapped(backend: Backend) {
        let app = spawn_app(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let org = org_slug();
        let email = format!("dpo@{org}.test");
        app.operator_in(&org, &email, Role::Admin).await;
        let c = Console::signed_in(&app.base, &email).await;
        let csrf = c.csrf().await;

        // A connection secret goes in once and never comes back.
        let pg = c.post("/console/stores", &[("csrf", &csrf), ("name", "legacy"), ("kind", "postgres"), ("url", "postgres://lethe:s3cret-pw@127.0.0.1:5432/lethe_no_such_db")]).await;
        assert_eq!(pg.status, StatusCode::SEE_OTHER, "{}", pg.body);
        let legacy = c.get(pg.location().unwrap()).await;
        assert!(legacy.body.contains("Registered.") && !legacy.body.contains("s3cret-pw"), "{}", legacy.body);
        let tested = c.post(&format!("{}/test", pg.location().unwrap().split('?').next().unwrap()), &[("csrf", &csrf)]).await;
        assert_eq!(tested.status, StatusCode::SEE_OTHER);
        let list = c.get("/console/stores").await;
        assert!(list.body.contains("legacy") && list.body.contains(">failed<") && list.body.contains("store_"), "{}", list.body);
        assert!(!list.body.contains("s3cret-pw"));
        let bad = c.post("/console/stores", &[("csrf", &csrf), ("name", "Bad Name"), ("kind", "sqlite"), ("url", "sqlite:///tmp/x.db")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.field_error("store-name").is_some(), "{}", bad.body);

        // A SQLite store: test, discover, review beside the live schema, save.
        let url = sqlite_shop(dir.path()).await;
        let shop = c.post("/console/stores", &[("csrf", &csrf), ("name", "shop"), ("kind", "sqlite"), ("url", &url)]).await;
        let path = shop.location().unwrap().split('?').next().unwrap().to_owned();
        assert_eq!(c.post(&format!("{path}/test"), &[("csrf", &csrf)]).await.status, StatusCode::SEE_OTHER);
        assert!(c.get(&path).await.body.contains("passed"));
        let found = c.post(&format!("{path}/discover"), &[("csrf", &csrf)]).await;
        assert_eq!(found.location(), Some(format!("{path}?done=discovered#review").as_str()), "{}", found.body);
        let review = c.get(&path).await;
        assert!(review.body.contains("discovery&#39;s proposal") || review.body.contains("discovery's proposal"), "{}", review.body);
        assert!(review.body.contains("Live schema") && review.body.contains("<code>integer</code>"), "the live schema's types");
        assert!(review.body.contains("value=\"email\" selected"), "discovery found the e-mail identity");
        let form = [
            ("csrf", csrf.as_str()),
            // Orders refer to customers and are left out, so the customers' rows are kept with
            // their personal columns erased (delete_row would be refused: the database would).
            ("t0", "customers"), ("t0.include", "on"), ("t0.pk", "id"), ("t0.erasure", "update"),
            ("t0.c0", "id"),
            ("t0.c1", "email"), ("t0.c1.category", "user.contact.email"), ("t0.c1.identity", "email"), ("t0.c1.action", "redact"),
            ("t0.c2", "full_name"), ("t0.c2.category", "user.name"),
            ("t1", "orders"),
        ];
        let saved = c.post(&format!("{path}/review"), &form).await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
        assert!(saved.body.contains("Data map version 1 saved."), "{}", saved.body);
        assert!(saved.body.contains("id=\"t0-include\" checked") && !saved.body.contains("id=\"t1-include\" checked"), "orders left out");
        let mut wrong = form.to_vec();
        wrong.push(("t0.c2.action", "shred"));
        assert_eq!(c.post(&format!("{path}/review"), &wrong).await.status, StatusCode::UNPROCESSABLE_ENTITY);

        // The YAML editor: the saved map, errors inline with path, line and column.
        let editor = c.get(&format!("{path}/datamap")).await;
        assert!(editor.body.contains("customers") && editor.body.contains("user.contact.email"), "{}", editor.body);
        let typo = "version: 1\ntables:\n  - name: customers\n    primary_key: [id]\n    columns:\n      - name: emial\n        identity: email\n";
        let refused = c.post(&format!("{path}/datamap"), &[("csrf", &csrf), ("yaml", typo)]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("id=\"map-errors\"") && refused.body.contains("emial"), "{}", refused.body);
        assert!(refused.body.contains("<code>tables[0].columns[0]"), "the field path: {}", refused.body);
        assert!(refused.body.contains("name: emial"), "the text stays in the editor");
        let wrong_type = "version: 1\ntables:\n  - name: customers\n    primary_key: [id]\n    columns:\n      - name: email\n        action: shred\n";
        let typed = c.post(&format!("{path}/datamap"), &[("csrf", &csrf), ("yaml", wrong_type)]).await;
        assert_eq!(typed.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(typed.body.contains("<td>7</td>"), "the line of the bad value: {}", typed.body);
        let good = "version: 1\ntables:\n  - name: customers\n    primary_key: [id]\n    columns:\n      - name: email\n        category: user.contact.email\n        identity: email\n        action: redact\n    erasure:\n      action: update\n";
        let second = c.post(&format!("{path}/datamap"), &[("csrf", &csrf), ("yaml", good)]).await;
        assert_eq!(second.status, StatusCode::OK, "{}", second.body);
        assert!(second.body.contains("Data map version 2 saved."));

        let audit = c.get("/console/audit").await.body;
        for what in ["store registered", "store tested", "store discovered", "data map saved"] {
            assert!(audit.contains(what), "{what} in the audit log");
        }
        assert!(!audit.contains("s3cret-pw"));
    }

    async fn invalid_forms_come_back_with_their_errors_inline(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let email = format!("dpo@{org}.test");
        let admin = app.operator_in(&org, &email, Role::Admin).await;
        let c = Console::signed_in(&app.base, &email).await;
        let csrf = c.csrf().await;
        let send = |path: &'static str, fields: &[(&'static str, &'static str)]| {
            let mut form = vec![("csrf", csrf.as_str())];
            form.extend_from_slice(fields);
            let c = &c;
            async move { c.post(path, &form).await }
        };
        let register = |fields| send("/console/stores", fields);

        // A bad name: its error next to it; the rest kept, the connection URL (credentials) not.
        let bad = register(&[("name", "Legacy CRM"), ("kind", "postgres"), ("description", "The old CRM <2019>"), ("url", "postgres://lethe:s3cret-pw@127.0.0.1:5432/crm")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
        assert!(bad.field_error("store-name").unwrap().contains("lower-case letters"), "{}", bad.body);
        assert!(bad.body.contains("id=\"error-summary\"") && bad.body.contains("<a href=\"#store-name\">Name: 1 to 64 characters"));
        assert!(bad.tag("store-name").unwrap().contains("value=\"Legacy CRM\""));
        assert!(bad.tag("store-description").unwrap().contains("value=\"The old CRM &#60;2019&#62;\""), "kept and escaped");
        assert!(bad.body.contains("<option value=\"postgres\" selected>"), "the kind kept");
        assert!(!bad.tag("store-url").unwrap().contains("value="), "the URL is not echoed");
        assert!(!bad.body.contains("s3cret-pw"), "no credential in the page");
        assert_eq!(bad.field_error("store-url"), None, "only the invalid field is marked");
        assert!(bad.body.contains("id=\"stores\""), "the same page: the list of stores");

        // An HTTP service: a wrong scheme and a short secret, each next to its field; the base
        // URL kept, the secret not; a base URL with credentials is not kept either.
        let http = register(&[("name", "billing"), ("kind", "http"), ("base_url", "ftp://billing.internal/lethe"), ("signing_secret", "tooshort-pw")]).await;
        assert_eq!(http.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(http.field_error("store-base-url").unwrap().contains("http:// or https://"), "{}", http.body);
        assert!(http.field_error("store-secret").unwrap().contains("at least 16 characters"));
        assert!(http.tag("store-base-url").unwrap().contains("value=\"ftp://billing.internal/lethe\""));
        assert!(!http.body.contains("tooshort-pw"));
        let with_user = register(&[("name", "billing"), ("kind", "http"), ("base_url", "https://svc:pa55word@billing.internal/"), ("signing_secret", "short")]).await;
        assert_eq!(with_user.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(with_user.field_error("store-secret").is_some() && !with_user.body.contains("pa55word"), "{}", with_user.body);

        // A kind that is not listed, a manual store without instructions, a name taken.
        let kind = register(&[("name", "oracle"), ("kind", "oracle")]).await;
        assert_eq!(kind.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(kind.field_error("store-kind").unwrap().contains("listed kinds"));
        let manual = register(&[("name", "paper"), ("kind", "manual"), ("instructions", " ")]).await;
        assert!(manual.field_error("store-instructions").unwrap().contains("need instructions"), "{}", manual.body);
        assert_eq!(register(&[("name", "paper"), ("kind", "manual"), ("instructions", "Shred it.")]).await.status, StatusCode::SEE_OTHER);
        let taken = register(&[("name", "paper"), ("kind", "manual"), ("instructions", "Again.")]).await;
        assert_eq!(taken.status, StatusCode::CONFLICT);
        assert!(taken.field_error("store-name").unwrap().contains("has this name"));
        assert!(taken.body.contains(">Again.</textarea>"), "the instructions kept");
        let (_, stores) = app.get("/v1/stores", Some(&admin)).await;
        assert_eq!(stores.as_array().unwrap().len(), 1, "only the valid store: {stores}");

        // The hold form: the identity and the owner wrong, the expiry no date; the rest kept.
        let hold = |fields| send("/console/retention/holds", fields);
        let wrong = hold(&[("scope", "subject"), ("identity_kind", "email"), ("identity_value", "zed at example"), ("reason", "Litigation: Zed v. Shop"), ("owner", "legal"), ("matter", "CASE-9"), ("expires", "2099-02-01")]).await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.body);
        assert!(wrong.field_error("hold-owner").unwrap().contains("e-mail address"), "{}", wrong.body);
        assert!(wrong.field_error("hold-value").is_some());
        assert!(wrong.body.contains(">Litigation: Zed v. Shop</textarea>"), "the reason kept");
        assert!(wrong.tag("hold-matter").unwrap().contains("value=\"CASE-9\""));
        assert!(wrong.tag("hold-expires").unwrap().contains("value=\"2099-02-01\""));
        assert!(wrong.body.contains("<option value=\"subject\" selected>"), "the scope kept");
        assert!(wrong.body.contains("id=\"holds\""), "the same page: the list of holds");
        let undated = hold(&[("scope", "organization"), ("reason", "Audit"), ("owner", "legal@shop.test"), ("expires", "1 March")]).await;
        assert_eq!(undated.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(undated.field_error("hold-expires").unwrap().contains("a date like"));
        let blank = hold(&[("scope", "store"), ("reason", " "), ("owner", "legal@shop.test")]).await;
        assert!(blank.field_error("hold-store").unwrap().contains("Choose the store"), "{}", blank.body);
        let past = hold(&[("scope", "organization"), ("reason", "Audit"), ("owner", "legal@shop.test"), ("expires", "2001-01-01")]).await;
        assert!(past.field_error("hold-expires").unwrap().contains("in the future"), "{}", past.body);

        // The request page's hold form: its errors at the top and next to its fields, open.
        let req = app.verified(&org, "erasure", "gdpr", "cid@example.com").await;
        let path = format!("/console/requests/{}/legal-hold", req.id);
        let on_request = c.post(&path, &[("csrf", &csrf), ("reason", ""), ("owner", "nobody"), ("matter", "CASE-10")]).await;
        assert_eq!(on_request.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", on_request.body);
        assert!(on_request.field_error("lh-reason").is_some() && on_request.field_error("lh-owner").is_some(), "{}", on_request.body);
        assert!(on_request.tag("lh-matter").unwrap().contains("value=\"CASE-10\""));
        assert!(on_request.body.contains("<details class=\"card\" id=\"legal-hold\" open>"));
        assert_eq!(on_request.text_of("state").as_deref(), Some("pending_approval"), "the request page");
        let (_, holds) = app.get("/v1/holds", Some(&admin)).await;
        assert_eq!(holds, json!([]), "no hold was placed");
    }

    async fn retention_holds_ledger_and_settings(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let email = format!("dpo@{org}.test");
        let admin = app.operator_in(&org, &email, Role::Admin).await;
        let auditor = format!("auditor@{org}.test");
        app.operator_in(&org, &auditor, Role::Auditor).await;
        let c = Console::signed_in(&app.base, &email).await;
        let csrf = c.csrf().await;

        // Retention: the built-in policies, a dry run, a run now.
        let policy = builtin_policy(&app, &admin).await;
        let retention = c.get("/console/retention").await;
        assert!(retention.body.contains("built in") && retention.body.contains("Next run"), "{}", retention.body);
        let dry = c.post(&format!("/console/retention/policies/{policy}/preview"), &[("csrf", &csrf)]).await;
        assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
        assert!(dry.body.contains("Nothing was changed.") && dry.body.contains("id=\"preview-rows\">0<"));
        let run = c.post(&format!("/console/retention/policies/{policy}/run"), &[("csrf", &csrf)]).await;
        assert_eq!(run.location(), Some("/console/retention?done=run"), "{}", run.body);
        let (_, runs) = app.get("/v1/retention/runs", Some(&admin)).await;
        let run_id = runs[0]["id"].as_str().unwrap().to_owned();
        let stop = c.post(&format!("/console/retention/runs/{run_id}/stop"), &[("csrf", &csrf)]).await;
        match stop.status {
            StatusCode::SEE_OTHER => {
                let resumed = c.post(&format!("/console/retention/runs/{run_id}/resume"), &[("csrf", &csrf)]).await;
                assert!(matches!(resumed.status, StatusCode::SEE_OTHER | StatusCode::CONFLICT), "{}", resumed.body);
            }
            // The worker finished the (empty) run first.
            StatusCode::CONFLICT => assert!(stop.body.contains("run_finished"), "{}", stop.body),
            other => panic!("stop: {other} {}", stop.body),
        }
        let not_stopped = c.post(&format!("/console/retention/runs/{}/resume", uuid::Uuid::now_v7()), &[("csrf", &csrf)]).await;
        assert_eq!(not_stopped.status, StatusCode::NOT_FOUND);

        // Holds: a subject by e-mail (never shown again), released with a reason; and a hold
        // on a request's identities from the request page.
        let placed = c.post("/console/retention/holds", &[("csrf", &csrf), ("scope", "subject"), ("identity_kind", "email"), ("identity_value", "Ann@Example.com"), ("reason", "Litigation"), ("owner", "legal@shop.test"), ("matter", "CASE-7"), ("expires", "2099-01-31")]).await;
        assert_eq!(placed.location(), Some("/console/retention/holds?done=placed"), "{}", placed.body);
        let page = c.get("/console/retention/holds").await;
        assert!(page.body.contains("a person, by email") && page.body.contains("CASE-7") && page.body.contains("2099-01-31"));
        assert!(!page.body.to_lowercase().contains("ann@example.com"), "the held identity is not shown");
        let hold = between(&page.body, "action=\"/console/retention/holds/", "/release\"").unwrap();
        let no_reason = c.post(&format!("/console/retention/holds/{hold}/release"), &[("csrf", &csrf), ("reason", " ")]).await;
        assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
        let error = no_reason.field_error(&format!("release-{hold}")).expect("the error next to the reason");
        assert!(error.contains("a reason is required"), "{error}");
        assert!(no_reason.body.contains("<details open><summary>Release</summary>"), "its form is open");
        let released = c.post(&format!("/console/retention/holds/{hold}/release"), &[("csrf", &csrf), ("reason", "Settled")]).await;
        assert_eq!(released.location(), Some("/console/retention/holds?done=released"));
        assert!(c.get("/console/retention/holds").await.body.contains("Settled"));
        let again = c.post(&format!("/console/retention/holds/{hold}/release"), &[("csrf", &csrf), ("reason", "Twice")]).await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        let req = app.verified(&org, "erasure", "gdpr", "cid@example.com").await;
        let on_request = c.post(&format!("/console/requests/{}/legal-hold", req.id), &[("csrf", &csrf), ("reason", "Dispute"), ("owner", "legal@shop.test")]).await;
        assert_eq!(on_request.location(), Some(format!("/console/requests/{}?done=legal-hold", req.id).as_str()), "{}", on_request.body);
        let (_, holds) = app.get("/v1/holds?active=true", Some(&admin)).await;
        assert_eq!(holds.as_array().unwrap().len(), 1, "{holds}");
        assert_eq!(holds[0]["identity_kind"], "email");

        // The ledger: verify now, the export, a subject's entries (the auditor).
        let verified = c.post("/console/ledger/verify", &[("csrf", &csrf)]).await;
        assert_eq!(verified.status, StatusCode::OK);
        assert!(verified.body.contains("class=\"notice result ok\"") && verified.body.contains("OK: "), "{}", verified.body);
        let export = c.post("/console/ledger/export", &[("csrf", &csrf)]).await;
        assert_eq!(export.headers["content-type"], "application/x-ndjson");
        assert!(export.headers["content-disposition"].to_str().unwrap().starts_with("attachment;"));
        assert!(export.body.lines().count() >= 5, "a header, three hold entries, a checkpoint: {}", export.body);
        assert!(!export.body.to_lowercase().contains("ann@example.com"));
        let a = Console::signed_in(&app.base, &auditor).await;
        let acsrf = a.csrf().await;
        let entries = a.post("/console/ledger/lookup", &[("csrf", &acsrf), ("kind", "email"), ("value", "ANN@example.com")]).await;
        assert_eq!(entries.status, StatusCode::OK);
        assert!(entries.body.contains("2 entries") && entries.body.contains("hold_placed") && entries.body.contains("hold_released"), "{}", entries.body);
        let nobody = a.post("/console/ledger/lookup", &[("csrf", &acsrf), ("kind", "email"), ("value", "zed@example.com")]).await;
        assert!(nobody.body.contains("0 entries"));

        // Settings: an operator (one-time password shown once), a role change, removal; the
        // last admin stays.
        let new_op = c.post("/console/settings/operators", &[("csrf", &csrf), ("email", &format!("new@{org}.test")), ("role", "operator")]).await;
        assert_eq!(new_op.status, StatusCode::OK);
        let password = new_op.text_of("secret").unwrap();
        assert!(password.len() >= 12, "{}", new_op.body);
        let settings = c.get("/console/settings").await;
        assert!(settings.body.contains(&format!("new@{org}.test")) && !settings.body.contains(&password), "the password is not shown again");
        let (_, ops) = app.get("/v1/operators", Some(&admin)).await;
        let id_of = |address: &str| ops.as_array().unwrap().iter().find(|o| o["email"] == address).unwrap()["id"].as_str().unwrap().to_owned();
        let new_id = id_of(&format!("new@{org}.test"));
        let changed = c.post(&format!("/console/settings/operators/{new_id}"), &[("csrf", &csrf), ("role", "auditor")]).await;
        assert_eq!(changed.location(), Some("/console/settings?done=operator"));
        let removed = c.post(&format!("/console/settings/operators/{new_id}"), &[("csrf", &csrf), ("disabled", "true")]).await;
        assert_eq!(removed.status, StatusCode::SEE_OTHER);
        let (_, ops) = app.get("/v1/operators", Some(&admin)).await;
        let new = ops.as_array().unwrap().iter().find(|o| o["id"] == new_id.as_str()).unwrap();
        assert_eq!((new["role"].as_str(), new["disabled"].as_bool()), (Some("auditor"), Some(true)));
        let me = id_of(&email);
        let last = c.post(&format!("/console/settings/operators/{me}"), &[("csrf", &csrf), ("role", "operator")]).await;
        assert_eq!(last.status, StatusCode::CONFLICT);
        assert!(last.body.contains("last_admin"));

        // API keys: the secret once; regenerating ends the old one; revoking ends the key.
        let key = c.post("/console/settings/api-keys", &[("csrf", &csrf), ("name", "crm-sync"), ("scope", "requests:read"), ("scope", "ledger:read")]).await;
        assert_eq!(key.status, StatusCode::OK, "{}", key.body);
        let secret = key.text_of("secret").unwrap();
        assert!(secret.starts_with("lethe_") && key.body.contains("ledger:read"));
        assert_eq!(app.get("/v1/requests", Some(&secret)).await.0, StatusCode::OK);
        let key_id = between(&c.get("/console/settings").await.body, "action=\"/console/settings/api-keys/", "/regenerate\"").unwrap();
        let fresh = c.post(&format!("/console/settings/api-keys/{key_id}/regenerate"), &[("csrf", &csrf)]).await;
        let new_secret = fresh.text_of("secret").unwrap();
        assert_ne!(new_secret, secret);
        assert_eq!(app.get("/v1/requests", Some(&secret)).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(app.get("/v1/requests", Some(&new_secret)).await.0, StatusCode::OK);
        let revoked = c.post(&format!("/console/settings/api-keys/{key_id}/revoke"), &[("csrf", &csrf)]).await;
        assert_eq!(revoked.location(), Some("/console/settings?done=revoked"));
        assert_eq!(app.get("/v1/requests", Some(&new_secret)).await.0, StatusCode::UNAUTHORIZED);
        let settings = c.get("/console/settings").await.body;
        assert!(!settings.contains(&new_secret) && settings.contains("revoked"));
        let no_scope = c.post("/console/settings/api-keys", &[("csrf", &csrf), ("name", "empty")]).await;
        assert_eq!(no_scope.status, StatusCode::UNPROCESSABLE_ENTITY);

        // Organization defaults and the built-in retention ages.
        let page = c.get("/console/settings").await.body;
        let legal = between(&page, "id=\"legal-deadlines\">", "</table>").unwrap();
        assert!(legal.contains("<td>gdpr</td><td>1 month</td><td>once, by 2 months</td>") && legal.contains("<td>lgpd</td><td>15 days</td><td>none</td>"), "{legal}");
        assert!(legal.contains("within 10 business days") && !legal.contains("<td>other</td>"), "{legal}");
        assert!(page.contains("name=\"other_days\" type=\"number\" min=\"1\" max=\"365\" required value=\"30\""), "{page}");
        let saved = c.post("/console/settings/organization", &[("csrf", &csrf), ("auto_approve", "on"), ("export_link_days", "10"), ("other_days", "20"), ("other_extension_days", "10"), ("due_soon_days", "2")]).await;
        assert_eq!(saved.location(), Some("/console/settings?done=organization"), "{}", saved.body);
        let (_, organization) = app.get("/v1/organization", Some(&admin)).await;
        assert_eq!((organization["auto_approve"].as_bool(), organization["export_link_days"].as_i64(), organization["mfa_required"].as_bool()), (Some(true), Some(10), Some(false)));
        let deadlines = &organization["deadlines"];
        assert_eq!((&deadlines["other_days"], &deadlines["other_extension_days"], &deadlines["due_soon_days"]), (&json!(20), &json!(10), &json!(2)));
        let page = c.get("/console/settings").await.body;
        assert!(page.contains("name=\"due_soon_days\" type=\"number\" min=\"1\" max=\"60\" required value=\"2\""));
        let too_long = c.post("/console/settings/organization", &[("csrf", &csrf), ("export_link_days", "400")]).await;
        assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
        for (field, value) in [("other_days", "0"), ("other_extension_days", "366"), ("due_soon_days", "61"), ("due_soon_days", "soon")] {
            let refused = c.post("/console/settings/organization", &[("csrf", &csrf), (field, value)]).await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}={value}");
            assert!(refused.body.contains(field) || refused.body.contains("number of days"), "{}", refused.body);
        }
        let (_, unchanged) = app.get("/v1/organization", Some(&admin)).await;
        assert_eq!(unchanged["deadlines"], organization["deadlines"], "refused forms change nothing");
        // The queue marks due soon by the organization's window (2 days): 3 days left is not
        // due soon any more, 1 day is; its "due soon" link filters by the window.
        for (email, days) in [("later@example.com", 3), ("sooner@example.com", 1)] {
            use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};
            let id: uuid::Uuid = app.submit(&org, "erasure", "other", email).await.id.parse().unwrap();
            let row = lethe_entities::entity::request::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap();
            let mut active = row.into_active_model();
            active.due_at = sea_orm::ActiveValue::Set(time::OffsetDateTime::now_utc() + time::Duration::days(days) + time::Duration::hours(1));
            active.update(&app.db).await.unwrap();
        }
        let queue = c.get("/console/").await.body;
        assert!(queue.contains("class=\"days ok\">3 days left") && queue.contains("class=\"days due-soon\">1 day left"), "{queue}");
        assert!(queue.contains("href=\"/console/?due_within=2\" id=\"due-soon\""), "{queue}");
        let soon = c.get("/console/?due_within=2").await.body;
        assert_eq!(soon.matches("class=\"days ").count(), 1, "only the request due within 2 days: {soon}");
        let age = c.post(&format!("/console/settings/retention/{policy}"), &[("csrf", &csrf), ("max_age", "P60D")]).await;
        assert_eq!(age.location(), Some("/console/settings?done=retention"), "{}", age.body);
        let (_, p) = app.get(&format!("/v1/retention/policies/{policy}"), Some(&admin)).await;
        assert_eq!(p["max_age"], "P60D");
        let nonsense = c.post(&format!("/console/settings/retention/{policy}"), &[("csrf", &csrf), ("max_age", "sixty days")]).await;
        assert_eq!(nonsense.status, StatusCode::UNPROCESSABLE_ENTITY);

        // Every action is in the audit log, with who and from where; no secrets.
        let csv = c.get("/console/audit.csv").await.body;
        for what in ["retention_previewed", "retention_run_queued", "hold_placed", "hold_released", "ledger_verified", "ledger_exported", "operator_created", "operator_changed", "api_key_created", "api_key_regenerated", "api_key_revoked", "organization_changed", "retention_policy_changed"] {
            let line = csv.lines().find(|l| l.contains(&format!(",{what},"))).unwrap_or_else(|| panic!("{what} in {csv}"));
            assert!(line.contains(&email) && line.ends_with(",127.0.0.1"), "{line}");
        }
        let looked_up = csv.lines().find(|l| l.contains(",ledger_looked_up,")).unwrap();
        assert!(looked_up.contains(&auditor) && looked_up.contains("by email"), "{looked_up}");
        for secret in [&password, &secret, &new_secret] {
            assert!(!csv.contains(secret.as_str()));
        }
        assert!(!csv.to_lowercase().contains("ann@example.com"), "no subject data in the audit log");
    }
}
