//! The built-in data categories: fideslang's default `user.*` and `system.*` data categories
//! (Fides by Ethyca, fideslang v2 and v3), so that maps written for or imported from Fides keep
//! their labels. Names deprecated in fideslang 3.2 (`user.biometric`, `user.health_and_medical`,
//! `user.location.imprecise`, …) stay known next to their replacements, and the fideslang 1.x
//! name `user.financial.account_number` (2.0 renamed it `user.financial.bank_account`) is kept
//! for older datasets. Fideslang's own spellings are kept as they are (`user.health.symptons`,
//! `user.unique_id.probablistic`): they are the keys other tools write.

/// One data category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Category {
    /// The dotted key, e.g. `user.contact.email`.
    pub name: &'static str,
    /// One line saying what the category holds.
    pub description: &'static str,
}

const fn category(name: &'static str, description: &'static str) -> Category {
    Category { name, description }
}

/// Every built-in category, parents before children.
pub const CATEGORIES: &[Category] = &[
    category("user", "Data about the user of a system, provided by them or derived from their use."),
    // user.account
    category("user.account", "Account creation or registration information."),
    category("user.account.settings", "Account preferences and settings (deprecated: user.settings)."),
    category("user.account.username", "The username of an account."),
    // user.authorization
    category("user.authorization", "Scope of permissions and access to a system."),
    category("user.authorization.credentials", "Authentication credentials such as passwords."),
    category("user.authorization.biometric", "Biometric credentials (deprecated: user.authorization.biometrics)."),
    category("user.authorization.biometrics", "Biometric authentication credentials."),
    category("user.authorization.password", "A password for system authentication."),
    // user.behavior
    category("user.behavior", "Observed behaviour of the subject."),
    category("user.behavior.browsing_history", "Content browsing history."),
    category("user.behavior.media_consumption", "Media and content consumption history."),
    category("user.behavior.purchase_history", "Purchase history."),
    category("user.behavior.search_history", "Search history."),
    // user.biometric (deprecated) and user.biometrics
    category("user.biometric", "Encoded physical characteristics (deprecated: user.biometrics)."),
    category("user.biometric.fingerprint", "Fingerprint data (deprecated: user.biometrics.fingerprint)."),
    category("user.biometric.retinal", "Retinal data (deprecated: user.biometrics.retinal)."),
    category("user.biometric.voice", "Voice data (deprecated: user.biometrics.voice)."),
    category("user.biometric.health", "Biometric health data (deprecated: user.biometrics)."),
    category("user.biometrics", "Encoded physical characteristics."),
    category("user.biometrics.fingerprint", "Fingerprint data."),
    category("user.biometrics.retinal", "Retinal data."),
    category("user.biometrics.voice", "Voice data."),
    // user.childrens (deprecated) and user.children
    category("user.childrens", "Data relating to children (deprecated: user.children)."),
    category("user.children", "Data relating to children."),
    category("user.children.children_under_thirteen", "Data relating to children under thirteen."),
    category("user.children.thirteen_to_sixteen", "Data relating to children aged thirteen to sixteen."),
    // user.contact
    category("user.contact", "Contact data."),
    category("user.contact.address", "A postal address."),
    category("user.contact.address.city", "The city of an address."),
    category("user.contact.address.country", "The country of an address."),
    category("user.contact.address.mailing_address", "A mailing address."),
    category("user.contact.address.postal_code", "The postal code of an address."),
    category("user.contact.address.state", "The state, province or region of an address."),
    category("user.contact.address.street", "The street-level part of an address."),
    category("user.contact.email", "An e-mail address."),
    category("user.contact.fax_number", "A fax number."),
    category("user.contact.organization", "The subject's organization (deprecated: user.contact)."),
    category("user.contact.phone_number", "A phone number."),
    category("user.contact.social_url", "Links to websites or social profiles."),
    category("user.contact.url", "Links to websites or social profiles (deprecated: user.contact.social_url)."),
    // user.content
    category("user.content", "Content about or created by the subject."),
    category("user.content.private", "Private content, not publicly available."),
    category("user.content.public", "Publicly shared content."),
    category("user.content.self_image", "Photographs or images showing the subject."),
    // user.criminal_history
    category("user.criminal_history", "Criminal records."),
    // user.demographic
    category("user.demographic", "Demographic data."),
    category("user.demographic.age_range", "An age or age range."),
    category("user.demographic.citizenship_or_immigration_status", "Citizenship or immigration status."),
    category("user.demographic.date_of_birth", "Date of birth."),
    category("user.demographic.gender", "Gender."),
    category("user.demographic.language", "Spoken or written language."),
    category("user.demographic.marital_status", "Marital status."),
    category("user.demographic.philosophical_belief", "Philosophical beliefs."),
    category("user.demographic.political_opinion", "Political opinions."),
    category("user.demographic.profile", "Profile or preference information."),
    category("user.demographic.protected_classifications", "Protected classifications or sensitive attributes."),
    category("user.demographic.race_ethnicity", "Race or ethnicity."),
    category("user.demographic.religious_belief", "Religion or religious beliefs."),
    category("user.demographic.sexual_orientation", "Sexual orientation."),
    category("user.demographic.union_membership", "Trade union membership."),
    // user.device
    category("user.device", "Data about the subject's device, its configuration and settings."),
    category("user.device.cookie", "Data stored in a cookie."),
    category("user.device.cookie_id", "A cookie identifier."),
    category("user.device.device_id", "A device identifier."),
    category("user.device.ip_address", "An IP address."),
    category("user.device.sensor", "Measurements from device sensors."),
    category("user.device.telemetry", "Identifiable measurements from device monitoring."),
    // user.financial
    category("user.financial", "Payment data and financial history."),
    category("user.financial.account_number", "A bank account number (fideslang 1.x: user.financial.bank_account)."),
    category("user.financial.bank_account", "Bank account information."),
    category("user.financial.credit_card", "Payment card information."),
    // user.government_id
    category("user.government_id", "State-issued identification."),
    category("user.government_id.birth_certificate", "A birth certificate."),
    category("user.government_id.drivers_license_number", "A driving licence number."),
    category("user.government_id.immigration", "Immigration or residency identification."),
    category("user.government_id.national_identification_number", "A national identification number."),
    category("user.government_id.passport_number", "A passport number."),
    category("user.government_id.vehicle_registration", "A licence plate or vehicle registration."),
    // user.health_and_medical (deprecated) and user.health
    category("user.health_and_medical", "Health or medical records (deprecated: user.health)."),
    category("user.health_and_medical.genetic", "Genetic data (deprecated: user.health.genetic)."),
    category(
        "user.health_and_medical.insurance_beneficiary_id",
        "Health insurance number (deprecated: user.health.insurance_beneficiary_id).",
    ),
    category("user.health_and_medical.record_id", "Medical record identifiers (deprecated: user.health.record_id)."),
    category("user.health", "Health or medical records."),
    category("user.health.baby_formula", "Baby formula usage or preferences."),
    category("user.health.condition", "Health conditions."),
    category("user.health.genetic", "Genetic data."),
    category("user.health.insurance_beneficiary_id", "A health insurance beneficiary number."),
    category("user.health.maternity_clothing", "Maternity clothing purchases or preferences."),
    category("user.health.medical_diagnosis", "Medical diagnoses."),
    category("user.health.medications", "Medications."),
    category("user.health.prescriptions", "Prescriptions."),
    category("user.health.record_id", "Medical record identifiers."),
    category("user.health.reproductive_or_sexual", "Reproductive or sexual health."),
    category("user.health.social_psychological_behavioral", "Social, psychological or behavioural health."),
    category("user.health.symptons", "Health symptoms."),
    category("user.health.treatment", "Medical treatment."),
    // user.job_title and user.workplace (deprecated), user.professional_information
    category("user.job_title", "Job title (deprecated: user.professional_information.job_title)."),
    category("user.workplace", "Employer (deprecated: user.professional_information.workplace)."),
    category("user.professional_information", "Professional and employment information."),
    category("user.professional_information.job_title", "Job title or position."),
    category("user.professional_information.workplace", "Employer or workplace."),
    // user.location
    category("user.location", "Records of the subject's location."),
    category("user.location.coarse", "Coarse location (more than 500 m)."),
    category("user.location.imprecise", "Imprecise location (deprecated: user.location.coarse)."),
    category("user.location.precise", "Precise location (less than 500 m)."),
    // user.name
    category("user.name", "A person's real name."),
    category("user.name.first", "First or given name."),
    category("user.name.last", "Last or family name."),
    // user.payment
    category("user.payment", "Payment data."),
    // user.privacy_preferences
    category("user.privacy_preferences", "Privacy preferences set by the subject."),
    // user.sensor, user.user_sensor and user.telemetry (deprecated)
    category("user.sensor", "Sensor measurements (deprecated: user.device.sensor)."),
    category("user.user_sensor", "Measurements of the user's environment (deprecated: user.device.sensor)."),
    category("user.telemetry", "Identifiable monitoring measurements (deprecated: user.device.telemetry)."),
    // user.settings
    category("user.settings", "User preferences and settings."),
    // user.social (deprecated) and user.social_activity
    category("user.social", "Social activity and interactions (deprecated: user.social_activity)."),
    category("user.social_activity", "Social activity and interactions."),
    // user.unique_id
    category("user.unique_id", "An identifier assigned to the user by a system."),
    category("user.unique_id.deterministic", "An identifier derived deterministically from user data."),
    category("user.unique_id.probablistic", "A probabilistic identifier derived from other data."),
    category("user.unique_id.pseudonymous", "A pseudonymous identifier (deprecated: user.unique_id)."),
    // system
    category("system", "Data belonging to, and under the control of, the system."),
    category("system.authentication", "Data used to manage access to the system."),
    category("system.operations", "Data used to operate the system."),
];

