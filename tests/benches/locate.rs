//! Locate benchmark: finding one person in a PostgreSQL shop with 100,000 and with 1,000,000
//! customers (about ten child rows each), against a baseline measured in the same run: the
//! hand-written indexed SELECTs for the same rows, through the same connection pool.
//!
//! Run with `cargo bench -p lethe-tests --bench locate` (add `-- --quick` for fewer
//! iterations). PostgreSQL must run on 127.0.0.1:5432 (`LETHE_TEST_POSTGRES_URL` overrides the
//! admin URL). The shop databases (`lethe_bench_shop_100k`, `lethe_bench_shop_1m`) are generated
//! on the first run and reused while their generator version and row counts match.
//!
//! Targets: locate at 1M within 1.5x of locate at 100k (index lookups, not scans), and within
//! 2x of the baseline. Every latency is the median (with min and max) of many iterations, each
//! looking up the next of five customers spread over the id range, all of the same shape
//! (1 customer row, 3 orders, 6 order items, 1 login).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use lethe_entities::StoreKind;
use lethe_entities::datamap::DataMap;
use lethe_entities::datamap::validate::{Context, validate};
use lethe_entities::domain::enums::IdentityKind;
use lethe_entities::entity::store::Connection;
use lethe_tests::app::development_targets;
use lethe_worker::locate::{Mode, Outcome, Report, StoreInput, Subject, locate};
use lethe_worker::stores::Connector;
use lethe_worker::stores::sql::SqlStore;
use lethe_worker::stores::sql::fetch::{Lookup, statement};
use sea_orm::sea_query::PostgresQueryBuilder;
use sea_orm::sqlx::{self, PgPool};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};

/// Bump when the generated schema or data change: existing databases are then rebuilt.
const GENERATOR_VERSION: i32 = 1;
/// The mapped tables, in report order.
const TABLES: [&str; 4] = ["customers", "orders", "order_items", "logins"];
/// Customers looked up, cycled through across iterations.
const SUBJECTS: u64 = 5;
/// The store's name in the locate input.
const STORE: &str = "shop";

/// The shop's data map: e-mail identity on customers, everything else hangs off the customer.
const DATA_MAP: &str = "
version: 1
tables:
  - name: customers
    primary_key: [id]
    purpose: Your customer account.
    columns:
      - name: id
        category: user.unique_id
      - name: email
        category: user.contact.email
        identity: email
      - name: name
        category: user.name
      - name: phone
        category: user.contact.phone_number
  - name: orders
    primary_key: [id]
    purpose: Your orders.
    columns:
      - name: customer_id
        category: user.unique_id
      - name: placed_at
        category: user.behavior.purchase_history
      - name: total_cents
        category: user.behavior.purchase_history
    references:
      - column: customer_id
        target: { table: customers, column: id }
        direction: from
  - name: order_items
    primary_key: [order_id, line_no]
    purpose: What you ordered.
    columns:
      - name: order_id
      - name: sku
        category: user.behavior.purchase_history
      - name: quantity
        category: user.behavior.purchase_history
    references:
      - column: order_id
        target: { table: orders, column: id }
        direction: from
  - name: logins
    primary_key: [id]
    purpose: Sign-ins to your account.
    columns:
      - name: customer_id
        category: user.unique_id
      - name: ip
        category: user.device.ip_address
      - name: at
        category: user.behavior
    references:
      - column: customer_id
        target: { table: customers, column: id }
        direction: from
";

/// One database size.
struct Size {
    label: &'static str,
    customers: i64,
}

const SIZES: [Size; 2] = [Size { label: "100k", customers: 100_000 }, Size { label: "1M", customers: 1_000_000 }];

impl Size {
    fn database(&self) -> String {
        format!("lethe_bench_shop_{}", self.label.to_lowercase())
    }
}

/// Rows per table, in [`TABLES`] order.
type Counts = [u64; 4];

fn url_for(database: &str) -> String {
    let admin = lethe_tests::postgres::admin_url();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    format!("{base}/{database}")
}

/// A connection with one session, so `SET` applies to every statement that follows.
async fn single(url: &str) -> DatabaseConnection {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false).max_connections(1).min_connections(1);
    Database::connect(options)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must run on 127.0.0.1:5432 for this benchmark ({e})"))
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> Option<i64> {
    let row = db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned())).await.unwrap()?;
    row.try_get_by_index::<Option<i64>>(0).unwrap()
}

async fn text(db: &DatabaseConnection, sql: &str) -> String {
    let row = db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned())).await.unwrap().unwrap();
    row.try_get_by_index::<String>(0).unwrap()
}

