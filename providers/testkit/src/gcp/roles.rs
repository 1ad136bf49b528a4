//! IAM v1 custom roles (`/v1/{organizations/ID|projects/PROJECT_ID}/roles[/ROLE_ID][:undelete]`):
//! list (`view`, `showDeleted`, paging), get, create, patch (with `updateMask` and `etag`),
//! delete and undelete, as IAM's reference describes them. A deleted role can be undeleted for
//! 7 days; then it is deleted for good, every binding naming it is removed from every policy,
//! and its id cannot be used again until 37 days after the deletion.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::api::GcpError;
use super::model::Org;

/// How long a deleted custom role can be undeleted.
pub const UNDELETE_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long after its deletion a custom role's id stays unusable.
pub const REUSE_AFTER: Duration = Duration::from_secs(37 * 24 * 3600);

/// The launch stages a custom role may have.
const STAGES: &[&str] = &["ALPHA", "BETA", "GA", "DEPRECATED", "DISABLED", "EAP"];

/// A custom role of the organization or of a project.
#[derive(Debug, Clone)]
pub struct Role {
    /// `organizations/ID/roles/ROLE_ID` or `projects/PROJECT_ID/roles/ROLE_ID`.
    pub name: String,
    pub title: String,
    pub description: String,
    pub permissions: Vec<String>,
    pub stage: String,
    /// When it was deleted; `None` while it lives.
    pub deleted_at: Option<SystemTime>,
    /// Bumped on every write; the etag is derived from it.
    pub serial: u64,
}

impl Role {
    pub fn etag(&self) -> String {
        STANDARD.encode(format!("BwRl{:06}", self.serial))
    }

    fn json(&self, full: bool) -> Value {
        let mut v = json!({"name": self.name, "title": self.title, "stage": self.stage, "etag": self.etag()});
        if !self.description.is_empty() {
            v["description"] = self.description.clone().into();
        }
        if full && !self.permissions.is_empty() {
            v["includedPermissions"] = json!(self.permissions);
        }
        if self.deleted_at.is_some() {
            v["deleted"] = true.into();
        }
        v
    }
}

/// Deletes for good the roles deleted longer than [`UNDELETE_WINDOW`] ago (with every binding
/// naming them), and frees the ids of those deleted longer than [`REUSE_AFTER`] ago.
pub fn expire(org: &mut Org, now: SystemTime) {
    let age = |t: SystemTime| now.duration_since(t).unwrap_or_default();
    let gone: Vec<(String, SystemTime)> = org
        .roles
        .values()
        .filter_map(|r| r.deleted_at.map(|t| (r.name.clone(), t)))
        .filter(|(_, t)| age(*t) >= UNDELETE_WINDOW)
        .collect();
    for (name, deleted_at) in gone {
        org.roles.remove(&name);
        org.reserved_roles.insert(name.clone(), deleted_at);
        for r in org.resources.values_mut() {
            let before = r.policy.bindings.len();
            r.policy.bindings.retain(|b| b["role"] != name.as_str());
            if r.policy.bindings.len() != before {
                r.policy.serial += 1;
            }
        }
    }
    org.reserved_roles.retain(|_, t| age(*t) < REUSE_AFTER);
    let deleted = org.roles.values().filter_map(|r| r.deleted_at);
    let undeletable = deleted.map(|t| t + UNDELETE_WINDOW);
    let held = org.reserved_roles.values().map(|t| *t + REUSE_AFTER);
    org.next_expiry = undeletable.chain(held).min();
}

/// Whether `role` may be newly bound: a predefined role, or a custom role that exists and is
/// not deleted.
pub fn bindable(org: &Org, role: &str) -> bool {
    !role.contains("/roles/") || org.roles.get(role).is_some_and(|r| r.deleted_at.is_none())
}

fn parent_exists(org: &Org, parent: &str) -> bool {
    match parent.split_once('/') {
        Some(("organizations", id)) => id == org.id,
        Some(("projects", id)) => org
            .resources
            .values()
            .any(|r| r.project_id.as_deref() == Some(id)),
        _ => false,
    }
}

fn page(query: &HashMap<String, String>, all: Vec<Value>) -> Result<Value, GcpError> {
    // The reference: at most 1,000 per page, 300 when not given.
    let size = query
        .get("pageSize")
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(300)
        .min(1000);
    let start: usize = match query.get("pageToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => t
            .strip_prefix("rl-")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| GcpError::invalid("Invalid page token."))?,
    };
    let mut out = json!({});
    let items: Vec<Value> = all.iter().skip(start).take(size).cloned().collect();
    if !items.is_empty() {
        out["roles"] = Value::Array(items);
    }
    if start + size < all.len() {
        out["nextPageToken"] = format!("rl-{}", start + size).into();
    }
    Ok(out)
}

fn not_found(name: &str) -> GcpError {
    GcpError::new(
        404,
        "NOT_FOUND",
        format!("The role named {name} was not found."),
    )
}

