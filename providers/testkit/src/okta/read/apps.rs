//! Apps and their user and group assignments.

use std::collections::BTreeSet;
use std::ops::Bound::{Excluded, Unbounded};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use serde_json::{Value, json};

use super::{Q, S, after, page_values};
use crate::okta::Shared;
use crate::okta::api::{ApiError, ApiResult, expression, limit, matches, ok, page, take_page};
use crate::okta::model::{Org, ts};

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/apps", get(list_apps))
        .route("/api/v1/apps/{id}", get(get_app))
        .route("/api/v1/apps/{id}/users", get(app_users))
        .route("/api/v1/apps/{id}/users/{user}", get(app_user))
        .route("/api/v1/apps/{id}/groups", get(app_groups))
        .route("/api/v1/apps/{id}/groups/{group}", get(app_group))
}

async fn list_apps(State(s): S, Query(p): Q) -> ApiResult {
    let org = s.read();
    let expr = expression(&p)?;
    let q = p.get("q").map(|q| q.to_lowercase());
    page_values(
        &org,
        "/api/v1/apps",
        &p,
        (20, 200),
        org.apps.range::<str, _>((after(&p), Unbounded)),
        |a| {
            let hit = q.as_ref().is_none_or(|q| {
                ["label", "name"].iter().any(|f| {
                    a[*f]
                        .as_str()
                        .is_some_and(|n| n.to_lowercase().starts_with(q))
                })
            });
            hit && matches(a, expr.as_ref())
        },
    )
}

async fn get_app(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    org.apps
        .get(&id)
        .cloned()
        .map_or_else(|| Err(ApiError::not_found(&id, "AppInstance")), ok)
}

/// An app assignment as Okta shows it: direct (`USER`) or through a group (`GROUP`).
pub(crate) fn app_user_json(org: &Org, app: &str, user_id: &str, expand: bool) -> Option<Value> {
    let user = org.users.get(user_id)?;
    let direct = org.app_users.get(app).and_then(|m| m.get(user_id));
    let via_group = org
        .app_groups
        .get(app)
        .and_then(|gs| gs.keys().find(|g| org.is_member(g, user_id)).cloned());
    if direct.is_none() && via_group.is_none() {
        return None;
    }
    let created = direct.map_or(user.created, |d| d.created);
    let login = user.profile.login();
    let user_name = direct.and_then(|d| d.user_name.clone()).unwrap_or(login);
    let profile = direct
        .and_then(|d| d.profile.as_deref().cloned())
        .unwrap_or_default();
    let mut links = json!({
        "app": {"href": format!("{}/api/v1/apps/{app}", org.base)},
        "user": {"href": format!("{}/api/v1/users/{user_id}", org.base)},
    });
    if direct.is_none()
        && let Some(g) = &via_group
    {
        links["group"] =
            json!({"name": org.group_name(g), "href": format!("{}/api/v1/groups/{g}", org.base)});
    }
    let mut v = json!({
        "id": user_id,
        "externalId": null,
        "created": ts(created),
        "lastUpdated": ts(created),
        "scope": if direct.is_some() { "USER" } else { "GROUP" },
        "status": if user.status == "ACTIVE" { "ACTIVE" } else { "PROVISIONED" },
        "statusChanged": ts(created),
        "passwordChanged": null,
        "syncState": "DISABLED",
        "credentials": {"userName": user_name},
        "profile": Value::Object(profile),
        "_links": links,
    });
    if expand {
        v["_embedded"] = json!({"user": user.to_json(&org.base)});
    }
    Some(v)
}

async fn app_users(State(s): S, Path(id): Path<String>, Query(p): Q) -> ApiResult {
    let org = s.read();
    if !org.apps.contains_key(&id) {
        return Err(ApiError::not_found(&id, "AppInstance"));
    }
    let limit = limit(&p, 50, 500);
    let after_id = p.get("after").map(String::as_str);
    let expand = p.get("expand").is_some_and(|e| e == "user");
    // Direct assignments merged with the members of every assigned group.
    let mut ids: BTreeSet<&String> = BTreeSet::new();
    if let Some(direct) = org.app_users.get(&id) {
        ids.extend(
            direct
                .range::<str, _>((after_id.map_or(Unbounded, Excluded), Unbounded))
                .map(|(k, _)| k)
                .take(limit + 1),
        );
    }
    if let Some(groups) = org.app_groups.get(&id) {
        for g in groups.keys() {
            ids.extend(org.member_ids(g, after_id).take(limit + 1));
        }
    }
    let (page_ids, next) = take_page(ids.into_iter(), limit);
    let items = page_ids
        .iter()
        .filter_map(|u| app_user_json(&org, &id, u, expand))
        .collect();
    Ok(page(
        &org.base,
        &format!("/api/v1/apps/{id}/users"),
        &p,
        limit,
        items,
        next,
    ))
}

async fn app_user(State(s): S, Path((id, user)): Path<(String, String)>, Query(p): Q) -> ApiResult {
    let org = s.read();
    if !org.apps.contains_key(&id) {
        return Err(ApiError::not_found(&id, "AppInstance"));
    }
    let expand = p.get("expand").is_some_and(|e| e == "user");
    app_user_json(&org, &id, &user, expand)
        .map_or_else(|| Err(ApiError::not_found(&user, "AppUser")), ok)
}

async fn app_groups(State(s): S, Path(id): Path<String>, Query(p): Q) -> ApiResult {
    let org = s.read();
    let Some(groups) = org.app_groups.get(&id) else {
        return Err(ApiError::not_found(&id, "AppInstance"));
    };
    let limit = limit(&p, 20, 200);
    let expand = p.get("expand").is_some_and(|e| e == "group");
    let (ids, next) = take_page(
        groups
            .range::<str, _>((after(&p), Unbounded))
            .map(|(k, _)| k),
        limit,
    );
    let items = ids
        .iter()
        .map(|g| {
            let mut a = groups[*g].clone();
            if expand {
                a["_embedded"] = json!({"group": org.groups.get(*g)});
            }
            a
        })
        .collect();
    Ok(page(
        &org.base,
        &format!("/api/v1/apps/{id}/groups"),
        &p,
        limit,
        items,
        next,
    ))
}

async fn app_group(State(s): S, Path((id, group)): Path<(String, String)>) -> ApiResult {
    let org = s.read();
    let Some(groups) = org.app_groups.get(&id) else {
        return Err(ApiError::not_found(&id, "AppInstance"));
    };
    groups.get(&group).cloned().map_or_else(
        || Err(ApiError::not_found(&group, "ApplicationGroupAssignment")),
        ok,
    )
}
