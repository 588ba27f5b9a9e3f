//! Slow clients cannot hold connections: headers that never end, bodies that stop half way,
//! idle keep-alive connections and more connections than the cap, over real sockets.

use std::net::SocketAddr;
use std::time::Duration;

use lethe_api::engine::Mode;
use lethe_api::server::ServerSettings;
use lethe_tests::{Backend, TestApp, spawn_app_with};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// How long a test waits for the server to close a connection before it fails: far more than
/// any timeout configured here, far less than forever.
const OUTER: Duration = Duration::from_secs(30);

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

async fn app(server: ServerSettings) -> TestApp {
    spawn_app_with(Backend::Sqlite, Mode::Serve, |s| s.server = server).await
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn addr(app: &TestApp) -> SocketAddr {
    app.base.trim_start_matches("http://").parse().unwrap()
}

/// Reads until the server closes the connection (EOF or reset); fails after [`OUTER`].
async fn until_closed(stream: &mut TcpStream) -> (Vec<u8>, Duration) {
    let start = Instant::now();
    let mut seen = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(OUTER, read).await.expect("the server closed the connection in time");
    (seen, start.elapsed())
}

/// One HTTP/1.1 response: status, lower-case head, body (by `content-length`).
async fn response(stream: &mut TcpStream) -> (u16, String, Vec<u8>) {
    let read = async {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&seen[..end]).to_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                if seen.len() >= end + 4 + length {
                    let status = head[9..12].parse().unwrap();
                    return (status, head, seen[end + 4..end + 4 + length].to_vec());
                }
            }
            let n = stream.read(&mut buf).await.expect("reading a response");
            assert!(n > 0, "the connection closed before a whole response: {}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(OUTER, read).await.expect("a response in time")
}

/// A connection that has had one `/healthz` answered and is kept alive.
async fn served(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(HEALTHZ).await.unwrap();
    let (status, head, _) = response(&mut stream).await;
    assert_eq!(status, 200, "{head}");
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_that_never_end_are_cut_off_after_the_header_timeout() {
    let app = app(ServerSettings { header_read_timeout: secs(1), ..ServerSettings::default() }).await;
    let mut stream = TcpStream::connect(addr(&app)).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let (seen, took) = until_closed(&mut stream).await;
    assert!(took >= Duration::from_millis(900), "closed after {took:?}");
    // No answer but hyper's bare `408` to a half-read head.
    assert!(seen.is_empty() || seen.starts_with(b"HTTP/1.1 408"), "{}", String::from_utf8_lossy(&seen));

    // The same for a later request on a kept-alive connection.
    let mut stream = served(addr(&app)).await;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    until_closed(&mut stream).await;

    // And for a connection that never sends a byte.
    let mut silent = TcpStream::connect(addr(&app)).await.unwrap();
    let (seen, _) = until_closed(&mut silent).await;
    assert!(seen.is_empty() || seen.starts_with(b"HTTP/1.1 408"), "{}", String::from_utf8_lossy(&seen));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    // The header timeout is far longer: what closes the connection is the idle timeout.
    let settings =
        ServerSettings { header_read_timeout: secs(600), idle_timeout: secs(1), ..ServerSettings::default() };
    let app = app(settings).await;
    let mut stream = served(addr(&app)).await;
    let (seen, took) = until_closed(&mut stream).await;
    assert!(seen.is_empty(), "{}", String::from_utf8_lossy(&seen));
    assert!(took >= Duration::from_millis(900), "closed after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_half_way_is_answered_408_and_the_connection_closed() {
    let app = app(ServerSettings { body_read_timeout: secs(1), ..ServerSettings::default() }).await;
    let mut stream = TcpStream::connect(addr(&app)).await.unwrap();
    let head =
        "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(b"{\"email\": ").await.unwrap();
    let (status, head, body) = response(&mut stream).await;
    assert_eq!(status, 408, "{head}");
    assert!(head.contains("content-type: application/problem+json") && head.contains("connection: close"), "{head}");
    let problem: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["code"], "request_timeout", "{problem}");
    let (rest, _) = until_closed(&mut stream).await;
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_cap_a_connection_is_refused_503_until_one_closes() {
    let settings = ServerSettings { max_connections: 3, ..ServerSettings::default() };
    let app = app(settings).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(served(addr(&app)).await);
    }
    let mut extra = TcpStream::connect(addr(&app)).await.unwrap();
    let (status, head, body) = response(&mut extra).await;
    assert_eq!(status, 503, "{head}");
    assert!(head.contains("retry-after: 1") && head.contains("connection: close"), "{head}");
    assert!(head.contains("content-type: application/problem+json"), "{head}");
    let problem: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((problem["code"].as_str(), problem["status"].as_u64()), (Some("overloaded"), Some(503)), "{problem}");
    until_closed(&mut extra).await;

    // The held connections still work; once one closes, a new connection is served.
    for stream in &mut held {
        stream.write_all(HEALTHZ).await.unwrap();
        assert_eq!(response(stream).await.0, 200);
    }
    drop(held.pop());
    let deadline = Instant::now() + OUTER;
    loop {
        let mut stream = TcpStream::connect(addr(&app)).await.unwrap();
        stream.write_all(HEALTHZ).await.unwrap();
        match response(&mut stream).await.0 {
            200 => break,
            503 => assert!(Instant::now() < deadline, "still refused after a connection closed"),
            other => panic!("status {other}"),
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_work_slower_than_the_idle_timeout_is_not_cut() {
    let settings = ServerSettings { header_read_timeout: secs(1), idle_timeout: secs(1), ..ServerSettings::default() };
    let app = app(settings).await;
    // Requests one after the other on one connection, for longer than the idle timeout.
    let mut stream = served(addr(&app)).await;
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(2500) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        stream.write_all(HEALTHZ).await.unwrap();
        assert_eq!(response(&mut stream).await.0, 200);
    }
    // A body trickling in for longer than the idle timeout (but within the body timeout).
    let body = br#"{"email": "nobody@example.com", "password": "not the password"}"#;
    let head = format!(
        "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(8) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        stream.write_all(chunk).await.unwrap();
    }
    let (status, head, _) = response(&mut stream).await;
    assert!(status != 408 && status < 500, "{head}");
}
