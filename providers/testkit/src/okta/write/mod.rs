//! The write endpoints, with Okta's semantics: new ids on create, validation errors for
//! duplicates, user lifecycle transitions, delete only after deactivation, group rules
//! created inactive, deleted objects gone for good. One file per family of resources.

mod apps;
mod authz;
mod group_rules;
mod groups;
mod meta;
mod policies;
mod roles;
mod users;
mod zones;

pub(crate) use policies::invalid_type;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;

use super::Shared;
use super::api::{ApiError, Params};

type S = State<Arc<Shared>>;
type Q = Query<Params>;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .merge(users::routes())
        .merge(groups::routes())
        .merge(group_rules::routes())
        .merge(roles::routes())
        .merge(apps::routes())
        .merge(policies::routes())
        .merge(zones::routes())
        .merge(meta::routes())
        .merge(authz::routes())
}

/// Applies the lifecycle `action` (`activate` or `deactivate`) to `value`, the object `id` of
/// type `what` if it exists, and returns it changed; Okta answers 404 for any other action.
pub(crate) fn set_lifecycle_status<'v>(
    value: Option<&'v mut serde_json::Value>,
    id: &str,
    what: &str,
    action: &str,
    now: String,
) -> Result<&'v mut serde_json::Value, ApiError> {
    let status = match action {
        "activate" => "ACTIVE",
        "deactivate" => "INACTIVE",
        other => return Err(ApiError::not_found(other, "Lifecycle operation")),
    };
    let value = value.ok_or_else(|| ApiError::not_found(id, what))?;
    value["status"] = serde_json::json!(status);
    value["lastUpdated"] = serde_json::json!(now);
    Ok(value)
}

pub(crate) fn duplicate(field: &str) -> ApiError {
    ApiError::validation(
        field,
        format!("{field}: An object with this field already exists in the current organization"),
    )
}

pub(super) fn forbidden(summary: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "E0000006", summary)
}

pub(super) fn unsupported(summary: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "E0000060", summary)
}
