//! Event hooks (`/api/v1/eventHooks`), inline hooks (`/api/v1/inlineHooks`) and log streams
//! (`/api/v1/logStreams`), as the reference describes them.
//!
//! Hook lists are whole in one answer (inline hooks filtered by `type`); log streams are
//! listed with `limit` (20 by default, at most 200), `after` and `filter` (`type eq …`,
//! `status eq …`) and `Link` headers. Names are unique. Every secret is write-only: an auth
//! header's `value`, an OAuth `clientSecret`, a Splunk `token` are required on create, kept,
//! and never returned; a replace without them keeps the one held. Hooks and streams are
//! created `ACTIVE` (an event hook `UNVERIFIED`); an event hook's endpoint must be HTTPS, its
//! verification (`…/lifecycle/verify`) succeeds for an HTTPS endpoint, and changing its channel
//! makes it `UNVERIFIED` again; a hook is deleted only when `INACTIVE`; an inline hook's type
//! and an AWS log stream's settings cannot change.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::Shared;
use super::api::{ApiError, ApiResult, Params, expression, json_body, matches, no_content, ok};
use super::model::{Org, ts};

type S = State<Arc<Shared>>;

const EVENT: &str = "/api/v1/eventHooks";
const INLINE: &str = "/api/v1/inlineHooks";
const STREAMS: &str = "/api/v1/logStreams";

const INLINE_TYPES: &[&str] = &[
    "com.okta.import.transform",
    "com.okta.oauth2.tokens.transform",
    "com.okta.saml.tokens.transform",
    "com.okta.telephony.provider",
    "com.okta.user.credential.password.import",
    "com.okta.user.pre-registration",
];

/// The hooks and log streams of an org, as Okta returns them (no secret), and their secrets.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hooks {
    event: BTreeMap<String, Value>,
    inline: BTreeMap<String, Value>,
    streams: BTreeMap<String, Value>,
    /// By object id: the secret it was given (auth header value, client secret, HEC token).
    secrets: BTreeMap<String, String>,
    /// The org lacks Log Streaming: its list answers 403.
    no_log_streaming: bool,
}

impl Hooks {
    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        (self.event.len(), self.inline.len(), self.streams.len())
    }

    /// Whether the org has an inline hook `id` (an access policy rule's token hook).
    pub(crate) fn has_inline(&self, id: &str) -> bool {
        self.inline.contains_key(id)
    }

    /// The secret `id` holds, if any (test assertions).
    pub(crate) fn secret(&self, id: &str) -> Option<&str> {
        self.secrets.get(id).map(String::as_str)
    }
}

impl Org {
    /// Answers the log stream list with 403 `E0000006`, as an org without Log Streaming does.
    pub fn disable_log_streaming(&mut self) {
        self.hooks.no_log_streaming = true;
    }

    /// The secret an event hook, inline hook or log stream holds, by id: what the API never
    /// returns (test assertions).
    pub fn hook_secret(&self, id: &str) -> Option<String> {
        self.hooks.secret(id).map(str::to_string)
    }

