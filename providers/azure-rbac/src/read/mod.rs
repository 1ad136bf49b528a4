//! The whole read, streamed to the sink list by list: the subscriptions, then for each the
//! role definitions (custom ones kept, each once), the management locks, the deny assignments,
//! the PIM eligibility schedules and the role assignments at, and below, the subscription.

pub(crate) mod fetch;
pub(crate) mod me;

use std::collections::{HashMap, HashSet};

use iamsnap_provider::{ProviderError, Record, RecordSink};
use serde_json::Value;

use crate::client::{ArmClient, LOCKS_API, PIM_API, RBAC_API, RESOURCES_API};
use crate::records;

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

pub(crate) struct Snapshot<'a> {
    pub client: &'a ArmClient,
    pub subscriptions: Option<&'a [String]>,
    pub sink: RecordSink,
}

impl Snapshot<'_> {
    async fn send(&self, record: Record) -> Result<(), ProviderError> {
        self.sink
            .send(record)
            .await
            .map_err(|_| ProviderError::Cancelled)
    }

    pub(crate) async fn run(self) -> Result<(), ProviderError> {
        let client = self.client;
        let subs = subscriptions(client, self.subscriptions).await?;
        let mut custom_roles: HashSet<String> = HashSet::new();
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
            let (definitions, locks, denies, eligibilities) = futures::try_join!(
                role_definitions(client, sub),
                client.all(locks_url),
                client.all(deny_url),
                client.all(pim_url)
            )?;
            for record in definitions.iter().filter_map(records::role_definition) {
                if custom_roles.insert(record.id.clone()) {
                    self.send(record).await?;
                }
            }
            for record in locks.iter().filter_map(records::lock) {
                self.send(record).await?;
            }
            let denies = denies.iter().filter(|d| {
                d["properties"]["scope"]
                    .as_str()
                    .is_some_and(|s| within(&scope, s))
            });
            for record in denies.filter_map(records::deny_assignment) {
                self.send(record).await?;
            }
            let mut names = names_of(&definitions);
            for item in &eligibilities {
                let props = &item["properties"];
                if !props["scope"].as_str().is_some_and(|s| within(&scope, s)) {
                    continue;
                }
                let definition = props["roleDefinitionId"].as_str().unwrap_or_default();
                let (name, custom) = role_name(client, &mut names, definition).await?;
                if let Some(record) = records::role_eligibility(item, &name, custom) {
                    self.send(record).await?;
                }
            }
            let mut next = Some(client.url(
                &format!("{scope}/providers/Microsoft.Authorization/roleAssignments"),
                RBAC_API,
                &[],
            ));
            while let Some(url) = next {
                let (items, following) = client.page(&url).await?;
                for item in &items {
                    let props = &item["properties"];
                    // Inherited from a management group or the root: not this source's.
                    if !props["scope"].as_str().is_some_and(|s| within(&scope, s)) {
                        continue;
                    }
                    let definition = props["roleDefinitionId"].as_str().unwrap_or_default();
                    let (name, custom) = role_name(client, &mut names, definition).await?;
                    if let Some(record) = records::role_assignment(item, &name, custom) {
                        self.send(record).await?;
                    }
                }
                next = following;
            }
        }
        Ok(())
    }
}
