//! Role management as Privileged Identity Management serves it: custom role definitions
//! (`POST`, `PATCH`, `DELETE` on `roleManagement/directory/roleDefinitions`; built-in ones are
//! read-only), eligibility schedules and the schedules of active assignments, read as
//! collections and changed only through schedule requests (`adminAssign`, `adminUpdate`,
//! `adminRemove`), each answered 201 with the request.
//!
//! Active assignments are one store, [`Tenant::role_assignments`]: those made through a
//! schedule request carry their schedule (`scheduleInfo`), which `roleAssignments` never
//! shows; `roleAssignmentSchedules` lists every active assignment, the ones made directly with
//! a schedule that never expires, as Graph does.

use serde_json::{Map, Value, json};

use super::api::{GraphError, GraphRequest, GraphResponse, GraphResult, body_object};
use super::model::{ADMINISTRATIVE_UNITS, GROUPS, Tenant, now};
use super::read::{list_map, one};

const DIRECTORY: [&str; 2] = ["roleManagement", "directory"];

/// The answer to a read of role management beyond definitions and assignments, if `s` names one.
pub(crate) fn get(t: &Tenant, req: &GraphRequest, s: &[&str]) -> Option<GraphResult> {
    let rest = s.strip_prefix(&DIRECTORY[..])?;
    Some(match rest {
        ["roleEligibilitySchedules"] => list_map(
            t,
            req,
            t.role_eligibilities.iter(),
            "roleManagement/directory/roleEligibilitySchedules",
        ),
        ["roleEligibilitySchedules", id] => one(t, req, t.role_eligibilities.get(*id), id),
        ["roleAssignmentSchedules"] => {
            let schedules: Vec<(String, Value)> = t
                .role_assignments
                .iter()
                .map(|(id, a)| (id.clone(), schedule_of(a)))
                .collect();
            list_map(
                t,
                req,
                schedules.iter().map(|(id, v)| (id, v)),
                "roleManagement/directory/roleAssignmentSchedules",
            )
        }
        ["roleAssignmentSchedules", id] => {
            let schedule = t.role_assignments.get(*id).map(schedule_of);
            one(t, req, schedule.as_ref(), id)
        }
        _ => return None,
    })
}

/// The answer to a write to role definitions or schedule requests, if `s` names one.
pub(crate) fn write(t: &mut Tenant, req: &GraphRequest, s: &[&str]) -> Option<GraphResult> {
    let rest = s.strip_prefix(&DIRECTORY[..])?;
    Some(match (req.method.as_str(), rest) {
        ("POST", ["roleDefinitions"]) => body_object(req).and_then(|b| create_definition(t, b)),
        ("PATCH", ["roleDefinitions", id]) => {
            body_object(req).and_then(|b| patch_definition(t, id, b))
        }
        ("DELETE", ["roleDefinitions", id]) => delete_definition(t, id),
        ("POST", ["roleEligibilityScheduleRequests"]) => {
            body_object(req).and_then(|b| schedule_request(t, b, Schedules::Eligibility))
        }
        ("POST", ["roleAssignmentScheduleRequests"]) => {
            body_object(req).and_then(|b| schedule_request(t, b, Schedules::Assignment))
        }
        _ => return None,
    })
}

/// An active assignment as `roleAssignmentSchedules` lists it.
fn schedule_of(a: &Value) -> Value {
    let mut s = a.clone();
    if s.get("scheduleInfo").is_none_or(Value::is_null) {
        s["scheduleInfo"] = json!({"startDateTime": a.get("createdDateTime").cloned().unwrap_or(Value::Null),
            "recurrence": null, "expiration": {"type": "noExpiration", "endDateTime": null, "duration": null}});
    }
    for (field, default) in [
        ("appScopeId", Value::Null),
        ("memberType", json!("Direct")),
        ("assignmentType", json!("Assigned")),
        ("status", json!("Provisioned")),
        ("createdUsing", Value::Null),
    ] {
        if s.get(field).is_none() {
            s[field] = default;
        }
    }
    s
}

fn require(body: &Map<String, Value>, field: &str) -> Result<(), GraphError> {
    if body.get(field).is_none_or(Value::is_null) {
        return Err(GraphError::bad_request(format!(
            "The request body is missing the required property {field}."
        )));
    }
    Ok(())
}

fn check_permissions(body: &Map<String, Value>) -> Result<(), GraphError> {
    let Some(permissions) = body.get("rolePermissions") else {
        return Ok(());
    };
    let valid = permissions.as_array().is_some_and(|p| {
        !p.is_empty()
            && p.iter().all(|p| {
                p["allowedResourceActions"].as_array().is_some_and(|a| {
                    !a.is_empty()
                        && a.iter().all(|x| {
                            x.as_str()
                                .is_some_and(|x| x.starts_with("microsoft.directory/"))
                        })
                })
            })
    });
    if !valid {
        return Err(GraphError::bad_request(
            "rolePermissions must name at least one allowed resource action of microsoft.directory.",
        ));
    }
    Ok(())
}

