//! Retention policies in the console over HTTP: an admin creates one through the form (it shows
//! with its next run), edits it on its page and deletes it (its run history stays); invalid
//! forms come back with the API's errors next to their fields and the input kept; built-in
//! policies only change what the API lets change and have no delete; operators and auditors
//! are refused, another organization's policy is a 404, forged CSRF tokens are refused; every
//! change is in the audit log.

use lethe_entities::domain::enums::Role;
use lethe_tests::app::org_slug;
use lethe_tests::console::{Console, between, sqlite_shop};
use lethe_tests::{TestApp, both_backends, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// An organization with an admin and a SQLite shop store: the admin's token and the store id.
async fn shop(app: &TestApp, org: &str, dir: &std::path::Path) -> (String, String) {
    let token = app.operator_in(org, &format!("admin@{org}.test"), Role::Admin).await;
    let url = sqlite_shop(dir).await;
    let (status, store) = app
        .post("/v1/stores", Some(&token), json!({"name": "shop", "kind": "sqlite", "connection": {"url": url}}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{store}");
    (token, store["id"].as_str().unwrap().to_owned())
}

/// The form of a policy on the shop's orders, with `changes` over the defaults.
fn form<'a>(csrf: &'a str, store: &'a str, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("csrf", csrf),
        ("name", "old-orders"),
        ("store", store),
        ("target", "orders"),
        ("age_column", "total"),
        ("max_age", "P30D"),
        ("f0_column", "customer_id"),
        ("f0_op", "gt"),
        ("f0_value", "0"),
        ("f1_column", ""),
        ("f1_op", "eq"),
        ("f1_value", ""),
        ("action", "delete_row"),
        ("columns", ""),
        ("schedule", "0 3 * * *"),
        ("time_zone", "Europe/Stockholm"),
        ("batch_size", "500"),
        ("throttle", ""),
        ("legal_basis", "Orders are kept 30 days"),
        ("enabled", "on"),
    ];
    for (key, value) in changes {
        fields.retain(|(k, _)| k != key);
        if !value.is_empty() || *key != "enabled" {
            fields.push((key, value));
        }
    }
    fields
}

async fn policy(app: &TestApp, token: &str, name: &str) -> Option<Value> {
    let (status, all) = app.get("/v1/retention/policies", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    all.as_array().unwrap().iter().find(|p| p["name"] == name).cloned()
}

both_backends! {
    async fn admins_create_edit_and_delete_policies(backend: Backend) {
        let app = spawn_app(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let org = org_slug();
        let (token, store) = shop(&app, &org, dir.path()).await;
        let c = Console::signed_in(&app.base, &format!("admin@{org}.test")).await;
        let page = c.get("/console/retention").await;
        assert!(page.body.contains("id=\"new-policy\"") && page.body.contains(&format!("<option value=\"{store}\"")), "{}", page.body);
        let csrf = page.csrf();

        let done = c.post("/console/retention/policies", &form(&csrf, &store, &[])).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), Some("/console/retention?done=created"));
        let listed = c.get("/console/retention?done=created").await.body;
        let row = between(&listed, "<tr id=\"policy-old-orders\">", "</tr>").expect("the new policy is listed");
        let saved = policy(&app, &token, "old-orders").await.expect("created through the API's code");
        let next = saved["next_run_at"].as_str().expect("scheduled: a next run");
        assert!(row.contains(&next[..10]) && row.contains(" UTC</td>"), "its next run on the page: {row}");
        assert_eq!(saved["filter"], json!([{"column": "customer_id", "op": "gt", "value": "0"}]));
        assert_eq!((saved["batch_size"].as_i64(), saved["time_zone"].as_str()), (Some(500), Some("Europe/Stockholm")));
        let id = saved["id"].as_str().unwrap().to_owned();

        let edit = c.get(&format!("/console/retention/policies/{id}")).await;
        assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
        assert!(edit.tag("policy-target").unwrap().contains("value=\"orders\""), "the form is filled");
        assert!(edit.tag("policy-f0-column").unwrap().contains("value=\"customer_id\""));
        assert!(edit.body.contains("data-confirm=") && edit.body.contains("id=\"delete-policy\""));
        let changes = [("max_age", "P60D"), ("action", "anonymise"), ("columns", "total:null"), ("f0_column", ""), ("enabled", "")];
        let replaced = c.post(&format!("/console/retention/policies/{id}"), &form(&csrf, &store, &changes)).await;
        assert_eq!(replaced.status, StatusCode::SEE_OTHER, "{}", replaced.body);
        assert_eq!(replaced.location(), Some(format!("/console/retention/policies/{id}?done=saved").as_str()));
        let saved = policy(&app, &token, "old-orders").await.unwrap();
        assert_eq!(saved["max_age"], "P60D");
        assert_eq!(saved["action"], json!({"type": "anonymise", "columns": [{"name": "total", "action": "null"}]}));
        assert_eq!((saved["filter"].clone(), saved["enabled"].clone()), (json!([]), json!(false)), "replaced whole");
        assert!(saved["next_run_at"].is_null(), "disabled: no next run");

        let (status, run) = app.post(&format!("/v1/retention/policies/{id}/run"), Some(&token), json!({})).await;
        assert!(status.is_success(), "{run}");
        let deleted = c.post(&format!("/console/retention/policies/{id}/delete"), &[("csrf", &csrf)]).await;
        assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
        assert_eq!(deleted.location(), Some("/console/retention?done=deleted"));
        assert!(policy(&app, &token, "old-orders").await.is_none(), "deleted");
        let (_, runs) = app.get("/v1/retention/runs?limit=500", Some(&token)).await;
        assert!(runs.as_array().unwrap().iter().any(|r| r["id"] == run["id"]), "the run history stays: {runs}");
        assert_eq!(c.get(&format!("/console/retention/policies/{id}")).await.status, StatusCode::NOT_FOUND);

        let audit = c.get("/console/audit").await.body;
        for what in ["retention policy created", "retention policy changed", "retention policy deleted"] {
            assert!(audit.contains(what), "{what} in the audit log");
        }
    }

    async fn invalid_policy_forms_come_back_with_their_errors(backend: Backend) {
        let app = spawn_app(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let org = org_slug();
        let (token, store) = shop(&app, &org, dir.path()).await;
        let c = Console::signed_in(&app.base, &format!("admin@{org}.test")).await;
        let csrf = c.csrf().await;

        let bad_age = c.post("/console/retention/policies", &form(&csrf, &store, &[("max_age", "14 days")])).await;
        assert_eq!(bad_age.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad_age.body);
        assert!(bad_age.field_error("policy-max-age").unwrap().contains("ISO 8601"), "{}", bad_age.body);
        assert!(bad_age.tag("policy-max-age").unwrap().contains("value=\"14 days\""), "input kept");
        assert!(bad_age.tag("policy-target").unwrap().contains("value=\"orders\""), "input kept");

        let unknown = c.post("/console/retention/policies", &form(&csrf, &store, &[("f0_column", "nope")])).await;
        assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unknown.body);
        assert!(unknown.field_error("policy-f0-column").unwrap().contains("nope"), "{}", unknown.body);
        assert!(unknown.tag("policy-f0-column").unwrap().contains("value=\"nope\""));
        let no_column = c.post("/console/retention/policies", &form(&csrf, &store, &[("age_column", "created")])).await;
        assert_eq!(no_column.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", no_column.body);
        assert!(no_column.field_error("policy-age-column").is_some(), "{}", no_column.body);
        let typed = c.post("/console/retention/policies", &form(&csrf, &store, &[("batch_size", "many"), ("columns", "x")])).await;
        assert_eq!(typed.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", typed.body);
        assert!(typed.field_error("policy-batch-size").is_some());
        assert!(policy(&app, &token, "old-orders").await.is_none(), "nothing saved");

        assert_eq!(c.post("/console/retention/policies", &form(&csrf, &store, &[])).await.status, StatusCode::SEE_OTHER);
        let taken = c.post("/console/retention/policies", &form(&csrf, &store, &[])).await;
        assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.body);
        assert!(taken.field_error("policy-name").is_some());

        // A built-in policy: the form filled, only what the API lets change changes, no delete.
        let (_, all) = app.get("/v1/retention/policies", Some(&token)).await;
        let builtin = all.as_array().unwrap().iter().find(|p| !p["builtin"].is_null() && p["action"]["type"] == "delete_row").expect("a built-in policy").clone();
        let id = builtin["id"].as_str().unwrap();
        let page = c.get(&format!("/console/retention/policies/{id}")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.tag("policy-max-age").unwrap().contains(&format!("value=\"{}\"", builtin["max_age"].as_str().unwrap())));
        assert!(!page.body.contains("id=\"delete-policy\""), "built-in policies are not deleted");
        let deleted = c.post(&format!("/console/retention/policies/{id}/delete"), &[("csrf", &csrf)]).await;
        assert_eq!(deleted.status, StatusCode::CONFLICT);
        assert!(deleted.body.contains("builtin_policy"));
        let text = |key: &str| builtin[key].as_str().unwrap_or_default().to_owned();
        let (store_id, table, age, basis) = (text("store_id"), text("table"), text("age_column"), text("legal_basis"));
        let fields = |name: &str, max_age: &str| {
            vec![("csrf", csrf.clone()), ("name", name.to_owned()), ("store", store_id.clone()), ("target", table.clone()), ("age_column", age.clone()), ("max_age", max_age.to_owned()), ("action", "delete_row".to_owned()), ("time_zone", "UTC".to_owned()), ("batch_size", "1000".to_owned()), ("legal_basis", basis.clone()), ("enabled", "on".to_owned())]
        };
        let send = |fields: Vec<(&'static str, String)>| {
            let c = &c;
            async move {
                let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                c.post(&format!("/console/retention/policies/{id}"), &borrowed).await
            }
        };
        let renamed = send(fields("mine", "P400D")).await;
        assert_eq!(renamed.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", renamed.body);
        assert!(renamed.field_error("policy-name").unwrap().contains("fixed"), "the API's error: {}", renamed.body);
        let builtin_name = builtin["name"].as_str().unwrap().to_owned();
        let aged = send(fields(&builtin_name, "P400D")).await;
        assert_eq!(aged.status, StatusCode::SEE_OTHER, "{}", aged.body);
        assert_eq!(policy(&app, &token, &builtin_name).await.unwrap()["max_age"], "P400D");
    }
}

both_backends! {
    async fn only_admins_change_policies_of_their_organization(backend: Backend) {
        let app = spawn_app(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let (org, other) = (org_slug(), org_slug());
        let (token, store) = shop(&app, &org, dir.path()).await;
        let other_dir = tempfile::tempdir().unwrap();
        let (their_token, their_store) = shop(&app, &other, other_dir.path()).await;
        let body = |store: &str| json!({"name": "old-orders", "store_id": store, "table": "orders", "age_column": "total", "max_age": "P30D", "action": {"type": "delete_row"}, "legal_basis": "30 days"});
        let (status, mine) = app.post("/v1/retention/policies", Some(&token), body(&store)).await;
        assert_eq!(status, StatusCode::CREATED, "{mine}");
        let (status, theirs) = app.post("/v1/retention/policies", Some(&their_token), body(&their_store)).await;
        assert_eq!(status, StatusCode::CREATED, "{theirs}");
        let (mine, theirs) = (mine["id"].as_str().unwrap(), theirs["id"].as_str().unwrap());

        for role in [Role::Operator, Role::Auditor] {
            let email = format!("{role:?}@{org}.test").to_lowercase();
            app.operator_in(&org, &email, role).await;
            let c = Console::signed_in(&app.base, &email).await;
            let csrf = c.csrf().await;
            assert!(!c.get("/console/retention").await.body.contains("id=\"new-policy\""), "{role:?}: no new-policy form");
            let page = c.get(&format!("/console/retention/policies/{mine}")).await;
            assert_eq!(page.status, StatusCode::OK, "{role:?} reads the policy: {}", page.body);
            assert!(page.body.contains(" disabled>") && !page.body.contains("id=\"save-policy\"") && !page.body.contains("id=\"delete-policy\""), "{role:?}: read-only");
            for path in ["/console/retention/policies".to_owned(), format!("/console/retention/policies/{mine}"), format!("/console/retention/policies/{mine}/delete")] {
                let refused = c.post(&path, &form(&csrf, &store, &[])).await;
                assert_eq!(refused.status, StatusCode::FORBIDDEN, "{role:?} {path}: {}", refused.body);
            }
        }

        let c = Console::signed_in(&app.base, &format!("admin@{org}.test")).await;
        let csrf = c.csrf().await;
        let foreign = c.get(&format!("/console/retention/policies/{theirs}")).await;
        assert_eq!(foreign.status, StatusCode::NOT_FOUND);
        assert!(foreign.body.contains("policy_not_found"));
        for path in [format!("/console/retention/policies/{theirs}"), format!("/console/retention/policies/{theirs}/delete")] {
            let refused = c.post(&path, &form(&csrf, &their_store, &[])).await;
            assert_eq!(refused.status, StatusCode::NOT_FOUND, "{path}: {}", refused.body);
        }
        let elsewhere = c.post("/console/retention/policies", &form(&csrf, &their_store, &[("name", "theirs")])).await;
        assert_eq!(elsewhere.status, StatusCode::UNPROCESSABLE_ENTITY, "another organization's store: {}", elsewhere.body);
        assert!(elsewhere.field_error("policy-store").is_some());
        assert!(policy(&app, &their_token, "old-orders").await.is_some(), "theirs untouched");

        let forged = Console::signed_in(&app.base, &format!("admin@{org}.test")).await.csrf().await;
        for path in ["/console/retention/policies".to_owned(), format!("/console/retention/policies/{mine}"), format!("/console/retention/policies/{mine}/delete")] {
            let refused = c.post(&path, &form(&forged, &store, &[("name", "forged")])).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
            assert!(refused.body.contains("csrf_failed"), "{path}");
        }
        assert!(policy(&app, &token, "old-orders").await.is_some() && policy(&app, &token, "forged").await.is_none());
    }
}
