//! The read of an organization: the root and its enabled policy types, the OU tree level by
//! level, the accounts of each parent, the policies of every enabled type with their targets,
//! and the delegated administrators. Reads that do not depend on each other run concurrently,
//! `concurrency` at a time.
//!
//! An organization is at most a few thousand objects (AWS caps OUs at 2,000 and nesting at
//! five levels), and every record needs names from elsewhere in it (an attachment names its
//! OU by path, an account its parent), so the read gathers the organization's names and ids
//! first and builds the records from them.

mod fetch;

use std::collections::HashMap;

use aws_sdk_organizations::types::{PolicyType, PolicyTypeStatus, TargetType};
use futures::{StreamExt, TryStreamExt, stream};
use iamsnap_provider::{ProviderError, RecordSink};

pub(crate) use fetch::FetchCache;

use crate::client::{Api, ApiError, Client};
use crate::kinds::{Target, child_path, content_value, policy_key, tags_value};
use crate::records;

/// The organization as read: what the records are built from.
#[derive(Debug, Default, Clone)]
pub(crate) struct Org {
    pub root: Root,
    pub units: Vec<Unit>,
    pub accounts: Vec<Account>,
    pub policies: Vec<Policy>,
    pub attachments: Vec<Attachment>,
    pub delegated: Vec<(String, String)>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Root {
    pub id: String,
    pub policy_types: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Unit {
    pub id: String,
    pub name: String,
    pub path: String,
    /// The parent OU's id; `None` under the root.
    pub parent_id: Option<String>,
    pub tags: serde_json::Value,
}

#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub id: String,
    pub name: String,
    pub email: String,
    pub status: String,
    pub parent: Target,
    pub parent_id: String,
    pub tags: serde_json::Value,
}

#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub id: String,
    pub policy_type: String,
    pub name: String,
    pub description: String,
    /// `None` for an AWS-managed policy, which is referenced, never saved.
    pub content: Option<serde_json::Value>,
    pub tags: serde_json::Value,
}

