//! User types and the user profile schema.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::post;
use serde_json::{Value, json};

use super::{S, duplicate, forbidden};
use crate::okta::Shared;
use crate::okta::api::{ApiError, ApiResult, created, json_body, no_content, ok};
use crate::okta::model::ts;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/meta/types/user", post(create_user_type))
        .route(
            "/api/v1/meta/types/user/{id}",
            post(update_user_type)
                .put(update_user_type)
                .delete(delete_user_type),
        )
        .route("/api/v1/meta/schemas/user/default", post(update_schema))
}

async fn create_user_type(State(s): S, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let name = body["name"].as_str().unwrap_or_default().to_string();
    if name.is_empty() || body["displayName"].as_str().is_none_or(str::is_empty) {
        return Err(ApiError::validation(
            "name",
            "name, displayName: The fields cannot be left blank",
        ));
    }
    if org.user_types.values().any(|t| t["name"] == name.as_str()) {
        return Err(duplicate("name"));
    }
    let id = org.new_id("oty");
    let now = ts(org.write_time());
    let value = json!({
        "id": id, "name": name, "displayName": body["displayName"], "description": body["description"],
        "default": false, "createdBy": org.me, "lastUpdatedBy": org.me, "created": now, "lastUpdated": now,
    });
    org.user_types.insert(id, value.clone());
    created(value)
}

async fn update_user_type(State(s): S, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let now = ts(org.write_time());
    let t = org
        .user_types
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(&id, "UserType"))?;
    if let Some(name) = body.get("name")
        && *name != t["name"]
    {
        return Err(ApiError::validation(
            "name",
            "name: The name of a user type cannot be changed",
        ));
    }
    for field in ["displayName", "description"] {
        if let Some(v) = body.get(field) {
            t[field] = v.clone();
        }
    }
    t["lastUpdated"] = json!(now);
    ok(t.clone())
}

async fn delete_user_type(State(s): S, Path(id): Path<String>) -> ApiResult {
    let mut org = s.write();
    let t = org
        .user_types
        .get(&id)
        .ok_or_else(|| ApiError::not_found(&id, "UserType"))?;
    if t["default"] == true {
        return Err(forbidden("The default user type cannot be deleted."));
    }
    if org.users.values().any(|u| u.type_id == id) {
        return Err(ApiError::bad_request("The user type is in use by users."));
    }
    org.user_types.remove(&id);
    no_content()
}

/// Partial update of the custom properties; a property set to `null` is removed. Base
/// properties' definitions are Okta's and stay as they are.
async fn update_schema(State(s): S, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let updates = body
        .pointer("/definitions/custom/properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let now = ts(org.write_time());
    let props = org
        .schema
        .pointer_mut("/definitions/custom/properties")
        .and_then(Value::as_object_mut)
        .expect("the schema has custom properties");
    for (name, definition) in updates {
        if definition.is_null() {
            props.remove(&name);
        } else {
            if definition["type"].as_str().is_none() {
                return Err(ApiError::validation(
                    "type",
                    format!("{name}.type: The field cannot be left blank"),
                ));
            }
            props.insert(name, definition);
        }
    }
    org.schema["lastUpdated"] = json!(now);
    let mut schema = org.schema.clone();
    schema["id"] = json!(format!("{}/meta/schemas/user/default", org.base));
    ok(schema)
}
