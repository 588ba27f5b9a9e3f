//! Where a file path named in a tenant's URL really leads: [`resolve`] refuses `..` and
//! resolves symlinks, so the directory rules see the file that would be opened.

use std::path::{Component, Path, PathBuf};

use super::Refused;

/// The canonical form of `path`: `..` components are refused; the longest prefix that exists
/// is canonicalised (every symlink in it resolved) and the components that do not exist yet
/// are appended. A relative path is taken from the working directory. A prefix that is a
/// dangling symlink is refused (what it would lead to cannot be checked).
pub fn resolve(path: &Path) -> Result<PathBuf, Refused> {
    if path.as_os_str().is_empty() {
        return Err(Refused::NoPath);
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(Refused::ParentComponent);
    }
    let absolute = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir().map_err(|_| Refused::Unresolvable)?.join(path)
    };
    let mut missing = Vec::new();
    let mut base = absolute.as_path();
    loop {
        match base.canonicalize() {
            Ok(found) => return Ok(missing.iter().rev().fold(found, |path, name| path.join(name))),
            Err(_) if base.symlink_metadata().is_ok() => return Err(Refused::DanglingLink),
            Err(_) => {
                missing.push(base.file_name().ok_or(Refused::Unresolvable)?.to_owned());
                base = base.parent().ok_or(Refused::Unresolvable)?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_are_resolved_and_parent_components_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("real")).unwrap();
        std::fs::write(root.join("real/a.db"), b"").unwrap();
        std::os::unix::fs::symlink(root.join("real"), root.join("link")).unwrap();
        std::os::unix::fs::symlink(root.join("real/a.db"), root.join("file-link.db")).unwrap();
        std::os::unix::fs::symlink(root.join("nowhere.db"), root.join("dangling.db")).unwrap();

        assert_eq!(resolve(&root.join("link/a.db")).unwrap(), root.join("real/a.db"));
        assert_eq!(resolve(&root.join("file-link.db")).unwrap(), root.join("real/a.db"));
        assert_eq!(resolve(&root.join("link/new.db")).unwrap(), root.join("real/new.db"));
        assert_eq!(resolve(&root.join("link/x/y/new.db")).unwrap(), root.join("real/x/y/new.db"));
        assert_eq!(resolve(&root.join("./real/./a.db")).unwrap(), root.join("real/a.db"));
        assert_eq!(resolve(&root.join("real/../real/a.db")), Err(Refused::ParentComponent));
        assert_eq!(resolve(Path::new("../x.db")), Err(Refused::ParentComponent));
        assert_eq!(resolve(&root.join("dangling.db")), Err(Refused::DanglingLink));
        assert_eq!(resolve(Path::new("")), Err(Refused::NoPath));
        assert!(resolve(Path::new("relative.db")).unwrap().is_absolute());
    }
}
