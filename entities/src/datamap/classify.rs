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
mod tests {
    use proptest::prelude::*;
    use time::macros::date;

    use super::*;

    const TODAY: Date = date!(2025 - 06 - 15);

    fn on(column: &str, sql_type: &str, samples: &[&str]) -> Option<Suggestion> {
        suggest_on(column, sql_type, samples, TODAY)
    }

    fn by_name(column: &str) -> Option<(&'static str, Option<IdentityKind>)> {
        let s = on(column, "text", &[])?;
        assert_eq!(s.evidence, Evidence::ColumnName);
        Some((s.category, s.identity))
    }

    fn category(column: &str) -> Option<&'static str> {
        by_name(column).map(|(category, _)| category)
    }

    #[test]
    fn words_split_cases_and_glued_words() {
        assert_eq!(words("EmailAddress"), ["email", "address"]);
        assert_eq!(words("E_MAIL"), ["e", "mail"]);
        assert_eq!(words("IPAddress"), ["ip", "address"]);
        assert_eq!(words("customerNo"), ["customer", "no"]);
        assert_eq!(words("address_line1"), ["address", "line", "1"]);
        assert_eq!(words("contact-email"), ["contact", "email"]);
        assert_eq!(words("firstname"), ["first", "name"]);
        assert_eq!(words("__"), Vec::<String>::new());
    }

    #[test]
    fn email_names() {
        for column in ["email", "e_mail", "email_address", "contact_email", "EmailAddress", "E_MAIL", "eMail", "mail"] {
            assert_eq!(by_name(column), Some((EMAIL, Some(IdentityKind::Email))), "{column}");
        }
        assert_eq!(by_name("email_hash"), Some((EMAIL, None)));
        for column in ["email_verified", "is_email_confirmed", "email_id", "email_sent_at", "email_opt_in"] {
            assert_eq!(by_name(column), None, "{column}");
        }
    }

    #[test]
    fn phone_names() {
        for column in ["phone", "mobile", "phone_number", "tel", "PhoneNumber", "mobile_phone", "telephone"] {
            assert_eq!(by_name(column), Some((PHONE, Some(IdentityKind::Phone))), "{column}");
        }
        assert_eq!(by_name("fax"), Some((FAX, None)));
        assert_eq!(by_name("phone_verified"), None);
    }

    #[test]
    fn person_names() {
        for column in ["first_name", "given_name", "FirstName", "billing_first_name", "name_first"] {
            assert_eq!(category(column), Some("user.name.first"), "{column}");
        }
        for column in ["last_name", "surname", "family_name", "lastName"] {
            assert_eq!(category(column), Some("user.name.last"), "{column}");
        }
        for column in ["name", "full_name", "display_name", "customer_name", "contact_name", "user_name", "Name"] {
            assert_eq!(category(column), Some("user.name"), "{column}");
        }
        for column in ["product_name", "table_name", "file_name", "company_name", "name_type", "city_name_x"] {
            assert_eq!(category(column), None, "{column}");
        }
        assert_eq!(category("username"), Some("user.account.username"));
    }

    #[test]
    fn address_names() {
        for (column, expected) in [
            ("street", "user.contact.address.street"),
            ("address_line1", "user.contact.address.street"),
            ("address2", "user.contact.address.street"),
            ("street_address", "user.contact.address.street"),
            ("address", "user.contact.address"),
            ("billing_address", "user.contact.address"),
            ("city", "user.contact.address.city"),
            ("shipping_city", "user.contact.address.city"),
            ("postcode", "user.contact.address.postal_code"),
            ("zip", "user.contact.address.postal_code"),
            ("zip_code", "user.contact.address.postal_code"),
            ("postal_code", "user.contact.address.postal_code"),
            ("country", "user.contact.address.country"),
            ("country_code", "user.contact.address.country"),
            ("billing_state", "user.contact.address.state"),
        ] {
            assert_eq!(category(column), Some(expected), "{column}");
        }
        for column in ["state", "origin_country", "warehouse_city", "wallet_address", "mac_address", "city_id"] {
            assert_eq!(category(column), None, "{column}");
        }
    }

    #[test]
    fn other_names() {
        for (column, expected) in [
            ("ip", IP_ADDRESS),
            ("ip_address", IP_ADDRESS),
            ("remote_addr", IP_ADDRESS),
            ("last_ip", IP_ADDRESS),
            ("IPAddress", IP_ADDRESS),
            ("card_number", CREDIT_CARD),
            ("pan", CREDIT_CARD),
            ("cc_number", CREDIT_CARD),
            ("iban", "user.financial.bank_account"),
            ("account_number", "user.financial.bank_account"),
            ("dob", DATE_OF_BIRTH),
            ("date_of_birth", DATE_OF_BIRTH),
            ("birth_date", DATE_OF_BIRTH),
            ("birthday", DATE_OF_BIRTH),
            ("DateOfBirth", DATE_OF_BIRTH),
            ("password", "user.authorization.credentials"),
            ("password_hash", "user.authorization.credentials"),
            ("passwd", "user.authorization.credentials"),
            ("gender", "user.demographic.gender"),
            ("ssn", "user.government_id"),
            ("national_id", "user.government_id"),
            ("passport", "user.government_id"),
            ("passport_number", "user.government_id"),
            ("user_agent", "user.device"),
        ] {
            assert_eq!(category(column), Some(expected), "{column}");
        }
        for column in ["customer_number", "customer_no", "customer_ref", "CustomerNumber"] {
            assert_eq!(by_name(column), Some(("user.unique_id", Some(IdentityKind::CustomerId))), "{column}");
        }
        assert_eq!(category("password_changed_at"), None);
        assert_eq!(category("place_of_birth"), None);
        assert_eq!(category("mobile_app_version"), None);
        assert_eq!(category("hotel_name"), None);
    }

    #[test]
    fn ids_and_references_are_not_personal_data() {
        for column in ["id", "ID", "customer_id", "customerId", "user_uuid", "id_customer", "order_fk", "device_id"] {
            assert_eq!(on(column, "bigint", &["1", "2", "3", "4"]), None, "{column}");
        }
        for column in ["created_at", "total", "status", "description", ""] {
            assert_eq!(on(column, "text", &[]), None, "{column}");
        }
    }

    #[test]
    fn email_values() {
        let samples = ["ada@example.com", "b.c+tag@mail.example.co.uk", "x@y.io", "Q@EXAMPLE.ORG"];
        assert_eq!(
            on("email", "varchar(255)", &samples),
            Some(Suggestion {
                category: EMAIL,
                identity: Some(IdentityKind::Email),
                evidence: Evidence::NameAndValues
            })
        );
        assert_eq!(
            on("col7", "text", &samples),
            Some(Suggestion {
                category: EMAIL,
                identity: Some(IdentityKind::Email),
                evidence: Evidence::SampledValues
            })
        );
        for bad in ["a@b", "@example.com", "a@@example.com", "a b@example.com", "a@example.c0m", "a..b@example.com"] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn phone_values() {
        let samples = ["+44 20 7946 0958", "(555) 123-4567", "555.123.4567", "+4915112345678", "030 1234567"];
        let s = on("contact", "text", &samples);
        assert_eq!(
            s.map(|s| (s.category, s.identity, s.evidence)),
            Some((PHONE, Some(IdentityKind::Phone), Evidence::SampledValues))
        );
        assert_eq!(on("phone", "text", &samples).map(|s| s.evidence), Some(Evidence::NameAndValues));
        // Plain integers, dates and decimals are not phone numbers.
        assert_eq!(on("qty", "text", &["1234567", "2345678", "3456789"]), None);
        assert_eq!(on("day", "text", &["2024-01-02", "2024-03-04", "2025-05-06"]), None);
        assert_eq!(on("price", "text", &["1234567.89", "2345678.10", "3456789.00"]), None);
        assert_eq!(on("delta", "text", &["-1234567", "-2345678", "-3456789"]), None);
        assert_eq!(on("when", "text", &["12.05.1990", "13.06.1991", "14.07.1992"]), None);
    }

    #[test]
    fn ip_values() {
        let samples = ["192.168.0.1", "10.0.0.254", "2001:db8::1", "::1", "203.0.113.7/32"];
        assert_eq!(
            on("x", "text", &samples).map(|s| (s.category, s.evidence)),
            Some((IP_ADDRESS, Evidence::SampledValues))
        );
        assert_eq!(on("last_ip", "inet", &samples).map(|s| s.evidence), Some(Evidence::NameAndValues));
        assert_eq!(on("version", "text", &["1.2.3", "1.2", "4"]), None);
    }

    #[test]
    fn card_values() {
        let cards =
            ["4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "6011111111111117", "4012888888881881"];
        assert_eq!(
            on("payload", "text", &cards).map(|s| (s.category, s.evidence)),
            Some((CREDIT_CARD, Evidence::SampledValues))
        );
        assert_eq!(on("card_number", "text", &cards).map(|s| s.evidence), Some(Evidence::NameAndValues));
        assert_eq!(
            on("pan", "bigint", &["4111111111111111", "5105105105105100", "4012888888881881"]).map(|s| s.evidence),
            Some(Evidence::NameAndValues)
        );
    }

    #[test]
    fn card_negatives() {
        let ids: Vec<String> = (1_000_000_000_001u64..1_000_000_000_101).map(|n| n.to_string()).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        assert_eq!(on("ref_code", "bigint", &ids), None);
        assert_eq!(on("ref_code", "text", &ids), None);
        for window in ids.windows(10) {
            assert_eq!(on("x", "text", window), None);
        }
        let stamps: Vec<String> = (0..50u64).map(|k| (1_700_000_000_000 + k * 1_013).to_string()).collect();
        let stamps: Vec<&str> = stamps.iter().map(String::as_str).collect();
        assert_eq!(on("created_ms", "bigint", &stamps), None);
        // Zero-padded numbers pass Luhn trivially but are not cards.
        assert_eq!(on("x", "text", &["0000000000000", "0000000000000000", "00000000000000"]), None);
        // A card-number column whose samples are not cards keeps its name.
        assert_eq!(on("card_number", "text", &ids[..5]).map(|s| s.evidence), Some(Evidence::ColumnName));
    }

    #[test]
    fn luhn() {
        assert!(luhn_valid("4111111111111111"));
        assert!(luhn_valid("4111 1111-1111 1111"));
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("79927398710"));
        assert!(!luhn_valid("4111111111111112"));
        assert!(!luhn_valid("4111x111111111111"));
        assert!(!luhn_valid("+4111111111111111"));
        assert!(!luhn_valid(""));
        assert!(!luhn_valid("0"));
        assert!(!luhn_valid(" - "));
        assert!(!luhn_valid("４１１１１１１１１１１１１１１１"));
    }

    const BIRTHS: [&str; 10] = [
        "1985-03-14",
        "1990-11-02",
        "1972-07-30",
        "2001-01-09",
        "1964-12-25",
        "1999-05-05",
        "1988-08-18",
        "1979-02-28",
        "1955-06-01",
        "2003-10-10",
    ];

    #[test]
    fn birth_dates_with_a_name_hint() {
        let s = on("dob", "date", &BIRTHS[..3]);
        assert_eq!(s.map(|s| (s.category, s.evidence)), Some((DATE_OF_BIRTH, Evidence::NameAndValues)));
        let stamps = ["1985-03-14 00:00:00+00", "1990-11-02T00:00:00Z", "1972-07-30 00:00:00.000"];
        assert_eq!(
            on("birthday", "timestamp with time zone", &stamps).map(|s| s.evidence),
            Some(Evidence::NameAndValues)
        );
        // Too recent (younger than 13), before 1900, all the same day, or not midnight: the name alone.
        for samples in [
            ["2015-01-01", "1990-01-01", "1980-01-01"],
            ["1899-12-31", "1990-01-01", "1980-01-01"],
            ["1990-01-01", "1990-01-01", "1990-01-01"],
            ["1990-01-01 10:15:00", "1980-01-01 08:00:00", "1970-01-01 12:00:00"],
        ] {
            assert_eq!(
                on("date_of_birth", "text", &samples).map(|s| s.evidence),
                Some(Evidence::ColumnName),
                "{samples:?}"
            );
        }
    }

    #[test]
    fn birth_dates_from_values_alone_need_ten_samples() {
        assert_eq!(on("d", "date", &BIRTHS[..9]), None);
        let s = on("d", "date", &BIRTHS);
        assert_eq!(s.map(|s| (s.category, s.evidence)), Some((DATE_OF_BIRTH, Evidence::SampledValues)));
        assert_eq!(on("d", "text", &BIRTHS).map(|s| s.category), Some(DATE_OF_BIRTH));
        assert_eq!(on("d", "integer", &BIRTHS), None);
        // The cut-off is 13 years before today.
        let mut recent = BIRTHS;
        recent[0] = "2012-06-16";
        assert_eq!(on("d", "date", &recent), None);
        recent[0] = "2012-06-15";
        assert!(on("d", "date", &recent).is_some());
    }

    #[test]
    fn years_before_handles_leap_days() {
        assert_eq!(years_before(date!(2024 - 02 - 29), 13), Some(date!(2011 - 02 - 28)));
        assert_eq!(years_before(date!(2025 - 06 - 15), 13), Some(date!(2012 - 06 - 15)));
    }

    #[test]
    fn disagreement() {
        let emails = ["a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com"];
        // Values reaching 80% win over the name.
        let s = on("notes", "text", &emails);
        assert_eq!(s.map(|s| (s.category, s.evidence)), Some((EMAIL, Evidence::SampledValues)));
        let s = on("phone", "text", &emails);
        assert_eq!(
            s.map(|s| (s.category, s.identity, s.evidence)),
            Some((EMAIL, Some(IdentityKind::Email), Evidence::SampledValues))
        );
        // Below the threshold, the name wins.
        let mixed = ["a@example.com", "b@example.com", "call me", "later", "+44 20 7946 0958"];
        let s = on("phone", "text", &mixed);
        assert_eq!(s.map(|s| (s.category, s.evidence)), Some((PHONE, Evidence::ColumnName)));
        // Four out of five is enough.
        let s = on("notes", "text", &["a@example.com", "b@example.com", "c@example.com", "d@example.com", "n/a"]);
        assert_eq!(s.map(|s| s.category), Some(EMAIL));
        // Fewer than three non-empty samples: the name alone.
        let s = on("email", "text", &["a@example.com", "", "  ", "b@example.com"]);
        assert_eq!(s.map(|s| s.evidence), Some(Evidence::ColumnName));
        // Fax numbers look like phone numbers: that agrees with a fax name.
        let s = on("fax", "text", &["+44 20 7946 0958", "+44 20 7946 0959", "+44 20 7946 0950"]);
        assert_eq!(s.map(|s| (s.category, s.identity, s.evidence)), Some((FAX, None, Evidence::NameAndValues)));
        // Types limit what values can be.
        assert_eq!(on("notes", "boolean", &["true", "false", "true"]), None);
        assert_eq!(on("notes", "bytea", &emails), None);
    }

    proptest! {
        #[test]
        fn never_panics(column in ".*", sql_type in ".*", samples in proptest::collection::vec(".*", 0..12)) {
            let samples: Vec<&str> = samples.iter().map(String::as_str).collect();
            if let Some(s) = suggest(&column, &sql_type, &samples) {
                prop_assert!(crate::datamap::taxonomy::is_known(s.category));
            }
            let _ = luhn_valid(&column);
        }

        #[test]
        fn never_panics_on_near_misses(
            column in "[A-Za-z_]{0,20}",
            samples in proptest::collection::vec("[0-9 +().:TZ@a-z-]{0,24}", 0..15),
        ) {
            let samples: Vec<&str> = samples.iter().map(String::as_str).collect();
            let _ = suggest(&column, "text", &samples);
            let _ = suggest(&column, "date", &samples);
        }
    }
}
