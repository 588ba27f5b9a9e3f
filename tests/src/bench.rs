//! Support shared by the benchmarks: the PostgreSQL shop of the erasure benchmarks (8 tables
//! with foreign keys, 45 rows per customer), its data map, and reporting helpers.

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

/// The rows each customer has, per table, in report order.
pub const SHAPE: [(&str, u64); 8] = [
    ("customers", 1),
    ("addresses", 3),
    ("orders", 5),
    ("order_items", 15),
    ("payments", 5),
    ("logins", 10),
    ("support_tickets", 5),
    ("newsletter_subscribers", 1),
];

/// Tables, foreign keys, an index on every foreign key (`order_items.order_id` is the leading
/// column of its primary key) and on `lower(email)`.
pub const SCHEMA: &str = "
CREATE TABLE customers (
    id bigint PRIMARY KEY,
    email text NOT NULL,
    name text NOT NULL,
    phone text,
    created_at timestamptz NOT NULL
);
CREATE TABLE addresses (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id),
    street text NOT NULL,
    city text NOT NULL,
    postal_code text NOT NULL,
    country text NOT NULL
);
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    customer_id bigint REFERENCES customers (id),
    placed_at timestamptz NOT NULL,
    total_cents bigint NOT NULL
);
CREATE TABLE order_items (
    order_id bigint NOT NULL REFERENCES orders (id),
    line_no int NOT NULL,
    sku text NOT NULL,
    quantity int NOT NULL,
    PRIMARY KEY (order_id, line_no)
);
CREATE TABLE payments (
    id bigint PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES orders (id),
    card_number text NOT NULL,
    amount_cents bigint NOT NULL
);
CREATE TABLE logins (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id),
    ip inet NOT NULL,
    at timestamptz NOT NULL
);
CREATE TABLE support_tickets (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id),
    subject text NOT NULL,
    body text NOT NULL
);
CREATE TABLE newsletter_subscribers (
    id bigint PRIMARY KEY,
    email text NOT NULL
);
CREATE INDEX customers_email_idx ON customers (lower(email));
CREATE INDEX addresses_customer_id_idx ON addresses (customer_id);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
CREATE INDEX payments_order_id_idx ON payments (order_id);
CREATE INDEX logins_customer_id_idx ON logins (customer_id);
CREATE INDEX support_tickets_customer_id_idx ON support_tickets (customer_id);
CREATE INDEX newsletter_subscribers_email_idx ON newsletter_subscribers (lower(email));
";

/// The shop's map: orders kept with the customer link cleared, payments kept with the card
/// number pseudonymised, everything else deleted.
pub const DATA_MAP: &str = "
version: 1
tables:
  - name: customers
    primary_key: [id]
    purpose: Your customer account.
    columns:
      - { name: id, category: user.unique_id }
      - { name: email, category: user.contact.email, identity: email }
      - { name: name, category: user.name }
      - { name: phone, category: user.contact.phone_number }
    erasure: { action: delete_row }
  - name: addresses
    primary_key: [id]
    purpose: Where we deliver your orders.
    columns:
      - { name: customer_id, category: user.unique_id }
      - { name: street, category: user.contact.address.street }
      - { name: city, category: user.contact.address.city }
      - { name: postal_code, category: user.contact.address.postal_code }
    references:
      - { column: customer_id, target: { table: customers, column: id }, direction: from }
    erasure: { action: delete_row }
  - name: orders
    primary_key: [id]
    purpose: Your orders, kept for bookkeeping.
    columns:
      - { name: customer_id, category: user.unique_id, action: 'null' }
      - { name: placed_at, category: user.behavior.purchase_history }
      - { name: total_cents, category: user.behavior.purchase_history }
    references:
      - { column: customer_id, target: { table: customers, column: id }, direction: from }
    erasure: { action: keep, basis: 'Bookkeeping law: order records are kept seven years', period: P7Y }
  - name: order_items
    primary_key: [order_id, line_no]
    purpose: What you ordered.
    columns:
      - { name: order_id }
      - { name: sku, category: user.behavior.purchase_history }
      - { name: quantity, category: user.behavior.purchase_history }
    references:
      - { column: order_id, target: { table: orders, column: id }, direction: from }
    erasure: { action: delete_row }
  - name: payments
    primary_key: [id]
    purpose: Payments for your orders, kept for bookkeeping.
    columns:
      - { name: order_id }
      - { name: card_number, category: user.financial.credit_card, action: hash }
      - { name: amount_cents, category: user.behavior.purchase_history }
    references:
      - { column: order_id, target: { table: orders, column: id }, direction: from }
    erasure: { action: keep, basis: Bookkeeping law, period: P7Y }
  - name: logins
    primary_key: [id]
    purpose: Sign-ins to your account.
    columns:
      - { name: customer_id, category: user.unique_id }
      - { name: ip, category: user.device.ip_address }
      - { name: at, category: user.behavior }
    references:
      - { column: customer_id, target: { table: customers, column: id }, direction: from }
    erasure: { action: delete_row }
  - name: support_tickets
    primary_key: [id]
    purpose: Your questions to customer support.
    columns:
      - { name: customer_id, category: user.unique_id }
      - { name: subject, category: user.content.private }
      - { name: body, category: user.content.private }
    references:
      - { column: customer_id, target: { table: customers, column: id }, direction: from }
    erasure: { action: delete_row }
  - name: newsletter_subscribers
    primary_key: [id]
    purpose: Sending you our newsletter.
    columns:
      - { name: email, category: user.contact.email, identity: email }
    erasure: { action: delete_row }