fn name_taken(t: &Tenant, name: &str, except: &str) -> bool {
    t.role_definitions.iter().any(|(id, d)| {
        id != except
            && d["displayName"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
    })
}

fn create_definition(t: &mut Tenant, body: Map<String, Value>) -> GraphResult {
    for field in ["displayName", "rolePermissions", "isEnabled"] {
        require(&body, field)?;
    }
    check_permissions(&body)?;
    let name = body["displayName"].as_str().unwrap_or_default().to_string();
    if name_taken(t, &name, "") {
        return Err(GraphError::bad_request(format!(
            "A role definition with the display name {name} already exists."
        )));
    }
    let id = t.new_id();
    let mut definition = json!({"id": id, "templateId": id, "isBuiltIn": false, "version": "1",
        "description": null, "resourceScopes": ["/"], "inheritsPermissionsFrom": []});
    for (k, v) in body {
        if !matches!(k.as_str(), "id" | "isBuiltIn" | "templateId") {
            definition[k] = v;
        }
    }
    t.role_definitions.insert(id, definition.clone());
    Ok(GraphResponse::json(201, definition))
}

fn custom<'t>(t: &'t mut Tenant, id: &str) -> Result<&'t mut Value, GraphError> {
    let definition = t
        .role_definitions
        .get_mut(id)
        .ok_or_else(|| GraphError::not_found(id))?;
    if definition["isBuiltIn"] == true {
        return Err(GraphError::new(
            403,
            "Authorization_RequestDenied",
            "Built-in role definitions cannot be changed or deleted.",
        ));
    }
    Ok(definition)
}

fn patch_definition(t: &mut Tenant, id: &str, body: Map<String, Value>) -> GraphResult {
    check_permissions(&body)?;
    if let Some(name) = body.get("displayName").and_then(Value::as_str)
        && name_taken(t, name, id)
    {
        return Err(GraphError::bad_request(format!(
            "A role definition with the display name {name} already exists."
        )));
    }
    let definition = custom(t, id)?;
    for (k, v) in body {
        if !matches!(k.as_str(), "id" | "isBuiltIn" | "templateId") {
            definition[k] = v;
        }
    }
    Ok(GraphResponse::no_content())
}

fn delete_definition(t: &mut Tenant, id: &str) -> GraphResult {
    custom(t, id)?;
    let used = t
        .role_assignments
        .values()
        .chain(t.role_eligibilities.values())
        .any(|a| a["roleDefinitionId"] == id);
    if used {
        return Err(GraphError::bad_request(
            "The role definition has assignments or eligibilities; remove them before deleting it.",
        ));
    }
    t.role_definitions.remove(id);
    Ok(GraphResponse::no_content())
}

#[derive(Clone, Copy, PartialEq)]
enum Schedules {
    Eligibility,
    Assignment,
}