    /// The id of the event hook, inline hook or log stream named `name`.
    pub fn hook_id(&self, name: &str) -> Option<String> {
        let h = &self.hooks;
        h.event
            .values()
            .chain(h.inline.values())
            .chain(h.streams.values())
            .find(|v| v["name"] == name)
            .and_then(|v| v["id"].as_str().map(str::to_string))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Family {
    Event,
    Inline,
    Stream,
}

impl Family {
    fn base(self) -> &'static str {
        match self {
            Family::Event => EVENT,
            Family::Inline => INLINE,
            Family::Stream => STREAMS,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Family::Event => "EventHook",
            Family::Inline => "InlineHook",
            Family::Stream => "LogStream",
        }
    }

    fn map(self, org: &Org) -> &BTreeMap<String, Value> {
        match self {
            Family::Event => &org.hooks.event,
            Family::Inline => &org.hooks.inline,
            Family::Stream => &org.hooks.streams,
        }
    }

    fn map_mut(self, org: &mut Org) -> &mut BTreeMap<String, Value> {
        match self {
            Family::Event => &mut org.hooks.event,
            Family::Inline => &mut org.hooks.inline,
            Family::Stream => &mut org.hooks.streams,
        }
    }
}

pub(crate) fn routes() -> Router<Arc<Shared>> {
    let mut router = Router::new()
        .route(EVENT, get(list_event).post(create_event))
        .route(INLINE, get(list_inline).post(create_inline))
        .route(STREAMS, get(list_streams).post(create_stream));
    for family in [Family::Event, Family::Inline, Family::Stream] {
        let base = family.base();
        let one = get(move |s: S, Path(id): Path<String>| async move {
            let org = s.0.read();
            let v = family.map(&org).get(&id).cloned();
            v.map_or_else(|| Err(ApiError::not_found(&id, family.what())), ok)
        })
        .put(
            move |s: S, Path(id): Path<String>, body: Bytes| async move {
                let body = json_body(&body)?;
                replace(&mut s.0.write(), family, &id, body, true)
            },
        )
        .delete(move |s: S, Path(id): Path<String>| async move {
            delete(&mut s.0.write(), family, &id)
        });
        // An inline hook is also updated in part with `POST`.
        let one = if family == Family::Inline {
            one.post(
                move |s: S, Path(id): Path<String>, body: Bytes| async move {
                    let body = json_body(&body)?;
                    replace(&mut s.0.write(), family, &id, body, false)
                },
            )
        } else {
            one
        };
        router = router.route(&format!("{base}/{{id}}"), one).route(
            &format!("{base}/{{id}}/lifecycle/{{action}}"),
            post(
                move |s: S, Path((id, action)): Path<(String, String)>| async move {
                    lifecycle(&mut s.0.write(), family, &id, &action)
                },
            ),
        );
    }
    router
}

fn validation(field: &str, cause: impl Into<String>) -> ApiError {
    ApiError::validation(field, format!("{field}: {}", cause.into()))
}

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn required(body: &Value, pointer: &str, field: &str) -> Result<(), ApiError> {
    if text(body, pointer).trim().is_empty() {
        return Err(validation(field, "The field cannot be left blank"));
    }
    Ok(())
}

fn unique_name(
    org: &Org,
    family: Family,
    body: &Value,
    except: Option<&str>,
) -> Result<(), ApiError> {
    required(body, "/name", "name")?;
    if family
        .map(org)
        .iter()
        .any(|(id, v)| Some(id.as_str()) != except && v["name"] == body["name"])
    {
        return Err(super::write::duplicate("name"));
    }
    Ok(())
}

fn https(body: &Value) -> Result<(), ApiError> {
    let uri = text(body, "/channel/config/uri");
    match url::Url::parse(uri) {
        Ok(u) if u.scheme() == "https" => Ok(()),
        _ => Err(validation(
            "channel.config.uri",
            format!("'{uri}' is not a valid HTTPS URL"),
        )),
    }
}

/// Takes the secret out of `body` (the hook's auth header value, an OAuth client secret, a
/// Splunk token): the secret, if the body held one.
fn take_secret(body: &mut Value) -> Option<String> {
    for pointer in ["/channel/config/authScheme", "/channel/config", "/settings"] {
        let field = match pointer {
            "/channel/config/authScheme" => "value",
            "/channel/config" => "clientSecret",
            _ => "token",
        };
        if let Some(v) = body
            .pointer_mut(pointer)
            .and_then(Value::as_object_mut)
            .and_then(|m| m.remove(field))
            && let Some(s) = v.as_str()
        {
            return Some(s.to_string());
        }
    }
    None
}

/// Whether `body` configures something that needs a secret: an auth header, an OAuth client
/// secret, a Splunk token.
fn needs_secret(family: Family, body: &Value) -> Option<&'static str> {
    match family {
        Family::Stream if body["type"] == "splunk_cloud_logstreaming" => Some("settings.token"),
        Family::Stream => None,
        _ if text(body, "/channel/config/authType") == "client_secret_post" => {
            Some("channel.config.clientSecret")
        }
        _ if body
            .pointer("/channel/config/authScheme")
            .is_some_and(|a| !a.is_null()) =>
        {
            Some("channel.config.authScheme.value")
        }
        _ => None,
    }
}

