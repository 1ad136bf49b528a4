//! Authentication strengths (`/policies/authenticationStrengthPolicies`): Microsoft's three
//! built-in ones, the same ids in every tenant and read-only, and the tenant's custom ones,
//! created with `POST`, renamed with `PATCH`, given other combinations only through
//! `updateAllowedCombinations`, and deleted unless a conditional access policy uses them.

use serde_json::{Map, Value, json};

use super::api::{GraphError, GraphRequest, GraphResponse, GraphResult, body_object};
use super::model::{Tenant, now};
use super::read::{list_map, one};

const PATH: [&str; 2] = ["policies", "authenticationStrengthPolicies"];

/// The built-in strengths: (id, name, combinations).
pub(crate) const BUILT_IN: [(&str, &str, &[&str]); 3] = [
    (
        "00000000-0000-0000-0000-000000000002",
        "Multifactor authentication",
        &[
            "password,microsoftAuthenticatorPush",
            "password,softwareOath",
            "fido2",
            "windowsHelloForBusiness",
        ],
    ),
    (
        "00000000-0000-0000-0000-000000000003",
        "Passwordless MFA",
        &[
            "microsoftAuthenticatorPhoneSignIn",
            "fido2",
            "windowsHelloForBusiness",
        ],
    ),
    (
        "00000000-0000-0000-0000-000000000004",
        "Phishing-resistant MFA",
        &[
            "fido2",
            "windowsHelloForBusiness",
            "x509CertificateMultiFactor",
        ],
    ),
];

/// Every combination Graph knows (authenticationMethodModes) that the emulator accepts.
const MODES: &[&str] = &[
    "password",
    "voice",
    "hardwareOath",
    "softwareOath",
    "sms",
    "fido2",
    "windowsHelloForBusiness",
    "microsoftAuthenticatorPush",
    "deviceBasedPush",
    "temporaryAccessPassOneTime",
    "temporaryAccessPassMultiUse",
    "email",
    "x509CertificateSingleFactor",
    "x509CertificateMultiFactor",
    "federatedSingleFactor",
    "federatedMultiFactor",
    "microsoftAuthenticatorPhoneSignIn",
];

pub(crate) fn strength(
    id: &str,
    name: &str,
    description: &str,
    built_in: bool,
    combinations: &[&str],
) -> Value {
    json!({"id": id, "displayName": name, "description": description,
           "policyType": if built_in { "builtIn" } else { "custom" },
           "requirementsSatisfied": "mfa", "allowedCombinations": combinations,
           "createdDateTime": "2024-01-01T00:00:00Z", "modifiedDateTime": "2024-01-01T00:00:00Z",
           "combinationConfigurations": []})
}

pub(crate) fn get(t: &Tenant, req: &GraphRequest, s: &[&str]) -> Option<GraphResult> {
    let rest = s.strip_prefix(&PATH[..])?;
    Some(match rest {
        [] => list_map(
            t,
            req,
            t.strengths.iter(),
            "policies/authenticationStrengthPolicies",
        ),
        [id] => one(t, req, t.strengths.get(*id), id),
        _ => return None,
    })
}

pub(crate) fn write(t: &mut Tenant, req: &GraphRequest, s: &[&str]) -> Option<GraphResult> {
    let rest = s.strip_prefix(&PATH[..])?;
    Some(match (req.method.as_str(), rest) {
        ("POST", []) => body_object(req).and_then(|b| create(t, b)),
        ("PATCH", [id]) => body_object(req).and_then(|b| patch(t, id, b)),
        ("POST", [id, "updateAllowedCombinations"]) => {
            body_object(req).and_then(|b| combinations(t, id, b))
        }
        ("DELETE", [id]) => delete(t, id),
        _ => return None,
    })
}

fn check_combinations(body: &Map<String, Value>) -> Result<Vec<Value>, GraphError> {
    let combinations = body
        .get("allowedCombinations")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            GraphError::bad_request("allowedCombinations is required and cannot be empty.")
        })?;
    for c in combinations {
        let valid = c
            .as_str()
            .is_some_and(|c| c.split(',').all(|m| MODES.contains(&m)));
        if !valid {
            return Err(GraphError::bad_request(format!(
                "{c} is not a valid authentication method mode combination."
            )));
        }
    }
    Ok(combinations.clone())
}

fn custom<'t>(t: &'t mut Tenant, id: &str) -> Result<&'t mut Value, GraphError> {
    let s = t
        .strengths
        .get_mut(id)
        .ok_or_else(|| GraphError::not_found(id))?;
    if s["policyType"] == "builtIn" {
        return Err(GraphError::bad_request(
            "Built-in authentication strength policies cannot be changed or deleted.",
        ));
    }
    Ok(s)
}

