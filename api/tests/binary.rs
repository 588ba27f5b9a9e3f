//! The real `lethe` binary: starts with no setup on SQLite, creates the first operator, takes a
//! request from submission to `in_progress`, logs no personal data, leaves every file it wrote
//! readable by its owner only, and stops gracefully.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn lethe(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lethe"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LETHE_QUEUE_POLL_MS", "50");
    cmd
}

/// Starts `lethe` and returns it with the base URL from its banner.
fn start(dir: &Path) -> (Child, String, std::thread::JoinHandle<String>) {
    let mut child = lethe(dir)
        .env("LETHE_LISTEN", "127.0.0.1:0")
        .env("LETHE_LOG", "debug,sqlx=warn,hyper=warn,h2=warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let logs = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    let base = loop {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "lethe exited early; banner so far:\n{banner}");
        banner.push_str(&line);
        if let Some(url) = line.trim().strip_prefix("API:") {
            break url.trim().trim_end_matches("/v1").to_owned();
        }
    };
    std::thread::spawn(move || for _ in stdout.lines() {});
    (child, base, logs)
}

async fn call(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client.request(method.parse().unwrap(), url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let response = req.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_with_no_setup_and_takes_a_request_to_in_progress() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base, logs) = start(dir.path());
    let client = reqwest::Client::new();
    assert_eq!(call(&client, "GET", &format!("{base}/healthz"), None, None).await, (200, Value::String("ok".into())));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("lethe-data/master.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the generated master key is readable by its owner only");
    }

    let created = lethe(dir.path())
        .args([
            "operator",
            "create",
            "--email",
            "dpo@acme.test",
            "--role",
            "admin",
            "--org",
            "acme",
            "--org-name",
            "Acme AB",
        ])
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let out = String::from_utf8(created.stdout).unwrap();
    let password = out.lines().find_map(|l| l.split("): ").nth(1)).expect("a one-time password").trim().to_owned();
    let (status, login) = call(
        &client,
        "POST",
        &format!("{base}/v1/auth/login"),
        None,
        Some(json!({"email": "dpo@acme.test", "password": password})),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    let admin = login["access_token"].as_str().unwrap().to_owned();

    let person = "quinn.private@example.com";
    let (status, submitted) = call(
        &client,
        "POST",
        &format!("{base}/v1/requests"),
        None,
        Some(json!({"organization": "acme", "kind": "erasure", "regime": "gdpr", "email": person})),
    )
    .await;
    assert_eq!(status, 202, "{submitted}");
    let (id, token) =
        (submitted["id"].as_str().unwrap().to_owned(), submitted["status_token"].as_str().unwrap().to_owned());

    let outbox = dir.path().join("lethe-data/outbox");
    let deadline = Instant::now() + Duration::from_secs(30);
    let message = loop {
        if let Some(entry) = std::fs::read_dir(&outbox).ok().and_then(|mut d| d.next()) {
            break std::fs::read_to_string(entry.unwrap().path()).unwrap();
        }
        assert!(Instant::now() < deadline, "no verification mail");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let at = message.find("verification code is ").unwrap() + "verification code is ".len();
    let code = message[at..at + 6].to_owned();
    let (status, _) = call(
        &client,
        "POST",
        &format!("{base}/v1/requests/{id}/verify"),
        None,
        Some(json!({"token": token, "code": code})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(&client, "POST", &format!("{base}/v1/requests/{id}/approve"), Some(&admin), None).await;
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, view) = call(&client, "GET", &format!("{base}/v1/requests/{id}?token={token}"), None, None).await;
        if view["state"] == "in_progress" {
            break;
        }
        assert!(Instant::now() < deadline, "stuck in {}", view["state"]);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // SIGTERM: a graceful stop with exit code 0.
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(40);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "lethe did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    #[cfg(unix)]
    assert_owner_only(&dir.path().join("lethe-data"));

    // Debug-level logs of the whole flow hold no personal data and no secrets.
    let logs = logs.join().unwrap();
    assert!(logs.contains("request submitted") && logs.contains("verification code sent"), "{logs}");
    for secret in [person, "quinn", &code, &token, &password, &admin] {
        assert!(!logs.contains(secret), "the logs contain {secret:?}:\n{logs}");
    }
}

/// Every file under `dir` is `0600`, every directory (`dir` too) `0700`: the binary's umask and
/// the modes Lethe gives what it creates.
#[cfg(unix)]
fn assert_owner_only(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{} is {mode:o}", dir.display());
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            assert_owner_only(&path);
        } else {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} is {mode:o}", path.display());
        }
    }
}

