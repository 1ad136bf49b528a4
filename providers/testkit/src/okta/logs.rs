//! The System Log: every write made through the API is recorded as a `LogEvent` (uuid,
//! published, eventType, actor, client, outcome, target) and served by `GET /api/v1/logs` with
//! `since`/`until`, `filter` (SCIM expressions on event fields, `target.id` matching any
//! target), `q` keywords, `sortOrder`, `limit` and `after` paging with `Link` headers, and the
//! reference's limits and errors on them, as the System Log API reference describes. The actor is the user the API token belongs to (`/users/me`), as Okta
//! logs a token's calls.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, SecondsFormat, Utc};
use rand::Rng;
use serde_json::{Value, json};

use super::Shared;
use super::api::{ApiError, ApiResult, Params, expression, limit, page};
use super::expr::at_path;
use super::model::Org;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/api/v1/logs", get(list))
}

/// The route with each id parameter written `{}` and each `{action}` as the path has it:
/// `/api/v1/users/{id}/lifecycle/{action}` → `/api/v1/users/{}/lifecycle/deactivate`.
fn shape(route: &str, path: &str) -> String {
    route
        .split('/')
        .zip(path.split('/'))
        .map(|(r, p)| match r {
            "{action}" => p,
            r if r.starts_with('{') => "{}",
            r => r,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The event type Okta logs for a write, by method and route shape ([`shape`]).
fn event_type(method: &Method, route: &str) -> String {
    let known = match (method.as_str(), route) {
        ("POST", "/api/v1/users") => "user.lifecycle.create",
        ("DELETE", "/api/v1/users/{}") => "user.lifecycle.delete.initiated",
        ("POST" | "PUT", "/api/v1/users/{}") => "user.account.update_profile",
        ("POST", "/api/v1/users/{}/lifecycle/activate") => "user.lifecycle.activate",
        ("POST", "/api/v1/users/{}/lifecycle/deactivate") => "user.lifecycle.deactivate",
        ("POST", "/api/v1/users/{}/lifecycle/suspend") => "user.lifecycle.suspend",
        ("POST", "/api/v1/users/{}/lifecycle/unsuspend") => "user.lifecycle.unsuspend",
        ("POST", "/api/v1/users/{}/lifecycle/reset_factors") => "user.mfa.factor.reset_all",
        ("DELETE", "/api/v1/users/{}/factors/{}") => "user.mfa.factor.deactivate",
        ("POST", "/api/v1/users/{}/roles") => "user.account.privilege.grant",
        ("DELETE", "/api/v1/users/{}/roles/{}") => "user.account.privilege.revoke",
        ("POST", "/api/v1/groups/{}/roles") => "group.privilege.grant",
        ("DELETE", "/api/v1/groups/{}/roles/{}") => "group.privilege.revoke",
        ("POST", "/api/v1/groups") => "group.lifecycle.create",
        ("DELETE", "/api/v1/groups/{}") => "group.lifecycle.delete",
        ("PUT", "/api/v1/groups/{}") => "group.profile.update",
        ("PUT", "/api/v1/groups/{}/users/{}") => "group.user_membership.add",
        ("DELETE", "/api/v1/groups/{}/users/{}") => "group.user_membership.remove",
        ("POST", "/api/v1/apps") => "application.lifecycle.create",
        ("PUT", "/api/v1/apps/{}") => "application.lifecycle.update",
        ("DELETE", "/api/v1/apps/{}") => "application.lifecycle.delete",
        ("POST", "/api/v1/apps/{}/users") | ("PUT", "/api/v1/apps/{}/users/{}") => {
            "application.user_membership.add"
        }
        ("DELETE", "/api/v1/apps/{}/users/{}") => "application.user_membership.remove",
        ("PUT", "/api/v1/apps/{}/groups/{}") => "group.application_assignment.add",
        ("DELETE", "/api/v1/apps/{}/groups/{}") => "group.application_assignment.remove",
        ("POST", "/api/v1/policies") => "policy.lifecycle.create",
        ("PUT", "/api/v1/policies/{}") => "policy.lifecycle.update",
        ("DELETE", "/api/v1/policies/{}") => "policy.lifecycle.delete",
        ("POST", "/api/v1/policies/{}/rules") => "policy.rule.add",
        ("PUT", "/api/v1/policies/{}/rules/{}") => "policy.rule.update",
        ("DELETE", "/api/v1/policies/{}/rules/{}") => "policy.rule.delete",
        ("DELETE", "/api/v1/authorizationServers/{}") => "oauth2.as.deleted",
        ("POST", "/api/v1/authorizationServers/{}/lifecycle/deactivate") => "oauth2.as.deactivated",
        ("DELETE", "/api/v1/idps/{}") => "system.idp.lifecycle.delete",
        ("POST", "/api/v1/idps/{}/lifecycle/deactivate") => "system.idp.lifecycle.deactivate",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    // Routes the table does not name: `<resource>.lifecycle.<verb>` in the style of Okta's
    // own types, so that each write still leaves one event.
    let resource = route
        .trim_start_matches("/api/v1/")
        .split('/')
        .next()
        .unwrap_or("resource")
        .trim_end_matches('s');
    let verb = match method.as_str() {
        "POST" if !route.ends_with('}') => "create",
        "DELETE" => "delete",
        _ => "update",
    };
    format!("{resource}.lifecycle.{verb}")
}

/// `(name, value)` of each `{param}` of `route` in `path`.
fn params_of(route: &str, path: &str) -> Vec<(String, String)> {
    route
        .split('/')
        .zip(path.split('/'))
        .filter_map(|(r, p)| {
            let name = r.strip_prefix('{')?.strip_suffix('}')?;
            (name != "action").then(|| (name.to_string(), p.to_string()))
        })
        .collect()
}

impl Org {
    /// Takes `okta.logs.read` from the token: the System Log answers 403 from now on.
    pub fn deny_logs(&mut self) {
        self.logs_denied = true;
    }

    /// The events of the System Log, oldest first, as `GET /api/v1/logs` returns them.
    pub fn log_events(&self) -> Vec<Value> {
        self.logs.iter().map(|(_, e)| e.clone()).collect()
    }

    /// An event target for `id`: `{id, type, alternateId, displayName}` as the System Log
    /// names what it is, read before a delete removes it.
    fn log_target(&self, param: &str, id: &str) -> Value {
        let target = |kind: &str, alternate: &str, display: &str| {
            json!({"id": id, "type": kind, "alternateId": alternate, "displayName": display,
                   "detailEntry": null})
        };
        if let Some(user) = self.users.get(id) {
            let name = format!(
                "{} {}",
                user.profile.text("firstName").unwrap_or_default(),
                user.profile.text("lastName").unwrap_or_default()
            );
            return target("User", &user.profile.login(), name.trim());
        }
        if let Some(name) = self.group_name(id) {
            return target("UserGroup", "unknown", name);
        }
        let named = |v: &Value, field: &str| v[field].as_str().unwrap_or("unknown").to_string();
        if let Some(app) = self.apps.get(id) {
            let label = named(app, "label");
            return target("AppInstance", &named(app, "name"), &label);
        }
        if let Some(policy) = self.policies.get(id) {
            return target("PolicyEntity", "unknown", &named(policy, "name"));
        }
        if let Some(server) = self.auth_servers.get(id) {
            return target(
                "AuthorizationServer",
                "unknown",
                &named(&server.server, "name"),
            );
        }
        if let Some(idp) = self.idps.get(id) {
            return target("IdentityProvider", "unknown", &named(idp, "name"));
        }
        let kind = param.trim_end_matches("Id");
        let mut chars = kind.chars();
        let kind = chars.next().map_or(String::new(), |c| {
            c.to_uppercase().chain(chars).collect::<String>()
        });
        target(&kind, "unknown", "unknown")
    }

    /// The actor of the API token's calls: the user the token belongs to.
    fn log_actor(&self) -> Value {
        let target = self.log_target("userId", &self.me);
        json!({"id": self.me, "type": "User", "alternateId": target["alternateId"],
               "displayName": target["displayName"], "detailEntry": null})
    }

    fn log(&mut self, event_type: String, targets: Vec<Value>, ip: &str) {
        let published = Utc::now();
        let uuid = {
            let bytes: [u8; 16] = self.rng.r#gen();
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!(
                "{}-{}-{}-{}-{}",
                &hex[0..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..32]
            )
        };
        let event = json!({
            "uuid": uuid,
            "published": published.to_rfc3339_opts(SecondsFormat::Millis, true),
            "eventType": event_type,
            "version": "0",
            "severity": "INFO",
            "legacyEventType": null,
            "displayMessage": event_type.replace('.', " "),
            "actor": self.log_actor(),
            "client": {"userAgent": null, "zone": "null", "device": "Unknown", "id": null,
                       "ipAddress": ip, "geographicalContext": null},
            "outcome": {"result": "SUCCESS", "reason": null},
            "target": targets,
            "transaction": {"type": "WEB", "id": uuid, "detail": {}},
            "debugContext": {"debugData": {}},
            "authenticationContext": {"authenticationProvider": null, "credentialProvider": null,
                                      "credentialType": null, "issuer": null,
                                      "externalSessionId": "unknown", "interface": null},
            "securityContext": {"asNumber": null, "asOrg": null, "isp": null, "domain": null,
                                "isProxy": null},
            "request": {"ipChain": [{"ip": ip, "geographicalContext": null, "version": "V4",
                                      "source": null}]},
        });
        self.logs.push((published, event));
    }
}

/// Records a System Log event for each successful write (the gate has checked the token).
pub(crate) async fn record(
    State(shared): State<Arc<Shared>>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().clone();
    let Some(route) = matched.map(|m| m.as_str().to_string()) else {
        return next.run(req).await;
    };
    if method == Method::GET || method == Method::HEAD || route == "/api/v1/logs" {
        return next.run(req).await;
    }
    let ip = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .unwrap_or("127.0.0.1")
        .trim()
        .to_string();
    let params = params_of(&route, req.uri().path());
    let shape = shape(&route, req.uri().path());
    // Names are read before the write: a deleted object has none afterwards.
    let mut targets: Vec<Value> = {
        let org = shared.read();
        params.iter().map(|(p, id)| org.log_target(p, id)).collect()
    };
    let response = next.run(req).await;
    if !response.status().is_success() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut org = shared.write();
    if method == Method::POST
        && let Ok(created) = serde_json::from_slice::<Value>(&bytes)
        && let Some(id) = created["id"].as_str()
        && !targets.iter().any(|t| t["id"] == id)
    {
        targets.push(org.log_target("", id));
    }
    org.log(event_type(&method, &shape), targets, &ip);
    Response::from_parts(parts, Body::from(bytes))
}

fn bad_request(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "E0000001", message)
}

fn instant(params: &Params, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    params
        .get(name)
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    bad_request(format!(
                        "Api validation failed: {name}: {t:?} is not an ISO 8601 date and time"
                    ))
                })
        })
        .transpose()
}

