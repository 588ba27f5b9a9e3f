//! A webhook receiver process on loopback, as an integrator would run one: Python's standard
//! HTTP server checking every delivery with the Standard Webhooks specification's reference
//! library from PyPI (`standardwebhooks`), not with Lethe's code.
//!
//! It answers `POST /_config` (JSON: `secrets` to verify with, `status` to answer, `fail` to
//! answer 500 that many times first) and `GET /_received` (every delivery: path, headers,
//! whether each secret verified it, the status answered, the payload).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The reference library's version, when it has to be installed.
const STANDARDWEBHOOKS: &str = "standardwebhooks==1.3.0";

/// The receiver; prints its port, then serves until killed.
const RECEIVER: &str = r#"
import json, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
from standardwebhooks import Webhook

state = {"secrets": [], "status": 200, "fail": 0, "received": []}
lock = threading.Lock()

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, content_type="text/plain"):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path != "/_received":
            return self.answer(404, b"")
        with lock:
            body = json.dumps(state["received"]).encode()
        self.answer(200, body, "application/json")

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path == "/_config":
            with lock:
                state.update(json.loads(raw))
            return self.answer(204, b"")
        headers = {k.lower(): v for k, v in self.headers.items()}
        with lock:
            verified = []
            for secret in state["secrets"]:
                try:
                    Webhook(secret).verify(raw, headers)
                    verified.append(True)
                except Exception:
                    verified.append(False)
            status = state["status"]
            if state["fail"] > 0:
                state["fail"] -= 1
                status = 500
            state["received"].append({
                "path": self.path,
                "id": headers.get("webhook-id"),
                "timestamp": headers.get("webhook-timestamp"),
                "signature": headers.get("webhook-signature"),
                "verified": verified,
                "status": status,
                "payload": json.loads(raw),
            })
        self.answer(status, b"ok" if status < 300 else b"failing on purpose")

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// A `PYTHONPATH` under which `import standardwebhooks` works.
fn python_path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| crate::python::path_for("standardwebhooks", STANDARDWEBHOOKS, "test-python-webhooks"))
}

/// A running receiver; killed on drop.
pub struct Receiver {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    http: reqwest::Client,
}

impl Receiver {
    /// Starts a receiver and waits until it listens.
    pub fn start() -> Self {
        let mut child = Command::new("python3")
            .args(["-c", RECEIVER])
            .env("PYTHONPATH", python_path())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line).expect("the receiver prints its port");
        let port: u16 = line.trim().parse().expect("a port");
        Self { child, base: format!("http://127.0.0.1:{port}"), http: reqwest::Client::new() }
    }

    /// The URL of `path` on the receiver.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sets what the receiver verifies with and answers.
    pub async fn configure(&self, config: Value) {
        let answer = self.http.post(self.url("/_config")).json(&config).send().await.unwrap();
        assert_eq!(answer.status(), 204);
    }

    /// Verifies with `secrets` from now on.
    pub async fn verify_with(&self, secrets: &[&str]) {
        self.configure(json!({ "secrets": secrets })).await;
    }

    /// Every delivery so far.
    pub async fn received(&self) -> Vec<Value> {
        self.http.get(self.url("/_received")).send().await.unwrap().json().await.unwrap()
    }

    /// Waits until `done` holds of the deliveries so far (30 s at most), and returns them.
    pub async fn wait_until(&self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let received = self.received().await;
            if done(&received) {
                return received;
            }
            assert!(Instant::now() < deadline, "waited in vain for {what}; received: {received:#?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The event types of `deliveries` about request `id`, in the order received.
pub fn types_for(deliveries: &[Value], id: &str) -> Vec<String> {
    deliveries
        .iter()
        .filter(|d| d["payload"]["data"]["request"]["id"] == id)
        .map(|d| d["payload"]["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}
