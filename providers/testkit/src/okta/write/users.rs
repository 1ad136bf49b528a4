//! Users: create (with `activate`), partial and full profile updates, lifecycle transitions,
//! and Okta's two-step delete.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Map, Value, json};

use super::{Q, S, duplicate};
use crate::okta::Shared;
use crate::okta::api::{ApiError, ApiResult, created, flag, json_body, no_content, ok};
use crate::okta::model::{Org, Profile, User};

pub(super) fn routes() -> Router<Arc<Shared>> {
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
}

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

/// Okta's check of a profile against the schema of the user's type: every property must be
/// one the schema defines (a base attribute or a custom one added to that type).
fn defined_profile(org: &Org, type_id: &str, profile: &Map<String, Value>) -> Result<(), ApiError> {
    let defined = org.profile_properties(type_id);
    match profile.keys().find(|k| !defined.contains(*k)) {
        None => Ok(()),
        Some(name) => Err(ApiError::validation(
            "profile",
            format!("Property name '{name}' is not defined in profile"),
        )),
    }
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
    defined_profile(&org, &type_id, &profile)?;
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
    let new_type = type_id
        .clone()
        .unwrap_or_else(|| org.users[&uid].type_id.clone());
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
        defined_profile(org, &new_type, &profile)?;
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
    } else if type_id.is_some() {
        defined_profile(org, &new_type, &org.users[&uid].profile.to_map())?;
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
    org.iam.forget(crate::okta::iam::Kind::User, &uid);
    no_content()
}
