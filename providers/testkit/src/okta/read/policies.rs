//! Policies of each type, their rules (both in priority order), and network zones.

use std::ops::Bound::Unbounded;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use serde_json::Value;

use super::{Q, S, after, page_values};
use crate::okta::Shared;
use crate::okta::api::{ApiError, ApiResult, Params, expression, limit, matches, ok, page};
use crate::okta::model::Org;
use crate::okta::write::invalid_type;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/policies", get(list_policies))
        .route("/api/v1/policies/{id}", get(get_policy))
        .route("/api/v1/policies/{id}/rules", get(policy_rules))
        .route("/api/v1/policies/{id}/rules/{rule}", get(policy_rule))
        .route("/api/v1/zones", get(list_zones))
        .route("/api/v1/zones/{id}", get(get_zone))
}

async fn list_policies(State(s): S, Query(p): Q) -> ApiResult {
    let org = s.read();
    let Some(kind) = p.get("type") else {
        return Err(ApiError::validation(
            "type",
            "type: The field cannot be left blank",
        ));
    };
    if !org.policy_types.contains(kind.as_str()) {
        return Err(invalid_type());
    }
    let status = p.get("status").cloned();
    let alias = org.policy_aliases.get(kind.as_str());
    let mut of_type: Vec<&Value> = org
        .policies
        .values()
        .filter(|v| v["type"] == kind.as_str() || alias.is_some_and(|a| v["type"] == a.as_str()))
        .filter(|v| status.as_ref().is_none_or(|s| v["status"] == s.as_str()))
        .collect();
    of_type.sort_by_key(|v| v["priority"].as_u64().unwrap_or(u64::MAX));
    ordered_page(&org, "/api/v1/policies", &p, (20, 200), of_type)
}

/// Pages through objects in a meaningful order (priority), the cursor being the last id.
fn ordered_page(
    org: &Org,
    path: &str,
    p: &Params,
    (default, max): (usize, usize),
    items: Vec<&Value>,
) -> ApiResult {
    let limit = limit(p, default, max);
    let start = match p.get("after") {
        Some(a) => items
            .iter()
            .position(|v| v["id"] == a.as_str())
            .map_or(items.len(), |i| i + 1),
        None => 0,
    };
    let rest = &items[start.min(items.len())..];
    let chunk: Vec<Value> = rest.iter().take(limit).map(|v| (*v).clone()).collect();
    let next = (rest.len() > limit)
        .then(|| {
            chunk
                .last()
                .and_then(|v| v["id"].as_str().map(str::to_string))
        })
        .flatten();
    Ok(page(&org.base, path, p, limit, chunk, next))
}

async fn get_policy(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    org.policies
        .get(&id)
        .cloned()
        .map_or_else(|| Err(ApiError::not_found(&id, "Policy")), ok)
}

async fn policy_rules(State(s): S, Path(id): Path<String>, Query(p): Q) -> ApiResult {
    let org = s.read();
    let Some(rules) = org.policy_rules.get(&id) else {
        return Err(ApiError::not_found(&id, "Policy"));
    };
    let mut sorted: Vec<&Value> = rules.iter().collect();
    sorted.sort_by_key(|v| v["priority"].as_u64().unwrap_or(u64::MAX));
    ordered_page(
        &org,
        &format!("/api/v1/policies/{id}/rules"),
        &p,
        (20, 200),
        sorted,
    )
}

async fn policy_rule(State(s): S, Path((id, rule)): Path<(String, String)>) -> ApiResult {
    let org = s.read();
    let Some(rules) = org.policy_rules.get(&id) else {
        return Err(ApiError::not_found(&id, "Policy"));
    };
    rules
        .iter()
        .find(|r| r["id"] == rule.as_str())
        .cloned()
        .map_or_else(|| Err(ApiError::not_found(&rule, "PolicyRule")), ok)
}

async fn list_zones(State(s): S, Query(p): Q) -> ApiResult {
    let org = s.read();
    let expr = expression(&p)?;
    page_values(
        &org,
        "/api/v1/zones",
        &p,
        (20, 200),
        org.zones.range::<str, _>((after(&p), Unbounded)),
        |z| matches(z, expr.as_ref()),
    )
}

async fn get_zone(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    org.zones
        .get(&id)
        .cloned()
        .map_or_else(|| Err(ApiError::not_found(&id, "Zone")), ok)
}
