//! The write endpoints, with Okta's semantics: new ids on create, validation errors for
//! duplicates, user lifecycle transitions, delete only after deactivation, group rules
//! created inactive, deleted objects gone for good.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, post, put};
use serde_json::{Map, Value, json};

use super::Shared;
use super::api::{ApiError, ApiResult, Params, created, flag, json_body, no_content, ok};
use super::model::{AppUser, Org, Profile, Role, User, role_label, ts};
use super::read::{app_user_json, find_role};
use super::seed::{POLICY_TYPES, group_json};

type S = State<Arc<Shared>>;
type Q = Query<Params>;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/users", post(create_user))
        .route(
            "/api/v1/users/{id}",
            post(update_user_partial)
                .put(replace_user)
                .delete(delete_user),
        )
        .route(
            "/api/v1/users/{id}/lifecycle/{action}",
            post(user_lifecycle),
        )
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
        .route("/api/v1/groups", post(create_group))
        .route(
            "/api/v1/groups/{id}",
            put(replace_group).delete(delete_group),
        )
        .route(
            "/api/v1/groups/{id}/users/{user}",
            put(add_member).delete(remove_member),
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
        .route("/api/v1/groups/rules", post(create_rule))
        .route(
            "/api/v1/groups/rules/{id}",
            put(replace_rule).delete(delete_rule),
        )
        .route(
            "/api/v1/groups/rules/{id}/lifecycle/{action}",
            post(rule_lifecycle),
        )
        .route("/api/v1/apps", post(create_app))
        .route("/api/v1/apps/{id}", put(replace_app).delete(delete_app))
        .route("/api/v1/apps/{id}/lifecycle/{action}", post(app_lifecycle))
        .route("/api/v1/apps/{id}/users", post(assign_app_user))
        .route(
            "/api/v1/apps/{id}/users/{user}",
            post(update_app_user).delete(unassign_app_user),
        )
        .route(
            "/api/v1/apps/{id}/groups/{group}",
            put(assign_app_group).delete(unassign_app_group),
        )
        .route("/api/v1/policies", post(create_policy))
        .route(
            "/api/v1/policies/{id}",
            put(replace_policy).delete(delete_policy),
        )
        .route(
            "/api/v1/policies/{id}/lifecycle/{action}",
            post(policy_lifecycle),
        )
        .route("/api/v1/policies/{id}/rules", post(create_policy_rule))
        .route(
            "/api/v1/policies/{id}/rules/{rule}",
            put(replace_policy_rule).delete(delete_policy_rule),
        )
        .route(
            "/api/v1/policies/{id}/rules/{rule}/lifecycle/{action}",
            post(policy_rule_lifecycle),
        )
        .route("/api/v1/zones", post(create_zone))
        .route("/api/v1/zones/{id}", put(replace_zone).delete(delete_zone))
        .route(
            "/api/v1/zones/{id}/lifecycle/{action}",
            post(zone_lifecycle),
        )
        .route("/api/v1/meta/types/user", post(create_user_type))
        .route(
            "/api/v1/meta/types/user/{id}",
            post(update_user_type)
                .put(update_user_type)
                .delete(delete_user_type),
        )
        .route("/api/v1/meta/schemas/user/default", post(update_schema))
}

fn duplicate(field: &str) -> ApiError {
    ApiError::validation(
        field,
        format!("{field}: An object with this field already exists in the current organization"),
    )
}

fn forbidden(summary: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "E0000006", summary)
}

fn unsupported(summary: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "E0000060", summary)
}

// ---------------------------------------------------------------------------------------- users

fn required_profile(profile: &Map<String, Value>) -> Result<(), ApiError> {
    for field in ["login", "firstName", "lastName", "email"] {
        if profile
            .get(field)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(ApiError::validation(
                field,
                format!("{field}: The field cannot be left blank"),
            ));
        }
    }
    Ok(())
}

fn user_type_id(org: &Org, body: &Value) -> Result<String, ApiError> {
    match body.pointer("/type/id").and_then(Value::as_str) {
        Some(id) if org.user_types.contains_key(id) => Ok(id.to_string()),
        Some(id) => Err(ApiError::validation(
            "type",
            format!("type: Invalid user type id {id}"),
        )),
        None => Ok(org
            .user_types
            .iter()
            .find(|(_, t)| t["default"] == true)
            .map(|(id, _)| id.clone())
            .unwrap_or_default()),
    }
}

