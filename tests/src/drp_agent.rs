//! An authorized agent of the Data Rights Protocol as the tests play it: its Ed25519 key lives
//! in PyNaCl (libsodium's Python binding, from PyPI), which signs every message in combined
//! mode, as the specification's reference implementation (OSIRAA) does; Lethe's own code never
//! signs for the tests. PyNaCl is imported from the system, or installed once into the target
//! directory.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// The PyNaCl version installed when the machine has none.
const PYNACL: &str = "pynacl==1.5.0";

/// Signs stdin with the seed in argv[1] (combined mode, base64), or prints the verify key.
const SIGNER: &str = r#"
import base64, sys
import nacl.signing
key = nacl.signing.SigningKey(bytes.fromhex(sys.argv[1]))
if sys.argv[2] == "key":
    print(base64.b64encode(bytes(key.verify_key)).decode())
else:
    print(base64.b64encode(key.sign(sys.stdin.buffer.read())).decode())
"#;

/// A `PYTHONPATH` under which `import nacl` works.
fn python_path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| crate::python::path_for("nacl.signing", PYNACL, "test-python-pynacl"))
}

fn python(seed: &str, what: &str, input: &[u8]) -> String {
    let mut child = Command::new("python3")
        .args(["-c", SIGNER, seed, what])
        .env("PYTHONPATH", python_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().expect("piped").write_all(input).expect("the signer reads the message");
    let out = child.wait_with_output().expect("the signer answers");
    assert!(out.status.success(), "PyNaCl failed");
    String::from_utf8(out.stdout).expect("base64").trim().to_owned()
}

/// An agent: its DRP id and its signing key (a random seed).
#[derive(Debug, Clone)]
pub struct Agent {
    /// The agent's id in the DRP directory.
    pub id: String,
    seed: String,
}

impl Agent {
    /// An agent `id` with a fresh key.
    pub fn new(id: &str) -> Self {
        let seed = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        Self { id: id.to_owned(), seed }
    }

    /// The verify key, base64 (as the DRP directory publishes it).
    pub fn verify_key(&self) -> String {
        python(&self.seed, "key", b"")
    }

    /// `document` signed in combined mode, base64: the body of a signed call.
    pub fn sign(&self, document: &Value) -> String {
        python(&self.seed, "sign", document.to_string().as_bytes())
    }

    /// The envelope for `business`: issued `issued` from now, valid for `valid`.
    pub fn envelope(&self, business: &str, issued: Duration, valid: Duration) -> Value {
        let at = |t: OffsetDateTime| t.format(&Rfc3339).unwrap();
        let issued_at = OffsetDateTime::now_utc() + issued;
        json!({
            "agent-id": self.id,
            "business-id": business,
            "issued-at": at(issued_at),
            "expires-at": at(issued_at + valid),
        })
    }

    /// A fresh envelope for `business` (issued now, valid five minutes) with `fields` added.
    pub fn message(&self, business: &str, fields: Value) -> Value {
        let mut message = self.envelope(business, Duration::ZERO, Duration::minutes(5));
        for (key, value) in fields.as_object().expect("an object") {
            message[key] = value.clone();
        }
        message
    }
}
