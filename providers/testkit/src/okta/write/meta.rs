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
use crate::okta::model::{Profile, ts};
use crate::okta::read::{schema_json, type_json};
use crate::okta::seed::{add_schema, type_schema};

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/meta/types/user", post(create_user_type))
        .route(
            "/api/v1/meta/types/user/{id}",
            post(update_user_type)
                .put(update_user_type)
                .delete(delete_user_type),
        )
        .route("/api/v1/meta/schemas/user/{id}", post(update_schema))
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
    org.user_types.insert(id.clone(), value.clone());
    // A new type's users have the base attributes only, until custom ones are added to its
    // schema.
    let display = body["displayName"].as_str().unwrap_or_default().to_string();
    add_schema(&mut org, &id, type_schema(&name, &display));
    created(type_json(&org, &value))
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
    let t = t.clone();
    ok(type_json(&org, &t))
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
    if let Some(schema) = org.type_schemas.remove(&id) {
        org.schemas.remove(&schema);
    }
    no_content()
}

/// Partial update of the custom properties; a property set to `null` is removed, and with it
/// the values the users of the schema's type held for it. Base properties' definitions are
/// Okta's and stay as they are.
async fn update_schema(State(s): S, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let sid = org
        .schema_id(&id)
        .ok_or_else(|| ApiError::not_found(&id, "UserSchema"))?;
    let updates = body
        .pointer("/definitions/custom/properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let base: Vec<String> = org.schemas[&sid]
        .pointer("/definitions/base/properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for (name, definition) in &updates {
        if base.contains(name) {
            return Err(ApiError::validation(
                name,
                format!("{name}: A custom property cannot have the name of a base property"),
            ));
        }
        if !definition.is_null() && definition["type"].as_str().is_none() {
            return Err(ApiError::validation(
                "type",
                format!("{name}.type: The field cannot be left blank"),
            ));
        }
    }
    let now = ts(org.write_time());
    let schema = org.schemas.get_mut(&sid).expect("the schema");
    let props = schema
        .pointer_mut("/definitions/custom/properties")
        .and_then(Value::as_object_mut)
        .expect("a schema has custom properties");
    let mut removed = Vec::new();
    for (name, definition) in updates {
        if definition.is_null() {
            if props.remove(&name).is_some() {
                removed.push(name);
            }
        } else {
            props.insert(name, definition);
        }
    }
    schema["lastUpdated"] = json!(now);
    if !removed.is_empty() {
        let types: Vec<String> = org
            .type_schemas
            .iter()
            .filter(|(_, s)| **s == sid)
            .map(|(t, _)| t.clone())
            .collect();
        for user in org
            .users
            .values_mut()
            .filter(|u| types.contains(&u.type_id))
        {
            let mut profile = user.profile.to_map();
            if removed.iter().any(|name| profile.remove(name).is_some()) {
                user.profile = Profile::Written(Box::new(profile));
            }
        }
    }
    ok(schema_json(&org, &sid).expect("the schema"))
}
