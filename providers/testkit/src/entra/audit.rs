//! Directory audits: every successful write made through Graph is recorded as a
//! `directoryAudit` (id, category, activityDisplayName, activityDateTime, operationType,
//! initiatedBy, targetResources, result) and served by `GET /auditLogs/directoryAudits`,
//! newest first, with `$filter` on `activityDateTime` (`ge`, `gt`, `le`, `lt`, joined with
//! `and`), `$top` and `@odata.nextLink` paging, as the Graph reference describes. The actor is
//! the token's principal: the client application (`initiatedBy.app`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::api::{GraphError, GraphRequest, GraphResponse, GraphResult};
use super::model::Tenant;

/// One recorded audit, and when it happened.
#[derive(Debug, Clone)]
pub(crate) struct Audit {
    pub at: DateTime<Utc>,
    pub entry: Value,
}

/// The target a Graph object id stands for: `{id, displayName, type, userPrincipalName}`.
fn target(t: &Tenant, id: &str) -> Value {
    if let Some((collection, object)) = t.find(id) {
        return entry(id, kind_of(collection), object);
    }
    if let Some(deleted) = t.deleted.get(id) {
        return entry(id, kind_of(deleted.collection), &deleted.object);
    }
    let (kind, name) = if let Some(role) = t.role_definitions.get(id) {
        ("Role", role["displayName"].clone())
    } else if let Some(policy) = t.ca_policies.get(id) {
        ("Policy", policy["displayName"].clone())
    } else if let Some(strength) = t.strengths.get(id) {
        ("Policy", strength["displayName"].clone())
    } else if id == "authorizationPolicy" {
        ("Policy", json!("Authorization Policy"))
    } else {
        ("Other", Value::Null)
    };
    json!({"id": id, "displayName": name, "type": kind, "userPrincipalName": null,
           "groupType": null, "modifiedProperties": []})
}

fn entry(id: &str, kind: &str, object: &Value) -> Value {
    json!({"id": id, "displayName": object["displayName"], "type": kind,
           "userPrincipalName": object.get("userPrincipalName").cloned().unwrap_or(Value::Null),
           "groupType": null, "modifiedProperties": []})
}

fn kind_of(collection: &str) -> &'static str {
    match collection {
        "users" => "User",
        "groups" => "Group",
        "applications" => "Application",
        "servicePrincipals" => "ServicePrincipal",
        "devices" => "Device",
        "administrativeUnits" => "AdministrativeUnit",
        _ => "Other",
    }
}

/// The ids a write names: GUIDs of its path, the object a `$ref` body points at, the
/// principal and role of a PIM request.
fn named_ids(req: &GraphRequest, segments: &[String]) -> Vec<String> {
    let guid = |s: &str| s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4;
    let mut ids: Vec<String> = segments
        .iter()
        .filter(|s| guid(s) || s.contains('@'))
        .cloned()
        .collect();
    if let Some(body) = &req.body {
        if let Some(reference) = body["@odata.id"].as_str()
            && let Some(id) = reference.rsplit('/').next()
        {
            ids.push(id.to_string());
        }
        for field in ["principalId", "roleDefinitionId"] {
            if let Some(id) = body[field].as_str() {
                ids.push(id.to_string());
            }
        }
    }
    // A singleton such as the authorization policy is named by its path.
    if ids.is_empty() && req.method == "PATCH" && segments.len() == 2 && segments[0] == "policies" {
        ids.push(segments[1].clone());
    }
    ids.dedup();
    ids
}

