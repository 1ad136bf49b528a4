//! The cross-tenant access policy (`/policies/crossTenantAccessPolicy`): its default settings,
//! read with `GET` and changed with `PATCH` (204), never created or deleted, and the partner
//! configurations keyed by the partner's tenant id, created with `POST` (201), changed with
//! `PATCH` and removed with `DELETE` (204), as Graph v1.0 serves them.

use serde_json::{Map, Value, json};

use super::api::{GraphError, GraphRequest, GraphResponse, GraphResult, body_object, page};
use super::model::Tenant;
use super::read::one;

const ROOT: [&str; 2] = ["policies", "crossTenantAccessPolicy"];

/// The partner organisations the seeded tenant works with: (tenant id, domain). Its guests
/// come from them.
pub(crate) const PARTNERS: [(&str, &str); 3] = [
    ("4f3c2b1a-0000-4000-8000-0000000fab01", "fabrikam.com"),
    ("4f3c2b1a-0000-4000-8000-0000000a7a02", "adatum.com"),
    (
        "4f3c2b1a-0000-4000-8000-00000000de03",
        "northwindtraders.com",
    ),
];

/// Settings that allow everything, as Microsoft sets them in a new tenant.
fn allow_all() -> Value {
    json!({"usersAndGroups": {"accessType": "allowed", "targets": [{"target": "AllUsers", "targetType": "user"}]},
           "applications": {"accessType": "allowed", "targets": [{"target": "AllApplications", "targetType": "application"}]}})
}

fn block_all() -> Value {
    json!({"usersAndGroups": {"accessType": "blocked", "targets": [{"target": "AllUsers", "targetType": "user"}]},
           "applications": {"accessType": "blocked", "targets": [{"target": "AllApplications", "targetType": "application"}]}})
}

/// A new tenant's default settings: B2B collaboration allowed both ways, B2B direct connect
/// blocked, no trust of other tenants' MFA or device claims.
pub(crate) fn default_policy() -> Value {
    json!({
        "@odata.type": "#microsoft.graph.crossTenantAccessPolicyConfigurationDefault",
        "isServiceDefault": true,
        "b2bCollaborationInbound": allow_all(),
        "b2bCollaborationOutbound": allow_all(),
        "b2bDirectConnectInbound": block_all(),
        "b2bDirectConnectOutbound": block_all(),
        "inboundTrust": {"isMfaAccepted": false, "isCompliantDeviceAccepted": false, "isHybridAzureADJoinedDeviceAccepted": false},
        "automaticUserConsentSettings": {"inboundAllowed": false, "outboundAllowed": false},
        "invitationRedemptionIdentityProviderConfiguration": {
            "primaryIdentityProviderPrecedenceOrder": ["externalFederation", "azureActiveDirectory", "socialIdentityProviders"],
            "fallbackIdentityProvider": "defaultConfiguredIdp"
        },
        "tenantRestrictions": null
    })
}

/// Properties of a partner configuration a client may write (besides `tenantId`, on creation).
const PARTNER_FIELDS: &[&str] = &[
    "b2bCollaborationInbound",
    "b2bCollaborationOutbound",
    "b2bDirectConnectInbound",
    "b2bDirectConnectOutbound",
    "inboundTrust",
    "automaticUserConsentSettings",
    "tenantRestrictions",
    "isServiceProvider",
];

pub(crate) fn get(t: &Tenant, req: &GraphRequest, s: &[&str]) -> Option<GraphResult> {
    Some(match s.strip_prefix(&ROOT[..])? {
        ["default"] => one(t, req, Some(&t.cross_tenant_default), "default"),
        // Graph answers the partners in one page: a tenant has a few of them.
        ["partners"] => {
            let values: Vec<&Value> = t.cross_tenant_partners.values().collect();
            Ok(page(
                &t.base,
                req,
                "policies/crossTenantAccessPolicy/partners",
                values,
                None,
            ))
        }
        ["partners", id] => one(t, req, t.cross_tenant_partners.get(*id), id),
        _ => return None,
    })
}