/// Orders of customer `c`: `c % 7` (0 to 6, 3 on average).
fn orders_of(c: i64) -> i64 {
    c % 7
}

/// Items of order `k` (0-based) of customer `c`: 1 to 3, 2 on average; a customer with three
/// orders has 1 + 2 + 3 = 6 items whatever `c`.
fn items_of(c: i64, k: i64) -> i64 {
    1 + (c / 7 + k) % 3
}

/// Logins of customer `c`: `c % 3` (0 to 2, 1 on average).
fn logins_of(c: i64) -> i64 {
    c % 3
}

/// The row counts the generator produces for `n` customers.
fn expected_counts(n: i64) -> Counts {
    let mut counts = [n as u64, 0, 0, 0];
    for c in 1..=n {
        counts[1] += orders_of(c) as u64;
        counts[2] += (0..orders_of(c)).map(|k| items_of(c, k) as u64).sum::<u64>();
        counts[3] += logins_of(c) as u64;
    }
    counts
}

/// The statements that generate the shop for `n` customers: tables without constraints, rows
/// set-based, then keys, foreign keys and indexes (on every foreign key and on `lower(email)`).
/// Order `k` of customer `c` gets id `k * n + c` (logins likewise), so one customer's rows lie
/// far apart in the table, as when they accumulate over time. The formulas match
/// [`orders_of`], [`items_of`] and [`logins_of`].
fn generator(n: i64) -> Vec<String> {
    vec![
        "CREATE TABLE customers (id bigint NOT NULL, email text NOT NULL, name text NOT NULL, phone text, \
         created_at timestamptz NOT NULL)"
            .into(),
        "CREATE TABLE orders (id bigint NOT NULL, customer_id bigint NOT NULL, placed_at timestamptz NOT NULL, \
         total_cents bigint NOT NULL)"
            .into(),
        "CREATE TABLE order_items (order_id bigint NOT NULL, line_no int NOT NULL, sku text NOT NULL, \
         quantity int NOT NULL, price_cents bigint NOT NULL)"
            .into(),
        "CREATE TABLE logins (id bigint NOT NULL, customer_id bigint NOT NULL, ip inet NOT NULL, at timestamptz NOT NULL)"
            .into(),
        format!(
            "INSERT INTO customers SELECT c, 'Customer' || c || '@Example.com', 'Customer ' || c, \
             '+1555' || lpad(c::text, 7, '0'), timestamptz '2020-01-01 00:00:00+00' + c * interval '1 minute' \
             FROM generate_series(1, {n}) c"
        ),
        format!(
            "INSERT INTO orders SELECT k * {n} + c, c, timestamptz '2021-01-01 00:00:00+00' + (k * {n} + c) * interval '10 seconds', \
             1000 + (c * 37 + k) % 50000 \
             FROM generate_series(0, 5) k CROSS JOIN LATERAL generate_series(1, {n}) c WHERE k < c % 7"
        ),
        format!(
            "INSERT INTO order_items SELECT o.id, l, 'SKU-' || ((o.id * 7 + l) % 5000), 1 + (o.id + l) % 4, \
             100 + (o.id * 13 + l) % 10000 \
             FROM orders o CROSS JOIN LATERAL generate_series(1, 1 + (o.customer_id / 7 + (o.id - 1) / {n}) % 3) l"
        ),
        format!(
            "INSERT INTO logins SELECT j * {n} + c, c, ('10.' || (c % 256) || '.' || ((c / 256) % 256) || '.' || (j + 1))::inet, \
             timestamptz '2022-01-01 00:00:00+00' + (j * {n} + c) * interval '30 seconds' \
             FROM generate_series(0, 1) j CROSS JOIN LATERAL generate_series(1, {n}) c WHERE j < c % 3"
        ),
        "ALTER TABLE customers ADD PRIMARY KEY (id)".into(),
        "CREATE INDEX customers_lower_email ON customers (lower(email))".into(),
        "ALTER TABLE orders ADD PRIMARY KEY (id)".into(),
        "ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers (id)".into(),
        "CREATE INDEX orders_customer_id ON orders (customer_id)".into(),
        "ALTER TABLE order_items ADD PRIMARY KEY (order_id, line_no)".into(),
        "ALTER TABLE order_items ADD FOREIGN KEY (order_id) REFERENCES orders (id)".into(),
        "ALTER TABLE logins ADD PRIMARY KEY (id)".into(),
        "ALTER TABLE logins ADD FOREIGN KEY (customer_id) REFERENCES customers (id)".into(),
        "CREATE INDEX logins_customer_id ON logins (customer_id)".into(),
        "VACUUM (ANALYZE)".into(),
        "CREATE TABLE bench_marker (generator_version int NOT NULL, customers bigint NOT NULL)".into(),
        format!("INSERT INTO bench_marker VALUES ({GENERATOR_VERSION}, {n})"),
    ]
}

