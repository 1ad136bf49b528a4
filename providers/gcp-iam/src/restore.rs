//! Restore: every change is a read-modify-write of one policy with its etag. A 409 (another
//! writer moved the etag between our read and our write) re-reads and tries again, so a change
//! made meanwhile is kept, never overwritten.

use std::time::Duration;

use iamsnap_provider::{Action, Operation, Outcome, ProviderError, Record};
use serde_json::{Value, json};

use crate::client::Client;
use crate::kinds::{
    AUDIT_CONFIG, CUSTOM_ROLE, DENY_POLICY, IAM_MEMBER, SERVICE_ACCOUNT, SERVICE_ACCOUNT_KEY,
    SERVICE_ACCOUNT_MEMBER,
};
use crate::roles::Roles;

/// Read-modify-write rounds before giving up on a policy that keeps moving.
const ROUNDS: u32 = 8;

/// Applies `edit` to `resource`'s live policy and writes it back with the etag read; `edit`
/// returns false when the policy already is as wanted.
async fn modify(
    client: &Client,
    resource: &str,
    mask: &str,
    edit: impl Fn(&mut Value) -> bool,
) -> Result<bool, ProviderError> {
    for round in 1..=ROUNDS {
        let mut policy = client.get_policy(resource).await?;
        if !edit(&mut policy) {
            return Ok(false);
        }
        // Conditions need version 3; it reads and writes unconditional policies alike.
        policy["version"] = json!(3);
        match client.set_policy(resource, &policy, mask).await {
            Ok(_) => return Ok(true),
            Err(e) if iamsnap_http::status_of(&e) == Some(409) && round < ROUNDS => {
                tracing::debug!(
                    resource,
                    round,
                    "the policy changed since it was read; reading it again"
                );
                tokio::time::sleep(Duration::from_millis(100 * u64::from(round))).await;
            }
            Err(e) => return Err(e),
        }
    }
    unreachable!("the last round returns")
}

fn same_binding(binding: &Value, role: &str, condition: Option<&Value>) -> bool {
    binding["role"] == role && binding.get("condition").filter(|c| c.is_object()) == condition
}

/// Adds or removes one member of one binding.
fn edit_member(policy: &mut Value, attrs: &Value, add: bool) -> bool {
    let role = attrs["role"].as_str().unwrap_or_default();
    let member = &attrs["member"];
    let condition = attrs.get("condition").filter(|c| c.is_object());
    if !policy["bindings"].is_array() {
        policy["bindings"] = json!([]);
    }
    let bindings = policy["bindings"].as_array_mut().expect("set above");
    let found = bindings
        .iter_mut()
        .find(|b| same_binding(b, role, condition));
    match (found, add) {
        (Some(b), true) => {
            let members = b["members"].as_array_mut();
            match members {
                Some(m) if m.contains(member) => false,
                Some(m) => {
                    m.push(member.clone());
                    true
                }
                None => {
                    b["members"] = json!([member]);
                    true
                }
            }
        }
        (None, true) => {
            let mut b = json!({"role": role, "members": [member]});
            if let Some(c) = condition {
                b["condition"] = c.clone();
            }
            bindings.push(b);
            true
        }
        (Some(b), false) => {
            let Some(m) = b["members"].as_array_mut() else {
                return false;
            };
            let before = m.len();
            m.retain(|x| x != member);
            let changed = m.len() != before;
            bindings.retain(|b| b["members"].as_array().is_some_and(|m| !m.is_empty()));
            changed
        }
        (None, false) => false,
    }
}

/// Sets (`Some`) or removes (`None`) one service's audit config.
fn edit_audit(policy: &mut Value, service: &str, logs: Option<&Value>) -> bool {
    if !policy["auditConfigs"].is_array() {
        policy["auditConfigs"] = json!([]);
    }
    let configs = policy["auditConfigs"].as_array_mut().expect("set above");
    let at = configs.iter().position(|c| c["service"] == service);
    match (at, logs) {
        (Some(i), Some(logs)) => {
            let wanted = json!({"service": service, "auditLogConfigs": logs});
            if crate::records::of_policy("x", &json!({"auditConfigs": [configs[i].clone()]}))
                == crate::records::of_policy("x", &json!({"auditConfigs": [wanted.clone()]}))
            {
                return false;
            }
            configs[i] = wanted;
            true
        }
        (None, Some(logs)) => {
            configs.push(json!({"service": service, "auditLogConfigs": logs}));
            true
        }
        (Some(i), None) => {
            configs.remove(i);
            true
        }
        (None, None) => false,
    }
}

