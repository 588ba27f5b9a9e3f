//! The console's pages over HTTP: each role on the queue, request and audit pages; another
//! organization's ids; the auditor's read-only view; search by e-mail through the blind index
//! and by id; filters and the days-left colours; actions through the forms (approve with the
//! operator and address on the timeline, deny needing a ground); the audit CSV.

use lethe_entities::domain::enums::Role;
use lethe_entities::entity::request;
use lethe_tests::app::org_slug;
use lethe_tests::console::Console;
use lethe_tests::{both_backends, spawn_app};
use reqwest::StatusCode;
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};

both_backends! {
    async fn every_page_checks_role_and_organization(backend: Backend) {
        let app = spawn_app(backend).await;
        let (org, other) = (org_slug(), org_slug());
        let emails = [Role::Admin, Role::Operator, Role::Auditor].map(|role| (role, format!("{role:?}@{org}.test").to_lowercase()));
        for (role, email) in &emails {
            app.operator_in(&org, email, *role).await;
        }
        let stranger = format!("admin@{other}.test");
        app.operator_in(&other, &stranger, Role::Admin).await;
        let mine = app.verified(&org, "erasure", "gdpr", "ann@example.com").await;
        let theirs = app.verified(&other, "erasure", "gdpr", "bob@example.com").await;
        for (role, email) in &emails {
            let c = Console::signed_in(&app.base, email).await;
            assert_eq!(c.get("/console/").await.status, StatusCode::OK, "{role:?} queue");
            let page = c.get(&format!("/console/requests/{}", mine.id)).await;
            assert_eq!(page.status, StatusCode::OK, "{role:?}");
            assert_eq!(page.text_of("state").as_deref(), Some("pending_approval"));
            let foreign = c.get(&format!("/console/requests/{}", theirs.id)).await;
            assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{role:?}: another organization's request");
            assert!(foreign.body.contains("request_not_found"));
            let audit = c.get("/console/audit").await.status;
            let csv = c.get("/console/audit.csv").await.status;
            let expected = if *role == Role::Operator { StatusCode::FORBIDDEN } else { StatusCode::OK };
            assert_eq!((audit, csv), (expected, expected), "{role:?} audit log");
            match role {
                Role::Auditor => {
                    assert!(!page.body.contains("/approve\""), "no action forms for auditors");
                    assert!(page.body.contains("hidden for your role") && !page.body.contains("ann@example.com"));
                    let refused = c.post(&format!("/console/requests/{}/approve", mine.id), &[("csrf", &page.csrf())]).await;
                    assert_eq!(refused.status, StatusCode::FORBIDDEN, "auditors are read-only");
                }
                _ => {
                    assert!(page.body.contains("/approve\"") && page.body.contains("ann@example.com"));
                    let csrf = page.csrf();
                    let foreign = c.post(&format!("/console/requests/{}/approve", theirs.id), &[("csrf", &csrf)]).await;
                    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{role:?}: another organization's request");
                }
            }
            // Another organization's request is not found by searching either.
            let csrf = c.csrf().await;
            let search = c.post("/console/search", &[("csrf", &csrf), ("q", "bob@example.com")]).await;
            assert_eq!(search.status, StatusCode::OK);
            assert!(!search.body.contains(&theirs.id), "{role:?}");
        }
        let stranger = Console::signed_in(&app.base, &stranger).await;
        assert_eq!(stranger.get(&format!("/console/requests/{}", mine.id)).await.status, StatusCode::NOT_FOUND);
    }

    async fn queue_filters_search_and_actions(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let email = format!("op@{org}.test");
        app.operator_in(&org, &email, Role::Operator).await;
        let ann = app.verified(&org, "erasure", "gdpr", "ann@example.com").await;
        let bob = app.verified(&org, "access", "ccpa", "bob@example.com").await;
        let cid = app.submit(&org, "erasure", "lgpd", "cid@example.com").await;
        // Bob's request is overdue, Cid's due in three days.
        let set_due = |id: &str, days: i64| {
            let db = app.db.clone();
            let id: uuid::Uuid = id.parse().unwrap();
            async move {
                let r = request::Entity::find_by_id(id).one(&db).await.unwrap().unwrap();
                let mut active = r.into_active_model();
                active.due_at = Set(time::OffsetDateTime::now_utc() + time::Duration::days(days) + time::Duration::hours(1));
                active.update(&db).await.unwrap();
            }
        };
        set_due(&bob.id, -3).await;
        set_due(&cid.id, 3).await;
        let c = Console::signed_in(&app.base, &email).await;
        let queue = c.get("/console/").await;
        assert!(queue.body.contains("3 requests"), "{}", queue.body);
        assert!(queue.body.contains("pending approval<strong>2</strong>") && queue.body.contains("identity unverified<strong>1</strong>"));
        assert!(queue.body.contains("days overdue\"") || queue.body.contains("class=\"days overdue\""));
        assert!(queue.body.contains("class=\"days due-soon\">3 days left"), "{}", queue.body);
        let overdue = c.get("/console/?overdue=on").await;
        assert!(overdue.body.contains(&bob.id) && !overdue.body.contains(&ann.id));
        let ccpa = c.get("/console/?regime=ccpa&state=&kind=").await;
        assert!(ccpa.body.contains(&bob.id) && !ccpa.body.contains(&cid.id));
        let soon = c.get("/console/?due_within=5").await;
        assert!(soon.body.contains(&cid.id) && soon.body.contains(&bob.id) && !soon.body.contains(&ann.id));
        let erasures = c.get("/console/?kind=erasure&state=pending_approval").await;
        assert!(erasures.body.contains(&ann.id) && !erasures.body.contains(&cid.id) && !erasures.body.contains(&bob.id));
        assert_eq!(c.get("/console/?state=bogus").await.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(c.get("/console/?due_within=0").await.status, StatusCode::UNPROCESSABLE_ENTITY);

        // Search: the address in any case finds exactly her requests; an id opens it.
        let csrf = queue.csrf();
        let found = c.post("/console/search", &[("csrf", &csrf), ("q", "  ANN@Example.com ")]).await;
        assert_eq!(found.status, StatusCode::OK);
        assert!(found.body.contains(&ann.id) && !found.body.contains(&bob.id) && !found.body.contains(&cid.id));
        let by_id = c.post("/console/search", &[("csrf", &csrf), ("q", &bob.id)]).await;
        assert_eq!(by_id.location(), Some(format!("/console/requests/{}", bob.id).as_str()));
        let nothing = c.post("/console/search", &[("csrf", &csrf), ("q", "not an address")]).await;
        assert_eq!(nothing.status, StatusCode::UNPROCESSABLE_ENTITY);

        // Deny needs a ground, and "other" needs a text; approve goes through the state machine.
        let path = format!("/console/requests/{}", ann.id);
        let bad = c.post(&format!("{path}/deny"), &[("csrf", &csrf), ("ground", "made_up")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let other = c.post(&format!("{path}/deny"), &[("csrf", &csrf), ("ground", "other"), ("detail", " ")]).await;
        assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(other.body.contains("detail: a reason is required"), "{}", other.body);
        let no_token = c.post(&format!("{path}/approve"), &[("reason", "ok")]).await;
        assert_eq!(no_token.status, StatusCode::FORBIDDEN, "a form without its token is refused before anything");
        assert!(no_token.body.contains("csrf_failed"), "{}", no_token.body);
        let approved = c.post(&format!("{path}/approve"), &[("csrf", &csrf), ("reason", "Identity checked")]).await;
        assert_eq!(approved.location(), Some(format!("{path}?done=approve").as_str()), "{}", approved.body);
        let again = c.post(&format!("{path}/approve"), &[("csrf", &csrf)]).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "the state machine refuses a second approval");
        assert!(again.body.contains("invalid_transition"));
        let page = c.get(&format!("{path}?done=approve")).await;
        assert!(page.body.contains("Approved. Fulfilment has started."));
        assert!(page.body.contains(&email) && page.body.contains("Identity checked") && page.body.contains("<code>127.0.0.1</code>"));
        let extend = format!("/console/requests/{}/extend", bob.id);
        let extended = c.post(&extend, &[("csrf", &csrf), ("reason", "Many systems")]).await;
        assert_eq!(extended.location(), Some(format!("/console/requests/{}?done=extend", bob.id).as_str()));
        let twice = c.post(&extend, &[("csrf", &csrf), ("reason", "Still more")]).await;
        assert_eq!(twice.status, StatusCode::CONFLICT, "extended once");
        assert!(twice.body.contains("already_extended"));
        let canceled = c.post(&format!("/console/requests/{}/cancel", cid.id), &[("csrf", &csrf), ("reason", "Duplicate")]).await;
        assert_eq!(canceled.location(), Some(format!("/console/requests/{}?done=cancel", cid.id).as_str()));

        // The audit log has the approval with who and from where; the CSV too.
        let admin = format!("admin@{org}.test");
        app.operator_in(&org, &admin, Role::Admin).await;
        let a = Console::signed_in(&app.base, &admin).await;
        let audit = a.get("/console/audit").await;
        assert!(audit.body.contains("approved") && audit.body.contains(&email) && audit.body.contains("signed in"));
        let csv = a.get("/console/audit.csv").await;
        assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
        let line = csv.body.lines().find(|l| l.contains(",approved,")).expect("the approval is exported");
        assert!(line.contains(&email) && line.contains(&ann.id) && line.contains("Identity checked") && line.ends_with(",127.0.0.1"));
        assert!(!csv.body.contains("ann@example.com"), "no subject data in the audit log");
        assert!(csv.body.starts_with("at,who,what,request_id,reason,ip_address\r\n"));
        assert_eq!(a.get("/console/audit.csv?from=2026-13-01").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}
