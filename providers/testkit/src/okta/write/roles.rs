//! Admin role assignments of users and groups, and their group and app targets.
//!
//! As the reference says: the first target narrows a role to its targets; the last group or
//! app target cannot be removed (the role would silently widen again), only the whole
//! assignment deleted; an app target is either a whole OIN catalog app
//! (`…/catalog/apps/{appName}`, which replaces that app's instance targets) or one app
//! instance (`…/catalog/apps/{appName}/{appId}`, the app's key name and id); `PUT
//! …/catalog/apps` makes an `APP_ADMIN` role apply to all apps again.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, post, put};
use serde_json::Value;

use super::S;
use super::groups::okta_group;
use crate::okta::Shared;
use crate::okta::api::{ApiError, ApiResult, json_body, no_content};
use crate::okta::model::{Org, Role, role_label};
use crate::okta::read::{Holder, find_role, known_app_name, role_json};

pub(super) fn routes() -> Router<Arc<Shared>> {
    let mut router = Router::new();
    for (holder, base) in [
        (Holder::User, "/api/v1/users/{id}/roles"),
        (Holder::Group, "/api/v1/groups/{id}/roles"),
    ] {
        router = router
            .route(
                base,
                post(
                    move |s: S, Path(id): Path<String>, body: Bytes| async move {
                        let body = json_body(&body)?;
                        assign_role(&mut s.0.write(), &id, holder, &body)
                    },
                ),
            )
            .route(
                &format!("{base}/{{role}}"),
                delete(
                    move |s: S, Path((id, role)): Path<(String, String)>| async move {
                        unassign_role(&mut s.0.write(), &id, &role, holder)
                    },
                ),
            )
            .route(
                &format!("{base}/{{role}}/targets/groups/{{group}}"),
                put(
                    move |s: S, Path(p): Path<(String, String, String)>| async move {
                        change(
                            &mut s.0.write(),
                            holder,
                            &p.0,
                            &p.1,
                            Target::Group(&p.2),
                            true,
                        )
                    },
                )
                .delete(
                    move |s: S, Path(p): Path<(String, String, String)>| async move {
                        change(
                            &mut s.0.write(),
                            holder,
                            &p.0,
                            &p.1,
                            Target::Group(&p.2),
                            false,
                        )
                    },
                ),
            )
            .route(
                &format!("{base}/{{role}}/targets/catalog/apps"),
                put(
                    move |s: S, Path((id, role)): Path<(String, String)>| async move {
                        all_apps(&mut s.0.write(), holder, &id, &role)
                    },
                ),
            )
            .route(
                &format!("{base}/{{role}}/targets/catalog/apps/{{name}}"),
                put(
                    move |s: S, Path(p): Path<(String, String, String)>| async move {
                        change(
                            &mut s.0.write(),
                            holder,
                            &p.0,
                            &p.1,
                            Target::Catalog(&p.2),
                            true,
                        )
                    },
                )
                .delete(
                    move |s: S, Path(p): Path<(String, String, String)>| async move {
                        change(
                            &mut s.0.write(),
                            holder,
                            &p.0,
                            &p.1,
                            Target::Catalog(&p.2),
                            false,
                        )
                    },
                ),
            )
            .route(
                &format!("{base}/{{role}}/targets/catalog/apps/{{name}}/{{app}}"),
                put(
                    move |s: S, Path(p): Path<(String, String, String, String)>| async move {
                        let target = Target::Instance(&p.2, &p.3);
                        change(&mut s.0.write(), holder, &p.0, &p.1, target, true)
                    },
                )
                .delete(
                    move |s: S, Path(p): Path<(String, String, String, String)>| async move {
                        let target = Target::Instance(&p.2, &p.3);
                        change(&mut s.0.write(), holder, &p.0, &p.1, target, false)
                    },
                ),
            );
    }
    router
}

/// The roles of a user (by id or login) or group, and their key in the org's maps.
fn roles_of<'a>(
    org: &'a mut Org,
    holder: Holder,
    principal: &str,
) -> Result<
    (
        String,
        &'a mut std::collections::BTreeMap<String, Vec<Role>>,
    ),
    ApiError,
> {
    match holder {
        Holder::User => {
            let uid = org
                .user_id_by_ref(principal)
                .ok_or_else(|| ApiError::not_found(principal, "User"))?;
            Ok((uid, &mut org.user_roles))
        }
        Holder::Group => Ok((principal.to_string(), &mut org.group_roles)),
    }
}

fn assign_role(org: &mut Org, principal: &str, holder: Holder, body: &Value) -> ApiResult {
    let role_type = body["type"].as_str().unwrap_or_default().to_string();
    if role_type == "CUSTOM" {
        let principal = match holder {
            Holder::User => org.user_id_by_ref(principal).unwrap_or_default(),
            Holder::Group => okta_group(org, principal).map(|_| principal.to_string())?,
        };
        return crate::okta::iam::assign(org, holder, &principal, body);
    }
    if role_label(&role_type).is_empty() {
        return Err(ApiError::validation(
            "type",
            format!("type: Invalid role type {role_type}"),
        ));
    }
    if holder == Holder::Group {
        okta_group(org, principal)?;
    }
    let id = org.new_id("ra1");
    let created = org.write_time();
    let (key, roles) = roles_of(org, holder, principal)?;
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
        id,
        role_type,
        created,
        target_groups: BTreeSet::new(),
        target_apps: BTreeSet::new(),
        target_catalog: BTreeSet::new(),
    };
    roles.entry(key.clone()).or_default().push(role.clone());
    let json = role_json(org, &role, holder, &key);
    Ok((StatusCode::CREATED, axum::Json(json)).into_response())
}

