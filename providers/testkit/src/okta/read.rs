//! The read endpoints: lists with Okta's page sizes, single objects, role assignments.

use std::collections::BTreeSet;
use std::ops::Bound::{Excluded, Unbounded};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use serde_json::{Value, json};

use super::Shared;
use super::api::{
    ApiError, ApiResult, Params, conditions, limit, matches, ok, page, page_of_text, take_page,
};
use super::model::{Org, Role, ts};
use super::seed::POLICY_TYPES;

type S = State<Arc<Shared>>;
type Q = Query<Params>;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/users", get(list_users))
        .route("/api/v1/users/{id}", get(get_user))
        .route("/api/v1/users/{id}/groups", get(user_groups))
        .route("/api/v1/users/{id}/roles", get(user_roles))
        .route(
            "/api/v1/users/{id}/roles/{role}/targets/groups",
            get(user_role_groups),
        )
        .route(
            "/api/v1/users/{id}/roles/{role}/targets/catalog/apps",
            get(user_role_apps),
        )
        .route("/api/v1/groups", get(list_groups))
        .route("/api/v1/groups/{id}", get(get_group))
        .route("/api/v1/groups/{id}/users", get(group_users))
        .route("/api/v1/groups/{id}/roles", get(group_roles))
        .route(
            "/api/v1/groups/{id}/roles/{role}/targets/groups",
            get(group_role_groups),
        )
        .route(
            "/api/v1/groups/{id}/roles/{role}/targets/catalog/apps",
            get(group_role_apps),
        )
        .route("/api/v1/groups/rules", get(list_rules))
        .route("/api/v1/groups/rules/{id}", get(get_rule))
        .route("/api/v1/apps", get(list_apps))
        .route("/api/v1/apps/{id}", get(get_app))
        .route("/api/v1/apps/{id}/users", get(app_users))
        .route("/api/v1/apps/{id}/users/{user}", get(app_user))
        .route("/api/v1/apps/{id}/groups", get(app_groups))
        .route("/api/v1/apps/{id}/groups/{group}", get(app_group))
        .route("/api/v1/policies", get(list_policies))
        .route("/api/v1/policies/{id}", get(get_policy))
        .route("/api/v1/policies/{id}/rules", get(policy_rules))
        .route("/api/v1/policies/{id}/rules/{rule}", get(policy_rule))
        .route("/api/v1/zones", get(list_zones))
        .route("/api/v1/zones/{id}", get(get_zone))
        .route("/api/v1/meta/types/user", get(user_types))
        .route("/api/v1/meta/types/user/{id}", get(user_type))
        .route("/api/v1/meta/schemas/user/default", get(user_schema))
        .route("/api/v1/iam/assignees/users", get(role_assignees))
}

/// Pages through a sorted map of JSON objects, keeping those matching `keep`.
fn page_values<'a>(
    org: &Org,
    path: &str,
    params: &Params,
    (default, max): (usize, usize),
    items: impl Iterator<Item = (&'a String, &'a Value)>,
    keep: impl Fn(&Value) -> bool,
) -> ApiResult {
    let limit = limit(params, default, max);
    let mut out = Vec::new();
    let mut next = None;
    for (id, v) in items {
        if !keep(v) {
            continue;
        }
        if out.len() == limit {
            next = out
                .last()
                .and_then(|l: &Value| l["id"].as_str().map(str::to_string));
            break;
        }
        let _ = id;
        out.push(v.clone());
    }
    Ok(page(&org.base, path, params, limit, out, next))
}

fn after(params: &Params) -> std::ops::Bound<&str> {
    params
        .get("after")
        .map_or(Unbounded, |a| Excluded(a.as_str()))
}

