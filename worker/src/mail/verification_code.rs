//! The identity-verification code message.

use super::{Mail, escape_html};

/// "Your verification code": sent when a request is submitted or a new code is asked for.
#[derive(Clone)]
pub struct VerificationCodeMail {
    /// The organization's display name.
    pub organization: String,
    /// The 6-digit code.
    pub code: String,
    /// Minutes until the code expires.
    pub ttl_minutes: u64,
}

impl Mail for VerificationCodeMail {
    fn subject(&self) -> String {
        format!("{}: your verification code is {}", self.organization, self.code)
    }

    fn text(&self) -> String {
        format!(
            "Hello,\n\n\
             we received a privacy request for this e-mail address at {org}.\n\
             To confirm that it was you, enter this code:\n\n    {code}\n\n\
             The code works for {ttl} minutes. If you did not make this request, ignore this\n\
             message: nothing happens until the code is entered.\n",
            org = self.organization,
            code = self.code,
            ttl = self.ttl_minutes,
        )
    }

    fn html(&self) -> String {
        format!(
            "<!doctype html><html lang=\"en\"><body style=\"font-family:sans-serif\">\
             <p>Hello,</p>\
             <p>we received a privacy request for this e-mail address at {org}. \
             To confirm that it was you, enter this code:</p>\
             <p style=\"font-size:1.6em;letter-spacing:0.2em\"><strong>{code}</strong></p>\
             <p>The code works for {ttl} minutes. If you did not make this request, ignore this message: \
             nothing happens until the code is entered.</p></body></html>",
            org = escape_html(&self.organization),
            code = escape_html(&self.code),
            ttl = self.ttl_minutes,
        )
    }
}