fn name_taken(t: &Tenant, name: &str, except: &str) -> bool {
    t.strengths.iter().any(|(id, s)| {
        id != except
            && s["displayName"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
    })
}

fn create(t: &mut Tenant, body: Map<String, Value>) -> GraphResult {
    let name = body
        .get("displayName")
        .and_then(Value::as_str)
        .ok_or_else(|| GraphError::bad_request("displayName is required."))?
        .to_string();
    let combinations = check_combinations(&body)?;
    if name_taken(t, &name, "") {
        return Err(GraphError::bad_request(format!(
            "An authentication strength policy named {name} already exists."
        )));
    }
    let id = t.new_id();
    let mut s = strength(&id, &name, "", false, &[]);
    s["description"] = body.get("description").cloned().unwrap_or(Value::Null);
    s["allowedCombinations"] = Value::Array(combinations);
    s["createdDateTime"] = json!(now());
    s["modifiedDateTime"] = json!(now());
    t.strengths.insert(id, s.clone());
    Ok(GraphResponse::json(201, s))
}

fn patch(t: &mut Tenant, id: &str, body: Map<String, Value>) -> GraphResult {
    if body.contains_key("allowedCombinations") {
        return Err(GraphError::bad_request(
            "allowedCombinations cannot be changed with PATCH; use updateAllowedCombinations.",
        ));
    }
    if let Some(name) = body.get("displayName").and_then(Value::as_str)
        && name_taken(t, name, id)
    {
        return Err(GraphError::bad_request(format!(
            "An authentication strength policy named {name} already exists."
        )));
    }
    let s = custom(t, id)?;
    for field in ["displayName", "description"] {
        if let Some(v) = body.get(field) {
            s[field] = v.clone();
        }
    }
    s["modifiedDateTime"] = json!(now());
    Ok(GraphResponse::no_content())
}

fn combinations(t: &mut Tenant, id: &str, body: Map<String, Value>) -> GraphResult {
    let combinations = check_combinations(&body)?;
    let s = custom(t, id)?;
    s["allowedCombinations"] = Value::Array(combinations.clone());
    s["modifiedDateTime"] = json!(now());
    Ok(GraphResponse::json(
        200,
        json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.updateAllowedCombinationsResult",
               "additionalInformation": null, "conditionalAccessReferences": [],
               "currentCombinations": combinations, "previousCombinations": []}),
    ))
}

fn delete(t: &mut Tenant, id: &str) -> GraphResult {
    custom(t, id)?;
    if t.ca_policies.values().any(|p| uses(p, id)) {
        return Err(GraphError::bad_request(
            "The authentication strength policy is referenced by one or more conditional access policies and cannot be deleted.",
        ));
    }
    t.strengths.remove(id);
    Ok(GraphResponse::no_content())
}

/// Whether conditional access policy `p` requires strength `id`.
fn uses(p: &Value, id: &str) -> bool {
    p["grantControls"]["authenticationStrength"]["id"] == id
}

/// The strength and the roles a conditional access policy body names exist.
pub(crate) fn check_policy(t: &Tenant, body: &Map<String, Value>) -> Result<(), GraphError> {
    let named = body
        .get("grantControls")
        .and_then(|g| g["authenticationStrength"]["id"].as_str());
    if let Some(id) = named.filter(|id| !t.strengths.contains_key(*id)) {
        return Err(GraphError::bad_request(format!(
            "The authentication strength policy {id} does not exist."
        )));
    }
    let users = body.get("conditions").map(|c| &c["users"]);
    for field in ["includeRoles", "excludeRoles"] {
        let roles = users
            .and_then(|u| u[field].as_array())
            .into_iter()
            .flatten();
        for role in roles.filter_map(Value::as_str) {
            if !t.role_definitions.contains_key(role) {
                return Err(GraphError::bad_request(format!(
                    "The role {role} in {field} does not exist."
                )));
            }
        }
    }
    Ok(())
}

/// The built-in strengths, and in a seeded tenant two custom ones: one required by the first
/// policy that asks for MFA, one unused.
pub(crate) fn seed(t: &mut Tenant, seeded: bool) {
    for (id, name, combinations) in BUILT_IN {
        t.strengths.insert(
            id.to_string(),
            strength(
                id,
                name,
                &format!("{name}, as Microsoft defines it."),
                true,
                combinations,
            ),
        );
    }
    if !seeded {
        return;
    }
    let custom = [
        (
            "e1c0a5f2-7a1b-4c1e-9d00-00000000a5f1",
            "Contoso admins: FIDO2 or Authenticator",
            &["fido2", "password,microsoftAuthenticatorPush"][..],
        ),
        (
            "e1c0a5f2-7a1b-4c1e-9d00-00000000a5f2",
            "Contoso contractors: TAP or OATH",
            &["temporaryAccessPassOneTime", "password,hardwareOath"][..],
        ),
    ];
    for (id, name, combinations) in custom {
        t.strengths.insert(
            id.to_string(),
            strength(id, name, "Defined by Contoso IT.", false, combinations),
        );
    }
    let mfa = t
        .ca_policies
        .values_mut()
        .find(|p| p["grantControls"]["builtInControls"] == json!(["mfa"]));
    if let Some(p) = mfa {
        p["grantControls"] = json!({"operator": "OR", "builtInControls": [], "authenticationStrength": {"id": custom[0].0}});
    }
}
