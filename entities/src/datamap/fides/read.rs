//! Reading a fideslang dataset from its YAML tree: shapes checked (errors at fides paths),
//! categories and masking strategies chosen (warnings for what is dropped or guessed).

use std::collections::BTreeSet;

use marked_yaml::types::{MarkedMappingNode, MarkedSequenceNode};
use marked_yaml::{LoadError, Node};

use crate::datamap::model::{ColumnAction, Direction};
use crate::datamap::notice::{MAX_LABEL, label_from};
use crate::datamap::parse::MapError;
use crate::datamap::taxonomy;
use crate::domain::enums::IdentityKind;

/// A dataset as read from the YAML, before conversion.
pub(super) struct Dataset {
    pub(super) fides_key: String,
    /// The fides path of the dataset (`dataset[0]`, or empty for a bare mapping).
    pub(super) path: String,
    pub(super) collections: Vec<Collection>,
    /// Names of collections left out with `skip_processing`.
    pub(super) skipped: BTreeSet<String>,
}

pub(super) struct Collection {
    pub(super) name: String,
    pub(super) path: String,
    pub(super) line: Option<usize>,
    /// `masking_strategy_override.strategy: delete`.
    pub(super) delete: bool,
    /// The collection's `description`: the table's label for the person.
    pub(super) description: Option<String>,
    pub(super) fields: Vec<Field>,
}

pub(super) struct Field {
    pub(super) name: String,
    pub(super) path: String,
    pub(super) line: Option<usize>,
    /// The field's `description`: the column's label for the person.
    pub(super) description: Option<String>,
    /// The chosen `user.*` category.
    pub(super) category: Option<String>,
    pub(super) identity: Option<IdentityKind>,
    pub(super) primary_key: bool,
    pub(super) read_only: bool,
    pub(super) references: Vec<FidesRef>,
    /// The field's own masking override, mapped.
    pub(super) masking: Option<(ColumnAction, Option<String>)>,
}

pub(super) struct FidesRef {
    pub(super) dataset: String,
    pub(super) collection: String,
    pub(super) field: String,
    pub(super) direction: Direction,
    pub(super) path: String,
    pub(super) line: Option<usize>,
}

/// Reads the YAML tree, collecting errors (shapes) and warnings (line, text).
#[derive(Default)]
pub(super) struct Reader {
    pub(super) errors: Vec<MapError>,
    pub(super) warnings: Vec<(Option<usize>, String)>,
}

