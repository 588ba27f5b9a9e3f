//! Reading a data map from YAML or JSON, with errors that point at the line and field.

use marked_yaml::{LoaderOptions, Node};
use serde::Serialize;
use utoipa::ToSchema;

use super::model::DataMap;

/// One problem in a data map: where (field path, and line/column for YAML) and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MapError {
    /// The field, e.g. `tables[2].columns[0].action` (empty for the document itself).
    pub path: String,
    /// 1-based line in the YAML text, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column in the YAML text, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// What is wrong. Names tables and columns, never data values.
    pub message: String,
}

impl MapError {
    /// An error at `path` without a position (positions are added by [`locate_errors`]).
    pub fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), line: None, column: None, message: message.into() }
    }
}

impl std::fmt::Display for MapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Parses YAML text (JSON is YAML too) into a data map. Syntax and type errors carry their line.
pub fn from_yaml(text: &str) -> Result<(DataMap, Node), Vec<MapError>> {
    let options = LoaderOptions::default().error_on_duplicate_keys(true);
    let node = marked_yaml::parse_yaml_with_options(0, text, options).map_err(|e| vec![load_error(&e)])?;
    let map = marked_yaml::from_node::<DataMap>(&node).map_err(|e| {
        let mark = e.start_mark();
        vec![MapError {
            path: e.path().unwrap_or_default().to_owned(),
            line: mark.map(|m| m.line()),
            column: mark.map(|m| m.column()),
            message: scrub(&e.to_string()),
        }]
    })?;
    Ok((map, node))
}

/// Reads a data map from a JSON value (the API's form). Errors carry the field path.
pub fn from_json(value: serde_json::Value) -> Result<DataMap, Vec<MapError>> {
    let text = value.to_string();
    let mut de = serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize::<_, DataMap>(&mut de).map_err(|e| {
        let path = e.path().to_string();
        vec![MapError::at(if path == "." { String::new() } else { path }, scrub(&e.inner().to_string()))]
    })
}

/// Adds YAML line and column numbers to errors found on the parsed map, by following each
/// error's path through the YAML node tree.
pub fn locate_errors(node: &Node, errors: &mut [MapError]) {
    for error in errors.iter_mut().filter(|e| e.line.is_none()) {
        if let Some(mark) = find(node, &error.path).and_then(|n| n.span().start().copied()) {
            error.line = Some(mark.line());
            error.column = Some(mark.column());
        }
    }
}

/// The deepest node on `path` (`a.b[2].c`).
fn find<'n>(root: &'n Node, path: &str) -> Option<&'n Node> {
    let mut node = root;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            match node.as_mapping().and_then(|m| m.get_node(key)) {
                Some(next) => node = next,
                None => return Some(node),
            }
        }
        for index in indexes.split('[').filter_map(|s| s.strip_suffix(']')) {
            let next = index.parse::<usize>().ok().and_then(|i| node.as_sequence()?.get_node(i));
            match next {
                Some(next) => node = next,
                None => return Some(node),
            }
        }
    }
    Some(node)
}

fn load_error(e: &marked_yaml::LoadError) -> MapError {
    use marked_yaml::LoadError::*;
    let mark = match e {
        TopLevelMustBeMapping(m)
        | TopLevelMustBeSequence(m)
        | UnexpectedAnchor(m)
        | MappingKeyMustBeScalar(m)
        | UnexpectedTag(m)
        | ScanError(m, _) => Some(*m),
        DuplicateKey(_) => None,
    };
    let message = match e {
        TopLevelMustBeMapping(_) | TopLevelMustBeSequence(_) => "the document must be a mapping".to_owned(),
        UnexpectedAnchor(_) => "YAML anchors and aliases are not supported".to_owned(),
        MappingKeyMustBeScalar(_) => "mapping keys must be plain strings".to_owned(),
        UnexpectedTag(_) => "YAML tags are not supported".to_owned(),
        ScanError(_, s) => format!("invalid YAML: {}", s.info()),
        DuplicateKey(_) => scrub(&e.to_string()),
    };
    MapError { path: String::new(), line: mark.map(|m| m.line()), column: mark.map(|m| m.column()), message }
}

/// Error texts from the parsers can quote scalar values; data maps hold names, not personal
/// data, but a pasted value must still never be echoed: keep only what is outside quotes.
fn scrub(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        match c {
            '"' | '`' => {
                if !quoted {
                    out.push_str("`…`");
                }
                quoted = !quoted;
            }
            _ if !quoted => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_type_errors_point_at_the_line() {
        let text =
            "version: 1\ntables:\n  - name: customers\n    primary_key: [id]\n    erasure:\n      action: explode\n";
        let errors = from_yaml(text).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, Some(6), "{errors:?}");
        assert!(errors[0].path.starts_with("tables[0].erasure"), "{errors:?}");
    }

    #[test]
    fn unknown_fields_are_refused_with_their_line() {
        let text = "version: 1\ntables:\n  - name: t\n    primary_key: [id]\n    colums: []\n";
        let errors = from_yaml(text).unwrap_err();
        assert_eq!(errors[0].line, Some(5), "{errors:?}");
        assert!(errors[0].message.contains("colums") || errors[0].message.contains('…'), "{errors:?}");
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let errors = from_yaml("version: 1\ntables: [\n").unwrap_err();
        assert!(errors[0].line.is_some(), "{errors:?}");
        let dup = from_yaml("version: 1\nversion: 1\n").unwrap_err();
        assert!(dup[0].message.contains("uplicate"), "{dup:?}");
    }

    #[test]
    fn paths_find_lines() {
        let text = "version: 1\ntables:\n  - name: a\n    primary_key: [id]\n  - name: b\n    primary_key: [id]\n    columns:\n      - name: x\n";
        let (_, node) = from_yaml(text).unwrap();
        let mut errors = vec![MapError::at("tables[1].columns[0].name", "bad")];
        locate_errors(&node, &mut errors);
        assert_eq!(errors[0].line, Some(8));
    }

    #[test]
    fn json_errors_name_the_field() {
        let value = serde_json::json!({"version": 1, "tables": [{"name": "t", "primary_key": "id"}]});
        let errors = from_json(value).unwrap_err();
        assert_eq!(errors[0].path, "tables[0].primary_key");
    }

    #[test]
    fn scrubbing_drops_quoted_values() {
        assert_eq!(scrub("unknown variant `ann@x.io`, expected one of"), "unknown variant `…`, expected one of");
    }
}
