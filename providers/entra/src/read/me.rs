//! The service principal iamsnap signs in as and what gives it its rights, read before every
//! restore plan so that the plan never weakens them.
//!
//! The principal is the one of the configured application (`/servicePrincipals?$filter=appId
//! eq '…'`). Its rights come from its application object (which holds its credentials), the
//! application permissions assigned to it (`/servicePrincipals/{id}/appRoleAssignments`), the
//! directory roles assigned to it or to a group it is a member of
//! (`/servicePrincipals/{id}/memberOf`, `/roleManagement/directory/roleAssignments`), and those
//! memberships. Six requests, and one more per thousand principals the role assignments name.

use std::collections::HashMap;

use iamsnap_provider::{ProviderError, SelfIdentity};
use serde_json::Value;

use super::fetch::{eq, index_of};
use super::role_names;
use crate::client::GraphClient;
use crate::kinds::*;
use crate::records::{self, id_of};

/// The service principal of the application `app_id` and its grants; `None` when the tenant
/// has no service principal for it.
pub(crate) async fn self_identity(
    client: &GraphClient,
    app_id: &str,
) -> Result<Option<SelfIdentity>, ProviderError> {
    let by_app_id = |collection: &str| {
        client.url(&format!(
            "/{collection}?$filter={}&$select=id,displayName",
            eq("appId", app_id)
        ))
    };
    let Some(sp) = client
        .page(&by_app_id("servicePrincipals"))
        .await?
        .0
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let (sp_id, name) = (id_of(&sp).to_string(), display_name(&sp));
    let mut me = SelfIdentity::new(SERVICE_PRINCIPAL, &name);
    if let Some(app) = client.page(&by_app_id("applications")).await?.0.first() {
        me.grant(
            APPLICATION,
            display_name(app),
            format!("is the application of {name} and holds its credentials"),
        );
    }

    let assigned = client
        .all(&format!(
            "/servicePrincipals/{sp_id}/appRoleAssignments?$top=999"
        ))
        .await?;
    let index = index_of(client, &assigned, &["principalId", "resourceId"]).await?;
    for record in assigned
        .iter()
        .filter_map(|a| records::app_role_assignment(a, &index))
    {
        let resource = record.attrs["resource"].as_str().unwrap_or_default();
        me.grant(
            APP_ROLE_ASSIGNMENT,
            &record.key,
            format!("gives {name} an application permission of {resource}"),
        );
    }

    let groups: HashMap<String, String> = client
        .all(&format!("/servicePrincipals/{sp_id}/memberOf?$top=999"))
        .await?
        .iter()
        .filter(|o| records::kind_of(o) == Some(GROUP))
        .map(|g| (id_of(g).to_string(), display_name(g)))
        .collect();
    let roles: Vec<Value> = client
        .all("/roleManagement/directory/roleAssignments")
        .await?
        .into_iter()
        .filter(|a| {
            let principal = a["principalId"].as_str().unwrap_or_default();
            principal == sp_id || groups.contains_key(principal)
        })
        .collect();
    if roles.is_empty() {
        return Ok(Some(me));
    }
    let mut index = index_of(client, &roles, &["principalId"]).await?;
    if roles.iter().any(|a| {
        a["directoryScopeId"]
            .as_str()
            .is_some_and(|s| s.starts_with("/administrativeUnits/"))
    }) {
        for unit in client
            .all("/administrativeUnits?$top=999&$select=id,displayName")
            .await?
        {
            index.add(ADMINISTRATIVE_UNIT, &unit);
        }
    }
    let names = role_names(client).await?;
    for a in &roles {
        let Some(record) = crate::roles::role_assignment(a, &index, &names) else {
            continue;
        };
        let role = record.attrs["role"].as_str().unwrap_or_default();
        match groups.get(a["principalId"].as_str().unwrap_or_default()) {
            None => me.grant(
                DIRECTORY_ROLE_ASSIGNMENT,
                &record.key,
                format!("assigns the directory role {role} to {name}"),
            ),
            Some(group) => {
                me.grant(
                    DIRECTORY_ROLE_ASSIGNMENT,
                    &record.key,
                    format!(
                        "assigns the directory role {role} to group {group}, of which {name} is a member"
                    ),
                );
                me.grant(
                    GROUP_MEMBER,
                    format!("{group}|servicePrincipal:{name}"),
                    format!(
                        "makes {name} a member of {group}, which holds the directory role {role}"
                    ),
                );
                me.grant(
                    GROUP,
                    group,
                    format!("holds the directory role {role} for its member {name}"),
                );
            }
        }
    }
    Ok(Some(me))
}

fn display_name(v: &Value) -> String {
    v["displayName"].as_str().unwrap_or_default().to_string()
}
