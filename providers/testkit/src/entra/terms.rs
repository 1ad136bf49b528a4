//! Terms of use agreements (`/identityGovernance/termsOfUse/agreements`), as Graph v1.0 serves
//! them: listed with paging and `$select`, created with `POST` (201) from a PDF given in
//! `file.localizations` or `files`, changed with `PATCH` (204) and deleted (204). The PDF is
//! kept apart: an agreement as read never carries it.

use serde_json::{Map, Value, json};

use super::api::{GraphError, GraphRequest, GraphResponse, GraphResult, body_object};
use super::model::Tenant;
use super::read::{list_map, one};

const PATH: [&str; 3] = ["identityGovernance", "termsOfUse", "agreements"];

/// What a client may change of an agreement.
const WRITABLE: &[&str] = &[
    "displayName",
    "isViewingBeforeAcceptanceRequired",
    "isPerDeviceAcceptanceRequired",
    "userReacceptRequiredFrequency",
    "termsExpiration",
];

pub(crate) fn get(t: &Tenant, req: &GraphRequest, s: &[&str]) -> Option<GraphResult> {
    Some(match s.strip_prefix(&PATH[..])? {
        [] => list_map(
            t,
            req,
            t.agreements.iter(),
            "identityGovernance/termsOfUse/agreements",
        ),
        [id] => one(t, req, t.agreements.get(*id), id),
        _ => return None,
    })
}

pub(crate) fn write(t: &mut Tenant, req: &GraphRequest, s: &[&str]) -> Option<GraphResult> {
    Some(match (req.method.as_str(), s.strip_prefix(&PATH[..])?) {
        ("POST", []) => body_object(req).and_then(|b| create(t, b)),
        ("PATCH", [id]) => body_object(req).and_then(|b| patch(t, id, b)),
        ("DELETE", [id]) => t
            .agreements
            .remove(*id)
            .map(|_| GraphResponse::no_content())
            .ok_or_else(|| GraphError::not_found(id)),
        _ => return None,
    })
}

fn check(body: &Map<String, Value>, also: &[&str]) -> Result<(), GraphError> {
    match body
        .keys()
        .find(|k| !WRITABLE.contains(&k.as_str()) && !also.contains(&k.as_str()))
    {
        Some(k) => Err(GraphError::bad_request(format!(
            "Invalid property '{k}' for an agreement."
        ))),
        None => Ok(()),
    }
}

/// Whether the body gives the agreement's PDF: `file.localizations[].fileData.data` or
/// `files[].fileData.data`.
fn has_pdf(body: &Map<String, Value>) -> bool {
    let localizations = body
        .get("file")
        .and_then(|f| f["localizations"].as_array())
        .into_iter()
        .chain(body.get("files").and_then(Value::as_array))
        .flatten();
    localizations.into_iter().any(|l| {
        l["fileData"]["data"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    })
}

fn create(t: &mut Tenant, body: Map<String, Value>) -> GraphResult {
    check(&body, &["file", "files"])?;
    if body.get("displayName").is_none_or(Value::is_null) {
        return Err(GraphError::bad_request(
            "The request body is missing the required property displayName.",
        ));
    }
    if !has_pdf(&body) {
        return Err(GraphError::bad_request(
            "An agreement needs at least one file: give the PDF in file.localizations[].fileData.data.",
        ));
    }
    let id = t.new_id();
    let mut agreement = agreement(&id, "");
    for f in WRITABLE {
        if let Some(v) = body.get(*f) {
            agreement[*f] = v.clone();
        }
    }
    t.agreements.insert(id, agreement.clone());
    Ok(GraphResponse::json(201, agreement))
}

fn patch(t: &mut Tenant, id: &str, body: Map<String, Value>) -> GraphResult {
    check(&body, &[])?;
    let agreement = t
        .agreements
        .get_mut(id)
        .ok_or_else(|| GraphError::not_found(id))?;
    for (k, v) in body {
        agreement[k] = v;
    }
    Ok(GraphResponse::no_content())
}

fn agreement(id: &str, name: &str) -> Value {
    json!({"id": id, "displayName": name, "isViewingBeforeAcceptanceRequired": true,
           "isPerDeviceAcceptanceRequired": false, "userReacceptRequiredFrequency": null,
           "termsExpiration": null})
}

/// Two agreements, one that guests accept every year and that a conditional access policy
/// requires, under fixed ids so that the rest of the seeded tenant stays as it was.
pub(crate) fn seed(t: &mut Tenant) {
    let guests = "7e2a0000-0000-4000-8000-00000000a901";
    let mut a = agreement(guests, "Contoso guest terms");
    a["userReacceptRequiredFrequency"] = json!("P365D");
    t.agreements.insert(guests.into(), a);
    let staff = "7e2a0000-0000-4000-8000-00000000a902";
    t.agreements
        .insert(staff.into(), agreement(staff, "Contoso acceptable use"));
    let requiring = t.ca_policies.values_mut().find(|p| {
        p["grantControls"]["builtInControls"] != json!(["block"])
            && p["grantControls"]["authenticationStrength"].is_null()
    });
    if let Some(p) = requiring {
        p["grantControls"]["termsOfUse"] = json!([guests]);
    }
}

/// Conditional access refuses a policy that requires terms of use that do not exist.
pub(crate) fn check_policy(t: &Tenant, body: &Map<String, Value>) -> Result<(), GraphError> {
    let required = body
        .get("grantControls")
        .and_then(|g| g["termsOfUse"].as_array())
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    for id in required {
        if !t.agreements.contains_key(id) {
            return Err(GraphError::bad_request(format!(
                "The terms of use agreement {id} does not exist."
            )));
        }
    }
    Ok(())
}
