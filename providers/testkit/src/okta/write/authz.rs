//! Custom authorization servers and what belongs to them. Creates answer 201, replaces 200,
//! deletes and lifecycle operations 204. System scopes are never deleted or renamed; an access
//! policy's clients must be apps (or `ALL_CLIENTS`); a rule's groups, users and scopes must
//! exist (`EVERYONE` and `*` aside). Deleting a server takes all that is under it.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::{Value, json};

use super::policies::set_status_field;
use super::{Q, S, duplicate};
use crate::okta::Shared;
use crate::okta::api::{ApiError, ApiResult, flag, json_body, no_content, ok};
use crate::okta::model::{AuthServer, Org, ts};
use crate::okta::read::server_json;
use crate::okta::seed::new_server;

const BASE: &str = "/api/v1/authorizationServers";

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(BASE, post(create_server))
        .route(
            &format!("{BASE}/{{id}}"),
            axum::routing::put(replace_server).delete(delete_server),
        )
        .route(
            &format!("{BASE}/{{id}}/lifecycle/{{action}}"),
            post(server_lifecycle),
        )
        .merge(family_routes("scopes", Family::Scopes))
        .merge(family_routes("claims", Family::Claims))
        .merge(family_routes("policies", Family::Policies))
        .route(
            &format!("{BASE}/{{id}}/policies/{{child}}/lifecycle/{{action}}"),
            post(policy_lifecycle),
        )
        .route(
            &format!("{BASE}/{{id}}/policies/{{child}}/rules"),
            post(create_rule),
        )
        .route(
            &format!("{BASE}/{{id}}/policies/{{child}}/rules/{{rule}}"),
            axum::routing::put(replace_rule).delete(delete_rule),
        )
        .route(
            &format!("{BASE}/{{id}}/policies/{{child}}/rules/{{rule}}/lifecycle/{{action}}"),
            post(rule_lifecycle),
        )
}

/// Create, replace and delete of one family under a server (`…/{id}/scopes`, …).
fn family_routes(segment: &str, family: Family) -> Router<Arc<Shared>> {
    Router::new()
        .route(
            &format!("{BASE}/{{id}}/{segment}"),
            post(move |s: S, Path(id): Path<String>, body: Bytes| {
                create_child(s, id, family, body)
            }),
        )
        .route(
            &format!("{BASE}/{{id}}/{segment}/{{child}}"),
            axum::routing::put(
                move |s: S, Path((id, child)): Path<(String, String)>, body: Bytes| {
                    replace_child(s, (id, child), family, body)
                },
            )
            .delete(move |s: S, Path((id, child)): Path<(String, String)>| {
                delete_child(s, (id, child), family)
            }),
        )
}

fn created_201(value: Value) -> ApiResult {
    Ok((StatusCode::CREATED, Json(value)).into_response())
}

fn blank(field: &str) -> ApiError {
    ApiError::validation(field, format!("{field}: The field cannot be left blank"))
}

fn server_mut<'a>(org: &'a mut Org, id: &str) -> Result<&'a mut AuthServer, ApiError> {
    org.auth_servers
        .get_mut(id)
        .ok_or_else(|| ApiError::not_found(id, "AuthorizationServer"))
}

fn validate_server(org: &Org, body: &Value, except: Option<&str>) -> Result<(), ApiError> {
    let name = body["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        return Err(blank("name"));
    }
    if body["audiences"].as_array().is_none_or(Vec::is_empty) {
        return Err(blank("audiences"));
    }
    if !matches!(
        body.get("issuerMode").and_then(Value::as_str),
        None | Some("ORG_URL" | "CUSTOM_URL" | "DYNAMIC")
    ) {
        return Err(ApiError::validation(
            "issuerMode",
            "issuerMode: Must be ORG_URL, CUSTOM_URL or DYNAMIC",
        ));
    }
    let taken = org
        .auth_servers
        .iter()
        .any(|(id, a)| Some(id.as_str()) != except && a.server["name"] == name);
    if taken {
        return Err(duplicate("name"));
    }
    Ok(())
}

