//! Validated, normalised identities ("parse, don't validate").
//!
//! A value of these types is always normalised, so two spellings of the same identity give the
//! same blind index. Error messages never echo the input: it is personal data.

use crate::domain::enums::IdentityKind;

/// Why an identity was refused. The messages are safe to show and to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// Not a plausible e-mail address.
    #[error("not a valid e-mail address")]
    InvalidEmail,
    /// Not a phone number in international form.
    #[error("not a valid phone number: use international form, e.g. +46701234567")]
    InvalidPhone,
    /// Empty, too long, or containing control characters.
    #[error("not a valid customer id: 1 to 128 printable characters")]
    InvalidCustomerId,
}

/// An e-mail address, trimmed and lower-cased.
///
/// Lower-casing the local part is a deliberate choice: for erasure it is safer to match
/// `Ann@x.com` and `ann@x.com` as one person than to miss one of them, and no mainstream
/// provider treats them as different mailboxes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SubjectEmail(String);

impl SubjectEmail {
    /// Parses and normalises an e-mail address.
    pub fn parse(raw: &str) -> Result<Self, IdentityError> {
        let value = raw.trim().to_lowercase();
        let err = IdentityError::InvalidEmail;
        if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err);
        }
        let (local, domain) = value.split_once('@').ok_or(err.clone())?;
        if local.is_empty() || local.len() > 64 || domain.contains('@') {
            return Err(err);
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(err);
        }
        // RFC 5322 dot-atom characters only: quoted local parts and characters such as `<`,
        // `,` or `"` are refused here rather than accepted and then undeliverable.
        if !local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c)) {
            return Err(err);
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return Err(err);
        }
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if !labels.iter().all(label_ok) {
            return Err(err);
        }
        Ok(Self(value))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number normalised to E.164 (`+` and 8 to 15 digits).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a phone number, dropping spaces, dashes, dots and parentheses.
    pub fn parse(raw: &str) -> Result<Self, IdentityError> {
        let compact: String = raw.trim().chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
        let digits = compact.strip_prefix('+').ok_or(IdentityError::InvalidPhone)?;
        if !(8..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) || digits.starts_with('0') {
            return Err(IdentityError::InvalidPhone);
        }
        Ok(Self(compact))
    }

    /// The E.164 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The company's own customer identifier: trimmed, otherwise kept exactly (case-sensitive).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CustomerId(String);

impl CustomerId {
    /// Parses a customer identifier.
    pub fn parse(raw: &str) -> Result<Self, IdentityError> {
        let value = raw.trim();
        if value.is_empty() || value.chars().count() > 128 || value.chars().any(char::is_control) {
            return Err(IdentityError::InvalidCustomerId);
        }
        Ok(Self(value.to_owned()))
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Any one validated identity.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    /// An e-mail address.
    Email(SubjectEmail),
    /// A phone number.
    Phone(PhoneNumber),
    /// A customer identifier.
    CustomerId(CustomerId),
}

impl Identity {
    /// Parses `raw` as an identity of `kind`.
    pub fn parse(kind: IdentityKind, raw: &str) -> Result<Self, IdentityError> {
        Ok(match kind {
            IdentityKind::Email => Self::Email(SubjectEmail::parse(raw)?),
            IdentityKind::Phone => Self::Phone(PhoneNumber::parse(raw)?),
            IdentityKind::CustomerId => Self::CustomerId(CustomerId::parse(raw)?),
        })
    }

    /// Which kind of identity this is.
    pub fn kind(&self) -> IdentityKind {
        match self {
            Self::Email(_) => IdentityKind::Email,
            Self::Phone(_) => IdentityKind::Phone,
            Self::CustomerId(_) => IdentityKind::CustomerId,
        }
    }

    /// The normalised value (personal data: never log it).
    pub fn normalised(&self) -> &str {
        match self {
            Self::Email(v) => v.as_str(),
            Self::Phone(v) => v.as_str(),
            Self::CustomerId(v) => v.as_str(),
        }
    }
}

macro_rules! redacted_debug {
    ($($t:ty),*) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($t), "(<redacted>)"))
            }
        }
    )*};
}
redacted_debug!(SubjectEmail, PhoneNumber, CustomerId, Identity);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(SubjectEmail::parse("  Ann.Lee@Example.COM ").unwrap().as_str(), "ann.lee@example.com");
    }

    #[test]
    fn bad_emails_are_refused() {
        for bad in [
            "",
            "a",
            "a@",
            "@b.c",
            "a@b",
            "a@@b.c",
            "a b@c.de",
            "a@b..c",
            ".a@b.c",
            "a.@b.c",
            "a@-b.c",
            "a@b\u{7}.cd",
            "a<b@x.io",
            "a,b@x.io",
            "a\"b@x.io",
        ] {
            assert_eq!(SubjectEmail::parse(bad), Err(IdentityError::InvalidEmail), "{bad:?}");
        }
        assert!(SubjectEmail::parse(&format!("{}@b.cd", "a".repeat(65))).is_err());
    }

    #[test]
    fn phones_are_normalised_to_e164() {
        assert_eq!(PhoneNumber::parse("+46 (70) 123-45.67").unwrap().as_str(), "+46701234567");
        for bad in ["0701234567", "+0701234567", "+123", "+1234567890123456", "+46 70 abc"] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn customer_ids_keep_case() {
        assert_eq!(CustomerId::parse(" Cust-42 ").unwrap().as_str(), "Cust-42");
        assert!(CustomerId::parse("   ").is_err());
        assert!(CustomerId::parse("a\u{0}b").is_err());
    }

    #[test]
    fn debug_output_never_shows_the_value() {
        let id = Identity::parse(IdentityKind::Email, "secret@example.com").unwrap();
        assert!(!format!("{id:?}").contains("secret"));
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC{0,300}") {
            let _ = SubjectEmail::parse(&s);
            let _ = PhoneNumber::parse(&s);
            let _ = CustomerId::parse(&s);
        }

        #[test]
        fn valid_emails_normalise_idempotently_and_case_insensitively(
            local in "[a-zA-Z0-9][a-zA-Z0-9._+-]{0,20}[a-zA-Z0-9]",
            domain in "[a-zA-Z0-9]{1,10}\\.[a-zA-Z]{2,6}",
            pad in " {0,3}",
        ) {
            prop_assume!(!local.contains(".."));
            let raw = format!("{pad}{local}@{domain}{pad}");
            let parsed = SubjectEmail::parse(&raw).unwrap();
            prop_assert_eq!(SubjectEmail::parse(parsed.as_str()).unwrap(), parsed.clone());
            prop_assert_eq!(SubjectEmail::parse(&raw.to_uppercase()).unwrap(), parsed);
        }
    }
}
