//! The audit log of operators' changes made through the services (the console's own actions
//! record theirs where they happen).

use lethe_entities::entity::operator_event::{self, OperatorEventKind};
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ConnectionTrait};

use crate::auth::Principal;
use crate::auth::principal::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

/// Records an operator's change of kind `kind`, with `detail` (ids only), in `db`'s
/// transaction. API keys are not operators: their calls are known by the key's `last_used_at`.
pub async fn record(
    db: &impl ConnectionTrait,
    state: &AppState,
    principal: &Principal,
    kind: OperatorEventKind,
    detail: serde_json::Value,
) -> ApiResult<()> {
    if let Caller::Operator { id, .. } = principal.caller {
        let mut event = operator_event::ActiveModel::record(
            &state.keyring,
            principal.organization_id,
            id,
            kind,
            principal.ip,
            None,
        );
        event.detail = Set(Some(detail));
        event.insert(db).await?;
    }
    Ok(())
}
