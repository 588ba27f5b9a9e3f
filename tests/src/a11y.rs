//! The browser tests' accessibility audit of every page state they visit: axe-core (from npm,
//! pinned in `tests/a11y/package.json`, installed by `.ci/run` with `npm ci`) injected through
//! WebDriver and run for WCAG 2.0 and 2.1, levels A and AA, failing on any violation; then the
//! page at a 320 px wide window, failing if anything makes the document wider than that (WCAG
//! 1.4.10, reflow). Each waits for its condition (the window's new width), never for time.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fantoccini::Client;
use serde_json::{Value, json};

/// The tags axe runs: WCAG 2.0 and 2.1, A and AA.
const TAGS: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// The browser tests' window (see [`crate::browser::browser`]).
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 1000;

/// The narrowest viewport WCAG 1.4.10 asks pages to reflow in.
pub const REFLOW_WIDTH: u32 = 320;

fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("a11y/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("{}: {e}; install it with `npm ci --prefix tests/a11y` (.ci/run does)", path.display())
        })
    })
}

/// Runs axe on the page the browser shows; the violations, each with its rule, impact, help and
/// up to five of the elements it found.
pub async fn violations(client: &Client) -> Value {
    let loaded = client.execute("return typeof window.axe === 'object'", vec![]).await.unwrap();
    if loaded != json!(true) {
        client.execute(&format!("{}\nreturn true;", axe_source()), vec![]).await.expect("axe-core loads");
    }
    let script = "const done = arguments[arguments.length - 1];\
        axe.run(document, { runOnly: { type: 'tag', values: arguments[0] }, resultTypes: ['violations'] })\
          .then(r => done(r.violations.map(v => ({ rule: v.id, impact: v.impact, help: v.help,\
             nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary) }))))\
          .catch(e => done('axe failed: ' + e));";
    client.execute_async(script, vec![json!(TAGS)]).await.expect("axe runs")
}

/// Resizes the window to `width` and waits until the page has laid itself out at it.
async fn resize(client: &Client, width: u32) {
    client.set_window_size(width, HEIGHT).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let inner = client.execute("return window.innerWidth", vec![]).await.unwrap();
        if inner.as_u64() == Some(u64::from(width)) {
            return;
        }
        assert!(Instant::now() < deadline, "the window never became {width} px wide (it is {inner})");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How wide the document is at a [`REFLOW_WIDTH`] window, and, when it is wider, the elements
/// sticking out or overflowing (tag, id and class, their right edge and content width).
pub async fn width_at_320(client: &Client) -> (u64, Value) {
    resize(client, REFLOW_WIDTH).await;
    let script = "const w = document.scrollingElement.scrollWidth;\
        const out = w <= arguments[0] ? [] : [...document.querySelectorAll('body *')]\
          .filter(e => !(e.parentElement && e.parentElement.closest('.table-scroll, .scroll'))\
             || getComputedStyle(e).position === 'absolute')\
          .filter(e => e.getBoundingClientRect().right > arguments[0] + 1\
             || (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible'))\
          .slice(0, 8).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : '')\
             + ' right ' + Math.round(e.getBoundingClientRect().right) + ', content ' + e.scrollWidth + ' in ' + e.clientWidth);\
        return [w, out];";
    let measured = client.execute(script, vec![json!(REFLOW_WIDTH)]).await.unwrap();
    resize(client, WIDTH).await;
    (measured[0].as_u64().unwrap_or(u64::MAX), measured[1].clone())
}

/// Audits the page the browser shows (`what` names it in a failure): no WCAG 2.1 A/AA
/// violation, and no wider than the screen at 320 px.
pub async fn audit(client: &Client, what: &str) {
    let found = violations(client).await;
    assert_eq!(found, json!([]), "{what}: WCAG 2.1 A/AA violations:\n{found:#}");
    let (width, sticking_out) = width_at_320(client).await;
    assert!(
        width <= u64::from(REFLOW_WIDTH),
        "{what}: {width} px wide at a {REFLOW_WIDTH} px window; sticking out: {sticking_out:#}"
    );
}
