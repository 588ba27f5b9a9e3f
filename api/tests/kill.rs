//! The kill test: `lethe worker` processes are SIGKILLed at random instants while they erase
//! many people from a PostgreSQL shop with real foreign keys. Afterwards every request is
//! completed, every erased person's rows are gone (or unlinked where the map keeps them), the
//! other customers are untouched, each request has exactly one ledger entry per table and
//! action, the ledger's counts add up to exactly what left each table, and the exported ledger
//! verifies offline.
//!
//! Everything is the real binary against real databases: Lethe's own PostgreSQL database and the
//! shop's, both created fresh for the run (and dropped after it), on random ports, in a temporary
//! directory. On failure the directory (every process's stdout and stderr, at `LETHE_LOG=info`)
//! is kept and its path printed.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::Rng;
use sea_orm::{ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, Statement};
use serde_json::{Value, json};

/// People erased (one erasure request each).
const ERASED: usize = 16;
/// Customers nobody asked to erase: they must survive untouched.
const SURVIVORS: usize = 5;
/// Kill rounds before the last worker is left to finish.
const KILL_ROUNDS: usize = 30;
/// A worker lives this long (after its banner) before it is killed.
const LIFETIME_MS: std::ops::RangeInclusive<u64> = 50..=600;
/// The whole erasure phase (kills and the final worker) must finish within this.
const DEADLINE: Duration = Duration::from_secs(240);
const ORG: &str = "acme";
const ADMIN: &str = "dpo@acme.test";
const PASSWORD: &str = "kill-test correct horse battery staple";
const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const DB_PREFIXES: [&str; 2] = ["lethe_kill_", "lethe_killshop_"];

// ---------------------------------------------------------------------------------------------
// The shop: who has which rows.

/// Rows person `p` has in each table (besides one `customers` row).
#[derive(Debug, Clone, Copy)]
struct Rows {
    orders: u64,
    logins: u64,
    notes: u64,
    invoices: u64,
    reviews: u64,
}

fn rows_of(p: usize) -> Rows {
    let p64 = p as u64;
    Rows {
        orders: 1 + p64 % 3,
        // Some people have more than one batch (200 keys) of logins, some none.
        logins: (p64 * 53) % 260,
        notes: p64 % 4,
        invoices: (p64 + 1) % 3,
        reviews: p64 % 3,
    }
}

/// Lines of order `o` of person `p`.
fn items_of(p: usize, o: u64) -> u64 {
    1 + (p as u64 + o) % 4
}

fn customer_id(p: usize) -> i64 {
    1000 + p as i64
}

fn email(p: usize) -> String {
    format!("p{p:02}@kill.example.test")
}

/// Per table: (erasure action as the ledger names it, rows of person `p`).
fn expected(p: usize) -> BTreeMap<&'static str, (&'static str, u64)> {
    let r = rows_of(p);
    let items: u64 = (0..r.orders).map(|o| items_of(p, o)).sum();
    [
        ("customers", ("delete_row", 1)),
        ("orders", ("delete_row", r.orders)),
        ("order_items", ("delete_row", items)),
        ("logins", ("delete_row", r.logins)),
        ("notes", ("delete_row", r.notes)),
        ("invoices", ("pseudonymise", r.invoices)),
        ("reviews", ("update", r.reviews)),
    ]
    .into_iter()
    .filter(|(_, (_, n))| *n > 0)
    .collect()
}

const SHOP_SCHEMA: &str = "
    CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL, name text NOT NULL);
    CREATE INDEX customers_email ON customers (lower(email));
    CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id),
                         total_cents bigint NOT NULL);
    CREATE INDEX orders_customer ON orders (customer_id);
    CREATE TABLE order_items (order_id bigint NOT NULL REFERENCES orders (id), line_no int NOT NULL,
                              sku text NOT NULL, PRIMARY KEY (order_id, line_no));
    CREATE TABLE logins (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id),
                         ip text NOT NULL, at timestamptz NOT NULL DEFAULT now());
    CREATE INDEX logins_customer ON logins (customer_id);
    CREATE TABLE notes (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id),
                        body text NOT NULL);
    CREATE INDEX notes_customer ON notes (customer_id);
    CREATE TABLE invoices (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers (id),
                           amount_cents bigint NOT NULL);
    CREATE INDEX invoices_customer ON invoices (customer_id);
    CREATE TABLE reviews (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers (id),
                          author_name text NOT NULL, body text NOT NULL);
    CREATE INDEX reviews_customer ON reviews (customer_id);