fn unassign_role(org: &mut Org, principal: &str, role: &str, holder: Holder) -> ApiResult {
    let id = match holder {
        Holder::User => org.user_id_by_ref(principal).unwrap_or_default(),
        Holder::Group => principal.to_string(),
    };
    if crate::okta::iam::unassign(org, holder, &id, role) {
        return no_content();
    }
    find_role(org, principal, role, holder)?;
    let (key, roles) = roles_of(org, holder, principal)?;
    if let Some(list) = roles.get_mut(&key) {
        list.retain(|r| r.id != role);
        if list.is_empty() {
            roles.remove(&key);
        }
    }
    no_content()
}

/// A role target: a group, a whole catalog app (by key name), or an app instance (key name and
/// id).
#[derive(Debug, Clone, Copy)]
enum Target<'a> {
    Group(&'a str),
    Catalog(&'a str),
    Instance(&'a str, &'a str),
}

fn last_target() -> ApiError {
    ApiError::validation(
        "targets",
        "targets: The last target of a role assignment cannot be removed; delete the role assignment and assign the role again to have it apply to everything",
    )
}

/// Adds (`add`) or removes a target of a role assignment.
fn change(
    org: &mut Org,
    holder: Holder,
    principal: &str,
    role: &str,
    target: Target<'_>,
    add: bool,
) -> ApiResult {
    let role_type = find_role(org, principal, role, holder)?.role_type.clone();
    match target {
        Target::Group(g) => {
            if !matches!(
                role_type.as_str(),
                "USER_ADMIN" | "HELP_DESK_ADMIN" | "GROUP_MEMBERSHIP_ADMIN"
            ) {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "E0000091",
                    "The provided role type was not the same as required role type.",
                ));
            }
            if add {
                okta_group(org, g)?;
            }
        }
        Target::Catalog(name) | Target::Instance(name, _) => {
            if role_type != "APP_ADMIN" {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "E0000091",
                    "The provided role type was not the same as required role type.",
                ));
            }
            if !known_app_name(org, name) {
                return Err(ApiError::not_found(name, "App"));
            }
            if let Target::Instance(name, app) = target {
                // The path names the app by its key name and its id: both must agree.
                if org.apps.get(app).is_none_or(|a| a["name"] != name) {
                    return Err(ApiError::not_found(&format!("{name}/{app}"), "AppInstance"));
                }
            }
        }
    }
    let instance_names: BTreeSet<String> = org
        .apps
        .iter()
        .map(|(id, a)| {
            (
                id.clone(),
                a["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .filter(|(_, name)| matches!(target, Target::Catalog(n) if n == name))
        .map(|(id, _)| id)
        .collect();
    let (key, roles) = roles_of(org, holder, principal)?;
    let r = roles
        .get_mut(&key)
        .and_then(|r| r.iter_mut().find(|r| r.id == role))
        .ok_or_else(|| ApiError::not_found(role, "RoleAssignment"))?;
    let targets = r.target_groups.len() + r.target_apps.len() + r.target_catalog.len();
    if add
        && let Target::Instance(name, _) = target
        && r.target_catalog.contains(name)
    {
        return Err(ApiError::validation(
            "targets",
            format!("targets: The role already applies to every instance of {name}"),
        ));
    }
    let (set, item) = match target {
        Target::Group(g) => (&mut r.target_groups, g),
        Target::Catalog(name) => (&mut r.target_catalog, name),
        Target::Instance(_, app) => (&mut r.target_apps, app),
    };
    if add {
        set.insert(item.to_string());
        if matches!(target, Target::Catalog(_)) {
            // A catalog app target replaces the targets of that app's instances.
            r.target_apps.retain(|a| !instance_names.contains(a));
        }
        return no_content();
    }
    if !set.contains(item) {
        return Err(ApiError::not_found(item, "RoleTarget"));
    }
    if targets == 1 {
        return Err(last_target());
    }
    set.remove(item);
    no_content()
}

/// `PUT …/targets/catalog/apps`: the `APP_ADMIN` role applies to all apps again.
fn all_apps(org: &mut Org, holder: Holder, principal: &str, role: &str) -> ApiResult {
    if find_role(org, principal, role, holder)?.role_type != "APP_ADMIN" {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "E0000091",
            "The provided role type was not the same as required role type.",
        ));
    }
    let (key, roles) = roles_of(org, holder, principal)?;
    if let Some(r) = roles
        .get_mut(&key)
        .and_then(|r| r.iter_mut().find(|r| r.id == role))
    {
        r.target_apps.clear();
        r.target_catalog.clear();
    }
    Ok(StatusCode::OK.into_response())
}
