//! What a store task returned for an access request, kept until the package is built: the rows
//! an HTTP service sent, or the file an operator attached to a manual task.
//!
//! This is personal data, so the content is stored only as AES-256-GCM ciphertext under the
//! master key, bound to the organization, the task and the kind of content (a blob moved to
//! another task or organization does not open). One row per task; the export deletes it once
//! the package holds it, and the purge deletes whatever is left with the export.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::domain::crypto::{CryptoError, Keyring};

/// What a task returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum ReturnKind {
    /// Rows from an HTTP service: one JSON line `[table, {column: scalar}]` per row.
    #[sea_orm(string_value = "service_rows")]
    ServiceRows,
    /// A file an operator attached to a manual task: [`Attachment::encode`].
    #[sea_orm(string_value = "attachment")]
    Attachment,
}

impl ReturnKind {
    /// The kind's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ServiceRows => "service_rows",
            Self::Attachment => "attachment",
        }
    }
}

/// One task's returned content.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "task_returns")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// The access request.
    pub request_id: Uuid,
    /// The task (one row per task).
    pub task_id: Uuid,
    /// What it is.
    pub kind: ReturnKind,
    /// Service rows: how many.
    pub rows: i64,
    /// Size of the content in clear.
    pub bytes: i64,
    /// The content, encrypted (see the module documentation).
    pub ciphertext: Vec<u8>,
    /// When it was received.
    pub created_at: TimeDateTimeWithTimeZone,
}

/// A file an operator attached: its name as given (it may name the person, so it is encrypted
/// with the content; the package makes it safe) and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file's name as the operator gave it.
    pub file_name: String,
    /// Its content.
    pub content: Vec<u8>,
}

impl Attachment {
    /// The stored form: the name's length (u16, big-endian), the name (UTF-8), the content.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let name = self.file_name.as_bytes();
        let len = u16::try_from(name.len()).expect("file names are validated to be short");
        let mut out = Zeroizing::new(Vec::with_capacity(2 + name.len() + self.content.len()));
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(name);
        out.extend_from_slice(&self.content);
        out
    }

    /// Reads the stored form back (`None` if it is not one).
    pub fn decode(stored: &[u8]) -> Option<Self> {
        let len = usize::from(u16::from_be_bytes(stored.get(..2)?.try_into().ok()?));
        let name = std::str::from_utf8(stored.get(2..2 + len)?).ok()?;
        Some(Self { file_name: name.to_owned(), content: stored[2 + len..].to_vec() })
    }
}

/// Relations of a returned content.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The associated data the content is bound to.
fn context(organization: Uuid, task: Uuid, kind: ReturnKind) -> Vec<u8> {
    let mut ctx = Vec::with_capacity(64);
    ctx.extend_from_slice(b"task-return\0");
    ctx.extend_from_slice(organization.as_bytes());
    ctx.extend_from_slice(task.as_bytes());
    ctx.extend_from_slice(kind.as_str().as_bytes());
    ctx
}

/// Encrypts the content returned by task `task` of `organization`.
pub fn seal(keyring: &Keyring, organization: Uuid, task: Uuid, kind: ReturnKind, content: &[u8]) -> Vec<u8> {
    keyring.encrypt(content, &context(organization, task, kind))
}

impl Model {
    /// The content in clear.
    pub fn open(&self, keyring: &Keyring) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        keyring.decrypt(&self.ciphertext, &context(self.organization_id, self.task_id, self.kind))
    }

    /// The content returned by one task, if any.
    pub async fn of_task(db: &impl ConnectionTrait, organization: Uuid, task: Uuid) -> Result<Option<Self>, DbErr> {
        Entity::find().filter(Column::OrganizationId.eq(organization)).filter(Column::TaskId.eq(task)).one(db).await
    }

    /// Deletes everything the tasks of one request returned; returns how many rows.
    pub async fn delete_of_request(db: &impl ConnectionTrait, organization: Uuid, request: Uuid) -> Result<u64, DbErr> {
        let deleted = Entity::delete_many()
            .filter(Column::OrganizationId.eq(organization))
            .filter(Column::RequestId.eq(request))
            .exec(db)
            .await?;
        Ok(deleted.rows_affected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_round_trip_and_bind_their_task() {
        let file = Attachment { file_name: "scan é.pdf".into(), content: vec![0, 159, 146, 150] };
        assert_eq!(Attachment::decode(&file.encode()), Some(file.clone()));
        assert_eq!(Attachment::decode(&[0]), None);
        assert_eq!(Attachment::decode(&[0, 9, b'a']), None);

        let keyring = Keyring::derive(&crate::MasterKey::generate());
        let (org, task) = (Uuid::now_v7(), Uuid::now_v7());
        let sealed = seal(&keyring, org, task, ReturnKind::Attachment, &file.encode());
        let stored = |task_id, kind| Model {
            id: Uuid::now_v7(),
            organization_id: org,
            request_id: Uuid::now_v7(),
            task_id,
            kind,
            rows: 0,
            bytes: 0,
            ciphertext: sealed.clone(),
            created_at: time::OffsetDateTime::now_utc(),
        };
        assert_eq!(Attachment::decode(&stored(task, ReturnKind::Attachment).open(&keyring).unwrap()), Some(file));
        assert!(stored(Uuid::now_v7(), ReturnKind::Attachment).open(&keyring).is_err(), "another task");
        assert!(stored(task, ReturnKind::ServiceRows).open(&keyring).is_err(), "another kind");
    }
}