fn validate(org: &Org, family: Family, body: &Value, except: Option<&str>) -> Result<(), ApiError> {
    unique_name(org, family, body, except)?;
    match family {
        Family::Event => {
            if body.pointer("/events/type").and_then(Value::as_str) != Some("EVENT_TYPE") {
                return Err(validation("events.type", "Only EVENT_TYPE is supported"));
            }
            let items = body.pointer("/events/items").and_then(Value::as_array);
            if items.is_none_or(|i| i.is_empty()) {
                return Err(validation(
                    "events.items",
                    "At least one event type is required",
                ));
            }
            if text(body, "/channel/type") != "HTTP" {
                return Err(validation("channel.type", "Only HTTP is supported"));
            }
            https(body)?;
        }
        Family::Inline => {
            let kind = text(body, "/type");
            if !INLINE_TYPES.contains(&kind) {
                return Err(validation(
                    "type",
                    format!("Invalid inline hook type {kind}"),
                ));
            }
            match text(body, "/channel/type") {
                "HTTP" => {}
                "OAUTH" => {
                    required(body, "/channel/config/clientId", "channel.config.clientId")?;
                    required(body, "/channel/config/tokenUrl", "channel.config.tokenUrl")?;
                    match text(body, "/channel/config/authType") {
                        "client_secret_post" => {}
                        "private_key_jwt" => required(
                            body,
                            "/channel/config/hookKeyId",
                            "channel.config.hookKeyId",
                        )?,
                        other => {
                            return Err(validation(
                                "channel.config.authType",
                                format!("Invalid authType {other}"),
                            ));
                        }
                    }
                }
                other => {
                    return Err(validation(
                        "channel.type",
                        format!("Invalid channel type {other}"),
                    ));
                }
            }
            https(body)?;
        }
        Family::Stream => match text(body, "/type") {
            "aws_eventbridge" => {
                let account = text(body, "/settings/accountId");
                if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(validation(
                        "settings.accountId",
                        "An AWS account id has 12 digits",
                    ));
                }
                required(
                    body,
                    "/settings/eventSourceName",
                    "settings.eventSourceName",
                )?;
                required(body, "/settings/region", "settings.region")?;
            }
            "splunk_cloud_logstreaming" => {
                required(body, "/settings/host", "settings.host")?;
                required(body, "/settings/edition", "settings.edition")?;
            }
            other => {
                return Err(validation(
                    "type",
                    format!("Invalid log stream type {other}"),
                ));
            }
        },
    }
    Ok(())
}

/// The object Okta keeps from a create or replace body, with its id, status and times.
fn object(
    base: &str,
    family: Family,
    id: &str,
    body: &Value,
    status: &str,
    created: &str,
    now: &str,
) -> Value {
    let mut v = body.clone();
    let map = v.as_object_mut().expect("a JSON object body");
    for readonly in [
        "id",
        "status",
        "created",
        "lastUpdated",
        "_links",
        "verificationStatus",
    ] {
        map.remove(readonly);
    }
    v["id"] = json!(id);
    v["status"] = json!(status);
    v["created"] = json!(created);
    v["lastUpdated"] = json!(now);
    let self_href = format!("{base}{}/{id}", family.base());
    let toggle = if status == "ACTIVE" {
        "deactivate"
    } else {
        "activate"
    };
    v["_links"] = json!({"self": {"href": self_href},
                         toggle: {"href": format!("{self_href}/lifecycle/{toggle}")}});
    match family {
        Family::Event => {
            v["createdBy"] = json!("00u-admin");
            v["channel"]["config"]["method"] = json!("POST");
            v["_links"]["verify"] = json!({"href": format!("{self_href}/lifecycle/verify")});
        }
        Family::Inline => {
            if v.get("version").is_none_or(Value::is_null) {
                v["version"] = json!("1.0.0");
            }
            v["channel"]["config"]["method"] = json!("POST");
        }
        Family::Stream => {}
    }
    v
}

fn create(org: &mut Org, family: Family, mut body: Value) -> ApiResult {
    validate(org, family, &body, None)?;
    let field = needs_secret(family, &body);
    let secret = take_secret(&mut body);
    if let (Some(field), None) = (field, &secret) {
        return Err(validation(field, "The field cannot be left blank"));
    }
    let prefix = match family {
        Family::Event => "who",
        Family::Inline => "cal",
        Family::Stream => "0oa",
    };
    let id = org.new_id(prefix);
    let now = ts(org.write_time());
    let mut v = object(&org.base, family, &id, &body, "ACTIVE", &now, &now);
    if family == Family::Event {
        v["verificationStatus"] = json!("UNVERIFIED");
    }
    if let Some(secret) = secret {
        org.hooks.secrets.insert(id.clone(), secret);
    }
    family.map_mut(org).insert(id, v.clone());
    ok(v)
}

