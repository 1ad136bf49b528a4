//! Role assignments: created under a new GUID with the role definition id of the live role
//! (a re-created custom role through the id map, a built-in one by name), retried while ARM
//! has not yet replicated a role just created; `409 RoleAssignmentExists` means an earlier run
//! made it already.

use std::time::{Duration, Instant};

use iamsnap_provider::{Outcome, ProviderError, Record, same_state};
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{Restore, new_guid, text};
use crate::client::{RBAC_API, arm_code};
use crate::kinds::ROLE_DEFINITION;
use crate::read::fetch;

/// How long a role definition just created may stay unknown to role assignment creation
/// (ARM replicates it within seconds, rarely longer).
pub(super) const ROLE_REPLICATION: Duration = Duration::from_secs(60);
/// How long a principal may stay unknown: one created a moment ago (by an Entra restore) is
/// replicated within seconds; one that stays unknown longer is gone.
pub(super) const PRINCIPAL_REPLICATION: Duration = Duration::from_secs(8);

/// What the operator does about an assignment whose principal is gone.
pub(super) fn principal_gone(record: &Record) -> String {
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

async fn body(restore: &Restore<'_>, desired: &Record) -> Result<Value, ProviderError> {
    let mut properties = Map::new();
    properties.insert(
        "roleDefinitionId".into(),
        json!(definition_id(restore, desired).await?),
    );
    for field in [
        "principalId",
        "principalType",
        "description",
        "condition",
        "conditionVersion",
    ] {
        if let Some(v) = desired.attrs.get(field) {
            properties.insert(field.into(), v.clone());
        }
    }
    Ok(json!({"properties": properties}))
}

fn path(scope: &str, name: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}")
}

pub(super) async fn create(
    restore: &Restore<'_>,
    desired: &Record,
) -> Result<Outcome, ProviderError> {
    let client = restore.client;
    let body = body(restore, desired).await?;
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
    let Some(live) = fetch::assignment(restore.client, &desired.key).await? else {
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
    let body = body(restore, desired).await?;
    client
        .send(
            Method::PUT,
            &client.url(&current.id, RBAC_API, &[]),
            Some(&body),
        )
        .await?;
    Ok(Outcome::Applied {
        id: current.id.clone(),
    })
}

pub(super) async fn delete(
    restore: &Restore<'_>,
    current: &Record,
) -> Result<Outcome, ProviderError> {
    let client = restore.client;
    client
        .send(
            Method::DELETE,
            &client.url(&current.id, RBAC_API, &[]),
            None,
        )
        .await?;
    Ok(Outcome::Applied {
        id: current.id.clone(),
    })
}
