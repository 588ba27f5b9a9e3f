//! Reports, end to end on both backends: the yearly request metrics (CCPA regulations § 7102)
//! counted in SQL over a year of requests written with known dates and outcomes, as JSON and as
//! CSV, filtered by law, refused for bad years and to callers without the permission; the
//! console's dashboard with its server-drawn pictures, its figures and its CSV; the portal's
//! published page, only when the organization switches it on, in the person's language.

use lethe_entities::domain::enums::{Regime, RequestKind, RequestState, Role};
use lethe_tests::app::org_slug;
use lethe_tests::console::Console;
use lethe_tests::reports::{Seed, a_year_of_requests, day, last_year, request, retention_run};
use lethe_tests::webhook_receiver::Receiver;
use lethe_tests::{TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

fn row<'a>(metrics: &'a Value, kind: &str) -> &'a Value {
    metrics["kinds"].as_array().unwrap().iter().find(|k| k["kind"] == kind).unwrap()
}

/// The figures of a row, in the CSV's order: received, whole, part, denied, unverified,
/// withdrawn, open, responded, median, mean.
fn figures(row: &Value) -> Value {
    json!([
        row["received"],
        row["complied_in_whole"],
        row["complied_in_part"],
        row["denied"],
        row["denied_unverified"],
        row["canceled"],
        row["open"],
        row["responded"],
        row["median_days"],
        row["mean_days"]
    ])
}

/// The words of the element with `id` up to `end` (its closing tag), tags dropped.
fn words_of(body: &str, id: &str, end: &str) -> Option<String> {
    let start = body.find(&format!("id=\"{id}\""))?;
    let rest = &body[start..];
    let html = &rest[rest.find('>')? + 1..rest.find(end)?];
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => (in_tag, text) = (true, text + " "),
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

async fn get_text(app: &TestApp, path: &str, bearer: &str, accept: Option<&str>) -> (StatusCode, String, String) {
    let mut call = app.http.get(app.url(path)).bearer_auth(bearer);
    if let Some(accept) = accept {
        call = call.header("accept", accept);
    }
    let answer = call.send().await.unwrap();
    let status = answer.status();
    let kind = answer.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, kind, answer.text().await.unwrap())
}

