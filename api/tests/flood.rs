//! A flood of sign-ins against the real `lethe` binary (SQLite, as `cargo run` starts it): 500 at
//! once, as from many addresses each under its rate limit (the per-address budgets are set out
//! of the way, so the bound on password hashing is what holds). The process's peak memory stays
//! under 300 MiB, every answer is a checked refusal (`401`) or the documented overload answer
//! (`503 overloaded` with `Retry-After`), never another 5xx, and an admin's API calls during the
//! flood are answered as fast as before it (within 200 ms, or a few times the same calls' time
//! just before the flood when the machine itself is that slow).
//!
//! `LETHE_FLOOD_BINARY` runs the same flood against another build (an older one, for a baseline).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const PASSWORD: &str = "a long flood test password";
const FLOOD: usize = 500;

/// A running engine: the child process, its address and its data directory.
struct Engine {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self._dir.path().join("engine.log")).unwrap_or_default();
            eprintln!("the engine's log:\n{log}");
        }
    }
}

fn binary() -> String {
    std::env::var("LETHE_FLOOD_BINARY").unwrap_or_else(|_| env!("CARGO_BIN_EXE_lethe").to_owned())
}

fn command(dir: &std::path::Path) -> Command {
    let mut command = Command::new(binary());
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LETHE_DATA_DIR", dir)
        .env("LETHE_LISTEN", "127.0.0.1:0")
        .env("LETHE_LOG", "warn")
        // Many addresses, each under its budget: the per-address limits are not what is tested.
        .env("LETHE_PUBLIC_RATE_PER_MINUTE", "1000000")
        .env("LETHE_SIGN_IN_RATE_PER_MINUTE", "1000000");
    command
}

/// Creates the admin, starts the engine and waits until it prints its address.
fn start() -> Engine {
    let dir = tempfile::tempdir().unwrap();
    let mut create = command(dir.path())
        .args(["operator", "create", "--email", "admin@flood.test", "--org", "flood", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    create.stdin.take().unwrap().write_all(PASSWORD.as_bytes()).unwrap();
    assert!(create.wait().unwrap().success(), "creating the admin");
    let log = std::fs::File::create(dir.path().join("engine.log")).unwrap();
    let mut child = command(dir.path()).stdout(Stdio::piped()).stderr(log).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| line.trim().strip_prefix("API:").map(|api| api.trim().trim_end_matches("/v1").to_owned()));
    // Keep reading what it prints, so its later lines do not meet a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Engine { child, base: base.expect("the engine printed its address"), _dir: dir }
}

/// The process's peak resident memory so far, in MiB (Linux's `VmHWM`).
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
}

/// The time of one admin call (`GET /v1/requests`), which must succeed.
async fn admin_call(http: &reqwest::Client, base: &str, token: &str) -> Duration {
    let started = Instant::now();
    let response = http.get(format!("{base}/v1/requests")).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status(), 200, "the admin's call");
    response.bytes().await.unwrap();
    started.elapsed()
}

/// Admin calls one after another until `done` says the flood is over (at least `n`): their
/// times, sorted.
async fn admin_calls_until(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    n: usize,
    done: impl Fn() -> bool,
) -> Vec<Duration> {
    let mut times = Vec::new();
    while times.len() < n || !done() {
        times.push(admin_call(http, base, token).await);
    }
    times.sort();
    times
}

/// One sign-in with a wrong password for an unknown address: the status, and whether a
/// `503` carried `overloaded` and `Retry-After`.
async fn wrong_sign_in(http: reqwest::Client, base: String, n: usize) -> (u16, bool) {
    let body = json!({"email": format!("guess{n}@flood.test"), "password": "a wrong password guess"});
    let response = http.post(format!("{base}/v1/auth/login")).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    let retry = response.headers().contains_key("retry-after");
    let problem: Value = response.json().await.unwrap_or(Value::Null);
    (status, status != 503 || (retry && problem["code"] == "overloaded"))
}

/// Sends the 500 sign-ins at once from a thread with a runtime of its own; its result is every
/// answer's status and whether a `503` was the documented one.
fn flood(base: String) -> std::thread::JoinHandle<Vec<(u16, bool)>> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async {
            let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
            let sent: Vec<_> = (0..FLOOD).map(|n| tokio::spawn(wrong_sign_in(http.clone(), base.clone(), n))).collect();
            let mut answers = Vec::with_capacity(FLOOD);
            for answer in sent {
                answers.push(answer.await.unwrap());
            }
            answers
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_concurrent_sign_ins_stay_bounded() {
    let engine = start();
    let http = reqwest::Client::new();
    let login = json!({"email": "admin@flood.test", "password": PASSWORD});
    let token = http.post(format!("{}/v1/auth/login", engine.base)).json(&login).send().await.unwrap();
    let token: Value = token.json().await.unwrap();
    let token = token["access_token"].as_str().expect("the admin signs in").to_owned();
    let before = admin_calls_until(&http, &engine.base, &token, 21, || true).await[10];

    // The flood comes from a runtime of its own (as from other machines), so the admin's calls
    // do not wait behind the test's own 500 connections; the admin works all through it.
    let flood = flood(engine.base.clone());
    let started = Instant::now();
    let calls = admin_calls_until(&http, &engine.base, &token, 21, || flood.is_finished()).await;
    let (during, p90, slowest) = (calls[calls.len() / 2], calls[calls.len() * 9 / 10], calls[calls.len() - 1]);
    let lasted = started.elapsed();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for (status, documented) in flood.join().unwrap() {
        assert!(documented, "a 503 without `overloaded` and Retry-After");
        *statuses.entry(status).or_default() += 1;
    }
    let peak = peak_rss_mib(engine.child.id());
    println!(
        "flood: {statuses:?} in {lasted:?}; peak RSS {peak} MiB; admin median {before:?} before, {during:?} during \
         ({} calls, 90th percentile {p90:?}, slowest {slowest:?})",
        calls.len()
    );

    assert!(statuses.keys().all(|s| [401, 503].contains(s)), "only checked refusals and overload: {statuses:?}");
    assert!(statuses.get(&401).is_some_and(|n| *n > 0), "some sign-ins were checked: {statuses:?}");
    assert!(peak < 300, "peak RSS {peak} MiB");
    let bound = Duration::from_millis(200).max(before * 4);
    assert!(during <= bound, "admin median {during:?} during the flood, {before:?} before");
}
