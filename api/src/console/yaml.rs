//! Writing a data map as block YAML for the editor (the map is stored as JSON; the editor shows
//! it the way data maps are written by hand). Strings that could read as another YAML type, or
//! hold anything but plain characters, are double-quoted with JSON escapes (valid YAML).

use std::fmt::Write;

use serde_json::Value;

/// `value` as a YAML document.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => object(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => array(&mut out, items, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn object(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    for (i, (key, value)) in map.iter().enumerate() {
        // The first key of a list item continues the `- ` line.
        if i > 0 || indent == 0 || !out.ends_with("- ") {
            pad(out, indent);
        }
        let _ = write!(out, "{}:", string(key));
        nested(out, value, indent + 2);
    }
}

fn array(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        pad(out, indent);
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => object(out, map, indent + 2),
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                array(out, inner, indent + 2);
            }
            other => {
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

/// After `key:`: a scalar on the same line, a collection on the next lines.
fn nested(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            object(out, map, indent);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            array(out, items, indent);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
    }
}

/// A string plain when it cannot be read as anything else, otherwise double-quoted.
fn string(s: &str) -> String {
    const WORDS: [&str; 11] = ["null", "true", "false", "yes", "no", "on", "off", "y", "n", "~", ""];
    let plain = s.chars().all(|c| c.is_ascii_alphanumeric() || "_.-/@".contains(c))
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && !WORDS.contains(&s.to_ascii_lowercase().as_str());
    if plain { s.to_owned() } else { Value::String(s.to_owned()).to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lethe_entities::datamap::parse;
    use serde_json::json;

    #[test]
    fn maps_round_trip_through_the_parser() {
        let map = json!({
            "version": 1,
            "tables": [{
                "name": "customers",
                "primary_key": ["id"],
                "purpose": "Orders: \"kept\" 10 years\nsecond line",
                "columns": [
                    {"name": "email", "category": "user.contact.email", "identity": "email"},
                    {"name": "yes", "action": "redact", "redact_with": "[redacted]"}
                ],
                "erasure": {"action": "keep", "basis": "Tax law", "period": "P10Y"}
            }]
        });
        let text = to_yaml(&map);
        assert!(text.contains("tables:\n  - ") && text.contains("\n    primary_key:\n      - id\n"), "{text}");
        assert!(text.contains("name: \"yes\""), "YAML words are quoted: {text}");
        let (parsed, _) = parse::from_yaml(&text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        assert_eq!(serde_json::to_value(parsed).unwrap(), map);
    }

    #[test]
    fn scalars_that_look_like_other_types_are_quoted() {
        assert_eq!(string("123"), "\"123\"");
        assert_eq!(string("True"), "\"True\"");
        assert_eq!(string("a: b"), "\"a: b\"");
        assert_eq!(string("user.contact.email"), "user.contact.email");
        assert_eq!(to_yaml(&json!({})), "{}\n");
    }
}
