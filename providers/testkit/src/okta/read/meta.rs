//! User types and the user profile schema.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde_json::{Value, json};

use super::S;
use crate::okta::Shared;
use crate::okta::api::{ApiError, ApiResult, ok};

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/meta/types/user", get(user_types))
        .route("/api/v1/meta/types/user/{id}", get(user_type))
        .route("/api/v1/meta/schemas/user/default", get(user_schema))
}

async fn user_types(State(s): S) -> ApiResult {
    let org = s.read();
    let with_links: Vec<Value> = org
        .user_types
        .values()
        .map(|t| {
            let mut t = t.clone();
            t["_links"] = json!({"self": {"href": format!("{}/api/v1/meta/types/user/{}", org.base, t["id"].as_str().unwrap_or_default())}});
            t
        })
        .collect();
    ok(Value::Array(with_links))
}

async fn user_type(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    org.user_types
        .get(&id)
        .cloned()
        .map_or_else(|| Err(ApiError::not_found(&id, "UserType")), ok)
}

async fn user_schema(State(s): S) -> ApiResult {
    let org = s.read();
    let mut schema = org.schema.clone();
    schema["id"] = json!(format!("{}/meta/schemas/user/default", org.base));
    ok(schema)
}
