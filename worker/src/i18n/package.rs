//! The words of the access package (`index.html`, and the sentences `data.json` repeats), in
//! the request's language: section `[package]` of the translation files.

use std::sync::LazyLock;

use lethe_entities::datamap::notice::{LegalBasis, Safeguard};
use serde::Deserialize;

use super::{Locale, fill, load_all, pick};

/// The package's sentences; placeholders in braces are filled by the package.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // one field per sentence, named as in the translation files
pub struct PackageTexts {
    pub title: String,
    pub intro: String,
    pub summary_heading: String,
    pub summary: String,
    pub kinds_one: String,
    pub kinds_many: String,
    pub systems_one: String,
    pub systems_many: String,
    pub empty: String,
    pub empty_detail: String,
    pub empty_others: String,
    pub contents_heading: String,
    pub held_heading: String,
    pub system: String,
    pub system_nothing: String,
    pub system_attached: String,
    pub file_bytes: String,
    pub purpose: String,
    pub purpose_missing: String,
    pub legal_basis: String,
    pub origin: String,
    pub origin_you: String,
    pub retention: String,
    pub retention_keep: String,
    pub retention_policy_delete: String,
    pub retention_policy_anonymise: String,
    pub retention_none: String,
    pub retention_partly: String,
    pub recipients: String,
    pub recipients_none: String,
    pub decision: String,
    pub contains: String,
    pub column_category: String,
    pub records_one: String,
    pub records_many: String,
    pub records_some: String,
    pub empty_value: String,
    pub recipients_heading: String,
    pub recipients_intro: String,
    pub recipients_nobody: String,
    pub recipient_data: String,
    pub recipient_everything: String,
    pub recipient_where: String,
    pub transfers_heading: String,
    pub transfers_intro: String,
    pub transfers_none: String,
    pub transfer: String,
    pub transfer_unknown: String,
    pub decisions_heading: String,
    pub decisions_none: String,
    pub decision_logic: String,
    pub decision_consequences: String,
    pub rights_heading: String,
    pub rights_intro: String,
    pub right_rectification: String,
    pub right_erasure: String,
    pub right_restriction: String,
    pub right_objection: String,
    pub right_portability: String,
    pub right_consent: String,
    pub complaint_heading: String,
    pub complaint: String,
    pub complaint_authority: String,
    pub who_heading: String,
    pub controller: String,
    pub dpo: String,
    pub dpo_none: String,
    pub files_heading: String,
    pub file_index: String,
    pub file_json: String,
    pub file_csv: String,
    pub not_included_heading: String,
    pub not_included: String,
    /// The legal bases in words.
    pub bases: BasisTexts,
    /// The transfer safeguards in words.
    pub safeguards: SafeguardTexts,
    /// Units of time, for retention periods.
    pub units: UnitTexts,
}

/// One text per legal basis (GDPR Art. 6(1)).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // named as the bases are
pub struct BasisTexts {
    pub consent: String,
    pub contract: String,
    pub legal_obligation: String,
    pub vital_interests: String,
    pub public_task: String,
    pub legitimate_interests: String,
}

/// One text per transfer safeguard (GDPR Art. 45–49).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // named as the safeguards are
pub struct SafeguardTexts {
    pub adequacy_decision: String,
    pub standard_contractual_clauses: String,
    pub binding_corporate_rules: String,
    pub code_of_conduct: String,
    pub certification: String,
    pub derogation: String,
}

/// Units of time, one and many (`{n}`), and the word joining the last two parts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // named as the units are
pub struct UnitTexts {
    pub year_one: String,
    pub year_many: String,
    pub month_one: String,
    pub month_many: String,
    pub week_one: String,
    pub week_many: String,
    pub day_one: String,
    pub day_many: String,
    pub hour_one: String,
    pub hour_many: String,
    pub minute_one: String,
    pub minute_many: String,
    pub second_one: String,
    pub second_many: String,
    pub and: String,
}

static TEXTS: LazyLock<Vec<(Locale, PackageTexts)>> = LazyLock::new(|| load_all("package"));

