//! PIM settings of directory roles: one role management policy per role definition
//! (`/policies/roleManagementPolicies`, scope `/`, type `DirectoryRole`), found through
//! `/policies/roleManagementPolicyAssignments` (`$filter` on scopeId and scopeType required, as
//! Graph requires it; `$expand=policy($expand=rules)`), its rules changed one at a time with
//! `PATCH …/rules/{ruleId}` (204). A policy exists while its role does; a new custom role gets
//! Microsoft's default rules.

use serde_json::{Map, Value, json};

use super::api::{GraphError, GraphRequest, GraphResponse, GraphResult, body_object};
use super::model::Tenant;
use super::read::{list_values, one};

const POLICIES: [&str; 2] = ["policies", "roleManagementPolicies"];
const ASSIGNMENTS: [&str; 2] = ["policies", "roleManagementPolicyAssignments"];

fn target(caller: &str, level: &str) -> Value {
    json!({"caller": caller, "operations": ["All"], "level": level,
           "inheritableSettings": [], "enforcedSettings": []})
}

/// Microsoft's default rules of a directory role: activation for at most 8 hours with MFA and
/// a justification, no approval; eligibility and assignments without a required end.
pub(crate) fn default_rules() -> Vec<Value> {
    vec![
        json!({"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule", "id": "Approval_EndUser_Assignment",
               "target": target("EndUser", "Assignment"),
               "setting": {"isApprovalRequired": false, "isApprovalRequiredForExtension": false,
                           "isRequestorJustificationRequired": true, "approvalMode": "SingleStage", "approvalStages": []}}),
        json!({"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule", "id": "Enablement_EndUser_Assignment",
               "target": target("EndUser", "Assignment"), "enabledRules": ["MultiFactorAuthentication", "Justification"]}),
        json!({"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule", "id": "Expiration_Admin_Assignment",
               "target": target("Admin", "Assignment"), "isExpirationRequired": false, "maximumDuration": "P180D"}),
        json!({"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule", "id": "Expiration_Admin_Eligibility",
               "target": target("Admin", "Eligibility"), "isExpirationRequired": false, "maximumDuration": "P365D"}),
        json!({"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule", "id": "Expiration_EndUser_Assignment",
               "target": target("EndUser", "Assignment"), "isExpirationRequired": true, "maximumDuration": "PT8H"}),
    ]
}

fn policy_id(t: &Tenant, role: &str) -> String {
    format!("DirectoryRole_{}_{role}", t.tenant_id)
}

/// The role whose policy has this id, if that role exists.
fn role_of<'a>(t: &Tenant, policy: &'a str) -> Option<&'a str> {
    let role = policy.strip_prefix(&format!("DirectoryRole_{}_", t.tenant_id))?;
    t.role_definitions.contains_key(role).then_some(role)
}

fn rules(t: &Tenant, role: &str) -> Vec<Value> {
    t.role_policy_rules
        .get(role)
        .cloned()
        .unwrap_or_else(default_rules)
}

fn policy(t: &Tenant, role: &str, with_rules: bool) -> Value {
    let mut p = json!({"id": policy_id(t, role), "displayName": "DirectoryRole", "description": "DirectoryRole",
                       "isOrganizationDefault": false, "scopeId": "/", "scopeType": "DirectoryRole",
                       "lastModifiedDateTime": null});
    if with_rules {
        p["rules"] = Value::Array(rules(t, role));
    }
    p
}

/// Graph answers role management policies only for a scope given in `$filter`.
fn require_scope(req: &GraphRequest) -> Result<(), GraphError> {
    let f = req.query.get("$filter").map(String::as_str).unwrap_or("");
    if f.contains("scopeId eq") && f.contains("scopeType eq") {
        Ok(())
    } else {
        Err(GraphError::bad_request(
            "The filter must include scopeId and scopeType.",
        ))
    }
}

fn expand(req: &GraphRequest, allowed: &[&str]) -> Result<Option<String>, GraphError> {
    match req.query.get("$expand") {
        None => Ok(None),
        Some(e) if allowed.contains(&e.as_str()) => Ok(Some(e.clone())),
        Some(e) => Err(GraphError::bad_request(format!(
            "Parsing OData Select and Expand failed: could not expand '{e}'."
        ))),
    }
}