async fn create_user(State(s): S, Query(p): Q, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let profile = body
        .get("profile")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    required_profile(&profile)?;
    let login = profile["login"].as_str().unwrap_or_default().to_lowercase();
    if org.logins.contains_key(&login) {
        return Err(duplicate("login"));
    }
    let type_id = user_type_id(&org, &body)?;
    let has_password = body.pointer("/credentials/password/value").is_some();
    let mut group_ids = Vec::new();
    for g in body["groupIds"].as_array().into_iter().flatten() {
        let g = g.as_str().unwrap_or_default();
        match org.groups.get(g) {
            Some(v) if v["type"] == "OKTA_GROUP" => group_ids.push(g.to_string()),
            _ => {
                return Err(ApiError::validation(
                    "groupIds",
                    format!("groupIds: Invalid group id {g}"),
                ));
            }
        }
    }
    let now = org.write_time();
    let status = if flag(&p, "activate", true) {
        if has_password {
            "ACTIVE"
        } else {
            "PROVISIONED"
        }
    } else {
        "STAGED"
    };
    let id = org.new_id("00u");
    let user = User {
        id: id.clone(),
        status,
        type_id,
        created: now,
        activated: (status != "STAGED").then_some(now),
        status_changed: (status != "STAGED").then_some(now),
        last_login: None,
        last_updated: now,
        password_changed: has_password.then_some(now),
        provider: ("OKTA", "OKTA"),
        profile: Profile::Written(Box::new(profile)),
    };
    org.logins.insert(login, id.clone());
    org.users.insert(id.clone(), user);
    for g in group_ids {
        org.members.entry(g).or_default().insert(id.clone());
    }
    org.run_rules_for(&id);
    created(org.users[&id].to_json(&org.base))
}

fn write_profile(org: &mut Org, id: &str, body: &Value, merge: bool) -> ApiResult {
    let uid = org
        .user_id_by_ref(id)
        .ok_or_else(|| ApiError::not_found(id, "User"))?;
    let type_id = match body.pointer("/type/id") {
        Some(_) => Some(user_type_id(org, body)?),
        None => None,
    };
    if let Some(new) = body.get("profile").and_then(Value::as_object) {
        let user = &org.users[&uid];
        let mut profile = if merge {
            user.profile.to_map()
        } else {
            Map::new()
        };
        for (k, v) in new {
            profile.insert(k.clone(), v.clone());
        }
        required_profile(&profile)?;
        let old_login = user.profile.login().to_lowercase();
        let new_login = profile["login"].as_str().unwrap_or_default().to_lowercase();
        if new_login != old_login {
            if org.logins.contains_key(&new_login) {
                return Err(duplicate("login"));
            }
            org.logins.remove(&old_login);
            org.logins.insert(new_login, uid.clone());
        }
        org.users.get_mut(&uid).expect("user").profile = Profile::Written(Box::new(profile));
    }
    let now = org.write_time();
    let user = org.users.get_mut(&uid).expect("user");
    if let Some(t) = type_id {
        user.type_id = t;
    }
    user.last_updated = now;
    org.run_rules_for(&uid);
    ok(org.users[&uid].to_json(&org.base))
}

async fn update_user_partial(State(s): S, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    write_profile(&mut s.write(), &id, &body, true)
}

async fn replace_user(State(s): S, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    write_profile(&mut s.write(), &id, &body, false)
}

fn set_status(org: &mut Org, uid: &str, status: &'static str) {
    let now = org.write_time();
    let user = org.users.get_mut(uid).expect("user");
    user.status = status;
    user.status_changed = Some(now);
    user.last_updated = now;
    if status == "ACTIVE" || status == "PROVISIONED" {
        user.activated = Some(now);
    }
}

