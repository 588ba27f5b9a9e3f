//! Discovery's suggestions: a data category (and whether the column identifies a person) for a
//! column, from its name, its SQL type and a sample of its values.
//!
//! The samples are customers' personal data: nothing here logs them, keeps them, or puts them
//! into anything it returns (suggestions hold only `'static` category names).
//!
//! # Column names
//!
//! A name is split into lower-case words at `_`, `-`, spaces and other punctuation, at camelCase
//! humps (`EmailAddress`, `IPAddress`) and between letters and digits (`address1`); a few glued
//! words are split too (`firstname`, `zipcode`, `dateofbirth`, …). The rules, first match wins:
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
//!   values alone are weak evidence (a contract's start date looks the same), so they count only
//!   when the name suggests a date of birth or there are at least 10 non-empty samples.
//!
//! # Combining
//!
//! When name and values agree the evidence is [`Evidence::NameAndValues`]; when only one says
//! something, that one. When they disagree the values win, since they reached the 80% threshold
//! (a `notes` column full of e-mail addresses is an e-mail column) — except that phone-like
//! values agree with a `fax` name. A reference or metadata name with values that match nothing
//! suggests nothing.

use std::net::IpAddr;

use time::{Date, Month};

use crate::domain::enums::IdentityKind;

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

// ---------------------------------------------------------------------------------------------
// Column names

/// Words that make a name describe a fact about personal data rather than the data itself.
const METADATA: &[&str] = &[
    "is",
    "has",
    "verified",
    "unverified",
    "confirmed",
    "validated",
    "enabled",
    "disabled",
    "count",
    "status",
    "type",
    "kind",
    "flag",
    "at",
    "on",
    "template",
    "subject",
    "sent",
    "opt",
    "optin",
    "optout",
    "consent",
    "format",
    "length",
    "policy",
    "strength",
    "domain",
    "provider",
    "regex",
    "pattern",
    "validation",
];

/// First or last words that make a column a reference to another row.
const REFERENCE: &[&str] = &["id", "uuid", "guid", "fk", "pk"];

/// Words that say a value is hashed or encrypted.
const HASHED: &[&str] = &["hash", "hashed", "digest", "encrypted", "md5", "sha1", "sha256", "hmac"];

/// Words that qualify a person-name or address column as being about a person.
const PERSON_ROLES: &[&str] = &[
    "customer",
    "client",
    "contact",
    "user",
    "member",
    "person",
    "subscriber",
    "billing",
    "shipping",
    "delivery",
    "invoice",
    "recipient",
    "sender",
    "buyer",
    "owner",
    "holder",
    "cardholder",
    "card",
    "patient",
    "employee",
    "staff",
    "student",
    "guest",
    "author",
    "beneficiary",
    "emergency",
    "parent",
    "guardian",
    "spouse",
    "applicant",
    "candidate",
    "passenger",
    "traveler",
    "traveller",
    "primary",
    "secondary",
];

/// Words that qualify a person-name column (besides the roles).
const NAME_QUALIFIERS: &[&str] =
    &["name", "first", "given", "last", "family", "middle", "full", "display", "real", "legal", "preferred", "maiden"];

/// Words that qualify an address column (besides the roles).
const ADDRESS_QUALIFIERS: &[&str] = &[
    "address",
    "addr",
    "home",
    "postal",
    "mailing",
    "residential",
    "residence",
    "current",
    "permanent",
    "work",
    "business",
    "physical",
    "registered",
    "legal",
    "full",
    "of",
    "line",
    "code",
    "name",
    "iso",
    "number",
    "no",
    "nr",
];

/// Glued words split before matching.
const GLUED: &[(&str, &[&str])] = &[
    ("emailaddress", &["email", "address"]),
    ("mailaddress", &["mail", "address"]),
    ("phonenumber", &["phone", "number"]),
    ("phoneno", &["phone", "no"]),
    ("mobilephone", &["mobile", "phone"]),
    ("mobilenumber", &["mobile", "number"]),
    ("cellphone", &["cell", "phone"]),
    ("faxnumber", &["fax", "number"]),
    ("firstname", &["first", "name"]),
    ("givenname", &["given", "name"]),
    ("lastname", &["last", "name"]),
    ("familyname", &["family", "name"]),
    ("middlename", &["middle", "name"]),
    ("fullname", &["full", "name"]),
    ("displayname", &["display", "name"]),
    ("realname", &["real", "name"]),
    ("ipaddress", &["ip", "address"]),
    ("ipaddr", &["ip", "addr"]),
    ("remoteaddr", &["remote", "addr"]),
    ("useragent", &["user", "agent"]),
    ("zipcode", &["zip", "code"]),
    ("postalcode", &["postal", "code"]),
    ("streetaddress", &["street", "address"]),
    ("dateofbirth", &["date", "of", "birth"]),
    ("birthdate", &["birth", "date"]),
    ("cardnumber", &["card", "number"]),
    ("creditcard", &["credit", "card"]),
    ("ccnumber", &["cc", "number"]),
    ("ccnum", &["cc", "num"]),
    ("accountnumber", &["account", "number"]),
    ("bankaccount", &["bank", "account"]),
    ("customernumber", &["customer", "number"]),
    ("customerno", &["customer", "no"]),
    ("passwordhash", &["password", "hash"]),
];

