//! The Identity Store: users (with the enterprise extension) and groups page by page, then
//! each group's memberships.

use std::collections::HashMap;

use futures::{StreamExt, TryStreamExt, stream};
use iamsnap_provider::ProviderError;

use super::{Principals, Read};
use crate::client::Api;
use crate::kinds;
use crate::records;

impl Read<'_> {
    /// Every user, sent page by page; their names by id.
    pub async fn users(&self) -> Result<HashMap<String, String>, ProviderError> {
        let mut names = HashMap::new();
        let mut pages = self
            .clients
            .store
            .list_users()
            .identity_store_id(&self.instance.store_id)
            .extensions(kinds::ENTERPRISE)
            .max_results(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page
                .api("identitystore:ListUsers")
                .map_err(|e| e.context(&self.subject()))?;
            for user in page.users() {
                let record = records::user(user);
                names.insert(record.id.clone(), record.key.clone());
                self.send(record).await?;
            }
        }
        Ok(names)
    }

    /// Every group, sent page by page; their display names by id.
    pub async fn groups(&self) -> Result<HashMap<String, String>, ProviderError> {
        let mut names = HashMap::new();
        let mut pages = self
            .clients
            .store
            .list_groups()
            .identity_store_id(&self.instance.store_id)
            .max_results(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page
                .api("identitystore:ListGroups")
                .map_err(|e| e.context(&self.subject()))?;
            for group in page.groups() {
                let record = records::group(group);
                names.insert(record.id.clone(), record.key.clone());
                self.send(record).await?;
            }
        }
        Ok(names)
    }

    /// Every group's members, groups read concurrently.
    pub async fn memberships(&self, principals: &Principals) -> Result<(), ProviderError> {
        let groups: Vec<(String, String)> = principals
            .groups
            .iter()
            .map(|(id, name)| (id.clone(), name.clone()))
            .collect();
        stream::iter(groups)
            .map(|(group_id, group)| async move {
                let (group_id, group) = (group_id.as_str(), group.as_str());
                let mut pages = self
                    .clients
                    .store
                    .list_group_memberships()
                    .identity_store_id(&self.instance.store_id)
                    .group_id(group_id)
                    .max_results(100)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page = page
                        .api("identitystore:ListGroupMemberships")
                        .map_err(|e| e.context(&format!("group {group}")))?;
                    for m in page.group_memberships() {
                        let Some(user_id) = m.member_id().and_then(|m| m.as_user_id().ok()) else {
                            continue;
                        };
                        let user = principals
                            .users
                            .get(user_id)
                            .cloned()
                            .unwrap_or_else(|| format!("id:{user_id}"));
                        let record = records::membership(
                            m.membership_id().unwrap_or_default(),
                            group_id,
                            group,
                            user_id,
                            &user,
                        );
                        self.send(record).await?;
                    }
                }
                Ok::<_, ProviderError>(())
            })
            .buffer_unordered(self.concurrency)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }
}
