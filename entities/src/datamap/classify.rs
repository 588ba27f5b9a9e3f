//! Discovery's suggestions: a data category (and whether the column identifies a person) for a
//! column, from its name, its SQL type and a sample of its values.
//!
//! The samples are customers' personal data: nothing here logs them, keeps them, or puts them
//! into anything it returns (suggestions hold only `'static` category names).
//!
//! # Column names
//!
//! A name is split into lower-case words at `_`, `-`, spaces and other punctuation, at camelCase
//! humps (`EmailAddress`, `IPAddress`) and between letters and digits (`address1`); a word the
//! rules do not know is split into words they know when those cover it exactly, in the fewest
//! pieces (`firstname`, `dateofbirth`, `billingpostalcode`; not `company`), and a word they know
//! stays whole (`username`). The rules, first match wins:
//!
//! 1. A name with a metadata word (`is`, `has`, `verified`, `status`, `type`, `count`, `at`, `on`,
//!    `opt_in`, `consent`, …) describes a fact *about* personal data (`email_verified`,
//!    `password_changed_at`) and suggests nothing.
//! 2. Government identifiers: `ssn`, `passport`, `national_id`, `social_security`, `tax_id`,
//!    `drivers_license`, … → `user.government_id`.
//! 3. References suggest nothing: a first or last word `id`, `uuid`, `guid`, `fk` or `pk` (`id`,
//!    `customer_id`, `id_customer`). Locating follows references; they are declared elsewhere.
//! 4. E-mail (`email`, `e_mail`, `mail`, `mail_address`) → `user.contact.email`, identity e-mail.
//! 5. Phone (`phone`, `telephone`, `tel`, `msisdn`, and `mobile` unless with `app`, `version`,
//!    `os`, `device`, …) → `user.contact.phone_number`, identity phone; `fax` →
//!    `user.contact.fax_number` (not an identity).
//! 6. `password`, `passwd`, `pwd`, `passphrase`, `passcode` → `user.authorization.credentials`;
//!    the single word `username` → `user.account.username`.
//! 7. `dob`, `birthday`, `birth_date`, `date_of_birth` → `user.demographic.date_of_birth`;
//!    `gender`, `sex` → `user.demographic.gender`.
//! 8. `ip`, `ipv4`, `ipv6`, `remote_addr` → `user.device.ip_address`; `user_agent` → `user.device`.
//! 9. Cards (`card_number`, `cc_number`, `pan`, `credit_card`) → `user.financial.credit_card`;
//!    `iban`, `account_number`, `bank_account` → `user.financial.bank_account`.
//! 10. `customer_number`, `customer_no`, `customer_ref` (also `client_…`, `member_…`,
//!     `subscriber_…` with `number`, `no`, `num`, `nr`, `ref`, `reference`, `code`) →
//!     `user.unique_id`, identity customer id.
//! 11. Person names: a name column is one whose words are `name` (or `surname`, `forename`)
//!     plus only name qualifiers (`first`, `given`, `last`, `family`, `middle`, `full`,
//!     `display`, `legal`, …) and person roles (`customer`, `contact`, `user`, `billing`,
//!     `shipping`, `holder`, `owner`, `patient`, …). So `name`, `full_name`, `user_name`,
//!     `billing_first_name` are names, while `product_name`, `file_name`, `table_name` and
//!     `company_name` name things and suggest nothing. First/given → `user.name.first`,
//!     last/family/surname → `user.name.last`, otherwise `user.name`.
//! 12. Addresses, with the same restriction (the other words must be address contexts such as
//!     `home`, `billing`, `shipping`, `delivery`, `mailing`, person roles, or parts such as
//!     `line`, `code`, `name`, ordinals): `street`, `address_line`, `address1` →
//!     `…address.street`; `zip`, `postcode`, `postal_code` → `…address.postal_code`; `city`,
//!     `town` → `…address.city`; `province`, `county` and a qualified `state` (`billing_state`,
//!     but not a bare `state`) → `…address.state`; `country` → `…address.country`; `address`,
//!     `addr` → `user.contact.address`. So `origin_country`, `warehouse_city` and
//!     `wallet_address` suggest nothing.
//!
//! A name that also says the value is hashed or encrypted (`email_hash`, `phone_encrypted`) keeps
//! its category but identifies no one: a hash cannot be matched against a request's identity.
//!
//! # Sampled values
//!
//! Values count only when at least 3 samples are non-empty (after trimming), and a kind is
//! recognised when at least 80% of them match it. The SQL type limits what is looked for: numeric
//! columns can only hold card numbers, date and time columns only dates of birth, `inet`/`cidr`
//! only IP addresses, and boolean and binary columns nothing. In order:
//!
//! * e-mail addresses (`local@domain.tld`, a simple syntax check) → e-mail;
//! * IP addresses (what [`std::net::IpAddr`] parses; a `/prefix` suffix is allowed);
//! * card numbers: 13–19 digits with optional spaces or dashes, not starting with 0, passing
//!   [`luhn_valid`]. About one random number in ten passes Luhn, so sequential ids or
//!   millisecond timestamps reach 80% only by (vanishingly unlikely) chance;
//! * phone numbers: an optional leading `+`, 7–15 digits once spaces, dashes, dots and
//!   parentheses are removed, and at least one such separator or the `+` (a plain integer is
//!   not a phone number); values shaped like dates (`1990-05-12`, `12.05.1990`) or decimals
//!   (`1234567.89`) are not phone numbers → phone;
//! * dates of birth: ISO dates (`YYYY-MM-DD`, optionally followed by a midnight time such as
//!   ` 00:00:00+00` or `T00:00:00Z`, which is how date and timestamp columns are sampled), all of
//!   them between 1900-01-01 and 13 years before today, and not all the same day. Birth-date-like
//!   values alone are no evidence (an invoice's or a contract's date looks the same), so they
//!   count only when the name suggests a date of birth: sampled values never make a column a
//!   date of birth against its name.
//!
//! # Combining
//!
//! When name and values agree the evidence is [`Evidence::NameAndValues`]; when only one says
//! something, that one. When they disagree the values win, since they reached the 80% threshold
//! (a `notes` column full of e-mail addresses is an e-mail column) — except that phone-like
//! values agree with a `fax` name. A reference or metadata name with values that match nothing
//! suggests nothing.

