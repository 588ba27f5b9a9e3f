//! Outbound webhooks: each organization's endpoints (URL and signing secrets encrypted, the
//! events each wants), the outbox of announced events (written in the transaction of the change
//! it announces), one delivery per event and endpoint (status, attempts, when next, a lease so
//! two workers never send it at once), and every attempt (the delivery log). On PostgreSQL an
//! insert into the outbox wakes the workers of every process at its commit (a `NOTIFY` on the
//! channel their queues already listen on).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    OrganizationId,
    UrlCiphertext,
    Description,
    EventTypes,
    SecretCiphertext,
    PreviousSecretCiphertext,
    PreviousSecretExpiresAt,
    Enabled,
    DisabledReason,
    DisabledAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookEvents {
    Table,
    Id,
    OrganizationId,
    EventType,
    RequestId,
    Data,
    Payload,
    Dispatched,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    OrganizationId,
    EndpointId,
    EventId,
    RequestId,
    Status,
    Attempts,
    NextAttemptAt,
    LeaseUntil,
    LastHttpStatus,
    LastErrorCode,
    CreatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    OrganizationId,
    DeliveryId,
    At,
    HttpStatus,
    LatencyMs,
    ErrorCode,
    ResponseExcerpt,
}

/// PostgreSQL: an outbox insert notifies the channel the workers' queues listen on, at commit.
const NOTIFY_TRIGGER: &str = r#"
CREATE OR REPLACE FUNCTION lethe_webhook_events_notify() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('apalis::job::insert', '{"job_type":"lethe.webhooks"}');
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER webhook_events_notify AFTER INSERT ON webhook_events
  FOR EACH STATEMENT EXECUTE FUNCTION lethe_webhook_events_notify();
CREATE TRIGGER webhook_deliveries_notify AFTER INSERT OR UPDATE OF next_attempt_at ON webhook_deliveries
  FOR EACH STATEMENT EXECUTE FUNCTION lethe_webhook_events_notify();
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_endpoints(manager).await?;
        create_events(manager).await?;
        create_deliveries(manager).await?;
        create_attempts(manager).await?;
        if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
            manager.get_connection().execute_unprepared(NOTIFY_TRIGGER).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS lethe_webhook_events_notify() CASCADE")
                .await?;
        }
        manager.drop_table(Table::drop().table(WebhookAttempts::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(WebhookEvents::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(WebhookEndpoints::Table).to_owned()).await
    }
}

fn tenant(table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(table, column).to(Organizations::Table, Organizations::Id).to_owned()
}

async fn index(manager: &SchemaManager<'_>, index: IndexCreateStatement) -> Result<(), DbErr> {
    manager.create_index(index).await
}

async fn create_endpoints(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(WebhookEndpoints::Table)
                .col(pk_uuid(WebhookEndpoints::Id))
                .col(uuid(WebhookEndpoints::OrganizationId))
                .col(blob(WebhookEndpoints::UrlCiphertext))
                .col(string_len_null(WebhookEndpoints::Description, 200))
                .col(json(WebhookEndpoints::EventTypes))
                .col(blob(WebhookEndpoints::SecretCiphertext))
                .col(blob_null(WebhookEndpoints::PreviousSecretCiphertext))
                .col(timestamp_with_time_zone_null(WebhookEndpoints::PreviousSecretExpiresAt))
                .col(boolean(WebhookEndpoints::Enabled))
                .col(string_len_null(WebhookEndpoints::DisabledReason, 16))
                .col(timestamp_with_time_zone_null(WebhookEndpoints::DisabledAt))
                .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                .foreign_key(&mut tenant(WebhookEndpoints::Table, WebhookEndpoints::OrganizationId))
                .to_owned(),
        )
        .await?;
    index(
        manager,
        Index::create()
            .name("idx_webhook_endpoints_org")
            .table(WebhookEndpoints::Table)
            .col(WebhookEndpoints::OrganizationId)
            .to_owned(),
    )
    .await
}

