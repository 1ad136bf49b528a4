//! Authenticators (`/api/v1/authenticators`): what people sign in and enrol with. Listed whole
//! (the reference takes no paging parameters), read, replaced (`name`, `settings` and
//! `provider`; `key` and `type` never change), activated and deactivated; created for a key the
//! org does not have yet (`POST …?activate=`), never deleted. Okta refuses to deactivate an
//! authenticator an active authenticator enrollment policy (`MFA_ENROLL`) lets people enrol
//! (403 `E0000148`), and the password authenticator altogether. A provider's secrets (Duo's
//! `secretKey`, a RADIUS `sharedSecret`) are required to create one and never returned.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::Shared;
use super::api::{ApiError, ApiResult, Params, flag, json_body, ok};
use super::model::{Org, ts};

type S = State<Arc<Shared>>;

const BASE: &str = "/api/v1/authenticators";

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route(&format!("{BASE}/{{id}}"), get(one).put(replace))
        .route(
            &format!("{BASE}/{{id}}/lifecycle/{{action}}"),
            post(lifecycle),
        )
}

/// Every key the reference names, with the authenticator's `type` and default name.
const KEYS: &[(&str, &str, &str)] = &[
    ("okta_password", "password", "Password"),
    ("okta_email", "email", "Email"),
    ("phone_number", "phone", "Phone"),
    ("okta_verify", "app", "Okta Verify"),
    ("webauthn", "security_key", "Security Key or Biometric"),
    (
        "security_question",
        "security_question",
        "Security Question",
    ),
    ("google_otp", "app", "Google Authenticator"),
    ("duo", "app", "Duo Security"),
    ("onprem_mfa", "security_key", "On-Prem MFA"),
    ("rsa_token", "security_key", "RSA SecurID"),
    ("symantec_vip", "app", "Symantec VIP"),
    ("yubikey_token", "security_key", "YubiKey"),
    ("external_idp", "federated", "IdP Authenticator"),
    ("custom_otp", "security_key", "Custom OTP"),
    ("custom_app", "app", "Custom App"),
    ("smart_card_idp", "federated", "Smart Card"),
];

/// Keys that can exist more than once (each with its own name).
const REPEATABLE: &[&str] = &["custom_otp", "custom_app"];

/// Provider configuration fields that are secrets: required on create, never returned.
const SECRETS: &[&str] = &["secretKey", "sharedSecret"];

/// What every org has: password, email, Okta Verify, and phone (inactive until set up). An
/// org in use has turned on phone and added WebAuthn, security questions, Google
/// Authenticator (inactive) and Duo.
pub(crate) fn seed(org: &mut Org, in_use: bool, created: &str) {
    let add = |org: &mut Org, key: &str, status: &str, settings: Value, provider: Value| {
        let id = org.new_id("aut");
        let (_, kind, name) = KEYS.iter().find(|(k, _, _)| *k == key).expect("a key");
        let body = json!({"key": key, "name": name, "settings": settings, "provider": provider});
        let v = authenticator_json(&id, kind, &body, status, created);
        org.authenticators.insert(id, v);
    };
    add(org, "okta_password", "ACTIVE", Value::Null, Value::Null);
    add(
        org,
        "okta_email",
        "ACTIVE",
        json!({"allowedFor": "any", "tokenLifetimeInMinutes": 5}),
        Value::Null,
    );
    add(
        org,
        "okta_verify",
        "ACTIVE",
        json!({"channelBinding": {"required": "ALWAYS", "style": "NUMBER_CHALLENGE"},
               "compliance": {"fips": "OPTIONAL"}, "userVerification": "PREFERRED",
               "enrollmentSecurityLevel": "HIGH", "userVerificationMethods": ["BIOMETRICS"]}),
        Value::Null,
    );
    if !in_use {
        add(
            org,
            "phone_number",
            "INACTIVE",
            json!({"allowedFor": "none"}),
            Value::Null,
        );
        return;
    }
    add(
        org,
        "phone_number",
        "ACTIVE",
        json!({"allowedFor": "authentication"}),
        Value::Null,
    );
    add(
        org,
        "webauthn",
        "ACTIVE",
        json!({"userVerification": "PREFERRED", "attachment": "ANY"}),
        Value::Null,
    );
    add(
        org,
        "security_question",
        "ACTIVE",
        json!({"allowedFor": "recovery"}),
        Value::Null,
    );
    add(org, "google_otp", "INACTIVE", Value::Null, Value::Null);
    add(
        org,
        "duo",
        "ACTIVE",
        Value::Null,
        json!({"type": "DUO", "configuration": {"host": "api-4b2a9c1e.duosecurity.com",
               "integrationKey": "DIX3QK5TS1EXAMPLE0Q2", "secretKey": "duo-secret-never-returned",
               "userNameTemplate": {"template": "oktaId"}}}),
    );
}

