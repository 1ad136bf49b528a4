//! One record by kind and natural key, as a snapshot would give it now.

use iamsnap_provider::{ProviderError, Record};

use super::{
    Names, Reader, RoleNames, management_groups, role_name, subscription_scope, subscriptions,
};
use crate::client::{LOCKS_API, PIM_API, RBAC_API};
use crate::kinds::{DENY_ASSIGNMENT, LOCK, ROLE_ASSIGNMENT, ROLE_DEFINITION, ROLE_ELIGIBILITY};
use crate::records::{self, Naming};

pub(crate) async fn record(
    reader: &Reader<'_>,
    kind: &str,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    let client = reader.client;
    match kind {
        ROLE_DEFINITION => custom_role(reader, key).await,
        ROLE_ASSIGNMENT => assignment(reader, key).await,
        ROLE_ELIGIBILITY => eligibility(reader, key).await,
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

/// The custom role named `name`, found in the first subscription (or, with
/// `management_groups`, management group) it is assignable in.
pub(crate) async fn custom_role(
    reader: &Reader<'_>,
    name: &str,
) -> Result<Option<Record>, ProviderError> {
    let client = reader.client;
    let filter = format!("roleName eq '{}'", name.replace('\'', "''"));
    let mut scopes: Vec<String> = subscriptions(client, reader.subscriptions)
        .await?
        .iter()
        .map(|s| subscription_scope(s))
        .collect();
    if reader.management_groups {
        scopes.extend(management_groups(client).await?);
    }
    for scope in scopes {
        let path = format!("{scope}/providers/Microsoft.Authorization/roleDefinitions");
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
    reader: &Reader<'_>,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    by_principal(
        reader,
        key,
        "roleAssignments",
        RBAC_API,
        records::role_assignment,
    )
    .await
}

/// The live eligibility schedule of `SCOPE|ROLE NAME|PRINCIPAL`, if any.
pub(crate) async fn eligibility(
    reader: &Reader<'_>,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    by_principal(
        reader,
        key,
        "roleEligibilitySchedules",
        PIM_API,
        records::role_eligibility,
    )
    .await
}

/// The item of list `what` at the key's scope for the key's principal and role. A principal
/// named by its name in the directory is looked up there first.
async fn by_principal(
    reader: &Reader<'_>,
    key: &str,
    what: &str,
    api: &str,
    record: fn(&serde_json::Value, &str, bool, Naming<'_>) -> Option<Record>,
) -> Result<Option<Record>, ProviderError> {
    let client = reader.client;
    let Some((scope, role, principal)) = records::split_assignment_key(key) else {
        return Ok(None);
    };
    let principal_id = match (records::named_principal(principal), reader.directory) {
        (None, _) => principal.to_string(),
        (Some(named), Some(directory)) => match directory.resolve(&named).await? {
            Some(id) => id,
            None => return Ok(None),
        },
        // Keys of another configuration: no directory to find the principal in.
        (Some(_), None) => return Ok(None),
    };
    let filter = format!("principalId eq '{principal_id}'");
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
    let mut principals = Names::default();
    principals.learn(reader.directory, &items).await?;
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
            return Ok(record(item, &name, custom, principals.of(item)));
        }
    }
    Ok(None)
}