#[test]
fn production_refuses_to_start_without_smtp_or_a_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = lethe(dir.path()).env("LETHE_ENV", "production").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("LETHE_MASTER_KEY"));

    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let out = lethe(dir.path()).env("LETHE_ENV", "production").env("LETHE_MASTER_KEY", key).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("LETHE_SMTP_URL"));
}

#[test]
fn openapi_subcommand_prints_the_checked_in_document() {
    let out = Command::new(env!("CARGO_BIN_EXE_lethe")).arg("openapi").output().unwrap();
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    let checked_in =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json")).unwrap();
    assert!(printed == checked_in, "`lethe openapi` differs from openapi/openapi.json; regenerate it");
}

#[test]
fn help_documents_the_configuration() {
    let out = Command::new(env!("CARGO_BIN_EXE_lethe")).arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for var in
        ["LETHE_DATABASE_URL", "LETHE_LISTEN", "LETHE_DATA_DIR", "LETHE_SMTP_URL", "LETHE_MASTER_KEY", "LETHE_ENV"]
    {
        assert!(help.contains(var), "--help does not mention {var}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_export_verifies_offline_and_tampering_is_named() {
    use lethe_entities::ledger::{self, EntryKind, NewEntry};

    let dir = tempfile::tempdir().unwrap();
    let created =
        lethe(dir.path()).args(["operator", "create", "--email", "dpo@acme.test", "--org", "acme"]).output().unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));

    // Entries as an erasure job appends them.
    let url = format!("sqlite://{}", dir.path().join("lethe-data/lethe.db").display());
    let db = sea_orm::Database::connect(&url).await.unwrap();
    let org = lethe_entities::entity::organization::Model::find_by_slug(&db, "acme").await.unwrap().unwrap().id;
    let entries: Vec<NewEntry> = (0..25)
        .map(|i| NewEntry {
            store: Some("shop".into()),
            table: Some("orders".into()),
            action: Some("delete_row".into()),
            row_count: i,
            ..NewEntry::new(EntryKind::Erasure)
        })
        .collect();
    let txn = lethe_entities::entity::begin_write(&db).await.unwrap();
    ledger::append(&txn, org, &entries).await.unwrap();
    txn.commit().await.unwrap();
    drop(db);

    let export =
        lethe(dir.path()).args(["ledger", "export", "--out", "ledger.jsonl", "--org", "acme"]).output().unwrap();
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    #[cfg(unix)]
    {
        // A file the binary writes without naming a mode is owner-only too (its umask).
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("ledger.jsonl")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let key = lethe(dir.path()).args(["ledger", "public-key"]).output().unwrap();
    assert!(String::from_utf8_lossy(&key.stdout).starts_with("-----BEGIN PUBLIC KEY-----"));
    std::fs::write(dir.path().join("key.pem"), &key.stdout).unwrap();

    // Verification runs anywhere: an empty directory, no configuration, no database.
    let auditor = tempfile::tempdir().unwrap();
    std::fs::copy(dir.path().join("ledger.jsonl"), auditor.path().join("ledger.jsonl")).unwrap();
    std::fs::copy(dir.path().join("key.pem"), auditor.path().join("key.pem")).unwrap();
    let verify = |file: &str| {
        lethe(auditor.path()).args(["ledger", "verify", file, "--public-key", "key.pem"]).output().unwrap()
    };
    let ok = verify("ledger.jsonl");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("OK: 25 entries, 1 checkpoints verified"));
    assert!(!auditor.path().join("lethe-data").exists(), "verify touched no database");

    let text = std::fs::read_to_string(auditor.path().join("ledger.jsonl")).unwrap();
    let tampered = text.replacen("\"row_count\":7,", "\"row_count\":0,", 1);
    assert_ne!(text, tampered);
    std::fs::write(auditor.path().join("tampered.jsonl"), tampered).unwrap();
    let bad = verify("tampered.jsonl");
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("line 9 (entry 7)") && stderr.contains("leaf hash"), "{stderr}");

    let wrong_key = lethe(auditor.path())
        // RFC 8032's first test key: a valid key, but not the one that signed.
        .args([
            "ledger",
            "verify",
            "ledger.jsonl",
            "--public-key",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        ])
        .output()
        .unwrap();
    assert!(!wrong_key.status.success());
    let stderr = String::from_utf8_lossy(&wrong_key.stderr);
    assert!(stderr.contains("checkpoint at tree size 25: signature does not verify"), "{stderr}");
}