/// An authenticator as Okta returns it: its links name what may be done with it.
fn authenticator_json(id: &str, kind: &str, body: &Value, status: &str, created: &str) -> Value {
    let mut v = json!({"type": kind, "id": id, "key": body["key"], "status": status,
                       "name": body["name"], "created": created, "lastUpdated": created});
    if body["settings"].is_object() {
        v["settings"] = body["settings"].clone();
    }
    if body["provider"].is_object() {
        v["provider"] = body["provider"].clone();
    }
    v["_links"] = links(id, status);
    v
}

fn links(id: &str, status: &str) -> Value {
    let action = if status == "ACTIVE" {
        "deactivate"
    } else {
        "activate"
    };
    let mut links = json!({"self": {"href": format!("{BASE}/{id}"), "hints": {"allow": ["GET", "PUT"]}},
           "methods": {"href": format!("{BASE}/{id}/methods"), "hints": {"allow": ["GET"]}}});
    links[action] =
        json!({"href": format!("{BASE}/{id}/lifecycle/{action}"), "hints": {"allow": ["POST"]}});
    links
}

/// What the API shows of a stored authenticator: never a provider's secret.
fn shown(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(config) = v
        .pointer_mut("/provider/configuration")
        .and_then(Value::as_object_mut)
    {
        for secret in SECRETS {
            config.remove(*secret);
        }
    }
    v
}

async fn list(State(s): S) -> ApiResult {
    let org = s.read();
    ok(Value::Array(
        org.authenticators.values().map(shown).collect(),
    ))
}

async fn one(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    org.authenticators
        .get(&id)
        .map(shown)
        .map_or_else(|| Err(ApiError::not_found(&id, "Authenticator")), ok)
}

fn provider_secret_missing(key: &str, body: &Value) -> Option<ApiError> {
    let needs = match key {
        "duo" => "secretKey",
        "onprem_mfa" | "rsa_token" => "sharedSecret",
        _ => return None,
    };
    let given = body
        .pointer(&format!("/provider/configuration/{needs}"))
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty());
    (!given).then(|| {
        ApiError::validation(
            "provider",
            format!("provider.configuration.{needs}: The field cannot be left blank"),
        )
    })
}

async fn create(State(s): S, Query(p): Query<Params>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let key = body["key"].as_str().unwrap_or_default().to_string();
    let Some((_, kind, default_name)) = KEYS.iter().find(|(k, _, _)| *k == key) else {
        return Err(ApiError::validation(
            "key",
            format!("key: '{key}' is not a valid authenticator key"),
        ));
    };
    if key == "okta_password" {
        return Err(ApiError::validation(
            "key",
            "key: Every org has its password authenticator; it cannot be created",
        ));
    }
    let name = body["name"].as_str().unwrap_or(default_name).to_string();
    let exists = org.authenticators.values().any(|a| {
        a["key"] == key.as_str() && (!REPEATABLE.contains(&key.as_str()) || a["name"] == name)
    });
    if exists {
        return Err(super::write::duplicate("key"));
    }
    if let Some(e) = provider_secret_missing(&key, &body) {
        return Err(e);
    }
    let id = org.new_id("aut");
    let now = ts(org.write_time());
    let status = if flag(&p, "activate", true) {
        "ACTIVE"
    } else {
        "INACTIVE"
    };
    let mut body = body.clone();
    body["name"] = json!(name);
    let v = authenticator_json(&id, kind, &body, status, &now);
    org.authenticators.insert(id, v.clone());
    ok(shown(&v))
}

async fn replace(State(s): S, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let now = ts(org.write_time());
    let current = org
        .authenticators
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(&id, "Authenticator"))?;
    if body["name"].as_str().is_none_or(str::is_empty) {
        return Err(ApiError::validation(
            "name",
            "name: The field cannot be left blank",
        ));
    }
    for field in ["key", "type"] {
        if body.get(field).is_some_and(|v| *v != current[field]) {
            return Err(ApiError::validation(
                field,
                format!("{field}: An authenticator's {field} cannot be changed"),
            ));
        }
    }
    current["name"] = body["name"].clone();
    match &body["settings"] {
        Value::Object(_) => current["settings"] = body["settings"].clone(),
        _ => {
            current.as_object_mut().map(|m| m.remove("settings"));
        }
    }
    if let Some(provider) = body.get("provider").filter(|p| p.is_object()) {
        // Secrets not sent are kept: the API never shows them, so a client cannot send them
        // back.
        let mut provider = provider.clone();
        for secret in SECRETS {
            let kept = current
                .pointer(&format!("/provider/configuration/{secret}"))
                .cloned();
            if let (Some(kept), Some(config)) = (
                kept,
                provider
                    .get_mut("configuration")
                    .and_then(Value::as_object_mut),
            ) {
                config.entry(secret.to_string()).or_insert(kept);
            }
        }
        current["provider"] = provider;
    }
    current["lastUpdated"] = json!(now);
    let v = shown(current);
    ok(v)
}

