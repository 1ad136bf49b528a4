//! PIM settings of directory roles as records: the rules of each role's role management policy
//! (activation length, MFA and justification on activation, approval, how long eligibilities
//! and assignments may last), one record per role, keyed as schedules name the role (a
//! built-in one by template id, a custom one by name, with a ref to its definition). All of
//! them are read with one list, `roleManagementPolicyAssignments` with the policies and their
//! rules expanded.

use iamsnap_provider::{ProviderError, Record};
use serde_json::{Value, json};

use crate::client::GraphClient;
use crate::kinds::ROLE_SETTING;
use crate::read::fetch::segment;
use crate::roles::Roles;

pub(crate) const POLICIES: &str = "/policies/roleManagementPolicies";

/// The policy assignments of directory roles, with `filter` added to the scope's, each with
/// its policy and rules.
pub(crate) async fn assignments(
    client: &GraphClient,
    filter: &str,
) -> Result<Vec<Value>, ProviderError> {
    let f = format!("scopeId eq '/' and scopeType eq 'DirectoryRole'{filter}");
    client
        .all(&format!(
            "/policies/roleManagementPolicyAssignments?$filter={}&$expand=policy($expand=rules)",
            segment(&f)
        ))
        .await
}

/// The assignment of the role with this definition id.
pub(crate) async fn assignment(
    client: &GraphClient,
    role: &str,
) -> Result<Option<Value>, ProviderError> {
    let filter = format!(" and roleDefinitionId eq '{}'", role.replace('\'', "''"));
    Ok(assignments(client, &filter).await?.into_iter().next())
}

/// The record of a policy assignment (with its policy and rules); `None` for a role the
/// snapshot does not know.
pub(crate) fn record(a: &Value, roles: &Roles) -> Option<Record> {
    let role = a["roleDefinitionId"].as_str()?;
    roles.0.get(role)?;
    let mut rules: Vec<Value> = a["policy"]["rules"].as_array().cloned().unwrap_or_default();
    rules.sort_by(|x, y| x["id"].as_str().cmp(&y["id"].as_str()));
    let key = roles.key_part(role);
    Some(Record::new(
        ROLE_SETTING,
        a["policyId"].as_str().unwrap_or_default(),
        key.clone(),
        json!({"role": key, "rules": rules}),
        roles.reference(role).into_iter().collect(),
    ))
}

/// The record of the role named by `key`, read again.
pub(crate) async fn fetch(
    client: &GraphClient,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    let roles = crate::read::role_names(client).await?;
    let Some(id) = roles
        .0
        .iter()
        .find(|(id, _)| roles.key_part(id) == key)
        .map(|(id, _)| id.clone())
    else {
        return Ok(None);
    };
    Ok(assignment(client, &id)
        .await?
        .and_then(|a| record(&a, &roles)))
}