/// Whether `name` is a built-in category (exact match).
pub fn is_known(name: &str) -> bool {
    get(name).is_some()
}

/// The category named `name`.
pub fn get(name: &str) -> Option<&'static Category> {
    CATEGORIES.iter().find(|category| category.name == name)
}

/// The parent category (`user.contact.email` -> `user.contact`), if any.
///
/// `name` itself need not be built in (`user.contact.custom` -> `user.contact`); the parent must be.
pub fn parent(name: &str) -> Option<&'static str> {
    let (prefix, _) = name.rsplit_once('.')?;
    get(prefix).map(|category| category.name)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_parent_is_listed_before_its_children() {
        let mut seen = HashSet::new();
        for category in CATEGORIES {
            if let Some((prefix, _)) = category.name.rsplit_once('.') {
                assert!(seen.contains(prefix), "{} comes before its parent", category.name);
                assert_eq!(parent(category.name), Some(prefix));
            } else {
                assert!(matches!(category.name, "user" | "system"), "unexpected root {}", category.name);
                assert_eq!(parent(category.name), None);
            }
            seen.insert(category.name);
        }
    }

    #[test]
    fn names_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for category in CATEGORIES {
            assert!(seen.insert(category.name), "{} is listed twice", category.name);
            assert!(
                category.name.split('.').all(|part| {
                    !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                }),
                "{} is not a dotted snake_case key",
                category.name
            );
            assert!(!category.description.is_empty() && !category.description.contains('\n'));
        }
    }

    #[test]
    fn known_and_unknown() {
        for name in [
            "user",
            "user.contact.email",
            "user.contact.phone_number",
            "user.contact.address.postal_code",
            "user.name.first",
            "user.device.ip_address",
            "user.financial.credit_card",
            "user.financial.account_number",
            "user.demographic.date_of_birth",
            "user.authorization.credentials",
            "user.location.imprecise",
            "user.health_and_medical",
            "system.operations",
        ] {
            assert!(is_known(name), "{name}");
        }
        for name in ["", "user.", "User.contact", "user.contact.email.work", "user.contact.e-mail", "system.x", "users"]
        {
            assert!(!is_known(name), "{name}");
        }
        assert_eq!(get("user.name").map(|c| c.description), Some("A person's real name."));
        assert_eq!(get("nope"), None);
    }

    #[test]
    fn parents() {
        assert_eq!(parent("user.contact.email"), Some("user.contact"));
        assert_eq!(parent("user.contact.address.city"), Some("user.contact.address"));
        assert_eq!(parent("user.contact"), Some("user"));
        assert_eq!(parent("user.contact.custom"), Some("user.contact"));
        assert_eq!(parent("user"), None);
        assert_eq!(parent("custom.thing"), None);
        assert_eq!(parent(""), None);
    }
}
