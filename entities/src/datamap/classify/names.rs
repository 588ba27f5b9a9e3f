//! Suggestions from a column's name (the rules are listed in [`super`]).

use super::{CREDIT_CARD, DATE_OF_BIRTH, EMAIL, FAX, Guess, IP_ADDRESS, PHONE, guess, identifying};
use crate::domain::enums::IdentityKind;

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

/// Words the rules look for, besides the lists above. A run-together name (`billingpostalcode`)
/// is split into known words before matching.
const RULE_WORDS: &[&str] = &[
    "email",
    "emails",
    "mail",
    "phone",
    "phones",
    "telephone",
    "tel",
    "msisdn",
    "mobile",
    "cell",
    "fax",
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "passcode",
    "username",
    "dob",
    "birthday",
    "birth",
    "date",
    "day",
    "gender",
    "sex",
    "ip",
    "ipv4",
    "ipv6",
    "remote",
    "agent",
    "credit",
    "cc",
    "num",
    "iban",
    "account",
    "bank",
    "ref",
    "reference",
    "surname",
    "forename",
    "street",
    "house",
    "zip",
    "postcode",
    "plz",
    "city",
    "town",
    "province",
    "county",
    "country",
    "post",
    "state",
    "national",
    "social",
    "security",
    "tax",
    "drivers",
    "driver",
    "license",
    "licence",
    "ssn",
    "passport",
    "nino",
    "identification",
    "insurance",
];

/// Whether the rules know `word`.
fn known(word: &str) -> bool {
    [METADATA, REFERENCE, HASHED, PERSON_ROLES, NAME_QUALIFIERS, ADDRESS_QUALIFIERS, RULE_WORDS]
        .iter()
        .any(|list| list.contains(&word))
}

/// `word` as a run of known words (two or more, each of two letters or more), in the fewest
/// pieces; `None` when it is a known word itself (`username` stays one) or nothing covers it
/// (`company` is not `com` + `pan` + `y`).
fn run_together(word: &str) -> Option<Vec<String>> {
    if known(word) || word.len() < 4 || !word.is_ascii() {
        return None;
    }
    let n = word.len();
    // fewest[end]: the fewest known words covering word[..end], and where the last one starts.
    let mut fewest: Vec<Option<(usize, usize)>> = vec![None; n + 1];
    fewest[0] = Some((0, 0));
    for end in 2..=n {
        for start in 0..=end - 2 {
            let Some((pieces, _)) = fewest[start] else { continue };
            if known(&word[start..end]) && fewest[end].is_none_or(|(best, _)| pieces + 1 < best) {
                fewest[end] = Some((pieces + 1, start));
            }
        }
    }
    let (pieces, _) = fewest[n]?;
    if pieces < 2 {
        return None;
    }
    let mut parts = Vec::with_capacity(pieces);
    let mut end = n;
    while end > 0 {
        let (_, start) = fewest[end]?;
        parts.push(word[start..end].to_owned());
        end = start;
    }
    parts.reverse();
    Some(parts)
}

/// The lower-case words of a column name (see the module documentation).
pub(crate) fn words(column: &str) -> Vec<String> {
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
        match run_together(&word) {
            Some(parts) => out.extend(parts),
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
pub(super) fn from_name(column: &str) -> Option<Guess> {
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
