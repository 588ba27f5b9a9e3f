//! Art. 19 recipient tasks: when fulfilment of an erasure, rectification or restriction request
//! starts, every recipient named by the data map of every store of the organization becomes a
//! task for an operator (notify it, with a note) or an admin (waive it, with a reason).
//!
//! Every store whose map names recipients counts, whether or not the person was located there:
//! what a recipient holds was disclosed in the past, and a store that no longer has the
//! person's rows (or cannot be searched right now) proves nothing about what the recipient
//! still has. Notifying costs an operator a message; an admin waives what clearly does not
//! apply.

use lethe_entities::domain::enums::RequestKind;
use lethe_entities::entity::{recipient_task, store};
use lethe_entities::webhook::{self, Announcement, EventType};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use time::OffsetDateTime;
use uuid::Uuid;

/// Whether requests of `kind` notify recipients: erasure (Art. 17), rectification (Art. 16)
/// and restriction (Art. 18) are the ones Art. 19 names.
pub fn applies_to(kind: RequestKind) -> bool {
    matches!(kind, RequestKind::Erasure | RequestKind::Rectification | RequestKind::Restriction)
}

/// Creates the missing recipient tasks of a request: one per recipient of every store's saved
/// data map (idempotent: the unique (request, store, recipient) index keeps each once). Each
/// new task is announced to webhooks (`task.waiting`).
pub async fn ensure(
    db: &impl ConnectionTrait,
    organization: Uuid,
    request: Uuid,
    stores: &[store::Model],
) -> Result<(), DbErr> {
    let now = OffsetDateTime::now_utc();
    for s in stores {
        let Some(map) = s.saved_map() else { continue };
        for recipient in &map.recipients {
            let tables = (!recipient.tables.is_empty())
                .then(|| serde_json::to_value(&recipient.tables).expect("table names serialise"));
            let task = recipient_task::ActiveModel::waiting(
                organization,
                request,
                (s.id, &s.name),
                (&recipient.name, recipient.contact.as_deref(), &recipient.instructions),
                tables,
                now,
            );
            let task_id = task.id.clone().unwrap();
            let inserted = recipient_task::Entity::insert(task)
                .on_conflict_do_nothing_on([
                    recipient_task::Column::RequestId,
                    recipient_task::Column::StoreId,
                    recipient_task::Column::Recipient,
                ])
                .exec_without_returning(db)
                .await?;
            if matches!(inserted, sea_orm::TryInsertResult::Inserted(1)) {
                let data = serde_json::json!({ "waits_for": "recipient", "store_id": s.id, "task_id": task_id });
                webhook::announce(db, Announcement::new(organization, EventType::TaskWaiting, Some(request), data))
                    .await?;
            }
        }
    }
    Ok(())
}

/// Whether every recipient task of the request is notified or waived (true when it has none).
pub async fn all_settled(db: &impl ConnectionTrait, organization: Uuid, request: Uuid) -> Result<bool, DbErr> {
    let tasks = recipient_task::Model::of_request(db, organization, request).await?;
    Ok(tasks.iter().all(|t| t.status.is_settled()))
}
