//! The identity iamsnap runs as: the service principal of the token's `oid`, and its role
//! assignments in the subscriptions read, which a restore never deletes or changes.

use iamsnap_provider::{ProviderError, SelfIdentity};

use super::{RoleNames, role_name, subscription_scope, subscriptions, within};
use crate::client::{ArmClient, RBAC_API};
use crate::kinds::{PRINCIPAL, ROLE_ASSIGNMENT};
use crate::records;

pub(crate) async fn self_identity(
    client: &ArmClient,
    configured: Option<&[String]>,
) -> Result<Option<SelfIdentity>, ProviderError> {
    let oid = client.caller_oid().await?;
    let mut me = SelfIdentity::new(PRINCIPAL, &oid);
    let filter = format!("principalId eq '{oid}'");
    let mut names = RoleNames::new();
    for sub in subscriptions(client, configured).await? {
        let scope = subscription_scope(&sub);
        let url = client.url(
            &format!("{scope}/providers/Microsoft.Authorization/roleAssignments"),
            RBAC_API,
            &[("$filter", &filter)],
        );
        for item in client.all(url).await? {
            let props = &item["properties"];
            let Some(at) = props["scope"].as_str().filter(|s| within(&scope, s)) else {
                continue;
            };
            let definition = props["roleDefinitionId"].as_str().unwrap_or_default();
            let (name, custom) = role_name(client, &mut names, definition).await?;
            if let Some(record) = records::role_assignment(&item, &name, custom) {
                me.grant(
                    ROLE_ASSIGNMENT,
                    record.key,
                    format!("assigns {name} at {at} to the service principal iamsnap signs in as ({oid})"),
                );
            }
        }
    }
    Ok(Some(me))
}
