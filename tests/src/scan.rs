//! Looking for a value anywhere Lethe keeps things: every table of its database (and, on
//! SQLite, every byte of the database files, free pages included) and everything it logs.

use std::sync::{Arc, Mutex, OnceLock};

use lethe_api::config::LogFormat;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::app::TestApp;

/// Where `needle` is stored in the engine's database: table names on PostgreSQL (rows as text,
/// binary columns in hex too), database file names on SQLite. Empty when nowhere.
pub async fn stored_in(app: &TestApp, needle: &str) -> Vec<String> {
    if let Some(rest) = app.database_url.strip_prefix("sqlite://") {
        let path = rest.split('?').next().unwrap_or(rest);
        return ["", "-wal"]
            .into_iter()
            .map(|suffix| format!("{path}{suffix}"))
            .filter(|file| {
                std::fs::read(file).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
            })
            .collect();
    }
    let tables = app
        .db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT table_schema || '.' || table_name AS name FROM information_schema.tables \
             WHERE table_schema IN ('public', 'apalis') AND table_type = 'BASE TABLE'",
        ))
        .await
        .unwrap();
    let hex: String = needle.bytes().map(|b| format!("{b:02x}")).collect();
    let mut found = Vec::new();
    for row in tables {
        let name: String = row.try_get("", "name").unwrap();
        let (schema, table) = name.split_once('.').unwrap();
        let sql = format!(
            "SELECT count(*) AS n FROM \"{schema}\".\"{table}\" t WHERE strpos(t::text, $1) > 0 OR strpos(t::text, $2) > 0"
        );
        let count = app
            .db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                [needle.into(), hex.clone().into()],
            ))
            .await
            .unwrap()
            .unwrap();
        if count.try_get::<i64>("", "n").unwrap() > 0 {
            found.push(name);
        }
    }
    found
}

/// Everything logged by this test process (every test in it), through the subscriber the
/// `lethe` binary installs ([`lethe_api::logging::install`]) with `LETHE_LOG=trace`.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// Starts capturing (once per process) and returns the capture. Call it before spawning
    /// the engines whose logs matter; `LETHE_TEST_LOG` then has no effect in this process.
    pub fn capture() -> Logs {
        static LOGS: OnceLock<Logs> = OnceLock::new();
        LOGS.get_or_init(|| {
            let logs = Logs::default();
            let writer = logs.clone();
            let _ = lethe_api::logging::install(Some("trace"), LogFormat::Text, move || writer.clone());
            logs
        })
        .clone()
    }

    /// The lines logged so far, without terminal colour codes.
    pub fn lines(&self) -> Vec<String> {
        let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
        text.lines().map(without_colours).collect()
    }

    /// Whether anything logged so far contains `needle`.
    pub fn contain(&self, needle: &str) -> bool {
        let bytes = self.0.lock().unwrap();
        bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
    }
}

/// `line` without ANSI escape sequences (`ESC [ ... letter`).
fn without_colours(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(char::is_ascii_alphabetic);
        } else {
            out.push(c);
        }
    }
    out
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
