//! The whole read, streamed to the sink list by list: the subscriptions, then for each the
//! role definitions (custom ones kept, each once), the management locks, the deny assignments,
//! the PIM eligibility schedules and the role assignments at, and below, the subscription.
//! With `management_groups`, every management group's custom roles and the assignments made
//! at it come first. With `entra_source`, the principals of a subscription's assignments and eligibilities are
//! named through Graph before their records are sent.

pub(crate) mod fetch;
pub(crate) mod me;

use std::collections::{HashMap, HashSet};

use iamsnap_provider::{ProviderError, Record, RecordSink};
use serde_json::Value;

use crate::client::{
    ArmClient, LOCKS_API, MANAGEMENT_GROUPS_API, PIM_API, RBAC_API, RESOURCES_API,
};
use crate::directory::{Directory, Principal};
use crate::records::{self, Naming};

/// A subscription's scope, `/subscriptions/{id}`.
pub(crate) fn subscription_scope(id: &str) -> String {
    format!("/subscriptions/{id}")
}

/// Whether `scope` lies in the subscription scope `sub` (ARM compares ids case-insensitively).
pub(crate) fn within(sub: &str, scope: &str) -> bool {
    let (s, x) = (sub.to_ascii_lowercase(), scope.to_ascii_lowercase());
    x == s || x.starts_with(&format!("{s}/"))
}

/// The ids of the subscriptions to read: the configured ones, each checked to be visible, or
/// every subscription the application can list.
pub(crate) async fn subscriptions(
    client: &ArmClient,
    configured: Option<&[String]>,
) -> Result<Vec<String>, ProviderError> {
    let listed: Vec<String> = client
        .all(client.url("/subscriptions", RESOURCES_API, &[]))
        .await?
        .iter()
        .filter_map(|s| s["subscriptionId"].as_str().map(str::to_string))
        .collect();
    let Some(configured) = configured else {
        return Ok(listed);
    };
    configured
        .iter()
        .map(|want| {
            listed
                .iter()
                .find(|s| s.eq_ignore_ascii_case(want))
                .cloned()
                .ok_or_else(|| ProviderError::Config(format!(
                    "subscription {want} is not visible to the application: grant it Reader on the subscription, or remove it from subscriptions"
                )))
        })
        .collect()
}

/// The scope of every management group the application can list
/// (`/providers/Microsoft.Management/managementGroups/{name}`).
pub(crate) async fn management_groups(client: &ArmClient) -> Result<Vec<String>, ProviderError> {
    let url = client.url(
        "/providers/Microsoft.Management/managementGroups",
        MANAGEMENT_GROUPS_API,
        &[],
    );
    Ok(client
        .all(url)
        .await?
        .iter()
        .filter_map(|g| g["id"].as_str().map(str::to_string))
        .collect())
}

/// The first reads of a snapshot: a token and the list of subscriptions.
pub(crate) async fn healthcheck(
    client: &ArmClient,
    configured: Option<&[String]>,
) -> Result<(), ProviderError> {
    subscriptions(client, configured).await.map(|_| ())
}

/// Role definition GUID → (role name, custom).
pub(crate) type RoleNames = HashMap<String, (String, bool)>;

/// Every role definition that can be assigned in subscription `sub`, built-in and custom.
pub(crate) async fn role_definitions(
    client: &ArmClient,
    sub: &str,
) -> Result<Vec<Value>, ProviderError> {
    let path = format!(
        "{}/providers/Microsoft.Authorization/roleDefinitions",
        subscription_scope(sub)
    );
    client.all(client.url(&path, RBAC_API, &[])).await
}

pub(crate) fn names_of(definitions: &[Value]) -> RoleNames {
    definitions
        .iter()
        .filter_map(|d| {
            let props = &d["properties"];
            Some((
                records::last_segment(d["name"].as_str()?),
                (
                    props["roleName"].as_str()?.to_string(),
                    props["type"].as_str() == Some("CustomRole"),
                ),
            ))
        })
        .collect()
}

/// The name of the role `definition_id` names, and whether it is custom: from `names`, or
/// read from ARM (a role defined above the subscription).
pub(crate) async fn role_name(
    client: &ArmClient,
    names: &mut RoleNames,
    definition_id: &str,
) -> Result<(String, bool), ProviderError> {
    let guid = records::last_segment(definition_id);
    if let Some(found) = names.get(&guid) {
        return Ok(found.clone());
    }
    let value = client
        .get(&client.url(definition_id, RBAC_API, &[]))
        .await?;
    let props = &value["properties"];
    let found = (
        props["roleName"].as_str().unwrap_or(&guid).to_string(),
        props["type"].as_str() == Some("CustomRole"),
    );
    names.insert(guid, found.clone());
    Ok(found)
}

/// What a read needs: ARM, Graph with `entra_source`, the configured subscriptions.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    pub client: &'a ArmClient,
    pub directory: Option<&'a Directory>,
    pub subscriptions: Option<&'a [String]>,
    /// Whether the role assignments at management groups are this source's.
    pub management_groups: bool,
}

/// Principal object id → its name in the directory (none: not found there, a principal
/// deleted), asked of Graph once per id.
#[derive(Default)]
pub(crate) struct Names {
    names: HashMap<String, Option<Principal>>,
    /// Whether a directory names the principals (`entra_source`).
    directory: bool,
}