async fn list_users(State(s): S, Query(p): Q) -> ApiResult {
    let org = s.read();
    let conds = conditions(&p)?;
    let wants_status = conds.iter().any(|c| c.attribute == "status");
    // The connector's only expression (`status eq "DEPROVISIONED"`) is read off the user
    // itself, without rendering every user of the org to test it.
    let status_only = conds.iter().all(|c| c.attribute == "status");
    let q = p.get("q").map(|q| q.to_lowercase());
    let limit = limit(&p, 200, 200);
    let mut body = Vec::with_capacity(limit * 1_200);
    body.push(b'[');
    let mut last: Option<&str> = None;
    let mut taken = 0;
    let mut next = None;
    for (id, user) in org.users.range::<str, _>((after(&p), Unbounded)) {
        // Okta leaves deprovisioned users out unless the expression asks for a status.
        if !wants_status && user.status == "DEPROVISIONED" {
            continue;
        }
        if let Some(q) = &q {
            let profile = user.profile.to_map();
            let hit = ["login", "email", "firstName", "lastName"].iter().any(|f| {
                profile
                    .get(*f)
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.to_lowercase().starts_with(q))
            });
            if !hit {
                continue;
            }
        }
        let rendered = if status_only {
            if !conds
                .iter()
                .all(|c| user.status.eq_ignore_ascii_case(&c.value))
            {
                continue;
            }
            None
        } else {
            let json = user.to_json(&org.base);
            if !matches(&json, &conds) {
                continue;
            }
            Some(json)
        };
        if taken == limit {
            next = last.map(str::to_string);
            break;
        }
        if taken > 0 {
            body.push(b',');
        }
        match rendered {
            Some(json) => serde_json::to_writer(&mut body, &json).expect("JSON to memory"),
            None => user.write_json(&org.base, &mut body),
        }
        taken += 1;
        last = Some(id);
    }
    body.push(b']');
    Ok(page_of_text(
        &org.base,
        "/api/v1/users",
        &p,
        limit,
        body,
        next,
    ))
}

async fn get_user(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    let key = if id == "me" { org.me.clone() } else { id };
    org.user_by_ref(&key)
        .map(|u| u.to_json(&org.base))
        .map_or_else(|| Err(ApiError::not_found(&key, "User")), ok)
}

async fn user_groups(State(s): S, Path(id): Path<String>, Query(p): Q) -> ApiResult {
    let org = s.read();
    let Some(uid) = org.user_id_by_ref(&id) else {
        return Err(ApiError::not_found(&id, "User"));
    };
    let ids = org
        .groups
        .range::<str, _>((after(&p), Unbounded))
        .map(|(k, _)| k);
    let limit = limit(&p, 10_000, 10_000);
    let (page_ids, next) = take_page(ids.filter(|g| org.is_member(g, &uid)), limit);
    let items = page_ids
        .iter()
        .filter_map(|g| org.groups.get(*g).cloned())
        .collect();
    Ok(page(
        &org.base,
        &format!("/api/v1/users/{id}/groups"),
        &p,
        limit,
        items,
        next,
    ))
}

fn roles_json(org: &Org, roles: Option<&Vec<Role>>, kind: &str, id: &str) -> Value {
    let href = format!("{}/api/v1/{}s/{id}", org.base, kind.to_lowercase());
    Value::Array(
        roles
            .map(|r| r.iter().map(|r| r.to_json(kind, &href)).collect())
            .unwrap_or_default(),
    )
}

async fn user_roles(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    let Some(uid) = org.user_id_by_ref(&id) else {
        return Err(ApiError::not_found(&id, "User"));
    };
    ok(roles_json(&org, org.user_roles.get(&uid), "USER", &uid))
}

async fn group_roles(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    if !org.groups.contains_key(&id) {
        return Err(ApiError::not_found(&id, "UserGroup"));
    }
    ok(roles_json(&org, org.group_roles.get(&id), "GROUP", &id))
}

pub(crate) fn find_role<'a>(
    org: &'a Org,
    principal: &str,
    role: &str,
    user: bool,
) -> Result<&'a Role, ApiError> {
    let roles = if user {
        let uid = org
            .user_id_by_ref(principal)
            .ok_or_else(|| ApiError::not_found(principal, "User"))?;
        org.user_roles.get(&uid)
    } else {
        org.group_roles.get(principal)
    };
    roles
        .and_then(|r| r.iter().find(|r| r.id == role || r.role_type == role))
        .ok_or_else(|| ApiError::not_found(role, "Role"))
}

fn role_groups(org: &Org, role: &Role, path: &str, p: &Params) -> ApiResult {
    let items: Vec<Value> = role
        .target_groups
        .iter()
        .filter_map(|g| org.groups.get(g).cloned())
        .collect();
    Ok(page(&org.base, path, p, items.len().max(1), items, None))
}

fn role_apps(org: &Org, role: &Role, path: &str, p: &Params) -> ApiResult {
    let items: Vec<Value> = role
        .target_apps
        .iter()
        .filter_map(|a| org.apps.get(a))
        .map(|a| {
            json!({"name": a["name"], "displayName": a["label"], "id": a["id"],
                   "status": a["status"], "category": "CUSTOM",
                   "_links": {"self": {"href": format!("{}/api/v1/apps/{}", org.base, a["id"].as_str().unwrap_or_default())}}})
        })
        .collect();
    Ok(page(&org.base, path, p, items.len().max(1), items, None))
}

