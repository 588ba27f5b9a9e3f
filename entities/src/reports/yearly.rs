//! The yearly request metrics (CCPA regulations § 7102(a)): for the requests received in a
//! calendar year, per kind, how many were received, complied with in whole or in part, denied
//! (and of those, denied because the person never verified), withdrawn or still open, and the
//! median and mean days to respond.
//!
//! "Responded" is completed or denied; the days run from `received_at` to `closed_at`. A
//! completed request counts as complied with *in part* when one of its stores was waived (an
//! operator skipped it, with a reason), otherwise *in whole*. Two statements: the counts, and
//! the medians per kind and overall ([`super::percentiles`]).

use std::collections::BTreeMap;

use sea_orm::{ActiveEnum, ConnectionTrait, DbErr, Iterable, Value};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::percentiles::{Ranking, spreads};
use super::{Year, sql, tenths};
use crate::domain::enums::{Regime, RequestKind};

/// One kind's figures (or all kinds' together).
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Figures {
    /// Requests received in the year (whether or not the person verified).
    pub received: i64,
    /// Completed, with every store worked.
    pub complied_in_whole: i64,
    /// Completed, with at least one store waived by an operator.
    pub complied_in_part: i64,
    /// Denied.
    pub denied: i64,
    /// Of `denied`: denied without the person ever verifying their identity.
    pub denied_unverified: i64,
    /// Withdrawn by the person or canceled by an operator.
    pub canceled: i64,
    /// Not closed yet (including those waiting for the person to verify).
    pub open: i64,
    /// Responded to: completed or denied; the days below are over these.
    pub responded: i64,
    /// Median days from receipt to the response; `null` when none was responded to.
    pub median_days: Option<f64>,
    /// Mean days from receipt to the response; `null` when none was responded to.
    pub mean_days: Option<f64>,
}

/// One kind's row.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct KindFigures {
    /// The kind of request.
    pub kind: RequestKind,
    /// The CCPA's name for it: `know`, `delete`, `correct`, `opt_out`, `limit`; `null` for a
    /// kind the CCPA has no right for (objection).
    pub ccpa_right: Option<&'static str>,
    /// Its figures.
    #[serde(flatten)]
    pub figures: Figures,
}

/// The metrics of one year.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct YearlyMetrics {
    /// The calendar year (UTC) the requests were received in.
    pub year: i32,
    /// Only requests under this law; `null`: every law.
    pub regime: Option<Regime>,
    /// One row per kind, every kind present (zeros where none was received).
    pub kinds: Vec<KindFigures>,
    /// All kinds together.
    pub total: Figures,
}

/// The CCPA's name for a kind of request.
pub fn ccpa_right(kind: RequestKind) -> Option<&'static str> {
    match kind {
        RequestKind::Access => Some("know"),
        RequestKind::Erasure => Some("delete"),
        RequestKind::Rectification => Some("correct"),
        RequestKind::OptOut => Some("opt_out"),
        RequestKind::Restriction => Some("limit"),
        RequestKind::Objection => None,
    }
}

/// The counts and the sum of days, per kind.
const COUNTS: &str = "
SELECT r.kind AS kind,
  COUNT(*) AS received,
  SUM(CASE WHEN r.state = 'completed' THEN 1 ELSE 0 END) AS completed,
  SUM(CASE WHEN r.state = 'completed' AND r.id IN (
        SELECT t.request_id FROM store_tasks t WHERE t.organization_id = $1 AND t.status = 'waived')
      THEN 1 ELSE 0 END) AS in_part,
  SUM(CASE WHEN r.state = 'denied' THEN 1 ELSE 0 END) AS denied,
  SUM(CASE WHEN r.state = 'denied' AND r.verified_at IS NULL THEN 1 ELSE 0 END) AS denied_unverified,
  SUM(CASE WHEN r.state = 'canceled' THEN 1 ELSE 0 END) AS canceled,
  SUM(CASE WHEN r.state IN ('completed', 'denied') AND r.closed_at IS NOT NULL THEN {days} END) AS days
{from}
GROUP BY r.kind";

