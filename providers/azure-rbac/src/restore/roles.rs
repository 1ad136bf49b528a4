//! Custom role definitions: re-created under their snapshot GUID when it is free (templates
//! naming the role keep working), otherwise under a new one; permissions updated in place.

use iamsnap_provider::{Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Value, json};

use super::{Restore, new_guid};
use crate::client::{ArmClient, RBAC_API, arm_code};
use crate::read::fetch;

/// The scope role definition requests go to: the first assignable scope.
fn home(record: &Record) -> Result<String, ProviderError> {
    record.attrs["assignableScopes"]
        .as_array()
        .and_then(|s| s.first())
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ProviderError::Precondition {
            kind: record.kind.clone(),
            key: record.key.clone(),
            message: "the role has no assignable scope".into(),
        })
}

fn path(scope: &str, guid: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}")
}

async fn put(
    client: &ArmClient,
    desired: &Record,
    guid: &str,
) -> Result<Option<Value>, ProviderError> {
    let body = json!({"properties": {
        "roleName": desired.key,
        "type": "CustomRole",
        "description": desired.attrs["description"],
        "permissions": desired.attrs["permissions"],
        "assignableScopes": desired.attrs["assignableScopes"],
    }});
    let url = client.url(&path(&home(desired)?, guid), RBAC_API, &[]);
    client.send(Method::PUT, &url, Some(&body)).await
}

pub(super) async fn create(
    restore: &Restore<'_>,
    desired: &Record,
) -> Result<Outcome, ProviderError> {
    let client = restore.client;
    let scope = home(desired)?;
    // The snapshot's GUID, unless another role holds it now.
    let taken = iamsnap_http::found(
        client
            .get(&client.url(&path(&scope, &desired.id), RBAC_API, &[]))
            .await,
    )?
    .is_some();
    let guid = if taken {
        new_guid()
    } else {
        desired.id.clone()
    };
    match put(client, desired, &guid).await {
        Ok(_) => Ok(Outcome::Applied { id: guid }),
        // Created by an earlier run (or by hand) meanwhile: bring it to the snapshot's state.
        Err(e) if arm_code(&e, 409) == Some("RoleDefinitionWithSameNameExists") => {
            let Some(live) = fetch::custom_role(&restore.reader(), &desired.key).await? else {
                return Err(e);
            };
            if live.attrs == desired.attrs {
                return Ok(Outcome::AlreadyDone { id: live.id });
            }
            put(client, desired, &live.id).await?;
            Ok(Outcome::Applied { id: live.id })
        }
        Err(e) => Err(e),
    }
}

pub(super) async fn update(
    restore: &Restore<'_>,
    desired: &Record,
    current: &Record,
) -> Result<Outcome, ProviderError> {
    put(restore.client, desired, &current.id).await?;
    Ok(Outcome::Applied {
        id: current.id.clone(),
    })
}

pub(super) async fn delete(
    restore: &Restore<'_>,
    current: &Record,
) -> Result<Outcome, ProviderError> {
    let client = restore.client;
    let url = client.url(&path(&home(current)?, &current.id), RBAC_API, &[]);
    client.send(Method::DELETE, &url, None).await?;
    Ok(Outcome::Applied {
        id: current.id.clone(),
    })
}