/// `PUT` (`whole`) or an inline hook's `POST` (what the body leaves out is kept).
fn replace(org: &mut Org, family: Family, id: &str, body: Value, whole: bool) -> ApiResult {
    let current = family
        .map(org)
        .get(id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(id, family.what()))?;
    let mut body = if whole {
        body
    } else {
        let mut merged = current.clone();
        for (k, v) in body.as_object().into_iter().flatten() {
            merged[k] = v.clone();
        }
        merged
    };
    validate(org, family, &body, Some(id))?;
    match family {
        Family::Inline if body["type"] != current["type"] => {
            return Err(validation(
                "type",
                "The type of an inline hook cannot be changed",
            ));
        }
        Family::Stream if body["type"] != current["type"] => {
            return Err(validation(
                "type",
                "The type of a log stream cannot be changed",
            ));
        }
        Family::Stream
            if current["type"] == "aws_eventbridge" && body["settings"] != current["settings"] =>
        {
            return Err(validation(
                "settings",
                "The settings of an AWS EventBridge log stream cannot be changed",
            ));
        }
        _ => {}
    }
    let field = needs_secret(family, &body);
    let secret = take_secret(&mut body);
    let held = org.hooks.secrets.get(id).cloned();
    if let (Some(field), None, None) = (field, &secret, &held) {
        return Err(validation(field, "The field cannot be left blank"));
    }
    match (field, secret) {
        (Some(_), Some(secret)) => {
            org.hooks.secrets.insert(id.to_string(), secret);
        }
        (None, _) => {
            org.hooks.secrets.remove(id);
        }
        _ => {}
    }
    let now = ts(org.write_time());
    let status = current["status"].as_str().unwrap_or("ACTIVE").to_string();
    let created = current["created"].as_str().unwrap_or(&now).to_string();
    let mut v = object(&org.base, family, id, &body, &status, &created, &now);
    if family == Family::Event {
        // A changed channel must be verified again.
        let mut was = current["channel"].clone();
        let mut is = v["channel"].clone();
        for c in [&mut was, &mut is] {
            if let Some(m) = c.pointer_mut("/config").and_then(Value::as_object_mut) {
                m.remove("method");
            }
        }
        v["verificationStatus"] = if was == is {
            current["verificationStatus"].clone()
        } else {
            json!("UNVERIFIED")
        };
    }
    family.map_mut(org).insert(id.to_string(), v.clone());
    ok(v)
}

fn delete(org: &mut Org, family: Family, id: &str) -> ApiResult {
    let current = family
        .map(org)
        .get(id)
        .ok_or_else(|| ApiError::not_found(id, family.what()))?;
    if family != Family::Stream && current["status"] != "INACTIVE" {
        return Err(validation(
            "status",
            "Only INACTIVE hooks can be deleted; deactivate it first",
        ));
    }
    family.map_mut(org).remove(id);
    org.hooks.secrets.remove(id);
    no_content()
}

fn lifecycle(org: &mut Org, family: Family, id: &str, action: &str) -> ApiResult {
    let now = ts(org.write_time());
    let base = org.base.clone();
    let v = family
        .map_mut(org)
        .get_mut(id)
        .ok_or_else(|| ApiError::not_found(id, family.what()))?;
    match (family, action) {
        (Family::Event, "verify") => {
            // The emulator cannot call the endpoint: an HTTPS one answers the challenge.
            https(v)?;
            v["verificationStatus"] = json!("VERIFIED");
        }
        (_, "activate" | "deactivate") => {
            let status = if action == "activate" {
                "ACTIVE"
            } else {
                "INACTIVE"
            };
            let toggle = if action == "activate" {
                "deactivate"
            } else {
                "activate"
            };
            v["status"] = json!(status);
            let self_href = format!("{base}{}/{id}", family.base());
            let links = v["_links"].as_object_mut().expect("links");
            links.remove("activate");
            links.remove("deactivate");
            links.insert(
                toggle.into(),
                json!({"href": format!("{self_href}/lifecycle/{toggle}")}),
            );
        }
        _ => return Err(ApiError::not_found(action, "Lifecycle operation")),
    }
    v["lastUpdated"] = json!(now);
    ok(v.clone())
}

async fn list_event(State(s): S) -> ApiResult {
    let org = s.read();
    ok(Value::Array(org.hooks.event.values().cloned().collect()))
}

async fn list_inline(State(s): S, Query(p): Query<Params>) -> ApiResult {
    let org = s.read();
    let want = p.get("type");
    ok(Value::Array(
        org.hooks
            .inline
            .values()
            .filter(|v| want.is_none_or(|t| v["type"] == t.as_str()))
            .cloned()
            .collect(),
    ))
}

