//! The customer portal over HTTP (a cookie-keeping client that does not follow redirects):
//! pages in three languages with the security headers; the form keeps its input and ties each
//! error to its field; CSRF; the honeypot; the same answer for every address; rate limits per
//! address and per client IP; the whole way from the form to the status page in German with
//! the e-mails in German; cancelling; the organization's portal settings (colour, policy link,
//! logo, extra identifiers) and their validation; the download page of an access export, its
//! expired and used-up forms.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lethe_api::engine::Mode;
use lethe_entities::domain::enums::Role;
use lethe_tests::app::{TestApp, org_slug};
use lethe_tests::console::{Console, Page, between};
use lethe_tests::{Backend, both_backends, mailbox, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use serde_json::json;

/// The form's fields for a valid erasure request of `email`.
fn valid_form<'a>(csrf: &'a str, email: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("email", email),
        ("country", "de"),
        ("kind", "erasure"),
        ("message", ""),
        ("confirm", "yes"),
        ("website", ""),
    ]
}

/// Fills in and sends the form as a visitor; returns the answer.
async fn submit(browser: &Console, org: &str, email: &str, lang: &str) -> Page {
    let form = browser.get(&format!("/p/{org}/request?lang={lang}")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let csrf = form.csrf();
    browser.post(&format!("/p/{org}/request"), &valid_form(&csrf, email)).await
}

/// The path of a redirect, without the host.
fn path_of(page: &Page) -> String {
    let location = page.location().unwrap_or_else(|| panic!("a redirect, got {} {}", page.status, page.body));
    location.to_owned()
}

async fn organization(app: &TestApp) -> (String, String) {
    let org = org_slug();
    let admin = app.operator_in(&org, &format!("dpo@{org}.test"), Role::Admin).await;
    (org, admin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_speak_the_visitors_language_with_strict_headers() {
    let app = spawn_app(Backend::Sqlite).await;
    let (org, _) = organization(&app).await;
    let german = app
        .http
        .get(app.url(&format!("/p/{org}/")))
        .header("accept-language", "de-AT,de;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(german.status(), StatusCode::OK);
    for (name, value) in lethe_api::web::headers::defaults() {
        assert_eq!(german.headers()[&name], value, "{name}");
    }
    let body = german.text().await.unwrap();
    assert!(body.contains("<html lang=\"de\">") && body.contains("Ihre Datenschutzrechte bei"), "{body}");
    assert!(body.contains("Meine Daten löschen") && body.contains("Antrag stellen"));
    assert!(!body.contains("style=") && !body.contains("<script"), "no inline style or script");

    // The switch: a query parameter, remembered in a cookie (a language code, nothing else).
    let browser = Console::new(&app.base);
    let swedish = browser.get(&format!("/p/{org}/?lang=sv")).await;
    assert!(swedish.body.contains("<html lang=\"sv\">") && swedish.body.contains("Radera mina uppgifter"));
    let cookie =
        swedish.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert!(
        cookie
            .iter()
            .any(|c| c.starts_with("lethe_lang=sv;") && c.contains("HttpOnly") && c.contains("SameSite=Strict")),
        "{cookie:?}"
    );
    let again = browser.get(&format!("/p/{org}/request")).await;
    assert!(again.body.contains("<html lang=\"sv\">"), "the choice is remembered");
    // The switch links every language, marking the current one.
    assert!(again.body.contains("href=\"/p/".to_owned().as_str()) && again.body.contains("?lang=de\" lang=\"de\""));
    assert!(again.body.contains("aria-current=\"true\">Svenska"));
    // Default: English. An unknown language falls back to it.
    let english = app.http.get(app.url(&format!("/p/{org}/"))).header("accept-language", "fr").send().await.unwrap();
    assert!(english.text().await.unwrap().contains("<html lang=\"en\">"));

    // The brand stylesheet: Lethe's blue until a colour is set; an unknown organization is a page.
    let css = app.http.get(app.url(&format!("/p/{org}/brand.css"))).send().await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(css.text().await.unwrap().contains("--brand: #0b5cad; --brand-ink: #ffffff;"));
    let unknown = app.http.get(app.url("/p/no-such-org/")).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(unknown.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(unknown.text().await.unwrap().contains("not_found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_form_keeps_its_input_with_errors_tied_to_their_fields() {
    let app = spawn_app(Backend::Sqlite).await;
    let (org, admin) = organization(&app).await;
    let (status, _) = app
        .patch("/v1/organization", &admin, json!({ "portal": { "ask_phone": true, "ask_customer_id": true } }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let browser = Console::new(&app.base);
    let form = browser.get(&format!("/p/{org}/request?lang=en")).await;
    assert!(form.body.contains("id=\"phone\"") && form.body.contains("id=\"customer_id\""), "asked for");
    let long = "x".repeat(2001);
    let csrf = form.csrf();
    let page = browser
        .post(
            &format!("/p/{org}/request"),
            &[
                ("csrf", &csrf),
                ("email", "ann at example"),
                ("phone", "call me"),
                ("customer_id", "C-1042"),
                ("country", "us_ca"),
                ("kind", ""),
                ("message", &long),
                ("website", ""),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page.body);
    let body = &page.body;
    // Every error is next to its field, named by aria-describedby, and in the summary.
    for field in ["email", "phone", "message", "confirm"] {
        assert!(body.contains(&format!("id=\"{field}-error\"")), "{field}: {body}");
        assert!(body.contains(&format!("href=\"#{field}\"")), "summary links {field}");
    }
    assert!(body.contains("aria-describedby=\"email-hint email-error\" aria-invalid=\"true\""));
    assert!(body.contains("id=\"kind-error\""));
    assert!(!body.contains("id=\"customer_id-error\""), "a valid field has no error");
    // What was typed is kept, escaped.
    assert!(body.contains("value=\"ann at example\"") && body.contains("value=\"call me\""));
    assert!(body.contains("value=\"C-1042\"") && body.contains(&long));
    assert!(body.contains("<option value=\"us_ca\" selected>"));
    // Nothing was stored, and markup in the input stays text.
    let csrf = page.csrf();
    let page =
        browser.post(&format!("/p/{org}/request"), &[("csrf", &csrf), ("email", "<b>x</b>"), ("website", "")]).await;
    assert!(
        page.body.contains("value=\"&#60;b&#62;x&#60;/b&#62;\"") && !page.body.contains("<b>x</b>"),
        "{}",
        page.body
    );
    let (_, list) = app.get("/v1/requests", Some(&admin)).await;
    assert_eq!(list["total"], 0);

    // The honeypot: a filled-in hidden field refuses the form.
    let csrf = page.csrf();
    let mut fields = valid_form(&csrf, "bot@example.com");
    fields.retain(|(k, _)| *k != "website");
    fields.push(("website", "https://spam.example"));
    let bot = browser.post(&format!("/p/{org}/request"), &fields).await;
    assert_eq!(bot.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bot.body.contains("href=\"#website\""));
    let (_, list) = app.get("/v1/requests", Some(&admin)).await;
    assert_eq!(list["total"], 0, "nothing stored for the bot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_need_the_visitors_csrf_token() {
    let app = spawn_app(Backend::Sqlite).await;
    let (org, admin) = organization(&app).await;
    // No cookie, no token.
    let stranger = Console::new(&app.base);
    let page = stranger.post(&format!("/p/{org}/request"), &valid_form("", "ann@example.com")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("csrf_failed"));
    // Another visitor's token.
    let alice = Console::new(&app.base);
    let token = alice.get(&format!("/p/{org}/request")).await.csrf();
    let mallory = Console::new(&app.base);
    mallory.get(&format!("/p/{org}/request")).await;
    let page = mallory.post(&format!("/p/{org}/request"), &valid_form(&token, "ann@example.com")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let (_, list) = app.get("/v1/requests", Some(&admin)).await;
    assert_eq!(list["total"], 0);
    // The visitor cookie: HttpOnly, SameSite=Strict, on /p only.
    let first = Console::new(&app.base).get(&format!("/p/{org}/")).await;
    let cookie = first.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("lethe_visitor=") && cookie.contains("Path=/p;") && cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Strict"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_address_gets_the_same_answer() {
    let app = spawn_app(Backend::Sqlite).await;
    let (org, admin) = organization(&app).await;
    // Ann has made requests before (one completed by hand); Zoe never has.
    let earlier = app.verified(&org, "access", "gdpr", "ann@example.com").await;
    let (status, _) =
        app.post(&format!("/v1/requests/{}/cancel", earlier.id), Some(&admin), json!({ "reason": "duplicate" })).await;
    assert_eq!(status, StatusCode::OK);
    let mut pages = Vec::new();
    for email in ["ann@example.com", "zoe@example.com"] {
        let browser = Console::new(&app.base);
        let answer = submit(&browser, &org, email, "en").await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER);
        let to = path_of(&answer);
        assert!(to.starts_with(&format!("/p/{org}/verify/")), "{to}");
        assert!(!to.contains('@') && !to.contains("example"), "no personal data in the address");
        let token = to.rsplit('/').next().unwrap().to_owned();
        let page = browser.get(&to).await;
        assert_eq!(page.status, StatusCode::OK);
        pages.push(page.body.replace(&token, "TOKEN").replace(&page.csrf(), "CSRF"));
    }
    assert_eq!(pages[0], pages[1], "the pages differ only in their tokens");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_are_rate_limited_per_address() {
    let app = spawn_app_with(Backend::Sqlite, Mode::All, |s| s.submissions_per_email_per_hour = 2).await;
    let (org, _) = organization(&app).await;
    let browser = Console::new(&app.base);
    for _ in 0..2 {
        assert_eq!(submit(&browser, &org, "ann@example.com", "de").await.status, StatusCode::SEE_OTHER);
    }
    let third = submit(&browser, &org, "Ann@Example.com", "de").await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS, "the same address in any case");
    assert!(
        third.body.contains("zu viele Anträge") && third.body.contains("value=\"Ann@Example.com\""),
        "{}",
        third.body
    );
    assert_eq!(submit(&browser, &org, "bob@example.com", "de").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_rate_limited_per_client_ip() {
    let app = spawn_app_with(Backend::Sqlite, Mode::All, |s| s.public_rate_per_minute = 5).await;
    let (org, _) = organization(&app).await;
    let browser = Console::new(&app.base);
    let statuses: Vec<StatusCode> = {
        let mut all = Vec::new();
        for _ in 0..8 {
            all.push(browser.get(&format!("/p/{org}/")).await.status);
        }
        all
    };
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
}

both_backends! {
    async fn a_request_goes_from_the_form_to_its_status_in_german(backend: Backend) {
        let app = spawn_app(backend).await;
        let (org, admin) = organization(&app).await;
        let email = "anna.schmidt@example.com";
        let browser = Console::new(&app.base);
        let answer = submit(&browser, &org, email, "de").await;
        let verify = path_of(&answer);
        let token = verify.rsplit('/').next().unwrap().to_owned();
        let page = browser.get(&verify).await;
        assert!(page.body.contains("Bestätigen Sie Ihre E-Mail-Adresse"), "{}", page.body);

        // The code e-mail is in German, with the organization's name and a confirmation link.
        let messages = mailbox::wait_for_messages_to(&app.outbox, email, 1).await;
        let text = mailbox::part(&messages[0], "text/plain").unwrap();
        assert!(text.starts_with("Guten Tag,") && text.contains("Datenschutzantrag") && text.contains(&org), "{text}");
        assert!(text.contains(&format!("http://lethe.test/p/{org}/verify/{token}?code=")), "{text}");
        let html = mailbox::part(&messages[0], "text/html").unwrap();
        assert!(html.contains("lang=\"de\""), "{html}");
        let code = mailbox::code_in(&messages[0]);

        // The link fills the code in; a wrong code is explained next to the field.
        let linked = browser.get(&format!("{verify}?code={code}")).await;
        assert!(linked.body.contains(&format!("value=\"{code}\"")));
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let page = browser.post(&verify, &[("csrf", &linked.csrf()), ("code", wrong)]).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains("Verbleibende Versuche: 4") && page.body.contains("aria-describedby=\"code-hint code-error\""));
        // A new code too soon is refused with the wait.
        let page = browser.post(&format!("{verify}/resend"), &[("csrf", &page.csrf())]).await;
        assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(page.body.contains("Sekunden"), "{}", page.body);
        let page = browser.post(&verify, &[("csrf", &page.csrf()), ("code", &code)]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        let status_path = path_of(&page);
        assert_eq!(status_path, format!("/p/{org}/status/{token}?done=verified"));

        // The status page in plain German: received, due date, cancel button.
        let status = browser.get(&status_path).await;
        assert_eq!(status.text_of("state").as_deref(), Some("Eingegangen"));
        assert_eq!(status.text_of("kind").as_deref(), Some("Meine Daten löschen"));
        assert!(status.body.contains("id=\"cancel\""));
        // The same page opened from another browser, with English preferred, is still German:
        // the request's own language.
        let other = app.http.get(app.url(&status_path)).header("accept-language", "en").send().await.unwrap();
        assert!(other.text().await.unwrap().contains("lang=\"de\""));
        // The received mail, in German, with the status link.
        let messages = mailbox::wait_for_messages_to(&app.outbox, email, 2).await;
        let received = mailbox::part(&messages[1], "text/plain").unwrap();
        assert!(received.contains("vielen Dank") && received.contains(&format!("/p/{org}/status/{token}")), "{received}");

        // An operator denies: the page shows why and the right to complain; so does the mail.
        let id = between(&status.body, "<code>", "</code>").unwrap();
        let (code_status, body) = app
            .post(&format!("/v1/requests/{id}/deny"), Some(&admin), json!({ "ground": "legal_exception", "detail": "Rechnungen bleiben 10 Jahre." }))
            .await;
        assert_eq!(code_status, StatusCode::OK, "{body}");
        let denied = browser.get(&format!("/p/{org}/status/{token}")).await;
        assert_eq!(denied.text_of("state").as_deref(), Some("Abgelehnt"));
        assert!(denied.body.contains("Es gilt eine gesetzliche Ausnahme. Rechnungen bleiben 10 Jahre."));
        assert!(denied.body.contains("Aufsichtsbehörde") && !denied.body.contains("id=\"cancel\""));
        let messages = mailbox::wait_for_messages_to(&app.outbox, email, 3).await;
        let mail = mailbox::part(&messages[2], "text/plain").unwrap();
        assert!(mail.contains("abgelehnt") && mail.contains("Rechnungen bleiben 10 Jahre.") && mail.contains("Aufsichtsbehörde"), "{mail}");

        // The status link token: an altered one is the same 404 as any unknown page.
        let mut altered = token.clone().into_bytes();
        altered[10] = if altered[10] == b'A' { b'B' } else { b'A' };
        let page = browser.get(&format!("/p/{org}/status/{}", String::from_utf8(altered).unwrap())).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        // ... and another organization's portal does not show it.
        let (other_org, _) = organization(&app).await;
        assert_eq!(browser.get(&format!("/p/{other_org}/status/{token}")).await.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_cancels_while_the_request_waits() {
    let app = spawn_app(Backend::Sqlite).await;
    let (org, admin) = organization(&app).await;
    let browser = Console::new(&app.base);
    let verify = path_of(&submit(&browser, &org, "sven@example.com", "sv").await);
    let token = verify.rsplit('/').next().unwrap().to_owned();
    let status = browser.get(&format!("/p/{org}/status/{token}")).await;
    assert_eq!(status.text_of("state").as_deref(), Some("Väntar på din bekräftelse"));
    assert!(status.body.contains("id=\"confirm-email\""));
    let page = browser.post(&format!("/p/{org}/status/{token}/cancel"), &[("csrf", &status.csrf())]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let page = browser.get(&path_of(&page)).await;
    assert_eq!(page.text_of("state").as_deref(), Some("Återkallad"));
    assert!(page.text_of("notice").unwrap().contains("återkallats") && !page.body.contains("id=\"cancel\""));
    let (_, list) = app.get("/v1/requests?state=canceled", Some(&admin)).await;
    assert_eq!(list["total"], 1);
    // A verification page of a request past verification goes to its status.
    let again = browser.get(&verify).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_settings_are_validated_and_shown() {
    let app = spawn_app(Backend::Sqlite).await;
    let (org, admin) = organization(&app).await;
    let (status, body) = app
        .patch(
            "/v1/organization",
            &admin,
            json!({ "portal": { "colour": "red", "privacy_policy_url": "http://acme.example/privacy", "logo": { "content_base64": STANDARD.encode(b"<svg/>") }, "ask_phone": null } }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(
        fields,
        ["portal.colour", "portal.privacy_policy_url", "portal.ask_phone", "portal.logo.content_base64"]
    );
    let (status, _) = app.patch("/v1/organization", &admin, json!({ "portal": { "shade": "#000000" } })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "unknown fields are refused");
    let big = STANDARD.encode([b"\x89PNG\r\n\x1a\n".as_slice(), &vec![0u8; 33 * 1024]].concat());
    let (status, body) =
        app.patch("/v1/organization", &admin, json!({ "portal": { "logo": { "content_base64": big } } })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let png = [b"\x89PNG\r\n\x1a\n".as_slice(), b"a tiny test image"].concat();
    let (status, body) = app
        .patch(
            "/v1/organization",
            &admin,
            json!({ "portal": { "colour": "#FFE600", "privacy_policy_url": "https://acme.example/privacy", "logo": { "content_base64": STANDARD.encode(&png) }, "ask_customer_id": true } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["portal"],
        json!({ "path": format!("/p/{org}/"), "colour": "#ffe600", "privacy_policy_url": "https://acme.example/privacy", "logo_type": "image/png", "ask_phone": false, "ask_customer_id": true, "publish_metrics": false })
    );
    let logo = app.http.get(app.url(&format!("/p/{org}/logo"))).send().await.unwrap();
    assert_eq!(logo.headers()["content-type"], "image/png");
    assert_eq!(logo.bytes().await.unwrap().to_vec(), png);
    let css = app.http.get(app.url(&format!("/p/{org}/brand.css"))).send().await.unwrap().text().await.unwrap();
    assert!(css.contains("--brand: #ffe600; --brand-ink: #000000;"), "dark text on a light colour: {css}");
    let start = app.http.get(app.url(&format!("/p/{org}/"))).send().await.unwrap().text().await.unwrap();
    assert!(
        start.contains(&format!("src=\"/p/{org}/logo\"")) && start.contains("href=\"https://acme.example/privacy\"")
    );
    let form = app.http.get(app.url(&format!("/p/{org}/request"))).send().await.unwrap().text().await.unwrap();
    assert!(form.contains("id=\"customer_id\"") && !form.contains("id=\"phone\""));

    // The e-mails carry the branding too.
    let req = app.submit(&org, "access", "gdpr", "ola@example.com").await;
    let messages = mailbox::wait_for_messages_to(&app.outbox, "ola@example.com", 1).await;
    let html = mailbox::part(&messages[0], "text/html").unwrap();
    assert!(html.contains("#ffe600") && html.contains(&format!("http://lethe.test/p/{org}/logo")), "{html}");
    assert!(html.contains("https://acme.example/privacy"));
    assert!(!req.id.is_empty());

    // null removes the logo and the link.
    let (status, body) =
        app.patch("/v1/organization", &admin, json!({ "portal": { "logo": null, "privacy_policy_url": null } })).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["portal"]["logo_type"].is_null() && body["portal"]["privacy_policy_url"].is_null());
    assert_eq!(app.http.get(app.url(&format!("/p/{org}/logo"))).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_download_page_describes_the_package_and_its_expiry() {
    let app = spawn_app(Backend::Sqlite).await;
    let (org, admin) = organization(&app).await;
    let email = "dora@example.com";
    let _store = lethe_tests::portal::people_store(&app, &admin, &[email, "eve@example.com"]).await;
    let browser = Console::new(&app.base);
    let form = browser.get(&format!("/p/{org}/request?lang=en")).await;
    let csrf = form.csrf();
    let mut fields = valid_form(&csrf, email);
    fields.retain(|(k, _)| *k != "kind");
    fields.push(("kind", "access"));
    let verify = path_of(&browser.post(&format!("/p/{org}/request"), &fields).await);
    let code = app.code_for(email, 1).await;
    let page = browser.get(&verify).await;
    let status_path = path_of(&browser.post(&verify, &[("csrf", &page.csrf()), ("code", &code)]).await);
    let status_path = status_path.split('?').next().unwrap().to_owned();
    let (_, list) = app.get("/v1/requests", Some(&admin)).await;
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    app.post(&format!("/v1/requests/{id}/approve"), Some(&admin), json!({})).await;
    let token = lethe_tests::package::export_token(&app, email).await;

    // The mail links the page; the page counts no download.
    let message = mailbox::wait_for_message_with(&app.outbox, email, "/v1/exports/").await;
    let mail = mailbox::part(&message, "text/plain").unwrap();
    assert!(mail.contains(&format!("http://lethe.test/p/{org}/download/{token}")), "{mail}");
    let page = browser.get(&format!("/p/{org}/download/{token}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.text_of("downloads-left").as_deref(), Some("10"));
    assert!(page.text_of("expires").unwrap().ends_with("UTC"));
    assert!(page.body.contains("<tr><td>people</td><td>people</td><td>1</td></tr>"), "{}", page.body);
    assert!(page.body.contains(&format!("href=\"/v1/exports/{token}\"")));
    let again = browser.get(&format!("/p/{org}/download/{token}")).await;
    assert_eq!(again.text_of("downloads-left").as_deref(), Some("10"), "looking is not downloading");
    assert_eq!(lethe_tests::package::download(&app, &token).await.status(), StatusCode::OK);
    assert_eq!(
        browser.get(&format!("/p/{org}/download/{token}")).await.text_of("downloads-left").as_deref(),
        Some("9")
    );
    // The status page says the copy is ready, when it was mailed and for how long, and never
    // links the download (its token is known to whoever submitted the request).
    let status = browser.get(&status_path).await;
    let ready = status.text_of("export-ready").unwrap_or_else(|| panic!("{}", status.body));
    assert!(ready.contains("UTC") && ready.contains("(downloads left: 9)"), "{ready}");
    assert!(!status.body.contains("/v1/exports/") && !status.body.contains("/download/"), "{}", status.body);
    // Another organization's portal, an altered token: not found.
    let (other, _) = organization(&app).await;
    assert_eq!(browser.get(&format!("/p/{other}/download/{token}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(browser.get(&format!("/p/{org}/download/{}x", &token[..63])).await.status, StatusCode::NOT_FOUND);

    // Expired: the page says so and how to ask again.
    lethe_tests::portal::expire_exports(&app).await;
    let page = browser.get(&format!("/p/{org}/download/{token}")).await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(page.text_of("gone").unwrap().contains("make a new request"), "{}", page.body);
    assert!(page.body.contains(&format!("href=\"/p/{org}/request?kind=access\"")));
    let status = browser.get(&status_path).await;
    assert!(status.text_of("export-gone").unwrap().contains("make a new request"), "{}", status.body);
    assert!(status.body.contains(&format!("href=\"/p/{org}/request?kind=access\"")));
}