async fn create_server(State(s): S, body: Bytes) -> ApiResult {
    let mut body = json_body(&body)?;
    let mut org = s.write();
    validate_server(&org, &body, None)?;
    // The status is the lifecycle's to set; a new server is active.
    body["status"] = json!("ACTIVE");
    let id = org.new_id("aus");
    let now = ts(org.write_time());
    let server = new_server(&mut org, &id, &body, &now);
    let answer = server_json(&org, &server);
    org.auth_servers.insert(id, server);
    created_201(answer)
}

async fn replace_server(State(s): S, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let mut body = json_body(&body)?;
    let mut org = s.write();
    let current = server_mut(&mut org, &id)?.server.clone();
    validate_server(&org, &body, Some(&id))?;
    let mut credentials = current["credentials"].clone();
    if let Some(mode) = body.pointer("/credentials/signing/rotationMode") {
        credentials["signing"]["rotationMode"] = mode.clone();
    }
    body["credentials"] = credentials;
    for field in ["id", "status", "created", "_links"] {
        body[field] = current[field].clone();
    }
    if body.get("issuerMode").is_none_or(Value::is_null) {
        body["issuerMode"] = current["issuerMode"].clone();
    }
    body["lastUpdated"] = json!(ts(org.write_time()));
    server_mut(&mut org, &id)?.server = body;
    let answer = server_json(&org, &org.auth_servers[&id]);
    ok(answer)
}

async fn delete_server(State(s): S, Path(id): Path<String>) -> ApiResult {
    let mut org = s.write();
    org.auth_servers
        .remove(&id)
        .ok_or_else(|| ApiError::not_found(&id, "AuthorizationServer"))?;
    org.iam.forget(crate::okta::iam::Kind::AuthServer, &id);
    no_content()
}

async fn server_lifecycle(State(s): S, Path((id, action)): Path<(String, String)>) -> ApiResult {
    let mut org = s.write();
    let now = ts(org.write_time());
    let server = org.auth_servers.get_mut(&id).map(|a| &mut a.server);
    set_status_field(server, &id, "AuthorizationServer", &action, now)
}

/// The families of objects under a server, as their path segment names them.
#[derive(Clone, Copy)]
enum Family {
    Scopes,
    Claims,
    Policies,
}

impl Family {
    fn what(self) -> &'static str {
        match self {
            Family::Scopes => "OAuth2Scope",
            Family::Claims => "OAuth2Claim",
            Family::Policies => "AuthorizationServerPolicy",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Family::Scopes => "scp",
            Family::Claims => "ocl",
            Family::Policies => "00p",
        }
    }

    fn items(self, server: &mut AuthServer) -> &mut Vec<Value> {
        match self {
            Family::Scopes => &mut server.scopes,
            Family::Claims => &mut server.claims,
            Family::Policies => &mut server.policies,
        }
    }

    /// Names are unique within a server; a claim's within its type.
    fn same_name(self, a: &Value, b: &Value) -> bool {
        a["name"] == b["name"]
            && match self {
                Family::Claims => a["claimType"] == b["claimType"],
                _ => true,
            }
    }
}

fn validate_child(org: &Org, family: Family, body: &Value) -> Result<(), ApiError> {
    if body["name"].as_str().unwrap_or_default().is_empty() {
        return Err(blank("name"));
    }
    match family {
        Family::Scopes => Ok(()),
        Family::Claims => {
            if !matches!(body["claimType"].as_str(), Some("RESOURCE" | "IDENTITY")) {
                return Err(ApiError::validation(
                    "claimType",
                    "claimType: Must be RESOURCE or IDENTITY",
                ));
            }
            if !matches!(body["valueType"].as_str(), Some("EXPRESSION" | "GROUPS")) {
                return Err(ApiError::validation(
                    "valueType",
                    "valueType: Must be EXPRESSION or GROUPS",
                ));
            }
            if body["value"].as_str().unwrap_or_default().is_empty() {
                return Err(blank("value"));
            }
            Ok(())
        }
        Family::Policies => {
            let clients = body
                .pointer("/conditions/clients/include")
                .and_then(Value::as_array)
                .filter(|c| !c.is_empty())
                .ok_or_else(|| blank("conditions.clients.include"))?;
            for client in clients {
                let client = client.as_str().unwrap_or_default();
                if client != "ALL_CLIENTS" && !org.apps.contains_key(client) {
                    return Err(ApiError::validation(
                        "conditions.clients.include",
                        format!("conditions.clients.include: Invalid client id {client}"),
                    ));
                }
            }
            Ok(())
        }
    }
}

