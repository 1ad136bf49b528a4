//! Identity providers (`/api/v1/idps`) and their signing certificates
//! (`/api/v1/idps/credentials/keys`). IdPs are listed with `limit` (20 by default, at most
//! 200), `after`, `q` (a prefix of the name) and `type`; names are unique; a SAML IdP's
//! `protocol.credentials.trust.kid` must name a key, and a key in use cannot be deleted. An
//! OIDC IdP's client secret is required on create and never returned. Lifecycle operations
//! answer with the IdP, deletes with 204.

use std::ops::Bound::Unbounded;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::Shared;
use super::api::{ApiError, ApiResult, Params, json_body, limit, no_content, ok, page};
use super::model::{Org, ts};
use super::write::set_lifecycle_status;

type S = State<Arc<Shared>>;

const BASE: &str = "/api/v1/idps";
const KEYS: &str = "/api/v1/idps/credentials/keys";

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
        .route(KEYS, get(list_keys).post(create_key))
        .route(&format!("{KEYS}/{{kid}}"), get(one_key).delete(delete_key))
}

/// A self-signed certificate's stand-in: base64 text that differs per subject.
fn certificate(subject: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("-----certificate of {subject}-----"))
}

fn thumbprint(x5c: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(x5c.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

fn key_json(kid: &str, x5c: &str, created: &str) -> Value {
    json!({"kid": kid, "kty": "RSA", "use": "sig", "e": "AQAB",
           "n": format!("modulus-{}", &thumbprint(x5c)[..16]), "x5c": [x5c],
           "x5t#S256": thumbprint(x5c), "created": created, "lastUpdated": created,
           "expiresAt": "2036-01-01T00:00:00.000Z"})
}

/// A SAML IdP with its certificate, referenced by IdP discovery; an OIDC IdP whose
/// just-in-time users land in a group.
pub(crate) fn seed(org: &mut Org, created: &str, group: &str) -> String {
    let kid = org.new_id("kid");
    let x5c = certificate("partner.example.org");
    org.idp_keys
        .insert(kid.clone(), key_json(&kid, &x5c, created));
    let saml = org.new_id("0oa");
    let body = json!({"type": "SAML2", "name": "Partner SAML", "issuerMode": "ORG_URL", "status": "ACTIVE",
        "protocol": {"type": "SAML2",
            "endpoints": {"sso": {"url": "https://idp.partner.example.org/sso", "binding": "HTTP-POST",
                                  "destination": "https://idp.partner.example.org/sso"},
                          "acs": {"binding": "HTTP-POST", "type": "INSTANCE"}},
            "algorithms": {"request": {"signature": {"algorithm": "SHA-256", "scope": "REQUEST"}},
                           "response": {"signature": {"algorithm": "SHA-256", "scope": "ANY"}}},
            "settings": {"nameFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"},
            "credentials": {"trust": {"issuer": "https://idp.partner.example.org", "audience": "https://www.okta.com/saml2/service-provider/partner",
                                      "kid": kid, "revocation": null}}},
        "policy": {"provisioning": {"action": "AUTO", "profileMaster": false,
                                    "groups": {"action": "ASSIGN", "assignments": [group]},
                                    "conditions": {"deprovisioned": {"action": "NONE"}, "suspended": {"action": "NONE"}}},
                   "accountLink": {"filter": null, "action": "AUTO"},
                   "subject": {"userNameTemplate": {"template": "idpuser.subjectNameId"}, "filter": "", "matchType": "USERNAME"},
                   "maxClockSkew": 120000}});
    org.idps
        .insert(saml.clone(), idp_json(&saml, &body, "ACTIVE", created));
    let oidc = org.new_id("0oa");
    let body = json!({"type": "OIDC", "name": "Contractors OIDC", "issuerMode": "ORG_URL",
        "protocol": {"type": "OIDC",
            "endpoints": {"authorization": {"url": "https://login.contractors.example.net/authorize", "binding": "HTTP-REDIRECT"},
                          "token": {"url": "https://login.contractors.example.net/token", "binding": "HTTP-POST"},
                          "userInfo": {"url": "https://login.contractors.example.net/userinfo", "binding": "HTTP-REDIRECT"},
                          "jwks": {"url": "https://login.contractors.example.net/keys", "binding": "HTTP-REDIRECT"}},
            "scopes": ["openid", "profile", "email"],
            "issuer": {"url": "https://login.contractors.example.net"},
            "credentials": {"client": {"client_id": "contractors-okta", "token_endpoint_auth_method": "client_secret_post"}}},
        "policy": {"provisioning": {"action": "AUTO", "profileMaster": false, "groups": {"action": "NONE"},
                                    "conditions": {"deprovisioned": {"action": "NONE"}, "suspended": {"action": "NONE"}}},
                   "accountLink": {"filter": null, "action": "AUTO"},
                   "subject": {"userNameTemplate": {"template": "idpuser.email"}, "matchType": "USERNAME"},
                   "maxClockSkew": 0}});
    org.idps
        .insert(oidc.clone(), idp_json(&oidc, &body, "INACTIVE", created));
    saml
}

fn idp_json(id: &str, body: &Value, status: &str, created: &str) -> Value {
    let mut v = body.clone();
    if let Some(client) = v
        .pointer_mut("/protocol/credentials/client")
        .and_then(Value::as_object_mut)
    {
        client.remove("client_secret");
    }
    v["id"] = json!(id);
    v["status"] = json!(status);
    v["created"] = json!(created);
    v["lastUpdated"] = json!(created);
    v["_links"] = json!({"authorize": {"href": format!("/oauth2/v1/authorize?idp={id}")},
                         "acs": {"href": format!("/sso/saml2/{id}")}});
    v
}

async fn list(State(s): S, Query(p): Query<Params>) -> ApiResult {
    let org = s.read();
    let q = p.get("q").map(|q| q.to_lowercase());
    let limit = limit(&p, 20, 200);
    let mut out = Vec::new();
    let mut next = None;
    for (_, v) in org
        .idps
        .range::<str, _>((super::read::after(&p), Unbounded))
    {
        let named = q.as_ref().is_none_or(|q| {
            v["name"]
                .as_str()
                .is_some_and(|n| n.to_lowercase().starts_with(q))
        });
        let typed = p.get("type").is_none_or(|t| v["type"] == t.as_str());
        if !named || !typed {
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
    org.idps
        .get(&id)
        .cloned()
        .map_or_else(|| Err(ApiError::not_found(&id, "IdentityProvider")), ok)
}

fn validate(org: &Org, body: &Value, except: Option<&str>) -> Result<(), ApiError> {
    let name = body["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        return Err(ApiError::validation(
            "name",
            "name: The field cannot be left blank",
        ));
    }
    if org
        .idps
        .iter()
        .any(|(id, v)| Some(id.as_str()) != except && v["name"] == name)
    {
        return Err(super::write::duplicate("name"));
    }
    match body["type"].as_str() {
        Some("SAML2") => {
            let kid = body
                .pointer("/protocol/credentials/trust/kid")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !org.idp_keys.contains_key(kid) {
                return Err(ApiError::validation(
                    "protocol.credentials.trust.kid",
                    format!("protocol.credentials.trust.kid: Invalid key id {kid}"),
                ));
            }
        }
        Some("OIDC") => {
            let secret = body
                .pointer("/protocol/credentials/client/client_secret")
                .and_then(Value::as_str);
            if except.is_none() && secret.is_none_or(str::is_empty) {
                return Err(ApiError::validation(
                    "protocol.credentials.client.client_secret",
                    "protocol.credentials.client.client_secret: The field cannot be left blank",
                ));
            }
        }
        _ => {
            return Err(ApiError::validation("type", "type: Must be SAML2 or OIDC"));
        }
    }
    for group in body
        .pointer("/policy/provisioning/groups/assignments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let group = group.as_str().unwrap_or_default();
        if !org.groups.contains_key(group) {
            return Err(ApiError::validation(
                "policy.provisioning.groups.assignments",
                format!("policy.provisioning.groups.assignments: Invalid group id {group}"),
            ));
        }
    }
    Ok(())
}

async fn create(State(s): S, Query(p): Query<Params>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    validate(&org, &body, None)?;
    let id = org.new_id("0oa");
    let now = ts(org.write_time());
    let status = if super::api::flag(&p, "activate", true) {
        "ACTIVE"
    } else {
        "INACTIVE"
    };
    let v = idp_json(&id, &body, status, &now);
    org.idps.insert(id, v.clone());
    ok(v)
}

async fn replace(State(s): S, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let current = org
        .idps
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&id, "IdentityProvider"))?;
    validate(&org, &body, Some(&id))?;
    if body["type"] != current["type"] {
        return Err(ApiError::validation(
            "type",
            "type: An identity provider's type cannot be changed",
        ));
    }
    let now = ts(org.write_time());
    let status = current["status"].as_str().unwrap_or("ACTIVE");
    let mut v = idp_json(
        &id,
        &body,
        status,
        current["created"].as_str().unwrap_or(&now),
    );
    v["lastUpdated"] = json!(now);
    org.idps.insert(id, v.clone());
    ok(v)
}

