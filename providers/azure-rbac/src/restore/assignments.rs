//! Role assignments: created under a new GUID with the role definition id of the live role
//! (a re-created custom role through the id map, a built-in one by name), retried while ARM
//! has not yet replicated a role just created; `409 RoleAssignmentExists` means an earlier run
//! made it already.

use std::time::{Duration, Instant};

use iamsnap_provider::{Outcome, ProviderError, Record, same_state};
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{Restore, new_guid, text};
use crate::client::{LOCKS_API, RBAC_API, arm_code};
use crate::kinds::{ROLE_ASSIGNMENT, ROLE_DEFINITION};
use crate::read::fetch;

/// How long a role definition just created may stay unknown to role assignment creation
/// (ARM replicates it within seconds, rarely longer).
pub(super) const ROLE_REPLICATION: Duration = Duration::from_secs(60);
/// How long a principal may stay unknown: one created a moment ago (by an Entra restore) is
/// replicated within seconds; one that stays unknown longer is gone.
pub(super) const PRINCIPAL_REPLICATION: Duration = Duration::from_secs(8);

/// What the operator does about an assignment whose principal is gone.
pub(super) fn principal_gone(record: &Record) -> String {
    if let Some(p) = crate::directory::Principal::from_attrs(&record.attrs["principal"]) {
        return format!(
            "ARM does not know {} under the id the directory gives it: if it was re-created a moment ago, run this restore again in a few minutes",
            p.describe()
        );
    }
    format!(
        "its principal {} ({}) no longer exists in the directory: restore it first (an Entra restore brings deleted users, groups and service principals back from the recycle bin under the same id), then run this restore again; a principal deleted for good comes back under a new id, so assign {} at {} to it by hand",
        text(record, "principalId"),
        text(record, "principalType"),
        text(record, "roleName"),
        text(record, "scope"),
    )
}

/// The subscription scope a scope lies in.
fn subscription(scope: &str) -> Option<String> {
    let mut parts = scope.split('/').filter(|s| !s.is_empty());
    match (parts.next(), parts.next()) {
        (Some(s), Some(id)) if s.eq_ignore_ascii_case("subscriptions") => {
            Some(format!("/subscriptions/{id}"))
        }
        _ => None,
    }
}

/// The live role definition id for `desired`'s role, as seen from its subscription.
pub(super) async fn definition_id(
    restore: &Restore<'_>,
    desired: &Record,
) -> Result<String, ProviderError> {
    let client = restore.client;
    let scope = text(desired, "scope");
    let sub = subscription(scope).unwrap_or_default();
    if let Some(role) = desired.target("role") {
        let guid = restore
            .ids
            .live_id(ROLE_DEFINITION, &role.id)
            .unwrap_or_else(|| role.id.clone());
        return Ok(format!(
            "{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
        ));
    }
    let name = text(desired, "roleName");
    let filter = format!("roleName eq '{}'", name.replace('\'', "''"));
    let url = client.url(
        &format!("{sub}/providers/Microsoft.Authorization/roleDefinitions"),
        RBAC_API,
        &[("$filter", &filter)],
    );
    let found = client.all(url).await?;
    found
        .iter()
        .find_map(|d| d["id"].as_str().map(str::to_string))
        .ok_or_else(|| ProviderError::Precondition {
            kind: desired.kind.clone(),
            key: desired.key.clone(),
            message: format!("no role named {name:?} can be assigned at {scope}"),
        })
}

/// The body of a role assignment `PUT`; `Err` with the reason to skip when its principal is
/// not in the directory.
async fn body(
    restore: &Restore<'_>,
    desired: &Record,
) -> Result<Result<Value, String>, ProviderError> {
    let principal = match restore.principal_id(desired).await? {
        Ok(id) => id,
        Err(reason) => return Ok(Err(reason)),
    };
    let mut properties = Map::new();
    properties.insert(
        "roleDefinitionId".into(),
        json!(definition_id(restore, desired).await?),
    );
    properties.insert("principalId".into(), json!(principal));
    for field in [
        "principalType",
        "description",
        "condition",
        "conditionVersion",
    ] {
        if let Some(v) = desired.attrs.get(field) {
            properties.insert(field.into(), v.clone());
        }
    }
    Ok(Ok(json!({"properties": properties})))
}

fn path(scope: &str, name: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}")
}

