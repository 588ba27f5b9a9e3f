//! What a SQL store's connection is pinned to after the target policy checked it: the canonical
//! SQLite file, or the checked address of the server. The driver is handed these, never the
//! name or path it was given, so a symlink or a DNS answer that changes after the check cannot
//! lead elsewhere.

use std::path::PathBuf;

use lethe_entities::StoreKind;

use crate::stores::StoreError;
use crate::targets::{self, TargetPolicy, sql};

/// Where the driver connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// An in-memory SQLite database: no file.
    Memory,
    /// This SQLite file (canonical).
    File(PathBuf),
    /// This address instead of the URL's host (`None`: the host name is kept, because TLS
    /// verifies the server's certificate against it; it was resolved and checked just before).
    Host(Option<String>),
}

/// Checks a SQL store's URL against the policy and says what to connect to.
pub async fn pin(policy: &TargetPolicy, kind: StoreKind, url: &str) -> Result<Pin, StoreError> {
    let invalid = || StoreError::Config("the URL is not valid for this database".into());
    if kind == StoreKind::Sqlite {
        return match sql::sqlite_file(url) {
            Some(file) => {
                let path = policy.check_file(&file)?;
                // A directory, device or pipe is no database (and opening a pipe would block):
                // the answer a missing file gets.
                if path.exists() && !path.is_file() {
                    return Err(StoreError::UNUSABLE_FILE);
                }
                Ok(Pin::File(path))
            }
            None if url.parse::<sea_orm::sqlx::sqlite::SqliteConnectOptions>().is_ok() => Ok(Pin::Memory),
            None => Err(invalid()),
        };
    }
    let server = sql::server(url).ok_or_else(invalid)?;
    for file in &server.files {
        policy.check_file(file)?;
    }
    if server.socket {
        return Err(policy.socket(&server.host).into());
    }
    let addrs = policy.resolve(&server.host, server.port).await?;
    policy.check_database(&server.host, &addrs, &server.database).await?;
    if server.verifies_name {
        return Ok(Pin::Host(None));
    }
    Ok(Pin::Host(Some(targets::first_reachable(&addrs).await.ip().to_string())))
}