/// `Add user`, `Remove member from group`, `Delete conditional access policy`: the activity
/// Entra logs for a write, its category and operation type.
fn activity(t: &Tenant, req: &GraphRequest, s: &[&str]) -> (String, &'static str, &'static str) {
    let action = req.body.as_ref().and_then(|b| b["action"].as_str());
    fn noun(collection: &str) -> &str {
        match collection {
            "users" => "user",
            "groups" => "group",
            "applications" => "application",
            "servicePrincipals" => "service principal",
            "administrativeUnits" => "administrative unit",
            "roleDefinitions" => "role definition",
            "roleAssignments" => "member to role",
            "conditionalAccess" | "policies" => "conditional access policy",
            "authenticationStrengthPolicies" => "authentication strength policy",
            "authorizationPolicy" => "authorization policy",
            "federatedIdentityCredentials" => "federated identity credential",
            other => other,
        }
    }
    let category = match s.first().copied().unwrap_or("") {
        "users" | "invitations" => "UserManagement",
        "groups" => "GroupManagement",
        "applications" | "servicePrincipals" => "ApplicationManagement",
        "roleManagement" => "RoleManagement",
        "policies" | "identity" => "Policy",
        _ => "DirectoryManagement",
    };
    let method = req.method.as_str();
    let (name, op) = match (method, s) {
        ("POST", [.., "roleEligibilityScheduleRequests"]) => match action {
            Some(a) if a.contains("Remove") => (
                "Remove eligible member from role in PIM completed (permanent)".to_string(),
                "Unassign",
            ),
            _ => (
                "Add eligible member to role in PIM completed (permanent)".to_string(),
                "Assign",
            ),
        },
        ("POST", [.., "roleAssignmentScheduleRequests"]) => match action {
            Some(a) if a.contains("Remove") => (
                "Remove member from role in PIM completed (permanent)".to_string(),
                "Unassign",
            ),
            _ => (
                "Add member to role in PIM completed (permanent)".to_string(),
                "Assign",
            ),
        },
        ("POST", [.., "roleAssignments"]) => ("Add member to role".to_string(), "Assign"),
        ("DELETE", [.., "roleAssignments", _]) => {
            ("Remove member from role".to_string(), "Unassign")
        }
        ("POST", [c, _, rel @ ("members" | "owners"), "$ref"]) => (
            format!("Add {} to {}", rel.trim_end_matches('s'), noun(c)),
            "Assign",
        ),
        ("DELETE", [c, _, rel @ ("members" | "owners"), _, "$ref"]) => (
            format!("Remove {} from {}", rel.trim_end_matches('s'), noun(c)),
            "Unassign",
        ),
        ("PUT" | "DELETE", [USERS, _, "manager", "$ref"]) => ("Update user".to_string(), "Update"),
        ("DELETE", ["directory", "deletedItems", id]) => {
            let kind = t.deleted.get(*id).map_or("object", |d| noun(d.collection));
            (format!("Hard delete {kind}"), "Delete")
        }
        ("POST", ["directory", "deletedItems", id, "restore"]) => {
            let kind = t.deleted.get(*id).map_or("object", |d| noun(d.collection));
            (format!("Restore {kind}"), "Update")
        }
        ("POST", ["invitations"]) => ("Invite external user".to_string(), "Add"),
        (_, [.., last]) => {
            let collection = if super::api::GraphRequest::is_id(last) {
                s.get(s.len().saturating_sub(2)).copied().unwrap_or(last)
            } else {
                last
            };
            let (verb, op) = match method {
                "POST" => ("Add", "Add"),
                "DELETE" => ("Delete", "Delete"),
                _ => ("Update", "Update"),
            };
            (format!("{verb} {}", noun(collection)), op)
        }
        (_, []) => ("Update directory".to_string(), "Update"),
    };
    (name, category, op)
}

const USERS: &str = "users";

impl GraphRequest {
    /// Whether a path segment is an object's id (a GUID, or a user's principal name).
    pub(crate) fn is_id(segment: &str) -> bool {
        (segment.len() == 36 && segment.chars().filter(|c| *c == '-').count() == 4)
            || segment.contains('@')
    }
}

/// What a write names before it runs (a deleted object has no name afterwards).
pub(crate) struct Pending {
    activity: (String, &'static str, &'static str),
    targets: Vec<Value>,
}

/// Reads what the audit of `req` needs before the write changes the tenant.
pub(crate) fn before(t: &Tenant, req: &GraphRequest) -> Pending {
    let segments = req.segments();
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let mut targets: Vec<Value> = Vec::new();
    for id in named_ids(req, &segments) {
        let id = super::read::resolve(t, USERS, &id).unwrap_or(id);
        if targets.iter().any(|v| v["id"] == id.as_str()) {
            continue;
        }
        targets.push(target(t, &id));
    }
    Pending {
        activity: activity(t, req, &s),
        targets,
    }
}

