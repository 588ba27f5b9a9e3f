//! Every file Lethe writes is its owner's alone: files `0600`, directories `0700` (on Unix).
//! The data directory holds the SQLite database, the development master key, the file outbox
//! (verification codes, links, addresses) and the access packages; none of it is anybody
//! else's to read on a shared machine.
//!
//! * Lethe's own files and directories are created with an explicit mode ([`new_file`],
//!   [`dir`], [`temp_dir_in`]).
//! * The `lethe` binary sets its umask to `077` at start ([`restrict_umask`]), so what libraries
//!   create (SQLite's `-wal` and `-shm`, temporary files) is private too.
//! * An installation from before is tightened at start: the data directory, the database and
//!   its side files ([`tighten_file`]), the outbox and its messages ([`tighten_files_in`]), the
//!   exports directory and the development master key.

use std::fs::OpenOptions;
use std::io;
use std::path::Path;

/// The mode of every file Lethe writes.
pub const FILE_MODE: u32 = 0o600;
/// The mode of every directory Lethe creates.
pub const DIR_MODE: u32 = 0o700;

/// Creates `path` and its missing parents owner-only, and makes an existing `path` owner-only.
pub fn dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(DIR_MODE))
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(path)
}

/// Options that create a new file (never an existing one) for writing, owner-only.
pub fn new_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options
}

/// A new temporary directory in `parent`, named `<prefix><random>`, owner-only; removed when
/// dropped.
pub fn temp_dir_in(parent: &Path, prefix: &str) -> io::Result<tempfile::TempDir> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(DIR_MODE));
    }
    builder.tempdir_in(parent)
}

/// Makes an existing file owner-only; a file that does not exist is no error.
pub fn tighten_file(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::set_permissions(path, std::fs::Permissions::from_mode(FILE_MODE)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Makes the files directly in `dir` owner-only (the messages an older version left in the
/// outbox).
pub fn tighten_files_in(dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            tighten_file(&entry.path())?;
        }
    }
    Ok(())
}

/// Sets the process's umask to `077`: whatever the process creates without an explicit mode
/// is owner-only. Call once, at the start of the binary (it applies to the whole process).
pub fn restrict_umask() {
    #[cfg(unix)]
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
}

#[cfg(all(test, unix))]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn files_and_directories_are_owner_only_new_and_old() {
        let root = tempfile::tempdir().unwrap();
        let nested = root.path().join("a/b");
        dir(&nested).unwrap();
        assert_eq!((mode(&root.path().join("a")), mode(&nested)), (DIR_MODE, DIR_MODE));
        std::fs::set_permissions(&nested, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir(&nested).unwrap();
        assert_eq!(mode(&nested), DIR_MODE, "an existing directory is tightened");

        let file = nested.join("f");
        new_file().open(&file).unwrap().write_all(b"x").unwrap();
        assert_eq!(mode(&file), FILE_MODE);
        assert!(new_file().open(&file).is_err(), "never an existing file");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        tighten_file(&file).unwrap();
        assert_eq!(mode(&file), FILE_MODE);
        tighten_file(&nested.join("missing")).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        tighten_files_in(&nested).unwrap();
        assert_eq!(mode(&file), FILE_MODE);
        let temp = temp_dir_in(&nested, ".work-").unwrap();
        assert_eq!(mode(temp.path()), DIR_MODE);
    }
}
