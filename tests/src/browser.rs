//! A real headless Chromium driven over WebDriver (chromedriver and fantoccini), for the
//! browser tests of the console and the portal. `.ci/run` installs `chromium` and
//! `chromium-driver`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

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

/// Clicks the element `css`.
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
