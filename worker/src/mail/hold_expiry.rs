//! The "your legal hold expires soon" message to a hold's owner.

use super::{Mail, escape_html};

/// Sent to a legal hold's owner 7 days and 1 day before the hold expires: once it lapses,
/// retention runs and erasure requests may destroy the data it protected.
#[derive(Clone)]
pub struct HoldExpiryMail {
    /// The organization's display name.
    pub organization: String,
    /// The hold's id (what operators look it up by).
    pub hold_id: String,
    /// What the hold covers, in words ("one data subject", "table `logs` of store `crm`"...);
    /// never a subject's identity.
    pub covers: String,
    /// The matter reference, if any.
    pub matter: Option<String>,
    /// Why the hold was placed.
    pub reason: String,
    /// When it expires, in words (e.g. "8 December 2026 at 14:00 UTC").
    pub expires: String,
    /// Whole days left (7 or 1).
    pub days_left: u8,
}

impl HoldExpiryMail {
    fn when(&self) -> String {
        match self.days_left {
            1 => "in 1 day".to_owned(),
            n => format!("in {n} days"),
        }
    }

    fn matter_line(&self) -> String {
        self.matter.as_deref().map(|m| format!("Matter: {m}\n")).unwrap_or_default()
    }
}

impl Mail for HoldExpiryMail {
    fn subject(&self) -> String {
        format!("{}: a legal hold expires {}", self.organization, self.when())
    }

    fn text(&self) -> String {
        format!(
            "Hello,\n\n\
             the legal hold {id} that you own at {org} expires {when}, on {expires}.\n\n\
             It covers: {covers}\n\
             {matter}\
             Reason: {reason}\n\n\
             Once it expires, retention policies and erasure requests may destroy the data it\n\
             protects. If the matter is still open, place a new hold before then; if it is\n\
             closed, you need not do anything.\n",
            id = self.hold_id,
            org = self.organization,
            when = self.when(),
            expires = self.expires,
            covers = self.covers,
            matter = self.matter_line(),
            reason = self.reason,
        )
    }

    fn html(&self) -> String {
        let matter = self.matter.as_deref().map(|m| format!("<li>Matter: {}</li>", escape_html(m))).unwrap_or_default();
        format!(
            "<!doctype html><html lang=\"en\"><body style=\"font-family:sans-serif\">\
             <p>Hello,</p>\
             <p>the legal hold <code>{id}</code> that you own at {org} expires <strong>{when}</strong>, \
             on {expires}.</p>\
             <ul><li>It covers: {covers}</li>{matter}<li>Reason: {reason}</li></ul>\
             <p>Once it expires, retention policies and erasure requests may destroy the data it protects. \
             If the matter is still open, place a new hold before then; if it is closed, you need not do \
             anything.</p></body></html>",
            id = escape_html(&self.hold_id),
            org = escape_html(&self.organization),
            when = escape_html(&self.when()),
            expires = escape_html(&self.expires),
            covers = escape_html(&self.covers),
            reason = escape_html(&self.reason),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_hold_and_escapes_html() {
        let mail = HoldExpiryMail {
            organization: "Shop <GmbH>".into(),
            hold_id: "0190".into(),
            covers: "table `logs` of store `crm`".into(),
            matter: Some("CASE-7".into()),
            reason: "Litigation & audit".into(),
            expires: "8 December 2026 at 14:00 UTC".into(),
            days_left: 1,
        };
        assert_eq!(mail.subject(), "Shop <GmbH>: a legal hold expires in 1 day");
        assert!(mail.text().contains("Matter: CASE-7\nReason: Litigation & audit"));
        assert!(mail.html().contains("Shop &lt;GmbH&gt;") && mail.html().contains("Litigation &amp; audit"));
        let seven = HoldExpiryMail { days_left: 7, matter: None, ..mail };
        assert!(seven.text().contains("expires in 7 days, on 8 December 2026"));
        assert!(!seven.text().contains("Matter:"));
    }
}
