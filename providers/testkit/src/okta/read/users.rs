//! Users: the list (with `search`, `filter` and `q`), one user, a user's groups.

use std::cell::OnceCell;
use std::ops::Bound::Unbounded;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, Path, Query, State};
use axum::routing::get;
use serde_json::Value;

use super::{Q, S, after};
use crate::okta::api::{ApiError, ApiResult, expression, limit, ok, page, page_of_text, take_page};
use crate::okta::expr::{Expr, at_path};
use crate::okta::model::User;
use crate::okta::{ReadOnlyCaller, Shared};

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/users", get(list_users))
        .route("/api/v1/users/{id}", get(get_user))
        .route("/api/v1/users/{id}/groups", get(user_groups))
}

async fn list_users(State(s): S, Query(p): Q) -> ApiResult {
    let org = s.read();
    let expr = expression(&p)?;
    let q = p.get("q").map(|q| q.to_lowercase());
    let limit = limit(&p, 200, 200);
    let mut body = Vec::with_capacity(limit * 1_200);
    body.push(b'[');
    let mut last: Option<&str> = None;
    let mut taken = 0;
    let mut next = None;
    for (id, user) in org.users.range::<str, _>((after(&p), Unbounded)) {
        // The reference: the plain list leaves deprovisioned users out, a `filter` or `search`
        // returns them.
        if expr.is_none() && user.status == "DEPROVISIONED" {
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
        if let Some(expr) = &expr
            && !holds(expr, user, &org.base)
        {
            continue;
        }
        if taken == limit {
            next = last.map(str::to_string);
            break;
        }
        if taken > 0 {
            body.push(b',');
        }
        user.write_json(&org.base, &mut body);
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

async fn get_user(
    State(s): S,
    caller: Option<Extension<ReadOnlyCaller>>,
    Path(id): Path<String>,
) -> ApiResult {
    let org = s.read();
    let key = match (id.as_str(), caller, &org.read_only_me) {
        ("me", Some(_), Some(read_only)) => read_only.clone(),
        ("me", _, _) => org.me.clone(),
        _ => id,
    };
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

/// Whether `user` satisfies `expr`. What searches mostly read (status, id, type, profile
/// attributes) is read off the user itself: a search of a large org does not render every user
/// as JSON to test it.
fn holds(expr: &Expr, user: &User, base: &str) -> bool {
    let rendered: OnceCell<Value> = OnceCell::new();
    expr.holds(&|attribute| match attribute {
        "status" => Some(Value::from(user.status)),
        "id" => Some(Value::from(user.id.as_str())),
        "type.id" => Some(Value::from(user.type_id.as_str())),
        _ => match attribute.strip_prefix("profile.") {
            Some(name) => user.profile.value(name),
            None => at_path(rendered.get_or_init(|| user.to_json(base)), attribute).cloned(),
        },
    })
}
