//! The free text people type is encrypted at rest like identities: operators' reasons and
//! notes on the request timeline (completing or waiving a task, notifying or waiving a
//! recipient, approving, denying, extending, cancelling, holding, resuming, retrying), the
//! denial and extension reasons copied onto the request, a legal hold's reason, matter and
//! release reason, and the reasons of account events (an admin's reason for resetting a second
//! factor). Each clear column becomes a `*_ciphertext` column: the rows already there are
//! encrypted in place under the installation's keyring, bound as the entity binds them.
//!
//! `legal_holds.reason_ciphertext` is nullable in the schema (SQLite adds no NOT NULL column
//! without a default) but always set: the entity reads it as required.

use lethe_entities::Keyring;
use lethe_entities::entity::legal_hold::HoldText;
use lethe_entities::entity::{operator_event, request, request_event};
use sea_orm_migration::prelude::*;

use crate::sealing::SealedColumn;

/// The migration, with the keyring it encrypts under.
pub(crate) struct Migration {
    keyring: Keyring,
}

impl Migration {
    /// The migration for an installation whose keyring is `keyring`.
    pub(crate) fn new(keyring: &Keyring) -> Self {
        Self { keyring: keyring.clone() }
    }
}

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000015_free_text_encrypted"
    }
}

/// Every column this migration encrypts.
const COLUMNS: [SealedColumn; 7] = [
    SealedColumn {
        table: "request_events",
        clear: "reason",
        sealed: "reason_ciphertext",
        owners: &["organization_id", "request_id", "id"],
        context: |ids| request_event::reason_context(ids[0], ids[1], ids[2]),
    },
    SealedColumn {
        table: "requests",
        clear: "denial_reason",
        sealed: "denial_reason_ciphertext",
        owners: &["organization_id", "id"],
        context: |ids| request::Model::denial_reason_context(ids[0], ids[1]),
    },
    SealedColumn {
        table: "requests",
        clear: "extension_reason",
        sealed: "extension_reason_ciphertext",
        owners: &["organization_id", "id"],
        context: |ids| request::Model::extension_reason_context(ids[0], ids[1]),
    },
    SealedColumn {
        table: "legal_holds",
        clear: "reason",
        sealed: "reason_ciphertext",
        owners: &["organization_id", "id"],
        context: |ids| HoldText::Reason.context(ids[0], ids[1]),
    },
    SealedColumn {
        table: "legal_holds",
        clear: "matter",
        sealed: "matter_ciphertext",
        owners: &["organization_id", "id"],
        context: |ids| HoldText::Matter.context(ids[0], ids[1]),
    },
    SealedColumn {
        table: "legal_holds",
        clear: "release_reason",
        sealed: "release_reason_ciphertext",
        owners: &["organization_id", "id"],
        context: |ids| HoldText::ReleaseReason.context(ids[0], ids[1]),
    },
    SealedColumn {
        table: "operator_events",
        clear: "reason",
        sealed: "reason_ciphertext",
        owners: &["organization_id", "id"],
        context: |ids| operator_event::reason_context(ids[0], ids[1]),
    },
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in &COLUMNS {
            column.seal(manager, &self.keyring).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS.iter().rev() {
            column.open(manager, &self.keyring).await?;
        }
        Ok(())
    }
}