/// The lower-case words of a column name (see the module documentation).
fn words(column: &str) -> Vec<String> {
    let chars: Vec<char> = column.chars().collect();
    let mut raw: Vec<String> = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                raw.push(std::mem::take(&mut current));
            }
            continue;
        }
        if let Some(&prev) = i.checked_sub(1).and_then(|p| chars.get(p)) {
            let next = chars.get(i + 1).copied();
            let hump = prev.is_lowercase() && c.is_uppercase();
            let acronym_end = prev.is_uppercase() && c.is_uppercase() && next.is_some_and(|n| n.is_lowercase());
            let digits = prev.is_alphanumeric() && (prev.is_numeric() != c.is_numeric());
            if (hump || acronym_end || digits) && !current.is_empty() {
                raw.push(std::mem::take(&mut current));
            }
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        raw.push(current);
    }
    let mut out = Vec::with_capacity(raw.len());
    for word in raw {
        match GLUED.iter().find(|(glued, _)| *glued == word) {
            Some((_, parts)) => out.extend(parts.iter().map(|part| (*part).to_owned())),
            None => out.push(word),
        }
    }
    out
}

/// The words of a column name, with the queries the rules ask of them.
struct Words(Vec<String>);

impl Words {
    fn has(&self, word: &str) -> bool {
        self.0.iter().any(|w| w == word)
    }

    fn any(&self, words: &[&str]) -> bool {
        self.0.iter().any(|w| words.contains(&w.as_str()))
    }

    /// Whether `first` is immediately followed by one of `then`.
    fn pair(&self, first: &str, then: &[&str]) -> bool {
        self.0.windows(2).any(|w| w[0] == first && then.contains(&w[1].as_str()))
    }

    /// Whether `words` occur consecutively.
    fn seq(&self, words: &[&str]) -> bool {
        !words.is_empty() && self.0.windows(words.len()).any(|window| window.iter().zip(words).all(|(a, b)| a == b))
    }

    fn is(&self, words: &[&str]) -> bool {
        self.0.len() == words.len() && self.0.iter().zip(words).all(|(a, b)| a == b)
    }

    fn first_or_last_in(&self, words: &[&str]) -> bool {
        let first = self.0.first().is_some_and(|w| words.contains(&w.as_str()));
        let last = self.0.last().is_some_and(|w| words.contains(&w.as_str()));
        first || last
    }

    /// Whether every word not in `keys` is one of `allowed` (or all digits, an ordinal).
    fn only_qualified(&self, keys: &[&str], allowed: &[&[&str]]) -> bool {
        self.0.iter().all(|w| {
            keys.contains(&w.as_str())
                || allowed.iter().any(|set| set.contains(&w.as_str()))
                || w.chars().all(|c| c.is_ascii_digit())
        })
    }
}

/// What the column's name suggests (rules 1–12 of the module documentation).
fn from_name(column: &str) -> Option<Guess> {
    let words = Words(words(column));
    let guess = name_rules(&words)?;
    if words.any(HASHED) { Some(Guess { identity: None, ..guess }) } else { Some(guess) }
}