/// The names of the active authenticator enrollment policies that let people enrol with
/// authenticator `key`.
pub(crate) fn enrolling_policies(org: &Org, key: &str) -> Vec<String> {
    org.policies
        .values()
        .filter(|p| p["type"] == "MFA_ENROLL" && p["status"] == "ACTIVE")
        .filter(|p| {
            p.pointer("/settings/authenticators")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|a| {
                    a["key"] == key && a.pointer("/enroll/self") != Some(&json!("NOT_ALLOWED"))
                })
        })
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect()
}

/// Why an authenticator enrollment policy's `settings.authenticators` cannot be saved: it lets
/// people enrol with an authenticator the org does not have active.
pub(crate) fn check_enrollment(org: &Org, policy: &Value) -> Result<(), ApiError> {
    if policy["type"] != "MFA_ENROLL" {
        return Ok(());
    }
    for a in policy
        .pointer("/settings/authenticators")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = a["key"].as_str().unwrap_or_default();
        if a.pointer("/enroll/self") == Some(&json!("NOT_ALLOWED")) {
            continue;
        }
        let active = org
            .authenticators
            .values()
            .any(|v| v["key"] == key && v["status"] == "ACTIVE");
        if !active {
            return Err(ApiError::validation(
                "settings.authenticators",
                format!(
                    "settings.authenticators: The authenticator {key} is not active in this org"
                ),
            ));
        }
    }
    Ok(())
}

/// Why an app sign-in policy rule cannot be saved: its verification method's constraints name
/// an authenticator by an id the org does not have.
pub(crate) fn check_constraints(org: &Org, rule: &Value) -> Result<(), ApiError> {
    let Some(constraints) = rule.pointer("/actions/appSignOn/verificationMethod/constraints")
    else {
        return Ok(());
    };
    let mut ids = Vec::new();
    collect_ids(constraints, &mut ids);
    for id in ids {
        if !org.authenticators.contains_key(&id) {
            return Err(ApiError::validation(
                "actions.appSignOn.verificationMethod.constraints",
                format!(
                    "actions.appSignOn.verificationMethod.constraints: Invalid authenticator id {id}"
                ),
            ));
        }
    }
    Ok(())
}

/// The `id`s of the objects that also name an authenticator `key`, anywhere in `v`.
fn collect_ids(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let (Some(Value::String(id)), Some(Value::String(_))) =
                (map.get("id"), map.get("key"))
            {
                out.push(id.clone());
            }
            map.values().for_each(|v| collect_ids(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_ids(v, out)),
        _ => {}
    }
}

async fn lifecycle(State(s): S, Path((id, action)): Path<(String, String)>) -> ApiResult {
    let mut org = s.write();
    let now = ts(org.write_time());
    let Some(current) = org.authenticators.get(&id) else {
        return Err(ApiError::not_found(&id, "Authenticator"));
    };
    let key = current["key"].as_str().unwrap_or_default().to_string();
    let status = match action.as_str() {
        "activate" => "ACTIVE",
        "deactivate" => {
            if key == "okta_password" {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "E0000001",
                    "Api validation failed: The password authenticator cannot be deactivated",
                ));
            }
            let using = enrolling_policies(&org, &key);
            if !using.is_empty() {
                let mut e = ApiError::new(
                    StatusCode::FORBIDDEN,
                    "E0000148",
                    "Cannot disable this authenticator because it is enabled in one or more policies. To continue, disable the authenticator in these policies.",
                );
                e.causes = vec![format!(
                    "Authenticator Enrollment Policies: {}",
                    using.join(", ")
                )];
                return Err(e);
            }
            "INACTIVE"
        }
        other => return Err(ApiError::not_found(other, "Lifecycle operation")),
    };
    let current = org.authenticators.get_mut(&id).expect("checked above");
    current["status"] = json!(status);
    current["lastUpdated"] = json!(now);
    current["_links"] = links(&id, status);
    let v = shown(current);
    ok(v)
}