impl PackageTexts {
    /// The texts of `locale`.
    pub fn of(locale: Locale) -> &'static PackageTexts {
        pick(&TEXTS, locale)
    }

    /// `one` for 1, else `many` with `{n}` filled.
    pub fn count(one: &str, many: &str, n: usize) -> String {
        if n == 1 { one.to_owned() } else { fill(many, &[("n", &n.to_string())]) }
    }

    /// A legal basis in words.
    pub fn basis(&self, basis: LegalBasis) -> &str {
        let b = &self.bases;
        match basis {
            LegalBasis::Consent => &b.consent,
            LegalBasis::Contract => &b.contract,
            LegalBasis::LegalObligation => &b.legal_obligation,
            LegalBasis::VitalInterests => &b.vital_interests,
            LegalBasis::PublicTask => &b.public_task,
            LegalBasis::LegitimateInterests => &b.legitimate_interests,
        }
    }

    /// A transfer safeguard in words.
    pub fn safeguard(&self, safeguard: Safeguard) -> &str {
        let s = &self.safeguards;
        match safeguard {
            Safeguard::AdequacyDecision => &s.adequacy_decision,
            Safeguard::StandardContractualClauses => &s.standard_contractual_clauses,
            Safeguard::BindingCorporateRules => &s.binding_corporate_rules,
            Safeguard::CodeOfConduct => &s.code_of_conduct,
            Safeguard::Certification => &s.certification,
            Safeguard::Derogation => &s.derogation,
        }
    }

    /// An ISO 8601 duration in words (`P1Y6M` → "1 year and 6 months"); the text as written
    /// when it is not one.
    pub fn duration(&self, period: &str) -> String {
        let Some(parts) = duration_parts(period) else { return period.to_owned() };
        let u = &self.units;
        let words: Vec<String> = parts
            .into_iter()
            .map(|(unit, n)| {
                let (one, many) = match unit {
                    'Y' => (&u.year_one, &u.year_many),
                    'M' => (&u.month_one, &u.month_many),
                    'W' => (&u.week_one, &u.week_many),
                    'D' => (&u.day_one, &u.day_many),
                    'h' => (&u.hour_one, &u.hour_many),
                    'm' => (&u.minute_one, &u.minute_many),
                    _ => (&u.second_one, &u.second_many),
                };
                Self::count(one, many, n)
            })
            .collect();
        match words.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} {} {last}", rest.join(", "), u.and),
            _ => words.join(""),
        }
    }
}

/// The non-zero parts of an ISO 8601 duration, largest first: `Y`, `M`, `W`, `D` for the date,
/// `h`, `m`, `s` for the time.
fn duration_parts(period: &str) -> Option<Vec<(char, usize)>> {
    if !lethe_entities::datamap::validate::is_iso8601_duration(period) {
        return None;
    }
    let rest = period.strip_prefix('P')?;
    let (date, clock) = rest.split_once('T').unwrap_or((rest, ""));
    let mut parts = Vec::new();
    for (text, time) in [(date, false), (clock, true)] {
        let mut number = String::new();
        for c in text.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let n: usize = number.parse().ok()?;
            number.clear();
            let unit = if time { c.to_ascii_lowercase() } else { c };
            if n > 0 {
                parts.push((unit, n));
            }
        }
    }
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_package_text() {
        for locale in Locale::ALL {
            let texts = super::super::section::<PackageTexts>(locale, "package");
            assert!(texts.is_ok(), "{}: {:?}", locale.code(), texts.err());
        }
    }

    #[test]
    fn durations_are_in_words() {
        let en = PackageTexts::of(Locale::En);
        assert_eq!(en.duration("P10Y"), "10 years");
        assert_eq!(en.duration("P1Y6M"), "1 year and 6 months");
        assert_eq!(en.duration("P1DT12H30M"), "1 day, 12 hours and 30 minutes");
        assert_eq!(en.duration("P0Y2W"), "2 weeks");
        assert_eq!(en.duration("ten years"), "ten years");
        assert_eq!(PackageTexts::of(Locale::Sv).duration("P7Y"), "7 år");
        assert_eq!(PackageTexts::of(Locale::De).duration("P1M"), "1 Monat");
    }
}
