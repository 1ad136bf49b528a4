//! One record read again by kind and natural key, in the same form the snapshot gives it
//! (verification after a restore, and the restore's own "does it exist already?" checks).

use iamsnap_http::found;
use iamsnap_provider::{ProviderError, Record};
use serde_json::{Value, json};

use super::role_names;
use crate::client::GraphClient;
use crate::kinds::*;
use crate::records::{self, Index, MEMBER_SELECT, id_of, select};

/// A path segment or OData string escaped for the URL.
pub(crate) fn segment(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// `$filter=property eq 'value'`, quotes doubled as OData wants.
pub(crate) fn eq(property: &str, value: &str) -> String {
    segment(&format!("{property} eq '{}'", value.replace('\'', "''")))
}

fn fields(kind: &str) -> &'static [&'static str] {
    match kind {
        USER => records::USER_SELECT,
        GROUP => records::GROUP_SELECT,
        APPLICATION => records::APPLICATION_SELECT,
        SERVICE_PRINCIPAL => records::SERVICE_PRINCIPAL_SELECT,
        _ => records::UNIT_SELECT,
    }
}

/// The collection under `/v1.0` holding directory objects of `kind`.
pub(crate) fn collection(kind: &str) -> &'static str {
    match kind {
        USER => "users",
        GROUP => "groups",
        APPLICATION => "applications",
        SERVICE_PRINCIPAL => "servicePrincipals",
        _ => "administrativeUnits",
    }
}

/// The live user with this userPrincipalName, read as the snapshot reads users.
async fn user(client: &GraphClient, upn: &str) -> Result<Option<records::User>, ProviderError> {
    found(client.get_as(&user_url(client, upn)).await)
}

fn user_url(client: &GraphClient, upn: &str) -> url::Url {
    client.url(&format!(
        "/users/{}?$select={}&{}",
        segment(upn),
        select(records::USER_SELECT),
        records::MANAGER_EXPAND
    ))
}

/// The live directory object of `kind` (user, group, application, service principal,
/// administrative unit) with this natural key.
pub(crate) async fn object(
    client: &GraphClient,
    kind: &str,
    key: &str,
) -> Result<Option<Value>, ProviderError> {
    if kind == USER {
        return client.get_opt(&user_url(client, key)).await;
    }
    let url = client.url(&format!(
        "/{}?$filter={}&$select={}",
        collection(kind),
        eq("displayName", key),
        select(fields(kind))
    ));
    Ok(client.page(&url).await?.0.into_iter().next())
}

