//! The group profile schema (`/api/v1/meta/schemas/group/default`), each app's user schema
//! (`/api/v1/meta/schemas/apps/{appId}/default`) and profile mappings (`/api/v1/mappings`).
//!
//! Schemas are read whole and changed with `POST` of their custom properties (a property set
//! to `null` is removed); base properties are Okta's (or the app's). Okta makes an app's user
//! schema and its two profile mappings (Okta user → app user, app user → Okta user) with the
//! app and removes them with it; mappings are listed with `limit` (20 by default, at most 200),
//! `after`, `sourceId` and `targetId`, read one by one with their `properties`, and updated with
//! `POST /api/v1/mappings/{id}` (properties merged, `null` removing one). A mapping property
//! must name a property of its target's schema.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::Shared;
use super::api::{ApiError, ApiResult, Params, json_body, limit, ok, page};
use super::model::Org;

type S = State<Arc<Shared>>;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/api/v1/meta/schemas/group/default",
            get(group_schema).post(update_group_schema),
        )
        .route(
            "/api/v1/meta/schemas/apps/{id}/default",
            get(app_schema).post(update_app_schema),
        )
        .route("/api/v1/mappings", get(list))
        .route("/api/v1/mappings/{id}", get(one).post(update))
}

/// Custom group attributes of an org in use, custom app user attributes of its SAML apps, and
/// the mappings of every app (which an app gets when it is made).
pub(crate) fn seed(org: &mut Org, in_use: bool) {
    if in_use {
        org.group_schema_custom.insert(
            "costCenter".into(),
            json!({"title": "Cost center", "type": "string", "maxLength": 20,
                   "mutability": "READ_WRITE", "scope": "NONE",
                   "permissions": [{"principal": "SELF", "action": "READ_ONLY"}]}),
        );
        org.group_schema_custom.insert(
            "chatChannel".into(),
            json!({"title": "Chat channel", "type": "string", "mutability": "READ_WRITE",
                   "scope": "NONE", "permissions": [{"principal": "SELF", "action": "READ_ONLY"}]}),
        );
    }
    let saml: Vec<String> = org
        .apps
        .iter()
        .filter(|(_, a)| a["signOnMode"] == "SAML_2_0")
        .map(|(id, _)| id.clone())
        .collect();
    for app in saml {
        let custom = org.app_schema_custom.entry(app).or_default();
        custom.insert(
            "department".into(),
            json!({"title": "Department", "type": "string", "scope": "NONE",
                   "master": {"type": "PROFILE_MASTER"}}),
        );
        custom.insert(
            "role".into(),
            json!({"title": "Role", "type": "string", "scope": "NONE",
                   "enum": ["member", "admin"], "master": {"type": "PROFILE_MASTER"}}),
        );
    }
    sync(org);
    // The SAML apps send the department along.
    let ids: Vec<String> = org.mappings.keys().cloned().collect();
    for id in ids {
        let app = org.mappings[&id]["target"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if org
            .app_schema_custom
            .get(&app)
            .is_some_and(|c| c.contains_key("department"))
        {
            org.mappings.get_mut(&id).expect("a mapping")["properties"]["department"] =
                json!({"expression": "user.department", "pushStatus": "PUSH"});
        }
    }
}

/// Gives every app its two mappings, and drops those of apps that are gone (Okta makes and
/// removes them with their app).
pub(crate) fn sync(org: &mut Org) {
    let apps = &org.apps;
    org.mappings.retain(|_, m| {
        ["source", "target"].iter().all(|side| {
            m[side]["type"] != "appuser"
                || m[side]["id"]
                    .as_str()
                    .is_some_and(|id| apps.contains_key(id))
        })
    });
    let mapped: std::collections::BTreeSet<String> = org
        .mappings
        .values()
        .flat_map(|m| [m["source"]["id"].clone(), m["target"]["id"].clone()])
        .filter_map(|id| id.as_str().map(str::to_string))
        .collect();
    let missing: Vec<(String, String)> = org
        .apps
        .iter()
        .filter(|(id, _)| !mapped.contains(*id))
        .map(|(id, a)| {
            (
                id.clone(),
                a["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let Some(user_type) = org.default_type().cloned() else {
        return;
    };
    let user = json!({"id": user_type, "name": "user", "type": "user"});
    for (app, name) in missing {
        let app_side = json!({"id": app, "name": name, "type": "appuser"});
        let to_app = org.new_id("prm");
        org.mappings.insert(
            to_app.clone(),
            json!({"id": to_app, "source": user, "target": app_side,
                   "properties": {"userName": {"expression": "user.login", "pushStatus": "PUSH"}}}),
        );
        let to_user = org.new_id("prm");
        org.mappings.insert(
            to_user.clone(),
            json!({"id": to_user, "source": app_side, "target": user,
                   "properties": {"firstName": {"expression": "appuser.firstName", "pushStatus": "DONT_PUSH"}}}),
        );
    }
}

fn schema(
    base_id: &str,
    name: &str,
    title: &str,
    base: Value,
    custom: &Map<String, Value>,
) -> Value {
    json!({
        "id": base_id, "$schema": "http://json-schema.org/draft-04/schema#", "name": name,
        "title": title, "type": "object",
        "created": "2024-01-01T00:00:00.000Z", "lastUpdated": "2024-01-01T00:00:00.000Z",
        "definitions": {
            "base": {"id": "#base", "type": "object", "properties": base, "required": []},
            "custom": {"id": "#custom", "type": "object", "properties": custom, "required": []},
        },
        "properties": {"profile": {"allOf": [{"$ref": "#/definitions/custom"}, {"$ref": "#/definitions/base"}]}},
    })
}

fn group_schema_json(org: &Org) -> Value {
    let mut s = schema(
        &format!("{}/meta/schemas/group/default", org.base),
        "group",
        "Okta group",
        json!({
            "name": {"title": "Name", "type": "string", "required": true, "mutability": "READ_WRITE",
                     "scope": "NONE", "maxLength": 255},
            "description": {"title": "Description", "type": "string", "mutability": "READ_WRITE",
                            "scope": "NONE", "maxLength": 1024},
        }),
        &org.group_schema_custom,
    );
    s["description"] = json!("Okta group profile template");
    s["definitions"]["base"]["required"] = json!(["name"]);
    s
}

fn app_schema_json(org: &Org, app: &str) -> Option<Value> {
    let a = org.apps.get(app)?;
    let empty = Map::new();
    let custom = org.app_schema_custom.get(app).unwrap_or(&empty);
    let name = a["name"].as_str().unwrap_or_default();
    Some(schema(
        &format!("{}/meta/schemas/apps/{app}/default", org.base),
        name,
        &format!("{} User", a["label"].as_str().unwrap_or(name)),
        json!({"userName": {"title": "Username", "type": "string", "required": true,
                            "scope": "NONE", "maxLength": 100, "master": {"type": "PROFILE_MASTER"}}}),
        custom,
    ))
}

/// The custom properties of a schema update: each one set, or removed when `null`.
fn apply_custom(custom: &mut Map<String, Value>, body: &Value) -> Result<(), ApiError> {
    let Some(props) = body
        .pointer("/definitions/custom/properties")
        .and_then(Value::as_object)
    else {
        return Err(ApiError::validation(
            "definitions",
            "definitions.custom.properties: The field cannot be left blank",
        ));
    };
    for (name, definition) in props {
        match definition {
            Value::Null => {
                custom.remove(name);
            }
            Value::Object(_) if definition["type"].is_string() => {
                custom.insert(name.clone(), definition.clone());
            }
            _ => {
                return Err(ApiError::validation(
                    "definitions",
                    format!("definitions.custom.properties.{name}: A property needs a type"),
                ));
            }
        }
    }
    Ok(())
}

async fn group_schema(State(s): S) -> ApiResult {
    ok(group_schema_json(&s.read()))
}

async fn update_group_schema(State(s): S, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let mut custom = org.group_schema_custom.clone();
    apply_custom(&mut custom, &body)?;
    org.group_schema_custom = custom;
    ok(group_schema_json(&org))
}

async fn app_schema(State(s): S, Path(app): Path<String>) -> ApiResult {
    let org = s.read();
    app_schema_json(&org, &app).map_or_else(|| Err(ApiError::not_found(&app, "AppInstance")), ok)
}

async fn update_app_schema(State(s): S, Path(app): Path<String>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    if !org.apps.contains_key(&app) {
        return Err(ApiError::not_found(&app, "AppInstance"));
    }
    let mut custom = org.app_schema_custom.get(&app).cloned().unwrap_or_default();
    apply_custom(&mut custom, &body)?;
    org.app_schema_custom.insert(app.clone(), custom);
    app_schema_json(&org, &app).map_or_else(|| Err(ApiError::not_found(&app, "AppInstance")), ok)
}

/// A mapping with its sides' links, without its properties (as the list shows it).
fn listed(org: &Org, m: &Value) -> Value {
    let mut v = m.clone();
    v.as_object_mut().map(|o| o.remove("properties"));
    for side in ["source", "target"] {
        let id = m[side]["id"].as_str().unwrap_or_default();
        let href = if m[side]["type"] == "user" {
            format!("{}/api/v1/meta/types/user/{id}", org.base)
        } else {
            format!("{}/api/v1/apps/{id}", org.base)
        };
        v[side]["_links"] = json!({"self": {"href": href}});
    }
    v["_links"] = json!({"self": {"href": format!("{}/api/v1/mappings/{}", org.base, m["id"].as_str().unwrap_or_default())}});
    v
}

async fn list(State(s): S, Query(p): Query<Params>) -> ApiResult {
    let mut org = s.write();
    sync(&mut org);
    let limit = limit(&p, 20, 200);
    let after = super::read::after(&p);
    let mut out = Vec::new();
    let mut next = None;
    for (_, m) in org
        .mappings
        .range::<str, _>((after, std::ops::Bound::Unbounded))
    {
        let side =
            |name: &str, side: &str| p.get(name).is_none_or(|id| m[side]["id"] == id.as_str());
        if !side("sourceId", "source") || !side("targetId", "target") {
            continue;
        }
        if out.len() == limit {
            next = out
                .last()
                .and_then(|l: &Value| l["id"].as_str().map(str::to_string));
            break;
        }
        out.push(listed(&org, m));
    }
    Ok(page(&org.base, "/api/v1/mappings", &p, limit, out, next))
}

async fn one(State(s): S, Path(id): Path<String>) -> ApiResult {
    let mut org = s.write();
    sync(&mut org);
    let Some(m) = org.mappings.get(&id) else {
        return Err(ApiError::not_found(&id, "ProfileMapping"));
    };
    let mut v = listed(&org, m);
    v["properties"] = m["properties"].clone();
    ok(v)
}

/// The properties the target side's schema defines.
fn target_properties(org: &Org, m: &Value) -> Vec<String> {
    let id = m["target"]["id"].as_str().unwrap_or_default();
    let schema = if m["target"]["type"] == "user" {
        org.type_schemas
            .get(id)
            .and_then(|sid| org.schemas.get(sid))
            .cloned()
    } else {
        app_schema_json(org, id)
    };
    ["base", "custom"]
        .iter()
        .filter_map(|part| {
            schema
                .as_ref()?
                .pointer(&format!("/definitions/{part}/properties"))
                .and_then(Value::as_object)
                .map(|p| p.keys().cloned().collect::<Vec<_>>())
        })
        .flatten()
        .collect()
}

async fn update(State(s): S, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    sync(&mut org);
    let Some(m) = org.mappings.get(&id).cloned() else {
        return Err(ApiError::not_found(&id, "ProfileMapping"));
    };
    let Some(props) = body["properties"].as_object() else {
        return Err(ApiError::validation(
            "properties",
            "properties: The field cannot be left blank",
        ));
    };
    let defined = target_properties(&org, &m);
    let mut properties = m["properties"].as_object().cloned().unwrap_or_default();
    for (name, p) in props {
        if p.is_null() {
            properties.remove(name);
            continue;
        }
        if !defined.contains(name) {
            return Err(ApiError::validation(
                "properties",
                format!("properties.{name}: The target's profile has no property {name}"),
            ));
        }
        if p["expression"].as_str().is_none_or(str::is_empty) {
            return Err(ApiError::validation(
                "properties",
                format!("properties.{name}.expression: The field cannot be left blank"),
            ));
        }
        properties.insert(name.clone(), p.clone());
    }
    let stored = org.mappings.get_mut(&id).expect("checked above");
    stored["properties"] = Value::Object(properties);
    let stored = stored.clone();
    let mut v = listed(&org, &stored);
    v["properties"] = stored["properties"].clone();
    ok(v)
}