async fn delete(State(s): S, Path(id): Path<String>) -> ApiResult {
    let mut org = s.write();
    org.idps
        .remove(&id)
        .ok_or_else(|| ApiError::not_found(&id, "IdentityProvider"))?;
    no_content()
}

async fn lifecycle(State(s): S, Path((id, action)): Path<(String, String)>) -> ApiResult {
    let mut org = s.write();
    let now = ts(org.write_time());
    let changed =
        set_lifecycle_status(org.idps.get_mut(&id), &id, "IdentityProvider", &action, now)?;
    ok(changed.clone())
}

async fn list_keys(State(s): S, Query(p): Query<Params>) -> ApiResult {
    let org = s.read();
    let limit = limit(&p, 20, 200);
    let mut out: Vec<Value> = Vec::new();
    let mut next = None;
    for (_, v) in org
        .idp_keys
        .range::<str, _>((super::read::after(&p), Unbounded))
    {
        if out.len() == limit {
            next = out
                .last()
                .and_then(|l| l["kid"].as_str().map(str::to_string));
            break;
        }
        out.push(v.clone());
    }
    Ok(page(&org.base, KEYS, &p, limit, out, next))
}

async fn one_key(State(s): S, Path(kid): Path<String>) -> ApiResult {
    let org = s.read();
    org.idp_keys
        .get(&kid)
        .cloned()
        .map_or_else(|| Err(ApiError::not_found(&kid, "IdpCredential")), ok)
}

async fn create_key(State(s): S, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let Some(x5c) = body["x5c"]
        .as_array()
        .and_then(|c| c.first())
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return Err(ApiError::validation(
            "x5c",
            "x5c: The field cannot be left blank",
        ));
    };
    let mut org = s.write();
    let kid = org.new_id("kid");
    let now = ts(org.write_time());
    let v = key_json(&kid, &x5c, &now);
    org.idp_keys.insert(kid, v.clone());
    ok(v)
}

async fn delete_key(State(s): S, Path(kid): Path<String>) -> ApiResult {
    let mut org = s.write();
    if !org.idp_keys.contains_key(&kid) {
        return Err(ApiError::not_found(&kid, "IdpCredential"));
    }
    let in_use = org.idps.values().any(|i| {
        i.pointer("/protocol/credentials/trust/kid")
            .and_then(Value::as_str)
            == Some(kid.as_str())
    });
    if in_use {
        return Err(ApiError::validation(
            "kid",
            "kid: The key is used by an identity provider and cannot be deleted",
        ));
    }
    org.idp_keys.remove(&kid);
    no_content()
}
