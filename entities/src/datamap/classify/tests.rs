//! Tests of [`super`] (classify).

use proptest::prelude::*;
use time::macros::date;

use super::names::words;
use super::values::{is_email, years_before};
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
fn run_together_names_are_split_into_known_words() {
    assert_eq!(words("billingaddress"), ["billing", "address"]);
    assert_eq!(words("BillingPostalCode"), ["billing", "postal", "code"]);
    assert_eq!(words("billingpostalcode"), ["billing", "postal", "code"]);
    assert_eq!(words("dateofbirth"), ["date", "of", "birth"]);
    assert_eq!(words("customerid"), ["customer", "id"]);
    // A known word stays whole; a word no run of known words covers stays as it is.
    for whole in ["username", "address", "company", "companyname", "title", "statement", "hiredate", "notes"] {
        assert_eq!(words(whole), [whole], "{whole}");
    }
    let cases = [
        ("billingaddress", Some("user.contact.address")),
        ("billingcity", Some("user.contact.address.city")),
        ("billingstate", Some("user.contact.address.state")),
        ("billingcountry", Some("user.contact.address.country")),
        ("billingpostalcode", Some("user.contact.address.postal_code")),
        ("customername", Some("user.name")),
        ("lastname", Some("user.name.last")),
        ("username", Some("user.account.username")),
        ("invoicedate", None),
        ("customerid", None),
        ("emailverified", None),
        ("companyname", None),
        ("title", None),
    ];
    for (column, category) in cases {
        assert_eq!(by_name(column).map(|(c, _)| c), category, "{column}");
    }
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
        Some(Suggestion { category: EMAIL, identity: Some(IdentityKind::Email), evidence: Evidence::NameAndValues })
    );
    assert_eq!(
        on("col7", "text", &samples),
        Some(Suggestion { category: EMAIL, identity: Some(IdentityKind::Email), evidence: Evidence::SampledValues })
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
    assert_eq!(on("birthday", "timestamp with time zone", &stamps).map(|s| s.evidence), Some(Evidence::NameAndValues));
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
fn birth_dates_are_never_taken_from_values_alone() {
    // An invoice's or a hire date looks like a birth date: only the name can say it is one.
    for name in ["d", "invoice_date", "InvoiceDate", "hire_date", "created"] {
        assert_eq!(on(name, "date", &BIRTHS), None, "{name}");
        assert_eq!(on(name, "text", &BIRTHS), None, "{name}");
    }
    let s = on("dob", "date", &BIRTHS);
    assert_eq!(s.map(|s| (s.category, s.evidence)), Some((DATE_OF_BIRTH, Evidence::NameAndValues)));
    assert_eq!(on("dob", "integer", &BIRTHS).map(|s| s.evidence), Some(Evidence::ColumnName));
    // The cut-off is 13 years before today.
    let mut recent = BIRTHS;
    recent[0] = "2012-06-16";
    assert_eq!(on("dob", "date", &recent).map(|s| s.evidence), Some(Evidence::ColumnName));
    recent[0] = "2012-06-15";
    assert_eq!(on("dob", "date", &recent).map(|s| s.evidence), Some(Evidence::NameAndValues));
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
