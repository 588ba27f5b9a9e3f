//! Converting a read dataset into a data map, with the fides path of each part so that
//! validation errors can be reported where they came from.

use std::collections::BTreeMap;

use super::read::{Collection, Dataset, Field, Reader};
use crate::datamap::model::{ColumnAction, ColumnMap, ColumnRef, DataMap, Reference, RowErasure, TableMap};
use crate::datamap::notice::Text;

/// Where each part of a converted table came from, to report validation errors at fides paths.
pub(super) struct Trace {
    pub(super) collection: String,
    pub(super) primary_key: Vec<String>,
    pub(super) columns: Vec<String>,
    pub(super) references: Vec<String>,
}

impl Reader {
    /// Converts the read dataset into a data map, with the fides path of each part.
    pub(super) fn convert(&mut self, dataset: &Dataset, stores: &BTreeMap<String, String>) -> (DataMap, Vec<Trace>) {
        let mut map = DataMap::empty();
        let mut traces = Vec::new();
        for collection in &dataset.collections {
            let (table, trace) = self.table(dataset, collection, stores);
            map.tables.push(table);
            traces.push(trace);
        }
        (map, traces)
    }

    /// One collection as a mapped table.
    fn table(
        &mut self,
        dataset: &Dataset,
        collection: &Collection,
        stores: &BTreeMap<String, String>,
    ) -> (TableMap, Trace) {
        let mut trace = Trace {
            collection: collection.path.clone(),
            primary_key: Vec::new(),
            columns: Vec::new(),
            references: Vec::new(),
        };
        let mut table = TableMap {
            name: collection.name.clone(),
            primary_key: Vec::new(),
            label: collection.description.as_deref().map(Text::from),
            purpose: None,
            legal_basis: None,
            origin: None,
            automated_decision: None,
            columns: Vec::new(),
            references: Vec::new(),
            erasure: RowErasure::DeleteRow,
        };
        for field in &collection.fields {
            let place = format!("{}.{}", collection.name, field.name);
            if field.primary_key {
                table.primary_key.push(field.name.clone());
                trace.primary_key.push(field.path.clone());
            }
            let carries_reference = self.references(dataset, field, &place, stores, &mut table, &mut trace);
            if field.category.is_none() && field.identity.is_none() && !carries_reference {
                if field.masking.is_some() {
                    self.warn(field.line, &place, "masking override ignored: the field has no `user.*` category");
                }
                continue;
            }
            let (action, redact_with) = self.column_action(collection, field, &place);
            table.columns.push(ColumnMap {
                name: field.name.clone(),
                label: field.description.as_deref().map(Text::from),
                category: field.category.clone(),
                identity: field.identity,
                matching: None,
                action,
                redact_with,
            });
            trace.columns.push(field.path.clone());
        }
        if !collection.delete {
            if table.columns.iter().any(|c| c.action.is_some_and(|a| a != ColumnAction::Keep)) {
                table.erasure = RowErasure::Update;
            } else {
                self.warn(
                    collection.line,
                    &collection.name,
                    "no non-key field with a `user.*` category to mask, so erasure deletes its located rows \
                     (Fides would leave them unchanged); review its `erasure`",
                );
                for column in &mut table.columns {
                    column.action = None;
                }
            }
        }
        (table, trace)
    }

    /// The field's references as the table's; references to skipped collections are dropped
    /// with a warning. Returns whether the field carries one.
    fn references(
        &mut self,
        dataset: &Dataset,
        field: &Field,
        place: &str,
        stores: &BTreeMap<String, String>,
        table: &mut TableMap,
        trace: &mut Trace,
    ) -> bool {
        let mut carries_reference = false;
        for reference in &field.references {
            let store = if reference.dataset == dataset.fides_key {
                if dataset.skipped.contains(&reference.collection) {
                    self.warn(
                        reference.line,
                        place,
                        format_args!("reference to skipped collection `{}` dropped", reference.collection),
                    );
                    continue;
                }
                None
            } else {
                Some(stores.get(&reference.dataset).unwrap_or(&reference.dataset).clone())
            };
            carries_reference = true;
            table.references.push(Reference {
                column: field.name.clone(),
                target: ColumnRef { store, table: reference.collection.clone(), column: reference.field.clone() },
                direction: reference.direction,
            });
            trace.references.push(reference.path.clone());
        }
        carries_reference
    }

    /// The erasure action of a mapped field: its masking override, `keep` when read-only,
    /// `null` by default; none for keys, uncategorised fields and collections deleted whole.
    fn column_action(
        &mut self,
        collection: &Collection,
        field: &Field,
        place: &str,
    ) -> (Option<ColumnAction>, Option<String>) {
        let maskable = !field.primary_key && field.category.is_some() && !collection.delete;
        if maskable {
            return match (&field.masking, field.read_only) {
                (_, true) => (Some(ColumnAction::Keep), None),
                (Some((action, with)), false) => (Some(*action), with.clone()),
                (None, false) => (Some(ColumnAction::Null), None),
            };
        }
        if field.masking.is_some() && !collection.delete {
            self.warn(
                field.line,
                place,
                "masking override ignored: Lethe does not change key or uncategorised columns",
            );
        }
        (None, None)
    }
}

/// The fides path for a validation error's data-map path (`tables[1].references[0].target.store`).
pub(super) fn translate(path: &str, dataset: &str, traces: &[Trace]) -> String {
    let Some((index, rest)) = path.strip_prefix("tables[").and_then(|p| p.split_once(']')) else {
        return dataset.to_owned();
    };
    let Some(trace) = index.parse::<usize>().ok().and_then(|i| traces.get(i)) else { return dataset.to_owned() };
    let indexed = |rest: &str, prefix: &str, paths: &[String]| -> Option<(String, String)> {
        let (i, tail) = rest.strip_prefix(prefix)?.split_once(']')?;
        Some((paths.get(i.parse::<usize>().ok()?)?.clone(), tail.to_owned()))
    };
    if rest == ".name" {
        format!("{}.name", trace.collection)
    } else if let Some((field, _)) = indexed(rest, ".primary_key[", &trace.primary_key) {
        field
    } else if let Some((field, tail)) = indexed(rest, ".columns[", &trace.columns) {
        match tail.as_str() {
            ".name" => format!("{field}.name"),
            ".category" => format!("{field}.data_categories"),
            _ => field,
        }
    } else if let Some((reference, tail)) = indexed(rest, ".references[", &trace.references) {
        match tail.as_str() {
            ".target.store" => format!("{reference}.dataset"),
            ".target.table" | ".target.column" => format!("{reference}.field"),
            _ => reference,
        }
    } else {
        trace.collection.clone()
    }
}