fn stale(role: &Role, etag: Option<&str>) -> Result<(), GcpError> {
    match etag.filter(|e| !e.is_empty()) {
        Some(e) if e != role.etag() => Err(GcpError::new(
            409,
            "ABORTED",
            "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.",
        )),
        _ => Ok(()),
    }
}

fn set_fields(role: &mut Role, body: &Value, mask: &[&str]) -> Result<(), GcpError> {
    let wants = |f: &str| mask.is_empty() || mask.contains(&f);
    if wants("title") {
        let title = body["title"].as_str().unwrap_or_default();
        if title.chars().count() > 100 {
            return Err(GcpError::invalid(
                "The role title must be at most 100 characters.",
            ));
        }
        role.title = title.to_string();
    }
    if wants("description") {
        let description = body["description"].as_str().unwrap_or_default();
        if description.chars().count() > 256 {
            return Err(GcpError::invalid(
                "The role description must be at most 256 characters.",
            ));
        }
        role.description = description.to_string();
    }
    if wants("includedPermissions") {
        let mut permissions = Vec::new();
        for p in body["includedPermissions"].as_array().into_iter().flatten() {
            let p = p.as_str().unwrap_or_default();
            if p.split('.').count() < 3 || p.split('.').any(str::is_empty) {
                return Err(GcpError::invalid(format!("Permission {p} is not valid.")));
            }
            permissions.push(p.to_string());
        }
        role.permissions = permissions;
    }
    if wants("stage") {
        let stage = body["stage"].as_str().unwrap_or("ALPHA");
        if !STAGES.contains(&stage) {
            return Err(GcpError::invalid(format!(
                "Invalid value at 'role.stage' ({stage})."
            )));
        }
        role.stage = stage.to_string();
    }
    Ok(())
}

