//! What a data map tells the person whose data it maps (GDPR Art. 15(1)–(2), Art. 13/14): texts
//! in the person's language, the legal basis of a purpose, where data came from, automated
//! decisions, and the safeguard of a transfer to a third country.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The languages a [`Text`] may be written in (the languages Lethe speaks to people).
pub const LANGUAGES: [&str; 3] = ["en", "de", "sv"];

/// The longest text of a data map shown to the person.
pub const MAX_TEXT: usize = 2000;

/// The longest text taken as a label from elsewhere (a database comment, a Fides description).
pub const MAX_LABEL: usize = 200;

/// A label made of a text written elsewhere: its words joined by single spaces; `None` when it
/// has no words or more than [`MAX_LABEL`] characters (a comment that explains, not names).
pub fn label_from(text: &str) -> Option<String> {
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!words.is_empty() && words.chars().count() <= MAX_LABEL).then_some(words)
}

/// A text for the person: one text for every language, or one per language code
/// (`{en: Orders, sv: Beställningar}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Text {
    /// The same text whatever the person's language.
    One(String),
    /// A text per language code (`en`, `de`, `sv`).
    PerLanguage(BTreeMap<String, String>),
}

impl Text {
    /// The text in `language`: its own, else English, else the first one written.
    pub fn in_language(&self, language: &str) -> &str {
        match self {
            Self::One(text) => text,
            Self::PerLanguage(texts) => texts
                .get(language)
                .or_else(|| texts.get("en"))
                .or_else(|| texts.values().next())
                .map_or("", String::as_str),
        }
    }

    /// Every text with the language it is for (`None`: all languages).
    pub fn entries(&self) -> Vec<(Option<&str>, &str)> {
        match self {
            Self::One(text) => vec![(None, text.as_str())],
            Self::PerLanguage(texts) => texts.iter().map(|(l, t)| (Some(l.as_str()), t.as_str())).collect(),
        }
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Self {
        Self::One(text.to_owned())
    }
}

/// The legal basis of a purpose (GDPR Art. 6(1)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    /// (a) The person's consent.
    Consent,
    /// (b) A contract with the person, or steps before one at their request.
    Contract,
    /// (c) A legal obligation of the controller.
    LegalObligation,
    /// (d) The vital interests of the person or another.
    VitalInterests,
    /// (e) A task in the public interest or official authority.
    PublicTask,
    /// (f) The legitimate interests of the controller or a third party.
    LegitimateInterests,
}

impl LegalBasis {
    /// The stable name, as written in a map.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Consent => "consent",
            Self::Contract => "contract",
            Self::LegalObligation => "legal_obligation",
            Self::VitalInterests => "vital_interests",
            Self::PublicTask => "public_task",
            Self::LegitimateInterests => "legitimate_interests",
        }
    }
}

/// What makes a transfer to a country outside the EEA lawful (GDPR Art. 45–49).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Safeguard {
    /// Art. 45: the Commission decided the country protects data adequately.
    AdequacyDecision,
    /// Art. 46(2)(c): standard data protection clauses.
    StandardContractualClauses,
    /// Art. 47: binding corporate rules.
    BindingCorporateRules,
    /// Art. 46(2)(e): an approved code of conduct.
    CodeOfConduct,
    /// Art. 46(2)(f): an approved certification.
    Certification,
    /// Art. 49: a derogation for a specific situation (such as explicit consent).
    Derogation,
}

impl Safeguard {
    /// The stable name, as written in a map.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AdequacyDecision => "adequacy_decision",
            Self::StandardContractualClauses => "standard_contractual_clauses",
            Self::BindingCorporateRules => "binding_corporate_rules",
            Self::CodeOfConduct => "code_of_conduct",
            Self::Certification => "certification",
            Self::Derogation => "derogation",
        }
    }
}

/// A decision about the person made by automated means, including profiling (GDPR Art. 22,
/// Art. 15(1)(h)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AutomatedDecision {
    /// Meaningful information about the logic involved.
    pub logic: Text,
    /// The significance and the envisaged consequences for the person.
    pub consequences: Text,
}

/// The countries of the European Economic Area (ISO 3166-1 alpha-2): a recipient elsewhere
/// receives a transfer to a third country (GDPR Chapter V).
pub const EEA: [&str; 30] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT",
    "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

/// Whether `country` (ISO 3166-1 alpha-2, upper case) is outside the EEA.
pub fn is_third_country(country: &str) -> bool {
    !EEA.contains(&country)
}

/// Whether `value` has the form of an ISO 3166-1 alpha-2 code (two upper-case letters).
pub fn is_country_code(value: &str) -> bool {
    value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase())
}

/// A readable form of a table or column name, for where the map gives no label: its words as
/// discovery splits them ([`super::classify::words`]), the first capitalised:
/// `customer_id` → `Customer id`, `billingPostalCode` → `Billing postal code`.
pub fn readable(name: &str) -> String {
    let name = name.rsplit('.').next().unwrap_or(name);
    let text = super::classify::words(name).join(" ");
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_fall_back_to_english_then_to_the_first() {
        let per: Text = serde_json::from_str(r#"{"en": "Orders", "sv": "Beställningar"}"#).unwrap();
        assert_eq!(per.in_language("sv"), "Beställningar");
        assert_eq!(per.in_language("de"), "Orders");
        let sv_only: Text = serde_json::from_str(r#"{"sv": "Kunder"}"#).unwrap();
        assert_eq!(sv_only.in_language("de"), "Kunder");
        let one: Text = serde_json::from_str(r#""Orders""#).unwrap();
        assert_eq!((one.in_language("sv"), one.entries()), ("Orders", vec![(None, "Orders")]));
    }

    #[test]
    fn labels_are_taken_from_short_texts_only() {
        assert_eq!(label_from("  The customer's\n e-mail\taddress "), Some("The customer's e-mail address".into()));
        assert_eq!(label_from(" \n "), None);
        assert_eq!(label_from(&"x".repeat(MAX_LABEL + 1)), None);
    }

    #[test]
    fn names_become_readable() {
        assert_eq!(readable("customer_id"), "Customer id");
        assert_eq!(readable("total_sek"), "Total sek");
        assert_eq!(readable("billingPostalCode"), "Billing postal code");
        assert_eq!(readable("public.customers"), "Customers");
        assert_eq!(readable("Email"), "Email");
        assert_eq!(readable("_"), "_");
    }

    #[test]
    fn the_eea_is_not_a_third_country() {
        assert!(!is_third_country("SE") && !is_third_country("NO"));
        assert!(is_third_country("US") && is_third_country("GB") && is_third_country("CH"));
        assert!(is_country_code("US") && !is_country_code("us") && !is_country_code("USA"));
    }
}
