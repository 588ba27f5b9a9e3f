//! The "your data is ready" message, with the download link of an access export.

use super::{Mail, escape_html};

/// "Your data is ready to download": sent when an access request's package is ready.
#[derive(Clone)]
pub struct ExportReadyMail {
    /// The organization's display name.
    pub organization: String,
    /// The download link (secret: it is the only key to the package).
    pub url: String,
    /// When the link stops working, in words (e.g. "1 December 2026 at 14:00 UTC").
    pub expires: String,
    /// How many times the package can be downloaded.
    pub max_downloads: i32,
}

impl Mail for ExportReadyMail {
    fn subject(&self) -> String {
        format!("{}: a copy of your personal data is ready", self.organization)
    }

    fn text(&self) -> String {
        format!(
            "Hello,\n\n\
             you asked {org} for a copy of the personal data it holds about you. It is ready.\n\
             Download it here:\n\n\
             {url}\n\n\
             The link works until {expires}, for at most {max} downloads. Then the package is\n\
             deleted. It is a ZIP file: open index.html in it to read what we found and why we\n\
             hold it; data.json and the CSV files hold the same data for other programs.\n\n\
             Keep this link to yourself: anyone who has it can download your data.\n",
            org = self.organization,
            url = self.url,
            expires = self.expires,
            max = self.max_downloads,
        )
    }

    fn html(&self) -> String {
        format!(
            "<!doctype html><html lang=\"en\"><body style=\"font-family:sans-serif\">\
             <p>Hello,</p>\
             <p>you asked {org} for a copy of the personal data it holds about you. It is ready.</p>\
             <p><a href=\"{url}\">Download your data</a></p>\
             <p>The link works until {expires}, for at most {max} downloads. Then the package is deleted. \
             It is a ZIP file: open <code>index.html</code> in it to read what we found and why we hold it; \
             <code>data.json</code> and the CSV files hold the same data for other programs.</p>\
             <p>Keep this link to yourself: anyone who has it can download your data.</p></body></html>",
            org = escape_html(&self.organization),
            url = escape_html(&self.url),
            expires = escape_html(&self.expires),
            max = self.max_downloads,
        )
    }
}
