//! Looking for secrets and identities in log lines, in the forms they travel in: as written,
//! in any letter case, URL-encoded (`%40` for `@`, `%20` or `+` for a space, ...).

use std::collections::BTreeMap;

/// Something that must not be logged: what it is and the forms to look for.
#[derive(Debug, Clone)]
pub struct Needle {
    /// What it is (`"shop password"`), for the report.
    pub what: String,
    forms: Vec<String>,
    standalone: bool,
}

impl Needle {
    /// A secret or an identity: found anywhere in a line, in any letter case, as written or
    /// URL-encoded.
    pub fn new(what: &str, value: &str) -> Needle {
        assert!(value.len() >= 6, "{what}: too short to look for without false alarms");
        let mut forms = vec![value.to_lowercase()];
        for encoded in [url_encoded(value, "%20"), url_encoded(value, "+")] {
            if !forms.contains(&encoded.to_lowercase()) {
                forms.push(encoded.to_lowercase());
            }
        }
        Needle { what: what.to_owned(), forms, standalone: false }
    }

    /// A short number (a verification code): found only on its own, not inside a longer run
    /// of letters and digits (a timestamp's fraction, a UUID).
    pub fn number(what: &str, value: &str) -> Needle {
        Needle { what: what.to_owned(), forms: vec![value.to_owned()], standalone: true }
    }

    fn in_line(&self, lower: &str) -> bool {
        self.forms.iter().any(|form| {
            lower.match_indices(form.as_str()).any(|(at, _)| {
                !self.standalone || {
                    let before = lower[..at].chars().next_back();
                    let after = lower[at + form.len()..].chars().next();
                    !before.is_some_and(|c| c.is_ascii_alphanumeric())
                        && !after.is_some_and(|c| c.is_ascii_alphanumeric())
                }
            })
        })
    }
}

/// `value` percent-encoded as in a URL's query, with `space` for a space.
fn url_encoded(value: &str, space: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b' ' => space.to_owned(),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The lines that contain a needle, per needle (`what`), in the order logged.
pub fn find(lines: &[String], needles: &[Needle]) -> BTreeMap<String, Vec<String>> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in lines {
        let lower = line.to_lowercase();
        for needle in needles.iter().filter(|n| n.in_line(&lower)) {
            found.entry(needle.what.clone()).or_default().push(line.clone());
        }
    }
    found
}

/// The crate a log line comes from (the text format's target, after the level and the spans),
/// for a summary of where leaks come from; `?` when the line is not a log line's start.
pub fn source(line: &str) -> String {
    let mut depth = 0i32;
    let mut tokens = line.split_whitespace().skip_while(|t| !["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(t));
    tokens.next();
    for token in tokens {
        let outside = depth == 0;
        depth += token.matches('{').count() as i32 - token.matches('}').count() as i32;
        let path = token
            .strip_suffix(':')
            .filter(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'));
        if let (true, Some(path)) = (outside && depth == 0, path) {
            return path.split("::").next().unwrap_or(path).to_owned();
        }
    }
    "?".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_standalone_numbers() {
        let lines: Vec<String> = [
            "connect url=postgres://u:S3cret-Pass@h/db",
            "body to=ann.lee%40example.com",
            "at 2026-01-01T10:00:00.123456Z code=123456",
            "id=01234567-1234-5678-9abc-123456def000",
        ]
        .map(String::from)
        .to_vec();
        let found = find(
            &lines,
            &[
                Needle::new("password", "s3cret-pass"),
                Needle::new("email", "Ann.Lee@example.com"),
                Needle::number("code", "123456"),
                Needle::new("absent", "nothing-like-this"),
            ],
        );
        assert_eq!(found["password"], [lines[0].clone()]);
        assert_eq!(found["email"], [lines[1].clone()]);
        assert_eq!(found["code"], [lines[2].clone()], "only on its own");
        assert!(!found.contains_key("absent"));
    }

    #[test]
    fn the_source_is_the_target_after_the_spans() {
        let line = "2026-01-01T10:00:00Z TRACE connect{options=Options { url: \"x\" }}: sqlx::pool::inner: opened";
        assert_eq!(source(line), "sqlx");
        assert_eq!(source("2026-01-01T10:00:00Z  INFO lethe_api::services: done"), "lethe_api");
        assert_eq!(source("a continued line"), "?");
    }
}