";

/// The e-mail address of customer `c` as the customer row holds it (the newsletter row has it
/// capitalised differently).
pub fn email_of(c: i64) -> String {
    format!("customer{c}@example.com")
}

/// The statements inserting customers `lo..=hi` with all their rows. Ids follow from the
/// customer id, so the person's keys are known (as a hand-written program would know them).
pub fn fill(lo: i64, hi: i64) -> Vec<String> {
    let c = format!("generate_series({lo}, {hi}) c");
    vec![
        format!(
            "INSERT INTO customers SELECT c, 'customer' || c || '@example.com', 'Customer ' || c, \
             '+46 70 ' || lpad(c::text, 7, '0'), timestamptz '2025-01-01 00:00Z' + c * interval '1 minute' FROM {c}"
        ),
        format!(
            "INSERT INTO addresses SELECT 3 * (c - 1) + k, c, k || ' Storgatan', 'Uppsala', (75000 + c % 1000)::text, \
             'SE' FROM {c}, generate_series(1, 3) k"
        ),
        format!(
            "INSERT INTO orders SELECT 5 * (c - 1) + k, c, timestamptz '2025-01-01 00:00Z' + k * interval '1 day', \
             1000 * k FROM {c}, generate_series(1, 5) k"
        ),
        format!(
            "INSERT INTO order_items SELECT 5 * (c - 1) + k, l, 'SKU-' || l, l FROM {c}, generate_series(1, 5) k, \
             generate_series(1, 3) l"
        ),
        format!(
            "INSERT INTO payments SELECT 5 * (c - 1) + k, 5 * (c - 1) + k, '4000' || lpad((5 * (c - 1) + k)::text, 12, \
             '0'), 1000 * k FROM {c}, generate_series(1, 5) k"
        ),
        format!(
            "INSERT INTO logins SELECT 10 * (c - 1) + k, c, ('10.' || (c % 250) || '.' || k || '.1')::inet, \
             timestamptz '2025-01-01 00:00Z' + k * interval '1 hour' FROM {c}, generate_series(1, 10) k"
        ),
        format!(
            "INSERT INTO support_tickets SELECT 5 * (c - 1) + k, c, 'Question ' || k, \
             'Hello, this is Customer ' || c || '. Where is my parcel?' FROM {c}, generate_series(1, 5) k"
        ),
        format!("INSERT INTO newsletter_subscribers SELECT c, 'Customer' || c || '@Example.com' FROM {c}"),
    ]
}

/// Creates the shop database `name` and fills it with customers `1..=customers`.
pub async fn create_shop(admin: &DatabaseConnection, name: &str, customers: i64) -> DatabaseConnection {
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create the shop database");
    let shop = connect(&url_for(name)).await;
    shop.execute_unprepared(SCHEMA).await.expect("create the shop's tables");
    for statement in fill(1, customers) {
        shop.execute_unprepared(&statement).await.expect("fill the shop");
    }
    shop
}

