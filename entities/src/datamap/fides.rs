//! Import of fideslang dataset YAML (Ethyca Fides), so that Fides users can move their annotated
//! datasets over.
//!
//! [`import`] reads one dataset — a file with `dataset: [ ... ]` holding exactly one dataset, or
//! a bare dataset mapping — and converts it into a Lethe [`DataMap`] for a SQL store, with a list
//! of warnings for everything the operator should review. The YAML is read permissively: keys
//! Lethe has no use for (`name`, `description`, `data_type`, `length`, `after`, …) are ignored,
//! and the old `fidesops_meta` spelling is accepted wherever `fides_meta` is. Malformed YAML and
//! values of the wrong shape (a `collections` that is not a list, a `primary_key` that is not a
//! boolean, …) are errors with fides paths (`dataset[0].collections[2].fields[1]`) and lines.
//!
//! # Conversion rules
//!
//! * Each collection becomes a table of the same name. Fields marked `primary_key: true` form the
//!   primary key, in field order; a collection without one is an error.
//! * Collections with `fides_meta.skip_processing: true` are left out (with a warning), and so are
//!   references to them.
//! * Fields with nested `fields:` (objects, for document stores) are left out with a warning.
//! * Of a field's `data_categories`, the most specific (most dot-separated parts; the first on a
//!   tie) known `user.*` category becomes the column's category; unknown categories are dropped
//!   with a warning, and so are other `user.*` categories that are not ancestors of the chosen
//!   one. Categories on a collection or the dataset are not inherited (warning).
//! * A field becomes a column when it has a `user.*` category, an identity or an imported
//!   reference; other fields (e.g. `system.*` only) are left out.
//! * `fides_meta.identity`: `email` is an e-mail identity, `phone_number` a phone identity;
//!   anything else (`user_id`, `customer_id`, `external_id`, …) becomes a customer-ID identity,
//!   with a warning naming the Fides identity.
//! * `references: [{dataset, field: collection.field, direction}]`: a reference within the
//!   dataset targets this store; one to another dataset targets the store `stores` maps its
//!   `fides_key` to, or a store named after the `fides_key` when it is not in `stores` (which
//!   validation then reports). `direction: from|to` are Lethe's `from|to`. A reference without a
//!   direction means "both ways" in Fides; Lethe does not guess, since following a reference the
//!   wrong way pulls in another person's rows: it is imported as `direction: none` with a
//!   warning asking the operator to choose. References to nested fields (`a.b.c`) are skipped
//!   with a warning.
//! * Erasure: a collection with `fides_meta.masking_strategy_override.strategy: delete` deletes
//!   rows. Otherwise rows are updated, masking every non-key column with a `user.*` category
//!   (as Fides does): `null` by default, or the field's own `masking_strategy_override`:
//!   `null_rewrite` → `null`, `hash`/`hmac` → `hash`, `string_rewrite` → `redact` (with its
//!   `rewrite_value`), `random_string_rewrite` → `redact`; other strategies become `null` with a
//!   warning. `read_only` fields are kept. When no column is left to change, rows are deleted —
//!   with a warning, because Fides would have left them alone. The API then fits these actions
//!   to the store's live columns (`null` on a NOT NULL column becomes `redact`, or the column is
//!   kept; see `lethe_worker::stores::constraints::fit`), reporting each change.
//! * `redact: name` only hides names in Fides' access packages; it has no erasure meaning and is
//!   ignored with a warning. Ordering hints (`after`, `erase_after`) are ignored with a warning:
//!   Lethe orders erasure by references.
//!
//! Finally the map is validated as a PostgreSQL store's map whose organization's other stores are
//! the values of `stores`; validation errors are reported at the fides path they came from.

mod convert;
mod read;

use std::collections::{BTreeMap, BTreeSet};

use marked_yaml::LoaderOptions;
use serde::Serialize;
use utoipa::ToSchema;

use super::model::DataMap;
use super::parse::{MapError, locate_errors};
use super::validate::{self, Context};
use crate::domain::enums::StoreKind;
use convert::translate;
use read::{Reader, load_error};

/// The result of importing one fideslang dataset.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Imported {
    /// The dataset's `fides_key`.
    pub fides_key: String,
    /// The converted data map (structurally valid for a SQL store).
    pub map: DataMap,
    /// What the import dropped, guessed or changed, one line each, for the operator to review.
    pub warnings: Vec<String>,
}

/// Imports the single dataset in `yaml` (a file with `dataset: [ ... ]` holding exactly one
/// dataset, or a bare dataset mapping).
/// `stores` maps other datasets' fides_keys to Lethe store names (references to a dataset not in
/// the map and not this dataset keep the fides_key as the store name, so validation will name it).
pub fn import(yaml: &str, stores: &BTreeMap<String, String>) -> Result<Imported, Vec<MapError>> {
    let options = LoaderOptions::default().error_on_duplicate_keys(true).prevent_coercion(true);
    let root = marked_yaml::parse_yaml_with_options(0, yaml, options).map_err(|e| vec![load_error(&e)])?;
    let mut reader = Reader::default();
    let dataset = reader.dataset(&root);
    let mut errors = std::mem::take(&mut reader.errors);
    let Some(dataset) = dataset.filter(|_| errors.is_empty()) else {
        if errors.is_empty() {
            errors.push(MapError::at("", "not a fideslang dataset"));
        }
        locate_errors(&root, &mut errors);
        return Err(errors);
    };
    let (map, traces) = reader.convert(&dataset, stores);
    let other_stores: Vec<String> = stores.values().cloned().collect::<BTreeSet<_>>().into_iter().collect();
    let mut errors = validate::validate(&map, Context { kind: StoreKind::Postgres, other_stores: &other_stores });
    if !errors.is_empty() {
        for error in &mut errors {
            error.path = translate(&error.path, &dataset.path, &traces);
        }
        locate_errors(&root, &mut errors);
        return Err(errors);
    }
    reader.warnings.sort_by_key(|(line, _)| line.unwrap_or(usize::MAX));
    let warnings = reader.warnings.into_iter().map(|(_, text)| text).collect();
    Ok(Imported { fides_key: dataset.fides_key, map, warnings })
}

#[cfg(test)]
mod tests;
