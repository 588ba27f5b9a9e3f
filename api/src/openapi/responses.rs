//! The error answers many endpoints share, for their OpenAPI annotations: an endpoint lists
//! `Authenticated`, `Invalid`, `RequestNotFound`, ... in its `responses(...)` instead of
//! spelling each problem again. Each is an RFC 9457 problem document
//! ([`crate::error::Problem`], `application/problem+json`) whose description names the stable
//! `code`s it can carry. The generated document is the same as with the responses written out.

use std::collections::BTreeMap;

use utoipa::IntoResponses;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

/// A problem+json response with `description`.
pub(super) fn problem(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
        )
        .build()
        .into()
}

/// Declares a type whose responses are the given problems: `(status, description)`.
macro_rules! problems {
    ($(#[$doc:meta])* $name:ident: $(($status:literal, $description:literal)),+ $(,)?) => {
        $(#[$doc])*
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                BTreeMap::from([$(($status.to_owned(), problem($description))),+])
            }
        }
    };
}

problems!(
    /// `401` without a valid token or key, `403` without the permission, `429` over the
    /// caller's rate limit.
    Authenticated: ("401", "`unauthenticated` or `invalid_token`"), ("403", "`forbidden`"), ("429", "`rate_limited`")
);
problems!(
    /// `401` without a valid token or key, `403` for anyone but an admin, `429` over the caller's
    /// rate limit.
    AdminOnly: ("401", "`unauthenticated` or `invalid_token`"), ("403", "`forbidden`: admins only"), ("429", "`rate_limited`")
);
problems!(
    /// `422`: a field is invalid (`errors[]` names it) or the body cannot be read.
    Invalid: ("422", "`validation_failed` or `invalid_body`")
);
problems!(
    /// `400`: a query parameter cannot be read.
    InvalidQuery: ("400", "`invalid_query`")
);
problems!(
    /// `404`: no request with this id in the caller's organization.
    RequestNotFound: ("404", "`request_not_found`")
);
problems!(
    /// `404`: no store with this id in the caller's organization.
    StoreNotFound: ("404", "`store_not_found`")
);
problems!(
    /// `404`: no retention policy with this id in the caller's organization.
    PolicyNotFound: ("404", "`policy_not_found`")
);
problems!(
    /// `409`: the request's state does not allow the action, or it changed meanwhile.
    InvalidTransition: ("409", "`invalid_transition` or `concurrent_modification`")
);
problems!(
    /// `429`: too many calls from this client.
    RateLimited: ("429", "`rate_limited`")
);
problems!(
    /// `429` over the address's budget of password and code checks (or its request budget),
    /// `503` when too many passwords are being checked at once.
    SignInLimited: ("429", "`rate_limited`, or `too_many_sign_ins`: too many password or code checks from this address (every door that checks one shares the budget); `Retry-After` says when to try again"), ("503", "`overloaded`: too many passwords are being checked right now; `Retry-After` says when to try again")
);
problems!(
    /// `503`: too many passwords are being hashed at once.
    Overloaded: ("503", "`overloaded`: too many passwords are being hashed right now; `Retry-After` says when to try again")
);
problems!(
    /// `422`: a field is invalid (`errors[]` names it).
    ValidationFailed: ("422", "`validation_failed`")
);
problems!(
    /// `404`: no such request in the caller's organization, or no such task of it.
    TaskNotFound: ("404", "`request_not_found` or `task_not_found`")
);
problems!(
    /// `502`: the customer's store could not be used; the code says why.
    StoreFailed: ("502", "The store failed: `store_unreachable`, `store_auth_failed`, ...")
);
