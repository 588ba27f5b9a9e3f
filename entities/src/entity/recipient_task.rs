//! Notifying one recipient of a store's data (GDPR Art. 19): a processor the data map names
//! (e.g. a mailing service) must be told that the person's data was erased, rectified or
//! restricted. Created when fulfilment of such a request starts, settled by people: an operator
//! notifies (with a note, kept on the timeline, encrypted), an admin waives (with a reason).
//!
//! ```text
//! waiting --notify--> notified
//!    +-----waive----> waived
//! ```
//!
//! [`Model::settle`] is the one writer of the status: a compare-and-set on `waiting` with the
//! timeline event, in the caller's transaction.

use sea_orm::QueryOrder;
use sea_orm::entity::prelude::*;

use sea_orm::sea_query::Expr;
use time::OffsetDateTime;

use crate::domain::enums::{EventKind, RecipientStatus};
use crate::entity::request::Actor;
use crate::entity::request_event;

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

/// How people settle a recipient task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientStep {
    /// An operator notified the recipient.
    Notify,
    /// An admin waived the notification.
    Waive,
}

impl RecipientStep {
    /// The transition table: where the step takes a task in `from` (`None`: refused).
    pub fn next(self, from: RecipientStatus) -> Option<RecipientStatus> {
        match (self, from) {
            (Self::Notify, RecipientStatus::Waiting) => Some(RecipientStatus::Notified),
            (Self::Waive, RecipientStatus::Waiting) => Some(RecipientStatus::Waived),
            _ => None,
        }
    }

    /// The timeline event the step records.
    pub fn event_kind(self) -> EventKind {
        match self {
            Self::Notify => EventKind::RecipientNotified,
            Self::Waive => EventKind::RecipientWaived,
        }
    }
}

impl ActiveModel {
    /// A new task, `waiting`: the only status a recipient task is created in. `names` are the
    /// store's (id, name) and the recipient's name, contact and instructions from the map.
    pub fn waiting(
        organization: Uuid,
        request: Uuid,
        store: (Uuid, &str),
        recipient: (&str, Option<&str>, &str),
        tables: Option<Json>,
        now: OffsetDateTime,
    ) -> Self {
        use sea_orm::ActiveValue::Set;
        Self {
            id: Set(Uuid::now_v7()),
            organization_id: Set(organization),
            request_id: Set(request),
            store_id: Set(store.0),
            store_name: Set(store.1.to_owned()),
            recipient: Set(recipient.0.to_owned()),
            contact: Set(recipient.1.map(str::to_owned)),
            instructions: Set(recipient.2.to_owned()),
            tables: Set(tables),
            status: Set(RecipientStatus::Waiting),
            settled_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
    }
}

impl Model {
    /// Settles this task by `step` (compare-and-set on `waiting`) with the actor's event and
    /// text (sealed for this request) on the request's timeline, in the caller's transaction.
    /// Returns whether it moved.
    pub async fn settle(
        &self,
        db: &impl ConnectionTrait,
        step: RecipientStep,
        actor: Actor,
        text: Option<request_event::SealedReason>,
    ) -> Result<bool, DbErr> {
        let Some(to) = step.next(self.status) else { return Ok(false) };
        let now = OffsetDateTime::now_utc();
        let changed = Entity::update_many()
            .col_expr(Column::Status, Expr::value(to))
            .col_expr(Column::SettledAt, Expr::value(Some(now)))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::Id.eq(self.id))
            .filter(Column::Status.eq(self.status))
            .exec(db)
            .await?;
        if changed.rows_affected != 1 {
            return Ok(false);
        }
        let detail =
            serde_json::json!({ "store": self.store_name, "recipient": self.recipient, "recipient_task": self.id });
        request_event::ActiveModel::record(
            self.organization_id,
            self.request_id,
            actor,
            step.event_kind(),
            None,
            text,
            Some(detail),
        )
        .insert_announced(db)
        .await?;
        Ok(true)
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_waiting_task_is_settled() {
        use RecipientStatus::*;
        let mut allowed = Vec::new();
        for step in [RecipientStep::Notify, RecipientStep::Waive] {
            for from in [Waiting, Notified, Waived] {
                if let Some(to) = step.next(from) {
                    allowed.push((step, from, to));
                }
            }
        }
        assert_eq!(allowed, vec![(RecipientStep::Notify, Waiting, Notified), (RecipientStep::Waive, Waiting, Waived)]);
    }
}