async fn user_lifecycle(
    State(s): S,
    Path((id, action)): Path<(String, String)>,
    Query(p): Q,
) -> ApiResult {
    let mut org = s.write();
    let uid = org
        .user_id_by_ref(&id)
        .ok_or_else(|| ApiError::not_found(&id, "User"))?;
    let user = &org.users[&uid];
    let status = user.status;
    let has_password = user.password_changed.is_some() || user.provider.0 != "OKTA";
    match action.as_str() {
        "activate" => {
            if !matches!(status, "STAGED" | "DEPROVISIONED") {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "E0000016",
                    "Activation failed because the user is already active",
                ));
            }
            // Without a password the person finishes activation from the link: PROVISIONED.
            set_status(
                &mut org,
                &uid,
                if has_password {
                    "ACTIVE"
                } else {
                    "PROVISIONED"
                },
            );
            if flag(&p, "sendEmail", true) {
                ok(json!({}))
            } else {
                let token = org.new_id("act");
                ok(json!({
                    "activationUrl": format!("{}/welcome/{token}", org.base),
                    "activationToken": token,
                }))
            }
        }
        "reactivate" => {
            if status != "PROVISIONED" {
                return Err(ApiError::bad_request(
                    "This operation is not allowed in the user's current status.",
                ));
            }
            ok(json!({}))
        }
        "deactivate" => {
            if status != "DEPROVISIONED" {
                set_status(&mut org, &uid, "DEPROVISIONED");
            }
            ok(json!({}))
        }
        "suspend" => {
            if status != "ACTIVE" {
                return Err(ApiError::bad_request(
                    "Cannot suspend a user that is not active",
                ));
            }
            set_status(&mut org, &uid, "SUSPENDED");
            ok(json!({}))
        }
        "unsuspend" => {
            if status != "SUSPENDED" {
                return Err(ApiError::bad_request(
                    "Cannot unsuspend a user that is not suspended",
                ));
            }
            set_status(&mut org, &uid, "ACTIVE");
            ok(json!({}))
        }
        "unlock" => {
            if status != "LOCKED_OUT" {
                return Err(ApiError::bad_request(
                    "Cannot unlock a user that is not locked out",
                ));
            }
            set_status(&mut org, &uid, "ACTIVE");
            ok(json!({}))
        }
        other => Err(ApiError::not_found(other, "Lifecycle operation")),
    }
}

/// Okta's two-step delete: the first DELETE of a user not yet deactivated deactivates it,
/// the second removes it for good.
async fn delete_user(State(s): S, Path(id): Path<String>) -> ApiResult {
    let mut org = s.write();
    let uid = org
        .user_id_by_ref(&id)
        .ok_or_else(|| ApiError::not_found(&id, "User"))?;
    if org.users[&uid].status != "DEPROVISIONED" {
        set_status(&mut org, &uid, "DEPROVISIONED");
        return no_content();
    }
    let user = org.users.remove(&uid).expect("user");
    org.logins.remove(&user.profile.login().to_lowercase());
    for members in org.members.values_mut() {
        members.remove(&uid);
    }
    for assigned in org.app_users.values_mut() {
        assigned.remove(&uid);
    }
    org.user_roles.remove(&uid);
    no_content()
}

// ------------------------------------------------------------------------------------- groups

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

