//! Structural validation of a data map: everything that can be checked without the live store.
//! (Tables and columns against the live schema are checked by the worker's store connectors.)

use std::collections::HashSet;

use super::model::{ColumnAction, ColumnMap, DataMap, Direction, FORMAT_VERSION, KeySource, RowErasure};
use super::notice::{self, AutomatedDecision, LANGUAGES, MAX_TEXT, Text};
use super::parse::MapError;
use super::taxonomy;
use crate::domain::enums::StoreKind;

/// What the validator needs to know about the store and its organization.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The kind of the store the map is for.
    pub kind: StoreKind,
    /// The names of the organization's other stores (targets of cross-store references).
    pub other_stores: &'a [String],
}

const MAX_NAME: usize = 128;

/// Every structural problem of `map`, in document order (empty when valid).
pub fn validate(map: &DataMap, cx: Context<'_>) -> Vec<MapError> {
    let mut errors = Vec::new();
    if map.version != FORMAT_VERSION {
        errors.push(MapError::at("version", format!("unsupported version; the current format is {FORMAT_VERSION}")));
    }
    if !cx.kind.has_data_map() {
        errors.push(MapError::at("", format!("{} stores have no data map", cx.kind.as_str())));
        return errors;
    }
    if cx.kind.is_sql() && !map.keys.is_empty() {
        errors.push(MapError::at("keys", "key patterns are for Redis stores; SQL stores list `tables`"));
    }
    if cx.kind == StoreKind::Redis && !map.tables.is_empty() {
        errors.push(MapError::at("tables", "Redis stores list key patterns under `keys`, not tables"));
    }
    tables(map, cx, &mut errors);
    keys(map, cx, &mut errors);
    recipients(map, &mut errors);
    errors
}

fn tables(map: &DataMap, cx: Context<'_>, errors: &mut Vec<MapError>) {
    let mut seen = HashSet::new();
    for (t, table) in map.tables.iter().enumerate() {
        let at = |field: &str| format!("tables[{t}]{field}");
        name(&table.name, &at(".name"), errors);
        if !seen.insert(table.name.as_str()) {
            errors.push(MapError::at(at(".name"), format!("table `{}` is mapped twice", table.name)));
        }
        if table.primary_key.is_empty() {
            errors.push(MapError::at(at(".primary_key"), "name at least one primary-key column"));
        }
        let mut pk = HashSet::new();
        for (i, column) in table.primary_key.iter().enumerate() {
            name(column, &at(&format!(".primary_key[{i}]")), errors);
            if !pk.insert(column) {
                errors.push(MapError::at(at(&format!(".primary_key[{i}]")), format!("`{column}` is listed twice")));
            }
        }
        columns(&table.columns, &at(".columns"), errors);
        erasure(&table.erasure, &table.columns, &at(".erasure"), errors);
        texts(&table.label, &table.purpose, &table.origin, &table.automated_decision, &at(""), errors);
        for (r, reference) in table.references.iter().enumerate() {
            let here = at(&format!(".references[{r}]"));
            name(&reference.column, &format!("{here}.column"), errors);
            name(&reference.target.table, &format!("{here}.target.table"), errors);
            name(&reference.target.column, &format!("{here}.target.column"), errors);
            match &reference.target.store {
                Some(store) if !cx.other_stores.contains(store) => errors.push(MapError::at(
                    format!("{here}.target.store"),
                    format!("no store named `{store}` in this organization; known: {}", list(cx.other_stores)),
                )),
                Some(_) => {}
                None => {
                    if map.table(&reference.target.table).is_none() {
                        errors.push(MapError::at(
                            format!("{here}.target.table"),
                            format!(
                                "table `{}` is not in this data map; map it (it may hold only keys) or name its `store`",
                                reference.target.table
                            ),
                        ));
                    }
                }
            }
            if reference.direction != Direction::None
                && reference.target.store.is_none()
                && reference.target.table == table.name
                && reference.target.column == reference.column
            {
                errors.push(MapError::at(here, "a column cannot reference itself"));
            }
        }
    }
}

