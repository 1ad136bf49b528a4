//! Federated identity credentials of applications (`/applications/{id}/federatedIdentityCredentials`):
//! listed with paging, created, updated and deleted as Graph v1.0 does; the name is unique
//! within an application and cannot be changed.

use serde_json::{Map, Value, json};

use super::api::{GraphError, GraphRequest, GraphResponse, GraphResult, body_object};
use super::model::{APPLICATIONS, Tenant};
use super::read::{list_values, one, resolve};

const SEGMENT: &str = "federatedIdentityCredentials";

pub(crate) fn get(t: &Tenant, req: &GraphRequest, s: &[&str]) -> Option<GraphResult> {
    match s {
        [APPLICATIONS, app, SEGMENT] => Some(resolve(t, APPLICATIONS, app).and_then(|app| {
            let items = t
                .federated
                .get(&app)
                .map(|m| m.iter().collect())
                .unwrap_or_default();
            list_values(
                t,
                req,
                items,
                &format!("applications('{app}')/federatedIdentityCredentials"),
            )
        })),
        [APPLICATIONS, app, SEGMENT, fid] => Some(
            resolve(t, APPLICATIONS, app)
                .and_then(|app| one(t, req, t.federated.get(&app).and_then(|m| m.get(*fid)), fid)),
        ),
        _ => None,
    }
}

pub(crate) fn write(t: &mut Tenant, req: &GraphRequest, s: &[&str]) -> Option<GraphResult> {
    let result = match (req.method.as_str(), s) {
        ("POST", [APPLICATIONS, app, SEGMENT]) => body_object(req).and_then(|b| create(t, app, b)),
        ("PATCH", [APPLICATIONS, app, SEGMENT, fid]) => {
            body_object(req).and_then(|b| update(t, app, fid, b))
        }
        ("DELETE", [APPLICATIONS, app, SEGMENT, fid]) => {
            resolve(t, APPLICATIONS, app).and_then(|app| {
                t.federated
                    .get_mut(&app)
                    .and_then(|m| m.remove(*fid))
                    .map(|_| GraphResponse::no_content())
                    .ok_or_else(|| GraphError::not_found(fid))
            })
        }
        _ => return None,
    };
    Some(result)
}

const FIELDS: [&str; 5] = ["name", "issuer", "subject", "audiences", "description"];

fn create(t: &mut Tenant, app: &str, body: Map<String, Value>) -> GraphResult {
    let app = resolve(t, APPLICATIONS, app)?;
    for f in ["name", "issuer", "subject", "audiences"] {
        if body.get(f).is_none_or(Value::is_null) {
            return Err(GraphError::bad_request(format!(
                "The request body is missing the required property {f}."
            )));
        }
    }
    let name = body["name"].as_str().unwrap_or_default().to_string();
    if t.federated
        .get(&app)
        .is_some_and(|m| m.values().any(|f| f["name"] == name.as_str()))
    {
        return Err(GraphError::conflict_property("name"));
    }
    let id = t.new_id();
    let mut fic = json!({"id": id, "description": null});
    for f in FIELDS {
        if let Some(v) = body.get(f) {
            fic[f] = v.clone();
        }
    }
    t.federated.entry(app).or_default().insert(id, fic.clone());
    Ok(GraphResponse::json(201, fic))
}

fn update(t: &mut Tenant, app: &str, fid: &str, body: Map<String, Value>) -> GraphResult {
    let app = resolve(t, APPLICATIONS, app)?;
    let fic = t
        .federated
        .get_mut(&app)
        .and_then(|m| m.get_mut(fid))
        .ok_or_else(|| GraphError::not_found(fid))?;
    if body.get("name").is_some_and(|n| *n != fic["name"]) {
        return Err(GraphError::bad_request(
            "The name of a federated identity credential cannot be changed.",
        ));
    }
    for f in FIELDS {
        if let Some(v) = body.get(f) {
            fic[f] = v.clone();
        }
    }
    Ok(GraphResponse::no_content())
}

/// Two credentials a CI pipeline signs in with, under fixed ids so that the rest of the
/// seeded tenant stays as it was.
pub(crate) fn seed(t: &mut Tenant, app: &str) {
    let set = t.federated.entry(app.to_string()).or_default();
    let issuer = "https://token.actions.githubusercontent.com";
    for (n, subject) in [
        "repo:contoso/web:environment:production",
        "repo:contoso/web:ref:refs/heads/main",
    ]
    .into_iter()
    .enumerate()
    {
        let fid = format!("f1c0a000-0000-4000-8000-{n:012}");
        set.insert(
            fid.clone(),
            json!({"id": fid, "name": format!("github-{n}"), "issuer": issuer, "subject": subject,
                   "audiences": ["api://AzureADTokenExchange"], "description": format!("Deployments from {subject}")}),
        );
    }
}
