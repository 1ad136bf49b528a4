//! The read endpoints: lists with Okta's page sizes, single objects, role assignments. One
//! file per family of resources.

mod apps;
mod authz;
mod groups;
mod meta;
mod policies;
mod roles;
mod users;

use std::ops::Bound::{Excluded, Unbounded};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use serde_json::Value;

pub(crate) use apps::app_user_json;
pub(crate) use authz::server_json;
pub(crate) use meta::{schema_json, type_json};
pub(crate) use roles::{Holder, find_role, known_app_name, role_json};

use super::Shared;
use super::api::{ApiResult, Params, limit, page};
use super::model::Org;

type S = State<Arc<Shared>>;
type Q = Query<Params>;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .merge(users::routes())
        .merge(groups::routes())
        .merge(roles::routes())
        .merge(apps::routes())
        .merge(policies::routes())
        .merge(meta::routes())
        .merge(authz::routes())
}

/// Pages through a sorted map of JSON objects, keeping those matching `keep`.
pub(super) fn page_values<'a>(
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

pub(crate) fn after(params: &Params) -> std::ops::Bound<&str> {
    params
        .get("after")
        .map_or(Unbounded, |a| Excluded(a.as_str()))
}
