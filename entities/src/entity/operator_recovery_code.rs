//! Recovery codes of an operator's second factor: ten issued at enrolment, shown once, stored
//! as keyed digests, each accepted once instead of a TOTP code.

use sea_orm::entity::prelude::*;

/// One recovery code.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "operator_recovery_codes")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// The operator.
    pub operator_id: Uuid,
    /// Keyed digest (HMAC-SHA256) of the code; the code itself is never stored.
    pub digest: String,
    /// When it was used; a used code is refused.
    pub used_at: Option<TimeDateTimeWithTimeZone>,
    /// When it was issued.
    pub created_at: TimeDateTimeWithTimeZone,
}

/// Relations of a recovery code.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The digest scope of `operator`'s codes: a code is valid for one operator only.
    pub fn scope(operator: Uuid) -> String {
        format!("operator-recovery-code/{operator}")
    }
}
