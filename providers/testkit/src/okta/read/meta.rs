//! User types and the user profile schema.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde_json::{Value, json};

use super::S;
use crate::okta::Shared;
use crate::okta::api::{ApiError, ApiResult, ok};
use crate::okta::model::Org;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/meta/types/user", get(user_types))
        .route("/api/v1/meta/types/user/{id}", get(user_type))
        .route("/api/v1/meta/schemas/user/{id}", get(user_schema))
}

async fn user_types(State(s): S) -> ApiResult {
    let org = s.read();
    ok(Value::Array(
        org.user_types
            .values()
            .map(|t| type_json(&org, t))
            .collect(),
    ))
}

async fn user_type(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    org.user_types
        .get(&id)
        .map(|t| type_json(&org, t))
        .map_or_else(|| Err(ApiError::not_found(&id, "UserType")), ok)
}

/// A user type with its links: itself, and the schema of its users' profiles.
pub(crate) fn type_json(org: &Org, t: &Value) -> Value {
    let mut t = t.clone();
    let id = t["id"].as_str().unwrap_or_default();
    let schema = org.type_schemas.get(id).cloned().unwrap_or_default();
    t["_links"] = json!({
        "self": {"href": format!("{}/api/v1/meta/types/user/{id}", org.base)},
        "schema": {"href": format!("{}/api/v1/meta/schemas/user/{schema}", org.base)},
    });
    t
}

async fn user_schema(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    schema_json(&org, &id).map_or_else(|| Err(ApiError::not_found(&id, "UserSchema")), ok)
}

/// A schema as the API serves it, by schema id or `default`.
pub(crate) fn schema_json(org: &Org, id: &str) -> Option<Value> {
    let sid = org.schema_id(id)?;
    let mut schema = org.schemas.get(&sid)?.clone();
    schema["id"] = json!(format!("{}/meta/schemas/user/{sid}", org.base));
    Some(schema)
}