fn okta_group<'a>(org: &'a Org, id: &str) -> Result<&'a Value, ApiError> {
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
    for assigned in org.app_groups.values_mut() {
        assigned.remove(&id);
    }
    let o = &mut *org;
    for roles in o.user_roles.values_mut().chain(o.group_roles.values_mut()) {
        for role in roles {
            role.target_groups.remove(&id);
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
    org.members.entry(id.clone()).or_default().insert(uid);
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

// -------------------------------------------------------------------------------------- roles

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

// -------------------------------------------------------------------------------- group rules

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
    rule["status"] = json!(status);
    rule["lastUpdated"] = json!(now);
    org.run_rule(&id);
    no_content()
}

// --------------------------------------------------------------------------------------- apps

/// Apps the API can create from settings alone: bookmark, SWA templates, OIDC clients and
/// custom SAML apps (`SAML_2_0` with `settings.signOn`).
fn creatable(body: &Value) -> Result<(), ApiError> {
    let name = body["name"].as_str().unwrap_or_default();
    let mode = body["signOnMode"].as_str().unwrap_or_default();
    let custom_saml = mode == "SAML_2_0" && body.pointer("/settings/signOn/ssoAcsUrl").is_some();
    let known = matches!(
        (name, mode),
        ("bookmark", "BOOKMARK")
            | ("template_swa", "BROWSER_PLUGIN")
            | ("template_swa3field", "BROWSER_PLUGIN")
            | ("oidc_client", "OPENID_CONNECT")
    );
    if !known && !custom_saml {
        return Err(ApiError::validation(
            "name",
            format!(
                "name: No app with the name {name:?} and sign-on mode {mode:?} can be created from the API"
            ),
        ));
    }
    if body["label"].as_str().is_none_or(str::is_empty) {
        return Err(ApiError::validation(
            "label",
            "label: The field cannot be left blank",
        ));
    }
    Ok(())
}

async fn create_app(State(s): S, Query(p): Q, body: Bytes) -> ApiResult {
    let mut body = json_body(&body)?;
    creatable(&body)?;
    let mut org = s.write();
    let id = org.new_id("0oa");
    let now = ts(org.write_time());
    if body["signOnMode"] == "SAML_2_0" {
        let slug: String = body["label"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        body["name"] = json!(format!("examplecom_{slug}_1"));
    }
    if matches!(
        body["signOnMode"].as_str(),
        Some("SAML_2_0" | "OPENID_CONNECT")
    ) {
        // Okta generates a signing key for every new SAML and OIDC app.
        body["credentials"]["signing"] = json!({"kid": org.new_id("kid")});
    }
    if body["signOnMode"] == "OPENID_CONNECT" {
        let secret = org.new_id("sec") + &org.new_id("ret");
        let oauth = &mut body["credentials"]["oauthClient"];
        if !oauth.is_object() {
            *oauth = json!({"autoKeyRotation": true, "token_endpoint_auth_method": "client_secret_basic"});
        }
        oauth["client_id"] = json!(id);
        oauth["client_secret"] = json!(secret);
    }
    body["id"] = json!(id);
    body["status"] = json!(if flag(&p, "activate", true) {
        "ACTIVE"
    } else {
        "INACTIVE"
    });
    body["created"] = json!(now);
    body["lastUpdated"] = json!(now);
    if body.get("features").is_none() {
        body["features"] = json!([]);
    }
    body["_links"] = json!({"self": {"href": format!("/api/v1/apps/{id}")}});
    org.apps.insert(id.clone(), body.clone());
    org.app_users.insert(id.clone(), Default::default());
    org.app_groups.insert(id, Default::default());
    created(body)
}

async fn replace_app(State(s): S, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let mut body = json_body(&body)?;
    let mut org = s.write();
    let current = org
        .apps
        .get(&id)
        .ok_or_else(|| ApiError::not_found(&id, "AppInstance"))?
        .clone();
    if body["label"].as_str().is_none_or(str::is_empty) {
        return Err(ApiError::validation(
            "label",
            "label: The field cannot be left blank",
        ));
    }
    // Identity, status and secrets are not changed by a replace.
    for field in ["id", "name", "signOnMode", "status", "created", "_links"] {
        body[field] = current[field].clone();
    }
    if let Some(secret) = current.pointer("/credentials/oauthClient").cloned() {
        let oauth = &mut body["credentials"]["oauthClient"];
        if !oauth.is_object() {
            *oauth = json!({});
        }
        oauth["client_id"] = secret["client_id"].clone();
        oauth["client_secret"] = secret["client_secret"].clone();
    }
    if let Some(signing) = current.pointer("/credentials/signing/kid").cloned() {
        body["credentials"]["signing"]["kid"] = signing;
    }
    body["lastUpdated"] = json!(ts(org.write_time()));
    org.apps.insert(id, body.clone());
    ok(body)
}

async fn delete_app(State(s): S, Path(id): Path<String>) -> ApiResult {
    let mut org = s.write();
    let app = org
        .apps
        .get(&id)
        .ok_or_else(|| ApiError::not_found(&id, "AppInstance"))?;
    if app["status"] != "INACTIVE" {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "E0000056",
            "Delete application forbidden. Deactivate the application first.",
        ));
    }
    org.apps.remove(&id);
    org.app_users.remove(&id);
    org.app_groups.remove(&id);
    let o = &mut *org;
    for roles in o.user_roles.values_mut().chain(o.group_roles.values_mut()) {
        for role in roles {
            role.target_apps.remove(&id);
        }
    }
    no_content()
}

