//! The `analytics` store: a SQLite file whose rows point at shop customers by id, without
//! foreign keys (another system's ids).

use super::people::{Customer, Owners, ip, moment};
use super::{connect, insert, run, text};

const STORE: &str = "analytics";
const KINDS: [&str; 4] = ["signed_in", "viewed_product", "added_to_cart", "checked_out"];

/// The statements that fill the analytics file, recording Ann's and Bob's rows in `owners`.
pub(super) fn seed(customers: &[Customer], owners: &mut Owners) -> Vec<String> {
    let schema = [
        "CREATE TABLE events (id integer PRIMARY KEY, customer_id integer, kind text, at text)",
        "CREATE INDEX events_customer_id ON events (customer_id)",
        "CREATE TABLE page_views (id integer PRIMARY KEY, customer_id integer, url text, ip text)",
        "CREATE INDEX page_views_customer_id ON page_views (customer_id)",
    ];
    let [mut events, mut views]: [Vec<String>; 2] = Default::default();
    let (mut event_id, mut view_id) = (0i64, 0i64);
    for c in customers {
        for k in 0..c.events {
            event_id += 1;
            let kind = KINDS[(event_id as usize + k) % KINDS.len()];
            events.push(format!("({event_id}, {}, {}, {})", c.id, text(kind), text(moment(event_id))));
            owners.add(c.owner, STORE, "events", event_id);
        }
        for k in 0..c.page_views {
            view_id += 1;
            let url = format!("https://shop.example/products/{}", 1 + (view_id + k as i64) % 5);
            views.push(format!("({view_id}, {}, {}, {})", c.id, text(url), text(ip(c, k))));
            owners.add(c.owner, STORE, "page_views", view_id);
        }
    }
    // Visitors who never signed in, and a customer id the shop does not have.
    for (customer, kind) in [("NULL", "viewed_product"), ("NULL", "added_to_cart"), ("1010", "signed_in")] {
        event_id += 1;
        events.push(format!("({event_id}, {customer}, {}, {})", text(kind), text(moment(event_id))));
    }
    view_id += 1;
    views.push(format!("({view_id}, NULL, 'https://shop.example/', '192.0.2.200')"));
    schema
        .into_iter()
        .map(str::to_owned)
        .chain(insert("events", "id, customer_id, kind, at", &events))
        .chain(insert("page_views", "id, customer_id, url, ip", &views))
        .collect()
}

/// Creates and fills the SQLite file at sea-orm `url`.
pub(super) async fn create(url: &str, seed: &[String]) {
    let db = connect(url, "SQLite").await;
    run(&db, seed).await.expect("fill the analytics file");
    db.close().await.ok();
}
