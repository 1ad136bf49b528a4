//! Groups, their members, and group rules.

use std::ops::Bound::Unbounded;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use serde_json::Value;

use super::{Q, S, after, page_values};
use crate::okta::Shared;
use crate::okta::api::{
    ApiError, ApiResult, expression, limit, matches, ok, page_of_text, take_page,
};

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/groups", get(list_groups))
        .route("/api/v1/groups/{id}", get(get_group))
        .route("/api/v1/groups/{id}/users", get(group_users))
        .route("/api/v1/groups/rules", get(list_rules))
        .route("/api/v1/groups/rules/{id}", get(get_rule))
}

async fn list_groups(State(s): S, Query(p): Q) -> ApiResult {
    let org = s.read();
    let expr = expression(&p)?;
    let q = p.get("q").map(|q| q.to_lowercase());
    page_values(
        &org,
        "/api/v1/groups",
        &p,
        (10_000, 10_000),
        org.groups.range::<str, _>((after(&p), Unbounded)),
        |g| {
            let name_hit = q.as_ref().is_none_or(|q| {
                g.pointer("/profile/name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.to_lowercase().starts_with(q))
            });
            name_hit && matches(g, expr.as_ref())
        },
    )
}

async fn get_group(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    org.groups
        .get(&id)
        .cloned()
        .map_or_else(|| Err(ApiError::not_found(&id, "UserGroup")), ok)
}

async fn group_users(State(s): S, Path(id): Path<String>, Query(p): Q) -> ApiResult {
    let org = s.read();
    if !org.groups.contains_key(&id) {
        return Err(ApiError::not_found(&id, "UserGroup"));
    }
    let limit = limit(&p, 1000, 1000);
    let (ids, next) = take_page(
        org.member_ids(&id, p.get("after").map(String::as_str)),
        limit,
    );
    let mut body = Vec::with_capacity(ids.len() * 1_200 + 2);
    body.push(b'[');
    for (i, user) in ids.iter().filter_map(|u| org.users.get(*u)).enumerate() {
        if i > 0 {
            body.push(b',');
        }
        user.write_json(&org.base, &mut body);
    }
    body.push(b']');
    Ok(page_of_text(
        &org.base,
        &format!("/api/v1/groups/{id}/users"),
        &p,
        limit,
        body,
        next,
    ))
}

async fn list_rules(State(s): S, Query(p): Q) -> ApiResult {
    let org = s.read();
    let search = p.get("search").map(|q| q.to_lowercase());
    page_values(
        &org,
        "/api/v1/groups/rules",
        &p,
        (50, 200),
        org.rules.range::<str, _>((after(&p), Unbounded)),
        |r| {
            search.as_ref().is_none_or(|q| {
                r["name"]
                    .as_str()
                    .is_some_and(|n| n.to_lowercase().contains(q))
            })
        },
    )
}

async fn get_rule(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    org.rules
        .get(&id)
        .cloned()
        .map_or_else(|| Err(ApiError::not_found(&id, "GroupRule")), ok)
}
