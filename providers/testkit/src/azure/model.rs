//! The state of an emulated Azure tenant as Azure Resource Manager keeps it, and the JSON
//! shapes of Microsoft's ARM REST reference for each object.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use serde_json::{Value, json};

/// `Microsoft.Authorization` as the provider namespace appears in ids.
pub(crate) const AUTHZ: &str = "providers/Microsoft.Authorization";

/// A subscription: its id (a GUID) and display name.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: String,
    pub name: String,
}

/// The resource type of management groups, as it appears in their ids.
pub(crate) const MANAGEMENT_GROUPS: &str = "providers/Microsoft.Management/managementGroups";

/// A management group: the tenant root group (named by the tenant id, no parent) or one below
/// it, holding subscriptions.
#[derive(Debug, Clone)]
pub struct ManagementGroup {
    pub name: String,
    pub display_name: String,
    pub parent: Option<String>,
    pub subscriptions: Vec<String>,
}

impl ManagementGroup {
    /// The ARM id, which is also its scope.
    pub fn id(&self) -> String {
        format!("/{MANAGEMENT_GROUPS}/{}", self.name)
    }
}

/// The management group name of a management group scope.
pub(crate) fn management_group_of(scope: &str) -> Option<&str> {
    let parts: Vec<&str> = scope.split('/').filter(|s| !s.is_empty()).collect();
    match parts.as_slice() {
        [p, ns, t, name]
            if p.eq_ignore_ascii_case("providers")
                && ns.eq_ignore_ascii_case("Microsoft.Management")
                && t.eq_ignore_ascii_case("managementGroups") =>
        {
            Some(name)
        }
        _ => None,
    }
}

/// A resource group of a subscription.
#[derive(Debug, Clone)]
pub struct ResourceGroup {
    pub subscription: String,
    pub name: String,
    pub location: String,
}

/// One `permissions` entry of a role definition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Permission {
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub data_actions: Vec<String>,
    pub not_data_actions: Vec<String>,
}

/// A role definition, built in or custom; its `name` is the GUID ids end with.
#[derive(Debug, Clone)]
pub struct RoleDefinition {
    pub name: String,
    pub role_name: String,
    pub description: String,
    pub custom: bool,
    pub permissions: Vec<Permission>,
    pub assignable_scopes: Vec<String>,
    pub updated_on: String,
}

/// A role assignment; its `name` is the GUID the client chose.
#[derive(Debug, Clone)]
pub struct RoleAssignment {
    pub name: String,
    pub scope: String,
    /// The GUID of its role definition.
    pub role: String,
    pub principal_id: String,
    pub principal_type: String,
    pub description: Option<String>,
    pub condition: Option<String>,
    pub condition_version: Option<String>,
    pub created_on: String,
}

/// A management lock on a subscription, resource group or resource.
#[derive(Debug, Clone)]
pub struct Lock {
    pub scope: String,
    pub name: String,
    pub level: String,
    pub notes: Option<String>,
}

/// A deny assignment, made by the service that owns it (a blueprint, a managed application, a
/// deployment stack); ARM lists it but takes no writes of it.
#[derive(Debug, Clone)]
pub struct DenyAssignment {
    pub name: String,
    pub deny_assignment_name: String,
    pub description: String,
    pub scope: String,
    pub permissions: Vec<Permission>,
    /// (object id, type) of the principals denied; the all-principals GUID for everyone.
    pub principals: Vec<(String, String)>,
    pub exclude_principals: Vec<(String, String)>,
    pub do_not_apply_to_child_scopes: bool,
}

impl DenyAssignment {
    /// The ARM id.
    pub fn id(&self) -> String {
        format!("{}/{AUTHZ}/denyAssignments/{}", self.scope, self.name)
    }

    pub(crate) fn to_json(&self) -> Value {
        let principals = |list: &[(String, String)]| {
            list.iter()
                .map(|(id, kind)| json!({"id": id, "type": kind}))
                .collect::<Vec<_>>()
        };
        json!({
            "id": self.id(),
            "name": self.name,
            "type": "Microsoft.Authorization/denyAssignments",
            "properties": {
                "denyAssignmentName": self.deny_assignment_name,
                "description": self.description,
                "permissions": self.permissions.iter().map(Permission::to_json).collect::<Vec<_>>(),
                "scope": self.scope,
                "doNotApplyToChildScopes": self.do_not_apply_to_child_scopes,
                "principals": principals(&self.principals),
                "excludePrincipals": principals(&self.exclude_principals),
                "isSystemProtected": true,
            }
        })
    }
}

