//! Admin role assignments of users and groups, their targets, and the users holding roles.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use serde_json::{Value, json};

use super::{Q, S};
use crate::okta::Shared;
use crate::okta::api::{ApiError, ApiResult, Params, limit, ok, page, take_page};
use crate::okta::model::{Org, Role};

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/users/{id}/roles", get(user_roles))
        .route(
            "/api/v1/users/{id}/roles/{role}/targets/groups",
            get(user_role_groups),
        )
        .route(
            "/api/v1/users/{id}/roles/{role}/targets/catalog/apps",
            get(user_role_apps),
        )
        .route("/api/v1/groups/{id}/roles", get(group_roles))
        .route(
            "/api/v1/groups/{id}/roles/{role}/targets/groups",
            get(group_role_groups),
        )
        .route(
            "/api/v1/groups/{id}/roles/{role}/targets/catalog/apps",
            get(group_role_apps),
        )
        .route("/api/v1/iam/assignees/users", get(role_assignees))
}

fn roles_json(org: &Org, roles: Option<&Vec<Role>>, kind: &str, id: &str) -> Value {
    let href = format!("{}/api/v1/{}s/{id}", org.base, kind.to_lowercase());
    Value::Array(
        roles
            .map(|r| r.iter().map(|r| r.to_json(kind, &href)).collect())
            .unwrap_or_default(),
    )
}

async fn user_roles(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    let Some(uid) = org.user_id_by_ref(&id) else {
        return Err(ApiError::not_found(&id, "User"));
    };
    ok(roles_json(&org, org.user_roles.get(&uid), "USER", &uid))
}

async fn group_roles(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    if !org.groups.contains_key(&id) {
        return Err(ApiError::not_found(&id, "UserGroup"));
    }
    ok(roles_json(&org, org.group_roles.get(&id), "GROUP", &id))
}

pub(crate) fn find_role<'a>(
    org: &'a Org,
    principal: &str,
    role: &str,
    user: bool,
) -> Result<&'a Role, ApiError> {
    let roles = if user {
        let uid = org
            .user_id_by_ref(principal)
            .ok_or_else(|| ApiError::not_found(principal, "User"))?;
        org.user_roles.get(&uid)
    } else {
        org.group_roles.get(principal)
    };
    roles
        .and_then(|r| r.iter().find(|r| r.id == role || r.role_type == role))
        .ok_or_else(|| ApiError::not_found(role, "Role"))
}

fn role_groups(org: &Org, role: &Role, path: &str, p: &Params) -> ApiResult {
    let items: Vec<Value> = role
        .target_groups
        .iter()
        .filter_map(|g| org.groups.get(g).cloned())
        .collect();
    Ok(page(&org.base, path, p, items.len().max(1), items, None))
}

fn role_apps(org: &Org, role: &Role, path: &str, p: &Params) -> ApiResult {
    let items: Vec<Value> = role
        .target_apps
        .iter()
        .filter_map(|a| org.apps.get(a))
        .map(|a| {
            json!({"name": a["name"], "displayName": a["label"], "id": a["id"],
                   "status": a["status"], "category": "CUSTOM",
                   "_links": {"self": {"href": format!("{}/api/v1/apps/{}", org.base, a["id"].as_str().unwrap_or_default())}}})
        })
        .collect();
    Ok(page(&org.base, path, p, items.len().max(1), items, None))
}

async fn user_role_groups(
    State(s): S,
    Path((id, role)): Path<(String, String)>,
    Query(p): Q,
) -> ApiResult {
    let org = s.read();
    let r = find_role(&org, &id, &role, true)?;
    role_groups(
        &org,
        r,
        &format!("/api/v1/users/{id}/roles/{role}/targets/groups"),
        &p,
    )
}

async fn user_role_apps(
    State(s): S,
    Path((id, role)): Path<(String, String)>,
    Query(p): Q,
) -> ApiResult {
    let org = s.read();
    let r = find_role(&org, &id, &role, true)?;
    role_apps(
        &org,
        r,
        &format!("/api/v1/users/{id}/roles/{role}/targets/catalog/apps"),
        &p,
    )
}

async fn group_role_groups(
    State(s): S,
    Path((id, role)): Path<(String, String)>,
    Query(p): Q,
) -> ApiResult {
    let org = s.read();
    let r = find_role(&org, &id, &role, false)?;
    role_groups(
        &org,
        r,
        &format!("/api/v1/groups/{id}/roles/{role}/targets/groups"),
        &p,
    )
}

async fn group_role_apps(
    State(s): S,
    Path((id, role)): Path<(String, String)>,
    Query(p): Q,
) -> ApiResult {
    let org = s.read();
    let r = find_role(&org, &id, &role, false)?;
    role_apps(
        &org,
        r,
        &format!("/api/v1/groups/{id}/roles/{role}/targets/catalog/apps"),
        &p,
    )
}

async fn role_assignees(State(s): S, Query(p): Q) -> ApiResult {
    let org = s.read();
    let limit = limit(&p, 100, 100);
    let holders = org
        .user_roles
        .iter()
        .filter(|(_, r)| !r.is_empty())
        .map(|(k, _)| k)
        .filter(|k| p.get("after").is_none_or(|a| k.as_str() > a.as_str()));
    let (ids, next) = take_page(holders, limit);
    let value: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({
                "id": id,
                "orn": format!("orn:okta:directory:00o1emulated:users:{id}"),
                "_links": {"self": {"href": format!("{}/api/v1/users/{id}", org.base)},
                           "roles": {"href": format!("{}/api/v1/users/{id}/roles", org.base)}},
            })
        })
        .collect();
    let mut links = json!({});
    if let Some(next) = next {
        links["next"] = json!({"href": crate::okta::api::link_url(&org.base, "/api/v1/iam/assignees/users", &p, limit, Some(&next))});
    }
    ok(json!({"value": value, "_links": links}))
}
