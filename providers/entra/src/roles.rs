//! Directory roles as records: custom role definitions, and the PIM schedules that make a
//! principal eligible for a role or give it one until a date. Built-in roles are never
//! records: Graph gives them the same id (their template id) in every tenant, and schedules
//! name them by it. A custom role is named by its displayName, and its records ref the
//! definition, so that a re-created role's new id reaches them.

use std::collections::{HashMap, HashSet};

use iamsnap_provider::{Record, Ref};
use serde_json::{Value, json};

use crate::kinds::*;
use crate::records::{Index, id_of, str_of};

/// What role definitions are read with.
pub(crate) const DEFINITION_SELECT: &str =
    "id,displayName,description,isBuiltIn,isEnabled,templateId,rolePermissions";

/// A role definition, as schedules and assignments name it.
#[derive(Debug, Clone)]
pub(crate) struct Role {
    pub name: String,
    pub built_in: bool,
}

/// Role definition ids → roles.
#[derive(Debug, Default)]
pub(crate) struct Roles(pub HashMap<String, Role>);

impl Roles {
    pub(crate) fn from_definitions(definitions: &[Value]) -> Roles {
        Roles(
            definitions
                .iter()
                .map(|d| {
                    (
                        id_of(d).to_string(),
                        Role {
                            name: d["displayName"].as_str().unwrap_or_default().to_string(),
                            // Unknown counts as built in: never re-created, kept by id.
                            built_in: d["isBuiltIn"] != false,
                        },
                    )
                })
                .collect(),
        )
    }

