//! Notifying one recipient of a store's data (GDPR Art. 19): a processor the data map names
//! (e.g. a mailing service) must be told that the person's data was erased, rectified or
//! restricted. Created when fulfilment of such a request starts, settled by people: an operator
//! notifies (with a note, kept on the timeline), an admin waives (with a reason).

use sea_orm::QueryOrder;
use sea_orm::entity::prelude::*;

use crate::domain::enums::RecipientStatus;

/// A request's task to notify one recipient named by one store's data map.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "recipient_tasks")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// The request.
    pub request_id: Uuid,
    /// The store whose data map names the recipient.
    pub store_id: Uuid,
    /// The store's name when the task was created.
    pub store_name: String,
    /// The recipient's name, as the data map gives it (unique per store and request).
    pub recipient: String,
    /// How to reach the recipient (organisational: a URL or role mailbox), from the map.
    pub contact: Option<String>,
    /// What the operator must do, from the map.
    pub instructions: String,
    /// The tables (or key patterns) disclosed to the recipient, from the map: `["customers"]`.
    pub tables: Option<Json>,
    /// Where the task stands.
    pub status: RecipientStatus,
    /// When it was notified or waived.
    pub settled_at: Option<TimeDateTimeWithTimeZone>,
    /// Creation time.
    pub created_at: TimeDateTimeWithTimeZone,
    /// Last change.
    pub updated_at: TimeDateTimeWithTimeZone,
}

/// Relations of a recipient task.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The recipient tasks of one request, by store and recipient name.
    pub async fn of_request(db: &impl ConnectionTrait, organization: Uuid, request: Uuid) -> Result<Vec<Self>, DbErr> {
        Entity::find()
            .filter(Column::OrganizationId.eq(organization))
            .filter(Column::RequestId.eq(request))
            .order_by_asc(Column::StoreName)
            .order_by_asc(Column::Recipient)
            .all(db)
            .await
    }

    /// The disclosed tables as a list (empty when the map names none).
    pub fn table_list(&self) -> Vec<String> {
        self.tables.clone().and_then(|t| serde_json::from_value(t).ok()).unwrap_or_default()
    }
}