/// Records the audit of a write that succeeded, by `client`.
pub(crate) fn record(t: &mut Tenant, client: &str, pending: Pending, answer: &GraphResponse) {
    let Pending {
        activity: (name, category, op),
        mut targets,
    } = pending;
    if let Some(body) = answer.body.as_deref()
        && let Ok(created) = serde_json::from_slice::<Value>(body)
        && let Some(id) = created["id"].as_str()
        && !targets.iter().any(|v| v["id"] == id)
    {
        targets.push(target(t, id));
    }
    let (sp_id, sp_name) = t
        .objects
        .get("servicePrincipals")
        .and_then(|sps| sps.iter().find(|(_, sp)| sp["appId"] == client))
        .map_or(
            (Value::Null, Value::String(client.to_string())),
            |(id, sp)| (Value::String(id.clone()), sp["displayName"].clone()),
        );
    let at = Utc::now();
    let id = format!("Directory_{}", t.new_id());
    let entry = json!({
        "id": id,
        "category": category,
        "correlationId": t.new_id(),
        "result": "success",
        "resultReason": "",
        "activityDisplayName": name,
        "activityDateTime": at.to_rfc3339_opts(SecondsFormat::Micros, true),
        "loggedByService": "Core Directory",
        "operationType": op,
        "initiatedBy": {
            "user": null,
            "app": {"appId": client, "displayName": sp_name, "servicePrincipalId": sp_id,
                    "servicePrincipalName": null},
        },
        "targetResources": targets,
        "additionalDetails": [],
    });
    t.audits.push(Audit { at, entry });
}

/// One bound of `$filter`: `activityDateTime ge 2026-12-01T00:00:00Z`.
fn bounds(filter: &str) -> Result<Vec<(String, DateTime<Utc>)>, GraphError> {
    let bad = || {
        GraphError::new(
            400,
            "Request_UnsupportedQuery",
            format!("Invalid filter clause: {filter}"),
        )
    };
    filter
        .split(" and ")
        .map(|clause| {
            let parts: Vec<&str> = clause.split_whitespace().collect();
            match parts.as_slice() {
                ["activityDateTime", op @ ("ge" | "gt" | "le" | "lt"), value] => {
                    let at = DateTime::parse_from_rfc3339(value.trim_matches('\''))
                        .map_err(|_| bad())?
                        .with_timezone(&Utc);
                    Ok((op.to_string(), at))
                }
                _ => Err(bad()),
            }
        })
        .collect()
}

/// `GET /auditLogs/directoryAudits`.
pub(crate) fn list(t: &Tenant, req: &GraphRequest) -> GraphResult {
    let bounds = match req.query.get("$filter") {
        Some(f) => bounds(f)?,
        None => Vec::new(),
    };
    let top = req
        .query
        .get("$top")
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(100)
        .min(1000);
    let after = super::api::skip_after(&req.query)?;
    let holds = |at: &DateTime<Utc>| {
        bounds.iter().all(|(op, b)| match op.as_str() {
            "ge" => at >= b,
            "gt" => at > b,
            "le" => at <= b,
            _ => at < b,
        })
    };
    // Newest first, as Graph lists them; the cursor is the last id of the previous page.
    let mut selected = t.audits.iter().rev().filter(|a| holds(&a.at));
    if let Some(after) = &after {
        selected.by_ref().find(|a| a.entry["id"] == after.as_str());
    }
    let mut page: Vec<&Value> = Vec::with_capacity(top);
    let mut more = false;
    for audit in selected {
        if page.len() == top {
            more = true;
            break;
        }
        page.push(&audit.entry);
    }
    let last = more
        .then(|| page.last().and_then(|e| e["id"].as_str()))
        .flatten();
    Ok(super::api::page(
        &t.base,
        req,
        "auditLogs/directoryAudits",
        page,
        last,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_take_bounds_on_the_activity_time() {
        let b = bounds(
            "activityDateTime ge 2026-12-01T00:00:00Z and activityDateTime lt 2026-12-02T00:00:00Z",
        )
        .unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].0, "ge");
        assert!(bounds("category eq 'Policy'").is_err());
    }
}