/// Whether `database` holds the current generator's shop with the expected row counts.
async fn is_current(database: &str, n: i64, expected: &Counts) -> bool {
    let db = single(&url_for(database)).await;
    let current = async {
        if scalar(&db, "SELECT CASE WHEN to_regclass('bench_marker') IS NULL THEN 0 ELSE 1 END::bigint").await
            != Some(1)
        {
            return false;
        }
        let marker = format!(
            "SELECT count(*) FROM bench_marker WHERE generator_version = {GENERATOR_VERSION} AND customers = {n}"
        );
        if scalar(&db, &marker).await != Some(1) {
            return false;
        }
        for (table, want) in TABLES.iter().zip(expected) {
            if scalar(&db, &format!("SELECT count(*) FROM {table}")).await != Some(*want as i64) {
                return false;
            }
        }
        true
    }
    .await;
    db.close().await.ok();
    current
}

/// Makes sure the shop of `size` exists; returns how long generating it took (`None` when an
/// existing database was reused).
async fn ensure_shop(size: &Size, expected: &Counts) -> Option<Duration> {
    let name = size.database();
    let admin = single(&lethe_tests::postgres::admin_url()).await;
    let exists = scalar(&admin, &format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'")).await == Some(1);
    if exists && is_current(&name, size.customers, expected).await {
        admin.close().await.ok();
        return None;
    }
    let start = Instant::now();
    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.unwrap();
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap();
    admin.close().await.ok();
    let db = single(&url_for(&name)).await;
    db.execute_unprepared("SET maintenance_work_mem = '256MB'").await.unwrap();
    for sql in generator(size.customers) {
        db.execute_unprepared(&sql).await.unwrap_or_else(|e| panic!("generating {name} failed at `{sql}`: {e}"));
    }
    db.close().await.ok();
    assert!(is_current(&name, size.customers, expected).await, "{name} does not hold the expected rows");
    Some(start.elapsed())
}

/// One customer looked up: the normalised e-mail address (never printed).
struct Person {
    email: String,
}

/// Customers spread over the id range, all with 3 orders (6 items) and 1 login: `c ≡ 10 (mod 21)`
/// gives `c % 7 == 3` and `c % 3 == 1`.
fn people(n: i64) -> Vec<Person> {
    (0..SUBJECTS as i64)
        .map(|i| {
            let near = n * (2 * i + 1) / (2 * SUBJECTS as i64);
            let c = near - (near - 10).rem_euclid(21);
            assert!(c >= 1 && orders_of(c) == 3 && logins_of(c) == 1);
            assert_eq!((0..3).map(|k| items_of(c, k)).sum::<i64>(), 6);
            Person { email: format!("customer{c}@example.com") }
        })
        .collect()
}

/// What the baseline read, table by table.
struct Found {
    customers: Vec<i64>,
    orders: Vec<i64>,
    items: Vec<(i64, i32)>,
    logins: Vec<i64>,
}

impl Found {
    fn counts(&self) -> Counts {
        [self.customers.len(), self.orders.len(), self.items.len(), self.logins.len()].map(|n| n as u64)
    }
}

/// The baseline: the obvious hand-written indexed SELECTs for the same rows, one per table.
async fn baseline(pool: &PgPool, email: &str) -> Found {
    let customers: Vec<i64> = sqlx::query_scalar("SELECT id FROM customers WHERE lower(email) = $1")
        .bind(email)
        .fetch_all(pool)
        .await
        .unwrap();
    let orders: Vec<i64> = sqlx::query_scalar("SELECT id FROM orders WHERE customer_id = ANY($1)")
        .bind(&customers)
        .fetch_all(pool)
        .await
        .unwrap();
    let items: Vec<(i64, i32)> = sqlx::query_as("SELECT order_id, line_no FROM order_items WHERE order_id = ANY($1)")
        .bind(&orders)
        .fetch_all(pool)
        .await
        .unwrap();
    let logins: Vec<i64> = sqlx::query_scalar("SELECT id FROM logins WHERE customer_id = ANY($1)")
        .bind(&customers)
        .fetch_all(pool)
        .await
        .unwrap();
    Found { customers, orders, items, logins }
}

fn subject(person: &Person) -> Subject {
    Subject { identities: vec![(IdentityKind::Email, person.email.clone())] }
}

/// Runs locate; returns the time taken, the report and the rows handed to the sink.
async fn timed_locate(stores: &[StoreInput], person: &Person, mode: Mode) -> (Duration, Report, u64) {
    let subject = subject(person);
    let mut rows = 0u64;
    let start = Instant::now();
    let report = locate(stores, &subject, mode, &mut |located| {
        rows += 1;
        std::hint::black_box(located);
    })
    .await;
    (start.elapsed(), report, rows)
}

/// The located row counts per table, or a panic naming the failure's code (never a value).
fn located(report: &Report) -> Counts {
    match report.stores.get(STORE) {
        Some(Outcome::Located(counts)) => TABLES.map(|t| counts.get(t).copied().unwrap_or(0)),
        Some(Outcome::Failed(e)) => panic!("locate failed: {}", e.code()),
        other => panic!("unexpected outcome: {other:?}"),
    }
}

/// Median, min and max, in milliseconds.
struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

impl Stats {
    fn of(mut xs: Vec<Duration>) -> Self {
        xs.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        Self { median: ms(xs[xs.len() / 2]), min: ms(xs[0]), max: ms(xs[xs.len() - 1]) }
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "median {:.3} ms (min {:.3}, max {:.3})", self.median, self.min, self.max)
    }
}