/// How far before now `since` may reach: the reference's 400 for an older one.
const OLDEST_SINCE_DAYS: i64 = 180;
/// Longest keyword of `q`, and most keywords, as the reference limits them.
const KEYWORD_CHARS: usize = 40;
const KEYWORDS: usize = 10;

/// The limits the System Log reference sets on a query: `since` at most 180 days back
/// (E0000053), `q` keywords of at most 40 characters, 10 at most (E0000001).
fn within_limits(params: &Params, since: DateTime<Utc>) -> Result<(), ApiError> {
    if since < Utc::now() - chrono::Duration::days(OLDEST_SINCE_DAYS) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "E0000053",
            "Invalid parameter: The since parameter is over 180 days prior to the current day."
                .to_string(),
        ));
    }
    let keywords: Vec<&str> = params
        .get("q")
        .map(|q| q.split_whitespace().collect())
        .unwrap_or_default();
    if keywords.iter().any(|k| k.chars().count() > KEYWORD_CHARS) {
        return Err(bad_request("Api validation failed: 'q': Freeform search cannot contain items longer than 40 characters. Please shorten the items in your search or use an advanced filter to query by specific fields.".to_string()));
    }
    if keywords.len() > KEYWORDS {
        return Err(bad_request(format!(
            "Api validation failed: 'q': Freeform search cannot contain more than {KEYWORDS} items. Please use fewer items in your search or use an advanced filter to query by specific fields."
        )));
    }
    Ok(())
}

