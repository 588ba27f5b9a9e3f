//! Outgoing mail: one [`Mailer`] with three interchangeable transports, and one message type
//! per kind of mail. Messages to data subjects ([`letter`]) are written in the person's language
//! ([`texts`]) under the organization's branding.
//!
//! * **SMTP** (`LETHE_SMTP_URL`, e.g. `smtps://user:pass@mail.example.com` or
//!   `smtp://mail.example.com:587?tls=required`): the only transport allowed in production.
//! * **File**: each message is written as an `.eml` file into a directory (the default in
//!   development: `<data dir>/outbox/`).
//! * **Memory**: messages are kept in memory, for unit tests.
//!
//! Nothing here logs an address or a message body: logs name the request, never the person.

mod completed;
mod denied;
mod export_ready;
mod extended;
mod hold_expiry;
pub mod letter;
mod notice;
mod received;
pub mod texts;
mod verification_code;
mod work_failed;

use std::path::{Path, PathBuf};

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::stub::AsyncStubTransport;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::io::AsyncWriteExt;

pub use completed::CompletedMail;
pub use denied::DeniedMail;
pub use export_ready::ExportReadyMail;
pub use extended::ExtendedMail;
pub use hold_expiry::HoldExpiryMail;
pub(crate) use lethe_entities::domain::html::escape as escape_html;
pub use letter::{Block, Branding, Letter, ToLetter};
pub use notice::RequestNotice;
pub use received::ReceivedMail;
pub use verification_code::VerificationCodeMail;
pub use work_failed::WorkFailedMail;

/// Why mail could not be built or sent. Messages name the failure, never the recipient.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The SMTP URL or sender address is not valid.
    #[error("invalid mail configuration: {0}")]
    Config(String),
    /// The message could not be built (e.g. an invalid recipient address).
    #[error("the message could not be built")]
    Build,
    /// The transport refused or failed to deliver the message.
    #[error("mail delivery failed via {transport}: {reason}")]
    Delivery {
        /// Which transport failed.
        transport: &'static str,
        /// A classification of the failure (status code, timeout, TLS...). Never the server's
        /// reply text, which may quote the recipient's address.
        reason: String,
        /// Whether trying again later may succeed (false for permanent SMTP rejections).
        transient: bool,
    },
}

/// A message ready to render: a subject, a plain-text body and an HTML body.
pub trait Mail {
    /// The subject line.
    fn subject(&self) -> String;
    /// The plain-text body.
    fn text(&self) -> String;
    /// The HTML body.
    fn html(&self) -> String;
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(PathBuf),
    Memory(AsyncStubTransport),
}

/// Sends mail through the configured transport.
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("transport", &self.transport_name()).finish()
    }
}

impl Mailer {
    /// An SMTP mailer from a lettre connection URL. Credentials in the URL are never logged.
    pub fn smtp(url: &str, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|_| MailError::Config("LETHE_SMTP_URL is not a valid SMTP URL".into()))?
            .build();
        Ok(Self { from: parse_from(from)?, transport: Transport::Smtp(transport) })
    }

    /// A mailer that writes `.eml` files into `dir` (created if missing); the directory and the
    /// files, also those already there, are owner-only ([`crate::private_fs`]): they hold
    /// codes, links and addresses.
    pub fn file(dir: &Path, from: &str) -> Result<Self, MailError> {
        let private = |dir| crate::private_fs::dir(dir).and_then(|()| crate::private_fs::tighten_files_in(dir));
        private(dir).map_err(|e| MailError::Config(format!("cannot create the outbox: {e}")))?;
        Ok(Self { from: parse_from(from)?, transport: Transport::File(dir.to_path_buf()) })
    }

    /// A mailer that keeps messages in memory.
    pub fn memory(from: &str) -> Result<Self, MailError> {
        Ok(Self { from: parse_from(from)?, transport: Transport::Memory(AsyncStubTransport::new_ok()) })
    }

    /// The transport's name: `smtp`, `file` or `memory`.
    pub fn transport_name(&self) -> &'static str {
        match self.transport {
            Transport::Smtp(_) => "smtp",
            Transport::File(..) => "file",
            Transport::Memory(_) => "memory",
        }
    }

    /// Whether this transport actually delivers mail (only SMTP does).
    pub fn delivers(&self) -> bool {
        matches!(self.transport, Transport::Smtp(_))
    }

    /// Where the file transport writes, if this is one.
    pub fn outbox(&self) -> Option<&Path> {
        match &self.transport {
            Transport::File(dir) => Some(dir),
            _ => None,
        }
    }

    /// Messages kept by the memory transport, as (envelope, raw message) pairs.
    pub async fn memory_messages(&self) -> Vec<(lettre::address::Envelope, String)> {
        match &self.transport {
            Transport::Memory(stub) => stub.messages().await,
            _ => Vec::new(),
        }
    }

    /// Renders `mail` and sends it to `to` (a normalised address).
    pub async fn send(&self, to: &str, mail: &impl Mail) -> Result<(), MailError> {
        let to: Mailbox = to.parse().map_err(|_| MailError::Build)?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject())
            .multipart(MultiPart::alternative_plain_html(mail.text(), mail.html()))
            .map_err(|_| MailError::Build)?;
        let transport = self.transport_name();
        let other = |reason: &str| MailError::Delivery { transport, reason: reason.to_owned(), transient: true };
        match &self.transport {
            Transport::Smtp(t) => t.send(message).await.map(drop).map_err(|e| MailError::Delivery {
                transport,
                reason: describe_smtp_error(&e),
                transient: !e.is_permanent(),
            }),
            Transport::File(dir) => {
                write_eml(dir, &message).await.map_err(|_| other("could not write the message file"))
            }
            Transport::Memory(t) => t.send(message).await.map(drop).map_err(|_| other("memory transport refused")),
        }
    }
}