impl Names {
    /// Asks Graph for the names of the principals of `items` not asked for yet.
    pub(crate) async fn learn(
        &mut self,
        directory: Option<&Directory>,
        items: &[Value],
    ) -> Result<(), ProviderError> {
        let Some(directory) = directory else {
            return Ok(());
        };
        self.directory = true;
        let mut unknown: Vec<String> = items
            .iter()
            .filter_map(|i| i["properties"]["principalId"].as_str())
            .map(str::to_ascii_lowercase)
            .filter(|id| !self.names.contains_key(id))
            .collect();
        unknown.sort();
        unknown.dedup();
        if unknown.is_empty() {
            return Ok(());
        }
        let mut found = directory.names(&unknown).await?;
        for id in unknown {
            let name = found.remove(&id);
            self.names.insert(id, name);
        }
        Ok(())
    }

    /// How the record of `item` names its principal.
    pub(crate) fn of(&self, item: &Value) -> Naming<'_> {
        if !self.directory {
            return Naming::Id;
        }
        let id = item["properties"]["principalId"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match self.names.get(&id) {
            Some(Some(p)) => Naming::Named(p),
            _ => Naming::Missing,
        }
    }
}

impl Reader<'_> {
    pub(crate) async fn snapshot(self, sink: RecordSink) -> Result<(), ProviderError> {
        let send = |record: Record| {
            let sink = &sink;
            async move {
                sink.send(record)
                    .await
                    .map_err(|_| ProviderError::Cancelled)
            }
        };
        let client = self.client;
        let subs = subscriptions(client, self.subscriptions).await?;
        let mut custom_roles: HashSet<String> = HashSet::new();
        let mut principals = Names::default();
        let groups = if self.management_groups {
            management_groups(client).await?
        } else {
            Vec::new()
        };
        for scope in &groups {
            // The custom roles assignable at the group, and the assignments made at it
            // (`atScope()` also gives those of the groups above, read there).
            let definitions_url = client.url(
                &format!("{scope}/providers/Microsoft.Authorization/roleDefinitions"),
                RBAC_API,
                &[("$filter", "type eq 'CustomRole'")],
            );
            let assignments_url = client.url(
                &format!("{scope}/providers/Microsoft.Authorization/roleAssignments"),
                RBAC_API,
                &[("$filter", "atScope()")],
            );
            let (definitions, assignments) =
                futures::try_join!(client.all(definitions_url), client.all(assignments_url))?;
            for record in definitions.iter().filter_map(records::role_definition) {
                if custom_roles.insert(record.id.clone()) {
                    send(record).await?;
                }
            }
            let assignments: Vec<Value> = assignments
                .into_iter()
                .filter(|i| {
                    i["properties"]["scope"]
                        .as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case(scope))
                })
                .collect();
            principals.learn(self.directory, &assignments).await?;
            let mut names = names_of(&definitions);
            for item in &assignments {
                let definition = item["properties"]["roleDefinitionId"]
                    .as_str()
                    .unwrap_or_default();
                let (name, custom) = role_name(client, &mut names, definition).await?;
                let named = principals.of(item);
                if let Some(record) = records::role_assignment(item, &name, custom, named) {
                    send(record).await?;
                }
            }
        }
        for sub in &subs {
            let scope = subscription_scope(sub);
            let locks_url = client.url(
                &format!("{scope}/providers/Microsoft.Authorization/locks"),
                LOCKS_API,
                &[],
            );
            let deny_url = client.url(
                &format!("{scope}/providers/Microsoft.Authorization/denyAssignments"),
                RBAC_API,
                &[],
            );
            let pim_url = client.url(
                &format!("{scope}/providers/Microsoft.Authorization/roleEligibilitySchedules"),
                PIM_API,
                &[],
            );
            let assignments_url = client.url(
                &format!("{scope}/providers/Microsoft.Authorization/roleAssignments"),
                RBAC_API,
                &[],
            );
            let (definitions, locks, denies, eligibilities, assignments) = futures::try_join!(
                role_definitions(client, sub),
                client.all(locks_url),
                client.all(deny_url),
                client.all(pim_url),
                client.all(assignments_url)
            )?;
            for record in definitions.iter().filter_map(records::role_definition) {
                if custom_roles.insert(record.id.clone()) {
                    send(record).await?;
                }
            }
            for record in locks.iter().filter_map(records::lock) {
                send(record).await?;
            }
            let denies = denies.iter().filter(|d| {
                d["properties"]["scope"]
                    .as_str()
                    .is_some_and(|s| within(&scope, s))
            });
            for record in denies.filter_map(records::deny_assignment) {
                send(record).await?;
            }
            // Inherited from a management group or the root: not this source's.
            let own = |items: Vec<Value>| -> Vec<Value> {
                items
                    .into_iter()
                    .filter(|i| {
                        i["properties"]["scope"]
                            .as_str()
                            .is_some_and(|s| within(&scope, s))
                    })
                    .collect()
            };
            let (eligibilities, assignments) = (own(eligibilities), own(assignments));
            principals.learn(self.directory, &eligibilities).await?;
            principals.learn(self.directory, &assignments).await?;
            let mut names = names_of(&definitions);
            for item in &eligibilities {
                let definition = item["properties"]["roleDefinitionId"]
                    .as_str()
                    .unwrap_or_default();
                let (name, custom) = role_name(client, &mut names, definition).await?;
                let named = principals.of(item);
                if let Some(record) = records::role_eligibility(item, &name, custom, named) {
                    send(record).await?;
                }
            }
            for item in &assignments {
                let definition = item["properties"]["roleDefinitionId"]
                    .as_str()
                    .unwrap_or_default();
                let (name, custom) = role_name(client, &mut names, definition).await?;
                let named = principals.of(item);
                if let Some(record) = records::role_assignment(item, &name, custom, named) {
                    send(record).await?;
                }
            }
        }
        Ok(())
    }
}