impl Reader {
    fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(MapError::at(path, message));
    }

    pub(super) fn warn(&mut self, line: Option<usize>, place: &str, message: impl std::fmt::Display) {
        let text = match line {
            Some(line) => format!("line {line}: {place}: {message}"),
            None => format!("{place}: {message}"),
        };
        self.warnings.push((line, text));
    }

    pub(super) fn dataset(&mut self, root: &Node) -> Option<Dataset> {
        let Some(top) = root.as_mapping() else {
            self.error("", "the document must be a mapping");
            return None;
        };
        let (node, path) = if let Some(list) = value(top, "dataset") {
            let Some(list) = list.as_sequence() else {
                self.error("dataset", "`dataset` must be a list holding one dataset");
                return None;
            };
            if list.len() != 1 {
                self.error("dataset", format!("the file holds {} datasets; import one at a time", list.len()));
                return None;
            }
            (list.get_node(0)?, "dataset[0]".to_owned())
        } else if top.get_node("collections").is_some() || top.get_node("fides_key").is_some() {
            (root, String::new())
        } else {
            self.error(
                "",
                "not a fideslang dataset: expected `dataset:` or a mapping with `fides_key` and `collections`",
            );
            return None;
        };
        let Some(map) = node.as_mapping() else {
            self.error(path, "a dataset must be a mapping");
            return None;
        };
        let fides_key = self.required_text(map, "fides_key", &path);
        self.uninherited_categories(map, &path, "the dataset", line(node));
        let list = self.required_list(map, "collections", &path);
        let mut collections = Vec::new();
        let mut skipped = BTreeSet::new();
        for (c, node) in list.into_iter().flat_map(|l| l.iter()).enumerate() {
            let here = format!("{}[{c}]", join(&path, "collections"));
            match self.collection(node, here) {
                Some(Ok(collection)) => collections.push(collection),
                Some(Err(name)) => {
                    skipped.insert(name);
                }
                None => {}
            }
        }
        Some(Dataset { fides_key: fides_key?, path, collections, skipped })
    }

    /// A collection, `Err(name)` when it is skipped, `None` when malformed.
    fn collection(&mut self, node: &Node, path: String) -> Option<Result<Collection, String>> {
        let Some(map) = node.as_mapping() else {
            self.error(path, "a collection must be a mapping");
            return None;
        };
        let name = self.required_text(map, "name", &path);
        let place = name.clone().unwrap_or_else(|| path.clone());
        let description = self.description(map, &path, line(node), &place);
        self.uninherited_categories(map, &path, &format!("collection `{place}`"), line(node));
        let mut delete = false;
        let mut skip = false;
        if let Some((meta, meta_path)) = self.meta(map, &path) {
            skip = self.flag(meta, "skip_processing", &meta_path);
            let at = line(node);
            if ["after", "erase_after"].iter().any(|k| value(meta, k).is_some()) {
                self.warn(
                    at,
                    &place,
                    "ordering hints (`after`, `erase_after`) are ignored: Lethe orders erasure by references",
                );
            }
            self.redact_name(meta, at, &place);
            if let Some(strategy) = self.strategy(meta, &meta_path) {
                if strategy.name == "delete" {
                    delete = true;
                } else {
                    self.warn(
                        at,
                        &place,
                        format_args!(
                            "collection-level masking strategy `{}` is not supported; fields are masked one by one",
                            strategy.name
                        ),
                    );
                }
            }
        }
        let list = self.required_list(map, "fields", &path);
        let mut fields = Vec::new();
        for (f, node) in list.into_iter().flat_map(|l| l.iter()).enumerate() {
            if let Some(field) = self.field(node, format!("{path}.fields[{f}]"), &place) {
                fields.push(field);
            }
        }
        let name = name?;
        if skip {
            self.warn(line(node), &name, "`skip_processing: true`: collection left out, with references to it");
            return Some(Err(name));
        }
        if list.is_some() && !fields.iter().any(|f| f.primary_key) {
            self.error(
                path.clone(),
                format!("collection `{name}` has no primary key: mark its key field(s) with `fides_meta: {{ primary_key: true }}`"),
            );
        }
        Some(Ok(Collection { name, path, line: line(node), delete, description, fields }))
    }

    fn field(&mut self, node: &Node, path: String, collection: &str) -> Option<Field> {
        let Some(map) = node.as_mapping() else {
            self.error(path, "a field must be a mapping");
            return None;
        };
        let name = self.required_text(map, "name", &path)?;
        let place = format!("{collection}.{name}");
        let at = line(node);
        if let Some(nested) = self.list(map, "fields", &path)
            && !nested.is_empty()
        {
            self.warn(at, &place, "nested fields (objects) are not supported for SQL stores; field skipped");
            return None;
        }
        let category = self.category(map, &path, at, &place);
        let description = self.description(map, &path, at, &place);
        let mut field = Field {
            name,
            path: path.clone(),
            line: at,
            description,
            category,
            identity: None,
            primary_key: false,
            read_only: false,
            references: Vec::new(),
            masking: None,
        };
        let Some((meta, meta_path)) = self.meta(map, &path) else { return Some(field) };
        field.primary_key = self.flag(meta, "primary_key", &meta_path);
        field.read_only = self.flag(meta, "read_only", &meta_path);
        field.identity = match self.text(meta, "identity", &meta_path).as_deref() {
            None => None,
            Some("email") => Some(IdentityKind::Email),
            Some("phone_number") => Some(IdentityKind::Phone),
            Some(other) => {
                self.warn(
                    at,
                    &place,
                    format_args!("identity `{other}` imported as customer_id: check the subject's customer ID is what this column holds"),
                );
                Some(IdentityKind::CustomerId)
            }
        };
        let references = self.list(meta, "references", &meta_path);
        for (r, node) in references.into_iter().flat_map(|l| l.iter()).enumerate() {
            let here = format!("{meta_path}.references[{r}]");
            if let Some(reference) = self.reference(node, here, &place) {
                field.references.push(reference);
            }
        }
        self.redact_name(meta, at, &place);
        if let Some(strategy) = self.strategy(meta, &meta_path) {
            field.masking = Some(self.masking(strategy, at, &place));
        }
        Some(field)
    }

    /// A collection's or field's `description` as a label: its words joined by single spaces
    /// (no line breaks or tabs), left out (with a warning) when longer than a label should be.
    fn description(&mut self, map: &MarkedMappingNode, path: &str, at: Option<usize>, place: &str) -> Option<String> {
        let text = self.text(map, "description", path)?;
        let label = label_from(&text);
        if label.is_none() && !text.trim().is_empty() {
            self.warn(at, place, format_args!("description longer than {MAX_LABEL} characters not taken as the label"));
        }
        label
    }

    /// The field's chosen `user.*` category.
    fn category(&mut self, map: &MarkedMappingNode, path: &str, at: Option<usize>, place: &str) -> Option<String> {
        let mut user: Vec<String> = Vec::new();
        for category in self.categories(map, path) {
            if !taxonomy::is_known(&category) {
                self.warn(at, place, format_args!("unknown data category `{category}` dropped"));
            } else if category == "user" || category.starts_with("user.") {
                user.push(category);
            }
        }
        let mut chosen: Option<&String> = None;
        for category in &user {
            if chosen.is_none_or(|c| depth(category) > depth(c)) {
                chosen = Some(category);
            }
        }
        let chosen = chosen.cloned()?;
        for other in &user {
            if *other != chosen && !chosen.starts_with(&format!("{other}.")) {
                self.warn(at, place, format_args!("one category per column: keeps `{chosen}`, drops `{other}`"));
            }
        }
        Some(chosen)
    }

    fn categories(&mut self, map: &MarkedMappingNode, path: &str) -> Vec<String> {
        let here = join(path, "data_categories");
        let Some(list) = self.list(map, "data_categories", path) else { return Vec::new() };
        let mut out = Vec::new();
        for (i, node) in list.iter().enumerate() {
            match node.as_scalar() {
                Some(s) => out.push(s.as_str().to_owned()),
                None => self.error(format!("{here}[{i}]"), "a data category must be a text"),
            }
        }
        out
    }

    fn uninherited_categories(&mut self, map: &MarkedMappingNode, path: &str, what: &str, at: Option<usize>) {
        if !self.categories(map, path).is_empty() {
            self.warn(
                at,
                what,
                "data categories of a collection or dataset are not inherited by its fields; categorise each field",
            );
        }
    }

    fn reference(&mut self, node: &Node, path: String, place: &str) -> Option<FidesRef> {
        let Some(map) = node.as_mapping() else {
            self.error(path, "a reference must be a mapping with `dataset`, `field` and `direction`");
            return None;
        };
        let at = line(node);
        let dataset = self.required_text(map, "dataset", &path);
        let target = self.required_text(map, "field", &path);
        let direction = match self.text(map, "direction", &path).as_deref() {
            None => None,
            Some("from") => Some(Direction::From),
            Some("to") => Some(Direction::To),
            Some(_) => {
                self.error(format!("{path}.direction"), "`direction` must be `from` or `to`");
                return None;
            }
        };
        let (dataset, target) = (dataset?, target?);
        let parts: Vec<&str> = target.split('.').collect();
        let [collection, field] = parts.as_slice() else {
            if parts.len() > 2 && parts.iter().all(|p| !p.is_empty()) {
                self.warn(at, place, format_args!("reference to nested field `{target}` is not supported; skipped"));
            } else {
                self.error(format!("{path}.field"), "`field` must be `collection.field`");
            }
            return None;
        };
        if collection.is_empty() || field.is_empty() {
            self.error(format!("{path}.field"), "`field` must be `collection.field`");
            return None;
        }
        let direction = direction.unwrap_or_else(|| {
            self.warn(
                at,
                place,
                format_args!(
                    "reference to `{dataset}.{target}` has no direction (both ways in Fides); imported as `direction: none` \
                     — choose `from` (rows here belong to the target's person) or `to` (the target belongs to this row's person)"
                ),
            );
            Direction::None
        });
        Some(FidesRef {
            dataset,
            collection: (*collection).to_owned(),
            field: (*field).to_owned(),
            direction,
            path,
            line: at,
        })
    }

    /// `masking_strategy_override.strategy` of a `fides_meta`.
    fn strategy<'n>(&mut self, meta: &'n MarkedMappingNode, meta_path: &str) -> Option<Strategy<'n>> {
        let here = join(meta_path, "masking_strategy_override");
        let node = value(meta, "masking_strategy_override")?;
        let Some(map) = node.as_mapping() else {
            self.error(here, "`masking_strategy_override` must be a mapping with a `strategy`");
            return None;
        };
        let name = self.required_text(map, "strategy", &here)?;
        let configuration = match value(map, "configuration") {
            None => None,
            Some(node) => match node.as_mapping() {
                Some(c) => Some(c),
                None => {
                    self.error(format!("{here}.configuration"), "`configuration` must be a mapping");
                    None
                }
            },
        };
        Some(Strategy { name, configuration })
    }

    fn masking(&mut self, strategy: Strategy<'_>, at: Option<usize>, place: &str) -> (ColumnAction, Option<String>) {
        match strategy.name.as_str() {
            "null_rewrite" => (ColumnAction::Null, None),
            "hash" | "hmac" => (ColumnAction::Hash, None),
            "random_string_rewrite" => (ColumnAction::Redact, None),
            "string_rewrite" => {
                let config = strategy.configuration;
                if config.is_some_and(|c| value(c, "format_preservation").is_some()) {
                    self.warn(at, place, "`format_preservation` of `string_rewrite` is not imported");
                }
                let rewrite = config
                    .and_then(|c| value(c, "rewrite_value"))
                    .and_then(Node::as_scalar)
                    .map(|s| s.as_str().to_owned())
                    .filter(|s| !s.is_empty() && s.chars().count() <= 256 && !s.chars().any(char::is_control));
                (ColumnAction::Redact, rewrite)
            }
            other => {
                self.warn(
                    at,
                    place,
                    format_args!("masking strategy `{other}` has no Lethe equivalent; imported as null"),
                );
                (ColumnAction::Null, None)
            }
        }
    }

    fn redact_name(&mut self, meta: &MarkedMappingNode, at: Option<usize>, place: &str) {
        if value(meta, "redact").is_some() {
            self.warn(
                at,
                place,
                "`redact` hides names in Fides access packages; it has no erasure meaning and is ignored",
            );
        }
    }

    /// `fides_meta` (or the older `fidesops_meta`) with its path.
    fn meta<'n>(&mut self, map: &'n MarkedMappingNode, path: &str) -> Option<(&'n MarkedMappingNode, String)> {
        let key = if value(map, "fides_meta").is_some() { "fides_meta" } else { "fidesops_meta" };
        let here = join(path, key);
        let node = value(map, key)?;
        match node.as_mapping() {
            Some(meta) => Some((meta, here)),
            None => {
                self.error(here, format!("`{key}` must be a mapping"));
                None
            }
        }
    }

    fn text(&mut self, map: &MarkedMappingNode, key: &str, path: &str) -> Option<String> {
        let node = value(map, key)?;
        match node.as_scalar() {
            Some(s) => Some(s.as_str().to_owned()),
            None => {
                self.error(join(path, key), format!("`{key}` must be a text"));
                None
            }
        }
    }

    fn required_text(&mut self, map: &MarkedMappingNode, key: &str, path: &str) -> Option<String> {
        if value(map, key).is_none() {
            self.error(path, format!("`{key}` is missing"));
            return None;
        }
        self.text(map, key, path)
    }

    fn list<'n>(&mut self, map: &'n MarkedMappingNode, key: &str, path: &str) -> Option<&'n MarkedSequenceNode> {
        let node = value(map, key)?;
        match node.as_sequence() {
            Some(list) => Some(list),
            None => {
                self.error(join(path, key), format!("`{key}` must be a list"));
                None
            }
        }
    }

    fn required_list<'n>(
        &mut self,
        map: &'n MarkedMappingNode,
        key: &str,
        path: &str,
    ) -> Option<&'n MarkedSequenceNode> {
        if value(map, key).is_none() {
            self.error(path, format!("`{key}` is missing"));
            return None;
        }
        self.list(map, key, path)
    }

    fn flag(&mut self, map: &MarkedMappingNode, key: &str, path: &str) -> bool {
        let Some(node) = value(map, key) else { return false };
        let parsed = node.as_scalar().and_then(|s| match s.as_str().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Some(true),
            "false" | "no" | "off" | "0" => Some(false),
            _ => None,
        });
        parsed.unwrap_or_else(|| {
            self.error(join(path, key), format!("`{key}` must be true or false"));
            false
        })
    }
}

