//! The `shop` store: a fresh PostgreSQL database with real foreign keys, a self-reference
//! (`employees.manager_id`), a cycle (`customers.last_order_id` ↔ `orders.customer_id`) and a
//! composite key (`order_items`).

use sea_orm::{ConnectionTrait, Statement};

use super::people::{Customer, Owners, card_number, ip, moment};
use super::{connect, insert, is_stale, run, text, with_database};
use crate::postgres::admin_url;

const STORE: &str = "shop";
const PREFIX: &str = "lethe_shop_";

/// Tables, then the foreign key that closes the cycle, then an index on every foreign-key and
/// identity column (`lower(email)` for e-mail identities).
const SCHEMA: &str = "
CREATE TABLE employees (
    id serial PRIMARY KEY,
    email text NOT NULL,
    name text NOT NULL,
    manager_id int REFERENCES employees(id)
);
CREATE TABLE customers (
    id bigserial PRIMARY KEY,
    email text NOT NULL,
    phone text,
    name text,
    support_rep_id int REFERENCES employees(id),
    referred_by bigint REFERENCES customers(id) ON DELETE SET NULL,
    last_order_id bigint,
    created_at timestamptz NOT NULL
);
CREATE TABLE addresses (
    id bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers(id),
    street text NOT NULL,
    city text NOT NULL,
    postal_code text NOT NULL,
    country text NOT NULL
);
CREATE TABLE products (
    id serial PRIMARY KEY,
    name text NOT NULL,
    price_cents bigint NOT NULL
);
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    customer_id bigint REFERENCES customers(id),
    placed_at timestamptz NOT NULL,
    total_cents bigint NOT NULL
);
CREATE TABLE order_items (
    order_id bigint NOT NULL REFERENCES orders(id),
    line_no int NOT NULL,
    product_id int NOT NULL REFERENCES products(id),
    quantity int NOT NULL,
    PRIMARY KEY (order_id, line_no)
);
CREATE TABLE payments (
    id bigserial PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES orders(id),
    card_number text NOT NULL,
    amount_cents bigint NOT NULL
);
CREATE TABLE logins (
    id bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers(id),
    ip inet NOT NULL,
    at timestamptz NOT NULL
);
CREATE TABLE support_tickets (
    id bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers(id),
    assigned_employee_id int REFERENCES employees(id),
    subject text NOT NULL,
    body text NOT NULL
);
CREATE TABLE newsletter_subscribers (
    id bigserial PRIMARY KEY,
    email text NOT NULL
);
ALTER TABLE customers ADD CONSTRAINT customers_last_order_id_fkey FOREIGN KEY (last_order_id) REFERENCES orders(id);
CREATE INDEX employees_manager_id_idx ON employees (manager_id);
CREATE INDEX customers_email_idx ON customers (lower(email));
CREATE INDEX customers_phone_idx ON customers (phone);
CREATE INDEX customers_support_rep_id_idx ON customers (support_rep_id);
CREATE INDEX customers_referred_by_idx ON customers (referred_by);
CREATE INDEX customers_last_order_id_idx ON customers (last_order_id);
CREATE INDEX addresses_customer_id_idx ON addresses (customer_id);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
CREATE INDEX order_items_product_id_idx ON order_items (product_id);
CREATE INDEX payments_order_id_idx ON payments (order_id);
CREATE INDEX logins_customer_id_idx ON logins (customer_id);
CREATE INDEX support_tickets_customer_id_idx ON support_tickets (customer_id);
CREATE INDEX support_tickets_assigned_employee_id_idx ON support_tickets (assigned_employee_id);
CREATE INDEX newsletter_subscribers_email_idx ON newsletter_subscribers (lower(email));
";

/// The serial tables, whose sequences are moved past the explicit ids.
const SERIAL: [&str; 9] = [
    "employees",
    "customers",
    "addresses",
    "products",
    "orders",
    "payments",
    "logins",
    "support_tickets",
    "newsletter_subscribers",
];

/// Products: id, name, price in cents. Not personal data.
const PRODUCTS: [(i64, &str, i64); 5] =
    [(1, "Kettle", 3_490), (2, "Teapot", 2_250), (3, "Mug", 890), (4, "Tea, 250 g", 1_190), (5, "Strainer", 450)];

