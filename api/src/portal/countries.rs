//! Where a person lives, as the request form asks it, and the law that follows from it.

use lethe_entities::domain::enums::Regime;
use lethe_worker::i18n::Locale;

use super::texts::CountryTexts;

/// One choice of the form's country list.
#[derive(Debug, Clone, Copy)]
pub struct Country {
    /// The form value.
    pub code: &'static str,
    /// The law that applies there.
    pub regime: Regime,
}

/// The choices, in the order shown.
pub const COUNTRIES: [Country; 10] = [
    Country { code: "se", regime: Regime::Gdpr },
    Country { code: "de", regime: Regime::Gdpr },
    Country { code: "at", regime: Regime::Gdpr },
    Country { code: "other_eea", regime: Regime::Gdpr },
    Country { code: "gb", regime: Regime::UkGdpr },
    Country { code: "br", regime: Regime::Lgpd },
    Country { code: "us_ca", regime: Regime::Ccpa },
    Country { code: "us_va", regime: Regime::Vcdpa },
    Country { code: "us_other", regime: Regime::Other },
    Country { code: "other", regime: Regime::Other },
];

/// EU and EEA countries other than those listed by name (ISO 3166-1 alpha-2).
const OTHER_EEA: [&str; 27] = [
    "BE", "BG", "CZ", "DK", "EE", "IE", "GR", "ES", "FR", "HR", "IT", "CY", "LV", "LT", "LU", "HU", "MT", "NL", "PL",
    "PT", "RO", "SI", "SK", "FI", "IS", "LI", "NO",
];

/// The choice with form value `code`.
pub fn find(code: &str) -> Option<Country> {
    COUNTRIES.into_iter().find(|c| c.code == code)
}

/// The preselected choice: from the browser's region (`de-AT` -> Austria), else from the
/// language (German -> Germany, Swedish -> Sweden), else another EU or EEA country (the GDPR).
pub fn default_for(locale: Locale, region: Option<&str>) -> &'static str {
    match region {
        Some("SE") => "se",
        Some("DE") => "de",
        Some("AT") => "at",
        Some("GB") => "gb",
        Some("BR") => "br",
        Some("US") => "us_other",
        Some(r) if OTHER_EEA.contains(&r) => "other_eea",
        _ => match locale {
            Locale::De => "de",
            Locale::Sv => "se",
            Locale::En => "other_eea",
        },
    }
}

impl CountryTexts {
    /// The name of choice `code`.
    pub fn name(&self, code: &str) -> &str {
        match code {
            "se" => &self.se,
            "de" => &self.de,
            "at" => &self.at,
            "other_eea" => &self.other_eea,
            "gb" => &self.gb,
            "br" => &self.br,
            "us_ca" => &self.us_ca,
            "us_va" => &self.us_va,
            "us_other" => &self.us_other,
            _ => &self.other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_choose_the_law_and_a_sensible_default() {
        assert_eq!(find("us_ca").map(|c| c.regime), Some(Regime::Ccpa));
        assert_eq!(find("gb").map(|c| c.regime), Some(Regime::UkGdpr));
        assert!(find("xx").is_none());
        assert_eq!(default_for(Locale::De, Some("AT")), "at");
        assert_eq!(default_for(Locale::En, Some("FR")), "other_eea");
        assert_eq!(default_for(Locale::Sv, None), "se");
        assert_eq!(default_for(Locale::En, Some("US")), "us_other");
        assert_eq!(default_for(Locale::En, None), "other_eea");
    }
}
