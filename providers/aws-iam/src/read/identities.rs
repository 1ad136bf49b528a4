//! The read of users, groups, roles and customer-managed policies: the four entity filters of
//! `GetAccountAuthorizationDetails`, with the calls each lacks.

use std::collections::HashMap;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::{EntityType, ManagedPolicyDetail, PolicyScopeType, StatusType, Tag};
use futures::{StreamExt, TryStreamExt};
use iamsnap_provider::ProviderError;

use super::Read;
use super::report::{CredentialReport, Credentials};
use crate::client::{Api, ApiError, Paginated};
use crate::kinds;
use crate::public_keys::{self, UserKeys};
use crate::records::{self, GroupIds, PolicyIds, Principals, RoleHead, UserExtras};

impl Read<'_> {
    /// Customer-managed policies with their tags; returns their ids by ARN.
    pub(super) async fn policies(&self) -> Result<PolicyIds, ProviderError> {
        let mut ids = PolicyIds::new();
        if !self.scope.policies {
            return Ok(ids);
        }
        // Ids from ListPolicies, read the first time a policy comes without one.
        let mut listed: Option<HashMap<String, String>> = None;
        let mut pages = self.details(EntityType::LocalManagedPolicy);
        while let Some(page) = pages
            .next()
            .await
            .map_err(|e| e.context("filter LocalManagedPolicy"))?
        {
            let mut policies = page.policies.unwrap_or_default();
            if policies.iter().any(|p| p.policy_id().is_none()) {
                if listed.is_none() {
                    listed = Some(self.listed_policy_ids().await?);
                }
                let listed = listed.as_ref().expect("read just above");
                for policy in &mut policies {
                    if policy.policy_id.is_none() {
                        policy.policy_id = policy.arn().and_then(|arn| listed.get(arn).cloned());
                    }
                }
            }
            for policy in &policies {
                if let Some(arn) = policy.arn() {
                    let id = records::policy_id(policy).unwrap_or(arn);
                    ids.insert(arn.to_string(), id.to_string());
                }
            }
            let mut tagged = futures::stream::iter(policies)
                .map(|policy| self.with_tags(policy))
                .buffer_unordered(self.concurrency);
            while let Some((policy, tags)) = tagged.try_next().await? {
                if let Some(record) = records::policy(&policy, tags.as_deref())? {
                    self.send(record).await?;
                }
            }
        }
        Ok(ids)
    }

    /// Some emulators leave PolicyId out of the authorization details; ListPolicies has it,
    /// and ids must be the same whichever call a record was read with.
    async fn listed_policy_ids(&self) -> Result<HashMap<String, String>, ProviderError> {
        let listed = self
            .client
            .list_policies()
            .scope(PolicyScopeType::Local)
            .into_paginator()
            .send()
            .pages("ListPolicies")
            .items(|o| o.policies.unwrap_or_default())
            .await
            .map_err(|e| e.context("customer-managed policies"))?;
        Ok(listed
            .into_iter()
            .filter_map(|p| Some((p.arn?, p.policy_id?)))
            .collect())
    }

    /// A policy with its tags, when the scope reads them.
    async fn with_tags(
        &self,
        policy: ManagedPolicyDetail,
    ) -> Result<(ManagedPolicyDetail, Option<Vec<Tag>>), ProviderError> {
        let arn = match policy.arn() {
            Some(arn) if self.scope.policy_tags => arn.to_string(),
            _ => return Ok((policy, None)),
        };
        let tags = self
            .client
            .list_policy_tags()
            .policy_arn(&arn)
            .into_paginator()
            .send()
            .pages("ListPolicyTags")
            .items(|o| o.tags)
            .await
            .map_err(|e| e.context(&format!("policy {arn}")))?;
        Ok((policy, Some(tags)))
    }

    /// Groups with their policies; returns their ids by name.
    pub(super) async fn groups(&self, policies: &PolicyIds) -> Result<GroupIds, ProviderError> {
        let mut ids = GroupIds::new();
        if !self.scope.groups {
            return Ok(ids);
        }
        let mut pages = self.details(EntityType::Group);
        while let Some(page) = pages.next().await.map_err(|e| e.context("filter Group"))? {
            for group in page.group_detail_list.unwrap_or_default() {
                if let (Some(name), Some(id)) = (group.group_name(), group.group_id()) {
                    ids.insert(name.to_string(), id.to_string());
                }
                self.send_all(records::group(&group, policies)?).await?;
            }
        }
        Ok(ids)
    }

    /// Users with their memberships and policies; returns them as principals trust policies
    /// may name.
    pub(super) async fn users(
        &self,
        policies: &PolicyIds,
        groups: &GroupIds,
        report: Option<&CredentialReport>,
    ) -> Result<Principals, ProviderError> {
        let mut principals = Principals::default();
        if !self.scope.users {
            return Ok(principals);
        }
        let mut pages = self.details(EntityType::User);
        while let Some(page) = pages.next().await.map_err(|e| e.context("filter User"))? {
            let users = page.user_detail_list.unwrap_or_default();
            for user in &users {
                if let (Some(_), Some(id)) = (user.user_name(), user.user_id()) {
                    principals.add(kinds::USER, user.arn(), id);
                }
            }
            let mut done = futures::stream::iter(users)
                .map(|user| async move {
                    let Some(name) = user.user_name() else {
                        return Ok((user, UserExtras::default(), UserKeys::default()));
                    };
                    let extras = async {
                        if !self.scope.user_extras {
                            return Ok(UserExtras::default());
                        }
                        let created = user.create_date().map(|t| t.secs());
                        let known = report.and_then(|r| r.get(name, created));
                        user_extras(self.client, name, known).await
                    };
                    let keys = async {
                        if !self.scope.ssh_keys && !self.scope.signing_certificates {
                            return Ok(UserKeys::default());
                        }
                        let created = user.create_date().map(|t| t.secs());
                        let known = report.and_then(|r| r.get(name, created));
                        let certificates = match self.scope.signing_certificates {
                            true => known.map(|k| k.signing_certificates),
                            false => Some(false),
                        };
                        super::keys::user_keys(
                            self.client,
                            name,
                            self.scope.ssh_keys,
                            certificates,
                            self.concurrency,
                        )
                        .await
                    };
                    let (extras, keys) = tokio::try_join!(extras, keys)
                        .map_err(|e| e.context(&format!("user {name}")))?;
                    Ok::<_, ProviderError>((user, extras, keys))
                })
                .buffer_unordered(self.concurrency);
            while let Some((user, extras, keys)) = done.try_next().await? {
                self.send_all(records::user(&user, &extras, policies, groups)?)
                    .await?;
                if let (Some(name), Some(id)) = (user.user_name(), user.user_id()) {
                    self.send_all(public_keys::user_keys(name, id, &keys))
                        .await?;
                }
            }
        }
        Ok(principals)
    }

    /// The roles as `ListRoles` gives them, by name; only the fields records need are kept
    /// from each page.
    pub(super) async fn role_heads(&self) -> Result<HashMap<String, RoleHead>, ProviderError> {
        if !self.scope.roles {
            return Ok(HashMap::new());
        }
        let heads = self
            .client
            .list_roles()
            .into_paginator()
            .send()
            .pages("ListRoles")
            .items(|o| {
                o.roles
                    .into_iter()
                    .map(|r| {
                        let head = RoleHead {
                            id: r.role_id,
                            arn: r.arn,
                            description: r.description.filter(|d| !d.is_empty()),
                            max_session_duration: r.max_session_duration,
                        };
                        (r.role_name, head)
                    })
                    .collect()
            })
            .await
            .map_err(|e| e.context("roles"))?;
        Ok(heads.into_iter().collect())
    }

    /// Roles with their policies. `principals` holds the users; the roles are added from
    /// `heads`, complete before the first role is built, as a trust policy may name any role.
    pub(super) async fn roles(
        &self,
        policies: &PolicyIds,
        mut principals: Principals,
        heads: &HashMap<String, RoleHead>,
    ) -> Result<(), ProviderError> {
        if !self.scope.roles {
            return Ok(());
        }
        for head in heads.values() {
            principals.add(kinds::ROLE, Some(&head.arn), &head.id);
        }
        let mut pages = self.details(EntityType::Role);
        while let Some(page) = pages.next().await.map_err(|e| e.context("filter Role"))? {
            for role in page.role_detail_list.unwrap_or_default() {
                let head = role.role_name().and_then(|name| heads.get(name));
                self.send_all(records::role(&role, head, &principals, policies)?)
                    .await?;
            }
        }
        Ok(())
    }
}