async fn create_events(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(WebhookEvents::Table)
                .col(pk_uuid(WebhookEvents::Id))
                .col(uuid(WebhookEvents::OrganizationId))
                .col(string_len(WebhookEvents::EventType, 48))
                .col(uuid_null(WebhookEvents::RequestId))
                .col(json(WebhookEvents::Data))
                .col(json_null(WebhookEvents::Payload))
                .col(boolean(WebhookEvents::Dispatched))
                .col(timestamp_with_time_zone(WebhookEvents::CreatedAt))
                .foreign_key(&mut tenant(WebhookEvents::Table, WebhookEvents::OrganizationId))
                .to_owned(),
        )
        .await?;
    index(
        manager,
        Index::create()
            .name("idx_webhook_events_dispatched")
            .table(WebhookEvents::Table)
            .col(WebhookEvents::Dispatched)
            .col(WebhookEvents::Id)
            .to_owned(),
    )
    .await
}

async fn create_deliveries(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(WebhookDeliveries::Table)
                .col(pk_uuid(WebhookDeliveries::Id))
                .col(uuid(WebhookDeliveries::OrganizationId))
                .col(uuid(WebhookDeliveries::EndpointId))
                .col(uuid(WebhookDeliveries::EventId))
                .col(uuid_null(WebhookDeliveries::RequestId))
                .col(string_len(WebhookDeliveries::Status, 16))
                .col(integer(WebhookDeliveries::Attempts).default(0))
                .col(timestamp_with_time_zone(WebhookDeliveries::NextAttemptAt))
                .col(timestamp_with_time_zone_null(WebhookDeliveries::LeaseUntil))
                .col(integer_null(WebhookDeliveries::LastHttpStatus))
                .col(string_len_null(WebhookDeliveries::LastErrorCode, 32))
                .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                .col(timestamp_with_time_zone_null(WebhookDeliveries::FinishedAt))
                .foreign_key(&mut tenant(WebhookDeliveries::Table, WebhookDeliveries::OrganizationId))
                .foreign_key(
                    ForeignKey::create()
                        .from(WebhookDeliveries::Table, WebhookDeliveries::EndpointId)
                        .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(WebhookDeliveries::Table, WebhookDeliveries::EventId)
                        .to(WebhookEvents::Table, WebhookEvents::Id),
                )
                .to_owned(),
        )
        .await?;
    // One delivery per event and endpoint, however many workers fan the event out.
    index(
        manager,
        Index::create()
            .name("uq_webhook_deliveries_event_endpoint")
            .table(WebhookDeliveries::Table)
            .col(WebhookDeliveries::EventId)
            .col(WebhookDeliveries::EndpointId)
            .unique()
            .to_owned(),
    )
    .await?;
    index(
        manager,
        Index::create()
            .name("idx_webhook_deliveries_due")
            .table(WebhookDeliveries::Table)
            .col(WebhookDeliveries::Status)
            .col(WebhookDeliveries::NextAttemptAt)
            .to_owned(),
    )
    .await?;
    index(
        manager,
        Index::create()
            .name("idx_webhook_deliveries_endpoint_request")
            .table(WebhookDeliveries::Table)
            .col(WebhookDeliveries::EndpointId)
            .col(WebhookDeliveries::RequestId)
            .col(WebhookDeliveries::Status)
            .to_owned(),
    )
    .await
}

async fn create_attempts(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(WebhookAttempts::Table)
                .col(pk_uuid(WebhookAttempts::Id))
                .col(uuid(WebhookAttempts::OrganizationId))
                .col(uuid(WebhookAttempts::DeliveryId))
                .col(timestamp_with_time_zone(WebhookAttempts::At))
                .col(integer_null(WebhookAttempts::HttpStatus))
                .col(integer(WebhookAttempts::LatencyMs))
                .col(string_len_null(WebhookAttempts::ErrorCode, 32))
                .col(string_len_null(WebhookAttempts::ResponseExcerpt, 512))
                .foreign_key(&mut tenant(WebhookAttempts::Table, WebhookAttempts::OrganizationId))
                .foreign_key(
                    ForeignKey::create()
                        .from(WebhookAttempts::Table, WebhookAttempts::DeliveryId)
                        .to(WebhookDeliveries::Table, WebhookDeliveries::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
    index(
        manager,
        Index::create()
            .name("idx_webhook_attempts_delivery")
            .table(WebhookAttempts::Table)
            .col(WebhookAttempts::DeliveryId)
            .to_owned(),
    )
    .await
}
