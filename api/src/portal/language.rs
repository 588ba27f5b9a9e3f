//! Which language a portal page is in: `?lang=` (the visible switch, remembered in a cookie),
//! else the cookie, else the request's own language (its pages and e-mails), else the
//! browser's `Accept-Language`; English when none is one Lethe speaks. No personal data is
//! involved: the cookie holds a language code.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::header::{ACCEPT_LANGUAGE, SET_COOKIE};
use axum::http::request::Parts;
use axum::response::Response;
use lethe_worker::i18n::Locale;

use crate::state::AppState;
use crate::web::cookie::{self, CookiePolicy};
use crate::web::visitor::PATH;

/// The language cookie's name.
pub const COOKIE: &str = "lethe_lang";
const MAX_AGE_SECS: u64 = 365 * 24 * 3600;

/// The language preferences of one page view.
#[derive(Debug, Clone)]
pub struct Language {
    chosen: Option<Locale>,
    remembered: Option<Locale>,
    browser: Locale,
    /// The region of the browser's preferred language (`AT` of `de-AT`), for the form's
    /// default country.
    pub region: Option<String>,
    secure: bool,
}

impl Language {
    /// The page's language; `own` is the request's language on pages about one request.
    pub fn locale(&self, own: Option<Locale>) -> Locale {
        self.chosen.or(self.remembered).or(own).unwrap_or(self.browser)
    }

    /// Remembers a language chosen with `?lang=` in a cookie.
    pub fn attach(&self, mut response: Response) -> Response {
        if let Some(chosen) = self.chosen.filter(|c| Some(*c) != self.remembered) {
            let policy = CookiePolicy { secure: self.secure };
            response.headers_mut().append(SET_COOKIE, policy.set(COOKIE, chosen.code(), PATH, MAX_AGE_SECS));
        }
        response
    }
}

impl FromRequestParts<AppState> for Language {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let chosen = parts
            .uri
            .query()
            .unwrap_or_default()
            .split('&')
            .find_map(|pair| pair.strip_prefix("lang="))
            .and_then(Locale::parse);
        let remembered = cookie::read(&parts.headers, COOKIE).and_then(Locale::parse);
        let accept = parts.headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let (browser, region) = Locale::negotiate(accept);
        Ok(Self { chosen, remembered, browser, region, secure: state.settings.secure_cookies })
    }
}
