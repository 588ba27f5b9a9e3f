//! Taking due deliveries to send: a lease on each (so no other worker sends it meanwhile), for
//! deliveries that are pending, due, not leased (or whose lease lapsed: a worker died while
//! sending), of an enabled endpoint, and with no earlier pending delivery of the same request
//! to the same endpoint, so one request's events reach an endpoint in order.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};
use time::OffsetDateTime;
use uuid::Uuid;

/// The claim, with `{n}` for the n-th parameter: now, lease end, limit.
const CLAIM: &str = "
UPDATE webhook_deliveries SET lease_until = {2}
WHERE id IN (
  SELECT d.id FROM webhook_deliveries d
  JOIN webhook_endpoints e ON e.id = d.endpoint_id
  WHERE d.status = 'pending' AND d.next_attempt_at <= {1}
    AND (d.lease_until IS NULL OR d.lease_until < {1})
    AND e.enabled
    AND NOT EXISTS (
      SELECT 1 FROM webhook_deliveries p
      WHERE p.endpoint_id = d.endpoint_id AND p.request_id = d.request_id
        AND p.status = 'pending' AND p.event_id < d.event_id)
  ORDER BY d.next_attempt_at, d.event_id
  LIMIT {3} {lock})
RETURNING id";

/// The statement for `backend`.
fn statement(backend: DbBackend, now: OffsetDateTime, lease_until: OffsetDateTime, limit: u64) -> Statement {
    let (params, lock) = match backend {
        DbBackend::Postgres => (["$1", "$2", "$3"], "FOR UPDATE OF d SKIP LOCKED"),
        _ => (["?1", "?2", "?3"], ""),
    };
    let sql =
        CLAIM.replace("{1}", params[0]).replace("{2}", params[1]).replace("{3}", params[2]).replace("{lock}", lock);
    let values: Vec<Value> = vec![now.into(), lease_until.into(), (limit as i64).into()];
    Statement::from_sql_and_values(backend, sql, values)
}

/// Leases up to `limit` due deliveries until `lease_until`; returns their ids.
pub async fn due(
    db: &impl ConnectionTrait,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
    limit: u64,
) -> Result<Vec<Uuid>, DbErr> {
    let rows = db.query_all_raw(statement(db.get_database_backend(), now, lease_until, limit)).await?;
    rows.iter().map(|row| row.try_get::<Uuid>("", "id")).collect()
}
