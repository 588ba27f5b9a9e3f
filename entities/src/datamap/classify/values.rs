//! Suggestions from a sample of a column's values, limited by its SQL type (see [`super`]).

use std::net::IpAddr;

use time::{Date, Month};

use super::{CREDIT_CARD, DATE_OF_BIRTH, EMAIL, Guess, IP_ADDRESS, PHONE, guess, identifying, luhn_valid};
use crate::domain::enums::IdentityKind;

/// What a column's SQL type allows its values to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TypeClass {
    /// Text and anything not recognised: every kind.
    Text,
    /// Numbers: only card numbers.
    Number,
    /// Dates and timestamps: only dates of birth.
    Temporal,
    /// `inet` and `cidr`: only IP addresses.
    Inet,
    /// Booleans and binary data: nothing.
    Opaque,
}

fn type_class(sql_type: &str) -> TypeClass {
    let t = sql_type.trim().to_ascii_lowercase();
    let base = t.split(['(', ' ', '[']).next().unwrap_or_default();
    match base {
        "inet" | "cidr" => TypeClass::Inet,
        "date" | "datetime" | "datetime2" | "smalldatetime" | "datetimeoffset" | "timestamp" | "timestamptz" => {
            TypeClass::Temporal
        }
        "bool" | "boolean" | "bit" | "blob" | "tinyblob" | "mediumblob" | "longblob" | "bytea" | "binary"
        | "varbinary" | "image" | "uuid" => TypeClass::Opaque,
        "int" | "integer" | "int2" | "int4" | "int8" | "smallint" | "tinyint" | "mediumint" | "bigint" | "serial"
        | "smallserial" | "bigserial" | "numeric" | "decimal" | "number" | "real" | "float" | "float4" | "float8"
        | "double" | "money" => TypeClass::Number,
        _ => TypeClass::Text,
    }
}

/// At least 80% of `total`.
fn enough(hits: usize, total: usize) -> bool {
    total > 0 && hits.saturating_mul(5) >= total.saturating_mul(4)
}

/// What the sampled values suggest (see the module documentation).
pub(super) fn from_values(sql_type: &str, samples: &[&str], birth_hint: bool, today: Date) -> Option<Guess> {
    let values: Vec<&str> = samples.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
    if values.len() < 3 {
        return None;
    }
    let class = type_class(sql_type);
    let share = |test: fn(&str) -> bool| enough(values.iter().filter(|v| test(v)).count(), values.len());
    let text = class == TypeClass::Text;
    if text && share(is_email) {
        return Some(identifying(EMAIL, IdentityKind::Email));
    }
    if matches!(class, TypeClass::Text | TypeClass::Inet) && share(is_ip) {
        return Some(guess(IP_ADDRESS));
    }
    if matches!(class, TypeClass::Text | TypeClass::Number) && share(is_card) {
        return Some(guess(CREDIT_CARD));
    }
    if text && share(is_phone) {
        return Some(identifying(PHONE, IdentityKind::Phone));
    }
    if matches!(class, TypeClass::Text | TypeClass::Temporal) && birth_hint && births(&values, today) {
        return Some(guess(DATE_OF_BIRTH));
    }
    None
}

/// `local@domain.tld`: one `@`, a plausible local part and a dotted domain with a letters TLD.
pub(super) fn is_email(value: &str) -> bool {
    if value.len() > 254 {
        return false;
    }
    let Some((local, domain)) = value.split_once('@') else { return false };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    if !local_ok {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let labels_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    let tld_ok = labels.last().is_some_and(|tld| {
        tld.starts_with("xn--") || (tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic))
    });
    labels_ok && tld_ok
}

/// An IPv4 or IPv6 address, optionally with a `/prefix` length.
fn is_ip(value: &str) -> bool {
    let address = match value.split_once('/') {
        Some((address, prefix))
            if !prefix.is_empty() && prefix.len() <= 3 && prefix.bytes().all(|b| b.is_ascii_digit()) =>
        {
            address
        }
        Some(_) => return false,
        None => value,
    };
    address.parse::<IpAddr>().is_ok()
}