pub(crate) fn write(t: &mut Tenant, req: &GraphRequest, s: &[&str]) -> Option<GraphResult> {
    let rest = s.strip_prefix(&ROOT[..])?;
    Some(match (req.method.as_str(), rest) {
        ("PATCH", ["default"]) => body_object(req).and_then(|b| patch_default(t, b)),
        ("POST", ["partners"]) => body_object(req).and_then(|b| create_partner(t, b)),
        ("PATCH", ["partners", id]) => body_object(req).and_then(|b| patch_partner(t, id, b)),
        ("DELETE", ["partners", id]) => t
            .cross_tenant_partners
            .remove(*id)
            .map(|_| GraphResponse::no_content())
            .ok_or_else(|| GraphError::not_found(id)),
        _ => return None,
    })
}

fn check(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), GraphError> {
    match body.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(GraphError::bad_request(format!(
            "Invalid property '{k}' for a cross-tenant access policy configuration."
        ))),
        None => Ok(()),
    }
}

fn merge(target: &mut Value, body: Map<String, Value>) {
    for (k, v) in body {
        target[k] = v;
    }
}

fn patch_default(t: &mut Tenant, body: Map<String, Value>) -> GraphResult {
    let mut allowed = PARTNER_FIELDS.to_vec();
    allowed.retain(|f| *f != "isServiceProvider");
    allowed.push("invitationRedemptionIdentityProviderConfiguration");
    check(&body, &allowed)?;
    merge(&mut t.cross_tenant_default, body);
    // A default changed from Microsoft's is no longer the service default.
    t.cross_tenant_default["isServiceDefault"] = Value::Bool(false);
    Ok(GraphResponse::no_content())
}

fn create_partner(t: &mut Tenant, mut body: Map<String, Value>) -> GraphResult {
    let tenant_id = body
        .remove("tenantId")
        .and_then(|v| v.as_str().map(str::to_string))
        .filter(|id| !id.is_empty())
        .ok_or_else(|| GraphError::bad_request("The tenantId property is required."))?;
    check(&body, PARTNER_FIELDS)?;
    if t.cross_tenant_partners.contains_key(&tenant_id) {
        return Err(GraphError::new(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            format!("A partner configuration for tenant {tenant_id} already exists."),
        ));
    }
    let mut partner = partner(&tenant_id);
    merge(&mut partner, body);
    t.cross_tenant_partners.insert(tenant_id, partner.clone());
    Ok(GraphResponse::json(201, partner))
}

fn patch_partner(t: &mut Tenant, id: &str, body: Map<String, Value>) -> GraphResult {
    check(&body, PARTNER_FIELDS)?;
    let partner = t
        .cross_tenant_partners
        .get_mut(id)
        .ok_or_else(|| GraphError::not_found(id))?;
    merge(partner, body);
    Ok(GraphResponse::no_content())
}

/// A partner configuration that inherits every setting from the default (nulls).
fn partner(tenant_id: &str) -> Value {
    json!({"@odata.type": "#microsoft.graph.crossTenantAccessPolicyConfigurationPartner",
           "tenantId": tenant_id, "isServiceProvider": false, "isInMultiTenantOrganization": false,
           "b2bCollaborationInbound": null, "b2bCollaborationOutbound": null,
           "b2bDirectConnectInbound": null, "b2bDirectConnectOutbound": null,
           "inboundTrust": null, "automaticUserConsentSettings": null, "tenantRestrictions": null})
}

/// The partners the guests come from: MFA done at the first is trusted, the second may use
/// B2B direct connect (Teams shared channels) both ways, the third only inherits the default.
pub(crate) fn seed(t: &mut Tenant) {
    for (n, (tenant_id, _)) in PARTNERS.iter().enumerate() {
        let mut p = partner(tenant_id);
        match n {
            0 => {
                p["inboundTrust"] = json!({"isMfaAccepted": true, "isCompliantDeviceAccepted": true, "isHybridAzureADJoinedDeviceAccepted": false});
            }
            1 => {
                p["b2bDirectConnectInbound"] = allow_all();
                p["b2bDirectConnectOutbound"] = allow_all();
            }
            _ => {}
        }
        t.cross_tenant_partners.insert(tenant_id.to_string(), p);
    }
}
