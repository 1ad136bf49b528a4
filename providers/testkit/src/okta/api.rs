//! What every Okta endpoint shares: error bodies, `limit`/`after` paging with `Link` headers,
//! and how `filter` and `search` are applied to a list.

use std::collections::HashMap;

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::expr::Expr;

/// An Okta error answer: `{errorCode, errorSummary, errorLink, errorId, errorCauses}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub summary: String,
    pub causes: Vec<String>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, summary: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            summary: summary.into(),
            causes: Vec::new(),
        }
    }

    pub(crate) fn not_found(id: &str, what: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "E0000007",
            format!("Not found: Resource not found: {id} ({what})"),
        )
    }

    pub(crate) fn validation(field: &str, cause: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "E0000001",
            summary: format!("Api validation failed: {field}"),
            causes: vec![cause.into()],
        }
    }

    pub(crate) fn bad_request(summary: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "E0000001", summary)
    }

    pub(crate) fn unauthorized() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "E0000011",
            "Invalid token provided",
        )
    }

    /// A write with a token whose administrator may only read; the cause names the
    /// permission (as an OAuth scope) the endpoint needs.
    pub(crate) fn forbidden(method: &str, path: &str) -> Self {
        let resource = path
            .strip_prefix("/api/v1/")
            .and_then(|p| p.split('/').next())
            .unwrap_or("");
        let scope = match resource {
            "zones" => "okta.networkZones.manage".to_string(),
            "meta" => "okta.schemas.manage".to_string(),
            "mappings" => "okta.profileMappings.manage".to_string(),
            "iam" => "okta.roles.manage".to_string(),
            other => format!("okta.{other}.manage"),
        };
        ApiError {
            status: StatusCode::FORBIDDEN,
            code: "E0000006",
            summary: "You do not have permission to perform the requested action".into(),
            causes: vec![format!(
                "{method} {path} needs the {scope} permission, which this token's administrator lacks"
            )],
        }
    }

    pub(crate) fn rate_limited() -> Self {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
        )
    }

    pub(crate) fn internal() -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "E0000009",
            "Internal Server Error",
        )
    }

    pub(crate) fn body(&self) -> Value {
        let id: String = format!("oae{:020x}", fastrand_like(&self.summary));
        json!({
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": &id[..23],
            "errorCauses": self.causes.iter().map(|c| json!({"errorSummary": c})).collect::<Vec<_>>(),
        })
    }
}

/// A stable, cheap fingerprint for error ids (they only need to look like Okta's).
fn fastrand_like(text: &str) -> u128 {
    text.bytes().fold(0xcbf29ce484222325u128, |h, b| {
        (h ^ b as u128).wrapping_mul(0x100000001b3)
    })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

pub(crate) type ApiResult = Result<Response, ApiError>;

/// Query parameters as Okta reads them.
pub(crate) type Params = HashMap<String, String>;

/// The page size: `limit` clamped to `max`, `default` when absent or not a number.
pub(crate) fn limit(params: &Params, default: usize, max: usize) -> usize {
    params
        .get("limit")
        .and_then(|l| l.parse::<i64>().ok())
        .filter(|l| *l > 0)
        .map_or(default, |l| (l as usize).min(max))
}

/// A JSON array answer with `Link` headers: `self`, and `next` (an `after` cursor) when more.
pub(crate) fn page(
    base: &str,
    path: &str,
    params: &Params,
    limit: usize,
    items: Vec<Value>,
    next_after: Option<String>,
) -> Response {
    let body = serde_json::to_vec(&Value::Array(items)).expect("JSON values always serialize");
    page_of_text(base, path, params, limit, body, next_after)
}

/// [`page`] with the array already written as JSON text (`body`).
pub(crate) fn page_of_text(
    base: &str,
    path: &str,
    params: &Params,
    limit: usize,
    body: Vec<u8>,
    next_after: Option<String>,
) -> Response {
    let mut headers = HeaderMap::new();
    let self_url = link_url(
        base,
        path,
        params,
        limit,
        params.get("after").map(String::as_str),
    );
    headers.append(
        header::LINK,
        HeaderValue::from_str(&format!("<{self_url}>; rel=\"self\"")).expect("ascii link"),
    );
    if let Some(after) = next_after {
        let next = link_url(base, path, params, limit, Some(&after));
        headers.append(
            header::LINK,
            HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")).expect("ascii link"),
        );
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (StatusCode::OK, headers, body).into_response()
}

pub(crate) fn link_url(
    base: &str,
    path: &str,
    params: &Params,
    limit: usize,
    after: Option<&str>,
) -> String {
    let mut url = url::Url::parse(&format!("{base}{path}")).expect("emulator url");
    {
        let mut q = url.query_pairs_mut();
        let mut keys: Vec<&String> = params
            .keys()
            .filter(|k| *k != "after" && *k != "limit")
            .collect();
        keys.sort();
        for k in keys {
            q.append_pair(k, &params[k]);
        }
        if let Some(after) = after {
            q.append_pair("after", after);
        }
        q.append_pair("limit", &limit.to_string());
    }
    url.to_string()
}

/// Takes up to `limit` items and says where the next page starts (the last id returned).
pub(crate) fn take_page<'a, I>(iter: I, limit: usize) -> (Vec<&'a str>, Option<String>)
where
    I: Iterator<Item = &'a String>,
{
    let mut ids: Vec<&str> = Vec::with_capacity(limit.min(1024));
    let mut more = false;
    for id in iter {
        if ids.len() == limit {
            more = true;
            break;
        }
        ids.push(id);
    }
    let next = more.then(|| ids.last().map(|s| s.to_string())).flatten();
    (ids, next)
}

/// The expressions of `filter` and `search` together (both must hold), `None` when neither
/// is given.
pub(crate) fn expression(params: &Params) -> Result<Option<Expr>, ApiError> {
    let mut all = Vec::new();
    for key in ["filter", "search"] {
        if let Some(text) = params.get(key) {
            all.push(Expr::parse(text)?);
        }
    }
    Ok(match all.len() {
        0 => None,
        1 => all.pop(),
        _ => Some(Expr::And(all)),
    })
}

/// True when `value` satisfies `expr` (or there is none).
pub(crate) fn matches(value: &Value, expr: Option<&Expr>) -> bool {
    expr.is_none_or(|e| e.holds_on(value))
}

/// Reads a JSON request body, answering Okta's 400 when it is not JSON.
pub(crate) fn json_body(body: &axum::body::Bytes) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "E0000003",
            format!("The request body was not well-formed: {e}"),
        )
    })
}

pub(crate) fn ok(value: Value) -> ApiResult {
    Ok((StatusCode::OK, Json(value)).into_response())
}

pub(crate) fn created(value: Value) -> ApiResult {
    Ok((StatusCode::OK, Json(value)).into_response())
}

pub(crate) fn no_content() -> ApiResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) fn flag(params: &Params, name: &str, default: bool) -> bool {
    params
        .get(name)
        .map_or(default, |v| v.eq_ignore_ascii_case("true"))
}