/// Performs one operation.
pub(crate) async fn apply(
    client: &Client,
    roles: &Roles,
    op: &Operation,
) -> Result<Outcome, ProviderError> {
    let record: &Record = match op.action {
        Action::Delete => op.current.as_ref(),
        _ => op.desired.as_ref(),
    }
    .ok_or_else(|| ProviderError::Precondition {
        kind: op.kind.clone(),
        key: op.key.clone(),
        message: "the operation carries no record".into(),
    })?;
    if op.kind == SERVICE_ACCOUNT {
        return crate::accounts::apply(client, op, record).await;
    }
    if op.kind == CUSTOM_ROLE {
        return roles.apply(client, op, record).await;
    }
    if op.kind == SERVICE_ACCOUNT_KEY {
        return crate::keys::apply(client, op, record).await;
    }
    if op.kind == DENY_POLICY {
        return crate::deny::apply(client, op, record).await;
    }
    let mut attrs = record.attrs.clone();
    // A member of a role created again under another id is granted that one.
    let role = attrs["role"].as_str().unwrap_or_default().to_string();
    let stand_in = roles
        .stand_in(&role)
        .filter(|_| op.action == Action::Create);
    if let Some(n) = &stand_in {
        attrs["role"] = n.clone().into();
    }
    let attrs = &attrs;
    let resource = attrs["resource"].as_str().unwrap_or_default().to_string();
    let changed = match op.kind.as_str() {
        IAM_MEMBER | SERVICE_ACCOUNT_MEMBER => {
            let add = op.action != Action::Delete;
            let written = modify(client, &resource, "bindings,etag", |p| {
                edit_member(p, attrs, add)
            })
            .await;
            match written {
                // A custom role deleted for good (and not created again) cannot be granted.
                Err(ProviderError::Http {
                    status: 400,
                    message,
                    ..
                }) if add && role.contains("/roles/") && message.contains("does not exist") => {
                    return Ok(Outcome::Skipped {
                        reason: format!(
                            "its custom role {role} no longer exists (deleted for good): restore the role first (with --rename-deleted-roles while IAM holds its id), then restore again"
                        ),
                    });
                }
                other => other?,
            }
        }
        AUDIT_CONFIG => {
            let service = attrs["service"].as_str().unwrap_or_default();
            let logs = (op.action != Action::Delete).then_some(&attrs["auditLogConfigs"]);
            modify(client, &resource, "auditConfigs,etag", |p| {
                edit_audit(p, service, logs)
            })
            .await?
        }
        other => {
            return Err(ProviderError::Unsupported {
                kind: other.to_string(),
                key: op.key.clone(),
                action: format!("{:?}", op.action).to_lowercase(),
                reason: "this connector has no such kind".into(),
            });
        }
    };
    if let Some(n) = stand_in {
        return Ok(Outcome::Skipped {
            reason: format!("granted {n} instead, which stands in for {role}"),
        });
    }
    Ok(if changed {
        Outcome::Applied {
            id: record.id.clone(),
        }
    } else {
        Outcome::AlreadyDone {
            id: record.id.clone(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_keeps_other_members_and_removing_drops_empty_bindings() {
        let mut policy =
            json!({"bindings": [{"role": "roles/viewer", "members": ["user:live@example.com"]}]});
        let attrs = json!({"resource": "projects/p", "role": "roles/viewer", "member": "user:a@example.com"});
        assert!(edit_member(&mut policy, &attrs, true));
        assert!(!edit_member(&mut policy, &attrs, true));
        assert_eq!(
            policy["bindings"][0]["members"],
            json!(["user:live@example.com", "user:a@example.com"])
        );
        let live = json!({"resource": "projects/p", "role": "roles/viewer", "member": "user:live@example.com"});
        assert!(edit_member(&mut policy, &live, false));
        assert!(edit_member(&mut policy, &attrs, false));
        assert_eq!(policy["bindings"], json!([]));
    }

    #[test]
    fn a_conditional_member_goes_to_the_binding_with_that_exact_condition() {
        let cond = json!({"title": "t", "expression": "request.time < timestamp(\"2030-01-01T00:00:00Z\")"});
        let mut policy =
            json!({"bindings": [{"role": "roles/viewer", "members": ["user:x@example.com"]}]});
        let attrs =
            json!({"role": "roles/viewer", "member": "user:x@example.com", "condition": cond});
        assert!(edit_member(&mut policy, &attrs, true));
        assert_eq!(policy["bindings"][1]["condition"], cond);
        assert_eq!(
            policy["bindings"][0]["members"],
            json!(["user:x@example.com"])
        );
    }
}
