//! The portal's texts: section `[portal]` of the locale files (`worker/locales/*.toml`, shared
//! with the e-mails), one struct per page, every key required in every language.

use std::sync::LazyLock;

use lethe_worker::i18n::{Locale, load_all, pick};
use serde::Deserialize;

/// The start page.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartTexts {
    /// `{org}`.
    pub title: String,
    /// `{org}`.
    pub intro: String,
    /// Heading of the list of rights.
    pub rights: String,
    /// Heading of the steps.
    pub how: String,
    /// Step 1.
    pub step_form: String,
    /// Step 2.
    pub step_code: String,
    /// Step 3.
    pub step_answer: String,
    /// The button to the form.
    pub start: String,
}

/// The request form (labels, hints and one error per field).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormTexts {
    pub(crate) title: String,
    pub(crate) intro: String,
    pub(crate) errors: String,
    pub(crate) email: String,
    pub(crate) email_hint: String,
    pub(crate) phone: String,
    pub(crate) phone_hint: String,
    pub(crate) customer_id: String,
    pub(crate) customer_id_hint: String,
    pub(crate) country: String,
    pub(crate) country_hint: String,
    pub(crate) kind: String,
    pub(crate) message: String,
    pub(crate) message_hint: String,
    pub(crate) confirm: String,
    pub(crate) honeypot: String,
    pub(crate) submit: String,
    pub(crate) err_email: String,
    pub(crate) err_phone: String,
    pub(crate) err_customer_id: String,
    pub(crate) err_message: String,
    pub(crate) err_confirm: String,
    pub(crate) err_kind: String,
    pub(crate) err_country: String,
    pub(crate) err_too_many: String,
}

/// The places a person can live in, as the form offers them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountryTexts {
    pub(crate) se: String,
    pub(crate) de: String,
    pub(crate) at: String,
    pub(crate) other_eea: String,
    pub(crate) gb: String,
    pub(crate) br: String,
    pub(crate) us_ca: String,
    pub(crate) us_va: String,
    pub(crate) us_other: String,
    pub(crate) other: String,
}

/// The verification page.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyTexts {
    pub(crate) title: String,
    pub(crate) intro: String,
    pub(crate) code: String,
    pub(crate) code_hint: String,
    pub(crate) submit: String,
    pub(crate) resend_title: String,
    pub(crate) resend_intro: String,
    pub(crate) resend: String,
    pub(crate) resent: String,
    pub(crate) err_format: String,
    /// `{left}`.
    pub(crate) err_wrong: String,
    pub(crate) err_expired: String,
    pub(crate) err_exhausted: String,
    pub(crate) err_no_code: String,
    /// `{seconds}`.
    pub(crate) err_wait: String,
    pub(crate) err_too_many_codes: String,
}

/// The status page.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusTexts {
    pub(crate) title: String,
    pub(crate) reference: String,
    pub(crate) kind: String,
    pub(crate) received: String,
    pub(crate) due: String,
    pub(crate) state: String,
    pub(crate) now: String,
    pub(crate) verified: String,
    pub(crate) keep: String,
    pub(crate) extended: String,
    /// `{reason}`.
    pub(crate) extension_reason: String,
    pub(crate) denial: String,
    pub(crate) cancel_title: String,
    pub(crate) cancel_intro: String,
    pub(crate) cancel: String,
    pub(crate) canceled: String,
    pub(crate) confirm_email: String,
    pub(crate) export_title: String,
    /// `{mailed}`, `{expires}`, `{left}`.
    pub(crate) export_ready: String,
    pub(crate) export_why: String,
    pub(crate) export_gone: String,
}

/// The download page.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadTexts {
    pub(crate) title: String,
    /// `{org}`.
    pub(crate) intro: String,
    pub(crate) expires: String,
    pub(crate) downloads_left: String,
    pub(crate) contents_title: String,
    pub(crate) contents: String,
    pub(crate) store: String,
    pub(crate) table: String,
    pub(crate) rows: String,
    pub(crate) download: String,
    pub(crate) expired_title: String,
    pub(crate) expired: String,
    pub(crate) used_up_title: String,
    pub(crate) used_up: String,
    pub(crate) new_request: String,
}

/// The published metrics page.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsTexts {
    /// `{year}`.
    pub(crate) title: String,
    /// `{org}`, `{year}`.
    pub(crate) intro: String,
    pub(crate) year: String,
    pub(crate) show: String,
    pub(crate) kind: String,
    pub(crate) received: String,
    pub(crate) complied_in_whole: String,
    pub(crate) complied_in_part: String,
    pub(crate) denied: String,
    pub(crate) median_days: String,
    pub(crate) mean_days: String,
    pub(crate) total: String,
    /// `{year}`.
    pub(crate) none: String,
    /// The start page's link to the page.
    pub(crate) link: String,
}

/// Error pages.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorTexts {
    pub(crate) code: String,
    pub(crate) not_found_title: String,
    pub(crate) not_found: String,
    pub(crate) csrf_title: String,
    pub(crate) csrf: String,
    pub(crate) too_many_title: String,
    pub(crate) too_many: String,
    pub(crate) other_title: String,
    pub(crate) other: String,
}

/// Every text of the portal in one language.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalTexts {
    /// The skip link.
    pub skip: String,
    /// The language switch's label.
    pub language: String,
    /// The privacy-policy link.
    pub privacy_policy: String,
    /// Marks a required field.
    pub required: String,
    /// Marks an optional field.
    pub optional: String,
    /// The link back to the start page.
    pub start_page: String,
    /// The label of a notice.
    pub notice: String,
    /// Put before a page's title when the page shows an error ("Error:").
    pub error_prefix: String,
    /// Start page.
    pub start: StartTexts,
    /// Request form.
    pub form: FormTexts,
    /// Countries and states.
    pub countries: CountryTexts,
    /// Verification.
    pub verify: VerifyTexts,
    /// Status.
    pub status: StatusTexts,
    /// Download.
    pub download: DownloadTexts,
    /// Published metrics.
    pub metrics: MetricsTexts,
    /// Errors.
    pub errors: ErrorTexts,
}

static TEXTS: LazyLock<Vec<(Locale, PortalTexts)>> = LazyLock::new(|| load_all("portal"));

impl PortalTexts {
    /// The texts of `locale`.
    pub fn of(locale: Locale) -> &'static PortalTexts {
        pick(&TEXTS, locale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_portal_text() {
        for locale in Locale::ALL {
            let texts = lethe_worker::i18n::section::<PortalTexts>(locale, "portal");
            assert!(texts.is_ok(), "{}: {:?}", locale.code(), texts.err());
        }
    }

    #[test]
    fn languages_differ() {
        assert_ne!(PortalTexts::of(Locale::En).form.submit, PortalTexts::of(Locale::De).form.submit);
        assert_ne!(PortalTexts::of(Locale::De).form.submit, PortalTexts::of(Locale::Sv).form.submit);
    }
}
