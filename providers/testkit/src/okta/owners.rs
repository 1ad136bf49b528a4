//! Group owners (`/api/v1/groups/{groupId}/owners`): the users and groups who manage a group's
//! members from the End-User Dashboard. Listed with `limit` (1,000 by default and at most)
//! and `after`, assigned with `POST {id, type: USER|GROUP}` (201 with the owner), removed with
//! `DELETE …/owners/{ownerId}` (204). An owner that was deleted is no longer listed. The API
//! comes with Okta Identity Governance: an org without it answers 403 `E0000006`.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use serde_json::{Value, json};

use super::Shared;
use super::api::{ApiError, ApiResult, Params, json_body, limit, no_content, page};
use super::model::{Org, ts};

type S = State<Arc<Shared>>;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/groups/{id}/owners", get(list).post(assign))
        .route("/api/v1/groups/{id}/owners/{owner}", delete(remove))
}

/// The first Okta groups of an org in use have owners: two a user each, the third a group.
pub(crate) fn seed(org: &mut Org, created: i64) {
    let okta: Vec<String> = org
        .groups
        .iter()
        .filter(|(_, g)| g["type"] == "OKTA_GROUP")
        .map(|(id, _)| id.clone())
        .collect();
    let users: Vec<String> = org
        .users
        .values()
        .filter(|u| u.status == "ACTIVE" && u.id != org.me)
        .map(|u| u.id.clone())
        .take(2)
        .collect();
    for (group, user) in okta.iter().zip(&users) {
        org.group_owners
            .entry(group.clone())
            .or_default()
            .push(entry(user, "USER", created));
    }
    if let [owning, .., owned] = okta.as_slice()
        && okta.len() >= 3
    {
        org.group_owners
            .entry(owned.clone())
            .or_default()
            .push(entry(owning, "GROUP", created));
    }
}

/// Okta's answer to the Group Owners API in an org without Identity Governance.
fn governed(org: &Org) -> Result<(), ApiError> {
    if org.governance {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "E0000006",
        "You do not have permission to perform the requested action",
    ))
}

fn entry(id: &str, kind: &str, at: i64) -> Value {
    json!({"id": id, "type": kind, "originType": "OKTA_DIRECTORY", "originId": null,
           "resolved": true, "lastUpdated": ts(at)})
}

/// An owner as the API lists it, or `None` once the user or group is gone.
fn owner_json(org: &Org, owner: &Value) -> Option<Value> {
    let id = owner["id"].as_str()?;
    let display = match owner["type"].as_str()? {
        "USER" => {
            let u = org.users.get(id)?;
            let p = u.profile.to_map();
            format!(
                "{} {}",
                p.get("firstName")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                p.get("lastName")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            )
        }
        _ => org.group_name(id)?.to_string(),
    };
    let mut v = owner.clone();
    v["displayName"] = json!(display);
    Some(v)
}

async fn list(State(s): S, Path(group): Path<String>, Query(p): Query<Params>) -> ApiResult {
    let org = s.read();
    governed(&org)?;
    if !org.groups.contains_key(&group) {
        return Err(ApiError::not_found(&group, "UserGroup"));
    }
    let limit = limit(&p, 1000, 1000);
    let owners: Vec<Value> = org
        .group_owners
        .get(&group)
        .into_iter()
        .flatten()
        .filter_map(|o| owner_json(&org, o))
        .collect();
    let start = match p.get("after") {
        Some(a) => owners
            .iter()
            .position(|o| o["id"] == a.as_str())
            .map_or(owners.len(), |i| i + 1),
        None => 0,
    };
    let rest = &owners[start.min(owners.len())..];
    let chunk: Vec<Value> = rest.iter().take(limit).cloned().collect();
    let next = (rest.len() > limit)
        .then(|| {
            chunk
                .last()
                .and_then(|o| o["id"].as_str().map(str::to_string))
        })
        .flatten();
    let path = format!("/api/v1/groups/{group}/owners");
    Ok(page(&org.base, &path, &p, limit, chunk, next))
}

async fn assign(State(s): S, Path(group): Path<String>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    governed(&org)?;
    if !org.groups.contains_key(&group) {
        return Err(ApiError::not_found(&group, "UserGroup"));
    }
    let id = body["id"].as_str().unwrap_or_default().to_string();
    let exists = match body["type"].as_str() {
        Some("USER") => org.users.contains_key(&id),
        Some("GROUP") => org
            .groups
            .get(&id)
            .is_some_and(|g| g["type"] == "OKTA_GROUP"),
        _ => {
            return Err(ApiError::validation(
                "type",
                "type: The owner's type must be USER or GROUP",
            ));
        }
    };
    if !exists {
        return Err(ApiError::validation(
            "id",
            format!("id: Invalid owner id {id}"),
        ));
    }
    let now = org.write_time();
    let listed = org
        .group_owners
        .get(&group)
        .is_some_and(|owners| owners.iter().any(|o| o["id"] == id.as_str()));
    if listed {
        return Err(ApiError::validation(
            "id",
            format!("id: {id} already owns this group"),
        ));
    }
    let kind = body["type"].as_str().unwrap_or_default().to_string();
    let owner = entry(&id, &kind, now);
    org.group_owners
        .entry(group)
        .or_default()
        .push(owner.clone());
    let shown = owner_json(&org, &owner).unwrap_or(owner);
    Ok((StatusCode::CREATED, Json(shown)).into_response())
}

async fn remove(State(s): S, Path((group, owner)): Path<(String, String)>) -> ApiResult {
    let mut org = s.write();
    governed(&org)?;
    if !org.groups.contains_key(&group) {
        return Err(ApiError::not_found(&group, "UserGroup"));
    }
    let owners = org.group_owners.entry(group).or_default();
    let before = owners.len();
    owners.retain(|o| o["id"] != owner.as_str());
    if owners.len() == before {
        return Err(ApiError::not_found(&owner, "GroupOwner"));
    }
    no_content()
}
