//! The few expressions SQLite and PostgreSQL write differently, and statements written with
//! `$n` parameters for either.

use sea_orm::{DbBackend, Statement, Value};

/// Days (fractional) from timestamp column `from` to `to`.
pub(super) fn days(backend: DbBackend, from: &str, to: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("CAST(EXTRACT(EPOCH FROM ({to} - {from})) / 86400.0 AS DOUBLE PRECISION)"),
        _ => format!("(julianday({to}) - julianday({from}))"),
    }
}

/// The 0-based week of timestamp column `at` counted in 7-day periods from parameter `start`
/// (a timestamp at or before every `at` the query reads).
pub(super) fn week(backend: DbBackend, at: &str, start: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("CAST(FLOOR(EXTRACT(EPOCH FROM ({at} - {start})) / 604800) AS BIGINT)"),
        _ => format!("CAST((julianday({at}) - julianday({start})) / 7 AS INTEGER)"),
    }
}

/// `sql` (with `$1`, `$2`, ... parameters) for `backend`: SQLite numbers them `?1`, `?2`.
pub(super) fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => sql.to_owned(),
        _ => sql.replace('$', "?"),
    };
    Statement::from_sql_and_values(backend, sql, values)
}