fn describe(counts: &Counts) -> String {
    TABLES.iter().zip(counts).map(|(t, n)| format!("{t} {n}")).collect::<Vec<_>>().join(", ")
}

/// The plan of each statement locate issues for `person` (built as locate builds it): scan
/// nodes and buffer counts only, so no value is printed. Prints the SQL text too when
/// `print_sql`.
async fn explain(store: &SqlStore, found: &Found, person: &Person, print_sql: bool) {
    let schema = store.schema().await.unwrap();
    let ids = |xs: &[i64]| xs.iter().map(i64::to_string).collect::<Vec<_>>();
    let names = |xs: &[&str]| xs.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
    // (table, column compared, ignoring case, values, selected columns), as locate walks them.
    let lookups = [
        ("customers", "email", true, vec![person.email.clone()], names(&["id"])),
        ("orders", "customer_id", false, ids(&found.customers), names(&["id"])),
        ("order_items", "order_id", false, ids(&found.orders), names(&["order_id", "line_no"])),
        ("logins", "customer_id", false, ids(&found.customers), names(&["id"])),
    ];
    for (table, column, ignore_case, values, select) in &lookups {
        let live = schema.tables.get(*table).expect("mapped table in the live schema");
        let lookup = Lookup { table, schema: live, column, ignore_case: *ignore_case, values };
        let (sql, params) = statement(StoreKind::Postgres, &lookup, select, values).build(PostgresQueryBuilder);
        if print_sql {
            println!("    {sql}");
        }
        let plan = store
            .connection()
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF) {sql}"),
                params.0,
            ))
            .await
            .unwrap();
        let lines: Vec<String> = plan
            .iter()
            .filter_map(|row| row.try_get::<String>("", "QUERY PLAN").ok())
            .map(|l| l.trim().trim_start_matches("-> ").to_owned())
            // The planner's own buffer reads follow under `Planning:`.
            .take_while(|l| !l.starts_with("Planning"))
            .filter(|l| l.contains("Scan") || l.starts_with("Buffers:"))
            .collect();
        println!("    {table}: {}", lines.join("; "));
    }
}

/// The figures of one size.
struct Measured {
    keys: Stats,
}