async fn create_child(State(s): S, id: String, family: Family, body: Bytes) -> ApiResult {
    let mut body = json_body(&body)?;
    let mut org = s.write();
    server_mut(&mut org, &id)?;
    validate_child(&org, family, &body)?;
    let child = org.new_id(family.prefix());
    let now = ts(org.write_time());
    let server = server_mut(&mut org, &id)?;
    if family
        .items(server)
        .iter()
        .any(|v| family.same_name(v, &body))
    {
        return Err(duplicate("name"));
    }
    body["id"] = json!(child);
    body["system"] = json!(false);
    match family {
        Family::Scopes => {}
        Family::Claims => {
            body["status"] = json!("ACTIVE");
        }
        Family::Policies => {
            body["type"] = json!("OAUTH_AUTHORIZATION_POLICY");
            if body.get("status").is_none_or(Value::is_null) {
                body["status"] = json!("ACTIVE");
            }
            if body.get("priority").is_none_or(Value::is_null) {
                body["priority"] = json!(server.policies.len() + 1);
            }
            body["created"] = json!(now);
            body["lastUpdated"] = json!(now);
            server.rules.insert(child.clone(), Vec::new());
        }
    }
    family.items(server).push(body.clone());
    created_201(body)
}

async fn replace_child(
    State(s): S,
    (id, child): (String, String),
    family: Family,
    body: Bytes,
) -> ApiResult {
    let mut body = json_body(&body)?;
    let mut org = s.write();
    server_mut(&mut org, &id)?;
    validate_child(&org, family, &body)?;
    let now = ts(org.write_time());
    let items = family.items(server_mut(&mut org, &id)?);
    let at = items
        .iter()
        .position(|v| v["id"] == child.as_str())
        .ok_or_else(|| ApiError::not_found(&child, family.what()))?;
    if items
        .iter()
        .enumerate()
        .any(|(i, v)| i != at && family.same_name(v, &body))
    {
        return Err(duplicate("name"));
    }
    let current = items[at].clone();
    if current["system"] == true && body["name"] != current["name"] {
        return Err(ApiError::validation(
            "name",
            "name: The name of a system scope cannot be changed",
        ));
    }
    for field in ["id", "system", "type", "created"] {
        if current.get(field).is_some() {
            body[field] = current[field].clone();
        }
    }
    if matches!(family, Family::Policies) {
        body["status"] = current["status"].clone();
        body["lastUpdated"] = json!(now);
    }
    items[at] = body.clone();
    ok(body)
}

async fn delete_child(State(s): S, (id, child): (String, String), family: Family) -> ApiResult {
    let mut org = s.write();
    let server = server_mut(&mut org, &id)?;
    let items = family.items(server);
    let at = items
        .iter()
        .position(|v| v["id"] == child.as_str())
        .ok_or_else(|| ApiError::not_found(&child, family.what()))?;
    if items[at]["system"] == true {
        return Err(ApiError::validation(
            "system",
            "system: System scopes cannot be deleted",
        ));
    }
    items.remove(at);
    server.rules.remove(&child);
    no_content()
}

async fn policy_lifecycle(
    State(s): S,
    Path((id, child, action)): Path<(String, String, String)>,
) -> ApiResult {
    let mut org = s.write();
    let now = ts(org.write_time());
    let policy = server_mut(&mut org, &id)?
        .policies
        .iter_mut()
        .find(|v| v["id"] == child.as_str());
    set_status_field(policy, &child, "AuthorizationServerPolicy", &action, now)
}

