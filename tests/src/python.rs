//! Python packages from PyPI the tests run (the Standard Webhooks library, PyNaCl): imported from
//! the system, or installed once into the target directory when the machine lacks them.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A `PYTHONPATH` under which `import {module}` works: the system's, or `target/{dir}` after
/// `pip install {package}` into it.
pub fn path_for(module: &str, package: &str, dir: &str) -> String {
    let importable = |path: Option<&PathBuf>| {
        let mut check = Command::new("python3");
        check.args(["-c", &format!("import {module}")]).stderr(Stdio::null());
        if let Some(path) = path {
            check.env("PYTHONPATH", path);
        }
        check.status().is_ok_and(|s| s.success())
    };
    if importable(None) {
        return std::env::var("PYTHONPATH").unwrap_or_default();
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target").join(dir);
    if !importable(Some(&dir)) {
        let installed = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target"])
            .arg(&dir)
            .arg(package)
            .status()
            .expect("python3 is needed for these tests");
        assert!(installed.success(), "could not install {package} (pip failed)");
    }
    dir.display().to_string()
}
