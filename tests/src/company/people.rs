//! The cast: every shop customer, deterministically, and a record of whose rows are whose.

use std::fmt::Display;

use super::{
    ANN_CUSTOMER_ID, ANN_EMAIL, ANN_OTHER_EMAIL, ANN_PHONE, BOB_CUSTOMER_ID, BOB_EMAIL, BOB_PHONE, EVE_EMPLOYEE_ID,
    Located,
};

/// Ann's full name.
pub(super) const ANN_NAME: &str = "Ann Lindqvist";
/// Bob's full name.
pub(super) const BOB_NAME: &str = "Bob Marsh";
/// Frank's `employees.id`: the other support representative.
pub(super) const FRANK_EMPLOYEE_ID: i32 = 4;

/// The two people whose rows are tracked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Who {
    Ann,
    Bob,
}

/// One shop customer and how much data each store holds about them.
pub(super) struct Customer {
    pub id: i64,
    pub owner: Option<Who>,
    pub email: String,
    /// A second address, used in the CRM (not in the shop).
    pub other_email: Option<&'static str>,
    /// The address as typed into the newsletter form.
    pub newsletter: Option<String>,
    pub phone: String,
    pub name: String,
    pub support_rep: i32,
    pub referred_by: Option<i64>,
    pub addresses: usize,
    /// Items per order.
    pub orders: Vec<usize>,
    pub logins: usize,
    pub tickets: usize,
    pub in_crm: bool,
    pub events: usize,
    pub page_views: usize,
    pub session: bool,
    pub cart: bool,
}

/// Ann, Bob and twenty others (ids 103..=122), including near misses of Ann's address
/// (`anne@example.com`, `ann@example.co`), a customer Ann referred, one without orders.
pub(super) fn customers() -> Vec<Customer> {
    let ann = Customer {
        id: ANN_CUSTOMER_ID,
        owner: Some(Who::Ann),
        email: ANN_EMAIL.to_owned(),
        other_email: Some(ANN_OTHER_EMAIL),
        newsletter: Some(ANN_OTHER_EMAIL.to_uppercase()),
        phone: ANN_PHONE.to_owned(),
        name: ANN_NAME.to_owned(),
        support_rep: EVE_EMPLOYEE_ID,
        referred_by: Some(BOB_CUSTOMER_ID),
        addresses: 2,
        orders: vec![2, 3, 2],
        logins: 4,
        tickets: 2,
        in_crm: true,
        events: 3,
        page_views: 3,
        session: true,
        cart: true,
    };
    let bob = Customer {
        id: BOB_CUSTOMER_ID,
        owner: Some(Who::Bob),
        email: BOB_EMAIL.to_owned(),
        other_email: None,
        newsletter: Some("Bob@Example.com".to_owned()),
        phone: BOB_PHONE.to_owned(),
        name: BOB_NAME.to_owned(),
        support_rep: EVE_EMPLOYEE_ID,
        referred_by: None,
        addresses: 1,
        orders: vec![2, 1],
        logins: 2,
        tickets: 1,
        in_crm: true,
        events: 2,
        page_views: 2,
        session: true,
        cart: true,
    };
    let mut all = vec![ann, bob];
    for i in 0..20usize {
        let id = 103 + i as i64;
        let email = match i {
            0 => "anne@example.com".to_owned(),
            1 => "ann@example.co".to_owned(),
            _ => format!("customer{id}@example.net"),
        };
        all.push(Customer {
            id,
            owner: None,
            newsletter: (i % 5 == 1).then(|| email.to_uppercase()),
            email,
            other_email: None,
            phone: format!("+467000{id:05}"),
            name: if i == 2 { "Siobhán O'Brien".to_owned() } else { format!("Customer {id}") },
            support_rep: if i % 2 == 0 { EVE_EMPLOYEE_ID } else { FRANK_EMPLOYEE_ID },
            referred_by: match i {
                0 => Some(ANN_CUSTOMER_ID),
                7 => Some(BOB_CUSTOMER_ID),
                _ => None,
            },
            addresses: usize::from(i % 4 != 3),
            orders: match i {
                19 => vec![],
                _ if i % 3 == 0 => vec![1, 2],
                _ => vec![1 + i % 3],
            },
            logins: i % 3,
            tickets: usize::from(i % 4 == 0),
            in_crm: i < 10,
            events: 1 + i % 2,
            page_views: i % 3,
            session: i < 5,
            cart: i == 0 || i == 5,
        });
    }
    all
}

/// The rows of Ann and Bob, recorded while the stores' contents are generated.
#[derive(Default)]
pub(super) struct Owners {
    pub ann: Located,
    pub bob: Located,
}

impl Owners {
    /// Records that row (or key) `pk` of `table` in `store` belongs to `who` (nothing for
    /// `None`: the other customers).
    pub fn add(&mut self, who: Option<Who>, store: &str, table: &str, pk: impl Display) {
        let located = match who {
            Some(Who::Ann) => &mut self.ann,
            Some(Who::Bob) => &mut self.bob,
            None => return,
        };
        located.entry(store.to_owned()).or_default().entry(table.to_owned()).or_default().insert(pk.to_string());
    }
}

/// A 16-digit card number that passes the Luhn check, derived from `seed`.
pub(super) fn card_number(seed: i64) -> String {
    let body = format!("4000{:011}", seed * 7_919);
    let sum: u32 = body
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = c.to_digit(10).unwrap_or(0);
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// A timestamp in 2024, spread by `n` (`YYYY-MM-DD HH:MM:SS`, UTC).
pub(super) fn moment(n: i64) -> String {
    format!("2024-{:02}-{:02} {:02}:{:02}:00", 1 + n % 12, 1 + n % 28, 8 + n % 12, n % 60)
}

/// The IP address of a person's `k`-th login (also used for page views and sessions).
pub(super) fn ip(customer: &Customer, k: usize) -> String {
    match customer.owner {
        Some(Who::Ann) if k == 3 => "2001:db8::a".to_owned(),
        Some(Who::Ann) => format!("203.0.113.{}", 10 + k),
        Some(Who::Bob) => format!("198.51.100.{}", 20 + k),
        None => format!("192.0.2.{}", customer.id - 100 + k as i64),
    }
}