/// `/v1/{parent}/roles[/{id}][:undelete]`.
pub fn handle(
    org: &mut Org,
    method: &str,
    path: &str,
    query: &HashMap<String, String>,
    body: &Value,
) -> Result<Value, GcpError> {
    let (path, verb) = match path.rsplit_once(':') {
        Some((p, v)) if !v.contains('/') => (p, Some(v)),
        _ => (path, None),
    };
    let parts: Vec<&str> = path.split('/').collect();
    let (parent, id) = match parts[..] {
        [kind, p, "roles"] => (format!("{kind}/{p}"), None),
        [kind, p, "roles", id] => (format!("{kind}/{p}"), Some(id)),
        _ => unreachable!("routed here for roles paths only"),
    };
    if !parent_exists(org, &parent) {
        return Err(GcpError::not_found(&parent));
    }
    let name = id.map(|id| format!("{parent}/roles/{id}"));
    match (method, name, verb) {
        ("GET", None, None) => {
            let deleted = query.get("showDeleted").is_some_and(|v| v == "true");
            let full = query.get("view").is_some_and(|v| v == "FULL");
            let prefix = format!("{parent}/roles/");
            let all = org
                .roles
                .values()
                .filter(|r| r.name.starts_with(&prefix) && (deleted || r.deleted_at.is_none()))
                .map(|r| r.json(full))
                .collect();
            page(query, all)
        }
        ("GET", Some(name), None) => org
            .roles
            .get(&name)
            .map(|r| r.json(true))
            .ok_or_else(|| not_found(&name)),
        ("POST", None, None) => {
            let role_id = body["roleId"].as_str().unwrap_or_default();
            let valid = (3..=64).contains(&role_id.len())
                && role_id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
            if !valid {
                return Err(GcpError::invalid(format!(
                    "The role_id ({role_id}) is invalid: 3 to 64 letters, digits, underscores and periods."
                )));
            }
            let name = format!("{parent}/roles/{role_id}");
            if org.roles.contains_key(&name) {
                return Err(GcpError::new(
                    409,
                    "ALREADY_EXISTS",
                    format!("A role named {role_id} in {parent} already exists."),
                ));
            }
            if org.reserved_roles.contains_key(&name) {
                return Err(GcpError::new(
                    400,
                    "FAILED_PRECONDITION",
                    format!(
                        "You can't create a role_id ({role_id}) which has been marked for deletion."
                    ),
                ));
            }
            let mut role = Role {
                name: name.clone(),
                title: String::new(),
                description: String::new(),
                permissions: Vec::new(),
                stage: "ALPHA".into(),
                deleted_at: None,
                serial: 1,
            };
            set_fields(&mut role, &body["role"], &[])?;
            let out = role.json(true);
            org.roles.insert(name, role);
            Ok(out)
        }
        ("PATCH", Some(name), None) => {
            let role = org.roles.get_mut(&name).ok_or_else(|| not_found(&name))?;
            stale(role, body["etag"].as_str())?;
            if role.deleted_at.is_some() {
                return Err(GcpError::new(
                    400,
                    "FAILED_PRECONDITION",
                    format!("You can't update a deleted role ({name})."),
                ));
            }
            let mask: Vec<&str> = query
                .get("updateMask")
                .map(|m| m.split(',').map(str::trim).collect())
                .unwrap_or_default();
            let mut next = role.clone();
            set_fields(&mut next, body, &mask)?;
            next.serial += 1;
            *role = next;
            Ok(role.json(true))
        }
        ("DELETE", Some(name), None) => {
            let role = org.roles.get_mut(&name).ok_or_else(|| not_found(&name))?;
            stale(role, query.get("etag").map(String::as_str))?;
            if role.deleted_at.is_some() {
                return Err(GcpError::new(
                    400,
                    "FAILED_PRECONDITION",
                    format!("The role {name} is already deleted."),
                ));
            }
            let now = SystemTime::now();
            role.deleted_at = Some(now);
            role.serial += 1;
            let out = role.json(true);
            let due = now + UNDELETE_WINDOW;
            org.next_expiry = Some(org.next_expiry.map_or(due, |t| t.min(due)));
            Ok(out)
        }
        ("POST", Some(name), Some("undelete")) => {
            let role = org.roles.get_mut(&name).ok_or_else(|| not_found(&name))?;
            stale(role, body["etag"].as_str())?;
            if role.deleted_at.is_none() {
                return Err(GcpError::new(
                    400,
                    "FAILED_PRECONDITION",
                    format!("The role {name} is not deleted."),
                ));
            }
            role.deleted_at = None;
            role.serial += 1;
            Ok(role.json(true))
        }
        (method, _, _) => Err(GcpError::new(
            404,
            "NOT_FOUND",
            format!("{method} /v1/{path} is not an API method."),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gcp::model::{SeedSpec, seed};

    fn org() -> Org {
        seed(&SeedSpec {
            org: "1".into(),
            folders: 1,
            projects: 2,
            service_accounts: 0,
            custom_roles: 2,
            deny_policies: 0,
            seed: 1,
        })
    }

    #[test]
    fn a_deleted_role_is_undeletable_for_7_days_then_gone_with_its_bindings_and_its_id_held() {
        let mut org = org();
        let role = org.roles.keys().next().unwrap().clone();
        let (parent, id) = role.split_once("/roles/").unwrap();
        let path = format!("{parent}/roles");
        let none = HashMap::new();
        handle(&mut org, "DELETE", &role, &none, &Value::Null).unwrap();
        assert!(!bindable(&org, &role));
        let listed = handle(&mut org, "GET", &path, &none, &Value::Null).unwrap();
        assert!(listed.get("roles").is_none(), "hidden without showDeleted");
        let deleted_at = SystemTime::now() - UNDELETE_WINDOW - Duration::from_secs(60);
        org.roles.get_mut(&role).unwrap().deleted_at = Some(deleted_at);
        expire(&mut org, SystemTime::now());
        assert!(
            org.resources.values().all(|r| r
                .policy
                .bindings
                .iter()
                .all(|b| b["role"] != role.as_str())),
            "its bindings are removed"
        );
        let undelete = format!("{role}:undelete");
        assert_eq!(
            handle(&mut org, "POST", &undelete, &none, &json!({}))
                .unwrap_err()
                .code,
            404
        );
        let create = json!({"roleId": id, "role": {"title": "again"}});
        let refused = handle(&mut org, "POST", &path, &none, &create).unwrap_err();
        assert_eq!((refused.code, refused.status), (400, "FAILED_PRECONDITION"));
        expire(&mut org, SystemTime::now() + REUSE_AFTER);
        handle(&mut org, "POST", &path, &none, &create).unwrap();
    }

    #[test]
    fn nothing_is_due_until_a_role_is_deleted() {
        let mut org = org();
        expire(&mut org, SystemTime::now());
        assert_eq!(org.next_expiry, None);
        let role = org.roles.keys().next().unwrap().clone();
        handle(&mut org, "DELETE", &role, &HashMap::new(), &Value::Null).unwrap();
        let due = org.next_expiry.expect("a deleted role is due");
        assert!(due > SystemTime::now() + UNDELETE_WINDOW - Duration::from_secs(60));
        expire(&mut org, due);
        assert!(!org.roles.contains_key(&role), "gone for good once due");
        assert_eq!(
            org.next_expiry,
            Some(org.reserved_roles[&role] + REUSE_AFTER),
            "next due: its id freed"
        );
    }

    #[test]
    fn a_patch_with_a_stale_etag_is_refused() {
        let mut org = org();
        let role = org.roles.keys().next().unwrap().clone();
        let none = HashMap::new();
        let read = handle(&mut org, "GET", &role, &none, &Value::Null).unwrap();
        let mut mask = HashMap::new();
        mask.insert("updateMask".to_string(), "title".to_string());
        let body = json!({"title": "New", "etag": read["etag"]});
        handle(&mut org, "PATCH", &role, &mask, &body).unwrap();
        assert_eq!(
            handle(&mut org, "PATCH", &role, &mask, &body)
                .unwrap_err()
                .code,
            409
        );
    }
}