impl Policy {
    pub fn key(&self) -> String {
        policy_key(&self.policy_type, &self.name)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Attachment {
    pub target: Target,
    pub target_id: String,
    pub policy_id: String,
    pub policy_key: String,
    pub aws_managed: bool,
}

/// The first read of a snapshot: the organization and its root.
pub(crate) async fn healthcheck(client: &Client) -> Result<(), ProviderError> {
    client
        .describe_organization()
        .send()
        .await
        .api("DescribeOrganization")
        .map_err(|e| e.context("the organization"))?;
    root(client)
        .await
        .map(drop)
        .map_err(|e| e.context("the organization's root"))
}

/// Reads the whole organization and sends its records to `sink`.
pub(crate) async fn snapshot(
    client: &Client,
    concurrency: usize,
    sink: RecordSink,
) -> Result<(), ProviderError> {
    let org = read(client, concurrency).await?;
    for record in records::all(&org) {
        if sink.send(record).await.is_err() {
            return Err(ProviderError::Cancelled);
        }
    }
    Ok(())
}

/// Reads the whole organization.
pub(crate) async fn read(client: &Client, concurrency: usize) -> Result<Org, ProviderError> {
    let whole = |e: ApiError| e.context("the organization");
    let root = root(client).await.map_err(whole)?;
    let units = units(client, &root.id, concurrency).await.map_err(whole)?;
    let (accounts, (policies, attachments), delegated) = tokio::try_join!(
        accounts(client, &root.id, &units, concurrency),
        policies(client, &root, &units, concurrency),
        delegated(client, concurrency),
    )
    .map_err(whole)?;
    Ok(Org {
        root,
        units,
        accounts,
        policies,
        attachments,
        delegated,
    })
}

async fn root(client: &Client) -> Result<Root, ApiError> {
    let pages: Vec<_> = client
        .list_roots()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .api("ListRoots")?;
    let root = pages
        .iter()
        .flat_map(|p| p.roots())
        .next()
        .ok_or_else(|| ApiError::local("ListRoots", "the organization has no root"))?;
    let mut policy_types: Vec<String> = root
        .policy_types()
        .iter()
        .filter(|t| t.status() == Some(&PolicyTypeStatus::Enabled))
        .filter_map(|t| t.r#type().map(|t| t.as_str().to_string()))
        .collect();
    policy_types.sort();
    Ok(Root {
        id: root.id().unwrap_or_default().to_string(),
        policy_types,
    })
}

/// The tags of a root, OU, account or policy.
async fn tags(client: &Client, id: &str) -> Result<serde_json::Value, ApiError> {
    let pages: Vec<_> = client
        .list_tags_for_resource()
        .resource_id(id)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .api("ListTagsForResource")?;
    Ok(tags_value(
        pages
            .iter()
            .flat_map(|p| p.tags())
            .map(|t| (t.key(), t.value())),
    ))
}

/// The OU tree, parents before children, one level at a time.
async fn units(client: &Client, root_id: &str, concurrency: usize) -> Result<Vec<Unit>, ApiError> {
    let mut all = Vec::new();
    let mut level: Vec<(String, Option<String>)> = vec![(root_id.to_string(), None)];
    while !level.is_empty() {
        let found: Vec<Vec<Unit>> = stream::iter(level)
            .map(|(parent_id, parent_path)| async move {
                let pages: Vec<_> = client
                    .list_organizational_units_for_parent()
                    .parent_id(&parent_id)
                    .into_paginator()
                    .send()
                    .try_collect()
                    .await
                    .api("ListOrganizationalUnitsForParent")?;
                // Tags are read afterwards, every OU of every level concurrently.
                let mut units = Vec::new();
                for ou in pages.iter().flat_map(|p| p.organizational_units()) {
                    let (Some(id), Some(name)) = (ou.id(), ou.name()) else {
                        continue;
                    };
                    units.push(Unit {
                        id: id.to_string(),
                        name: name.to_string(),
                        path: child_path(parent_path.as_deref(), name),
                        parent_id: parent_path.is_some().then(|| parent_id.clone()),
                        tags: serde_json::Value::Null,
                    });
                }
                Ok::<_, ApiError>(units)
            })
            .buffer_unordered(concurrency)
            .try_collect()
            .await?;
        let found: Vec<Unit> = found.into_iter().flatten().collect();
        level = found
            .iter()
            .map(|u| (u.id.clone(), Some(u.path.clone())))
            .collect();
        all.extend(found);
    }
    let ids: Vec<String> = all.iter().map(|u| u.id.clone()).collect();
    let tagged: Vec<serde_json::Value> = stream::iter(ids)
        .map(|id| async move { tags(client, &id).await })
        .buffered(concurrency)
        .try_collect()
        .await?;
    for (unit, tags) in all.iter_mut().zip(tagged) {
        unit.tags = tags;
    }
    Ok(all)
}

/// The accounts of the root and of every OU, which gives each account's place.
async fn accounts(
    client: &Client,
    root_id: &str,
    units: &[Unit],
    concurrency: usize,
) -> Result<Vec<Account>, ApiError> {
    let mut parents = vec![(root_id.to_string(), Target::Root)];
    parents.extend(
        units
            .iter()
            .map(|u| (u.id.clone(), Target::Unit(u.path.clone()))),
    );
    let found: Vec<Vec<Account>> = stream::iter(parents)
        .map(|(parent_id, parent)| async move {
            let pages: Vec<_> = client
                .list_accounts_for_parent()
                .parent_id(&parent_id)
                .into_paginator()
                .send()
                .try_collect()
                .await
                .api("ListAccountsForParent")?;
            // Tags are read afterwards, every account concurrently.
            let mut accounts = Vec::new();
            for a in pages.iter().flat_map(|p| p.accounts()) {
                let Some(id) = a.id() else { continue };
                accounts.push(Account {
                    id: id.to_string(),
                    name: a.name().unwrap_or_default().to_string(),
                    email: a.email().unwrap_or_default().to_string(),
                    status: a
                        .state()
                        .map(|s| s.as_str().to_string())
                        .or_else(|| a.status().map(|s| s.as_str().to_string()))
                        .unwrap_or_default(),
                    parent: parent.clone(),
                    parent_id: parent_id.clone(),
                    tags: serde_json::Value::Null,
                });
            }
            Ok::<_, ApiError>(accounts)
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    let mut all: Vec<Account> = found.into_iter().flatten().collect();
    let ids: Vec<String> = all.iter().map(|a| a.id.clone()).collect();
    let tagged: Vec<serde_json::Value> = stream::iter(ids)
        .map(|id| async move { tags(client, &id).await })
        .buffered(concurrency)
        .try_collect()
        .await?;
    for (account, tags) in all.iter_mut().zip(tagged) {
        account.tags = tags;
    }
    Ok(all)
}

/// The policies of every type enabled on the root, and where each is attached.
async fn policies(
    client: &Client,
    root: &Root,
    units: &[Unit],
    concurrency: usize,
) -> Result<(Vec<Policy>, Vec<Attachment>), ApiError> {
    let unit_paths: HashMap<&str, &str> = units
        .iter()
        .map(|u| (u.id.as_str(), u.path.as_str()))
        .collect();
    let mut summaries = Vec::new();
    for policy_type in &root.policy_types {
        let pages: Vec<_> = client
            .list_policies()
            .filter(PolicyType::from(policy_type.as_str()))
            .into_paginator()
            .send()
            .try_collect()
            .await
            .api("ListPolicies")?;
        summaries.extend(pages.iter().flat_map(|p| p.policies()).cloned());
    }
    let read: Vec<(Policy, Vec<Attachment>)> = stream::iter(summaries)
        .map(|summary| {
            let unit_paths = &unit_paths;
            async move {
                let id = summary.id().unwrap_or_default().to_string();
                let managed = summary.aws_managed();
                let (content, tags) = if managed {
                    (None, serde_json::json!({}))
                } else {
                    let described = client
                        .describe_policy()
                        .policy_id(&id)
                        .send()
                        .await
                        .api("DescribePolicy")?;
                    let text = described
                        .policy()
                        .and_then(|p| p.content())
                        .unwrap_or_default();
                    (Some(content_value(text)), tags(client, &id).await?)
                };
                let policy = Policy {
                    id: id.clone(),
                    policy_type: summary
                        .r#type()
                        .map(|t| t.as_str().to_string())
                        .unwrap_or_default(),
                    name: summary.name().unwrap_or_default().to_string(),
                    description: summary.description().unwrap_or_default().to_string(),
                    content,
                    tags,
                };
                let pages: Vec<_> = client
                    .list_targets_for_policy()
                    .policy_id(&id)
                    .into_paginator()
                    .send()
                    .try_collect()
                    .await
                    .api("ListTargetsForPolicy")?;
                let mut attachments = Vec::new();
                for t in pages.iter().flat_map(|p| p.targets()) {
                    let Some(target_id) = t.target_id() else {
                        continue;
                    };
                    let target = match t.r#type() {
                        Some(TargetType::Root) => Target::Root,
                        Some(TargetType::OrganizationalUnit) => match unit_paths.get(target_id) {
                            Some(path) => Target::Unit(path.to_string()),
                            // An OU created while the tree was read: the next backup has it.
                            None => continue,
                        },
                        _ => Target::Account(target_id.to_string()),
                    };
                    attachments.push(Attachment {
                        target,
                        target_id: target_id.to_string(),
                        policy_id: id.clone(),
                        policy_key: policy.key(),
                        aws_managed: managed,
                    });
                }
                Ok::<_, ApiError>((policy, attachments))
            }
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    let mut policies = Vec::new();
    let mut attachments = Vec::new();
    for (p, a) in read {
        policies.push(p);
        attachments.extend(a);
    }
    Ok((policies, attachments))
}

/// Every (account, service principal) delegation.
async fn delegated(client: &Client, concurrency: usize) -> Result<Vec<(String, String)>, ApiError> {
    let pages: Vec<_> = client
        .list_delegated_administrators()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .api("ListDelegatedAdministrators")?;
    let admins: Vec<String> = pages
        .iter()
        .flat_map(|p| p.delegated_administrators())
        .filter_map(|a| a.id().map(str::to_string))
        .collect();
    let found: Vec<Vec<(String, String)>> = stream::iter(admins)
        .map(|account| async move {
            let pages: Vec<_> = client
                .list_delegated_services_for_account()
                .account_id(&account)
                .into_paginator()
                .send()
                .try_collect()
                .await
                .api("ListDelegatedServicesForAccount")?;
            Ok::<_, ApiError>(
                pages
                    .iter()
                    .flat_map(|p| p.delegated_services())
                    .filter_map(|s| s.service_principal())
                    .map(|s| (account.clone(), s.to_string()))
                    .collect(),
            )
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}
