//! The identity iamsnap runs as: the service principal of the token's `oid`, and its role
//! assignments in the subscriptions read, which a restore never deletes or changes.

use iamsnap_provider::{ProviderError, SelfIdentity};

use super::{Names, Reader, RoleNames, role_name, subscription_scope, subscriptions, within};
use crate::client::RBAC_API;
use crate::kinds::{PRINCIPAL, ROLE_ASSIGNMENT};
use crate::records;

pub(crate) async fn self_identity(
    reader: &Reader<'_>,
) -> Result<Option<SelfIdentity>, ProviderError> {
    let (client, configured) = (reader.client, reader.subscriptions);
    let oid = client.caller_oid().await?;
    let mut me = SelfIdentity::new(PRINCIPAL, &oid);
    let filter = format!("principalId eq '{oid}'");
    let mut names = RoleNames::new();
    let mut principals = Names::default();
    for sub in subscriptions(client, configured).await? {
        let scope = subscription_scope(&sub);
        let url = client.url(
            &format!("{scope}/providers/Microsoft.Authorization/roleAssignments"),
            RBAC_API,
            &[("$filter", &filter)],
        );
        let items = client.all(url).await?;
        principals.learn(reader.directory, &items).await?;
        for item in items {
            let props = &item["properties"];
            let Some(at) = props["scope"].as_str().filter(|s| within(&scope, s)) else {
                continue;
            };
            let definition = props["roleDefinitionId"].as_str().unwrap_or_default();
            let (name, custom) = role_name(client, &mut names, definition).await?;
            let named = principals.of(&item);
            if let Some(record) = records::role_assignment(&item, &name, custom, named) {
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