/// A PIM eligibility schedule: the principal may activate the role at the scope until
/// `end` (or for good).
#[derive(Debug, Clone)]
pub struct Eligibility {
    pub name: String,
    pub scope: String,
    /// The GUID of its role definition.
    pub role: String,
    pub principal_id: String,
    pub principal_type: String,
    pub start: String,
    pub end: Option<String>,
    pub condition: Option<String>,
    pub condition_version: Option<String>,
}

impl Eligibility {
    /// The ARM id.
    pub fn id(&self) -> String {
        format!(
            "{}/{AUTHZ}/roleEligibilitySchedules/{}",
            self.scope, self.name
        )
    }

    pub(crate) fn to_json(&self) -> Value {
        let role_scope = subscription_of(&self.scope)
            .map(|s| format!("/subscriptions/{s}"))
            .unwrap_or_else(|| "/".into());
        json!({
            "id": self.id(),
            "name": self.name,
            "type": "Microsoft.Authorization/roleEligibilitySchedules",
            "properties": {
                "scope": self.scope,
                "roleDefinitionId": role_definition_id(&role_scope, &self.role),
                "principalId": self.principal_id,
                "principalType": self.principal_type,
                "memberType": "Direct",
                "status": "Provisioned",
                "startDateTime": self.start,
                "endDateTime": self.end,
                "condition": self.condition,
                "conditionVersion": self.condition_version,
                "createdOn": self.start,
                "updatedOn": self.start,
            }
        })
    }
}

/// The tenant: subscriptions and their resources, the directory's principals (as far as ARM
/// checks them), and `Microsoft.Authorization`'s objects.
#[derive(Debug, Default)]
pub struct Arm {
    pub tenant_id: String,
    pub subscriptions: Vec<Subscription>,
    /// The tenant root group first; none unless seeded with management groups.
    pub management_groups: Vec<ManagementGroup>,
    pub resource_groups: Vec<ResourceGroup>,
    /// Full ids of the resources (role assignments and locks may be made on them).
    pub resources: Vec<String>,
    /// Principal object id → `User`, `Group` or `ServicePrincipal`.
    pub principals: BTreeMap<String, String>,
    /// By GUID.
    pub role_definitions: BTreeMap<String, RoleDefinition>,
    /// By GUID.
    pub role_assignments: BTreeMap<String, RoleAssignment>,
    /// By lower-cased id.
    pub locks: BTreeMap<String, Lock>,
    /// PIM eligibility schedules, by GUID.
    pub eligibilities: BTreeMap<String, Eligibility>,
    /// By GUID.
    pub deny_assignments: BTreeMap<String, DenyAssignment>,
    /// Role definitions created a moment ago, unknown to role assignment creation until then
    /// (ARM's replication delay).
    pub settling: HashMap<String, Instant>,
}

/// `scope` lower-cased without a trailing `/`: ARM compares ids case-insensitively.
pub(crate) fn norm(scope: &str) -> String {
    let s = scope.trim_end_matches('/').to_ascii_lowercase();
    if s.is_empty() { "/".into() } else { s }
}

/// Whether `outer` is `inner` or one of its ancestors.
pub(crate) fn contains(outer: &str, inner: &str) -> bool {
    let (o, i) = (norm(outer), norm(inner));
    o == "/" || i == o || i.starts_with(&format!("{o}/"))
}

/// The subscription id a scope lies in, if any.
pub(crate) fn subscription_of(scope: &str) -> Option<String> {
    let mut parts = scope.split('/').filter(|s| !s.is_empty());
    match (parts.next(), parts.next()) {
        (Some(s), Some(id)) if s.eq_ignore_ascii_case("subscriptions") => Some(id.to_string()),
        _ => None,
    }
}