/// `POST roleEligibilityScheduleRequests` / `roleAssignmentScheduleRequests`, as an
/// administrator sends them (an application cannot activate or deactivate for itself).
fn schedule_request(t: &mut Tenant, body: Map<String, Value>, which: Schedules) -> GraphResult {
    for field in [
        "action",
        "principalId",
        "roleDefinitionId",
        "directoryScopeId",
    ] {
        require(&body, field)?;
    }
    let text = |f: &str| body[f].as_str().unwrap_or_default().to_string();
    let (action, principal, role, scope) = (
        text("action"),
        text("principalId"),
        text("roleDefinitionId"),
        text("directoryScopeId"),
    );
    let same = |a: &Value| {
        a["principalId"] == principal.as_str()
            && a["roleDefinitionId"] == role.as_str()
            && a["directoryScopeId"] == scope.as_str()
    };
    let store = match which {
        Schedules::Eligibility => &t.role_eligibilities,
        Schedules::Assignment => &t.role_assignments,
    };
    let existing = store
        .iter()
        .find(|(_, a)| same(a))
        .map(|(id, _)| id.clone());
    let request_id = t.new_id();
    let schedule = match (action.as_str(), existing) {
        ("adminAssign", Some(_)) => {
            return Err(GraphError::new(
                400,
                "RoleAssignmentExists",
                "The Role assignment already exists.",
            ));
        }
        ("adminAssign", None) => {
            check_ends(t, &principal, &role, &scope)?;
            let info = schedule_info(&body)?;
            let id = t.new_id();
            let mut schedule = json!({"id": id, "principalId": principal, "roleDefinitionId": role,
                "directoryScopeId": scope, "appScopeId": null, "createdUsing": request_id,
                "createdDateTime": now(), "modifiedDateTime": null, "status": "Provisioned",
                "memberType": "Direct", "scheduleInfo": info});
            if which == Schedules::Assignment {
                schedule["assignmentType"] = json!("Assigned");
            }
            store_of(t, which).insert(id, schedule.clone());
            schedule
        }
        ("adminUpdate" | "adminExtend" | "adminRenew", Some(id)) => {
            let info = schedule_info(&body)?;
            let schedule = store_of(t, which).get_mut(&id).expect("found above");
            schedule["scheduleInfo"] = info;
            schedule["modifiedDateTime"] = json!(now());
            schedule.clone()
        }
        ("adminRemove", Some(id)) => store_of(t, which).remove(&id).expect("found above"),
        ("adminUpdate" | "adminExtend" | "adminRenew" | "adminRemove", None) => {
            return Err(GraphError::new(
                400,
                "RoleAssignmentDoesNotExist",
                "The Role assignment does not exist.",
            ));
        }
        (other, _) => {
            return Err(GraphError::bad_request(format!(
                "The action {other} is not allowed for an application; use adminAssign, adminUpdate or adminRemove."
            )));
        }
    };
    let removed = action == "adminRemove";
    Ok(GraphResponse::json(
        201,
        json!({
            "id": request_id, "status": if removed { "Revoked" } else { "Provisioned" },
            "action": action, "principalId": principal, "roleDefinitionId": role,
            "directoryScopeId": scope, "appScopeId": null, "isValidationOnly": false,
            "targetScheduleId": if removed { Value::Null } else { schedule["id"].clone() },
            "justification": body.get("justification").cloned().unwrap_or(Value::Null),
            "scheduleInfo": if removed { Value::Null } else { schedule["scheduleInfo"].clone() },
            "createdDateTime": now(), "completedDateTime": now(),
            "ticketInfo": {"ticketNumber": null, "ticketSystem": null},
        }),
    ))
}

fn store_of(t: &mut Tenant, which: Schedules) -> &mut std::collections::BTreeMap<String, Value> {
    match which {
        Schedules::Eligibility => &mut t.role_eligibilities,
        Schedules::Assignment => &mut t.role_assignments,
    }
}

/// The principal, role and scope of a new schedule exist (a group only if role-assignable).
fn check_ends(t: &Tenant, principal: &str, role: &str, scope: &str) -> Result<(), GraphError> {
    if !t.role_definitions.contains_key(role) {
        return Err(GraphError::bad_request(format!(
            "The role definition {role} does not exist."
        )));
    }
    match t.find(principal) {
        None => {
            return Err(GraphError::bad_request(format!(
                "Invalid principal {principal}: the object does not exist."
            )));
        }
        Some((GROUPS, g)) if g["isAssignableToRole"] != true => {
            return Err(GraphError::bad_request(
                "Only groups with isAssignableToRole set to true can be assigned directory roles.",
            ));
        }
        _ => {}
    }
    match scope.strip_prefix("/administrativeUnits/") {
        Some(unit) if !t.collection(ADMINISTRATIVE_UNITS).contains_key(unit) => Err(
            GraphError::bad_request(format!("Invalid directoryScopeId {scope}.")),
        ),
        None if scope != "/" => Err(GraphError::bad_request(format!(
            "Invalid directoryScopeId {scope}."
        ))),
        _ => Ok(()),
    }
}

/// The schedule a request asks for: its start (now when not given) and its expiration, which
/// must name an end for `afterDateTime` and a duration for `afterDuration`, and not be past.
fn schedule_info(body: &Map<String, Value>) -> Result<Value, GraphError> {
    let info = body
        .get("scheduleInfo")
        .filter(|v| v.is_object())
        .ok_or_else(|| GraphError::bad_request("scheduleInfo is required for this action."))?;
    let expiration = &info["expiration"];
    let kind = expiration["type"].as_str().unwrap_or("noExpiration");
    let end = expiration["endDateTime"].clone();
    let duration = expiration["duration"].clone();
    match kind {
        "noExpiration" => {}
        "afterDateTime" => {
            let end = end.as_str().ok_or_else(|| {
                GraphError::bad_request("expiration of type afterDateTime needs an endDateTime.")
            })?;
            if end < now().as_str() {
                return Err(GraphError::bad_request(
                    "The expiration date of the schedule is in the past.",
                ));
            }
        }
        "afterDuration" if duration.is_string() => {}
        _ => {
            return Err(GraphError::bad_request(format!(
                "Invalid expiration type {kind}, or afterDuration without a duration."
            )));
        }
    }
    let start = info["startDateTime"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(now);
    Ok(json!({"startDateTime": start, "recurrence": null,
              "expiration": {"type": kind, "endDateTime": end, "duration": duration}}))
}
