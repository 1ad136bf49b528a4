//! Policies and their rules; Okta's default ones are never deleted.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::routing::{post, put};
use serde_json::{Value, json};

use super::{Q, S, duplicate, forbidden};
use crate::okta::Shared;
use crate::okta::api::{ApiError, ApiResult, created, flag, json_body, no_content, ok};
use crate::okta::model::{Org, ts};
use crate::okta::seed::{CREATABLE_POLICY_TYPES, NO_MORE_RULES, rule_made_with};

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
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
}

fn check_refs(org: &Org, body: &Value) -> Result<(), ApiError> {
    type Exists<'a> = &'a dyn Fn(&str) -> bool;
    // Each condition that names objects by id: where it sits, its field in errors, what it
    // names, and whether an id exists.
    let groups: Exists = &|id| org.groups.contains_key(id);
    let users: Exists = &|id| org.users.contains_key(id);
    let zones: Exists = &|id| org.zones.contains_key(id);
    let types: Exists = &|id| org.user_types.contains_key(id);
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
        (
            "/conditions/userType",
            "conditions.userType",
            "user type",
            types,
        ),
    ];
    for provider in body
        .pointer("/actions/idp/providers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(id) = provider["id"].as_str()
            && !org.idps.contains_key(id)
        {
            return Err(ApiError::validation(
                "actions.idp.providers",
                format!("actions.idp.providers: Invalid identity provider id {id}"),
            ));
        }
    }
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
    crate::okta::behaviors::check_rule(org, body)?;
    crate::okta::authenticators::check_constraints(org, body)
}

async fn create_policy(State(s): S, Query(p): Q, body: Bytes) -> ApiResult {
    let mut body = json_body(&body)?;
    let mut org = s.write();
    let kind = body["type"].as_str().unwrap_or_default().to_string();
    if !org.policy_types.contains(kind.as_str()) {
        return Err(invalid_type());
    }
    if !CREATABLE_POLICY_TYPES.contains(&kind.as_str()) {
        return Err(ApiError::validation(
            "type",
            format!(
                "type: Policies of type {kind} are Okta's, one per org; they cannot be created"
            ),
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
    crate::okta::authenticators::check_enrollment(&org, &body)?;
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
    let rules = rule_made_with(&mut org, &id, &kind, &now)
        .into_iter()
        .collect();
    org.policies.insert(id.clone(), body.clone());
    org.policy_rules.insert(id, rules);
    created(body)
}

/// Okta's answer to a policy type the org does not have.
pub(crate) fn invalid_type() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "E0000002",
        "The request was not valid: Invalid policy type specified",
    )
}

/// Why an app sign-in policy cannot be deactivated or deleted: apps are bound to it.
fn bound_apps(org: &Org, id: &str) -> Result<(), ApiError> {
    let apps = org
        .apps
        .values()
        .filter(|a| Org::access_policy_of(a) == Some(id))
        .count();
    if apps == 0 {
        return Ok(());
    }
    Err(ApiError::validation(
        "policy",
        format!(
            "policy: {apps} app(s) use this app sign-in policy; assign them another policy first"
        ),
    ))
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
    if current["status"] == "ACTIVE" {
        crate::okta::authenticators::check_enrollment(&org, &body)?;
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
    bound_apps(&org, &id)?;
    org.policies.remove(&id);
    org.policy_rules.remove(&id);
    no_content()
}

pub(super) fn set_status_field(
    value: Option<&mut Value>,
    id: &str,
    what: &str,
    action: &str,
    now: String,
) -> ApiResult {
    super::set_lifecycle_status(value, id, what, action, now)?;
    no_content()
}

async fn policy_lifecycle(State(s): S, Path((id, action)): Path<(String, String)>) -> ApiResult {
    let mut org = s.write();
    if action == "deactivate" {
        bound_apps(&org, &id)?;
    }
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
    let Some(policy) = org.policies.get(&id) else {
        return Err(ApiError::not_found(&id, "Policy"));
    };
    let policy_type = policy["type"].as_str().unwrap_or_default().to_string();
    if NO_MORE_RULES.contains(&policy_type.as_str()) {
        return Err(ApiError::validation(
            "rule",
            format!("rule: A {policy_type} policy takes no rules beyond the one it comes with"),
        ));
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