async fn measure(size: &Size, map: &DataMap, iterations: usize, warmup: usize) -> Measured {
    let url = url_for(&size.database());
    let people = people(size.customers);
    let connector = Connector::connect(&development_targets(), StoreKind::Postgres, &Connection::Url { url })
        .await
        .expect("connect");
    let Connector::Sql(sql) = &connector else { unreachable!("a PostgreSQL store has a SQL connector") };
    let pool = sql.connection().get_postgres_connection_pool().clone();
    let stores = vec![StoreInput {
        name: STORE.into(),
        kind: StoreKind::Postgres,
        map: Some(map.clone()),
        connector: Some(Ok(connector.clone())),
    }];

    // Cold: the first locate after connecting reads the schema (and opens pooled connections).
    let (cold, report, _) = timed_locate(&stores, &people[0], Mode::Keys).await;
    let shape = located(&report);
    println!(
        "  cold (first locate after connecting, schema read included): {:.3} ms, {} queries",
        cold.as_secs_f64() * 1e3,
        report.queries
    );

    for i in 0..warmup {
        let person = &people[i % people.len()];
        timed_locate(&stores, person, Mode::Keys).await;
        timed_locate(&stores, person, Mode::Rows).await;
        baseline(&pool, &person.email).await;
    }

    let (mut keys, mut base, mut rows) = (Vec::new(), Vec::new(), Vec::new());
    let (mut queries, mut hops) = (0, 0);
    for i in 0..iterations {
        let person = &people[i % people.len()];
        // Keeps the cached schema fresh outside the timed region (it expires after 60 s).
        sql.schema().await.expect("schema");
        // Alternates which runs first, so neither always follows the other.
        let ((locate_time, report, _), (base_time, found)) = if i % 2 == 0 {
            let l = timed_locate(&stores, person, Mode::Keys).await;
            let start = Instant::now();
            let found = baseline(&pool, &person.email).await;
            (l, (start.elapsed(), found))
        } else {
            let start = Instant::now();
            let found = baseline(&pool, &person.email).await;
            let b = (start.elapsed(), found);
            (timed_locate(&stores, person, Mode::Keys).await, b)
        };
        let counts = located(&report);
        assert_eq!(counts, found.counts(), "locate and the baseline found different rows");
        assert_eq!(counts, shape, "every subject has the same shape");
        (queries, hops) = (report.queries, report.hops);
        keys.push(locate_time);
        base.push(base_time);
    }
    for i in 0..iterations {
        let person = &people[i % people.len()];
        sql.schema().await.expect("schema");
        let (time, report, sunk) = timed_locate(&stores, person, Mode::Rows).await;
        assert_eq!(located(&report), shape);
        assert_eq!(sunk, shape.iter().sum::<u64>());
        rows.push(time);
    }
    let (keys, base, rows) = (Stats::of(keys), Stats::of(base), Stats::of(rows));
    println!(
        "  locate, Mode::Keys: {keys}; {queries} queries in {hops} hops; rows found: {} ({} in all)",
        describe(&shape),
        shape.iter().sum::<u64>()
    );
    println!("  baseline (hand-written indexed SELECTs, same pool, 4 queries): {base}; same rows per table");
    println!(
        "  locate/baseline: {:.2}x (median; target at most 2x: {})",
        keys.median / base.median,
        if keys.median <= 2.0 * base.median { "met" } else { "NOT met" }
    );
    println!("  locate, Mode::Rows: {rows} ({:.2}x Mode::Keys)", rows.median / keys.median);
    println!("  plans of locate's statements (EXPLAIN ANALYZE, first subject):");
    let found = baseline(&pool, &people[0].email).await;
    explain(sql, &found, &people[0], false).await;
    sql.connection().clone().close().await.ok();
    Measured { keys }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpu}, {} cores available", std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (iterations, warmup) = if quick { (30, 5) } else { (200, 20) };
    let (map, _) = lethe_entities::datamap::parse::from_yaml(DATA_MAP).expect("the data map parses");
    let problems = validate(&map, Context { kind: StoreKind::Postgres, other_stores: &[] });
    assert!(problems.is_empty(), "the data map is invalid: {problems:?}");

    let admin = single(&lethe_tests::postgres::admin_url()).await;
    let version = text(&admin, "SHOW server_version").await;
    admin.close().await.ok();
    println!("Locate benchmark on {}; PostgreSQL {version}.", machine());
    println!(
        "Latencies: {iterations} iterations after {warmup} warm-up ones, cycling through {SUBJECTS} customers \
         of the same shape; locate and baseline interleaved."
    );

    for size in &SIZES {
        let expected = expected_counts(size.customers);
        let total: u64 = expected.iter().sum();
        match ensure_shop(size, &expected).await {
            Some(took) => println!(
                "generated {} ({total} rows: {}) in {:.1} s",
                size.database(),
                describe(&expected),
                took.as_secs_f64()
            ),
            None => println!("reused {} ({total} rows: {})", size.database(), describe(&expected)),
        }
    }

    let mut medians = BTreeMap::new();
    for size in &SIZES {
        println!("{} customers:", size.label);
        let measured = measure(size, &map, iterations, warmup).await;
        medians.insert(size.label, measured.keys.median);
    }
    let ratio = medians["1M"] / medians["100k"];
    println!(
        "locate (Mode::Keys) median at 1M / at 100k: {ratio:.2}x (target at most 1.5x: {})",
        if ratio <= 1.5 { "met" } else { "NOT met" }
    );
    println!("SQL of locate's statements at {} customers (values bound as parameters), with plans:", SIZES[0].label);
    let connector = SqlStore::connect(&development_targets(), StoreKind::Postgres, &url_for(&SIZES[0].database()))
        .await
        .expect("connect");
    let person = &people(SIZES[0].customers)[0];
    let found = baseline(connector.connection().get_postgres_connection_pool(), &person.email).await;
    explain(&connector, &found, person, true).await;
}
