//! Inline errors of the console's forms. An invalid form comes back as its own page (`422`, or
//! the API's status for a conflict such as a name taken) with each error next to its field
//! (`aria-invalid`, `aria-describedby`), an error summary at the top linking each field, and
//! what was typed kept, secrets excepted. The messages are the JSON API's [`FieldError`]s,
//! placed by a table of which form field shows which API field; `templates/console/fields.html`
//! has the macros that draw them.
//!
//! [`FieldError`]: crate::error::FieldError

use axum::http::StatusCode;
use axum::response::Response;

use crate::error::ApiError;
use crate::web::WebResult;

/// Which form field shows an API field's errors: the API's field name (`connection.url`), the
/// form field's `id` and its label (for the summary).
pub type Placement<'a> = (&'a str, &'a str, &'a str);

/// One error of a form.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The `id` of the field it is shown next to.
    pub id: String,
    /// The field's label.
    pub label: String,
    /// What is wrong.
    pub message: String,
}

/// A form's errors, in the order they were found; a field keeps its first error.
#[derive(Debug, Default, Clone)]
pub struct FieldErrors {
    entries: Vec<Entry>,
}

impl FieldErrors {
    /// Adds `message` to the field `id` labelled `label`, unless it has an error already.
    pub fn add(&mut self, id: &str, label: &str, message: impl Into<String>) {
        if self.get(id).is_none() {
            self.entries.push(Entry { id: id.to_owned(), label: label.to_owned(), message: message.into() });
        }
    }

    /// The error of the field `id` (anything that displays as the id: templates build ids by
    /// concatenation).
    pub fn get(&self, id: impl std::fmt::Display) -> Option<&str> {
        let id = id.to_string();
        self.entries.iter().find(|e| e.id == id).map(|e| e.message.as_str())
    }

    /// Whether the form has no errors.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every error, for the summary.
    pub fn all(&self) -> &[Entry] {
        &self.entries
    }

    /// Places the field errors of the API's error `e` on the form's fields by `placements`.
    /// Gives `e` back when it has no field errors, or names a field the form does not show
    /// (it is then an error page, as before).
    pub fn place(&mut self, e: ApiError, placements: &[Placement<'_>]) -> Result<(), ApiError> {
        let found: Option<Vec<(&str, &str, &str)>> = e
            .field_errors()
            .iter()
            .map(|f| {
                let (_, id, label) = placements.iter().find(|(api, _, _)| *api == f.field)?;
                Some((*id, *label, f.message.as_str()))
            })
            .collect();
        match found {
            Some(found) if !found.is_empty() => {
                for (id, label, message) in found {
                    self.add(id, label, message);
                }
                Ok(())
            }
            _ => Err(e),
        }
    }
}

/// `page` answered with `status` (an invalid form's page: `422`).
pub fn with_status(page: WebResult<Response>, status: StatusCode) -> WebResult<Response> {
    page.map(|mut response| {
        *response.status_mut() = status;
        response
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FieldError;

    const PLACES: &[Placement<'static>] = &[("name", "store-name", "Name"), ("connection.url", "store-url", "URL")];

    fn invalid(fields: &[&str]) -> ApiError {
        ApiError::validation(
            fields.iter().map(|f| FieldError { field: (*f).to_owned(), message: format!("bad {f}") }).collect(),
        )
    }

    #[test]
    fn api_field_errors_go_next_to_their_fields() {
        let mut errors = FieldErrors::default();
        errors.place(invalid(&["connection.url", "name"]), PLACES).unwrap();
        assert_eq!(errors.get("store-url"), Some("bad connection.url"));
        assert_eq!(errors.get("store-name"), Some("bad name"));
        let summary: Vec<&str> = errors.all().iter().map(|e| e.label.as_str()).collect();
        assert_eq!(summary, ["URL", "Name"], "in the API's order");
        errors.add("store-name", "Name", "a second error");
        assert_eq!(errors.get("store-name"), Some("bad name"), "a field keeps its first error");
    }

    #[test]
    fn other_errors_stay_errors() {
        let mut errors = FieldErrors::default();
        let conflict = ApiError::conflict("store_name_taken", "taken");
        assert_eq!(errors.place(conflict, PLACES).unwrap_err().code(), "store_name_taken");
        let unknown = errors.place(invalid(&["name", "kind"]), PLACES).unwrap_err();
        assert_eq!(unknown.code(), "validation_failed", "a field the form does not show");
        assert!(errors.is_empty(), "nothing placed from an error given back");
    }
}
