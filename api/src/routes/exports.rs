//! Downloading an access package through the link e-mailed to the data subject. Public (the
//! token is the credential) and rate-limited per client IP like every public endpoint; the
//! token never appears in logs (request tracing records the route, not the path).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;

use crate::error::{ApiResult, Problem};
use crate::extract::PathParams;
use crate::state::AppState;

/// A ZIP file (binary).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct ZipFile(pub Vec<u8>);

/// Download an access package.
///
/// Streams the decrypted ZIP (`index.html` to read, `data.json` for other programs, one CSV
/// per table). Each call counts as a download, up to the export's limit; after the link
/// expires the package is deleted.
#[utoipa::path(
    get, path = "/v1/exports/{token}", tag = "exports",
    params(("token" = String, Path, description = "The token from the e-mailed link")),
    responses(
        (status = 200, description = "The package, as an attachment", body = ZipFile, content_type = "application/zip"),
        (status = 404, description = "`export_not_found`: unknown or altered link (the same answer for both)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "`export_expired`: the link expired and the package was deleted", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`download_limit`: the link was used as often as allowed (permanent); `rate_limited`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn download(State(state): State<AppState>, PathParams(token): PathParams<String>) -> ApiResult<Response> {
    let now = OffsetDateTime::now_utc();
    let download =
        lethe_worker::export::download::open(&state.db, &state.keyring, &state.settings.exports_dir, &token, now)
            .await?;
    tracing::info!(
        export_id = %download.export_id,
        request_id = %download.request_id,
        download = download.number,
        bytes = download.length,
        "access package download started"
    );
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", download.file_name))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("application/zip")),
        (header::CONTENT_DISPOSITION, disposition),
        (header::CONTENT_LENGTH, HeaderValue::from(download.length)),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
    ];
    Ok((headers, Body::from_stream(download.body)).into_response())
}