fn name_rules(w: &Words) -> Option<Guess> {
    const NUMBER: &[&str] = &["number", "no", "num", "nr"];
    if w.0.is_empty() || w.any(METADATA) {
        return None;
    }
    if w.any(&["ssn", "passport", "nino"])
        || w.pair("national", &["id", "identification", "insurance", "number"])
        || w.pair("social", &["security"])
        || w.pair("tax", &["id", "identification", "number"])
        || w.pair("drivers", &["license", "licence"])
        || w.pair("driver", &["license", "licence"])
    {
        return Some(guess("user.government_id"));
    }
    if w.first_or_last_in(REFERENCE) {
        return None;
    }
    if w.any(&["email", "emails"]) || w.pair("e", &["mail"]) || w.is(&["mail"]) || w.pair("mail", &["address"]) {
        return Some(identifying(EMAIL, IdentityKind::Email));
    }
    let mobile = w.has("mobile") && !w.any(&["app", "version", "platform", "os", "device", "browser", "web", "site"]);
    if mobile || w.any(&["phone", "phones", "telephone", "tel", "msisdn"]) {
        return Some(identifying(PHONE, IdentityKind::Phone));
    }
    if w.has("fax") {
        return Some(guess(FAX));
    }
    if w.any(&["password", "passwd", "pwd", "passphrase", "passcode"]) {
        return Some(guess("user.authorization.credentials"));
    }
    if w.is(&["username"]) {
        return Some(guess("user.account.username"));
    }
    if w.any(&["dob", "birthday"]) || w.pair("birth", &["date", "day"]) || w.seq(&["date", "of", "birth"]) {
        return Some(guess(DATE_OF_BIRTH));
    }
    if w.any(&["gender", "sex"]) {
        return Some(guess("user.demographic.gender"));
    }
    if w.any(&["ip", "ipv4", "ipv6"]) || w.pair("remote", &["addr", "address", "ip"]) {
        return Some(guess(IP_ADDRESS));
    }
    if w.pair("user", &["agent"]) {
        return Some(guess("user.device"));
    }
    if w.pair("card", NUMBER) || w.pair("cc", NUMBER) || w.pair("credit", &["card"]) || w.has("pan") {
        return Some(guess(CREDIT_CARD));
    }
    if w.has("iban") || w.pair("account", NUMBER) || w.pair("bank", &["account"]) {
        return Some(guess("user.financial.bank_account"));
    }
    if ["customer", "client", "member", "subscriber"]
        .iter()
        .any(|who| w.pair(who, &["number", "no", "num", "nr", "ref", "reference", "code"]))
    {
        return Some(identifying("user.unique_id", IdentityKind::CustomerId));
    }
    person_name(w).or_else(|| address(w))
}

/// Rule 11: person names.
fn person_name(w: &Words) -> Option<Guess> {
    let keys = ["name", "surname", "forename"];
    if !w.any(&keys) || !w.only_qualified(&keys, &[NAME_QUALIFIERS, PERSON_ROLES]) {
        return None;
    }
    if w.any(&["first", "given", "forename"]) {
        Some(guess("user.name.first"))
    } else if w.any(&["last", "family", "surname"]) {
        Some(guess("user.name.last"))
    } else {
        Some(guess("user.name"))
    }
}

/// Rule 12: addresses and their parts.
fn address(w: &Words) -> Option<Guess> {
    let parts: &[(&[&str], &str)] = &[
        (&["street", "house"], "user.contact.address.street"),
        (&["zip", "postcode", "plz"], "user.contact.address.postal_code"),
        (&["city", "town"], "user.contact.address.city"),
        (&["province", "county"], "user.contact.address.state"),
        (&["country"], "user.contact.address.country"),
    ];
    let qualified = |keys: &[&str]| w.only_qualified(keys, &[ADDRESS_QUALIFIERS, PERSON_ROLES]);
    for (keys, category) in parts {
        if w.any(keys) && qualified(keys) {
            return Some(guess(category));
        }
    }
    if w.pair("postal", &["code"]) || w.pair("post", &["code"]) {
        return qualified(&["post"]).then_some(guess("user.contact.address.postal_code"));
    }
    if w.has("state") && w.0.len() > 1 && qualified(&["state"]) {
        return Some(guess("user.contact.address.state"));
    }
    if w.any(&["address", "addr"]) && qualified(&[]) {
        let line = w.has("line") || w.0.iter().any(|word| word.chars().all(|c| c.is_ascii_digit()));
        return Some(guess(if line { "user.contact.address.street" } else { "user.contact.address" }));
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Sampled values

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
fn from_values(sql_type: &str, samples: &[&str], birth_hint: bool, today: Date) -> Option<Guess> {
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
    if matches!(class, TypeClass::Text | TypeClass::Temporal)
        && (birth_hint || values.len() >= 10)
        && births(&values, today)
    {
        return Some(guess(DATE_OF_BIRTH));
    }
    None
}

/// `local@domain.tld`: one `@`, a plausible local part and a dotted domain with a letters TLD.
fn is_email(value: &str) -> bool {
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
fn years_before(today: Date, years: i32) -> Option<Date> {
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

#[cfg(test)]
mod tests;