pub(super) async fn create(
    restore: &Restore<'_>,
    desired: &Record,
) -> Result<Outcome, ProviderError> {
    let client = restore.client;
    let body = match body(restore, desired).await? {
        Ok(body) => body,
        Err(reason) => return Ok(Outcome::Skipped { reason }),
    };
    let url = client.url(&path(text(desired, "scope"), &new_guid()), RBAC_API, &[]);
    let started = Instant::now();
    let mut wait = Duration::from_millis(500);
    loop {
        let error = match client.send(Method::PUT, &url, Some(&body)).await {
            Ok(answer) => {
                let id = answer
                    .as_ref()
                    .and_then(|a| a["id"].as_str())
                    .map(str::to_string)
                    .unwrap_or_else(|| url.path().to_string());
                return Ok(Outcome::Applied { id });
            }
            Err(e) => e,
        };
        let window = match arm_code(&error, 400) {
            Some("RoleDefinitionDoesNotExist") => ROLE_REPLICATION,
            Some("PrincipalNotFound") => PRINCIPAL_REPLICATION,
            _ => Duration::ZERO,
        };
        if arm_code(&error, 409) == Some("RoleAssignmentExists") {
            return existing(restore, desired).await;
        }
        if started.elapsed() + wait > window {
            if arm_code(&error, 400) == Some("PrincipalNotFound") {
                return Ok(Outcome::Skipped {
                    reason: principal_gone(desired),
                });
            }
            return Err(error);
        }
        tracing::debug!(key = %desired.key, wait_ms = wait.as_millis() as u64, error = %error, "not replicated yet; retrying");
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(8));
    }
}

/// The assignment exists already (an earlier run made it): brought to the snapshot's
/// description and condition if they differ.
async fn existing(restore: &Restore<'_>, desired: &Record) -> Result<Outcome, ProviderError> {
    let Some(live) = fetch::assignment(&restore.reader(), &desired.key).await? else {
        return Err(ProviderError::Precondition {
            kind: desired.kind.clone(),
            key: desired.key.clone(),
            message: "ARM says the role assignment exists, but it is not listed at its scope; run the restore again in a minute".into(),
        });
    };
    let wanted = iamsnap_provider::to_live(desired, restore.ids);
    if same_state(&wanted, &live) {
        return Ok(Outcome::AlreadyDone { id: live.id });
    }
    update(restore, desired, &live).await
}

pub(super) async fn update(
    restore: &Restore<'_>,
    desired: &Record,
    current: &Record,
) -> Result<Outcome, ProviderError> {
    let client = restore.client;
    let body = match body(restore, desired).await? {
        Ok(body) => body,
        Err(reason) => return Ok(Outcome::Skipped { reason }),
    };
    client
        .send(
            Method::PUT,
            &client.url(crate::records::arm_id(&current.id), RBAC_API, &[]),
            Some(&body),
        )
        .await?;
    Ok(Outcome::Applied {
        id: current.id.clone(),
    })
}

/// Deletes a live assignment the snapshot lacks. A lock at its scope or above makes ARM refuse
/// (`409 ScopeLocked`): the operation is skipped with the locks to lift, never retried.
pub(super) async fn delete(
    restore: &Restore<'_>,
    current: &Record,
) -> Result<Outcome, ProviderError> {
    let client = restore.client;
    let sent = client
        .send(
            Method::DELETE,
            &client.url(crate::records::arm_id(&current.id), RBAC_API, &[]),
            None,
        )
        .await;
    match sent {
        Ok(_) => Ok(Outcome::Applied {
            id: current.id.clone(),
        }),
        Err(e) if arm_code(&e, 409) == Some("ScopeLocked") => Ok(Outcome::Skipped {
            reason: locked(restore, current).await?,
        }),
        Err(e) => Err(e),
    }
}

/// What the operator does about an assignment ARM will not delete: the locks at its scope or
/// above, by id and level, to lift for the time of the restore.
async fn locked(restore: &Restore<'_>, current: &Record) -> Result<String, ProviderError> {
    let client = restore.client;
    let scope = text(current, "scope");
    let url = client.url(
        &format!("{scope}/providers/Microsoft.Authorization/locks"),
        LOCKS_API,
        &[],
    );
    let mut locks: Vec<String> = client
        .all(url)
        .await?
        .iter()
        .filter_map(|l| {
            let id = l["id"].as_str()?;
            let at = crate::records::lock_scope(id)?;
            crate::read::within(at, scope).then(|| {
                format!(
                    "{id} ({})",
                    l["properties"]["level"].as_str().unwrap_or("locked")
                )
            })
        })
        .collect();
    locks.sort();
    let which = if locks.is_empty() {
        "a lock at its scope or above".to_string()
    } else {
        locks.join(", ")
    };
    Ok(format!(
        "ARM refuses to delete it while {which} stands (ScopeLocked): remove the lock, run this restore again with --kinds {ROLE_ASSIGNMENT}, then once more without --kinds to put the lock back if the snapshot holds it"
    ))
}