/// The requests of the year: parameters organization, start, end (and regime).
fn from(regime: Option<Regime>) -> String {
    let mut from =
        "FROM requests r WHERE r.organization_id = $1 AND r.received_at >= $2 AND r.received_at < $3".to_owned();
    if regime.is_some() {
        from.push_str(" AND r.regime = $4");
    }
    from
}

impl YearlyMetrics {
    /// The metrics of `organization` for `year`, of requests under `regime` or every law.
    pub async fn compute(
        db: &impl ConnectionTrait,
        organization: Uuid,
        year: Year,
        regime: Option<Regime>,
    ) -> Result<Self, DbErr> {
        let backend = db.get_database_backend();
        let mut values: Vec<Value> = vec![organization.into(), year.start().into(), year.end().into()];
        if let Some(regime) = regime {
            values.push(regime.into());
        }
        let from = from(regime);
        let days = sql::days(backend, "r.received_at", "r.closed_at");
        let counts = COUNTS.replace("{days}", &days).replace("{from}", &from);
        let rows = db.query_all_raw(sql::statement(backend, &counts, values.clone())).await?;
        let mut by_kind: BTreeMap<String, (Figures, f64)> = BTreeMap::new();
        for row in rows {
            let kind: String = row.try_get("", "kind")?;
            by_kind.insert(kind, counted(&row)?);
        }
        let responded = format!("{from} AND r.state IN ('completed', 'denied') AND r.closed_at IS NOT NULL");
        let ranking = Ranking { from: &responded, values, group: "r.kind", value: &days };
        let (medians, overall) = spreads(db, ranking, true).await?;

        let mut total = (Figures::default(), 0.0);
        let kinds = RequestKind::iter()
            .map(|kind| {
                let name = kind.to_value();
                let (mut figures, days) = by_kind.remove(&name).unwrap_or_default();
                add(&mut total, &figures, days);
                figures.mean_days = mean(days, figures.responded);
                figures.median_days = medians.get(&name).map(|s| tenths(s.median));
                KindFigures { kind, ccpa_right: ccpa_right(kind), figures }
            })
            .collect();
        let (mut total, days) = total;
        total.mean_days = mean(days, total.responded);
        total.median_days = overall.map(|s| tenths(s.median));
        Ok(Self { year: year.number(), regime, kinds, total })
    }
}

/// One kind's counts and its sum of days to respond.
fn counted(row: &sea_orm::QueryResult) -> Result<(Figures, f64), DbErr> {
    let get = |column: &str| row.try_get::<Option<i64>>("", column).map(Option::unwrap_or_default);
    let (received, completed, in_part) = (get("received")?, get("completed")?, get("in_part")?);
    let (denied, canceled) = (get("denied")?, get("canceled")?);
    let figures = Figures {
        received,
        complied_in_whole: completed - in_part,
        complied_in_part: in_part,
        denied,
        denied_unverified: get("denied_unverified")?,
        canceled,
        open: received - completed - denied - canceled,
        responded: completed + denied,
        median_days: None,
        mean_days: None,
    };
    Ok((figures, row.try_get::<Option<f64>>("", "days")?.unwrap_or_default()))
}

fn add(total: &mut (Figures, f64), figures: &Figures, days: f64) {
    let t = &mut total.0;
    t.received += figures.received;
    t.complied_in_whole += figures.complied_in_whole;
    t.complied_in_part += figures.complied_in_part;
    t.denied += figures.denied;
    t.denied_unverified += figures.denied_unverified;
    t.canceled += figures.canceled;
    t.open += figures.open;
    t.responded += figures.responded;
    total.1 += days;
}

fn mean(days: f64, responded: i64) -> Option<f64> {
    (responded > 0).then(|| tenths(days / responded as f64))
}
