//! What every console page shows: the navigation, names of stored values, dates, days left.

use askama::Template;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use lethe_entities::entity::request;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::macros::format_description;

use super::session::Session;
use crate::auth::Permission;

/// The navigation bar of a signed-in page.
#[derive(Debug, Clone)]
pub struct Nav {
    /// The operator's sign-in address (their own, shown to them).
    pub email: String,
    /// Their role.
    pub role: String,
    /// The organization's name.
    pub organization: String,
    /// The CSRF token for the sign-out forms.
    pub csrf: String,
    /// Which section is open: `queue`, `dashboard`, `stores`, `retention`, `holds`, `ledger`, `webhooks`,
    /// `audit`, `settings` or `password`.
    pub current: &'static str,
    /// Whether the audit log is in the menu.
    pub audit: bool,
    /// Whether the settings (operators, API keys, defaults) are in the menu: admins only.
    pub settings: bool,
    /// Whether webhooks are in the menu.
    pub webhooks: bool,
}

impl Nav {
    /// The navigation of `session` with section `current` open.
    pub fn new(session: &Session, current: &'static str) -> Self {
        Self {
            email: session.operator.email.clone(),
            role: name(&session.operator.role),
            organization: session.organization.name.clone(),
            csrf: session.csrf.clone(),
            current,
            audit: session.can(Permission::ReadAudit),
            settings: session.can(Permission::ManageOperators),
            webhooks: session.can(Permission::ReadWebhooks),
        }
    }
}

/// The query of a page after an action (`?done=`): what was just done, for the notice.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoneQuery {
    /// What was done.
    pub done: Option<String>,
}

impl DoneQuery {
    /// What was done; nothing when the query does not parse (the page shows without a notice).
    pub fn of(query: Result<Query<Self>, QueryRejection>) -> Option<String> {
        query.ok().and_then(|Query(q)| q.done)
    }
}

/// The stored (snake_case) name of an enum value.
pub fn name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// The enum value whose stored name is `text` (a form's `<select>`), if there is one.
pub fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
}

/// The name in words (`pending_approval` -> `pending approval`).
pub fn words<T: Serialize>(value: &T) -> String {
    name(value).replace('_', " ")
}

/// A time as `2026-11-23 09:44 UTC`.
pub fn when(at: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    at.to_offset(time::UtcOffset::UTC).format(&format).unwrap_or_default()
}

/// Days left until a request is due, in words, with its colour class.
#[derive(Debug, Clone)]
pub struct DaysLeft {
    /// `12 days left`, `due today`, `3 days overdue`, `closed`.
    pub text: String,
    /// `ok`, `due-soon`, `overdue` or `closed`.
    pub class: &'static str,
}

impl DaysLeft {
    /// Days left of `r` as of `now`; due soon within `due_soon_days` (the organization's
    /// setting).
    pub fn of(r: &request::Model, now: OffsetDateTime, due_soon_days: i32) -> Self {
        if r.state.is_terminal() {
            return Self { text: "closed".into(), class: "closed" };
        }
        let days = (r.due_at - now).whole_days();
        let (text, class) = match days {
            _ if r.is_overdue(now) => {
                let late = (now - r.due_at).whole_days();
                (if late == 0 { "overdue".to_owned() } else { format!("{late} days overdue") }, "overdue")
            }
            0 => ("due today".to_owned(), "due-soon"),
            1 => ("1 day left".to_owned(), "due-soon"),
            d if d <= i64::from(due_soon_days) => (format!("{d} days left"), "due-soon"),
            d => (format!("{d} days left"), "ok"),
        };
        Self { text, class }
    }
}

/// A secret shown once: a new operator's one-time password, or an API key.
#[derive(Template)]
#[template(path = "console/secret.html")]
pub struct SecretPage {
    /// The navigation.
    pub nav: Nav,
    /// What the secret is for, in words.
    pub what: String,
    /// The secret.
    pub secret: String,
    /// The page to go back to.
    pub back: &'static str,
}