/// A masking strategy override: its name and configuration.
struct Strategy<'n> {
    name: String,
    configuration: Option<&'n MarkedMappingNode>,
}

/// The value under `key`; absent when missing or null (`~`, `null` or empty).
fn value<'n>(map: &'n MarkedMappingNode, key: &str) -> Option<&'n Node> {
    map.get_node(key).filter(|node| {
        !node.as_scalar().is_some_and(|s| s.may_coerce() && matches!(s.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    })
}

fn line(node: &Node) -> Option<usize> {
    node.span().start().map(|m| m.line())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

/// The number of dot-separated parts of a category.
fn depth(category: &str) -> usize {
    category.split('.').count()
}

pub(super) fn load_error(e: &LoadError) -> MapError {
    use marked_yaml::LoadError::*;
    let (mark, message) = match e {
        TopLevelMustBeMapping(m) | TopLevelMustBeSequence(m) => (Some(*m), "the document must be a mapping".to_owned()),
        UnexpectedAnchor(m) => (Some(*m), "YAML anchors and aliases are not supported".to_owned()),
        MappingKeyMustBeScalar(m) => (Some(*m), "mapping keys must be plain strings".to_owned()),
        UnexpectedTag(m) => (Some(*m), "YAML tags are not supported".to_owned()),
        ScanError(m, s) => (Some(*m), format!("invalid YAML: {}", s.info())),
        DuplicateKey(inner) => (inner.key.span().start().copied(), "duplicate key in a mapping".to_owned()),
    };
    MapError { path: String::new(), line: mark.map(|m| m.line()), column: mark.map(|m| m.column()), message }
}
