//! One record by kind and natural key, as a snapshot would give it now.

use iamsnap_provider::{ProviderError, Record};

use super::{RoleNames, role_name, subscription_scope, subscriptions};
use crate::client::{ArmClient, LOCKS_API, PIM_API, RBAC_API};
use crate::kinds::{DENY_ASSIGNMENT, LOCK, ROLE_ASSIGNMENT, ROLE_DEFINITION, ROLE_ELIGIBILITY};
use crate::records;

pub(crate) async fn record(
    client: &ArmClient,
    configured: Option<&[String]>,
    kind: &str,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    match kind {
        ROLE_DEFINITION => custom_role(client, configured, key).await,
        ROLE_ASSIGNMENT => assignment(client, key).await,
        ROLE_ELIGIBILITY => eligibility(client, key).await,
        LOCK => {
            let found = iamsnap_http::found(client.get(&client.url(key, LOCKS_API, &[])).await)?;
            Ok(found.as_ref().and_then(records::lock))
        }
        DENY_ASSIGNMENT => {
            let Some((scope, _)) = key.rsplit_once('|') else {
                return Ok(None);
            };
            let url = client.url(
                &format!("{scope}/providers/Microsoft.Authorization/denyAssignments"),
                RBAC_API,
                &[],
            );
            let Some(items) = iamsnap_http::found(client.all(url).await)? else {
                return Ok(None);
            };
            Ok(items
                .iter()
                .filter_map(records::deny_assignment)
                .find(|r| r.key == key))
        }
        other => Err(ProviderError::Unsupported {
            kind: other.into(),
            key: key.into(),
            action: "fetch".into(),
            reason: "not a kind of the azure-rbac connector".into(),
        }),
    }
}

/// The custom role named `name`, found in the first subscription it is assignable in.
pub(crate) async fn custom_role(
    client: &ArmClient,
    configured: Option<&[String]>,
    name: &str,
) -> Result<Option<Record>, ProviderError> {
    let filter = format!("roleName eq '{}'", name.replace('\'', "''"));
    for sub in subscriptions(client, configured).await? {
        let path = format!(
            "{}/providers/Microsoft.Authorization/roleDefinitions",
            subscription_scope(&sub)
        );
        let found = client
            .all(client.url(&path, RBAC_API, &[("$filter", &filter)]))
            .await?;
        if let Some(record) = found.iter().find_map(records::role_definition) {
            return Ok(Some(record));
        }
    }
    Ok(None)
}

/// The live assignment of `SCOPE|ROLE NAME|PRINCIPAL`, if any.
pub(crate) async fn assignment(
    client: &ArmClient,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    by_principal(
        client,
        key,
        "roleAssignments",
        RBAC_API,
        records::role_assignment,
    )
    .await
}

/// The live eligibility schedule of `SCOPE|ROLE NAME|PRINCIPAL`, if any.
pub(crate) async fn eligibility(
    client: &ArmClient,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    by_principal(
        client,
        key,
        "roleEligibilitySchedules",
        PIM_API,
        records::role_eligibility,
    )
    .await
}

/// The item of list `what` at the key's scope for the key's principal and role.
async fn by_principal(
    client: &ArmClient,
    key: &str,
    what: &str,
    api: &str,
    record: fn(&serde_json::Value, &str, bool) -> Option<Record>,
) -> Result<Option<Record>, ProviderError> {
    let Some((scope, role, principal)) = records::split_assignment_key(key) else {
        return Ok(None);
    };
    let filter = format!("principalId eq '{principal}'");
    let url = client.url(
        &format!("{scope}/providers/Microsoft.Authorization/{what}"),
        api,
        &[("$filter", &filter)],
    );
    let Some(items) = iamsnap_http::found(client.all(url).await)? else {
        // The scope itself is gone (a resource group deleted).
        return Ok(None);
    };
    let mut names = RoleNames::new();
    for item in &items {
        let props = &item["properties"];
        if !props["scope"]
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case(scope))
        {
            continue;
        }
        let definition = props["roleDefinitionId"].as_str().unwrap_or_default();
        let (name, custom) = role_name(client, &mut names, definition).await?;
        if name == role {
            return Ok(record(item, &name, custom));
        }
    }
    Ok(None)
}
