//! A real SMTP server process on loopback: Python's `aiosmtpd`, storing mail in a maildir.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// aiosmtpd's version, when it has to be installed.
const AIOSMTPD: &str = "aiosmtpd==1.4.6";

/// A `PYTHONPATH` under which `import aiosmtpd` works: the system's, or a private copy that
/// pip installs once into the target directory (PyPI is reachable from the test machines).
fn python_path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let system = Command::new("python3").args(["-c", "import aiosmtpd"]).stderr(Stdio::null()).status();
        if system.is_ok_and(|s| s.success()) {
            return std::env::var("PYTHONPATH").unwrap_or_default();
        }
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-python");
        let private = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .env("PYTHONPATH", &dir)
            .stderr(Stdio::null())
            .status();
        if !private.is_ok_and(|s| s.success()) {
            let installed = Command::new("python3")
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target"])
                .arg(&dir)
                .arg(AIOSMTPD)
                .status()
                .expect("python3 is needed for the SMTP tests");
            assert!(installed.success(), "could not install {AIOSMTPD} for the SMTP tests (pip failed)");
        }
        dir.display().to_string()
    })
}

/// A running SMTP server; killed on drop.
pub struct SmtpServer {
    child: Child,
    /// Port on 127.0.0.1.
    pub port: u16,
    /// The maildir messages are delivered to.
    pub maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    /// Starts `python3 -m aiosmtpd` with the Mailbox handler and waits until it accepts
    /// connections, installing aiosmtpd first if the machine lacks it.
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("maildir");
        let child = Command::new("python3")
            .env("PYTHONPATH", python_path())
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 is needed for the SMTP tests");
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port, maildir, _dir: dir }
    }

    /// The lettre URL of this server (plain SMTP on loopback).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
