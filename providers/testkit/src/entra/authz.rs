//! The tenant's authorization policy (`/policies/authorizationPolicy`): one object, read with
//! `GET` and changed with `PATCH` (204), never created or deleted.

use serde_json::{Map, Value, json};

use super::api::{
    GraphError, GraphRequest, GraphResponse, GraphResult, body_object, project, select,
};
use super::model::Tenant;

const READ_ONLY: &[&str] = &["id"];

/// A new tenant's authorization policy, as Microsoft sets it.
pub(crate) fn default_policy() -> Value {
    json!({
        "@odata.type": "#microsoft.graph.authorizationPolicy",
        "id": "authorizationPolicy",
        "displayName": "Authorization Policy",
        "description": "Used to manage authorization related settings across the company.",
        "allowInvitesFrom": "everyone",
        "allowedToSignUpEmailBasedSubscriptions": true,
        "allowedToUseSSPR": true,
        "allowEmailVerifiedUsersToJoinOrganization": false,
        "allowUserConsentForRiskyApps": null,
        "blockMsolPowerShell": false,
        "guestUserRoleId": "10dae51f-b6af-4016-8d66-8c2a99b929b3",
        "defaultUserRolePermissions": {
            "allowedToCreateApps": true,
            "allowedToCreateSecurityGroups": true,
            "allowedToCreateTenants": true,
            "allowedToReadBitlockerKeysForOwnedDevice": true,
            "allowedToReadOtherUsers": true,
            "permissionGrantPoliciesAssigned": ["ManagePermissionGrantsForSelf.microsoft-user-default-legacy"]
        }
    })
}

pub(crate) fn get(t: &Tenant, req: &GraphRequest, s: &[&str]) -> Option<GraphResult> {
    match s {
        ["policies", "authorizationPolicy"] => Some(Ok(GraphResponse::json(
            200,
            project(&t.authorization_policy, select(&req.query).as_deref(), None),
        ))),
        _ => None,
    }
}

pub(crate) fn write(t: &mut Tenant, req: &GraphRequest, s: &[&str]) -> Option<GraphResult> {
    match (req.method.as_str(), s) {
        ("PATCH", ["policies", "authorizationPolicy"]) => {
            Some(body_object(req).and_then(|b| patch(t, b)))
        }
        _ => None,
    }
}

fn patch(t: &mut Tenant, body: Map<String, Value>) -> GraphResult {
    for (k, v) in &body {
        if READ_ONLY.contains(&k.as_str()) {
            return Err(GraphError::bad_request(format!(
                "Property {k} is read-only."
            )));
        }
        if t.authorization_policy.get(k).is_none() {
            return Err(GraphError::bad_request(format!(
                "Invalid property '{k}' for an authorizationPolicy."
            )));
        }
        if k == "allowInvitesFrom"
            && !matches!(
                v.as_str(),
                Some(
                    "none"
                        | "adminsAndGuestInviters"
                        | "adminsGuestInvitersAndAllMembers"
                        | "everyone"
                )
            )
        {
            return Err(GraphError::bad_request(format!(
                "Invalid value {v} for allowInvitesFrom."
            )));
        }
    }
    for (k, v) in body {
        match (k.as_str(), v) {
            // A complex property is merged, as Graph merges it.
            ("defaultUserRolePermissions", Value::Object(fields)) => {
                for (f, x) in fields {
                    t.authorization_policy["defaultUserRolePermissions"][f] = x;
                }
            }
            (_, v) => t.authorization_policy[k] = v,
        }
    }
    Ok(GraphResponse::no_content())
}