mod names;

pub(crate) use names::words;
mod values;

use time::Date;

use crate::domain::enums::IdentityKind;
use names::from_name;
use values::from_values;

/// What supports a suggestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// The column's name alone.
    ColumnName,
    /// The sampled values alone (the name says nothing, or something else).
    SampledValues,
    /// The name and the sampled values agree.
    NameAndValues,
}

/// A suggested category (and identity kind) for one column.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    /// The suggested data category (a built-in category name).
    pub category: &'static str,
    /// The kind of identity the column holds, when it can locate a data subject.
    pub identity: Option<IdentityKind>,
    /// What supports the suggestion.
    pub evidence: Evidence,
}

/// Suggests a category for a column; `None` when nothing suggests personal data.
pub fn suggest(column: &str, sql_type: &str, samples: &[&str]) -> Option<Suggestion> {
    suggest_on(column, sql_type, samples, time::OffsetDateTime::now_utc().date())
}

/// Luhn checksum over the digits of `number` (spaces and dashes ignored; other characters fail).
///
/// Fewer than two digits fail too: a single digit is no number to check.
pub fn luhn_valid(number: &str) -> bool {
    let mut sum = 0u32;
    let mut digits = 0usize;
    for c in number.chars().rev() {
        match c {
            ' ' | '-' => continue,
            _ => {
                let Some(digit) = c.to_digit(10) else { return false };
                let value = if digits % 2 == 1 {
                    let doubled = digit * 2;
                    if doubled > 9 { doubled - 9 } else { doubled }
                } else {
                    digit
                };
                sum = (sum + value) % 10;
                digits += 1;
            }
        }
    }
    digits >= 2 && sum == 0
}

const EMAIL: &str = "user.contact.email";
const PHONE: &str = "user.contact.phone_number";
const FAX: &str = "user.contact.fax_number";
const IP_ADDRESS: &str = "user.device.ip_address";
const CREDIT_CARD: &str = "user.financial.credit_card";
const DATE_OF_BIRTH: &str = "user.demographic.date_of_birth";

/// A category with its identity kind, before evidence is weighed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Guess {
    category: &'static str,
    identity: Option<IdentityKind>,
}

const fn guess(category: &'static str) -> Guess {
    Guess { category, identity: None }
}

const fn identifying(category: &'static str, identity: IdentityKind) -> Guess {
    Guess { category, identity: Some(identity) }
}

fn suggest_on(column: &str, sql_type: &str, samples: &[&str], today: Date) -> Option<Suggestion> {
    let by_name = from_name(column);
    let birth_hint = by_name.is_some_and(|g| g.category == DATE_OF_BIRTH);
    let by_values = from_values(sql_type, samples, birth_hint, today);
    match (by_name, by_values) {
        (Some(name), Some(values)) if name.category == values.category => {
            Some(Suggestion { category: name.category, identity: values.identity, evidence: Evidence::NameAndValues })
        }
        (Some(name), Some(values)) if name.category == FAX && values.category == PHONE => {
            Some(Suggestion { category: name.category, identity: name.identity, evidence: Evidence::NameAndValues })
        }
        (_, Some(values)) => {
            Some(Suggestion { category: values.category, identity: values.identity, evidence: Evidence::SampledValues })
        }
        (Some(name), None) => {
            Some(Suggestion { category: name.category, identity: name.identity, evidence: Evidence::ColumnName })
        }
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests;