fn keys(map: &DataMap, cx: Context<'_>, errors: &mut Vec<MapError>) {
    let mut seen = HashSet::new();
    for (k, key) in map.keys.iter().enumerate() {
        let at = |field: &str| format!("keys[{k}]{field}");
        if key.placeholder().is_none() {
            errors.push(MapError::at(at(".pattern"), "a key pattern needs exactly one `{placeholder}`"));
        } else if key.pattern.contains(['*', '?', '[', ']']) {
            errors.push(MapError::at(at(".pattern"), "glob characters (`*?[]`) are not allowed in a key pattern"));
        }
        if !seen.insert(key.pattern.as_str()) {
            errors.push(MapError::at(at(".pattern"), "this pattern is mapped twice"));
        }
        if let KeySource::Column(target) = &key.source {
            match &target.store {
                None => errors.push(MapError::at(
                    at(".source.column.store"),
                    "a key's values come from another store's column: name the store",
                )),
                Some(store) if !cx.other_stores.contains(store) => errors.push(MapError::at(
                    at(".source.column.store"),
                    format!("no store named `{store}` in this organization; known: {}", list(cx.other_stores)),
                )),
                Some(_) => {}
            }
        }
        category(key.category.as_deref(), &at(".category"), errors);
        columns(&key.fields, &at(".fields"), errors);
        erasure(&key.erasure, &key.fields, &at(".erasure"), errors);
        texts(&key.label, &key.purpose, &key.origin, &key.automated_decision, &at(""), errors);
    }
}

const MAX_CONTACT: usize = 256;
const MAX_INSTRUCTIONS: usize = 2000;

fn recipients(map: &DataMap, errors: &mut Vec<MapError>) {
    let mapped: Vec<&str> =
        map.tables.iter().map(|t| t.name.as_str()).chain(map.keys.iter().map(|k| k.pattern.as_str())).collect();
    let mut seen = HashSet::new();
    for (r, recipient) in map.recipients.iter().enumerate() {
        let at = |field: &str| format!("recipients[{r}]{field}");
        name(&recipient.name, &at(".name"), errors);
        if !seen.insert(recipient.name.trim().to_lowercase()) {
            errors.push(MapError::at(at(".name"), format!("recipient `{}` is named twice", recipient.name)));
        }
        if let Some(contact) = &recipient.contact
            && (contact.trim().is_empty()
                || contact.chars().count() > MAX_CONTACT
                || contact.chars().any(char::is_control))
        {
            errors.push(MapError::at(
                at(".contact"),
                format!("a URL or role mailbox of at most {MAX_CONTACT} printable characters (or leave it out)"),
            ));
        }
        if recipient.instructions.trim().is_empty() {
            errors.push(MapError::at(at(".instructions"), "say what the operator must do to notify this recipient"));
        } else if recipient.instructions.chars().count() > MAX_INSTRUCTIONS {
            errors.push(MapError::at(at(".instructions"), format!("at most {MAX_INSTRUCTIONS} characters")));
        }
        match (&recipient.country, recipient.safeguard) {
            (Some(country), _) if !notice::is_country_code(country) => {
                errors.push(MapError::at(at(".country"), "an ISO 3166-1 alpha-2 code in capitals, e.g. `US`"));
            }
            (Some(country), None) if notice::is_third_country(country) => errors.push(MapError::at(
                at(".safeguard"),
                format!(
                    "`{country}` is outside the EEA: name the transfer's safeguard (adequacy_decision, \
                     standard_contractual_clauses, binding_corporate_rules, code_of_conduct, certification or derogation)"
                ),
            )),
            (None, Some(_)) => {
                errors.push(MapError::at(at(".country"), "a safeguard is for a transfer: name the recipient's country"));
            }
            _ => {}
        }
        let mut listed = HashSet::new();
        for (i, table) in recipient.tables.iter().enumerate() {
            let here = at(&format!(".tables[{i}]"));
            if !mapped.contains(&table.as_str()) {
                errors.push(MapError::at(
                    here,
                    format!("`{table}` is not a table or key pattern of this data map; mapped: {}", list_str(&mapped)),
                ));
            } else if !listed.insert(table.as_str()) {
                errors.push(MapError::at(here, format!("`{table}` is listed twice")));
            }
        }
    }
}