/// The statements that fill the shop, recording Ann's and Bob's rows in `owners`.
pub(super) fn seed(customers: &[Customer], owners: &mut Owners) -> Vec<String> {
    let employees = [
        "(1, 'carol@shop.example', 'Carol Chief', NULL)",
        "(2, 'dave@shop.example', 'Dave Director', 1)",
        "(3, 'eve@shop.example', 'Eve Support', 2)",
        "(4, 'frank@shop.example', 'Frank Support', 2)",
        "(5, 'grace@shop.example', 'Grace Trainee', 3)",
    ]
    .map(str::to_owned);
    let products: Vec<String> =
        PRODUCTS.iter().map(|(id, name, price)| format!("({id}, {}, {price})", text(name))).collect();
    let [mut rows_customers, mut addresses, mut orders, mut items, mut payments]: [Vec<String>; 5] = Default::default();
    let [mut logins, mut tickets, mut newsletter, mut updates]: [Vec<String>; 4] = Default::default();
    let (mut address_id, mut order_id, mut payment_id, mut login_id, mut ticket_id) = (200, 1000, 5000, 7000, 9000);
    for c in customers {
        let who = c.owner;
        rows_customers.push(format!(
            "({}, {}, {}, {}, {}, {})",
            c.id,
            text(&c.email),
            text(&c.phone),
            text(&c.name),
            c.support_rep,
            utc(c.id)
        ));
        owners.add(who, STORE, "customers", c.id);
        for k in 0..c.addresses {
            address_id += 1;
            let street = format!("{} Storgatan", c.id % 50 + k as i64 + 1);
            addresses.push(format!(
                "({address_id}, {}, {}, {}, {}, {})",
                c.id,
                text(street),
                text(if k == 0 { "Uppsala" } else { "Berlin" }),
                text(format!("{}", 75_000 + c.id)),
                text(if k == 0 { "SE" } else { "DE" })
            ));
            owners.add(who, STORE, "addresses", address_id);
        }
        for &lines in &c.orders {
            order_id += 1;
            let mut total = 0;
            for line in 1..=lines as i64 {
                let (product, _, price) = PRODUCTS[((order_id + line) % 5) as usize];
                let quantity = 1 + (order_id + line) % 3;
                total += price * quantity;
                items.push(format!("({order_id}, {line}, {product}, {quantity})"));
                owners.add(who, STORE, "order_items", format!("{order_id},{line}"));
            }
            orders.push(format!("({order_id}, {}, {}, {total})", c.id, utc(order_id)));
            owners.add(who, STORE, "orders", order_id);
            payment_id += 1;
            payments.push(format!("({payment_id}, {order_id}, {}, {total})", text(card_number(payment_id))));
            owners.add(who, STORE, "payments", payment_id);
        }
        for k in 0..c.logins {
            login_id += 1;
            logins.push(format!("({login_id}, {}, {}, {})", c.id, text(ip(c, k)), utc(login_id)));
            owners.add(who, STORE, "logins", login_id);
        }
        for k in 0..c.tickets {
            ticket_id += 1;
            let subject = if k == 0 { "Where is my parcel?" } else { "Refund for a broken mug" };
            let body = format!("Hello, this is {}. Order questions, please call {}.", c.name, c.phone);
            tickets.push(format!("({ticket_id}, {}, {}, {}, {})", c.id, c.support_rep, text(subject), text(body)));
            owners.add(who, STORE, "support_tickets", ticket_id);
        }
        if c.referred_by.is_some() || !c.orders.is_empty() {
            let referred_by = c.referred_by.map_or("NULL".to_owned(), |r| r.to_string());
            // The customer's last order: the one just added.
            let last_order = if c.orders.is_empty() { "NULL".to_owned() } else { order_id.to_string() };
            updates.push(format!(
                "UPDATE customers SET referred_by = {referred_by}, last_order_id = {last_order} WHERE id = {}",
                c.id
            ));
        }
    }
    let mut subscriber_id = 0;
    let strangers = ["ann.other@example.org.uk", "Stranger@Elsewhere.test"];
    let subscribers = customers
        .iter()
        .filter_map(|c| c.newsletter.as_deref().map(|email| (c.owner, email)))
        .chain(strangers.into_iter().map(|email| (None, email)));
    for (who, email) in subscribers {
        subscriber_id += 1;
        newsletter.push(format!("({subscriber_id}, {})", text(email)));
        owners.add(who, STORE, "newsletter_subscribers", subscriber_id);
    }
    let inserts = [
        insert("employees", "id, email, name, manager_id", &employees),
        insert("products", "id, name, price_cents", &products),
        insert("customers", "id, email, phone, name, support_rep_id, created_at", &rows_customers),
        insert("addresses", "id, customer_id, street, city, postal_code, country", &addresses),
        insert("orders", "id, customer_id, placed_at, total_cents", &orders),
        insert("order_items", "order_id, line_no, product_id, quantity", &items),
        insert("payments", "id, order_id, card_number, amount_cents", &payments),
        insert("logins", "id, customer_id, ip, at", &logins),
        insert("support_tickets", "id, customer_id, assigned_employee_id, subject, body", &tickets),
        insert("newsletter_subscribers", "id, email", &newsletter),
    ];
    let sequences = SERIAL
        .iter()
        .map(|table| format!("SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"));
    std::iter::once(SCHEMA.to_owned()).chain(inserts.into_iter().flatten()).chain(updates).chain(sequences).collect()
}

/// A `timestamptz` literal in UTC.
fn utc(n: i64) -> String {
    text(format!("{}+00", moment(n)))
}

/// Creates database `name` (dropping stale ones of earlier runs), fills it, returns its URL.
pub(super) async fn create(name: &str, seed: &[String]) -> String {
    let admin = connect(&admin_url(), "PostgreSQL on 127.0.0.1:5432").await;
    drop_stale(&admin).await;
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'"))
        .await
        .expect("create the shop database");
    admin.close().await.ok();
    let url = with_database(&admin_url(), name);
    let db = connect(&url, "the shop database").await;
    run(&db, seed).await.expect("fill the shop");
    db.close().await.ok();
    url
}

/// Drops databases of earlier runs made more than an hour ago.
async fn drop_stale(admin: &sea_orm::DatabaseConnection) {
    let rows = admin
        .query_all_raw(Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            format!("SELECT datname FROM pg_database WHERE datname LIKE '{}%'", PREFIX.replace('_', "\\_")),
        ))
        .await
        .unwrap_or_default();
    for row in rows {
        let Ok(name) = row.try_get::<String>("", "datname") else { continue };
        if is_stale(&name, PREFIX) {
            let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
        }
    }
}

/// Drops database `name`, closing its connections.
pub(super) async fn drop_database(name: &str) -> anyhow::Result<()> {
    let admin = sea_orm::Database::connect(admin_url()).await?;
    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await?;
    admin.close().await.ok();
    Ok(())
}