";

const SHOP_MAP: &str = r#"version: 1
tables:
  - name: customers
    primary_key: [id]
    purpose: Your customer account.
    columns:
      - { name: email, identity: email, category: user.contact.email }
      - { name: name, category: user.name }
    erasure: { action: delete_row }
  - name: orders
    primary_key: [id]
    references:
      - { column: customer_id, target: { table: customers, column: id }, direction: from }
    erasure: { action: delete_row }
  - name: order_items
    primary_key: [order_id, line_no]
    references:
      - { column: order_id, target: { table: orders, column: id }, direction: from }
    erasure: { action: delete_row }
  - name: logins
    primary_key: [id]
    columns:
      - { name: ip, category: user.device.ip_address }
    references:
      - { column: customer_id, target: { table: customers, column: id }, direction: from }
    erasure: { action: delete_row }
  - name: notes
    primary_key: [id]
    references:
      - { column: customer_id, target: { table: customers, column: id }, direction: from }
    erasure: { action: delete_row }
  - name: invoices
    primary_key: [id]
    columns:
      - { name: customer_id, category: user.unique_id, action: "null" }
    references:
      - { column: customer_id, target: { table: customers, column: id }, direction: from }
    erasure: { action: keep, basis: "Bookkeeping law: invoices are kept seven years", period: P7Y }
  - name: reviews
    primary_key: [id]
    columns:
      - { name: customer_id, category: user.unique_id, action: "null" }
      - { name: author_name, category: user.name, action: redact, redact_with: "[erased]" }
    references:
      - { column: customer_id, target: { table: customers, column: id }, direction: from }
    erasure: { action: update }
"#;

/// The INSERTs for person `p`. Odd people's addresses are stored in upper case (e-mail matches
/// case-insensitively).
fn shop_rows(p: usize) -> String {
    let (id, r) = (customer_id(p), rows_of(p));
    let stored = if p % 2 == 1 { email(p).to_uppercase() } else { email(p) };
    let mut sql = format!("INSERT INTO customers VALUES ({id}, '{stored}', 'Person {p}');\n");
    for o in 0..r.orders {
        let order = id * 100 + o as i64;
        sql += &format!("INSERT INTO orders VALUES ({order}, {id}, {});\n", 1000 + o * 7);
        sql += &format!(
            "INSERT INTO order_items SELECT {order}, g, 'SKU-' || g FROM generate_series(1, {}) g;\n",
            items_of(p, o)
        );
    }
    for (table, n, values) in [
        ("logins", r.logins, "'10.0.' || (g % 250) || '.1', now()"),
        ("notes", r.notes, "'note ' || g"),
        ("invoices", r.invoices, "100 * g"),
        ("reviews", r.reviews, &format!("'Person {p}', 'review ' || g")),
    ] {
        sql += &format!("INSERT INTO {table} SELECT {id} * 1000 + g, {id}, {values} FROM generate_series(1, {n}) g;\n");
    }
    sql
}

// ---------------------------------------------------------------------------------------------
// Databases.

fn admin_url() -> String {
    std::env::var("LETHE_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn url_for(database: &str) -> String {
    let admin = admin_url();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    format!("{base}/{database}")
}

async fn connect(url: &str) -> DatabaseConnection {
    Database::connect(url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must run at {url} for this test ({e}); .ci/run starts it"))
}

async fn exec(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql).await.unwrap_or_else(|e| panic!("{e}\nin: {sql}"));
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(DatabaseBackend::Postgres, sql))
        .await
        .unwrap_or_else(|e| panic!("{e}\nin: {sql}"))
        .unwrap_or_else(|| panic!("no row from: {sql}"));
    row.try_get_by_index::<i64>(0).unwrap_or_else(|e| panic!("{e}\nin: {sql}"))
}

