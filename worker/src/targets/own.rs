//! Lethe's own data, which no target may name whatever the configuration says: its data
//! directory, its database file (with the files SQLite keeps beside it), and its database on a
//! PostgreSQL server.

use std::ffi::OsString;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use super::Refused;
use super::files::resolve;
use super::nets::unwrap;
use super::sql::{self, Server};

/// The files SQLite keeps beside a database.
const COMPANIONS: [&str; 3] = ["-wal", "-shm", "-journal"];

/// Lethe's data directory and database.
#[derive(Debug, Clone)]
pub struct Own {
    data_dir: PathBuf,
    database: Database,
}

/// Where Lethe's database is.
#[derive(Debug, Clone)]
enum Database {
    /// A SQLite file (canonical) and, when it exists, its device and inode (a hard link has
    /// another path but the same inode).
    File { path: PathBuf, id: Option<(u64, u64)> },
    /// A database on a server.
    Server(Server),
    /// In memory, or a URL Lethe could not start with anyway.
    Elsewhere,
}

impl Own {
    /// Lethe's own data: `data_dir` and the database of `database_url`.
    pub fn new(data_dir: &Path, database_url: &str) -> Self {
        let data_dir = resolve(data_dir).unwrap_or_else(|_| data_dir.to_owned());
        let database = if database_url.starts_with("sqlite:") {
            match sql::sqlite_file(database_url).map(|f| resolve(&f)) {
                Some(Ok(path)) => Database::File { id: file_id(&path), path },
                _ => Database::Elsewhere,
            }
        } else {
            sql::server(database_url).map_or(Database::Elsewhere, Database::Server)
        };
        Self { data_dir, database }
    }

    /// Why the file at `path` (canonical) is Lethe's own, if it is.
    pub fn file(&self, path: &Path) -> Option<Refused> {
        if path.starts_with(&self.data_dir) {
            return Some(Refused::OwnDataDir);
        }
        let Database::File { path: own, id } = &self.database else { return None };
        let companion = |suffix: &str| {
            let mut name = OsString::from(own.as_os_str());
            name.push(suffix);
            path == Path::new(&name)
        };
        let same_inode = || id.is_some() && file_id(path) == *id;
        (path == own || COMPANIONS.iter().any(|s| companion(s)) || same_inode()).then_some(Refused::OwnDatabase)
    }

    /// Whether `database` on `host` (resolved to `addrs`) is Lethe's own database: the same port
    /// and database name (compared without case) on the same address, where every loopback
    /// address (and a local socket) counts as the same host.
    pub async fn is_database(&self, host: &str, addrs: &[SocketAddr], database: &str) -> bool {
        let Database::Server(own) = &self.database else { return false };
        if !own.database.eq_ignore_ascii_case(database) || !addrs.iter().any(|a| a.port() == own.port) {
            return false;
        }
        if own.host.eq_ignore_ascii_case(host) {
            return true;
        }
        let own_ips: Vec<IpAddr> = if own.socket {
            Vec::new()
        } else {
            tokio::net::lookup_host((own.host.as_str(), own.port))
                .await
                .map(|found| found.map(|a| unwrap(a.ip())).collect())
                .unwrap_or_default()
        };
        let own_local = own.socket || own_ips.iter().any(IpAddr::is_loopback);
        addrs
            .iter()
            .map(|a| unwrap(a.ip()))
            .any(|ip| ip.is_unspecified() || own_ips.contains(&ip) || (ip.is_loopback() && own_local))
    }
}

/// A file's device and inode.
#[cfg(unix)]
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// A file's device and inode (not known on this platform).
#[cfg(not(unix))]
fn file_id(_: &Path) -> Option<(u64, u64)> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_dir_the_database_its_companions_and_hard_links_are_own() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let data = root.join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::write(data.join("lethe.db"), b"").unwrap();
        let own = Own::new(&data, &format!("sqlite://{}?mode=rwc", data.join("lethe.db").display()));
        assert_eq!(own.file(&data.join("lethe.db")), Some(Refused::OwnDataDir));
        assert_eq!(own.file(&data.join("exports/x")), Some(Refused::OwnDataDir));
        assert_eq!(own.file(&root.join("elsewhere.db")), None);

        // The database outside the data dir: itself, its companions and a hard link.
        let outside = Own::new(&root.join("other"), &format!("sqlite:{}", data.join("lethe.db").display()));
        assert_eq!(outside.file(&data.join("lethe.db")), Some(Refused::OwnDatabase));
        assert_eq!(outside.file(&data.join("lethe.db-wal")), Some(Refused::OwnDatabase));
        assert_eq!(outside.file(&data.join("lethe.db-shm")), Some(Refused::OwnDatabase));
        std::fs::hard_link(data.join("lethe.db"), root.join("hard.db")).unwrap();
        assert_eq!(outside.file(&root.join("hard.db")), Some(Refused::OwnDatabase));
        assert_eq!(outside.file(&data.join("lethe.db.bak")), None);
    }

    #[tokio::test]
    async fn the_same_server_and_database_is_own() {
        let own = Own::new(Path::new("/nonexistent-data"), "postgres://lethe@localhost:5432/lethe");
        let loopback: Vec<SocketAddr> = vec!["127.0.0.1:5432".parse().unwrap()];
        assert!(own.is_database("127.0.0.1", &loopback, "lethe").await);
        assert!(own.is_database("127.0.0.1", &loopback, "LETHE").await);
        assert!(own.is_database("localhost", &loopback, "lethe").await);
        assert!(own.is_database("::ffff:127.0.0.2", &["[::ffff:127.0.0.2]:5432".parse().unwrap()], "lethe").await);
        assert!(!own.is_database("127.0.0.1", &loopback, "shop").await);
        assert!(!own.is_database("127.0.0.1", &["127.0.0.1:5433".parse().unwrap()], "lethe").await);
        assert!(!own.is_database("192.0.2.1", &["192.0.2.1:5432".parse().unwrap()], "lethe").await);
        let sqlite = Own::new(Path::new("/nonexistent-data"), "sqlite:///nonexistent-data/lethe.db");
        assert!(!sqlite.is_database("127.0.0.1", &loopback, "lethe").await);
    }
}
