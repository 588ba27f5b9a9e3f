use std::path::{Path, PathBuf};

use super::*;

/// A data dir with a database in it, a directory of stores beside it, and a policy that
/// allows `allow_dirs` (relative to the root).
struct Installation {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Installation {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("data")).unwrap();
        std::fs::write(root.join("data/lethe.db"), b"").unwrap();
        std::fs::create_dir_all(root.join("stores")).unwrap();
        std::fs::write(root.join("stores/shop.db"), b"").unwrap();
        Self { _dir: dir, root }
    }

    fn policy(&self, settings: TargetSettings) -> TargetPolicy {
        let url = format!("sqlite://{}?mode=rwc", self.root.join("data/lethe.db").display());
        TargetPolicy::new(settings, &self.root.join("data"), &url).unwrap()
    }

    fn allowing(&self, dirs: &[&str]) -> TargetPolicy {
        let dirs = dirs.iter().map(|d| self.root.join(d)).collect();
        self.policy(TargetSettings { allow_dirs: Some(dirs), ..TargetSettings::production() })
    }
}

fn refused(result: Result<PathBuf, TargetError>) -> Refused {
    match result {
        Err(TargetError::Refused(reason)) => reason,
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn files_must_be_under_an_allowed_directory() {
    let i = Installation::new();
    let policy = i.allowing(&["stores"]);
    assert_eq!(policy.check_file(&i.root.join("stores/shop.db")).unwrap(), i.root.join("stores/shop.db"));
    assert_eq!(policy.check_file(&i.root.join("stores/new.db")).unwrap(), i.root.join("stores/new.db"));
    assert_eq!(refused(policy.check_file(Path::new("/etc/passwd"))), Refused::OutsideAllowedDirs);
    assert_eq!(refused(policy.check_file(Path::new("/etc/nonexistent"))), Refused::OutsideAllowedDirs);
    assert_eq!(refused(policy.check_file(&i.root.join("stores/../data/x.db"))), Refused::ParentComponent);
    // A symlink inside the allowed directory leads where it leads.
    std::os::unix::fs::symlink("/etc/passwd", i.root.join("stores/passwd.db")).unwrap();
    assert_eq!(refused(policy.check_file(&i.root.join("stores/passwd.db"))), Refused::OutsideAllowedDirs);
    // Production default: no directory at all.
    let none = i.policy(TargetSettings::production());
    assert_eq!(refused(none.check_file(&i.root.join("stores/shop.db"))), Refused::OutsideAllowedDirs);
    // Development default: anywhere.
    let dev = i.policy(TargetSettings::development());
    assert!(dev.check_file(Path::new("/etc/passwd")).is_ok());
}

#[test]
fn lethes_own_data_is_refused_whatever_the_configuration_says() {
    let i = Installation::new();
    std::os::unix::fs::symlink(i.root.join("data/lethe.db"), i.root.join("stores/link.db")).unwrap();
    std::os::unix::fs::symlink(i.root.join("data"), i.root.join("stores/data-link")).unwrap();
    for policy in [i.allowing(&[""]), i.allowing(&["data", "stores"]), i.policy(TargetSettings::development())] {
        for path in [
            "data/lethe.db",
            "data/lethe.db-wal",
            "data/exports/x",
            "data",
            "stores/link.db",
            "stores/data-link/lethe.db",
        ] {
            let reason = refused(policy.check_file(&i.root.join(path)));
            assert!(matches!(reason, Refused::OwnDataDir | Refused::OwnDatabase), "{path}: {reason}");
        }
    }
    assert_eq!(
        TargetPolicy::new(TargetSettings::development(), &i.root.join("data"), "sqlite::memory:")
            .unwrap()
            .check_file(&i.root.join("data/lethe.db"))
            .map_err(|e| e.to_string()),
        Err("refused by the target policy: the file is in Lethe's data directory".to_owned())
    );
}

#[test]
fn an_allowed_directory_must_exist() {
    let i = Installation::new();
    let settings = TargetSettings { allow_dirs: Some(vec![i.root.join("missing")]), ..TargetSettings::production() };
    let url = format!("sqlite://{}", i.root.join("data/lethe.db").display());
    assert!(TargetPolicy::new(settings, &i.root.join("data"), &url).is_err());
}

fn nets(list: &[&str]) -> Vec<Net> {
    list.iter().map(|n| n.parse().unwrap()).collect()
}

#[tokio::test]
async fn production_refuses_local_addresses_unless_allowed() {
    let i = Installation::new();
    let production = i.policy(TargetSettings::production());
    for host in ["127.0.0.1", "[::1]", "::ffff:127.0.0.1", "169.254.169.254", "10.1.2.3", "0.0.0.0", "localhost"] {
        assert!(matches!(production.resolve(host, 5432).await, Err(TargetError::Refused(Refused::Local(_)))), "{host}");
    }
    assert_eq!(production.resolve("192.0.2.1", 5432).await.unwrap(), ["192.0.2.1:5432".parse().unwrap()]);
    let allowed =
        i.policy(TargetSettings { allow_nets: nets(&["127.0.0.0/8", "::1"]), ..TargetSettings::production() });
    assert!(allowed.resolve("localhost", 6379).await.unwrap().iter().all(|a| a.ip().is_loopback()));
    assert!(allowed.resolve("10.1.2.3", 80).await.is_err());
    // Deny rules win over allow rules, in development too.
    let denied = i.policy(TargetSettings {
        allow_nets: nets(&["10.0.0.0/8"]),
        deny_nets: nets(&["10.0.0.5", "192.0.2.0/24"]),
        ..TargetSettings::development()
    });
    assert!(denied.resolve("10.0.0.4", 80).await.is_ok());
    assert_eq!(
        denied.resolve("10.0.0.5", 80).await,
        Err(TargetError::Refused(Refused::Denied("10.0.0.5".parse().unwrap())))
    );
    assert!(denied.resolve("::ffff:192.0.2.9", 80).await.is_err());
    assert!(denied.resolve("127.0.0.1", 80).await.is_ok());
    assert_eq!(production.resolve("no-such-host.invalid", 80).await, Err(TargetError::Unresolved));
}