async fn texts(db: &DatabaseConnection, sql: &str) -> Vec<String> {
    let rows = db
        .query_all_raw(Statement::from_string(DatabaseBackend::Postgres, sql))
        .await
        .unwrap_or_else(|e| panic!("{e}\nin: {sql}"));
    rows.iter().map(|r| r.try_get_by_index::<Option<String>>(0).ok().flatten().unwrap_or_default()).collect()
}

/// Drops this test's databases of earlier runs older than an hour (a run that panicked).
async fn drop_stale(admin: &DatabaseConnection) {
    let hour_ago = time::OffsetDateTime::now_utc().unix_timestamp() - 3600;
    for name in texts(admin, "SELECT datname FROM pg_database WHERE datname LIKE 'lethe\\_kill%'").await {
        let Some(rest) = DB_PREFIXES.iter().find_map(|p| name.strip_prefix(p)) else { continue };
        let created = rest.split('_').next().and_then(|t| t.parse::<i64>().ok()).unwrap_or(i64::MAX);
        if created < hour_ago {
            let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Processes.

/// Everything a `lethe` process of this run needs.
struct Env {
    root: PathBuf,
    database_url: String,
}

impl Env {
    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lethe"));
        cmd.current_dir(&self.root)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LETHE_DATABASE_URL", &self.database_url)
            .env("LETHE_MASTER_KEY", MASTER_KEY)
            .env("LETHE_DATA_DIR", self.root.join("data"))
            .env("LETHE_LISTEN", "127.0.0.1:0")
            .env("LETHE_QUEUE_POLL_MS", "50")
            .env("LETHE_PUBLIC_RATE_PER_MINUTE", "100000")
            .env("LETHE_AUTHENTICATED_RATE_PER_MINUTE", "100000")
            .env("LETHE_LOG", "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn,hyper=warn");
        cmd
    }

    /// Runs a command to completion; panics with its output if it fails.
    fn run(&self, args: &[&str], stdin: Option<&str>) -> String {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting `lethe {}`: {e}", args.join(" ")));
        if let Some(mut pipe) = child.stdin.take() {
            pipe.write_all(stdin.unwrap_or_default().as_bytes()).expect("writing to lethe's stdin");
        }
        let out = child.wait_with_output().unwrap_or_else(|e| panic!("running `lethe {}`: {e}", args.join(" ")));
        assert!(
            out.status.success(),
            "`lethe {}` failed ({}):\n{}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts a long-running `lethe <mode>` with stdout and stderr in `logs/<name>.{out,err}`.
    fn spawn(&self, mode: &str, name: &str) -> Proc {
        let logs = self.root.join("logs");
        std::fs::create_dir_all(&logs).expect("creating the log directory");
        let (out, err) = (logs.join(format!("{name}.out")), logs.join(format!("{name}.err")));
        let file = |p: &Path| File::create(p).unwrap_or_else(|e| panic!("creating {}: {e}", p.display()));
        let child = self
            .command()
            .arg(mode)
            .stdin(Stdio::null())
            .stdout(file(&out))
            .stderr(file(&err))
            .spawn()
            .unwrap_or_else(|e| panic!("starting `lethe {mode}`: {e}"));
        Proc { name: name.to_owned(), child, out, err }
    }
}

/// A running `lethe` process; killed when dropped.
struct Proc {
    name: String,
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Proc {
    /// Waits until stdout has a line containing `needle` and returns it.
    fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(&self.out).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| l.contains(needle)) {
                return line.to_owned();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}) before printing {needle:?}:\n{}", self.name, self.stderr());
            }
            assert!(
                Instant::now() < deadline,
                "{} did not print {needle:?} within 30 s:\n{}",
                self.name,
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// SIGKILL (`Child::kill` on Unix), then reap.
    fn kill(&mut self) {
        if let Err(e) = self.child.kill() {
            panic!("killing {}: {e}", self.name);
        }
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for the graceful stop.
    fn terminate(&mut self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        assert!(status.is_ok_and(|s| s.success()), "sending SIGTERM to {}", self.name);
        let deadline = Instant::now() + Duration::from_secs(40);
        while self.child.try_wait().ok().flatten().is_none() {
            assert!(Instant::now() < deadline, "{} did not stop after SIGTERM:\n{}", self.name, self.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The run's temporary directory, kept (and its path printed) if the test fails.
struct Workdir(Option<tempfile::TempDir>);

impl Drop for Workdir {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(dir) = self.0.take()
        {
            eprintln!("kill test failed; logs kept in {}", dir.keep().display());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP.

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let method: reqwest::Method = method.parse().expect("an HTTP method");
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let response = req.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_else(|e| panic!("{method} {path}: reading the body: {e}"));
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Calls and asserts the status; returns the body.
    async fn expect(&self, status: u16, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Value {
        let (got, value) = self.call(method, path, token, body).await;
        assert_eq!(got, status, "{method} {path}: {value}");
        value
    }
}

fn text(value: &Value, field: &str) -> String {
    value[field].as_str().unwrap_or_else(|| panic!("no string `{field}` in {value}")).to_owned()
}

/// The verification codes in the outbox, by recipient.
fn codes(outbox: &Path) -> BTreeMap<usize, String> {
    let marker = "verification code is ";
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(outbox).into_iter().flatten().flatten() {
        let Ok(message) = std::fs::read_to_string(entry.path()) else { continue };
        let Some(at) = message.find(marker).map(|i| i + marker.len()) else { continue };
        let Some(code) = message.get(at..at + 6) else { continue };
        if let Some(p) = (0..ERASED).find(|p| message.contains(&email(*p))) {
            found.insert(p, code.to_owned());
        }
    }
    found
}

/// Every ledger entry of `kind` (all kinds if `None`), paging with `after`.
async fn ledger(api: &Api, admin: &str, kind: Option<&str>) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let mut path = String::from("/v1/ledger/entries?limit=200");
        if let Some(kind) = kind {
            path += &format!("&kind={kind}");
        }
        if let Some(after) = after {
            path += &format!("&after={after}");
        }
        let page = api.expect(200, "GET", &path, Some(admin), None).await;
        all.extend(page["entries"].as_array().cloned().unwrap_or_default());
        match page["next_after"].as_u64() {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
}

/// States of the requests, by person.
async fn states(api: &Api, admin: &str, ids: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let view = api.expect(200, "GET", &format!("/v1/requests/{id}"), Some(admin), None).await;
        out.push(view["state"].as_str().unwrap_or("?").to_owned());
    }
    out
}

/// What a stuck run looks like: each unfinished request's tasks and queue jobs.
async fn diagnose(api: &Api, admin: &str, ids: &[String], lethe: &DatabaseConnection) -> String {
    let mut report = String::new();
    for (p, id) in ids.iter().enumerate() {
        let view = api.expect(200, "GET", &format!("/v1/requests/{id}"), Some(admin), None).await;
        if view["state"] == "completed" {
            continue;
        }
        let tasks = api.expect(200, "GET", &format!("/v1/requests/{id}/tasks"), Some(admin), None).await;
        let jobs = texts(
            lethe,
            &format!(
                "SELECT (to_jsonb(j) - 'job')::text FROM apalis.jobs j \
                 WHERE job_type = 'lethe.start_fulfilment' AND j::text LIKE '%{id}%'"
            ),
        )
        .await;
        report += &format!("person {p}, request {id}: state {}\n  tasks: {tasks}\n  jobs: {jobs:?}\n", view["state"]);
    }
    report
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_workers_lose_nothing_and_erase_nothing_twice() {
    let started = Instant::now();
    let admin_db = connect(&admin_url()).await;
    drop_stale(&admin_db).await;
    let suffix = format!(
        "{}_{}",
        time::OffsetDateTime::now_utc().unix_timestamp(),
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let (lethe_name, shop_name) = (format!("{}{suffix}", DB_PREFIXES[0]), format!("{}{suffix}", DB_PREFIXES[1]));
    for name in [&lethe_name, &shop_name] {
        exec(&admin_db, &format!("CREATE DATABASE \"{name}\"")).await;
    }

    // The shop: schema, the people to erase and the survivors.
    let shop_url = url_for(&shop_name);
    let shop = connect(&shop_url).await;
    exec(&shop, SHOP_SCHEMA).await;
    let data: String = (0..ERASED + SURVIVORS).map(shop_rows).collect();
    exec(&shop, &data).await;
    let tables = ["customers", "orders", "order_items", "logins", "notes", "invoices", "reviews"];
    let mut before = BTreeMap::new();
    for table in tables {
        before.insert(table, scalar(&shop, &format!("SELECT count(*) FROM {table}")).await);
    }

    let dir = Workdir(Some(tempfile::tempdir().expect("a temporary directory")));
    let root = dir.0.as_ref().map(|d| d.path().to_owned()).expect("the temporary directory");
    let env = Env { root: root.clone(), database_url: url_for(&lethe_name) };
    println!(
        "kill test: databases {lethe_name} (Lethe) and {shop_name} (shop), logs in {}",
        root.join("logs").display()
    );

    // The first admin, the API, the store and its map.
    env.run(
        &["operator", "create", "--email", ADMIN, "--role", "admin", "--org", ORG, "--password-stdin"],
        Some(PASSWORD),
    );
    let mut serve = env.spawn("serve", "serve");
    let line = serve.wait_for_line("API:");
    let base = line.split_once("API:").map(|(_, url)| url.trim().trim_end_matches("/v1").to_owned());
    let api = Api {
        http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("an HTTP client"),
        base: base.expect("the API URL in the banner"),
    };
    let login =
        api.expect(200, "POST", "/v1/auth/login", None, Some(json!({ "email": ADMIN, "password": PASSWORD }))).await;
    let admin = text(&login, "access_token");
    let store = api
        .expect(
            201,
            "POST",
            "/v1/stores",
            Some(&admin),
            Some(json!({ "name": "shop", "kind": "postgres", "connection": { "url": shop_url } })),
        )
        .await;
    let store_id = text(&store, "id");
    api.expect(200, "PUT", &format!("/v1/stores/{store_id}/datamap"), Some(&admin), Some(json!({ "yaml": SHOP_MAP })))
        .await;

    // Requests, verified with the codes a (not killed) worker mails, then approved with no
    // worker running: the erasures all happen in the kill loop.
    let mut mailer = env.spawn("worker", "worker-mail");
    mailer.wait_for_line("is running");
    let mut requests = Vec::with_capacity(ERASED);
    for p in 0..ERASED {
        let body = json!({ "organization": ORG, "kind": "erasure", "regime": "gdpr", "email": email(p) });
        let submitted = api.expect(202, "POST", "/v1/requests", None, Some(body)).await;
        requests.push((text(&submitted, "id"), text(&submitted, "status_token")));
    }
    let outbox = root.join("data/outbox");
    let deadline = Instant::now() + Duration::from_secs(60);
    let codes = loop {
        let codes = codes(&outbox);
        if codes.len() == ERASED {
            break codes;
        }
        assert!(Instant::now() < deadline, "only {} of {ERASED} verification mails:\n{}", codes.len(), mailer.stderr());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    mailer.terminate();
    for (p, (id, token)) in requests.iter().enumerate() {
        let body = json!({ "token": token, "code": codes[&p] });
        api.expect(200, "POST", &format!("/v1/requests/{id}/verify"), None, Some(body)).await;
        api.expect(200, "POST", &format!("/v1/requests/{id}/approve"), Some(&admin), Some(json!({}))).await;
    }
    let ids: Vec<String> = requests.into_iter().map(|(id, _)| id).collect();
    let setup = started.elapsed();

    // The kill loop: a worker (sometimes two) runs a random 50-600 ms after its banner, then is
    // SIGKILLed; until every request is completed or the rounds are used up. Then one worker
    // runs unharmed until everything is completed.
    let lethe_db = connect(&env.database_url).await;
    let phase = Instant::now();
    let mut rng = rand::thread_rng();
    let (mut kills, mut spawned) = (0usize, 0usize);
    for round in 0..KILL_ROUNDS {
        let count = if rng.gen_ratio(1, 4) { 2 } else { 1 };
        let mut workers: Vec<(Proc, u64)> = (0..count)
            .map(|i| {
                spawned += 1;
                (env.spawn("worker", &format!("worker-{round:02}-{i}")), rng.gen_range(LIFETIME_MS))
            })
            .collect();
        for (worker, _) in &mut workers {
            worker.wait_for_line("is running");
        }
        let born = Instant::now();
        workers.sort_by_key(|(_, ms)| *ms);
        for (worker, ms) in &mut workers {
            let at = born + Duration::from_millis(*ms);
            tokio::time::sleep(at.saturating_duration_since(Instant::now())).await;
            worker.kill();
            kills += 1;
        }
        let done = states(&api, &admin, &ids).await.iter().filter(|s| *s == "completed").count();
        // Leave the last worker half the time.
        if done == ERASED || phase.elapsed() > DEADLINE / 2 {
            break;
        }
    }
    let killed_phase = phase.elapsed();
    let mut last = env.spawn("worker", "worker-last");
    last.wait_for_line("is running");
    spawned += 1;
    loop {
        let now = states(&api, &admin, &ids).await;
        let done = now.iter().filter(|s| *s == "completed").count();
        if done == ERASED {
            break;
        }
        if phase.elapsed() > DEADLINE {
            let report = diagnose(&api, &admin, &ids, &lethe_db).await;
            panic!(
                "only {done}/{ERASED} requests completed {:?} into the erasure phase ({kills} kills in \
                 {killed_phase:?}, then one worker left running); states {now:?}\n{report}",
                phase.elapsed()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    last.terminate();
    let erasing = phase.elapsed();

    // The shop: the erased people's rows are gone, or kept unlinked and pseudonymised; the
    // survivors are untouched.
    let erased = (0..ERASED).map(|p| customer_id(p).to_string()).collect::<Vec<_>>().join(",");
    for table in ["orders", "logins", "notes", "invoices", "reviews"] {
        let left = scalar(&shop, &format!("SELECT count(*) FROM {table} WHERE customer_id IN ({erased})")).await;
        assert_eq!(left, 0, "{table}: rows still linked to an erased person");
    }
    assert_eq!(scalar(&shop, &format!("SELECT count(*) FROM customers WHERE id IN ({erased})")).await, 0);
    assert_eq!(scalar(&shop, &format!("SELECT count(*) FROM order_items WHERE order_id / 100 IN ({erased})")).await, 0);
    for p in 0..ERASED {
        let id = customer_id(p);
        let r = rows_of(p);
        let invoices =
            scalar(&shop, &format!("SELECT count(*) FROM invoices WHERE id / 1000 = {id} AND customer_id IS NULL"))
                .await;
        assert_eq!(invoices as u64, r.invoices, "person {p}: invoices are kept, unlinked");
        let reviews = scalar(
            &shop,
            &format!(
                "SELECT count(*) FROM reviews WHERE id / 1000 = {id} AND customer_id IS NULL \
                 AND author_name = '[erased]' AND body LIKE 'review %'"
            ),
        )
        .await;
        assert_eq!(reviews as u64, r.reviews, "person {p}: reviews are kept, unlinked and redacted");
    }
    for p in ERASED..ERASED + SURVIVORS {
        let (id, r) = (customer_id(p), rows_of(p));
        let survived =
            texts(&shop, &format!("SELECT lower(email) || '/' || name FROM customers WHERE id = {id}")).await;
        assert_eq!(survived, vec![format!("{}/Person {p}", email(p))], "survivor {p}");
        let items: u64 = (0..r.orders).map(|o| items_of(p, o)).sum();
        for (table, sql, n) in [
            ("orders", format!("customer_id = {id}"), r.orders),
            ("order_items", format!("order_id / 100 = {id}"), items),
            ("logins", format!("customer_id = {id}"), r.logins),
            ("notes", format!("customer_id = {id}"), r.notes),
            ("invoices", format!("customer_id = {id}"), r.invoices),
            ("reviews", format!("customer_id = {id} AND author_name = 'Person {p}'"), r.reviews),
        ] {
            let found = scalar(&shop, &format!("SELECT count(*) FROM {table} WHERE {sql}")).await;
            assert_eq!(found as u64, n, "survivor {p}: {table}");
        }
    }
    let mut removed: BTreeMap<&str, u64> = BTreeMap::new();
    for table in tables {
        let n = match table {
            "invoices" | "reviews" => {
                scalar(&shop, &format!("SELECT count(*) FROM {table} WHERE customer_id IS NULL")).await
            }
            _ => before[table] - scalar(&shop, &format!("SELECT count(*) FROM {table}")).await,
        };
        removed.insert(table, n as u64);
    }

    // The ledger: per request exactly one entry per table and action, with the person's rows;
    // per table the entries add up to exactly what left the table.
    let entries = ledger(&api, &admin, Some("erasure")).await;
    let person: BTreeMap<&str, usize> = ids.iter().enumerate().map(|(p, id)| (id.as_str(), p)).collect();
    let mut per_request: BTreeMap<usize, BTreeMap<(String, String), Vec<u64>>> = BTreeMap::new();
    let mut per_table: BTreeMap<String, u64> = BTreeMap::new();
    for e in &entries {
        let request = e["request_id"].as_str().unwrap_or_default();
        let p = *person.get(request).unwrap_or_else(|| panic!("an erasure entry of no request of this run: {e}"));
        assert_eq!(e["store"], "shop", "{e}");
        let (table, action) = (text(e, "table"), text(e, "action"));
        let rows = e["row_count"].as_u64().unwrap_or_else(|| panic!("no row_count: {e}"));
        *per_table.entry(table.clone()).or_default() += rows;
        per_request.entry(p).or_default().entry((table, action)).or_default().push(rows);
    }
    for (p, id) in ids.iter().enumerate() {
        let want: BTreeMap<(String, String), Vec<u64>> =
            expected(p).into_iter().map(|(t, (a, n))| ((t.to_owned(), a.to_owned()), vec![n])).collect();
        let got = per_request.remove(&p).unwrap_or_default();
        assert_eq!(got, want, "person {p}, request {id}: ledger entries (table, action) -> row counts");
    }
    let want_removed: BTreeMap<String, u64> = tables
        .iter()
        .map(|t| (t.to_string(), (0..ERASED).filter_map(|p| expected(p).get(t).map(|(_, n)| *n)).sum()))
        .collect();
    let removed: BTreeMap<String, u64> = removed.into_iter().map(|(t, n)| (t.to_owned(), n)).collect();
    assert_eq!(removed, want_removed, "rows that left each table (deleted, or unlinked where kept)");
    let per_table: BTreeMap<String, u64> =
        tables.iter().map(|t| (t.to_string(), per_table.get(*t).copied().unwrap_or(0))).collect();
    assert_eq!(per_table, removed, "the ledger's counts per table equal the rows that left it");
    let closed = ledger(&api, &admin, Some("request_closed")).await;
    for id in &ids {
        let n = closed.iter().filter(|e| e["request_id"] == id.as_str()).count();
        assert_eq!(n, 1, "request {id}: one request_closed entry");
    }

    // The export verifies offline.
    let export = root.join("ledger.jsonl");
    env.run(&["ledger", "export", "--out", &export.to_string_lossy(), "--org", ORG], None);
    let key = env.run(&["ledger", "public-key"], None);
    std::fs::write(root.join("key.pem"), key).expect("writing key.pem");
    let all = ledger(&api, &admin, None).await.len();
    let report = env.run(&["ledger", "verify", &export.to_string_lossy(), "--public-key", "key.pem"], None);
    assert!(report.starts_with(&format!("OK: {all} entries")), "{report}");

    serve.kill();
    drop((shop, lethe_db));
    for name in [&lethe_name, &shop_name] {
        exec(&admin_db, &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
    }
    println!(
        "kill test: {ERASED} erasures, {kills} workers SIGKILLed ({spawned} started), {} ledger entries; \
         setup {setup:?}, erasure {erasing:?} (kill loop {killed_phase:?}), total {:?}",
        entries.len(),
        started.elapsed()
    );
}
