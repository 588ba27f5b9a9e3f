//! Mailing one of a request's notices to the person (received, extended, denied, completed), in
//! the language they chose, under the organization's branding, with the link to the request's
//! status page; used by the notice job ([`crate::jobs::send_notice`]) and by an answer that
//! mails the acknowledgement first ([`crate::acknowledge`]).

use lethe_entities::domain::enums::IdentityKind;
use lethe_entities::entity::{organization, request, subject_identity};
use sea_orm::EntityTrait;

use crate::context::JobContext;
use crate::error::{JobError, Missing};
use crate::i18n::{Locale, Terms};
use crate::mail::{Branding, CompletedMail, DeniedMail, ExtendedMail, MailError, Mailer, ReceivedMail, RequestNotice};
use crate::portal_link;
use crate::queue::Notice;
/// Mails `notice` about `req` to its verified address (nothing when the identities are gone).
pub async fn deliver(ctx: &JobContext, req: &request::Model, notice_kind: Notice) -> Result<(), JobError> {
    let org = organization::Entity::find_by_id(req.organization_id).one(&ctx.db).await?.ok_or(Missing::Organization)?;
    let Some(email) = subject_identity::Model::of_request(&ctx.db, req.organization_id, req.id)
        .await?
        .into_iter()
        .find(|i| i.kind == IdentityKind::Email)
    else {
        tracing::info!(request_id = %req.id, "no notice sent: the request's identities are gone");
        return Ok(());
    };
    let email = email.open(&ctx.keyring).map_err(|_| JobError::Crypto)?;
    let public_url = &ctx.exports.public_url;
    let locale = Locale::from_stored(&req.locale);
    let notice = RequestNotice {
        branding: Branding::of(&org, public_url, locale),
        kind: req.kind,
        due_at: req.due_at,
        status_url: portal_link::status_url(public_url, &org.slug, &portal_link::status_token(&ctx.keyring, req.id)),
    };
    let reason = match notice_kind {
        Notice::Extended => req.extension_reason(&ctx.keyring),
        Notice::Denied => req.denial_reason(&ctx.keyring),
        Notice::Received | Notice::Completed => Ok(None),
    };
    let reason = reason.map_err(|_| JobError::Crypto)?;
    send(&ctx.mailer, &email, notice_kind, notice, reason).await?;
    tracing::info!(request_id = %req.id, notice = notice_kind.name(), transport = ctx.mailer.transport_name(), "notice sent");
    Ok(())
}

async fn send(
    mailer: &Mailer,
    to: &str,
    kind: Notice,
    notice: RequestNotice,
    reason: Option<String>,
) -> Result<(), MailError> {
    let terms = Terms::of(notice.branding.locale);
    match kind {
        Notice::Received => mailer.send(to, &ReceivedMail { notice }).await,
        Notice::Extended => mailer.send(to, &ExtendedMail { notice, reason }).await,
        Notice::Denied => {
            let reason = terms.denial(reason.as_deref().unwrap_or("other"));
            mailer.send(to, &DeniedMail { notice, reason }).await
        }
        Notice::Completed => mailer.send(to, &CompletedMail { notice }).await,
    }
}