/// Whether a console password exists, the MFA serials and the access key ids of one user.
/// What the credential report already says (`known`) is not asked again: no call for the
/// login profile, none for MFA devices or access keys the user has none of.
async fn user_extras(
    client: &Client,
    name: &str,
    known: Option<Credentials>,
) -> Result<UserExtras, ApiError> {
    let console_password = match known {
        Some(known) => known.console_password,
        None => login_profile(client, name).await?,
    };
    let mfa_serials = match known {
        Some(known) if !known.mfa => Vec::new(),
        _ => mfa_serials(client, name).await?,
    };
    let access_keys = match known {
        Some(known) if !known.access_keys => Vec::new(),
        _ => access_keys(client, name).await?,
    };
    Ok(UserExtras {
        console_password,
        mfa_serials,
        access_keys,
    })
}

async fn login_profile(client: &Client, name: &str) -> Result<bool, ApiError> {
    match client
        .get_login_profile()
        .user_name(name)
        .send()
        .await
        .api("GetLoginProfile")
    {
        Ok(_) => Ok(true),
        Err(e) if e.is("NoSuchEntity") => Ok(false),
        Err(e) => Err(e),
    }
}

async fn mfa_serials(client: &Client, name: &str) -> Result<Vec<String>, ApiError> {
    let mut serials: Vec<String> = client
        .list_mfa_devices()
        .user_name(name)
        .into_paginator()
        .send()
        .pages("ListMFADevices")
        .items(|o| o.mfa_devices)
        .await?
        .into_iter()
        .map(|d| d.serial_number)
        .collect();
    serials.sort();
    Ok(serials)
}

async fn access_keys(client: &Client, name: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut keys: Vec<(String, String)> = client
        .list_access_keys()
        .user_name(name)
        .into_paginator()
        .send()
        .pages("ListAccessKeys")
        .items(|o| o.access_key_metadata)
        .await?
        .into_iter()
        .filter_map(|k| {
            let status = k.status().map_or("Unknown", StatusType::as_str).to_string();
            Some((k.access_key_id?, status))
        })
        .collect();
    keys.sort();
    Ok(keys)
}
