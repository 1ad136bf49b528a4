//! Admin role assignments of users and groups, their targets, and the users holding roles.
//!
//! An `APP_ADMIN` role's app targets are listed as the reference shows them: a whole-catalog
//! target (every instance of an OIN app) as the catalog app, without an `id`; an app instance
//! target with its `id` and a `name` that is not the app's key name (the reference's example
//! names one `My_access_app`), so that a client has to read the app to learn its key name.

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
        .route("/api/v1/users/{id}/roles/{role}", get(user_role))
        .route(
            "/api/v1/users/{id}/roles/{role}/targets/groups",
            get(user_role_groups),
        )
        .route(
            "/api/v1/users/{id}/roles/{role}/targets/catalog/apps",
            get(user_role_apps),
        )
        .route("/api/v1/groups/{id}/roles", get(group_roles))
        .route("/api/v1/groups/{id}/roles/{role}", get(group_role))
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

/// OIN catalog apps the emulator knows: key name, display name, category, sign-on modes.
pub(crate) const CATALOG: &[(&str, &str, &str, &[&str])] = &[
    ("bookmark", "Bookmark App", "OKTA", &["BOOKMARK"]),
    (
        "template_swa",
        "Template Plugin App",
        "OKTA",
        &["BROWSER_PLUGIN"],
    ),
    (
        "template_swa3field",
        "Template Plugin App 3 Field",
        "OKTA",
        &["BROWSER_PLUGIN"],
    ),
    (
        "template_basic_auth",
        "Template Basic Auth App",
        "OKTA",
        &["BASIC_AUTH"],
    ),
    (
        "template_sps",
        "Template Secure Password Store",
        "OKTA",
        &["SECURE_PASSWORD_STORE"],
    ),
    ("salesforce", "Salesforce.com", "CRM", &["SAML_2_0"]),
    ("boxnet", "Box", "COLLABORATION", &["SAML_2_0"]),
    ("facebook", "Facebook", "SOCIAL", &["BROWSER_PLUGIN"]),
    ("slack", "Slack", "COLLABORATION", &["SAML_2_0"]),
    ("zoomus", "Zoom", "COLLABORATION", &["SAML_2_0"]),
];

/// Whether `name` is a catalog app's key name, or the name of an app of the org.
pub(crate) fn known_app_name(org: &Org, name: &str) -> bool {
    CATALOG.iter().any(|(n, ..)| *n == name) || org.apps.values().any(|a| a["name"] == name)
}

/// Whose role: a user (by id or login) or a group (by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holder {
    User,
    Group,
}

impl Holder {
    pub(crate) fn path(self) -> &'static str {
        match self {
            Holder::User => "users",
            Holder::Group => "groups",
        }
    }

    fn assignment_type(self) -> &'static str {
        match self {
            Holder::User => "USER",
            Holder::Group => "GROUP",
        }
    }
}

/// A user's or group's roles: its standard roles, then its custom role assignments.
fn roles_json(org: &Org, roles: Option<&Vec<Role>>, holder: Holder, id: &str) -> Value {
    let mut all: Vec<Value> = roles
        .map(|r| r.iter().map(|r| role_json(org, r, holder, id)).collect())
        .unwrap_or_default();
    all.extend(org.iam.assignments(&org.base, holder, id));
    Value::Array(all)
}

pub(crate) fn role_json(org: &Org, role: &Role, holder: Holder, id: &str) -> Value {
    let href = format!("{}/api/v1/{}/{id}", org.base, holder.path());
    role.to_json(holder.assignment_type(), &href)
}

async fn user_roles(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    let Some(uid) = org.user_id_by_ref(&id) else {
        return Err(ApiError::not_found(&id, "User"));
    };
    ok(roles_json(
        &org,
        org.user_roles.get(&uid),
        Holder::User,
        &uid,
    ))
}

async fn group_roles(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    if !org.groups.contains_key(&id) {
        return Err(ApiError::not_found(&id, "UserGroup"));
    }
    ok(roles_json(
        &org,
        org.group_roles.get(&id),
        Holder::Group,
        &id,
    ))
}

async fn user_role(State(s): S, Path((id, role)): Path<(String, String)>) -> ApiResult {
    let org = s.read();
    let r = find_role(&org, &id, &role, Holder::User)?;
    let uid = org.user_id_by_ref(&id).unwrap_or_default();
    ok(role_json(&org, r, Holder::User, &uid))
}

async fn group_role(State(s): S, Path((id, role)): Path<(String, String)>) -> ApiResult {
    let org = s.read();
    let r = find_role(&org, &id, &role, Holder::Group)?;
    ok(role_json(&org, r, Holder::Group, &id))
}

/// The role assignment `role` (its id) of a user or group.
pub(crate) fn find_role<'a>(
    org: &'a Org,
    principal: &str,
    role: &str,
    holder: Holder,
) -> Result<&'a Role, ApiError> {
    let roles = match holder {
        Holder::User => {
            let uid = org
                .user_id_by_ref(principal)
                .ok_or_else(|| ApiError::not_found(principal, "User"))?;
            org.user_roles.get(&uid)
        }
        Holder::Group => {
            if !org.groups.contains_key(principal) {
                return Err(ApiError::not_found(principal, "UserGroup"));
            }
            org.group_roles.get(principal)
        }
    };
    roles
        .and_then(|r| r.iter().find(|r| r.id == role))
        .ok_or_else(|| ApiError::not_found(role, "RoleAssignment"))
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
    let catalog = role.target_catalog.iter().map(|name| {
        let (display, category, modes) = CATALOG
            .iter()
            .find(|(n, ..)| n == name)
            .map_or((name.as_str(), "OKTA", &[][..]), |(_, d, c, m)| (*d, *c, *m));
        json!({
            "name": name, "displayName": display, "description": format!("{display} (OIN)"),
            "status": "ACTIVE", "lastUpdated": "2024-01-01T00:00:00.000Z", "category": category,
            "verificationStatus": "OKTA_VERIFIED", "website": format!("https://{name}.example.com/"),
            "signOnModes": modes, "features": [],
            "_links": {"self": {"href": format!("{}/api/v1/catalog/apps/{name}", org.base)}},
        })
    });
    let instances = role
        .target_apps
        .iter()
        .filter_map(|a| org.apps.get(a))
        .map(|a| {
            let label = a["label"].as_str().unwrap_or_default().replace(' ', "_");
            let id = a["id"].as_str().unwrap_or_default();
            json!({"name": label, "status": a["status"], "id": id,
                   "_links": {"self": {"href": format!("{}/api/v1/apps/{id}", org.base)}}})
        });
    let items: Vec<Value> = catalog.chain(instances).collect();
    Ok(page(&org.base, path, p, items.len().max(1), items, None))
}

async fn user_role_groups(
    State(s): S,
    Path((id, role)): Path<(String, String)>,
    Query(p): Q,
) -> ApiResult {
    let org = s.read();
    let r = find_role(&org, &id, &role, Holder::User)?;
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
    let r = find_role(&org, &id, &role, Holder::User)?;
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
    let r = find_role(&org, &id, &role, Holder::Group)?;
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
    let r = find_role(&org, &id, &role, Holder::Group)?;
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
    let mut holders: std::collections::BTreeSet<String> = org.iam.holders(Holder::User);
    holders.extend(
        org.user_roles
            .iter()
            .filter(|(_, r)| !r.is_empty())
            .map(|(k, _)| k.clone()),
    );
    let holders = holders
        .iter()
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