/// 13–19 digits (spaces and dashes allowed), not starting with 0, passing Luhn.
fn is_card(value: &str) -> bool {
    let mut digits = value.chars().filter(char::is_ascii_digit);
    let count = value.chars().filter(char::is_ascii_digit).count();
    (13..=19).contains(&count) && digits.next().is_some_and(|d| d != '0') && luhn_valid(value)
}

/// A phone number (see the module documentation).
fn is_phone(value: &str) -> bool {
    let (plus, rest) = match value.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    if !rest.starts_with(|c: char| c.is_ascii_digit() || c == '(') {
        return false;
    }
    let mut groups: Vec<usize> = Vec::new();
    let mut separators: Vec<char> = Vec::new();
    let mut run = 0usize;
    for c in rest.chars() {
        match c {
            '0'..='9' => run += 1,
            ' ' | '-' | '.' | '(' | ')' => {
                if run > 0 {
                    groups.push(run);
                    run = 0;
                }
                separators.push(c);
            }
            _ => return false,
        }
    }
    if run > 0 {
        groups.push(run);
    }
    let digits: usize = groups.iter().sum();
    if !(7..=15).contains(&digits) || (!plus && separators.is_empty()) {
        return false;
    }
    if plus {
        return true;
    }
    let date_like = groups.len() == 3 && (groups == [4, 2, 2] || groups == [2, 2, 4]);
    let decimal = groups.len() == 2 && separators == ['.'];
    !date_like && !decimal
}

/// Whether the values look like a sample of birth dates.
fn births(values: &[&str], today: Date) -> bool {
    let Some(latest) = years_before(today, 13) else { return false };
    let Ok(earliest) = Date::from_calendar_date(1900, Month::January, 1) else { return false };
    let dates: Vec<Date> = values.iter().filter_map(|v| iso_date(v)).collect();
    if !enough(dates.len(), values.len()) {
        return false;
    }
    let in_range = dates.iter().all(|d| (earliest..=latest).contains(d));
    let spread = dates.iter().any(|d| Some(d) != dates.first());
    in_range && spread
}

/// The same day `years` years earlier (28 February for 29 February).
pub(super) fn years_before(today: Date, years: i32) -> Option<Date> {
    let year = today.year().checked_sub(years)?;
    Date::from_calendar_date(year, today.month(), today.day())
        .or_else(|_| Date::from_calendar_date(year, today.month(), 28))
        .ok()
}

/// `YYYY-MM-DD`, optionally followed (after `T` or a space) by a midnight time, fractions of a
/// second and a UTC offset (`Z`, `+00`, `+00:00`, `-0500`).
fn iso_date(value: &str) -> Option<Date> {
    let head = value.get(..10)?;
    let rest = value.get(10..)?;
    let bytes = head.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = head.get(range)?;
        if part.bytes().all(|b| b.is_ascii_digit()) { part.parse().ok() } else { None }
    };
    if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    let year = i32::try_from(digits(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(digits(5..7)?).ok()?).ok()?;
    let day = u8::try_from(digits(8..10)?).ok()?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    if rest.is_empty() || midnight(rest) { Some(date) } else { None }
}

/// ` 00:00[:00[.000…]][offset]` or the same after `T`.
fn midnight(rest: &str) -> bool {
    let Some(time) = rest.strip_prefix(' ').or_else(|| rest.strip_prefix('T')) else { return false };
    let end = time.find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.')).unwrap_or(time.len());
    let (clock, offset) = time.split_at(end);
    let zero = clock.starts_with("00:00") && clock.chars().all(|c| matches!(c, '0' | ':' | '.'));
    let offset_ok = match offset {
        "" | "Z" => true,
        _ => {
            offset.starts_with(['+', '-'])
                && (3..=6).contains(&offset.len())
                && offset.chars().skip(1).all(|c| c.is_ascii_digit() || c == ':')
        }
    };
    zero && offset_ok
}