async fn list_streams(State(s): S, Query(p): Query<Params>) -> ApiResult {
    let org = s.read();
    if org.hooks.no_log_streaming {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "E0000006",
            "You do not have permission to perform the requested action",
        ));
    }
    let expr = expression(&Params::from_iter(
        p.get("filter").map(|f| ("filter".to_string(), f.clone())),
    ))?;
    super::read::page_values(
        &org,
        STREAMS,
        &p,
        (20, 200),
        org.hooks
            .streams
            .range::<str, _>((super::read::after(&p), std::ops::Bound::Unbounded)),
        |v| matches(v, expr.as_ref()),
    )
}

async fn create_event(State(s): S, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    create(&mut s.write(), Family::Event, body)
}

async fn create_inline(State(s): S, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    create(&mut s.write(), Family::Inline, body)
}

async fn create_stream(State(s): S, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    create(&mut s.write(), Family::Stream, body)
}

/// What a seeded org sends out: a verified event hook to a SIEM with its secret and an
/// inactive one without; a token inline hook (named by an access policy rule) and an inactive
/// registration hook that authenticates with an OAuth client secret; an AWS EventBridge and a
/// Splunk Cloud log stream. The id of the token inline hook.
pub(crate) fn seed(org: &mut Org, created: &str) -> String {
    let base = org.base.clone();
    let add = |org: &mut Org, family: Family, body: Value, status: &str| {
        let mut body = body;
        let secret = take_secret(&mut body);
        let prefix = match family {
            Family::Event => "who",
            Family::Inline => "cal",
            Family::Stream => "0oa",
        };
        let id = org.new_id(prefix);
        let mut v = object(&base, family, &id, &body, status, created, created);
        if family == Family::Event {
            v["verificationStatus"] = json!(if status == "ACTIVE" {
                "VERIFIED"
            } else {
                "UNVERIFIED"
            });
        }
        if let Some(secret) = secret {
            org.hooks.secrets.insert(id.clone(), secret);
        }
        family.map_mut(org).insert(id.clone(), v);
        id
    };
    add(
        org,
        Family::Event,
        json!({"name": "User lifecycle to SIEM", "description": "Joiners and leavers for the SIEM",
               "events": {"type": "EVENT_TYPE", "items": ["user.lifecycle.create", "user.lifecycle.deactivate", "user.account.lock"]},
               "channel": {"type": "HTTP", "version": "1.0.0", "config": {
                   "uri": "https://siem.example.com/okta/events",
                   "headers": [{"key": "X-Source", "value": "okta"}],
                   "authScheme": {"type": "HEADER", "key": "Authorization", "value": "Bearer siem-hook-secret-1"}}}}),
        "ACTIVE",
    );
    add(
        org,
        Family::Event,
        json!({"name": "Group changes to HR",
               "events": {"type": "EVENT_TYPE", "items": ["group.user_membership.add", "group.user_membership.remove"]},
               "channel": {"type": "HTTP", "version": "1.0.0", "config": {
                   "uri": "https://hr.example.com/hooks/okta", "headers": []}}}),
        "INACTIVE",
    );
    let token = add(
        org,
        Family::Inline,
        json!({"name": "Token enrichment", "type": "com.okta.oauth2.tokens.transform", "version": "1.0.0",
               "channel": {"type": "HTTP", "version": "1.0.0", "config": {
                   "uri": "https://claims.example.com/okta/token", "headers": [],
                   "authScheme": {"type": "HEADER", "key": "Authorization", "value": "claims-hook-secret-2"}}}}),
        "ACTIVE",
    );
    add(
        org,
        Family::Inline,
        json!({"name": "Registration screening", "type": "com.okta.user.pre-registration", "version": "1.0.0",
               "channel": {"type": "OAUTH", "version": "1.0.0", "config": {
                   "uri": "https://screening.example.com/okta/register", "headers": [],
                   "authType": "client_secret_post", "clientId": "0oascreening",
                   "clientSecret": "screening-client-secret-3",
                   "tokenUrl": "https://screening.example.com/oauth2/token", "scope": "hooks"}}}),
        "INACTIVE",
    );
    add(
        org,
        Family::Stream,
        json!({"name": "SIEM EventBridge", "type": "aws_eventbridge",
               "settings": {"accountId": "123456789012", "eventSourceName": "okta-siem", "region": "us-east-1"}}),
        "ACTIVE",
    );
    add(
        org,
        Family::Stream,
        json!({"name": "Splunk Cloud", "type": "splunk_cloud_logstreaming",
               "settings": {"host": "acme.splunkcloud.com", "edition": "aws",
                            "token": "11111111-1111-2222-2222-222222222222"}}),
        "ACTIVE",
    );
    token
}
