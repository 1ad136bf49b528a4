//! Custom authorization servers and what belongs to each: scopes, claims, access policies
//! and their rules. Servers and scopes are paged (`limit` up to 200, `after`); claims,
//! policies and rules come in one answer, as in Okta's reference.

use std::ops::Bound::Unbounded;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use serde_json::{Value, json};

use super::{Q, S, after};
use crate::okta::Shared;
use crate::okta::api::{ApiError, ApiResult, Params, limit, ok, page};
use crate::okta::model::{AuthServer, Org};

pub(super) fn routes() -> Router<Arc<Shared>> {
    let base = "/api/v1/authorizationServers";
    Router::new()
        .route(base, get(list_servers))
        .route(&format!("{base}/{{id}}"), get(get_server))
        .route(&format!("{base}/{{id}}/scopes"), get(list_scopes))
        .route(&format!("{base}/{{id}}/scopes/{{child}}"), get(get_scope))
        .route(&format!("{base}/{{id}}/claims"), get(list_claims))
        .route(&format!("{base}/{{id}}/claims/{{child}}"), get(get_claim))
        .route(&format!("{base}/{{id}}/policies"), get(list_policies))
        .route(
            &format!("{base}/{{id}}/policies/{{child}}"),
            get(get_policy),
        )
        .route(
            &format!("{base}/{{id}}/policies/{{child}}/rules"),
            get(list_rules),
        )
        .route(
            &format!("{base}/{{id}}/policies/{{child}}/rules/{{rule}}"),
            get(get_rule),
        )
        .route(&format!("{base}/{{id}}/credentials/keys"), get(list_keys))
}

/// A server as the API returns it: its issuer is the org's URL and its id.
pub(crate) fn server_json(org: &Org, server: &AuthServer) -> Value {
    let mut v = server.server.clone();
    let id = v["id"].as_str().unwrap_or_default().to_string();
    v["issuer"] = json!(format!("{}/oauth2/{id}", org.base));
    v
}

fn server<'a>(org: &'a Org, id: &str) -> Result<&'a AuthServer, ApiError> {
    org.auth_servers
        .get(id)
        .ok_or_else(|| ApiError::not_found(id, "AuthorizationServer"))
}

/// `q` searches names and audiences.
fn found(server: &Value, q: Option<&String>) -> bool {
    let Some(q) = q.map(|q| q.to_lowercase()) else {
        return true;
    };
    let name = server["name"].as_str().unwrap_or_default().to_lowercase();
    name.contains(&q)
        || server["audiences"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(|a| a.to_lowercase().contains(&q))
}

async fn list_servers(State(s): S, Query(p): Q) -> ApiResult {
    let org = s.read();
    let limit = limit(&p, 200, 200);
    let mut out = Vec::new();
    let mut next = None;
    for (id, server) in org.auth_servers.range::<str, _>((after(&p), Unbounded)) {
        if !found(&server.server, p.get("q")) {
            continue;
        }
        if out.len() == limit {
            next = out
                .last()
                .and_then(|v: &Value| v["id"].as_str().map(str::to_string));
            break;
        }
        let _ = id;
        out.push(server_json(&org, server));
    }
    Ok(page(
        &org.base,
        "/api/v1/authorizationServers",
        &p,
        limit,
        out,
        next,
    ))
}

async fn get_server(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    ok(server_json(&org, server(&org, &id)?))
}

/// A page of `items` after the id in `after`; `limit` absent gives them all.
fn child_page(org: &Org, path: &str, p: &Params, items: &[Value]) -> ApiResult {
    let start = match p.get("after") {
        Some(a) => items
            .iter()
            .position(|v| v["id"] == a.as_str())
            .map_or(items.len(), |i| i + 1),
        None => 0,
    };
    let rest = &items[start.min(items.len())..];
    let limit = if p.contains_key("limit") {
        limit(p, 200, 200)
    } else {
        rest.len().max(1)
    };
    let chunk: Vec<Value> = rest.iter().take(limit).cloned().collect();
    let next = (rest.len() > limit)
        .then(|| {
            chunk
                .last()
                .and_then(|v| v["id"].as_str().map(str::to_string))
        })
        .flatten();
    Ok(page(&org.base, path, p, limit, chunk, next))
}

fn one(items: &[Value], id: &str, what: &str) -> ApiResult {
    items
        .iter()
        .find(|v| v["id"] == id)
        .cloned()
        .map_or_else(|| Err(ApiError::not_found(id, what)), ok)
}

async fn list_scopes(State(s): S, Path(id): Path<String>, Query(p): Q) -> ApiResult {
    let org = s.read();
    let path = format!("/api/v1/authorizationServers/{id}/scopes");
    let q = p.get("q").map(|q| q.to_lowercase());
    let scopes: Vec<Value> = server(&org, &id)?
        .scopes
        .iter()
        .filter(|v| {
            q.as_ref().is_none_or(|q| {
                v["name"]
                    .as_str()
                    .is_some_and(|n| n.to_lowercase().contains(q))
            })
        })
        .cloned()
        .collect();
    child_page(&org, &path, &p, &scopes)
}

async fn get_scope(State(s): S, Path((id, child)): Path<(String, String)>) -> ApiResult {
    let org = s.read();
    one(&server(&org, &id)?.scopes, &child, "OAuth2Scope")
}

async fn list_claims(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    ok(json!(server(&org, &id)?.claims))
}

async fn get_claim(State(s): S, Path((id, child)): Path<(String, String)>) -> ApiResult {
    let org = s.read();
    one(&server(&org, &id)?.claims, &child, "OAuth2Claim")
}

async fn list_policies(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    let mut policies = server(&org, &id)?.policies.clone();
    policies.sort_by_key(|v| v["priority"].as_u64().unwrap_or(u64::MAX));
    ok(json!(policies))
}

async fn get_policy(State(s): S, Path((id, child)): Path<(String, String)>) -> ApiResult {
    let org = s.read();
    one(
        &server(&org, &id)?.policies,
        &child,
        "AuthorizationServerPolicy",
    )
}

async fn list_rules(State(s): S, Path((id, policy)): Path<(String, String)>) -> ApiResult {
    let org = s.read();
    let Some(rules) = server(&org, &id)?.rules.get(&policy) else {
        return Err(ApiError::not_found(&policy, "AuthorizationServerPolicy"));
    };
    let mut rules = rules.clone();
    rules.sort_by_key(|v| v["priority"].as_u64().unwrap_or(u64::MAX));
    ok(json!(rules))
}

async fn get_rule(
    State(s): S,
    Path((id, policy, rule)): Path<(String, String, String)>,
) -> ApiResult {
    let org = s.read();
    let Some(rules) = server(&org, &id)?.rules.get(&policy) else {
        return Err(ApiError::not_found(&policy, "AuthorizationServerPolicy"));
    };
    one(rules, &rule, "AuthorizationServerPolicyRule")
}

/// The server's signing keys, public material only (`kty`, `alg`, `use`, `kid`, `e`, `n`).
async fn list_keys(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    let server = server(&org, &id)?;
    let kid = server.server["credentials"]["signing"]["kid"].clone();
    ok(
        json!([{"status": "ACTIVE", "alg": "RS256", "e": "AQAB", "kid": kid, "kty": "RSA",
               "use": "sig", "n": format!("emulated-modulus-{}", kid.as_str().unwrap_or_default())}]),
    )
}