/// Median, min and max, in milliseconds.
pub struct Stats {
    /// Median.
    pub median: f64,
    /// Least.
    pub min: f64,
    /// Greatest.
    pub max: f64,
}

impl Stats {
    /// The statistics of `xs` (not empty).
    pub fn of(xs: &[Duration]) -> Self {
        let mut xs = xs.to_vec();
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

/// The processor and the cores this process may use.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpu}, {} cores available", std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The URL of `database` on the benchmark's PostgreSQL server.
pub fn url_for(database: &str) -> String {
    let admin = crate::postgres::admin_url();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    format!("{base}/{database}")
}

/// A small pool to `url`; panics with a hint when PostgreSQL is not running.
pub async fn connect(url: &str) -> DatabaseConnection {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false).max_connections(2);
    Database::connect(options)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must run on 127.0.0.1:5432 for this benchmark ({e})"))
}

/// Sorts `rates` (requests per second, one per run) and says them as "median R requests/s
/// (min, max) over N run(s)".
pub fn rates_summary(rates: &mut [f64]) -> String {
    rates.sort_by(f64::total_cmp);
    format!(
        "median {:.0} requests/s (min {:.0}, max {:.0}) over {} run(s)",
        rates[rates.len() / 2],
        rates[0],
        rates[rates.len() - 1],
        rates.len()
    )
}

/// Creates a fresh shop database named after `label` (with the time and a random suffix) with
/// `customers` customers, analysed; returns its name and a connection.
pub async fn fresh_shop(admin: &DatabaseConnection, label: &str, customers: i64) -> (String, DatabaseConnection) {
    let name = format!(
        "lethe_bench_{label}_{}_{}",
        time::OffsetDateTime::now_utc().unix_timestamp(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let shop = create_shop(admin, &name, customers).await;
    shop.execute_unprepared("VACUUM (ANALYZE)").await.unwrap();
    (name, shop)
}

/// The default queue settings, as a production installation has them (the tests' settings poll
/// far less often, so that a test relies on wake-ups).
pub fn default_queue(settings: &mut lethe_api::config::Settings) {
    settings.queue_poll = lethe_worker::runner::DEFAULT_POLL;
    settings.worker_heartbeat = lethe_worker::runner::DEFAULT_HEARTBEAT;
}

/// CPU time (user and system) used so far by this process.
pub fn cpu_of_this_process() -> Duration {
    std::fs::read_to_string("/proc/self/stat").ok().and_then(|stat| cpu_in(&stat, false)).unwrap_or_default()
}

/// CPU time (user and system) used so far by the process `pid` (zero once it is gone).
pub fn cpu_of_pid(pid: u32) -> Duration {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|stat| cpu_in(&stat, false)).unwrap_or_default()
}

/// CPU time (user and system) used so far by every process named `name` (e.g. `postgres`),
/// including their children that have exited (PostgreSQL's backends of closed connections are
/// counted in their postmaster's).
pub fn cpu_of_processes_named(name: &str) -> Duration {
    let wanted = format!("({name})");
    let Ok(entries) = std::fs::read_dir("/proc") else { return Duration::ZERO };
    entries
        .flatten()
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter(|stat| stat.split_whitespace().nth(1) == Some(wanted.as_str()))
        .filter_map(|stat| cpu_in(&stat, true))
        .sum()
}

/// The CPU time in a `/proc/<pid>/stat` line: `utime` and `stime`, and with `children` also
/// `cutime` and `cstime` (fields 14 to 17).
fn cpu_in(stat: &str, children: bool) -> Option<Duration> {
    let after_name = stat.rsplit_once(") ")?.1;
    let fields: Vec<u64> = after_name.split_whitespace().skip(11).take(4).filter_map(|f| f.parse().ok()).collect();
    let ticks: u64 = if children { fields.iter().sum() } else { fields.iter().take(2).sum() };
    Some(Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second()))
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`; 100 on Linux when it cannot be read).
fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}
