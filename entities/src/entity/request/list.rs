//! Filtered, paginated listing of an organization's requests.

use sea_orm::entity::prelude::*;
use sea_orm::{Condition, PaginatorTrait, QueryOrder};
use time::OffsetDateTime;

use super::{Column, Entity, Model};
use crate::domain::enums::{RequestKind, RequestState};

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
        if filter.overdue {
            cond = cond.add(Column::DueAt.lt(now)).add(Column::State.is_not_in(TERMINAL));
        }
        let query = Entity::find().filter(cond).order_by_asc(Column::DueAt).order_by_asc(Column::Id);
        let paginator = query.paginate(db, per_page);
        let total = paginator.num_items().await?;
        let items = paginator.fetch_page(page.saturating_sub(1)).await?;
        Ok(Page { items, total })
    }
}
