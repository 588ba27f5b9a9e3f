//! The installation's **target policy**: which files and network addresses a tenant may make
//! Lethe open or connect to (stores, and webhook endpoints: every tenant-configured target). One [`TargetPolicy`] is built from the configuration at start and asked before every
//! connection, not only when a target is registered.
//!
//! * Files ([`TargetPolicy::check_file`]): `..` is refused, symlinks are resolved
//!   ([`files::resolve`]), the file must be under an allowed directory (development default:
//!   anywhere), and Lethe's own data directory and database ([`own`]) are refused whatever the
//!   configuration says.
//! * Network ([`TargetPolicy::resolve`]): every address a host name resolves to is checked;
//!   deny rules win, allow rules exempt from the local ranges ([`nets::LOCAL_NETS`]) a
//!   production installation refuses. The caller connects to the addresses it was given (see
//!   [`http`] for HTTP), so a name that resolves differently a moment later (DNS rebinding)
//!   cannot lead elsewhere. [`TargetPolicy::check_database`] refuses Lethe's own database on its
//!   server.
//!
//! A refusal is logged here (the reason, the path or address; never credentials) and reaches
//! the tenant as one stable answer that does not say why.

pub mod files;
pub mod http;
pub mod nets;
pub mod own;
pub mod sql;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use nets::{Net, NetError};
use own::Own;

/// The configured rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSettings {
    /// Directories SQLite stores (and TLS files named in store URLs) may be in; `None`:
    /// anywhere (but Lethe's own data).
    pub allow_dirs: Option<Vec<PathBuf>>,
    /// Networks allowed although local (loopback, private, ...).
    pub allow_nets: Vec<Net>,
    /// Networks never allowed.
    pub deny_nets: Vec<Net>,
    /// Whether the local ranges ([`nets::LOCAL_NETS`]) are refused unless allowed.
    pub refuse_local: bool,
}

impl TargetSettings {
    /// The development defaults: files anywhere but Lethe's own data, any address.
    pub fn development() -> Self {
        Self { allow_dirs: None, allow_nets: Vec::new(), deny_nets: Vec::new(), refuse_local: false }
    }

    /// The production defaults: no directory for files, no local address.
    pub fn production() -> Self {
        Self { allow_dirs: Some(Vec::new()), refuse_local: true, ..Self::development() }
    }
}

impl std::fmt::Display for TargetSettings {
    /// A summary for the start-up banner.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |nets: &[Net]| nets.iter().map(Net::to_string).collect::<Vec<_>>().join(", ");
        match &self.allow_dirs {
            None => write!(f, "SQLite files anywhere but the data dir")?,
            Some(dirs) if dirs.is_empty() => write!(f, "no SQLite files")?,
            Some(dirs) => {
                let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
                write!(f, "SQLite files in {}", dirs.join(", "))?;
            }
        }
        write!(f, "; {} addresses", if self.refuse_local { "public" } else { "any" })?;
        if !self.allow_nets.is_empty() {
            write!(f, " and {}", list(&self.allow_nets))?;
        }
        if !self.deny_nets.is_empty() {
            write!(f, ", never {}", list(&self.deny_nets))?;
        }
        Ok(())
    }
}

/// Why a target was refused (for the server log; tenants are not told).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The URL names no file.
    #[error("no file is named")]
    NoPath,
    /// The path has a `..` component.
    #[error("the path has a `..` component")]
    ParentComponent,
    /// A component of the path is a symlink to nothing.
    #[error("the path leads through a dangling symlink")]
    DanglingLink,
    /// The path cannot be made absolute.
    #[error("the path cannot be resolved")]
    Unresolvable,
    /// The file is in Lethe's data directory.
    #[error("the file is in Lethe's data directory")]
    OwnDataDir,
    /// The target is Lethe's own database (its file, a companion file, a hard link, or the same
    /// database on the same server).
    #[error("the target is Lethe's own database")]
    OwnDatabase,
    /// The path leads elsewhere than when it was checked (a symlink was put in its way).
    #[error("the path leads elsewhere than when it was checked")]
    Changed,
    /// The file is outside the allowed directories.
    #[error("the file is outside the allowed directories")]
    OutsideAllowedDirs,
    /// The URL names a local socket.
    #[error("local sockets are not allowed")]
    Socket,
    /// An address is in a denied network.
    #[error("{0} is in a denied network")]
    Denied(IpAddr),
    /// An address is local (loopback, private, link-local, ...) and no rule allows it.
    #[error("{0} is a local address and no rule allows it")]
    Local(IpAddr),
}

/// Why a target cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The policy refuses it.
    #[error("refused by the target policy: {0}")]
    Refused(Refused),
    /// The host name does not resolve.
    #[error("the host name could not be resolved")]
    Unresolved,
}

/// The first of `addrs` that accepts a TCP connection (the next is tried after a refusal or two
/// seconds), or the first when none does: for drivers that take one address, as connecting by
/// name would try them in turn.
pub async fn first_reachable(addrs: &[SocketAddr]) -> SocketAddr {
    if addrs.len() > 1 {
        for addr in addrs {
            let probe = tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr)).await;
            if matches!(probe, Ok(Ok(_))) {
                return *addr;
            }
        }
    }
    addrs[0]
}

