//! Behavior detection rules (`/api/v1/behaviors`): what Okta counts as unusual at sign-in (a
//! new country, city, device or IP, travel faster than a plane). Listed whole, created,
//! replaced, activated, deactivated and deleted; names are unique, and global session policy
//! rules name them in `conditions.risk.behaviors`: a rule naming one that does not exist is
//! refused, and so is deleting one a rule names.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::Shared;
use super::api::{ApiError, ApiResult, Params, flag, json_body, no_content, ok};
use super::model::{Org, ts};
use super::write::{duplicate, set_lifecycle_status};

type S = State<Arc<Shared>>;

const BASE: &str = "/api/v1/behaviors";

const TYPES: &[&str] = &[
    "ANOMALOUS_LOCATION",
    "ANOMALOUS_DEVICE",
    "ANOMALOUS_IP",
    "VELOCITY",
];

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route(
            &format!("{BASE}/{{id}}"),
            get(one).put(replace).delete(delete),
        )
        .route(
            &format!("{BASE}/{{id}}/lifecycle/{{action}}"),
            post(lifecycle),
        )
}

/// Okta's default rules, in every org; an org in use has two of its own, one inactive.
pub(crate) fn seed(org: &mut Org, in_use: bool, created: &str) {
    let events = json!({"maxEventsUsedForEvaluation": 50, "minEventsNeededForEvaluation": 0});
    let with = |extra: Value| {
        let mut s = events.clone();
        for (k, v) in extra.as_object().into_iter().flatten() {
            s[k] = v.clone();
        }
        s
    };
    let mut rules = vec![
        (
            "New City",
            "ANOMALOUS_LOCATION",
            with(json!({"granularity": "CITY"})),
            "ACTIVE",
        ),
        (
            "New Country",
            "ANOMALOUS_LOCATION",
            with(json!({"granularity": "COUNTRY"})),
            "ACTIVE",
        ),
        ("New Device", "ANOMALOUS_DEVICE", events.clone(), "ACTIVE"),
        ("New IP", "ANOMALOUS_IP", events.clone(), "ACTIVE"),
        (
            "Velocity",
            "VELOCITY",
            json!({"velocityKph": 805}),
            "ACTIVE",
        ),
    ];
    if in_use {
        rules.push((
            "Far from the office",
            "ANOMALOUS_LOCATION",
            with(json!({"granularity": "LAT_LONG", "radiusKilometers": 200})),
            "ACTIVE",
        ));
        rules.push((
            "Rapid travel",
            "VELOCITY",
            json!({"velocityKph": 500}),
            "INACTIVE",
        ));
    }
    for (name, kind, settings, status) in rules {
        let id = org.new_id("abh");
        let body = json!({"name": name, "type": kind, "settings": settings});
        let v = behavior_json(&id, &body, status, created);
        org.behaviors.insert(id, v);
    }
}

fn behavior_json(id: &str, body: &Value, status: &str, created: &str) -> Value {
    json!({"id": id, "name": body["name"], "type": body["type"], "status": status,
           "settings": body["settings"], "created": created, "lastUpdated": created,
           "_links": {"self": {"href": format!("{BASE}/{id}"), "hints": {"allow": ["GET", "PUT", "DELETE"]}}}})
}

async fn list(State(s): S) -> ApiResult {
    let org = s.read();
    ok(Value::Array(org.behaviors.values().cloned().collect()))
}

async fn one(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    org.behaviors
        .get(&id)
        .cloned()
        .map_or_else(|| Err(ApiError::not_found(&id, "Behavior")), ok)
}

fn validate(org: &Org, body: &Value, except: Option<&str>) -> Result<(), ApiError> {
    let name = body["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        return Err(ApiError::validation(
            "name",
            "name: The field cannot be left blank",
        ));
    }
    let kind = body["type"].as_str().unwrap_or_default();
    if !TYPES.contains(&kind) {
        return Err(ApiError::validation(
            "type",
            format!("type: '{kind}' is not one of {}", TYPES.join(", ")),
        ));
    }
    if !body["settings"].is_object() {
        return Err(ApiError::validation(
            "settings",
            "settings: The field cannot be left blank",
        ));
    }
    if org
        .behaviors
        .iter()
        .any(|(id, v)| Some(id.as_str()) != except && v["name"] == name)
    {
        return Err(duplicate("name"));
    }
    Ok(())
}

async fn create(State(s): S, Query(p): Query<Params>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    validate(&org, &body, None)?;
    let id = org.new_id("abh");
    let now = ts(org.write_time());
    let status = if flag(&p, "activate", true) {
        "ACTIVE"
    } else {
        "INACTIVE"
    };
    let v = behavior_json(&id, &body, status, &now);
    org.behaviors.insert(id, v.clone());
    ok(v)
}

async fn replace(State(s): S, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let current = org
        .behaviors
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&id, "Behavior"))?;
    validate(&org, &body, Some(&id))?;
    if body["type"] != current["type"] {
        return Err(ApiError::validation(
            "type",
            "type: A behavior's type cannot be changed",
        ));
    }
    if body["name"] != current["name"] && !rules_naming(&org, &current).is_empty() {
        return Err(ApiError::validation(
            "name",
            "name: A behavior that policy rules use cannot be renamed",
        ));
    }
    let now = ts(org.write_time());
    let status = current["status"].as_str().unwrap_or("ACTIVE");
    let mut v = behavior_json(
        &id,
        &body,
        status,
        current["created"].as_str().unwrap_or(&now),
    );
    v["lastUpdated"] = json!(now);
    org.behaviors.insert(id, v.clone());
    ok(v)
}

/// The names of the policy rules that name behavior `behavior` in `conditions.risk.behaviors`.
fn rules_naming(org: &Org, behavior: &Value) -> Vec<String> {
    org.policy_rules
        .values()
        .flatten()
        .filter(|r| {
            r.pointer("/conditions/risk/behaviors")
                .and_then(Value::as_array)
                .is_some_and(|b| b.contains(&behavior["name"]))
        })
        .filter_map(|r| r["name"].as_str().map(str::to_string))
        .collect()
}

/// Why a policy rule cannot be saved: it names a behavior the org does not have.
pub(crate) fn check_rule(org: &Org, rule: &Value) -> Result<(), ApiError> {
    for name in rule
        .pointer("/conditions/risk/behaviors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if !org.behaviors.values().any(|b| b["name"] == *name) {
            return Err(ApiError::validation(
                "conditions.risk.behaviors",
                format!("conditions.risk.behaviors: Invalid behavior {name}"),
            ));
        }
    }
    Ok(())
}

async fn delete(State(s): S, Path(id): Path<String>) -> ApiResult {
    let mut org = s.write();
    let current = org
        .behaviors
        .get(&id)
        .ok_or_else(|| ApiError::not_found(&id, "Behavior"))?;
    let using = rules_naming(&org, current);
    if !using.is_empty() {
        return Err(ApiError::validation(
            "behavior",
            format!(
                "behavior: It is used by policy rules ({}); remove it from them first",
                using.join(", ")
            ),
        ));
    }
    org.behaviors.remove(&id);
    no_content()
}

async fn lifecycle(State(s): S, Path((id, action)): Path<(String, String)>) -> ApiResult {
    let mut org = s.write();
    let now = ts(org.write_time());
    let changed = set_lifecycle_status(org.behaviors.get_mut(&id), &id, "Behavior", &action, now)?;
    ok(changed.clone())
}