async fn app_lifecycle(State(s): S, Path((id, action)): Path<(String, String)>) -> ApiResult {
    let mut org = s.write();
    let status = match action.as_str() {
        "activate" => "ACTIVE",
        "deactivate" => "INACTIVE",
        other => return Err(ApiError::not_found(other, "Lifecycle operation")),
    };
    let now = ts(org.write_time());
    let app = org
        .apps
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(&id, "AppInstance"))?;
    app["status"] = json!(status);
    app["lastUpdated"] = json!(now);
    ok(json!({}))
}

fn set_app_user(org: &mut Org, app: &str, user: &str, body: &Value, create: bool) -> ApiResult {
    if !org.apps.contains_key(app) {
        return Err(ApiError::not_found(app, "AppInstance"));
    }
    let uid = org
        .user_id_by_ref(user)
        .ok_or_else(|| ApiError::not_found(user, "User"))?;
    if let Some(scope) = body["scope"].as_str()
        && scope != "USER"
    {
        return Err(ApiError::validation(
            "scope",
            "scope: Only USER scope can be assigned directly",
        ));
    }
    let now = org.write_time();
    let assigned = org.app_users.entry(app.to_string()).or_default();
    if !create && !assigned.contains_key(&uid) {
        return Err(ApiError::not_found(&uid, "AppUser"));
    }
    let entry = assigned.entry(uid.clone()).or_insert(AppUser {
        created: now,
        user_name: None,
        profile: None,
    });
    if let Some(name) = body
        .pointer("/credentials/userName")
        .and_then(Value::as_str)
    {
        entry.user_name = Some(name.to_string());
    }
    if let Some(profile) = body.get("profile").and_then(Value::as_object) {
        entry.profile = (!profile.is_empty()).then(|| Box::new(profile.clone()));
    }
    let json = app_user_json(org, app, &uid, false).expect("just assigned");
    ok(json)
}

async fn assign_app_user(State(s): S, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let user = body["id"].as_str().unwrap_or_default().to_string();
    if user.is_empty() {
        return Err(ApiError::validation(
            "id",
            "id: The field cannot be left blank",
        ));
    }
    set_app_user(&mut s.write(), &id, &user, &body, true)
}

async fn update_app_user(
    State(s): S,
    Path((id, user)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = json_body(&body)?;
    set_app_user(&mut s.write(), &id, &user, &body, false)
}

async fn unassign_app_user(State(s): S, Path((id, user)): Path<(String, String)>) -> ApiResult {
    let mut org = s.write();
    let uid = org
        .user_id_by_ref(&user)
        .ok_or_else(|| ApiError::not_found(&user, "User"))?;
    let assigned = org
        .app_users
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(&id, "AppInstance"))?;
    if assigned.remove(&uid).is_none() {
        return Err(ApiError::not_found(&uid, "AppUser"));
    }
    no_content()
}

async fn assign_app_group(
    State(s): S,
    Path((id, group)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    if !org.apps.contains_key(&id) {
        return Err(ApiError::not_found(&id, "AppInstance"));
    }
    if !org.groups.contains_key(&group) {
        return Err(ApiError::not_found(&group, "UserGroup"));
    }
    let now = ts(org.write_time());
    let assigned = org.app_groups.entry(id.clone()).or_default();
    let priority = body
        .get("priority")
        .cloned()
        .unwrap_or_else(|| json!(assigned.len()));
    let value = json!({
        "id": group, "priority": priority, "lastUpdated": now,
        "profile": body.get("profile").cloned().unwrap_or_else(|| json!({})),
        "_links": {"app": {"href": format!("/api/v1/apps/{id}")},
                   "group": {"href": format!("/api/v1/groups/{group}")}},
    });
    assigned.insert(group, value.clone());
    ok(value)
}

async fn unassign_app_group(State(s): S, Path((id, group)): Path<(String, String)>) -> ApiResult {
    let mut org = s.write();
    let assigned = org
        .app_groups
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(&id, "AppInstance"))?;
    if assigned.remove(&group).is_none() {
        return Err(ApiError::not_found(&group, "ApplicationGroupAssignment"));
    }
    no_content()
}

// ----------------------------------------------------------------------- policies and rules