async fn user_role_groups(
    State(s): S,
    Path((id, role)): Path<(String, String)>,
    Query(p): Q,
) -> ApiResult {
    let org = s.read();
    let r = find_role(&org, &id, &role, true)?;
    role_groups(
        &org,
        r,
        &format!("/api/v1/users/{id}/roles/{role}/targets/groups"),
        &p,
    )
}

async fn user_role_apps(
    State(s): S,
    Path((id, role)): Path<(String, String)>,
    Query(p): Q,
) -> ApiResult {
    let org = s.read();
    let r = find_role(&org, &id, &role, true)?;
    role_apps(
        &org,
        r,
        &format!("/api/v1/users/{id}/roles/{role}/targets/catalog/apps"),
        &p,
    )
}

async fn group_role_groups(
    State(s): S,
    Path((id, role)): Path<(String, String)>,
    Query(p): Q,
) -> ApiResult {
    let org = s.read();
    let r = find_role(&org, &id, &role, false)?;
    role_groups(
        &org,
        r,
        &format!("/api/v1/groups/{id}/roles/{role}/targets/groups"),
        &p,
    )
}

async fn group_role_apps(
    State(s): S,
    Path((id, role)): Path<(String, String)>,
    Query(p): Q,
) -> ApiResult {
    let org = s.read();
    let r = find_role(&org, &id, &role, false)?;
    role_apps(
        &org,
        r,
        &format!("/api/v1/groups/{id}/roles/{role}/targets/catalog/apps"),
        &p,
    )
}

async fn list_groups(State(s): S, Query(p): Q) -> ApiResult {
    let org = s.read();
    let conds = conditions(&p)?;
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
            name_hit && matches(g, &conds)
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

async fn list_apps(State(s): S, Query(p): Q) -> ApiResult {
    let org = s.read();
    let conds = conditions(&p)?;
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
            hit && matches(a, &conds)
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

async fn list_policies(State(s): S, Query(p): Q) -> ApiResult {
    let org = s.read();
    let Some(kind) = p.get("type") else {
        return Err(ApiError::validation(
            "type",
            "type: The field cannot be left blank",
        ));
    };
    if !POLICY_TYPES.contains(&kind.as_str()) {
        return Err(ApiError::bad_request(format!(
            "Invalid policy type: {kind}"
        )));
    }
    let status = p.get("status").cloned();
    let mut of_type: Vec<&Value> = org
        .policies
        .values()
        .filter(|v| v["type"] == kind.as_str())
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
    let conds = conditions(&p)?;
    page_values(
        &org,
        "/api/v1/zones",
        &p,
        (20, 200),
        org.zones.range::<str, _>((after(&p), Unbounded)),
        |z| matches(z, &conds),
    )
}

async fn get_zone(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    org.zones
        .get(&id)
        .cloned()
        .map_or_else(|| Err(ApiError::not_found(&id, "Zone")), ok)
}

async fn user_types(State(s): S) -> ApiResult {
    let org = s.read();
    let with_links: Vec<Value> = org
        .user_types
        .values()
        .map(|t| {
            let mut t = t.clone();
            t["_links"] = json!({"self": {"href": format!("{}/api/v1/meta/types/user/{}", org.base, t["id"].as_str().unwrap_or_default())}});
            t
        })
        .collect();
    ok(Value::Array(with_links))
}

async fn user_type(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    org.user_types
        .get(&id)
        .cloned()
        .map_or_else(|| Err(ApiError::not_found(&id, "UserType")), ok)
}

async fn user_schema(State(s): S) -> ApiResult {
    let org = s.read();
    let mut schema = org.schema.clone();
    schema["id"] = json!(format!("{}/meta/schemas/user/default", org.base));
    ok(schema)
}

async fn role_assignees(State(s): S, Query(p): Q) -> ApiResult {
    let org = s.read();
    let limit = limit(&p, 100, 100);
    let holders = org
        .user_roles
        .iter()
        .filter(|(_, r)| !r.is_empty())
        .map(|(k, _)| k)
        .filter(|k| p.get("after").is_none_or(|a| k.as_str() > a.as_str()));
    let (ids, next) = take_page(holders, limit);
    let value: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({
                "id": id,
                "orn": format!("orn:okta:directory:00o1emulated:users:{id}"),
                "_links": {"self": {"href": format!("{}/api/v1/users/{id}", org.base)},
                           "roles": {"href": format!("{}/api/v1/users/{id}/roles", org.base)}},
            })
        })
        .collect();
    let mut links = json!({});
    if let Some(next) = next {
        links["next"] = json!({"href": super::api::link_url(&org.base, "/api/v1/iam/assignees/users", &p, limit, Some(&next))});
    }
    ok(json!({"value": value, "_links": links}))
}