pub(crate) async fn record(
    client: &GraphClient,
    kind: &str,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    match kind {
        USER => Ok(user(client, key).await?.map(|u| records::user(u).0)),
        USER_MANAGER => {
            let Some((upn, _, _)) = records::split_link_key(key) else {
                return Ok(None);
            };
            Ok(user(client, upn)
                .await?
                .and_then(|u| records::user(u).1)
                .filter(|r| r.key == key))
        }
        GROUP | ADMINISTRATIVE_UNIT => Ok(object(client, kind, key).await?.map(|v| {
            records::simple(
                if kind == GROUP {
                    GROUP
                } else {
                    ADMINISTRATIVE_UNIT
                },
                &v,
            )
        })),
        APPLICATION => Ok(object(client, APPLICATION, key)
            .await?
            .map(|v| records::application(&v))),
        SERVICE_PRINCIPAL => {
            let Some(sp) = object(client, SERVICE_PRINCIPAL, key).await? else {
                return Ok(None);
            };
            let mut index = Index::default();
            let url = client.url(&format!(
                "/applications?$filter={}&$select=id,appId,displayName",
                eq("appId", sp["appId"].as_str().unwrap_or_default())
            ));
            for app in client.page(&url).await?.0 {
                index.add(APPLICATION, &app);
            }
            Ok(Some(records::service_principal(&sp, &index)))
        }
        GROUP_MEMBER
        | GROUP_OWNER
        | APPLICATION_OWNER
        | SERVICE_PRINCIPAL_OWNER
        | ADMINISTRATIVE_UNIT_MEMBER => link(client, kind, key).await,
        FEDERATED_CREDENTIAL => federated_credential(client, key).await,
        ROLE_SETTING => crate::role_settings::fetch(client, key).await,
        TERMS_OF_USE => Ok(crate::terms::live(client, key)
            .await?
            .map(|v| crate::terms::agreement(&v))),
        CROSS_TENANT_DEFAULT | CROSS_TENANT_PARTNER => {
            crate::cross_tenant::fetch(client, kind, key).await
        }
        CLAIMS_MAPPING_POLICY | TOKEN_LIFETIME_POLICY | SERVICE_PRINCIPAL_POLICY => {
            crate::sts::fetch(client, kind, key).await
        }
        CONDITIONAL_ACCESS_POLICY => conditional_access(client, key).await,
        AUTHORIZATION_POLICY => {
            let v = client
                .get(&client.url("/policies/authorizationPolicy"))
                .await?;
            Ok(Some(records::authorization_policy(&v)))
        }
        AUTHENTICATION_STRENGTH => Ok(client
            .all("/policies/authenticationStrengthPolicies")
            .await?
            .iter()
            .filter_map(crate::ca::strength)
            .find(|r| r.key == key)),
        NAMED_LOCATION => Ok(client
            .all("/identity/conditionalAccess/namedLocations")
            .await?
            .iter()
            .find(|p| p["displayName"] == key)
            .map(|v| records::simple(NAMED_LOCATION, v))),
        AUTHENTICATION_METHODS_POLICY => {
            let v = client
                .get(&client.url("/policies/authenticationMethodsPolicy"))
                .await?;
            Ok(Some(records::authentication_methods_policy(&v)))
        }
        APP_ROLE_ASSIGNMENT => app_role_assignment(client, key).await,
        OAUTH2_PERMISSION_GRANT => {
            let grants = client.all("/oauth2PermissionGrants").await?;
            let index =
                index_of(client, &grants, &["clientId", "resourceId", "principalId"]).await?;
            Ok(grants
                .iter()
                .filter_map(|g| records::grant(g, &index))
                .find(|r| r.key == key))
        }
        DIRECTORY_ROLE_ASSIGNMENT | ROLE_ELIGIBILITY | ROLE_ASSIGNMENT_SCHEDULE => {
            role_schedule(client, kind, key).await
        }
        ROLE_DEFINITION => Ok(super::definitions(client)
            .await?
            .iter()
            .filter_map(crate::roles::definition)
            .find(|r| r.key == key)),
        _ => Err(ProviderError::Unsupported {
            kind: kind.to_string(),
            key: key.to_string(),
            action: "fetch".into(),
            reason: "not a kind of the entra connector".into(),
        }),
    }
}

