//! A real SMTP server process on loopback: Python's `aiosmtpd`, storing mail in a maildir,
//! with or without `AUTH`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
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

/// An aiosmtpd server on `127.0.0.1:<argv[1]>` delivering to the maildir `argv[2]`, offering
/// `AUTH` without TLS and accepting every login.
const ACCEPTING_LOGINS: &str = "
import sys, threading
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult
def accept(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=True)
Controller(Mailbox(sys.argv[2]), hostname='127.0.0.1', port=int(sys.argv[1]),
           authenticator=accept, auth_require_tls=False).start()
threading.Event().wait()
";

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
        Self::spawn(|port, maildir| {
            let mut command = Command::new("python3");
            command
                .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
                .arg(maildir);
            command
        })
    }

    /// Like [`SmtpServer::start`], but the server offers `AUTH` (PLAIN, LOGIN) on the plain
    /// connection and accepts any user name and password: for a client configured with
    /// credentials ([`SmtpServer::url_with_login`]).
    pub fn start_accepting_logins() -> Self {
        Self::spawn(|port, maildir| {
            let mut command = Command::new("python3");
            command.args(["-c", ACCEPTING_LOGINS, &port.to_string()]).arg(maildir);
            command
        })
    }

    fn spawn(command: impl FnOnce(u16, &Path) -> Command) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("maildir");
        let child = command(port, &maildir)
            .env("PYTHONPATH", python_path())
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

    /// The lettre URL of this server with a user name and password (see
    /// [`SmtpServer::start_accepting_logins`]).
    pub fn url_with_login(&self, user: &str, password: &str) -> String {
        format!("smtp://{user}:{password}@127.0.0.1:{}", self.port)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
