//! A real headless Chromium driven over WebDriver (chromedriver and fantoccini), for the
//! browser tests of the console and the portal: the driver and the browser, filling in and
//! waiting for pages, downloads, signing in to the console with a second factor, and
//! screenshots. `.ci/run` installs `chromium` and `chromium-driver`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::a11y::audit;
use crate::console::{PASSWORD, totp_code};

/// A chromedriver process on a free port, stopped on drop, with its own browser profile and
/// download directory.
pub struct Driver {
    child: Child,
    url: String,
    profile: tempfile::TempDir,
    downloads: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Where the browser saves downloads.
    pub fn downloads(&self) -> &Path {
        self.downloads.path()
    }
}

/// Starts chromedriver and waits until it answers.
pub async fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver must be installed (Debian: chromium chromium-driver; .ci/run installs them)");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{url}/status")).await.is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Driver { child, url, profile: tempfile::tempdir().unwrap(), downloads: tempfile::tempdir().unwrap() }
}

/// A headless Chromium session (1280x1000) with `accept_language` as its preferred languages.
pub async fn browser(driver: &Driver, accept_language: &str) -> Client {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1000",
    ]
    .iter()
    .map(|a| a.to_string())
    .chain([format!("--user-data-dir={}", driver.profile.path().display())])
    .collect::<Vec<_>>();
    let prefs = json!({
        "intl.accept_languages": accept_language,
        "download.default_directory": driver.downloads.path().display().to_string(),
        "download.prompt_for_download": false,
    });
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), json!({ "args": args, "binary": "/usr/bin/chromium", "prefs": prefs }));
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector).capabilities(caps).connect(&driver.url).await.expect("a Chromium session")
}

/// Types `text` into the element `css`.
pub async fn fill(client: &Client, css: &str, text: &str) {
    client.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("no {css}")).send_keys(text).await.unwrap();
}

/// Selects `value` in the drop-down `css`.
pub async fn choose(client: &Client, css: &str, value: &str) {
    client.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("no {css}")).select_by_value(value).await.unwrap();
}

/// Clicks the element `css`, which must not load a new page (a checkbox, a radio button, a
/// `<details>` summary, a download link); links and submit buttons go through [`follow`], which
/// waits for the page they load.
pub async fn click(client: &Client, css: &str) {
    client.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("no {css}")).click().await.unwrap();
}

/// Clicks the element `css`, which submits a form or follows a link, and waits until the
/// browser shows the new page (a WebDriver click may return before the navigation starts).
pub async fn follow(client: &Client, css: &str) {
    let old = client.find(Locator::Css("html")).await.unwrap();
    click(client, css).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    // The old document's element goes stale once the new page has replaced it.
    while old.tag_name().await.is_ok() {
        assert!(Instant::now() < deadline, "clicking {css} showed no new page");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    while client.execute("return document.readyState", vec![]).await.ok() != Some(json!("complete")) {
        assert!(Instant::now() < deadline, "the page after {css} never finished loading");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The text of the element `css`.
pub async fn text(client: &Client, css: &str) -> String {
    client.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("no {css}")).text().await.unwrap()
}

/// The current value of the form field `css`.
pub async fn value(client: &Client, css: &str) -> String {
    let field = client.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("no {css}"));
    field.prop("value").await.unwrap().unwrap_or_default()
}

/// Reloads until `css` is on the page.
pub async fn reload_until(client: &Client, css: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.find(Locator::Css(css)).await.is_err() {
        assert!(Instant::now() < deadline, "{css} never appeared: {}", client.source().await.unwrap());
        tokio::time::sleep(Duration::from_millis(250)).await;
        client.refresh().await.unwrap();
    }
}

/// Waits until the element `css` says `needle` (a submitted form's page may still be loading,
/// or the element found may belong to the page being replaced); returns its text.
pub async fn wait_text(client: &Client, css: &str, needle: &str) -> String {
    until_text(client, css, needle, false).await
}

/// Reloads until the element `css` says `needle` (work the engine does in the background);
/// returns its text.
pub async fn reload_until_text(client: &Client, css: &str, needle: &str) -> String {
    until_text(client, css, needle, true).await
}

async fn until_text(client: &Client, css: &str, needle: &str, reload: bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(if reload { 60 } else { 30 });
    loop {
        if let Ok(element) = client.find(Locator::Css(css)).await
            && let Ok(text) = element.text().await
            && text.contains(needle)
        {
            return text;
        }
        assert!(Instant::now() < deadline, "{css} never said {needle:?}: {}", client.source().await.unwrap());
        tokio::time::sleep(Duration::from_millis(if reload { 250 } else { 100 })).await;
        if reload {
            client.refresh().await.unwrap();
        }
    }
}

/// Waits until the browser has saved a file ending in `.{extension}`; returns its bytes.
pub async fn downloaded(driver: &Driver, extension: &str) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let done = std::fs::read_dir(driver.downloads())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == extension));
        if let Some(path) = done {
            return std::fs::read(path).unwrap();
        }
        assert!(Instant::now() < deadline, "no .{extension} download arrived");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Opens the console's sign-in page at `base` and signs in with the test password.
pub async fn console_sign_in(client: &Client, base: &str, email: &str) {
    client.goto(&format!("{base}/console/sign-in")).await.unwrap();
    fill(client, "#email", email).await;
    fill(client, "#password", PASSWORD).await;
    follow(client, "#sign-in").await;
}

/// Signs in to the console with the password, enrols a TOTP second factor (the QR code loads
/// under the CSP, the first code is computed from the secret the page shows as text, ten
/// recovery codes are shown once), signs out, and signs in again with the password and a TOTP
/// code (the next time step: each is accepted once); lands on the queue. Each page on the way
/// is audited ([`audit`]).
pub async fn console_sign_in_with_totp(client: &Client, base: &str, email: &str) {
    client.goto(&format!("{base}/console/sign-in")).await.unwrap();
    audit(client, "sign-in").await;
    console_sign_in(client, base, email).await;
    client.goto(&format!("{base}/console/mfa")).await.unwrap();
    audit(client, "two-step sign-in, enrolment").await;
    let qr_loaded = client.execute("return document.querySelector('img.qr').naturalWidth", vec![]).await.unwrap();
    assert!(qr_loaded.as_u64().unwrap_or(0) > 0, "the QR code image loads under the CSP");
    let secret = text(client, "#totp-secret").await;
    fill(client, "#code", &totp_code(&secret, 0)).await;
    follow(client, "#confirm-mfa").await;
    audit(client, "two-step sign-in, recovery codes").await;
    let codes = text(client, "#recovery-codes").await;
    assert_eq!(codes.lines().filter(|l| !l.trim().is_empty()).count(), 10, "{codes}");
    follow(client, "#continue").await;
    follow(client, "form[action='/console/sign-out'] button").await;
    console_sign_in(client, base, email).await;
    assert!(client.current_url().await.unwrap().path().ends_with("/sign-in/code"));
    audit(client, "sign-in, second factor").await;
    fill(client, "#code", &totp_code(&secret, 1)).await;
    follow(client, "#verify-code").await;
    assert_eq!(client.current_url().await.unwrap().path(), "/console/");
}

/// `target/artifacts/`, created if missing: screenshots of the browser tests.
pub fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Saves a screenshot of the page as `target/artifacts/<name>`.
pub async fn screenshot(client: &Client, name: &str) {
    let shot = client.screenshot().await.unwrap();
    std::fs::write(artifacts().join(name), shot).unwrap();
}
