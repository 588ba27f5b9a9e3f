//! Where a SQL URL points, read with the parser the driver uses (so Lethe checks what the driver
//! would open): a SQLite file, or a PostgreSQL/MySQL server, its database and the host files
//! the URL names for TLS.

use std::path::PathBuf;

use sea_orm::sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sea_orm::sqlx::postgres::{PgConnectOptions, PgSslMode};
use sea_orm::sqlx::sqlite::SqliteConnectOptions;

/// The parameters of PostgreSQL and MySQL URLs that name a file on Lethe's host.
const FILE_PARAMETERS: [&str; 8] =
    ["sslrootcert", "ssl-root-cert", "sslca", "ssl-ca", "sslcert", "ssl-cert", "sslkey", "ssl-key"];

/// A PostgreSQL or MySQL server as a URL names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// The host name or address (a path when the URL names a local socket).
    pub host: String,
    /// The port.
    pub port: u16,
    /// The database (PostgreSQL's default: the user name).
    pub database: String,
    /// Whether the URL names a local socket rather than a TCP address.
    pub socket: bool,
    /// Whether TLS checks the server's certificate against the host name (PostgreSQL
    /// `sslmode=verify-full`, MySQL `ssl-mode=verify_identity`).
    pub verifies_name: bool,
    /// The host files the URL names (TLS certificates and keys).
    pub files: Vec<PathBuf>,
}

/// The server a `postgres://`, `mysql://` or `mariadb://` URL names, or `None` when the driver
/// would not accept the URL (or it is of another scheme).
pub fn server(url: &str) -> Option<Server> {
    let files = file_parameters(url);
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let o: PgConnectOptions = url.parse().ok()?;
        let host = o.get_socket().map_or_else(|| o.get_host().to_owned(), |s| s.display().to_string());
        return Some(Server {
            socket: host.starts_with('/'),
            host,
            port: o.get_port(),
            database: o.get_database().unwrap_or(o.get_username()).to_owned(),
            verifies_name: matches!(o.get_ssl_mode(), PgSslMode::VerifyFull),
            files,
        });
    }
    let rest = url.strip_prefix("mysql://").or_else(|| url.strip_prefix("mariadb://"))?;
    let o: MySqlConnectOptions = format!("mysql://{rest}").parse().ok()?;
    let host = o.get_socket().map_or_else(|| o.get_host().to_owned(), |s| s.display().to_string());
    Some(Server {
        socket: host.starts_with('/'),
        host,
        port: o.get_port(),
        database: o.get_database().unwrap_or_default().to_owned(),
        verifies_name: matches!(o.get_ssl_mode(), MySqlSslMode::VerifyIdentity),
        files,
    })
}

/// The file a `sqlite:` URL opens, or `None` for an in-memory database (or a URL the driver
/// would not accept).
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let database = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let database = database.split('?').next().unwrap_or_default();
    let options: SqliteConnectOptions = url.parse().ok()?;
    (database != ":memory:").then(|| options.get_filename().to_owned())
}

/// The values of the URL's file parameters.
fn file_parameters(url: &str) -> Vec<PathBuf> {
    let Ok(parsed) = reqwest::Url::parse(url) else { return Vec::new() };
    parsed
        .query_pairs()
        .filter(|(k, _)| FILE_PARAMETERS.contains(&k.as_ref()))
        .map(|(_, v)| PathBuf::from(&*v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_read_as_the_driver_reads_them() {
        let pg = server("postgres://u:p@db.internal:5433/shop?sslmode=verify-full&sslrootcert=/etc/ca.pem").unwrap();
        assert_eq!((pg.host.as_str(), pg.port, pg.database.as_str()), ("db.internal", 5433, "shop"));
        assert!(pg.verifies_name && !pg.socket);
        assert_eq!(pg.files, [PathBuf::from("/etc/ca.pem")]);
        let overridden = server("postgres://u@db.internal/shop?host=10.0.0.7&port=6000").unwrap();
        assert_eq!((overridden.host.as_str(), overridden.port), ("10.0.0.7", 6000));
        assert!(server("postgres://u@db/shop?host=/var/run/postgresql").unwrap().socket);
        assert_eq!(server("postgres://shop@db.internal").unwrap().database, "shop");
        let my = server("mariadb://root@127.0.0.1:3306/test?ssl-mode=verify_identity").unwrap();
        assert_eq!((my.host.as_str(), my.port, my.database.as_str()), ("127.0.0.1", 3306, "test"));
        assert!(my.verifies_name);
        assert!(server("mysql://root@h/db?socket=/run/mysqld/mysqld.sock").unwrap().socket);
        assert_eq!(server("redis://h"), None);
    }

    #[test]
    fn sqlite_files_are_read_as_the_driver_reads_them() {
        assert_eq!(sqlite_file("sqlite:///var/lib/a.db?mode=rwc"), Some(PathBuf::from("/var/lib/a.db")));
        assert_eq!(sqlite_file("sqlite:data/a.db"), Some(PathBuf::from("data/a.db")));
        assert_eq!(sqlite_file("sqlite:///var/lib/a%20b.db"), Some(PathBuf::from("/var/lib/a b.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite:///a.db?mode=bogus"), None);
    }
}