impl Arm {
    /// The scope as ARM spells it, if it exists: `/`, a subscription, a resource group or a
    /// resource.
    pub(crate) fn existing_scope(&self, scope: &str) -> Result<String, (u16, &'static str)> {
        let n = norm(scope);
        if n == "/" {
            return Ok("/".into());
        }
        if let Some(name) = management_group_of(scope) {
            return self
                .management_groups
                .iter()
                .find(|g| g.name.eq_ignore_ascii_case(name))
                .map(ManagementGroup::id)
                .ok_or((404, "ManagementGroupNotFound"));
        }
        let parts: Vec<&str> = scope.split('/').filter(|s| !s.is_empty()).collect();
        let Some(sub) = subscription_of(scope) else {
            return Err((400, "InvalidScope"));
        };
        let Some(sub) = self
            .subscriptions
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(&sub))
        else {
            return Err((404, "SubscriptionNotFound"));
        };
        if parts.len() == 2 {
            return Ok(format!("/subscriptions/{}", sub.id));
        }
        if parts.len() < 4 || !parts[2].eq_ignore_ascii_case("resourceGroups") {
            return Err((400, "InvalidScope"));
        }
        let Some(rg) = self
            .resource_groups
            .iter()
            .find(|g| g.subscription == sub.id && g.name.eq_ignore_ascii_case(parts[3]))
        else {
            return Err((404, "ResourceGroupNotFound"));
        };
        let rg_id = format!("/subscriptions/{}/resourceGroups/{}", sub.id, rg.name);
        if parts.len() == 4 {
            return Ok(rg_id);
        }
        self.resources
            .iter()
            .find(|r| norm(r) == n)
            .cloned()
            .ok_or((404, "ResourceNotFound"))
    }
}

/// The id of role definition `guid` as seen from `scope` (`/` for the tenant's).
pub(crate) fn role_definition_id(scope: &str, guid: &str) -> String {
    let prefix = if norm(scope) == "/" {
        String::new()
    } else {
        scope.trim_end_matches('/').to_string()
    };
    format!("{prefix}/{AUTHZ}/roleDefinitions/{guid}")
}

impl Permission {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "actions": self.actions,
            "notActions": self.not_actions,
            "dataActions": self.data_actions,
            "notDataActions": self.not_data_actions,
        })
    }

    pub(crate) fn from_json(v: &Value) -> Permission {
        let list = |f: &str| -> Vec<String> {
            v[f].as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        };
        Permission {
            actions: list("actions"),
            not_actions: list("notActions"),
            data_actions: list("dataActions"),
            not_data_actions: list("notDataActions"),
        }
    }
}

impl RoleDefinition {
    /// As listed or read at `scope`.
    pub(crate) fn to_json(&self, scope: &str) -> Value {
        json!({
            "id": role_definition_id(scope, &self.name),
            "name": self.name,
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {
                "roleName": self.role_name,
                "type": if self.custom { "CustomRole" } else { "BuiltInRole" },
                "description": self.description,
                "assignableScopes": self.assignable_scopes,
                "permissions": self.permissions.iter().map(Permission::to_json).collect::<Vec<_>>(),
                "createdOn": "2024-01-02T03:04:05.0000000Z",
                "updatedOn": self.updated_on,
                "createdBy": if self.custom { Value::from("4f9a0d1c-0000-4000-8000-00000000ad01") } else { Value::Null },
                "updatedBy": if self.custom { Value::from("4f9a0d1c-0000-4000-8000-00000000ad01") } else { Value::Null },
            }
        })
    }
}

impl RoleAssignment {
    /// The ARM id.
    pub fn id(&self) -> String {
        let scope = if self.scope == "/" { "" } else { &self.scope };
        format!("{scope}/{AUTHZ}/roleAssignments/{}", self.name)
    }

    pub(crate) fn to_json(&self) -> Value {
        let role_scope = subscription_of(&self.scope)
            .map(|s| format!("/subscriptions/{s}"))
            .unwrap_or_else(|| "/".into());
        json!({
            "id": self.id(),
            "name": self.name,
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "roleDefinitionId": role_definition_id(&role_scope, &self.role),
                "principalId": self.principal_id,
                "principalType": self.principal_type,
                "scope": self.scope,
                "description": self.description,
                "condition": self.condition,
                "conditionVersion": self.condition_version,
                "createdOn": self.created_on,
                "updatedOn": self.created_on,
                "createdBy": "4f9a0d1c-0000-4000-8000-00000000ad01",
                "updatedBy": "4f9a0d1c-0000-4000-8000-00000000ad01",
                "delegatedManagedIdentityResourceId": null,
            }
        })
    }
}

impl Lock {
    /// The ARM id.
    pub fn id(&self) -> String {
        format!("{}/{AUTHZ}/locks/{}", self.scope, self.name)
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id(),
            "name": self.name,
            "type": "Microsoft.Authorization/locks",
            "properties": {"level": self.level, "notes": self.notes, "owners": []},
        })
    }
}