/// True when every keyword of `q` is one of `event`'s values, or part of one split at
/// hyphens (case-insensitive), as the reference's keyword filter matches.
fn has_keywords(event: &Value, q: &str) -> bool {
    fn words(v: &Value, into: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                let s = s.to_lowercase();
                into.extend(s.split(['-', ' ']).map(str::to_string));
                into.push(s);
            }
            Value::Array(a) => a.iter().for_each(|v| words(v, into)),
            Value::Object(o) => o.values().for_each(|v| words(v, into)),
            Value::Null => {}
            other => into.push(other.to_string()),
        }
    }
    let mut all = Vec::new();
    words(event, &mut all);
    q.split_whitespace()
        .all(|k| all.iter().any(|w| *w == k.to_lowercase()))
}

/// `GET /api/v1/logs`: events with `published` in `[since, until)`, `since` defaulting to
/// seven days before `until` (now), filtered, in `sortOrder`, a page of `limit` (100, at
/// most 1,000) from the `after` cursor (the last uuid of the previous page).
async fn list(State(shared): State<Arc<Shared>>, Query(params): Query<Params>) -> ApiResult {
    let until = instant(&params, "until")?.unwrap_or_else(Utc::now);
    let since = instant(&params, "since")?.unwrap_or(until - chrono::Duration::days(7));
    within_limits(&params, since)?;
    let q = params.get("q").cloned().unwrap_or_default();
    let filter = expression(&params)?;
    let descending = params
        .get("sortOrder")
        .is_some_and(|s| s.eq_ignore_ascii_case("DESCENDING"));
    let size = limit(&params, 100, 1000);
    let org = shared.read();
    if org.logs_denied {
        return Err(ApiError::forbidden("GET", "/api/v1/logs"));
    }
    let lookup = |event: &Value, attribute: &str| -> Option<Value> {
        match attribute.strip_prefix("target.") {
            Some(field) => Some(Value::Array(
                event["target"]
                    .as_array()?
                    .iter()
                    .filter_map(|t| at_path(t, field).cloned())
                    .collect(),
            )),
            None => at_path(event, attribute).cloned(),
        }
    };
    let mut selected: Vec<&Value> = org
        .logs
        .iter()
        .filter(|(at, _)| *at >= since && *at < until)
        .map(|(_, e)| e)
        .filter(|e| filter.as_ref().is_none_or(|f| f.holds(&|a| lookup(e, a))))
        .filter(|e| q.is_empty() || has_keywords(e, &q))
        .collect();
    if descending {
        selected.reverse();
    }
    let start = match params.get("after") {
        Some(after) => selected
            .iter()
            .position(|e| e["uuid"] == after.as_str())
            .map_or(selected.len(), |i| i + 1),
        None => 0,
    };
    let rest = &selected[start..];
    let items: Vec<Value> = rest.iter().take(size).map(|e| (*e).clone()).collect();
    let next = (rest.len() > size)
        .then(|| {
            items
                .last()
                .and_then(|e| e["uuid"].as_str())
                .map(String::from)
        })
        .flatten();
    Ok(page(&org.base, "/api/v1/logs", &params, size, items, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_follow_the_route_and_action() {
        let user = shape(
            "/api/v1/users/{id}/lifecycle/{action}",
            "/api/v1/users/00u1/lifecycle/deactivate",
        );
        assert_eq!(user, "/api/v1/users/{}/lifecycle/deactivate");
        assert_eq!(
            event_type(&Method::POST, &user),
            "user.lifecycle.deactivate"
        );
        let member = shape(
            "/api/v1/groups/{id}/users/{user}",
            "/api/v1/groups/00g1/users/00u1",
        );
        assert_eq!(
            event_type(&Method::DELETE, &member),
            "group.user_membership.remove"
        );
        assert_eq!(
            event_type(&Method::DELETE, "/api/v1/zones/{}"),
            "zone.lifecycle.delete"
        );
        assert_eq!(
            event_type(&Method::POST, "/api/v1/zones"),
            "zone.lifecycle.create"
        );
        assert_eq!(
            params_of(
                "/api/v1/apps/{id}/lifecycle/{action}",
                "/api/v1/apps/0oa1/lifecycle/activate"
            ),
            [("id".to_string(), "0oa1".to_string())]
        );
    }
}