fn check_refs(org: &Org, body: &Value) -> Result<(), ApiError> {
    type Exists<'a> = &'a dyn Fn(&str) -> bool;
    // Each condition that names objects by id: where it sits, its field in errors, what it
    // names, and whether an id exists.
    let groups: Exists = &|id| org.groups.contains_key(id);
    let users: Exists = &|id| org.users.contains_key(id);
    let zones: Exists = &|id| org.zones.contains_key(id);
    let conditions = [
        (
            "/conditions/people/groups",
            "conditions.people.groups",
            "group",
            groups,
        ),
        (
            "/conditions/people/users",
            "conditions.people.users",
            "user",
            users,
        ),
        ("/conditions/network", "conditions.network", "zone", zones),
    ];
    for list in ["include", "exclude"] {
        for (pointer, field, noun, exists) in conditions {
            for id in body
                .pointer(&format!("{pointer}/{list}"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let id = id.as_str().unwrap_or_default();
                if !exists(id) {
                    return Err(ApiError::validation(
                        field,
                        format!("{field}.{list}: Invalid {noun} id {id}"),
                    ));
                }
            }
        }
    }
    Ok(())
}

async fn create_policy(State(s): S, Query(p): Q, body: Bytes) -> ApiResult {
    let mut body = json_body(&body)?;
    let mut org = s.write();
    let kind = body["type"].as_str().unwrap_or_default().to_string();
    if !POLICY_TYPES.contains(&kind.as_str()) {
        return Err(ApiError::validation(
            "type",
            format!("type: Invalid policy type {kind}"),
        ));
    }
    let name = body["name"].as_str().unwrap_or_default().to_string();
    if name.is_empty() {
        return Err(ApiError::validation(
            "name",
            "name: The field cannot be left blank",
        ));
    }
    if org
        .policies
        .values()
        .any(|v| v["type"] == kind.as_str() && v["name"] == name.as_str())
    {
        return Err(duplicate("name"));
    }
    check_refs(&org, &body)?;
    let id = org.new_id("00p");
    let now = ts(org.write_time());
    body["id"] = json!(id);
    body["system"] = json!(false);
    body["status"] = json!(if flag(&p, "activate", true) {
        "ACTIVE"
    } else {
        "INACTIVE"
    });
    if body.get("priority").is_none_or(Value::is_null) {
        body["priority"] = json!(1);
    }
    body["created"] = json!(now);
    body["lastUpdated"] = json!(now);
    body["_links"] = json!({"self": {"href": format!("/api/v1/policies/{id}")},
                            "rules": {"href": format!("/api/v1/policies/{id}/rules")}});
    org.policies.insert(id.clone(), body.clone());
    org.policy_rules.insert(id, Vec::new());
    created(body)
}

async fn replace_policy(State(s): S, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let mut body = json_body(&body)?;
    let mut org = s.write();
    let current = org
        .policies
        .get(&id)
        .ok_or_else(|| ApiError::not_found(&id, "Policy"))?
        .clone();
    check_refs(&org, &body)?;
    let name = body["name"].as_str().unwrap_or_default().to_string();
    if org
        .policies
        .iter()
        .any(|(pid, v)| *pid != id && v["type"] == current["type"] && v["name"] == name.as_str())
    {
        return Err(duplicate("name"));
    }
    for field in ["id", "type", "system", "status", "created", "_links"] {
        body[field] = current[field].clone();
    }
    body["lastUpdated"] = json!(ts(org.write_time()));
    org.policies.insert(id, body.clone());
    ok(body)
}

async fn delete_policy(State(s): S, Path(id): Path<String>) -> ApiResult {
    let mut org = s.write();
    let policy = org
        .policies
        .get(&id)
        .ok_or_else(|| ApiError::not_found(&id, "Policy"))?;
    if policy["system"] == true {
        return Err(forbidden("Cannot delete the default policy."));
    }
    org.policies.remove(&id);
    org.policy_rules.remove(&id);
    no_content()
}

fn set_status_field(
    value: Option<&mut Value>,
    id: &str,
    what: &str,
    action: &str,
    now: String,
) -> ApiResult {
    let status = match action {
        "activate" => "ACTIVE",
        "deactivate" => "INACTIVE",
        other => return Err(ApiError::not_found(other, "Lifecycle operation")),
    };
    let value = value.ok_or_else(|| ApiError::not_found(id, what))?;
    value["status"] = json!(status);
    value["lastUpdated"] = json!(now);
    no_content()
}

async fn policy_lifecycle(State(s): S, Path((id, action)): Path<(String, String)>) -> ApiResult {
    let mut org = s.write();
    let now = ts(org.write_time());
    set_status_field(org.policies.get_mut(&id), &id, "Policy", &action, now)
}

async fn create_policy_rule(
    State(s): S,
    Path(id): Path<String>,
    Query(p): Q,
    body: Bytes,
) -> ApiResult {
    let mut body = json_body(&body)?;
    let mut org = s.write();
    if !org.policies.contains_key(&id) {
        return Err(ApiError::not_found(&id, "Policy"));
    }
    let name = body["name"].as_str().unwrap_or_default().to_string();
    if name.is_empty() {
        return Err(ApiError::validation(
            "name",
            "name: The field cannot be left blank",
        ));
    }
    if org.policy_rules[&id]
        .iter()
        .any(|r| r["name"] == name.as_str())
    {
        return Err(duplicate("name"));
    }
    check_refs(&org, &body)?;
    let rid = org.new_id("0pr");
    let now = ts(org.write_time());
    body["id"] = json!(rid);
    body["system"] = json!(false);
    body["status"] = json!(if flag(&p, "activate", true) {
        "ACTIVE"
    } else {
        "INACTIVE"
    });
    if body.get("priority").is_none_or(Value::is_null) {
        body["priority"] = json!(1);
    }
    body["created"] = json!(now);
    body["lastUpdated"] = json!(now);
    body["_links"] = json!({"self": {"href": format!("/api/v1/policies/{id}/rules/{rid}")}});
    org.policy_rules
        .get_mut(&id)
        .expect("policy")
        .push(body.clone());
    created(body)
}

async fn replace_policy_rule(
    State(s): S,
    Path((id, rule)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let mut body = json_body(&body)?;
    let mut org = s.write();
    check_refs(&org, &body)?;
    let now = ts(org.write_time());
    let rules = org
        .policy_rules
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(&id, "Policy"))?;
    let name = body["name"].as_str().unwrap_or_default().to_string();
    if rules
        .iter()
        .any(|r| r["id"] != rule.as_str() && r["name"] == name.as_str())
    {
        return Err(duplicate("name"));
    }
    let current = rules
        .iter_mut()
        .find(|r| r["id"] == rule.as_str())
        .ok_or_else(|| ApiError::not_found(&rule, "PolicyRule"))?;
    for field in ["id", "system", "status", "created", "_links"] {
        body[field] = current[field].clone();
    }
    body["lastUpdated"] = json!(now);
    *current = body.clone();
    ok(body)
}

async fn delete_policy_rule(State(s): S, Path((id, rule)): Path<(String, String)>) -> ApiResult {
    let mut org = s.write();
    let rules = org
        .policy_rules
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(&id, "Policy"))?;
    let Some(pos) = rules.iter().position(|r| r["id"] == rule.as_str()) else {
        return Err(ApiError::not_found(&rule, "PolicyRule"));
    };
    if rules[pos]["system"] == true {
        return Err(forbidden("Cannot delete the default rule of a policy."));
    }
    rules.remove(pos);
    no_content()
}

async fn policy_rule_lifecycle(
    State(s): S,
    Path((id, rule, action)): Path<(String, String, String)>,
) -> ApiResult {
    let mut org = s.write();
    let now = ts(org.write_time());
    let target = org
        .policy_rules
        .get_mut(&id)
        .and_then(|rules| rules.iter_mut().find(|r| r["id"] == rule.as_str()));
    set_status_field(target, &rule, "PolicyRule", &action, now)
}

// -------------------------------------------------------------------------------------- zones

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
    Ok(())
}

async fn create_zone(State(s): S, body: Bytes) -> ApiResult {
    let mut body = json_body(&body)?;
    let mut org = s.write();
    validate_zone(&org, &body, None)?;
    let id = org.new_id("nzo");
    let now = ts(org.write_time());
    body["id"] = json!(id);
    body["system"] = json!(false);
    body["status"] = json!("ACTIVE");
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
    for field in ["id", "system", "status", "created", "_links"] {
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

// ----------------------------------------------------------------------- user types, schema

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
