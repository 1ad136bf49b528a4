//! Trusted origins (`/api/v1/trustedOrigins`): the URLs Okta lets sign-in redirect to, call
//! its API from a browser (CORS) or embed its pages in an iframe. Listed with `limit` (20 by
//! default, at most 200), `after`, `q` (a prefix of the name or origin) and `filter`; an origin
//! is unique; lifecycle operations answer with the origin, deletes with 204.

use std::ops::Bound::Unbounded;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::Shared;
use super::api::{
    ApiError, ApiResult, Params, expression, json_body, limit, matches, no_content, ok, page,
};
use super::model::{Org, ts};
use super::write::set_lifecycle_status;

type S = State<Arc<Shared>>;

const BASE: &str = "/api/v1/trustedOrigins";

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

/// What a seeded org trusts: its portal for redirects and CORS, the intranet to embed the
/// dashboard, and a retired partner site, inactive.
pub(crate) fn seed(org: &mut Org, created: &str) {
    let origins = [
        (
            "Customer portal",
            "https://portal.example.com",
            json!([{"type": "CORS"}, {"type": "REDIRECT"}]),
            "ACTIVE",
        ),
        (
            "Intranet",
            "https://intranet.example.com",
            json!([{"type": "IFRAME_EMBED", "allowedOktaApps": ["OKTA_ENDUSER"]}]),
            "ACTIVE",
        ),
        (
            "Old partner site",
            "https://partner.example.org",
            json!([{"type": "REDIRECT"}]),
            "INACTIVE",
        ),
    ];
    for (name, origin, scopes, status) in origins {
        let id = org.new_id("tos");
        let v = origin_json(
            &id,
            &json!({"name": name, "origin": origin, "scopes": scopes}),
            status,
            created,
        );
        org.trusted_origins.insert(id, v);
    }
}

fn origin_json(id: &str, body: &Value, status: &str, created: &str) -> Value {
    json!({"id": id, "name": body["name"], "origin": body["origin"], "scopes": body["scopes"],
           "status": status, "created": created, "createdBy": "00u-admin",
           "lastUpdated": created, "lastUpdatedBy": "00u-admin",
           "_links": {"self": {"href": format!("{BASE}/{id}")}}})
}

async fn list(State(s): S, Query(p): Query<Params>) -> ApiResult {
    let org = s.read();
    let expr = expression(&Params::from_iter(
        p.get("filter").map(|f| ("filter".to_string(), f.clone())),
    ))?;
    let q = p.get("q").map(|q| q.to_lowercase());
    let limit = limit(&p, 20, 200);
    let after = super::read::after(&p);
    let mut out = Vec::new();
    let mut next = None;
    for (_, v) in org.trusted_origins.range::<str, _>((after, Unbounded)) {
        let prefixed = q.as_ref().is_none_or(|q| {
            ["name", "origin"].iter().any(|f| {
                v[*f]
                    .as_str()
                    .is_some_and(|t| t.to_lowercase().starts_with(q))
            })
        });
        if !prefixed || !matches(v, expr.as_ref()) {
            continue;
        }
        if out.len() == limit {
            next = out
                .last()
                .and_then(|l: &Value| l["id"].as_str().map(str::to_string));
            break;
        }
        out.push(v.clone());
    }
    Ok(page(&org.base, BASE, &p, limit, out, next))
}

async fn one(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    org.trusted_origins
        .get(&id)
        .cloned()
        .map_or_else(|| Err(ApiError::not_found(&id, "TrustedOrigin")), ok)
}

fn validate(org: &Org, body: &Value, except: Option<&str>) -> Result<(), ApiError> {
    for field in ["name", "origin"] {
        if body[field].as_str().unwrap_or_default().is_empty() {
            return Err(ApiError::validation(
                field,
                format!("{field}: The field cannot be left blank"),
            ));
        }
    }
    let origin = body["origin"].as_str().unwrap_or_default();
    if url::Url::parse(origin).is_err() {
        return Err(ApiError::validation(
            "origin",
            format!("origin: '{origin}' is not a valid URL"),
        ));
    }
    let scopes = body["scopes"].as_array().filter(|s| !s.is_empty());
    let valid = scopes.is_some_and(|scopes| {
        scopes.iter().all(|s| {
            matches!(
                s["type"].as_str(),
                Some("CORS" | "REDIRECT" | "IFRAME_EMBED")
            )
        })
    });
    if !valid {
        return Err(ApiError::validation(
            "scopes",
            "scopes: At least one of CORS, REDIRECT or IFRAME_EMBED is required",
        ));
    }
    if org
        .trusted_origins
        .iter()
        .any(|(id, v)| Some(id.as_str()) != except && v["origin"] == origin)
    {
        return Err(super::write::duplicate("origin"));
    }
    Ok(())
}

async fn create(State(s): S, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    validate(&org, &body, None)?;
    let id = org.new_id("tos");
    let now = ts(org.write_time());
    let v = origin_json(&id, &body, "ACTIVE", &now);
    org.trusted_origins.insert(id, v.clone());
    ok(v)
}

async fn replace(State(s): S, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let current = org
        .trusted_origins
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&id, "TrustedOrigin"))?;
    validate(&org, &body, Some(&id))?;
    let now = ts(org.write_time());
    let status = current["status"].as_str().unwrap_or("ACTIVE");
    let mut v = origin_json(
        &id,
        &body,
        status,
        current["created"].as_str().unwrap_or(&now),
    );
    v["lastUpdated"] = json!(now);
    org.trusted_origins.insert(id, v.clone());
    ok(v)
}

async fn delete(State(s): S, Path(id): Path<String>) -> ApiResult {
    let mut org = s.write();
    org.trusted_origins
        .remove(&id)
        .ok_or_else(|| ApiError::not_found(&id, "TrustedOrigin"))?;
    no_content()
}

async fn lifecycle(State(s): S, Path((id, action)): Path<(String, String)>) -> ApiResult {
    let mut org = s.write();
    let now = ts(org.write_time());
    let changed = set_lifecycle_status(
        org.trusted_origins.get_mut(&id),
        &id,
        "TrustedOrigin",
        &action,
        now,
    )?;
    ok(changed.clone())
}
