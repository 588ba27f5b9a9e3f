//! Structs flattened into an answer (`#[serde(flatten)]`, e.g. a retention policy's spec inside
//! its view) become an `allOf` of the flattened type and the answer's own fields. A flattened
//! type that refuses unknown fields (`deny_unknown_fields`, documented as
//! `additionalProperties: false`) would then forbid the answer's own fields: no answer could
//! match its schema. Here such a member is replaced by an open copy of it, so the answer's
//! schema is true while the type's own schema (a request body) stays closed.

use utoipa::openapi::schema::AdditionalProperties;
use utoipa::openapi::{OpenApi, RefOr, Schema};

/// Opens the closed members of every `allOf` among the document's schemas.
pub fn document(doc: &mut OpenApi) {
    let Some(components) = doc.components.as_mut() else { return };
    let closed: Vec<(String, Schema)> = components
        .schemas
        .iter()
        .filter_map(|(name, schema)| match schema {
            RefOr::T(Schema::Object(object)) if is_closed(&object.additional_properties) => {
                let mut open = object.clone();
                open.additional_properties = None;
                Some((format!("#/components/schemas/{name}"), Schema::Object(open)))
            }
            _ => None,
        })
        .collect();
    for schema in components.schemas.values_mut() {
        if let RefOr::T(Schema::AllOf(all_of)) = schema {
            for member in &mut all_of.items {
                if let RefOr::Ref(reference) = member
                    && let Some((_, open)) = closed.iter().find(|(location, _)| *location == reference.ref_location)
                {
                    *member = RefOr::T(open.clone());
                }
            }
        }
    }
}

fn is_closed(additional: &Option<Box<AdditionalProperties<Schema>>>) -> bool {
    matches!(additional.as_deref(), Some(AdditionalProperties::FreeForm(false)))
}