    /// The role's display name (its id when the tenant has no such role).
    pub(crate) fn name(&self, id: &str) -> String {
        self.0
            .get(id)
            .map(|r| r.name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    /// How a key names the role: a built-in one by its template id, a custom one by its name.
    pub(crate) fn key_part(&self, id: &str) -> String {
        match self.0.get(id) {
            Some(r) if !r.built_in => r.name.clone(),
            _ => id.to_string(),
        }
    }

    /// The ref to the role's definition, for a custom role.
    pub(crate) fn reference(&self, id: &str) -> Option<Ref> {
        self.0
            .get(id)
            .filter(|r| !r.built_in)
            .map(|_| Ref::new("role", ROLE_DEFINITION, id))
    }
}

/// A custom role definition's record; `None` for a built-in one.
pub(crate) fn definition(v: &Value) -> Option<Record> {
    if v["isBuiltIn"] != false {
        return None;
    }
    let permissions: Vec<Value> = v["rolePermissions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let mut actions: Vec<&str> = p["allowedResourceActions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            actions.sort_unstable();
            json!({"allowedResourceActions": actions, "condition": p.get("condition").cloned().unwrap_or(Value::Null)})
        })
        .collect();
    Some(Record::new(
        ROLE_DEFINITION,
        id_of(v),
        v["displayName"].as_str().unwrap_or_default(),
        json!({"displayName": v["displayName"], "description": v["description"],
               "isEnabled": v["isEnabled"], "rolePermissions": permissions}),
        Vec::new(),
    ))
}

/// (principal, role, scope) ids of a schedule or assignment.
pub(crate) fn triple(v: &Value) -> (String, String, String) {
    let s = |f: &str| v[f].as_str().unwrap_or_default().to_string();
    (
        s("principalId"),
        s("roleDefinitionId"),
        s("directoryScopeId"),
    )
}

/// The end of a schedule as kept: its expiration's type and end (or duration).
fn expiration(v: &Value) -> Value {
    let e = &v["scheduleInfo"]["expiration"];
    json!({"type": e["type"].as_str().unwrap_or("noExpiration"), "endDateTime": e["endDateTime"], "duration": e["duration"]})
}

/// Whether an active assignment schedule is one a restore brings back: assigned (not an
/// activation of an eligibility), directly (not through a group), ending on a date (a
/// permanent one is a directory role assignment).
pub(crate) fn time_bound(v: &Value) -> bool {
    v["assignmentType"].as_str().is_none_or(|t| t == "Assigned")
        && direct(v)
        && expiration(v)["type"] != "noExpiration"
}

/// Whether a schedule is the principal's own, not one it inherits through a group.
pub(crate) fn direct(v: &Value) -> bool {
    v["memberType"].as_str().is_none_or(|t| t == "Direct")
}

/// An eligibility or time-bound active assignment schedule, keyed
/// `role|type:principal|scope` (the role by template id, or by name when custom); `None`
/// when its principal or administrative unit was not read.
pub(crate) fn schedule(
    kind: &'static str,
    v: &Value,
    index: &Index,
    roles: &Roles,
) -> Option<Record> {
    let (principal_id, role_id, scope_id) = triple(v);
    let (pkind, principal) = index.party(&principal_id)?;
    let mut refs = vec![Ref::new("principal", pkind, principal_id.as_str())];
    let scope = scope_of(&scope_id, index, &mut refs)?;
    refs.extend(roles.reference(&role_id));
    Some(Record::new(
        kind,
        id_of(v),
        format!("{}|{principal}|{scope}", roles.key_part(&role_id)),
        json!({"role": roles.name(&role_id), "roleDefinitionId": role_id, "principal": principal,
               "directoryScope": scope, "expiration": expiration(v)}),
        refs,
    ))
}

/// How a scope is written in keys: `/`, or `administrativeUnit:NAME` with a ref to the unit.
pub(crate) fn scope_of(scope_id: &str, index: &Index, refs: &mut Vec<Ref>) -> Option<String> {
    Some(match scope_id.strip_prefix("/administrativeUnits/") {
        Some(unit) => {
            let (_, name) = index.by_id.get(unit)?;
            refs.push(Ref::new("scope", ADMINISTRATIVE_UNIT, unit));
            format!("administrativeUnit:{name}")
        }
        None => scope_id.to_string(),
    })
}

/// The triples of the time-bound active assignments among `schedules`: the role assignments
/// they instantiate are theirs, not directory role assignments of their own.
pub(crate) fn scheduled(schedules: &[Value]) -> HashSet<(String, String, String)> {
    schedules
        .iter()
        .filter(|s| time_bound(s))
        .map(triple)
        .collect()
}

/// A permanent directory role assignment, keyed `role name|type:principal|scope`; a custom
/// role's is ref'd to its definition.
pub(crate) fn role_assignment(v: &Value, index: &Index, roles: &Roles) -> Option<Record> {
    let (pkind, principal) = index.party(str_of(v, "principalId"))?;
    let role_id = str_of(v, "roleDefinitionId");
    let role = roles.name(role_id);
    let mut refs = vec![Ref::new("principal", pkind, str_of(v, "principalId"))];
    let scope = scope_of(str_of(v, "directoryScopeId"), index, &mut refs)?;
    refs.extend(roles.reference(role_id));
    Some(Record::new(
        DIRECTORY_ROLE_ASSIGNMENT,
        id_of(v),
        format!("{role}|{principal}|{scope}"),
        json!({"roleDefinitionId": role_id, "role": role, "principal": principal, "directoryScope": scope}),
        refs,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_roles_are_keyed_by_template_id_custom_ones_by_name_and_referenced() {
        let roles = Roles::from_definitions(&[
            json!({"id": "62e9", "displayName": "Global Administrator", "isBuiltIn": true}),
            json!({"id": "c1", "displayName": "Tier 1", "isBuiltIn": false}),
        ]);
        let mut index = Index::default();
        index.insert(USER, "u1", "ada@contoso.com".into());
        let v = |role: &str, expiration: Value| {
            json!({"id": "s", "principalId": "u1", "roleDefinitionId": role, "directoryScopeId": "/",
                   "memberType": "Direct", "scheduleInfo": {"startDateTime": "2025-01-01T00:00:00Z", "expiration": expiration}})
        };
        let never = json!({"type": "noExpiration"});
        let built_in =
            schedule(ROLE_ELIGIBILITY, &v("62e9", never.clone()), &index, &roles).unwrap();
        assert_eq!(built_in.key, "62e9|user:ada@contoso.com|/");
        assert_eq!(built_in.attrs["role"], "Global Administrator");
        assert!(built_in.target("role").is_none());
        let custom = schedule(ROLE_ELIGIBILITY, &v("c1", never.clone()), &index, &roles).unwrap();
        assert_eq!(custom.key, "Tier 1|user:ada@contoso.com|/");
        assert_eq!(custom.target("role").unwrap().id, "c1");
        let dated = json!({"type": "afterDateTime", "endDateTime": "2030-01-01T00:00:00Z"});
        assert!(time_bound(&v("62e9", dated)));
        assert!(!time_bound(&v("62e9", never)));
        assert!(definition(&json!({"id": "62e9", "isBuiltIn": true})).is_none());
    }
}
