//! Okta groups and their members; app groups and Everyone are their app's and Okta's.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{post, put};
use serde_json::{Map, Value, json};

use super::{S, duplicate, unsupported};
use crate::okta::Shared;
use crate::okta::api::{ApiError, ApiResult, created, json_body, no_content, ok};
use crate::okta::model::{Org, ts};
use crate::okta::seed::group_json;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/groups", post(create_group))
        .route(
            "/api/v1/groups/{id}",
            put(replace_group).delete(delete_group),
        )
        .route(
            "/api/v1/groups/{id}/users/{user}",
            put(add_member).delete(remove_member),
        )
}

fn group_name_taken(org: &Org, name: &str, except: Option<&str>) -> bool {
    org.groups.iter().any(|(id, g)| {
        Some(id.as_str()) != except
            && g["type"] == "OKTA_GROUP"
            && g.pointer("/profile/name").and_then(Value::as_str) == Some(name)
    })
}

fn group_profile(body: &Value) -> Result<Map<String, Value>, ApiError> {
    let profile = body
        .get("profile")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if profile
        .get("name")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(ApiError::validation(
            "name",
            "name: The field cannot be left blank",
        ));
    }
    Ok(profile)
}

async fn create_group(State(s): S, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let profile = group_profile(&body)?;
    let mut org = s.write();
    let name = profile["name"].as_str().unwrap_or_default().to_string();
    if group_name_taken(&org, &name, None) {
        return Err(duplicate("name"));
    }
    let id = org.new_id("00g");
    let now = org.write_time();
    let mut group = group_json(&id, "OKTA_GROUP", &name, "", now, None);
    group["profile"] = Value::Object(profile);
    org.groups.insert(id.clone(), group.clone());
    org.members.insert(id, BTreeSet::new());
    created(group)
}

pub(super) fn okta_group<'a>(org: &'a Org, id: &str) -> Result<&'a Value, ApiError> {
    let g = org
        .groups
        .get(id)
        .ok_or_else(|| ApiError::not_found(id, "UserGroup"))?;
    if g["type"] != "OKTA_GROUP" {
        return Err(unsupported(format!(
            "Unsupported operation: groups of type {} are managed by {}",
            g["type"].as_str().unwrap_or_default(),
            if g["type"] == "APP_GROUP" {
                "their app"
            } else {
                "Okta"
            }
        )));
    }
    Ok(g)
}

async fn replace_group(State(s): S, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let profile = group_profile(&body)?;
    let mut org = s.write();
    okta_group(&org, &id)?;
    let name = profile["name"].as_str().unwrap_or_default().to_string();
    if group_name_taken(&org, &name, Some(&id)) {
        return Err(duplicate("name"));
    }
    let now = ts(org.write_time());
    let group = org.groups.get_mut(&id).expect("group");
    group["profile"] = Value::Object(profile);
    group["lastUpdated"] = json!(now);
    ok(group.clone())
}

async fn delete_group(State(s): S, Path(id): Path<String>) -> ApiResult {
    let mut org = s.write();
    okta_group(&org, &id)?;
    org.groups.remove(&id);
    org.members.remove(&id);
    org.group_roles.remove(&id);
    org.iam.forget(crate::okta::iam::Kind::Group, &id);
    for assigned in org.app_groups.values_mut() {
        assigned.remove(&id);
    }
    let o = &mut *org;
    for roles in o.user_roles.values_mut().chain(o.group_roles.values_mut()) {
        for role in roles {
            role.target_groups.remove(&id);
        }
    }
    // A rule that assigns users to the deleted group can no longer run: Okta marks it INVALID
    // and keeps it until it is changed or deleted.
    for rule in o.rules.values_mut() {
        let targets = rule
            .pointer("/actions/assignUserToGroups/groupIds")
            .and_then(Value::as_array);
        if targets.is_some_and(|t| t.iter().any(|g| g == id.as_str())) {
            rule["status"] = json!("INVALID");
        }
    }
    no_content()
}

async fn add_member(State(s): S, Path((id, user)): Path<(String, String)>) -> ApiResult {
    let mut org = s.write();
    okta_group(&org, &id)?;
    let uid = org
        .user_id_by_ref(&user)
        .ok_or_else(|| ApiError::not_found(&user, "User"))?;
    let now = ts(org.write_time());
    if org
        .members
        .entry(id.clone())
        .or_default()
        .insert(uid.clone())
    {
        org.added_member(&id, &uid);
    }
    org.groups.get_mut(&id).expect("group")["lastMembershipUpdated"] = json!(now);
    no_content()
}

async fn remove_member(State(s): S, Path((id, user)): Path<(String, String)>) -> ApiResult {
    let mut org = s.write();
    okta_group(&org, &id)?;
    let uid = org
        .user_id_by_ref(&user)
        .ok_or_else(|| ApiError::not_found(&user, "User"))?;
    let now = ts(org.write_time());
    if let Some(m) = org.members.get_mut(&id) {
        m.remove(&uid);
    }
    org.groups.get_mut(&id).expect("group")["lastMembershipUpdated"] = json!(now);
    no_content()
}