fn columns(columns: &[ColumnMap], at: &str, errors: &mut Vec<MapError>) {
    let mut seen = HashSet::new();
    for (c, column) in columns.iter().enumerate() {
        let here = format!("{at}[{c}]");
        name(&column.name, &format!("{here}.name"), errors);
        if !seen.insert(column.name.as_str()) {
            errors.push(MapError::at(format!("{here}.name"), format!("column `{}` is listed twice", column.name)));
        }
        category(column.category.as_deref(), &format!("{here}.category"), errors);
        if let Some(label) = &column.label {
            text(label, &format!("{here}.label"), errors);
        }
        if column.matching.is_some() && column.identity.is_none() {
            errors.push(MapError::at(format!("{here}.match"), "`match` applies to identity columns only"));
        }
        if column.redact_with.is_some() && column.action != Some(ColumnAction::Redact) {
            errors.push(MapError::at(format!("{here}.redact_with"), "`redact_with` needs `action: redact`"));
        }
        if column.redact_with.as_ref().is_some_and(|r| r.chars().count() > 256) {
            errors.push(MapError::at(format!("{here}.redact_with"), "at most 256 characters"));
        }
    }
}

fn erasure(erasure: &RowErasure, columns: &[ColumnMap], at: &str, errors: &mut Vec<MapError>) {
    match erasure {
        RowErasure::DeleteRow => {}
        RowErasure::Update => {
            if !columns.iter().any(|c| c.action.is_some_and(|a| a != ColumnAction::Keep)) {
                errors.push(MapError::at(
                    at,
                    "`update` changes nothing: give at least one column an action (null, redact or hash)",
                ));
            }
        }
        RowErasure::Keep { basis, period } => {
            if basis.trim().is_empty() {
                errors.push(MapError::at(format!("{at}.basis"), "state the legal basis for keeping these rows"));
            }
            if !is_iso8601_duration(period) {
                errors
                    .push(MapError::at(format!("{at}.period"), "an ISO 8601 duration such as `P10Y`, `P6M` or `P30D`"));
            }
        }
    }
}

/// The texts a table or key pattern shows the person.
fn texts(
    label: &Option<Text>,
    purpose: &Option<Text>,
    origin: &Option<Text>,
    decision: &Option<AutomatedDecision>,
    at: &str,
    errors: &mut Vec<MapError>,
) {
    for (field, value) in [("label", label), ("purpose", purpose), ("origin", origin)] {
        if let Some(value) = value {
            text(value, &format!("{at}.{field}"), errors);
        }
    }
    if let Some(decision) = decision {
        text(&decision.logic, &format!("{at}.automated_decision.logic"), errors);
        text(&decision.consequences, &format!("{at}.automated_decision.consequences"), errors);
    }
}

/// A text for the person: not empty, at most [`MAX_TEXT`] characters, no control characters
/// but line breaks, and only languages Lethe speaks.
fn text(value: &Text, at: &str, errors: &mut Vec<MapError>) {
    if let Text::PerLanguage(texts) = value
        && texts.is_empty()
    {
        errors.push(MapError::at(at, "give a text, or a text per language (en, de, sv)"));
    }
    for (language, text) in value.entries() {
        let here = language.map_or_else(|| at.to_owned(), |l| format!("{at}.{l}"));
        if let Some(language) = language
            && !LANGUAGES.contains(&language)
        {
            errors.push(MapError::at(here, format!("`{language}` is not a language Lethe speaks (en, de, sv)")));
        } else if text.trim().is_empty() {
            errors.push(MapError::at(here, "must not be empty"));
        } else if text.chars().count() > MAX_TEXT || text.chars().any(|c| c.is_control() && c != '\n') {
            errors.push(MapError::at(here, format!("at most {MAX_TEXT} printable characters")));
        }
    }
}

fn category(category: Option<&str>, at: &str, errors: &mut Vec<MapError>) {
    if let Some(category) = category
        && !taxonomy::is_known(category)
    {
        errors.push(MapError::at(
            at,
            format!("unknown data category `{category}`; see the taxonomy (e.g. `user.contact.email`)"),
        ));
    }
}

