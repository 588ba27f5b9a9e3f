//! The "your data is ready" message, with the download link of an access export.

use super::letter::{Block, Branding, Letter, ToLetter};
use crate::i18n::fill;

/// "Your data is ready to download": sent when an access request's package is ready.
#[derive(Clone)]
pub struct ExportReadyMail {
    /// The organization and the person's language.
    pub branding: Branding,
    /// The download link (secret: it is the only key to the package).
    pub url: String,
    /// The portal's page about the package (what it holds, until when), with the same token.
    pub page_url: String,
    /// When the link stops working, in words in the person's language.
    pub expires: String,
    /// How many times the package can be downloaded.
    pub max_downloads: i32,
}

impl ToLetter for ExportReadyMail {
    fn branding(&self) -> &Branding {
        &self.branding
    }

    fn letter(&self) -> Letter {
        let t = &self.branding.texts().export_ready;
        let org = self.branding.organization.as_str();
        Letter {
            subject: fill(&t.subject, &[("org", org)]),
            blocks: vec![
                Block::Text(fill(&t.intro, &[("org", org)])),
                Block::Link { label: t.download.clone(), url: self.url.clone() },
                Block::Link { label: t.details.clone(), url: self.page_url.clone() },
                Block::Text(fill(&t.expiry, &[("expires", &self.expires), ("max", &self.max_downloads.to_string())])),
                Block::Text(t.contents.clone()),
                Block::Text(t.secret.clone()),
            ],
        }
    }
}