lethe_tests::both_backends! {
    async fn the_yearly_metrics_count_each_kind_and_outcome(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        a_year_of_requests(&app, &org).await;
        let year = last_year().number();

        let (status, metrics) = app.get(&format!("/v1/reports/metrics?year={year}"), Some(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{metrics}");
        assert_eq!((metrics["year"].as_i64(), &metrics["regime"]), (Some(i64::from(year)), &Value::Null));
        let erasure = row(&metrics, "erasure");
        assert_eq!(erasure["ccpa_right"], "delete");
        assert_eq!(figures(erasure), json!([4, 2, 1, 1, 1, 0, 0, 4, 3.0, 4.5]), "days 1, 2, 4, 11");
        let access = row(&metrics, "access");
        assert_eq!(access["ccpa_right"], "know");
        assert_eq!(figures(access), json!([5, 2, 0, 1, 0, 1, 1, 3, 5.0, 5.0]), "days 3, 5, 7");
        assert_eq!(figures(row(&metrics, "opt_out")), json!([1, 1, 0, 0, 0, 0, 0, 1, 2.0, 2.0]));
        let objection = row(&metrics, "objection");
        assert_eq!((&objection["ccpa_right"], figures(objection)), (&Value::Null, json!([0, 0, 0, 0, 0, 0, 0, 0, null, null])));
        assert_eq!(metrics["kinds"].as_array().unwrap().len(), 6, "every kind, with zeros");
        assert_eq!(figures(&metrics["total"]), json!([10, 5, 1, 2, 1, 1, 1, 8, 3.5, 4.4]), "days 1 2 2 3 4 5 7 11");

        // One law only.
        let (_, ccpa) = app.get(&format!("/v1/reports/metrics?year={year}&regime=ccpa"), Some(&admin)).await;
        assert_eq!(ccpa["regime"], "ccpa");
        assert_eq!(figures(row(&ccpa, "erasure")), json!([3, 2, 1, 0, 0, 0, 0, 3, 4.0, 5.7]), "days 2, 4, 11");
        assert_eq!(ccpa["total"]["received"], 9);

        // Without a year: last year, the one the CCPA has businesses publish.
        let (_, default) = app.get("/v1/reports/metrics", Some(&admin)).await;
        assert_eq!(default, metrics);

        // CSV, by the format parameter or by Accept.
        let (status, kind, csv) = get_text(&app, &format!("/v1/reports/metrics?year={year}&format=csv"), &admin, None).await;
        assert_eq!((status, kind.as_str()), (StatusCode::OK, "text/csv; charset=utf-8"));
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], "year,regime,kind,ccpa_right,received,complied_in_whole,complied_in_part,denied,denied_unverified,canceled,open,responded,median_days,mean_days");
        assert!(lines.contains(&format!("{year},,erasure,delete,4,2,1,1,1,0,0,4,3.0,4.5").as_str()), "{csv}");
        assert!(lines.contains(&format!("{year},,objection,,0,0,0,0,0,0,0,0,,").as_str()), "{csv}");
        assert_eq!(lines[7], format!("{year},,total,,10,5,1,2,1,1,1,8,3.5,4.4"));
        let (_, kind, by_accept) = get_text(&app, &format!("/v1/reports/metrics?year={year}"), &admin, Some("text/csv")).await;
        assert_eq!((kind.as_str(), &by_accept), ("text/csv; charset=utf-8", &csv));

        // Bad questions get clear answers.
        let this_year = last_year().number() + 1;
        for (query, status, code) in [
            ("year=abc", 400, "invalid_query"),
            ("year=1999", 422, "validation_failed"),
            (&format!("year={}", this_year + 1) as &str, 422, "validation_failed"),
            ("regime=mars", 400, "invalid_query"),
            ("format=xml", 400, "invalid_query"),
            ("color=red", 400, "invalid_query"),
        ] {
            let (got, problem) = app.get(&format!("/v1/reports/metrics?{query}"), Some(&admin)).await;
            assert_eq!((got.as_u16(), problem["code"].as_str()), (status, Some(code)), "{query}: {problem}");
        }
        let (_, problem) = app.get("/v1/reports/metrics?year=1999", Some(&admin)).await;
        assert_eq!(problem["errors"][0]["field"], "year");
        let (status, _) = app.get(&format!("/v1/reports/metrics?year={this_year}"), Some(&admin)).await;
        assert_eq!(status, StatusCode::OK, "the current year, so far");
    }

    async fn reports_are_for_every_role_and_reports_keys_only(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        a_year_of_requests(&app, &org).await;
        let auditor = app.operator_in(&org, &format!("auditor@{org}.test"), Role::Auditor).await;
        let path = format!("/v1/reports/metrics?year={}", last_year().number());
        let (status, seen) = app.get(&path, Some(&auditor)).await;
        assert_eq!((status, &seen["total"]["received"]), (StatusCode::OK, &json!(10)));
        for (scopes, expected) in [(vec!["reports:read"], StatusCode::OK), (vec!["requests:read", "requests:write"], StatusCode::FORBIDDEN)] {
            let (status, created) = app.post("/v1/api-keys", Some(&admin), json!({"name": "bi", "scopes": scopes})).await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            let (status, answer) = app.get(&path, created["secret"].as_str()).await;
            assert_eq!(status, expected, "{scopes:?}: {answer}");
        }
        let (status, problem) = app.get(&path, None).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
        // Another organization's admin sees only its own (none).
        let stranger = app.admin(&org_slug()).await;
        let (_, theirs) = app.get(&path, Some(&stranger)).await;
        assert_eq!(theirs["total"]["received"], 0);
    }

    async fn the_dashboard_draws_the_year_and_the_portal_publishes_it_when_asked(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let id = a_year_of_requests(&app, &org).await;
        retention_run(&app.db, id, day(2), 100).await;
        retention_run(&app.db, id, day(74), 250).await;
        let year = last_year();
        let console = Console::signed_in(&app.base, &format!("admin@{org}.test")).await;

        let page = console.get(&format!("/console/dashboard?year={}", year.number())).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_eq!(page.text_of("received-sum").as_deref(), Some("10"));
        assert!(page.body.contains("<svg class=\"chart\" id=\"chart-received\""), "{}", page.body);
        let erasure_week = lethe_api::console::charts::week_start(year, 10);
        assert!(page.body.contains(&format!("<title>{erasure_week}: erasure 2</title>")), "days 71 and 72 share week 10");
        // Days to complete, of the requests completed in the year (the one received the year
        // before too): CCPA only (GDPR's one request was denied), 1 2 2 4 5 7 11 days.
        let days = words_of(&page.body, "days", "</table>").unwrap();
        assert!(days.contains("CCPA 7 4.0 11.0 45.0 1"), "median 4, 90th percentile 11, one late: {days}");
        assert!(page.body.contains("CCPA: median 4 days, 90th percentile 11 days, deadline 45 days"));
        assert_eq!(page.text_of("purged-sum").as_deref(), Some("350"));
        assert!(page.body.contains(&format!("<title>{}: rows purged 250</title>", lethe_api::console::charts::week_start(year, 10))));
        assert!(words_of(&page.body, "metrics", "</table>").unwrap().contains("erasure delete 4 2 1 1 1 0 0 3.0 4.5"), "{}", words_of(&page.body, "metrics", "</table>").unwrap());
        assert!(page.text_of("overdue-none").is_some(), "nothing is open past its due date");
        assert!(!page.body.contains("style="), "no inline style");

        // The CSV the page links to is the API's.
        let csv = console.get(&format!("/console/dashboard/metrics.csv?year={}", year.number())).await;
        let (_, _, api_csv) = get_text(&app, &format!("/v1/reports/metrics?year={}&format=csv", year.number()), &admin, None).await;
        assert_eq!(csv.body, api_csv);
        assert_eq!(console.get("/console/dashboard?year=soon").await.status, StatusCode::BAD_REQUEST);

        // This year: an overdue request and a webhook endpoint that fails until it is disabled.
        let now = OffsetDateTime::now_utc();
        let overdue = Seed { due_after_days: Some(-1), ..Seed::new(RequestKind::Access, Regime::Gdpr, RequestState::PendingApproval, now - Duration::minutes(1)) };
        request(&app.db, id, &overdue).await;
        let receiver = Receiver::start();
        receiver.configure(json!({ "status": 500 })).await;
        let (_, created) = app.post("/v1/webhooks", Some(&admin), json!({ "url": receiver.url("/down"), "event_types": ["request.received"] })).await;
        let hook = created["webhook"]["id"].as_str().unwrap().to_owned();
        let (status, _) = app.post(&format!("/v1/webhooks/{hook}/test"), Some(&admin), json!(null)).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let attempts = loop {
            assert!(std::time::Instant::now() < deadline, "the failing endpoint was never disabled");
            let (_, endpoint) = app.get(&format!("/v1/webhooks/{hook}"), Some(&admin)).await;
            if endpoint["enabled"] == false {
                let (_, log) = app.get(&format!("/v1/webhooks/{hook}/deliveries"), Some(&admin)).await;
                break log[0]["attempts"].as_i64().unwrap();
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        let page = console.get("/console/dashboard").await;
        let overdue = words_of(&page.body, "overdue", "</ul>").unwrap();
        assert!(overdue.contains("GDPR 1"), "{overdue}");
        let health = words_of(&page.body, "webhook-health", "</dl>").unwrap();
        assert!(health.contains("Endpoints disabled for failing 1"), "{health}");
        assert!(health.contains("Deliveries given up in the last 30 days 1"), "{health}");
        assert!(health.contains(&format!("Attempts failed in {} {attempts} of {attempts}", year.number() + 1)), "{health}");

        // An auditor sees the dashboard, without the webhooks they may not read.
        app.operator_in(&org, &format!("auditor@{org}.test"), Role::Auditor).await;
        let auditor = Console::signed_in(&app.base, &format!("auditor@{org}.test")).await;
        let page = auditor.get("/console/dashboard").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(words_of(&page.body, "webhook-health", "</dl>").is_none());

        // The portal: no page until the organization publishes it.
        let public = format!("/p/{org}/metrics?year={}", year.number());
        assert_eq!(app.http.get(app.url(&public)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
        let start = app.http.get(app.url(&format!("/p/{org}/"))).send().await.unwrap().text().await.unwrap();
        assert!(!start.contains("metrics-link"));
        // An admin switches it on in the console's settings.
        let csrf = console.csrf().await;
        let saved = console.post("/console/settings/organization", &[("csrf", &csrf), ("publish_metrics", "on")]).await;
        assert_eq!(saved.location(), Some("/console/settings?done=organization"), "{}", saved.body);
        let (_, settings) = app.get("/v1/organization", Some(&admin)).await;
        assert_eq!(settings["portal"]["publish_metrics"], true, "{settings}");
        let start = app.http.get(app.url(&format!("/p/{org}/"))).send().await.unwrap().text().await.unwrap();
        assert!(start.contains("id=\"metrics-link\""), "the start page links to it");
        let answer = app.http.get(app.url(&public)).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        let body = answer.text().await.unwrap();
        assert!(body.contains(&format!("Privacy requests in {}", year.number())), "{body}");
        assert!(body.contains("<td>4</td><td>2</td><td>1</td><td>1</td><td>3.0</td><td>4.5</td>"), "erasure: {body}");
        let german = app.http.get(app.url(&format!("{public}&lang=de"))).send().await.unwrap().text().await.unwrap();
        assert!(german.contains(&format!("Datenschutzanträge {}", year.number())), "{german}");
        let bad = app.http.get(app.url(&format!("/p/{org}/metrics?year=1999"))).send().await.unwrap();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        let (status, settings) = app.patch("/v1/organization", &admin, json!({ "portal": { "publish_metrics": null } })).await;
        assert_eq!((status, &settings["errors"][0]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("portal.publish_metrics")));
    }
}
