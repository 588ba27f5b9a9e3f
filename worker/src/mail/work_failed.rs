//! The "work gave up" message to an organization's admins: a request went `failed`, or a
//! retention run failed. It names the work by id and kind and carries the failure's code and
//! message, which are Lethe's own words without personal data; never the subject's identity.

use super::{Mail, escape_html};

/// Sent to every active admin of the organization when work gives up.
#[derive(Clone)]
pub struct WorkFailedMail {
    /// The organization's display name.
    pub organization: String,
    /// What failed, in words ("The erasure request 0190…", "The retention run 0190… of policy
    /// `old orders`").
    pub what: String,
    /// The failure's stable code.
    pub code: String,
    /// What happened.
    pub message: String,
    /// What an admin can do about it.
    pub next_step: String,
    /// Where to look: the console page of the request or of retention.
    pub link: String,
}

impl Mail for WorkFailedMail {
    fn subject(&self) -> String {
        format!("{}: work failed and needs you ({})", self.organization, self.code)
    }

    fn text(&self) -> String {
        format!(
            "Hello,\n\n\
             {what} at {org} failed and Lethe has stopped working on it.\n\n\
             Code: {code}\n\
             What happened: {message}\n\n\
             {next}\n\n\
             {link}\n",
            what = self.what,
            org = self.organization,
            code = self.code,
            message = self.message,
            next = self.next_step,
            link = self.link,
        )
    }

    fn html(&self) -> String {
        format!(
            "<!doctype html><html lang=\"en\"><body style=\"font-family:sans-serif\">\
             <p>Hello,</p>\
             <p>{what} at {org} failed and Lethe has stopped working on it.</p>\
             <ul><li>Code: <code>{code}</code></li><li>What happened: {message}</li></ul>\
             <p>{next}</p><p><a href=\"{link}\">{link}</a></p></body></html>",
            what = escape_html(&self.what),
            org = escape_html(&self.organization),
            code = escape_html(&self.code),
            message = escape_html(&self.message),
            next = escape_html(&self.next_step),
            link = escape_html(&self.link),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_failure_and_escapes_html() {
        let mail = WorkFailedMail {
            organization: "Shop <GmbH>".into(),
            what: "The erasure request 0190".into(),
            code: "store_refused".into(),
            message: "delete_row `customers`: rows in `cards` still refer to them".into(),
            next_step: "Fix the store, then retry the request.".into(),
            link: "https://privacy.example/console/requests/0190".into(),
        };
        assert_eq!(mail.subject(), "Shop <GmbH>: work failed and needs you (store_refused)");
        assert!(mail.text().contains("Code: store_refused\nWhat happened: delete_row `customers`"));
        assert!(mail.html().contains("Shop &lt;GmbH&gt;"));
    }
}
