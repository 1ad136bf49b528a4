//! Apps (those the API creates from settings alone), their lifecycle, and their user and
//! group assignments.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{post, put};
use serde_json::{Value, json};

use super::{Q, S, set_lifecycle_status};
use crate::okta::Shared;
use crate::okta::api::{ApiError, ApiResult, created, flag, json_body, no_content, ok};
use crate::okta::model::{AppUser, Org, ts};
use crate::okta::read::app_user_json;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/apps", post(create_app))
        .route("/api/v1/apps/{id}", put(replace_app).delete(delete_app))
        .route("/api/v1/apps/{id}/lifecycle/{action}", post(app_lifecycle))
        .route("/api/v1/apps/{id}/policies/{policy}", put(assign_policy))
        .route("/api/v1/apps/{id}/users", post(assign_app_user))
        .route(
            "/api/v1/apps/{id}/users/{user}",
            post(update_app_user).delete(unassign_app_user),
        )
        .route(
            "/api/v1/apps/{id}/groups/{group}",
            put(assign_app_group).delete(unassign_app_group),
        )
}

/// Apps the API can create from settings alone: bookmark, the SWA, basic-auth and secure
/// password store templates, OIDC clients, and custom apps: SAML (`SAML_2_0` with
/// `settings.signOn.ssoAcsUrl`) and SWA (`AUTO_LOGIN` with `settings.signOn.loginUrl`), whose
/// `name` Okta generates.
fn creatable(body: &Value) -> Result<(), ApiError> {
    let name = body["name"].as_str().unwrap_or_default();
    let mode = body["signOnMode"].as_str().unwrap_or_default();
    let custom = generates_name(body);
    let known = matches!(
        (name, mode),
        ("bookmark", "BOOKMARK")
            | ("template_swa", "BROWSER_PLUGIN")
            | ("template_swa3field", "BROWSER_PLUGIN")
            | ("template_basic_auth", "BASIC_AUTH")
            | ("template_sps", "SECURE_PASSWORD_STORE")
            | ("oidc_client", "OPENID_CONNECT")
    );
    if !known && !custom {
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
    if matches!(mode, "BASIC_AUTH" | "SECURE_PASSWORD_STORE")
        && body
            .pointer("/settings/app/url")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        return Err(ApiError::validation(
            "settings.app.url",
            "settings.app.url: The field cannot be left blank",
        ));
    }
    Ok(())
}

/// A custom SAML or SWA app: Okta names it itself.
fn generates_name(body: &Value) -> bool {
    match body["signOnMode"].as_str() {
        Some("SAML_2_0") => body.pointer("/settings/signOn/ssoAcsUrl").is_some(),
        Some("AUTO_LOGIN") => body.pointer("/settings/signOn/loginUrl").is_some(),
        _ => false,
    }
}

/// The name Okta gives a custom app: its label's letters and digits (after the org's name for
/// SAML apps), numbered when taken.
fn generated_name(org: &Org, body: &Value) -> String {
    let slug: String = body["label"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let taken = |name: &str| org.apps.values().any(|a| a["name"] == name);
    if body["signOnMode"] == "SAML_2_0" {
        (1..)
            .map(|n| format!("examplecom_{slug}_{n}"))
            .find(|name| !taken(name))
            .expect("some number is free")
    } else {
        std::iter::once(slug.clone())
            .chain((1..).map(|n| format!("{slug}_{n}")))
            .find(|name| !taken(name))
            .expect("some number is free")
    }
}

async fn create_app(State(s): S, Query(p): Q, body: Bytes) -> ApiResult {
    let mut body = json_body(&body)?;
    creatable(&body)?;
    let mut org = s.write();
    let id = org.new_id("0oa");
    let now = ts(org.write_time());
    if generates_name(&body) {
        body["name"] = json!(generated_name(&org, &body));
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
    // Every new app starts bound to the default app sign-in policy.
    let policy = org.default_access_policy().unwrap_or_default();
    body["_links"] = app_links(&id, &policy);
    org.apps.insert(id.clone(), body.clone());
    org.app_users.insert(id.clone(), Default::default());
    org.app_groups.insert(id, Default::default());
    created(body)
}

/// An app's `_links`: itself, and the app sign-in policy it is bound to.
pub(crate) fn app_links(id: &str, policy: &str) -> Value {
    json!({"self": {"href": format!("/api/v1/apps/{id}")},
           "accessPolicy": {"href": format!("/api/v1/policies/{policy}")}})
}

/// `PUT /api/v1/apps/{appId}/policies/{policyId}`: binds the app to another app sign-in
/// policy, replacing the one it had.
async fn assign_policy(State(s): S, Path((id, policy)): Path<(String, String)>) -> ApiResult {
    let mut org = s.write();
    if !org.apps.contains_key(&id) {
        return Err(ApiError::not_found(&id, "AppInstance"));
    }
    match org.policies.get(&policy) {
        None => return Err(ApiError::not_found(&policy, "Policy")),
        Some(p) if p["type"] != "ACCESS_POLICY" => {
            return Err(ApiError::validation(
                "policyId",
                format!("policyId: {policy} is not an app sign-in policy (ACCESS_POLICY)"),
            ));
        }
        Some(_) => {}
    }
    org.apps.get_mut(&id).expect("the app")["_links"] = app_links(&id, &policy);
    no_content()
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
    org.iam.forget(crate::okta::iam::Kind::App, &id);
    org.brands.forget_app(&id);
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
    let now = ts(org.write_time());
    set_lifecycle_status(org.apps.get_mut(&id), &id, "AppInstance", &action, now)?;
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
