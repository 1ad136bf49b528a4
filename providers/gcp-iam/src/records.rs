//! IAM policies turned into records: one per member of each binding, one per audited service.

use iamsnap_provider::Record;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::kinds::{
    AUDIT_CONFIG, CUSTOM_ROLE, IAM_MEMBER, SERVICE_ACCOUNT, SERVICE_ACCOUNT_KEY,
    SERVICE_ACCOUNT_MEMBER,
};

/// `RESOURCE ROLE[ if "TITLE" #HASH]`: what names a binding in keys.
pub(crate) fn binding_label(resource: &str, role: &str, condition: Option<&Value>) -> String {
    match condition {
        None => format!("{resource} {role}"),
        Some(c) => {
            let hash = Sha256::digest(c["expression"].as_str().unwrap_or("").as_bytes());
            let hex: String = hash[..4].iter().map(|b| format!("{b:02x}")).collect();
            format!(
                "{resource} {role} if {:?} #{hex}",
                c["title"].as_str().unwrap_or("")
            )
        }
    }
}

/// The records of `resource`'s policy (read at version 3): a service account's own policy
/// gives records of their own kind, the same shape.
pub(crate) fn of_policy(resource: &str, policy: &Value) -> Vec<Record> {
    let kind = if crate::client::is_account(resource) {
        SERVICE_ACCOUNT_MEMBER
    } else {
        IAM_MEMBER
    };
    let mut out = Vec::new();
    for binding in policy["bindings"].as_array().into_iter().flatten() {
        let role = binding["role"].as_str().unwrap_or_default();
        let condition = binding.get("condition").filter(|c| c.is_object());
        let label = binding_label(resource, role, condition);
        for member in binding["members"].as_array().into_iter().flatten() {
            let member = member.as_str().unwrap_or_default();
            let key = format!("{label}|{member}");
            let mut attrs = json!({"resource": resource, "role": role, "member": member});
            if let Some(c) = condition {
                attrs["condition"] = c.clone();
            }
            out.push(Record::new(kind, key.clone(), key, attrs, vec![]));
        }
    }
    for config in policy["auditConfigs"].as_array().into_iter().flatten() {
        let service = config["service"].as_str().unwrap_or_default();
        let key = format!("{resource}|{service}");
        let mut logs: Vec<Value> = config["auditLogConfigs"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for l in &mut logs {
            if let Some(m) = l.get_mut("exemptedMembers").and_then(Value::as_array_mut) {
                m.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
        }
        logs.sort_by(|a, b| a["logType"].as_str().cmp(&b["logType"].as_str()));
        let attrs = json!({"resource": resource, "service": service, "auditLogConfigs": logs});
        out.push(Record::new(AUDIT_CONFIG, key.clone(), key, attrs, vec![]));
    }
    out
}

/// The resource a key belongs to: what comes before the first space or `|`.
pub(crate) fn resource_of(key: &str) -> &str {
    key.split([' ', '|']).next().unwrap_or(key)
}

/// A service account as IAM v1 shows it.
pub(crate) fn service_account(account: &Value) -> Record {
    let text = |f: &str| account[f].as_str().unwrap_or_default().to_string();
    let attrs = json!({
        "email": text("email"),
        "projectId": text("projectId"),
        "displayName": text("displayName"),
        "description": text("description"),
        "disabled": account["disabled"].as_bool().unwrap_or(false),
    });
    Record::new(
        SERVICE_ACCOUNT,
        text("uniqueId"),
        text("email"),
        attrs,
        vec![],
    )
}

/// A user-managed key as IAM v1 lists it: what names it and when it is valid. The list never
/// carries the private half, and the public half is left out as it says nothing a restore
/// could use.
pub(crate) fn service_account_key(key: &Value) -> Record {
    let name = key["name"].as_str().unwrap_or_default();
    let (account, id) = name.split_once("/keys/").unwrap_or((name, ""));
    let text = |f: &str| key[f].as_str().unwrap_or_default();
    let attrs = json!({
        "serviceAccount": account.rsplit('/').next().unwrap_or_default(),
        "keyId": id,
        "keyAlgorithm": text("keyAlgorithm"),
        "keyOrigin": text("keyOrigin"),
        "validAfterTime": text("validAfterTime"),
        "validBeforeTime": text("validBeforeTime"),
        "disabled": key["disabled"].as_bool().unwrap_or(false),
    });
    Record::new(SERVICE_ACCOUNT_KEY, name, name, attrs, vec![])
}

/// A custom role as IAM v1 shows it (`view=FULL`), its permissions sorted; `None` for a
/// deleted one, which grants nothing.
pub(crate) fn live_role(role: &Value) -> Option<Record> {
    (role["deleted"] != true).then(|| custom_role(role))
}

/// A custom role as IAM v1 shows it (`view=FULL`), its permissions sorted.
pub(crate) fn custom_role(role: &Value) -> Record {
    let name = role["name"].as_str().unwrap_or_default();
    let (parent, role_id) = name.split_once("/roles/").unwrap_or((name, ""));
    let mut permissions: Vec<&str> = role["includedPermissions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    permissions.sort_unstable();
    permissions.dedup();
    let attrs = json!({
        "parent": parent,
        "roleId": role_id,
        "title": role["title"].as_str().unwrap_or_default(),
        "description": role["description"].as_str().unwrap_or_default(),
        "includedPermissions": permissions,
        // A role created without a stage is ALPHA.
        "stage": role["stage"].as_str().unwrap_or("ALPHA"),
    });
    Record::new(CUSTOM_ROLE, name, name, attrs, vec![])
}
