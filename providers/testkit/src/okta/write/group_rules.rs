//! Group rules: created inactive, changed only while inactive, run when activated.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{post, put};
use serde_json::{Value, json};

use super::{S, duplicate};
use crate::okta::Shared;
use crate::okta::api::{ApiError, ApiResult, created, json_body, no_content, ok};
use crate::okta::model::{Org, ts};

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/groups/rules", post(create_rule))
        .route(
            "/api/v1/groups/rules/{id}",
            put(replace_rule).delete(delete_rule),
        )
        .route(
            "/api/v1/groups/rules/{id}/lifecycle/{action}",
            post(rule_lifecycle),
        )
}

fn validate_rule(org: &Org, body: &Value, except: Option<&str>) -> Result<(), ApiError> {
    let name = body["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        return Err(ApiError::validation(
            "name",
            "name: The field cannot be left blank",
        ));
    }
    if org
        .rules
        .iter()
        .any(|(id, r)| Some(id.as_str()) != except && r["name"] == name)
    {
        return Err(duplicate("name"));
    }
    let targets = body
        .pointer("/actions/assignUserToGroups/groupIds")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if targets.is_empty() {
        return Err(ApiError::validation(
            "actions.assignUserToGroups.groupIds",
            "actions.assignUserToGroups.groupIds: The field cannot be left blank",
        ));
    }
    for g in &targets {
        let g = g.as_str().unwrap_or_default();
        if org.groups.get(g).is_none_or(|v| v["type"] != "OKTA_GROUP") {
            return Err(ApiError::validation(
                "actions.assignUserToGroups.groupIds",
                format!("actions.assignUserToGroups.groupIds: Invalid group id {g}"),
            ));
        }
    }
    Ok(())
}

async fn create_rule(State(s): S, body: Bytes) -> ApiResult {
    let mut body = json_body(&body)?;
    let mut org = s.write();
    validate_rule(&org, &body, None)?;
    let id = org.new_id("0pr");
    let now = ts(org.write_time());
    body["id"] = json!(id);
    body["type"] = json!("group_rule");
    // Rules are always created inactive; activation is a separate call.
    body["status"] = json!("INACTIVE");
    body["created"] = json!(now);
    body["lastUpdated"] = json!(now);
    org.rules.insert(id, body.clone());
    created(body)
}

async fn replace_rule(State(s): S, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let mut body = json_body(&body)?;
    let mut org = s.write();
    let current = org
        .rules
        .get(&id)
        .ok_or_else(|| ApiError::not_found(&id, "GroupRule"))?;
    if current["status"] == "ACTIVE" {
        return Err(ApiError::bad_request(
            "Cannot update rule in ACTIVE status. Deactivate the rule first.",
        ));
    }
    validate_rule(&org, &body, Some(&id))?;
    let created_at = current["created"].clone();
    body["id"] = json!(id);
    body["type"] = json!("group_rule");
    body["status"] = json!("INACTIVE");
    body["created"] = created_at;
    body["lastUpdated"] = json!(ts(org.write_time()));
    org.rules.insert(id, body.clone());
    ok(body)
}

async fn delete_rule(State(s): S, Path(id): Path<String>) -> ApiResult {
    let mut org = s.write();
    if org.rules.remove(&id).is_none() {
        return Err(ApiError::not_found(&id, "GroupRule"));
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn rule_lifecycle(State(s): S, Path((id, action)): Path<(String, String)>) -> ApiResult {
    let mut org = s.write();
    let status = match action.as_str() {
        "activate" => "ACTIVE",
        "deactivate" => "INACTIVE",
        other => return Err(ApiError::not_found(other, "Lifecycle operation")),
    };
    let now = ts(org.write_time());
    let rule = org
        .rules
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(&id, "GroupRule"))?;
    if rule["status"] == "INVALID" {
        // Only an update that names existing groups makes an invalid rule usable again.
        return Err(ApiError::validation(
            "status",
            "status: The group rule is INVALID (a group it assigns users to was deleted); update it first",
        ));
    }
    rule["status"] = json!(status);
    rule["lastUpdated"] = json!(now);
    org.run_rule(&id);
    no_content()
}