fn name(value: &str, at: &str, errors: &mut Vec<MapError>) {
    if value.trim().is_empty() {
        errors.push(MapError::at(at, "must not be empty"));
    } else if value.chars().count() > MAX_NAME || value.chars().any(char::is_control) {
        errors.push(MapError::at(at, format!("a name of at most {MAX_NAME} printable characters")));
    }
}

fn list(names: &[String]) -> String {
    list_str(&names.iter().map(String::as_str).collect::<Vec<_>>())
}

fn list_str(names: &[&str]) -> String {
    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
}

/// `from` plus an ISO 8601 duration (years and months by the calendar, clamped to the month's
/// last day; weeks, days, hours, minutes and seconds exactly); `None` when `period` is not one.
pub fn add_duration(from: time::OffsetDateTime, period: &str) -> Option<time::OffsetDateTime> {
    shift(from, period, 1)
}

/// `from` minus an ISO 8601 duration, by the same rules as [`add_duration`] (the cutoff of a
/// retention policy: rows dated before `now - max_age` are past their age).
pub fn subtract_duration(from: time::OffsetDateTime, period: &str) -> Option<time::OffsetDateTime> {
    shift(from, period, -1)
}

fn shift(from: time::OffsetDateTime, period: &str, sign: i64) -> Option<time::OffsetDateTime> {
    if !is_iso8601_duration(period) {
        return None;
    }
    let rest = period.strip_prefix('P')?;
    let (date, clock) = rest.split_once('T').map_or((rest, ""), |(d, t)| (d, t));
    let mut at = from;
    let mut number = String::new();
    for c in date.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: i64 = number.parse::<i64>().ok()? * sign;
        number.clear();
        at = match c {
            'Y' => add_months(at, n.checked_mul(12)?)?,
            'M' => add_months(at, n)?,
            'W' => at.checked_add(time::Duration::weeks(n))?,
            'D' => at.checked_add(time::Duration::days(n))?,
            _ => return None,
        };
    }
    for c in clock.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: i64 = number.parse::<i64>().ok()? * sign;
        number.clear();
        at = at.checked_add(match c {
            'H' => time::Duration::hours(n),
            'M' => time::Duration::minutes(n),
            'S' => time::Duration::seconds(n),
            _ => return None,
        })?;
    }
    Some(at)
}

fn add_months(at: time::OffsetDateTime, months: i64) -> Option<time::OffsetDateTime> {
    let total = i64::from(at.year()) * 12 + i64::from(u8::from(at.month())) - 1 + months;
    let year = i32::try_from(total.div_euclid(12)).ok()?;
    let month = time::Month::try_from(u8::try_from(total.rem_euclid(12) + 1).ok()?).ok()?;
    let day = at.day().min(month.length(year));
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    Some(at.replace_date(date))
}

/// Whether `value` is an ISO 8601 duration with at least one non-zero part, e.g. `P10Y`,
/// `P1Y6M`, `P30D`, `PT12H`, `P2W`.
pub fn is_iso8601_duration(value: &str) -> bool {
    let Some(rest) = value.strip_prefix('P') else { return false };
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return false,
        None => (rest, None),
    };
    let parts = |s: &str, units: &str| -> Option<u64> {
        let mut total = 0u64;
        let mut number = String::new();
        let mut last = 0;
        for c in s.chars() {
            if c.is_ascii_digit() {
                number.push(c);
            } else {
                let position = units.find(c)? + 1;
                if number.is_empty() || position <= last {
                    return None;
                }
                last = position;
                total = total.saturating_add(number.parse::<u64>().ok()?);
                number.clear();
            }
        }
        number.is_empty().then_some(total)
    };
    let Some(date_total) = parts(date, "YMWD") else { return false };
    let time_total = match time {
        Some(t) => match parts(t, "HMS") {
            Some(total) => total,
            None => return false,
        },
        None => 0,
    };
    !(date.is_empty() && time.is_none()) && date_total + time_total > 0
}

#[cfg(test)]
mod tests;
