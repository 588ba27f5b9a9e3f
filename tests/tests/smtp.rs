//! Mail through a real SMTP server process on loopback (aiosmtpd).

use lethe_api::engine::Mode;
use lethe_tests::app::org_slug;
use lethe_tests::mailbox::{code_in, recipient, wait_for_messages};
use lethe_tests::smtp::SmtpServer;
use lethe_tests::{Backend, spawn_app_with};
use lethe_worker::mail::{Branding, Mailer, VerificationCodeMail};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mailer_delivers_over_smtp() {
    let server = SmtpServer::start();
    let mailer = Mailer::smtp(&server.url(), "Lethe <privacy@lethe.test>").unwrap();
    assert!(mailer.delivers());
    let mail = VerificationCodeMail {
        branding: Branding::plain("Acme"),
        code: "314159".into(),
        ttl_minutes: 15,
        verify_url: None,
    };
    mailer.send("ola@example.com", &mail).await.unwrap();
    let messages = wait_for_messages(&server.maildir, 1).await;
    assert_eq!(recipient(&messages[0]), "ola@example.com");
    assert_eq!(code_in(&messages[0]), "314159");
    assert!(messages[0].contains("multipart/alternative"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_a_transient_error_without_the_address() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mailer = Mailer::smtp(&format!("smtp://127.0.0.1:{port}"), "privacy@lethe.test").unwrap();
    let mail = VerificationCodeMail {
        branding: Branding::plain("Acme"),
        code: "000001".into(),
        ttl_minutes: 15,
        verify_url: None,
    };
    let err = mailer.send("private.person@example.com", &mail).await.unwrap_err();
    assert!(matches!(err, lethe_worker::mail::MailError::Delivery { transient: true, .. }), "{err}");
    assert!(!err.to_string().contains("private.person"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_end_to_end_over_smtp() {
    let server = SmtpServer::start();
    let url = server.url();
    let app = spawn_app_with(Backend::Sqlite, Mode::All, |s| s.smtp_url = Some(url)).await;
    let org = org_slug();
    app.admin(&org).await;
    let req = app.submit(&org, "access", "gdpr", "Pia@Example.com").await;
    let messages = wait_for_messages(&server.maildir, 1).await;
    assert_eq!(recipient(&messages[0]), "pia@example.com");
    let (status, view) = app
        .post(
            &format!("/v1/requests/{}/verify", req.id),
            None,
            json!({"token": req.token, "code": code_in(&messages[0])}),
        )
        .await;
    assert_eq!((status, view["state"].as_str()), (StatusCode::OK, Some("pending_approval")));
    assert!(wait_for_messages(&app.outbox, 0).await.is_empty(), "nothing went to the file outbox");
}