/// The conditional access policy named `key`, with refs to what it names as the snapshot
/// makes them: the users, groups and service principals it names read by id, its
/// applications by application id, and every named location, strength and role.
async fn conditional_access(
    client: &GraphClient,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    use crate::ca;
    let Some(policy) = client
        .all("/identity/conditionalAccess/policies")
        .await?
        .into_iter()
        .find(|p| p["displayName"] == key)
    else {
        return Ok(None);
    };
    let named = |section: &str, fields: &[&str]| -> Vec<String> {
        fields
            .iter()
            .flat_map(|f| {
                policy["conditions"][section][*f]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let people: Vec<Value> = named(
        "users",
        &[
            "includeUsers",
            "excludeUsers",
            "includeGroups",
            "excludeGroups",
        ],
    )
    .into_iter()
    .map(|id| json!({ "id": id }))
    .collect();
    let mut index = index_of(client, &people, &["id"]).await?;
    for app_id in named(
        "applications",
        &["includeApplications", "excludeApplications"],
    )
    .iter()
    .filter(|a| a.len() == 36)
    {
        let url = client.url(&format!(
            "/applications?$filter={}&$select=id,appId,displayName",
            eq("appId", app_id)
        ));
        for app in client.page(&url).await?.0 {
            index.add(APPLICATION, &app);
        }
    }
    let locations = client
        .all("/identity/conditionalAccess/namedLocations")
        .await?
        .iter()
        .map(|l| id_of(l).to_string())
        .collect();
    let strengths = client
        .all("/policies/authenticationStrengthPolicies")
        .await?
        .iter()
        .filter_map(ca::strength)
        .map(|r| r.id)
        .collect();
    let terms = crate::terms::all(client)
        .await?
        .iter()
        .map(|a| id_of(a).to_string())
        .collect();
    let roles = role_names(client).await?;
    let known = ca::Known {
        index: &index,
        locations: &locations,
        strengths: &strengths,
        terms: &terms,
        roles: &roles,
    };
    Ok(Some(ca::conditional_access_policy(&policy, &known)))
}

/// The role assignment, eligibility or time-bound assignment schedule keyed `key`, read as
/// the snapshot reads them.
async fn role_schedule(
    client: &GraphClient,
    kind: &str,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    use crate::roles;
    let path = match kind {
        ROLE_ELIGIBILITY => "/roleManagement/directory/roleEligibilitySchedules",
        _ => "/roleManagement/directory/roleAssignmentSchedules",
    };
    let schedules = client.all(path).await?;
    let all = if kind == DIRECTORY_ROLE_ASSIGNMENT {
        let scheduled = roles::scheduled(&schedules);
        client
            .all("/roleManagement/directory/roleAssignments")
            .await?
            .into_iter()
            .filter(|a| !scheduled.contains(&roles::triple(a)))
            .collect()
    } else {
        schedules
            .into_iter()
            .filter(|s| match kind {
                ROLE_ELIGIBILITY => roles::direct(s),
                _ => roles::time_bound(s),
            })
            .collect::<Vec<Value>>()
    };
    let mut index = index_of(client, &all, &["principalId"]).await?;
    if all.iter().any(|a| {
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
    Ok(all
        .iter()
        .filter_map(|a| match kind {
            DIRECTORY_ROLE_ASSIGNMENT => crate::roles::role_assignment(a, &index, &names),
            ROLE_ELIGIBILITY => roles::schedule(ROLE_ELIGIBILITY, a, &index, &names),
            _ => roles::schedule(ROLE_ASSIGNMENT_SCHEDULE, a, &index, &names),
        })
        .find(|r| r.key == key))
}

/// An index of the directory objects that `fields` of `items` name, read with
/// `directoryObjects/getByIds` (1,000 ids per request).
pub(crate) async fn index_of(
    client: &GraphClient,
    items: &[Value],
    fields: &[&str],
) -> Result<Index, ProviderError> {
    let mut ids: Vec<&str> = items
        .iter()
        .flat_map(|i| fields.iter().filter_map(move |f| i[*f].as_str()))
        .filter(|s| !s.is_empty())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut index = Index::default();
    let url = client.url("/directoryObjects/getByIds");
    for chunk in ids.chunks(1000) {
        let body = json!({"ids": chunk, "types": ["user", "group", "servicePrincipal"]});
        let answer = client
            .send(reqwest::Method::POST, &url, Some(&body))
            .await?
            .unwrap_or(Value::Null);
        for v in answer["value"].as_array().into_iter().flatten() {
            if let Some(kind) = records::kind_of(v) {
                index.add(kind, v);
            }
        }
    }
    Ok(index)
}

/// `application|name`: credential names hold no `|`, application names may.
async fn federated_credential(
    client: &GraphClient,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    let Some((app_key, name)) = key.rsplit_once('|') else {
        return Ok(None);
    };
    let Some(app) = object(client, APPLICATION, app_key).await? else {
        return Ok(None);
    };
    let app_id = id_of(&app).to_string();
    let list = client
        .all(&format!(
            "/applications/{app_id}/federatedIdentityCredentials"
        ))
        .await?;
    Ok(list
        .iter()
        .find(|v| v["name"] == name)
        .map(|v| records::federated_credential(v, (&app_id, app_key))))
}

async fn link(
    client: &GraphClient,
    kind: &str,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    let Some((parent_key, _, _)) = records::split_link_key(key) else {
        return Ok(None);
    };
    let (parent_kind, path, kind) = match kind {
        GROUP_MEMBER => (GROUP, "members", GROUP_MEMBER),
        GROUP_OWNER => (GROUP, "owners", GROUP_OWNER),
        APPLICATION_OWNER => (APPLICATION, "owners", APPLICATION_OWNER),
        SERVICE_PRINCIPAL_OWNER => (SERVICE_PRINCIPAL, "owners", SERVICE_PRINCIPAL_OWNER),
        _ => (ADMINISTRATIVE_UNIT, "members", ADMINISTRATIVE_UNIT_MEMBER),
    };
    let Some(parent) = object(client, parent_kind, parent_key).await? else {
        return Ok(None);
    };
    let parent_id = id_of(&parent).to_string();
    let list: Vec<records::Member> = client
        .all_of(&format!(
            "/{}/{parent_id}/{path}?$top=999&$select={}",
            collection(parent_kind),
            select(MEMBER_SELECT)
        ))
        .await?;
    Ok(list
        .iter()
        .filter_map(|m| records::link(kind, (parent_kind, &parent_id, parent_key), m))
        .find(|r| r.key == key))
}

/// Splits `resource|appRoleId|label:principal` at the app role id (resource names may hold `|`).
pub(crate) fn split_assignment_key(key: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = key.split('|').collect();
    let at = (1..parts.len().saturating_sub(1)).find(|j| {
        parts[*j].len() == 36 && parts[*j].chars().all(|c| c.is_ascii_hexdigit() || c == '-')
    })?;
    let resource_len: usize = parts[..at].iter().map(|p| p.len() + 1).sum::<usize>() - 1;
    let role_start = resource_len + 1;
    let role = &key[role_start..role_start + 36];
    Some((&key[..resource_len], role, &key[role_start + 37..]))
}

async fn app_role_assignment(
    client: &GraphClient,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    let Some((resource, _, _)) = split_assignment_key(key) else {
        return Ok(None);
    };
    let Some(sp) = object(client, SERVICE_PRINCIPAL, resource).await? else {
        return Ok(None);
    };
    let list = client
        .all(&format!(
            "/servicePrincipals/{}/appRoleAssignedTo?$top=999",
            id_of(&sp)
        ))
        .await?;
    let mut index = index_of(client, &list, &["principalId"]).await?;
    index.add(SERVICE_PRINCIPAL, &sp);
    Ok(list
        .iter()
        .filter_map(|a| records::app_role_assignment(a, &index))
        .find(|r| r.key == key))
}

/// The ids of the guest users in the recycle bin (`directory/deletedItems`), all pages read.
pub(crate) async fn recycled_guests(
    client: &GraphClient,
) -> Result<std::collections::HashSet<String>, ProviderError> {
    let users = client
        .all("/directory/deletedItems/microsoft.graph.user?$select=id,userType&$top=999")
        .await?;
    Ok(users
        .iter()
        .filter(|u| u["userType"] == "Guest")
        .map(|u| records::id_of(u).to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_keys_split_at_the_role_id() {
        let key = "App|One|8a0b7c1d-0000-4000-8000-000000000001|user:ada@contoso.com";
        assert_eq!(
            split_assignment_key(key),
            Some((
                "App|One",
                "8a0b7c1d-0000-4000-8000-000000000001",
                "user:ada@contoso.com"
            ))
        );
        assert_eq!(split_assignment_key("nothing|here"), None);
    }
}
