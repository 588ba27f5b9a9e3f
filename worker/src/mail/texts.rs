//! The translated texts of messages to data subjects: section `[mail]` of the locale files.

use std::sync::LazyLock;

use serde::Deserialize;

use crate::i18n::{Locale, load_all, pick};

/// The verification-code message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationTexts {
    /// Subject: `{org}`, `{code}`.
    pub subject: String,
    /// Before the code: `{org}`.
    pub intro: String,
    /// The label of the link that opens the confirmation page.
    pub link: String,
    /// How long it works, and what to do if it was not you: `{minutes}`.
    pub ttl: String,
}

/// A message about a change of the request: a subject and a sentence, with optional extras.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeTexts {
    /// Subject: `{org}`.
    pub subject: String,
    /// What happened: `{org}`, `{kind}`, `{due}` (the denial has no due date).
    pub body: String,
}

/// The export-ready message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportTexts {
    /// Subject: `{org}`.
    pub subject: String,
    /// What is ready: `{org}`.
    pub intro: String,
    /// The label of the download link.
    pub download: String,
    /// The label of the link to the page describing the package.
    pub details: String,
    /// Expiry and downloads: `{expires}`, `{max}`.
    pub expiry: String,
    /// What the ZIP holds.
    pub contents: String,
    /// Keep the link secret.
    pub secret: String,
}

/// Every message text of one language.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailTexts {
    /// The first line.
    pub greeting: String,
    /// The label of the link to the status page.
    pub status_link: String,
    /// Below every message: `{org}`.
    pub footer: String,
    /// The label of the privacy-policy link.
    pub privacy_policy: String,
    /// The reason an extension or denial gives: `{reason}`.
    pub reason: String,
    /// Verification code.
    pub verification: VerificationTexts,
    /// Verified and received.
    pub received: NoticeTexts,
    /// Deadline extended.
    pub extended: NoticeTexts,
    /// Denied.
    pub denied: NoticeTexts,
    /// Completed.
    pub completed: NoticeTexts,
    /// Access package ready.
    pub export_ready: ExportTexts,
}

static TEXTS: LazyLock<Vec<(Locale, MailTexts)>> = LazyLock::new(|| load_all("mail"));

impl MailTexts {
    /// The texts of `locale`.
    pub fn of(locale: Locale) -> &'static MailTexts {
        pick(&TEXTS, locale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_mail_text() {
        for locale in Locale::ALL {
            let texts = crate::i18n::section::<MailTexts>(locale, "mail");
            assert!(texts.is_ok(), "{}: {:?}", locale.code(), texts.err());
        }
    }
}