pub(crate) fn get(t: &Tenant, req: &GraphRequest, s: &[&str]) -> Option<GraphResult> {
    if s == ASSIGNMENTS {
        return Some(assignments(t, req));
    }
    let rest = s.strip_prefix(&POLICIES[..])?;
    Some((|| match rest {
        [] => {
            require_scope(req)?;
            let with_rules = expand(req, &["rules"])?.is_some();
            let items: Vec<(String, Value)> = t
                .role_definitions
                .keys()
                .map(|r| (policy_id(t, r), policy(t, r, with_rules)))
                .collect();
            let borrowed = items.iter().map(|(k, v)| (k, v)).collect();
            list_values(t, req, borrowed, "policies/roleManagementPolicies")
        }
        [id] => {
            let with_rules = expand(req, &["rules"])?.is_some();
            let p = role_of(t, id).map(|r| policy(t, r, with_rules));
            one(t, req, p.as_ref(), id)
        }
        [id, "rules"] => {
            let role = role_of(t, id).ok_or_else(|| GraphError::not_found(id))?;
            let items: Vec<(String, Value)> = rules(t, role)
                .into_iter()
                .map(|r| (r["id"].as_str().unwrap_or_default().to_string(), r))
                .collect();
            let borrowed = items.iter().map(|(k, v)| (k, v)).collect();
            list_values(t, req, borrowed, "policies/roleManagementPolicies/rules")
        }
        [id, "rules", rule] => {
            let role = role_of(t, id).ok_or_else(|| GraphError::not_found(id))?;
            let found = rules(t, role).into_iter().find(|r| r["id"] == *rule);
            one(t, req, found.as_ref(), rule)
        }
        _ => Err(GraphError::no_route("GET", &req.path)),
    })())
}

fn assignments(t: &Tenant, req: &GraphRequest) -> GraphResult {
    require_scope(req)?;
    let expanded = expand(req, &["policy", "policy($expand=rules)"])?;
    let items: Vec<(String, Value)> = t
        .role_definitions
        .keys()
        .map(|role| {
            let pid = policy_id(t, role);
            let mut a = json!({"id": format!("{pid}_{role}"), "policyId": pid, "roleDefinitionId": role,
                               "scopeId": "/", "scopeType": "DirectoryRole"});
            if let Some(e) = &expanded {
                a["policy"] = policy(t, role, e.contains("rules"));
            }
            (format!("{pid}_{role}"), a)
        })
        .collect();
    let borrowed = items.iter().map(|(k, v)| (k, v)).collect();
    list_values(t, req, borrowed, "policies/roleManagementPolicyAssignments")
}

pub(crate) fn write(t: &mut Tenant, req: &GraphRequest, s: &[&str]) -> Option<GraphResult> {
    let rest = s.strip_prefix(&POLICIES[..])?;
    Some(match (req.method.as_str(), rest) {
        ("PATCH", [id, "rules", rule]) => body_object(req).and_then(|b| patch_rule(t, id, rule, b)),
        _ => return None,
    })
}

fn patch_rule(t: &mut Tenant, id: &str, rule: &str, body: Map<String, Value>) -> GraphResult {
    let role = role_of(t, id)
        .ok_or_else(|| GraphError::not_found(id))?
        .to_string();
    let mut all = rules(t, &role);
    let current = all
        .iter_mut()
        .find(|r| r["id"] == rule)
        .ok_or_else(|| GraphError::not_found(rule))?;
    if body.get("@odata.type") != Some(&current["@odata.type"]) {
        return Err(GraphError::bad_request(format!(
            "The rule {rule} must be updated with its @odata.type, {}.",
            current["@odata.type"]
        )));
    }
    if body.get("id").is_some_and(|i| i != rule) {
        return Err(GraphError::bad_request(
            "The id of a rule cannot be changed.",
        ));
    }
    for (k, v) in body {
        current[k] = v;
    }
    t.role_policy_rules.insert(role, all);
    Ok(GraphResponse::no_content())
}

/// Global Administrator as careful tenants set it: activation needs approval and lasts at most
/// two hours.
pub(crate) fn seed(t: &mut Tenant, global_admin: &str) {
    let mut rules = default_rules();
    for r in &mut rules {
        match r["id"].as_str() {
            Some("Approval_EndUser_Assignment") => r["setting"]["isApprovalRequired"] = json!(true),
            Some("Expiration_EndUser_Assignment") => r["maximumDuration"] = json!("PT2H"),
            _ => {}
        }
    }
    t.role_policy_rules.insert(global_admin.to_string(), rules);
}
