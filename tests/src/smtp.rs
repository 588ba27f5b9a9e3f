//! A real SMTP server process on loopback: Python's `aiosmtpd`, storing mail in a maildir.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
    /// connections. Panics with instructions when aiosmtpd is missing: the tests need it.
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("maildir");
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 must be installed (with `pip install aiosmtpd`) for the SMTP tests");
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start; install it with `pip install aiosmtpd`");
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
