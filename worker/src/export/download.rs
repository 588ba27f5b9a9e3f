//! Serving a package through its link: the token is checked, the download counted (a
//! compare-and-set UPDATE, so concurrent downloads never exceed the cap), and the file
//! decrypted segment by segment as the client reads it.
//!
//! The first segment is authenticated before the answer starts, so a file that does not open
//! (wrong key, damage) fails cleanly. Every later segment is authenticated before any of its
//! bytes are sent; a segment that fails mid-way ends the response early, and since the answer
//! carries its exact `Content-Length`, the client sees an incomplete download, never altered data.

use std::path::Path;

use futures::stream::{self, BoxStream, StreamExt};
use lethe_entities::Keyring;
use lethe_entities::entity::export::{self, ExportState};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use time::OffsetDateTime;
use tokio::io::AsyncReadExt;

use super::crypto::{self, HEADER, SEGMENT, SegmentOpener, TAG};
use super::link;
use crate::error::ExportError;

/// Why a link does not give a package.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// Unknown, altered or malformed token (indistinguishable on purpose).
    #[error("no export has this link")]
    NotFound,
    /// The link has expired (or the package was already purged).
    #[error("this link has expired")]
    Expired,
    /// Every allowed download has been used.
    #[error("this link has been used the maximum number of times")]
    LimitReached,
    /// Lethe failed (database, file or key).
    #[error(transparent)]
    Failed(#[from] ExportError),
}

impl From<sea_orm::DbErr> for DownloadError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Failed(e.into())
    }
}

/// A package being served.
pub struct Download {
    /// The export (for logs).
    pub export_id: uuid::Uuid,
    /// Its request (for logs).
    pub request_id: uuid::Uuid,
    /// The name to save it under.
    pub file_name: String,
    /// Its exact length in bytes.
    pub length: u64,
    /// The decrypted ZIP, in segments.
    pub body: BoxStream<'static, std::io::Result<Vec<u8>>>,
    /// This download's number (1 for the first).
    pub number: i32,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("export_id", &self.export_id)
            .field("length", &self.length)
            .field("number", &self.number)
            .finish_non_exhaustive()
    }
}

/// Opens the package behind `token` for download at `now` and counts the download.
pub async fn open(
    db: &DatabaseConnection,
    keyring: &Keyring,
    dir: &Path,
    token: &str,
    now: OffsetDateTime,
) -> Result<Download, DownloadError> {
    let row = inspect(db, keyring, token, now).await?;
    let key = row.open_key(keyring).map_err(|_| ExportError::Crypto)?.ok_or(DownloadError::Expired)?;
    let key = crypto::key_from_bytes(&key).ok_or(ExportError::Crypto)?;
    let file_name = row.file_name.clone().ok_or(ExportError::Crypto)?;
    let mut file = tokio::fs::File::open(dir.join(&file_name)).await.map_err(ExportError::from)?;
    let file_len = file.metadata().await.map_err(ExportError::from)?.len();
    let length = crypto::plaintext_len(file_len).ok_or(ExportError::Crypto)?;
    let mut header = [0u8; HEADER];
    file.read_exact(&mut header).await.map_err(ExportError::from)?;
    let context = super::crypto::file_context(&row);
    let mut opener = SegmentOpener::new(&key, &header, &context).map_err(|_| ExportError::Crypto)?;
    let mut remaining = file_len - HEADER as u64;
    let first = next_segment(&mut file, &mut opener, &mut remaining).await.map_err(|_| ExportError::Crypto)?;

    // Count it: only while ready, unexpired and under the cap.
    let counted = export::Entity::update_many()
        .col_expr(export::Column::Downloads, Expr::col(export::Column::Downloads).add(1))
        .col_expr(export::Column::UpdatedAt, Expr::value(now))
        .filter(export::Column::Id.eq(row.id))
        .filter(export::Column::State.eq(ExportState::Ready))
        .filter(export::Column::ExpiresAt.gt(now))
        .filter(Expr::col(export::Column::Downloads).lt(Expr::col(export::Column::MaxDownloads)))
        .exec(db)
        .await?;
    if counted.rows_affected == 0 {
        let now_row = export::Entity::find_by_id(row.id).one(db).await?.ok_or(DownloadError::NotFound)?;
        check(&now_row, now)?;
        return Err(DownloadError::LimitReached);
    }
    let rest = stream::try_unfold((file, opener, remaining), |(mut file, mut opener, mut remaining)| async move {
        if remaining == 0 {
            return Ok(None);
        }
        let segment = next_segment(&mut file, &mut opener, &mut remaining).await?;
        Ok(Some((segment, (file, opener, remaining))))
    });
    let body: BoxStream<'static, std::io::Result<Vec<u8>>> = stream::iter([Ok(first)]).chain(rest).boxed();
    let date = row.ready_at.unwrap_or(now).date();
    Ok(Download {
        export_id: row.id,
        request_id: row.request_id,
        file_name: format!("personal-data-{date}.zip"),
        length,
        body: non_empty(body),
        number: row.downloads + 1,
    })
}

/// Drops empty chunks (an empty package's only segment).
fn non_empty(body: BoxStream<'static, std::io::Result<Vec<u8>>>) -> BoxStream<'static, std::io::Result<Vec<u8>>> {
    body.filter(|chunk| std::future::ready(!matches!(chunk, Ok(c) if c.is_empty()))).boxed()
}

/// Whether `row` may be downloaded at `now`, the cap aside.
/// The export behind `token` as of `now`, without counting a download: for the page that
/// describes the package (expiry, downloads left, contents). Fails as [`open`] would.
pub async fn inspect(
    db: &DatabaseConnection,
    keyring: &Keyring,
    token: &str,
    now: OffsetDateTime,
) -> Result<export::Model, DownloadError> {
    let digest = link::verify(keyring, token).ok_or(DownloadError::NotFound)?;
    let row = export::Model::by_token_digest(db, &digest).await?.ok_or(DownloadError::NotFound)?;
    check(&row, now)?;
    Ok(row)
}

fn check(row: &export::Model, now: OffsetDateTime) -> Result<(), DownloadError> {
    match row.state {
        ExportState::Building => Err(DownloadError::NotFound),
        ExportState::Purged => Err(DownloadError::Expired),
        ExportState::Ready if row.expires_at.is_none_or(|at| at <= now) => Err(DownloadError::Expired),
        ExportState::Ready if row.downloads >= row.max_downloads => Err(DownloadError::LimitReached),
        ExportState::Ready => Ok(()),
    }
}

/// Reads and opens the next segment; `remaining` counts the sealed bytes still to read.
async fn next_segment(
    file: &mut tokio::fs::File,
    opener: &mut SegmentOpener,
    remaining: &mut u64,
) -> std::io::Result<Vec<u8>> {
    let size = std::cmp::min(*remaining, (SEGMENT + TAG) as u64) as usize;
    let mut segment = vec![0u8; size];
    file.read_exact(&mut segment).await?;
    *remaining -= size as u64;
    opener.open(&mut segment, *remaining == 0)?;
    Ok(segment)
}
