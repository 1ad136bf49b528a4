//! Network zones: system zones are never deleted, zones in use neither.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{post, put};
use serde_json::{Value, json};

use super::policies::set_status_field;
use super::{S, duplicate, forbidden};
use crate::okta::Shared;
use crate::okta::api::{ApiError, ApiResult, created, json_body, no_content, ok};
use crate::okta::model::{Org, ts};

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/zones", post(create_zone))
        .route("/api/v1/zones/{id}", put(replace_zone).delete(delete_zone))
        .route(
            "/api/v1/zones/{id}/lifecycle/{action}",
            post(zone_lifecycle),
        )
}

fn validate_zone(org: &Org, body: &Value, except: Option<&str>) -> Result<(), ApiError> {
    let name = body["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        return Err(ApiError::validation(
            "name",
            "name: The field cannot be left blank",
        ));
    }
    if !matches!(body["type"].as_str(), Some("IP" | "DYNAMIC" | "DYNAMIC_V2")) {
        return Err(ApiError::validation(
            "type",
            "type: Must be IP, DYNAMIC or DYNAMIC_V2",
        ));
    }
    if org
        .zones
        .iter()
        .any(|(id, z)| Some(id.as_str()) != except && z["name"] == name)
    {
        return Err(duplicate("name"));
    }
    if !matches!(
        body.get("status").and_then(Value::as_str),
        None | Some("ACTIVE" | "INACTIVE")
    ) {
        return Err(ApiError::validation(
            "status",
            "status: Must be ACTIVE or INACTIVE",
        ));
    }
    Ok(())
}

/// The status a create or replace sets: the body's, or `default` when it names none.
fn status_of(body: &Value, default: &Value) -> Value {
    match body.get("status") {
        Some(Value::String(status)) => json!(status),
        _ => default.clone(),
    }
}

async fn create_zone(State(s): S, body: Bytes) -> ApiResult {
    let mut body = json_body(&body)?;
    let mut org = s.write();
    validate_zone(&org, &body, None)?;
    let id = org.new_id("nzo");
    let now = ts(org.write_time());
    body["id"] = json!(id);
    body["system"] = json!(false);
    body["status"] = status_of(&body, &json!("ACTIVE"));
    if body.get("usage").is_none_or(Value::is_null) {
        body["usage"] = json!("POLICY");
    }
    body["created"] = json!(now);
    body["lastUpdated"] = json!(now);
    body["_links"] = json!({"self": {"href": format!("/api/v1/zones/{id}")}});
    org.zones.insert(id, body.clone());
    created(body)
}

async fn replace_zone(State(s): S, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let mut body = json_body(&body)?;
    let mut org = s.write();
    let current = org
        .zones
        .get(&id)
        .ok_or_else(|| ApiError::not_found(&id, "Zone"))?
        .clone();
    validate_zone(&org, &body, Some(&id))?;
    if current["system"] == true && body["name"] != current["name"] {
        return Err(forbidden("The name of a system zone cannot be changed."));
    }
    if body["type"] != current["type"] {
        return Err(ApiError::validation(
            "type",
            "type: A network zone's type cannot be changed",
        ));
    }
    // A replace sets the status the body gives, as the reference's example does.
    body["status"] = status_of(&body, &current["status"]);
    for field in ["id", "system", "created", "_links"] {
        body[field] = current[field].clone();
    }
    body["lastUpdated"] = json!(ts(org.write_time()));
    org.zones.insert(id, body.clone());
    ok(body)
}

async fn delete_zone(State(s): S, Path(id): Path<String>) -> ApiResult {
    let mut org = s.write();
    let zone = org
        .zones
        .get(&id)
        .ok_or_else(|| ApiError::not_found(&id, "Zone"))?;
    if zone["system"] == true {
        return Err(forbidden("System zones cannot be deleted."));
    }
    if zone["status"] == "ACTIVE" {
        return Err(ApiError::bad_request(
            "Deactivate the network zone before deleting it.",
        ));
    }
    // Okta's reference: a network zone used by a policy or a rule cannot be deleted.
    let names_zone = |v: &Value| {
        ["include", "exclude"].iter().any(|list| {
            v.pointer(&format!("/conditions/network/{list}"))
                .and_then(Value::as_array)
                .is_some_and(|ids| ids.iter().any(|z| z == id.as_str()))
        })
    };
    let in_use = org.policies.values().any(names_zone)
        || org.policy_rules.values().flatten().any(names_zone);
    if in_use {
        return Err(ApiError::validation(
            "zone",
            "zone: The network zone is used by a policy or a policy rule and cannot be deleted",
        ));
    }
    org.zones.remove(&id);
    no_content()
}

async fn zone_lifecycle(State(s): S, Path((id, action)): Path<(String, String)>) -> ApiResult {
    let mut org = s.write();
    let now = ts(org.write_time());
    let result = set_status_field(org.zones.get_mut(&id), &id, "Zone", &action, now);
    result.map(|_| (StatusCode::OK, axum::Json(org.zones[&id].clone())).into_response())
}