/// The policy could not be built from the configuration.
#[derive(Debug, thiserror::Error)]
#[error("allowed directory {}: {source}", dir.display())]
pub struct PolicyError {
    dir: PathBuf,
    source: std::io::Error,
}

/// The installation's target policy (see the module documentation).
#[derive(Debug, Clone)]
pub struct TargetPolicy {
    settings: TargetSettings,
    local: Vec<Net>,
    own: Own,
}

impl TargetPolicy {
    /// The policy of `settings` for an installation keeping its data in `data_dir` and its
    /// database at `database_url` (both refused as targets). Allowed directories must exist.
    pub fn new(mut settings: TargetSettings, data_dir: &Path, database_url: &str) -> Result<Self, PolicyError> {
        if let Some(dirs) = settings.allow_dirs.as_mut() {
            for dir in dirs.iter_mut() {
                *dir = dir.canonicalize().map_err(|source| PolicyError { dir: dir.clone(), source })?;
            }
        }
        Ok(Self { settings, local: nets::local_nets(), own: Own::new(data_dir, database_url) })
    }

    /// The canonical path of a file a tenant's URL names, if the policy allows it (the caller
    /// opens this path, not the one it was given).
    pub fn check_file(&self, path: &Path) -> Result<PathBuf, TargetError> {
        let refused = |reason: Refused| {
            tracing::warn!(path = %path.display(), %reason, "target refused");
            Err(TargetError::Refused(reason))
        };
        let resolved = match files::resolve(path) {
            Ok(resolved) => resolved,
            Err(reason) => return refused(reason),
        };
        if let Some(reason) = self.own.file(&resolved) {
            return refused(reason);
        }
        match &self.settings.allow_dirs {
            Some(dirs) if !dirs.iter().any(|d| resolved.starts_with(d)) => refused(Refused::OutsideAllowedDirs),
            _ => Ok(resolved),
        }
    }

    /// Refuses a local socket: tenants' servers are reached over TCP only.
    pub fn socket(&self, path: &str) -> TargetError {
        tracing::warn!(%path, reason = %Refused::Socket, "target refused");
        TargetError::Refused(Refused::Socket)
    }

    /// Checks a file [`Self::check_file`] returned again, when it is opened anew: it must still
    /// be allowed and lead to itself (no symlink was put in its way since).
    pub fn recheck_file(&self, checked: &Path) -> Result<(), TargetError> {
        match self.check_file(checked)? {
            now if now == checked => Ok(()),
            _ => {
                tracing::warn!(path = %checked.display(), reason = %Refused::Changed, "target refused");
                Err(TargetError::Refused(Refused::Changed))
            }
        }
    }

    /// Whether the policy allows connecting to `ip`.
    fn check_ip(&self, ip: IpAddr) -> Result<(), Refused> {
        if self.settings.deny_nets.iter().any(|n| n.contains(ip)) {
            return Err(Refused::Denied(ip));
        }
        let allowed = self.settings.allow_nets.iter().any(|n| n.contains(ip));
        if !allowed && self.settings.refuse_local && self.local.iter().any(|n| n.contains(ip)) {
            return Err(Refused::Local(ip));
        }
        Ok(())
    }

    /// The addresses of `host` (a name or an address) at `port`, each of them allowed; the
    /// caller connects to these, not to the name.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, TargetError> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((bare, port)).await.map_err(|_| TargetError::Unresolved)?.collect(),
        };
        if addrs.is_empty() {
            return Err(TargetError::Unresolved);
        }
        for addr in &addrs {
            if let Err(reason) = self.check_ip(addr.ip()) {
                tracing::warn!(%host, %port, %reason, "target refused");
                return Err(TargetError::Refused(reason));
            }
        }
        Ok(addrs)
    }

    /// Whether a tenant may be shown what `addrs` answer (a webhook receiver's first bytes):
    /// not when local ranges are refused and one of them is in such a range (allowed by a rule),
    /// where the answer could tell about a service on the installation's own network.
    pub fn shows_answers_of(&self, addrs: &[SocketAddr]) -> bool {
        !self.settings.refuse_local || !addrs.iter().any(|addr| self.local.iter().any(|n| n.contains(addr.ip())))
    }

    /// Whether plain HTTP (no TLS) may go to `addrs`: anywhere when local addresses are not
    /// refused (development), otherwise only when every address is in an allowed network.
    pub fn allows_plain_http(&self, addrs: &[SocketAddr]) -> bool {
        !self.settings.refuse_local
            || addrs.iter().all(|addr| self.settings.allow_nets.iter().any(|n| n.contains(addr.ip())))
    }

    /// Refuses `database` on `host` (resolved to `addrs`) when it is Lethe's own database.
    pub async fn check_database(&self, host: &str, addrs: &[SocketAddr], database: &str) -> Result<(), TargetError> {
        if self.own.is_database(host, addrs, database).await {
            tracing::warn!(%host, reason = %Refused::OwnDatabase, "target refused");
            return Err(TargetError::Refused(Refused::OwnDatabase));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
