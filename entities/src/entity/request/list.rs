//! Filtered, paginated listing of an organization's requests.

use sea_orm::entity::prelude::*;
use sea_orm::{Condition, PaginatorTrait, QueryOrder, QuerySelect};
use time::OffsetDateTime;

use super::{Column, Entity, Model};
use crate::domain::enums::{Regime, RequestKind, RequestState};

/// Filters for [`Model::list`]; all optional and combined with AND.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only requests in this state.
    pub state: Option<RequestState>,
    /// Only requests of this kind.
    pub kind: Option<RequestKind>,
    /// Only requests due before this time.
    pub due_before: Option<OffsetDateTime>,
    /// Only open requests past their due date.
    pub overdue: bool,
    /// Only requests under this regime.
    pub regime: Option<Regime>,
    /// Only these requests (a search's matches).
    pub ids: Option<Vec<Uuid>>,
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct Page {
    /// The requests on this page, most urgent (earliest due) first.
    pub items: Vec<Model>,
    /// How many requests match in total.
    pub total: u64,
}

const TERMINAL: [RequestState; 3] = [RequestState::Completed, RequestState::Denied, RequestState::Canceled];

impl Model {
    /// Lists `organization`'s requests matching `filter`; `page` starts at 1.
    pub async fn list(
        db: &impl ConnectionTrait,
        organization: Uuid,
        filter: &ListFilter,
        page: u64,
        per_page: u64,
        now: OffsetDateTime,
    ) -> Result<Page, DbErr> {
        let mut cond = Condition::all().add(Column::OrganizationId.eq(organization));
        if let Some(state) = filter.state {
            cond = cond.add(Column::State.eq(state));
        }
        if let Some(kind) = filter.kind {
            cond = cond.add(Column::Kind.eq(kind));
        }
        if let Some(before) = filter.due_before {
            cond = cond.add(Column::DueAt.lt(before));
        }
        if let Some(regime) = filter.regime {
            cond = cond.add(Column::Regime.eq(regime));
        }
        if let Some(ids) = &filter.ids {
            cond = cond.add(Column::Id.is_in(ids.iter().copied()));
        }
        if filter.overdue {
            cond = cond.add(Column::DueAt.lt(now)).add(Column::State.is_not_in(TERMINAL));
        }
        let query = Entity::find().filter(cond).order_by_asc(Column::DueAt).order_by_asc(Column::Id);
        let paginator = query.paginate(db, per_page);
        let total = paginator.num_items().await?;
        let items = paginator.fetch_page(page.saturating_sub(1)).await?;
        Ok(Page { items, total })
    }

    /// How many of `organization`'s requests are in each state (states without any left out).
    pub async fn count_by_state(
        db: &impl ConnectionTrait,
        organization: Uuid,
    ) -> Result<Vec<(RequestState, u64)>, DbErr> {
        let rows: Vec<(RequestState, i64)> = Entity::find()
            .select_only()
            .column(Column::State)
            .column_as(Column::Id.count(), "n")
            .filter(Column::OrganizationId.eq(organization))
            .group_by(Column::State)
            .into_tuple()
            .all(db)
            .await?;
        Ok(rows.into_iter().map(|(state, n)| (state, u64::try_from(n).unwrap_or(0))).collect())
    }
}
