//! Admin role assignments of users and groups, and their group and app targets.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, post, put};
use serde_json::Value;

use super::S;
use super::groups::okta_group;
use crate::okta::Shared;
use crate::okta::api::{ApiError, ApiResult, json_body, no_content};
use crate::okta::model::{Org, Role, role_label};
use crate::okta::read::find_role;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/users/{id}/roles", post(assign_user_role))
        .route(
            "/api/v1/users/{id}/roles/{role}",
            delete(unassign_user_role),
        )
        .route(
            "/api/v1/users/{id}/roles/{role}/targets/groups/{group}",
            put(user_target_group).delete(user_untarget_group),
        )
        .route(
            "/api/v1/users/{id}/roles/{role}/targets/catalog/apps/{name}/{app}",
            put(user_target_app).delete(user_untarget_app),
        )
        .route("/api/v1/groups/{id}/roles", post(assign_group_role))
        .route(
            "/api/v1/groups/{id}/roles/{role}",
            delete(unassign_group_role),
        )
        .route(
            "/api/v1/groups/{id}/roles/{role}/targets/groups/{group}",
            put(group_target_group).delete(group_untarget_group),
        )
        .route(
            "/api/v1/groups/{id}/roles/{role}/targets/catalog/apps/{name}/{app}",
            put(group_target_app).delete(group_untarget_app),
        )
}

fn assign_role(org: &mut Org, principal: &str, user: bool, body: &Value) -> ApiResult {
    let role_type = body["type"].as_str().unwrap_or_default().to_string();
    if role_label(&role_type).is_empty() || role_type == "CUSTOM" {
        return Err(ApiError::validation(
            "type",
            format!("type: Invalid role type {role_type}"),
        ));
    }
    let key = if user {
        org.user_id_by_ref(principal)
            .ok_or_else(|| ApiError::not_found(principal, "User"))?
    } else {
        okta_group(org, principal)?;
        principal.to_string()
    };
    let roles = if user {
        &org.user_roles
    } else {
        &org.group_roles
    };
    if roles
        .get(&key)
        .is_some_and(|r| r.iter().any(|r| r.role_type == role_type))
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "E0000090",
            "Duplicate role assignment exception.",
        ));
    }
    let role = Role {
        id: org.new_id("ra1"),
        role_type,
        created: org.write_time(),
        target_groups: BTreeSet::new(),
        target_apps: BTreeSet::new(),
    };
    let kind = if user { "USER" } else { "GROUP" };
    let href = format!(
        "{}/api/v1/{}/{key}",
        org.base,
        if user { "users" } else { "groups" }
    );
    let json = role.to_json(kind, &href);
    let roles = if user {
        &mut org.user_roles
    } else {
        &mut org.group_roles
    };
    roles.entry(key).or_default().push(role);
    Ok((StatusCode::CREATED, axum::Json(json)).into_response())
}

fn unassign_role(org: &mut Org, principal: &str, role: &str, user: bool) -> ApiResult {
    let id = find_role(org, principal, role, user)?.id.clone();
    let key = if user {
        org.user_id_by_ref(principal).unwrap_or_default()
    } else {
        principal.to_string()
    };
    let roles = if user {
        &mut org.user_roles
    } else {
        &mut org.group_roles
    };
    if let Some(list) = roles.get_mut(&key) {
        list.retain(|r| r.id != id);
        if list.is_empty() {
            roles.remove(&key);
        }
    }
    no_content()
}

/// Adds or removes a group or app target of a role.
fn target(
    org: &mut Org,
    principal: &str,
    role: &str,
    user: bool,
    group: Option<&str>,
    app: Option<&str>,
    add: bool,
) -> ApiResult {
    let role_type = find_role(org, principal, role, user)?.role_type.clone();
    if let Some(g) = group {
        if !matches!(
            role_type.as_str(),
            "USER_ADMIN" | "HELP_DESK_ADMIN" | "GROUP_MEMBERSHIP_ADMIN"
        ) {
            return Err(ApiError::bad_request(format!(
                "Role {role_type} cannot be targeted to groups"
            )));
        }
        okta_group(org, g)?;
    }
    if let Some(a) = app {
        if role_type != "APP_ADMIN" {
            return Err(ApiError::bad_request(format!(
                "Role {role_type} cannot be targeted to apps"
            )));
        }
        if !org.apps.contains_key(a) {
            return Err(ApiError::not_found(a, "AppInstance"));
        }
    }
    let key = if user {
        org.user_id_by_ref(principal).unwrap_or_default()
    } else {
        principal.to_string()
    };
    let roles = if user {
        &mut org.user_roles
    } else {
        &mut org.group_roles
    };
    let r = roles
        .get_mut(&key)
        .and_then(|r| r.iter_mut().find(|r| r.id == role || r.role_type == role))
        .ok_or_else(|| ApiError::not_found(role, "Role"))?;
    let (set, item) = match (group, app) {
        (Some(g), _) => (&mut r.target_groups, g),
        (_, Some(a)) => (&mut r.target_apps, a),
        _ => return no_content(),
    };
    if add {
        set.insert(item.to_string());
    } else {
        set.remove(item);
    }
    no_content()
}

async fn assign_user_role(State(s): S, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    assign_role(&mut s.write(), &id, true, &body)
}
async fn assign_group_role(State(s): S, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    assign_role(&mut s.write(), &id, false, &body)
}
async fn unassign_user_role(State(s): S, Path((id, role)): Path<(String, String)>) -> ApiResult {
    unassign_role(&mut s.write(), &id, &role, true)
}
async fn unassign_group_role(State(s): S, Path((id, role)): Path<(String, String)>) -> ApiResult {
    unassign_role(&mut s.write(), &id, &role, false)
}
async fn user_target_group(
    State(s): S,
    Path((id, role, g)): Path<(String, String, String)>,
) -> ApiResult {
    target(&mut s.write(), &id, &role, true, Some(&g), None, true)
}
async fn user_untarget_group(
    State(s): S,
    Path((id, role, g)): Path<(String, String, String)>,
) -> ApiResult {
    target(&mut s.write(), &id, &role, true, Some(&g), None, false)
}
async fn group_target_group(
    State(s): S,
    Path((id, role, g)): Path<(String, String, String)>,
) -> ApiResult {
    target(&mut s.write(), &id, &role, false, Some(&g), None, true)
}
async fn group_untarget_group(
    State(s): S,
    Path((id, role, g)): Path<(String, String, String)>,
) -> ApiResult {
    target(&mut s.write(), &id, &role, false, Some(&g), None, false)
}
async fn user_target_app(
    State(s): S,
    Path((id, role, _name, app)): Path<(String, String, String, String)>,
) -> ApiResult {
    target(&mut s.write(), &id, &role, true, None, Some(&app), true)
}
async fn user_untarget_app(
    State(s): S,
    Path((id, role, _name, app)): Path<(String, String, String, String)>,
) -> ApiResult {
    target(&mut s.write(), &id, &role, true, None, Some(&app), false)
}
async fn group_target_app(
    State(s): S,
    Path((id, role, _name, app)): Path<(String, String, String, String)>,
) -> ApiResult {
    target(&mut s.write(), &id, &role, false, None, Some(&app), true)
}
async fn group_untarget_app(
    State(s): S,
    Path((id, role, _name, app)): Path<(String, String, String, String)>,
) -> ApiResult {
    target(&mut s.write(), &id, &role, false, None, Some(&app), false)
}