fn validate_rule(org: &Org, server: &AuthServer, body: &Value) -> Result<(), ApiError> {
    if body["name"].as_str().unwrap_or_default().is_empty() {
        return Err(blank("name"));
    }
    let listed = |pointer: &str| -> Vec<String> {
        body.pointer(pointer)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    };
    for list in ["include", "exclude"] {
        for group in listed(&format!("/conditions/people/groups/{list}")) {
            if group != "EVERYONE" && !org.groups.contains_key(&group) {
                return Err(ApiError::validation(
                    "conditions.people.groups",
                    format!("conditions.people.groups.{list}: Invalid group id {group}"),
                ));
            }
        }
        for user in listed(&format!("/conditions/people/users/{list}")) {
            if !org.users.contains_key(&user) {
                return Err(ApiError::validation(
                    "conditions.people.users",
                    format!("conditions.people.users.{list}: Invalid user id {user}"),
                ));
            }
        }
    }
    if let Some(hook) = body
        .pointer("/actions/token/inlineHook/id")
        .and_then(Value::as_str)
        && !org.hooks.has_inline(hook)
    {
        return Err(ApiError::validation(
            "actions.token.inlineHook",
            format!("actions.token.inlineHook.id: Invalid inline hook id {hook}"),
        ));
    }
    let scopes = listed("/conditions/scopes/include");
    if scopes.is_empty() {
        return Err(blank("conditions.scopes.include"));
    }
    for scope in scopes {
        if scope != "*" && !server.scopes.iter().any(|s| s["name"] == scope.as_str()) {
            return Err(ApiError::validation(
                "conditions.scopes",
                format!("conditions.scopes.include: Invalid scope {scope}"),
            ));
        }
    }
    Ok(())
}

/// The rules of policy `policy` of server `id`, checked against `body` first when given.
fn rules_of<'a>(
    org: &'a mut Org,
    id: &str,
    policy: &str,
    body: Option<&Value>,
) -> Result<&'a mut Vec<Value>, ApiError> {
    if let Some(body) = body {
        let server = org
            .auth_servers
            .get(id)
            .ok_or_else(|| ApiError::not_found(id, "AuthorizationServer"))?;
        validate_rule(org, server, body)?;
    }
    server_mut(org, id)?
        .rules
        .get_mut(policy)
        .ok_or_else(|| ApiError::not_found(policy, "AuthorizationServerPolicy"))
}

async fn create_rule(
    State(s): S,
    Path((id, policy)): Path<(String, String)>,
    Query(p): Q,
    body: Bytes,
) -> ApiResult {
    let mut body = json_body(&body)?;
    let mut org = s.write();
    let rule = org.new_id("0pr");
    let now = ts(org.write_time());
    let rules = rules_of(&mut org, &id, &policy, Some(&body))?;
    if rules.iter().any(|r| r["name"] == body["name"]) {
        return Err(duplicate("name"));
    }
    body["id"] = json!(rule);
    body["type"] = json!("RESOURCE_ACCESS");
    body["system"] = json!(false);
    body["status"] = json!(if flag(&p, "activate", true) {
        "ACTIVE"
    } else {
        "INACTIVE"
    });
    if body.get("priority").is_none_or(Value::is_null) {
        body["priority"] = json!(rules.len() + 1);
    }
    body["created"] = json!(now);
    body["lastUpdated"] = json!(now);
    rules.push(body.clone());
    created_201(body)
}

async fn replace_rule(
    State(s): S,
    Path((id, policy, rule)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let mut body = json_body(&body)?;
    let mut org = s.write();
    let now = ts(org.write_time());
    let rules = rules_of(&mut org, &id, &policy, Some(&body))?;
    let at = rules
        .iter()
        .position(|r| r["id"] == rule.as_str())
        .ok_or_else(|| ApiError::not_found(&rule, "AuthorizationServerPolicyRule"))?;
    let current = rules[at].clone();
    for field in ["id", "type", "system", "status", "created"] {
        body[field] = current[field].clone();
    }
    body["lastUpdated"] = json!(now);
    rules[at] = body.clone();
    ok(body)
}

async fn delete_rule(
    State(s): S,
    Path((id, policy, rule)): Path<(String, String, String)>,
) -> ApiResult {
    let mut org = s.write();
    let rules = rules_of(&mut org, &id, &policy, None)?;
    let before = rules.len();
    rules.retain(|r| r["id"] != rule.as_str());
    if rules.len() == before {
        return Err(ApiError::not_found(&rule, "AuthorizationServerPolicyRule"));
    }
    no_content()
}

async fn rule_lifecycle(
    State(s): S,
    Path((id, policy, rule, action)): Path<(String, String, String, String)>,
) -> ApiResult {
    let mut org = s.write();
    let now = ts(org.write_time());
    let rules = rules_of(&mut org, &id, &policy, None)?;
    let found = rules.iter_mut().find(|r| r["id"] == rule.as_str());
    set_status_field(found, &rule, "AuthorizationServerPolicyRule", &action, now)
}