/// Writes `message` into `dir` as `<uuid v7>.eml`, owner-only: the names sort in the order
/// the messages were sent (file times are too coarse to tell two messages of one millisecond
/// apart).
async fn write_eml(dir: &Path, message: &Message) -> std::io::Result<()> {
    let path = dir.join(format!("{}.eml", uuid::Uuid::now_v7()));
    let mut file = tokio::fs::OpenOptions::from(crate::private_fs::new_file()).open(&path).await?;
    file.write_all(&message.formatted()).await?;
    file.flush().await
}

/// Describes an SMTP failure without the server's reply text.
fn describe_smtp_error(e: &lettre::transport::smtp::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_tls() {
        "TLS failure"
    } else if e.is_permanent() {
        "permanent rejection"
    } else if e.is_transient() {
        "transient rejection"
    } else if e.is_response() {
        "unexpected response"
    } else {
        "connection failure"
    };
    match e.status() {
        Some(code) => format!("{kind} (SMTP {code})"),
        None => kind.to_owned(),
    }
}

fn parse_from(from: &str) -> Result<Mailbox, MailError> {
    from.parse().map_err(|_| MailError::Config("LETHE_MAIL_FROM is not a valid mailbox".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_transport_keeps_a_multipart_message() {
        let mailer = Mailer::memory("Lethe <privacy@example.com>").unwrap();
        let mail = VerificationCodeMail {
            branding: Branding::plain("Acme <AB>"),
            code: "012345".into(),
            ttl_minutes: 15,
            verify_url: None,
        };
        mailer.send("person@example.com", &mail).await.unwrap();
        let sent = mailer.memory_messages().await;
        assert_eq!(sent.len(), 1);
        let (envelope, raw) = &sent[0];
        assert_eq!(envelope.to()[0].to_string(), "person@example.com");
        assert!(raw.contains("012345"));
        assert!(raw.contains("text/html"));
        // The organization name is escaped in the HTML part (the raw message is transfer-encoded).
        assert!(mail.html().contains("Acme &lt;AB&gt;") && !mail.html().contains("<AB>"));
    }

    #[tokio::test]
    async fn file_transport_writes_eml_files() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::file(dir.path(), "privacy@example.com").unwrap();
        let mail = VerificationCodeMail {
            branding: Branding::plain("Acme"),
            code: "987654".into(),
            ttl_minutes: 15,
            verify_url: None,
        };
        mailer.send("person@example.com", &mail).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(files.len(), 1);
        let raw = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
        assert!(raw.contains("987654"));
    }

    #[test]
    fn bad_configuration_is_refused_without_echoing_secrets() {
        let err = Mailer::smtp("nonsense://user:hunter2@host", "a@b.co").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
        assert!(Mailer::memory("not an address").is_err());
    }
}
