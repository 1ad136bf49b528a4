//! Permission sets (six reads each, sets read concurrently) and account assignments (one
//! listing per permission set and account it is provisioned to).

use futures::{StreamExt, TryStreamExt, stream};
use iamsnap_provider::ProviderError;

use super::{Principals, Read, pages};
use crate::client::{Api, ApiError, Clients};
use crate::kinds::Principal;
use crate::records::{self, PermissionSetParts};

/// A permission set as the assignments' read needs it.
#[derive(Debug, Clone)]
pub(crate) struct SetHead {
    pub arn: String,
    pub name: String,
    pub accounts: Vec<String>,
}

/// Everything a permission set is, from its six calls.
pub(crate) async fn read_parts(
    clients: &Clients,
    instance: &str,
    arn: &str,
) -> Result<PermissionSetParts, ApiError> {
    let sso = &clients.sso;
    let describe = async {
        sso.describe_permission_set()
            .instance_arn(instance)
            .permission_set_arn(arn)
            .send()
            .await
            .api("sso:DescribePermissionSet")
    };
    let tags = async {
        pages!(
            sso.list_tags_for_resource()
                .instance_arn(instance)
                .resource_arn(arn),
            "sso:ListTagsForResource",
            tags
        )
    };
    let managed = async {
        pages!(
            sso.list_managed_policies_in_permission_set()
                .instance_arn(instance)
                .permission_set_arn(arn)
                .max_results(100),
            "sso:ListManagedPoliciesInPermissionSet",
            attached_managed_policies
        )
    };
    let customer = async {
        pages!(
            sso.list_customer_managed_policy_references_in_permission_set()
                .instance_arn(instance)
                .permission_set_arn(arn)
                .max_results(100),
            "sso:ListCustomerManagedPolicyReferencesInPermissionSet",
            customer_managed_policy_references
        )
    };
    let inline = async {
        sso.get_inline_policy_for_permission_set()
            .instance_arn(instance)
            .permission_set_arn(arn)
            .send()
            .await
            .api("sso:GetInlinePolicyForPermissionSet")
    };
    let boundary = async {
        match sso
            .get_permissions_boundary_for_permission_set()
            .instance_arn(instance)
            .permission_set_arn(arn)
            .send()
            .await
            .api("sso:GetPermissionsBoundaryForPermissionSet")
        {
            Ok(out) => Ok(out.permissions_boundary),
            // The documented answer of a permission set without a boundary.
            Err(e) if e.not_found() => Ok(None),
            Err(e) => Err(e),
        }
    };
    let (set, tags, managed, customer_managed, inline, boundary) =
        tokio::try_join!(describe, tags, managed, customer, inline, boundary)?;
    Ok(PermissionSetParts {
        set: set.permission_set.ok_or_else(|| {
            ApiError::local(
                "sso:DescribePermissionSet",
                "the answer has no PermissionSet",
            )
        })?,
        tags,
        managed,
        customer_managed,
        inline: inline.inline_policy,
        boundary,
    })
}

impl Read<'_> {
    /// Every permission set, sent as each is read; their heads for the assignments' read.
    pub async fn sets(&self) -> Result<Vec<SetHead>, ProviderError> {
        let instance = self.instance.arn.as_str();
        let arns = pages!(
            self.clients
                .sso
                .list_permission_sets()
                .instance_arn(instance)
                .max_results(100),
            "sso:ListPermissionSets",
            permission_sets
        )
        .map_err(|e| e.context(&self.subject()))?;
        stream::iter(arns)
            .map(|arn| async move {
                let subject = format!("permission set {arn}");
                let parts = read_parts(self.clients, instance, &arn).await;
                let parts = parts.map_err(|e| e.context(&subject))?;
                let accounts = pages!(
                    self.clients
                        .sso
                        .list_accounts_for_provisioned_permission_set()
                        .instance_arn(instance)
                        .permission_set_arn(&arn)
                        .max_results(100),
                    "sso:ListAccountsForProvisionedPermissionSet",
                    account_ids
                )
                .map_err(|e| e.context(&subject))?;
                let record = records::permission_set(&parts);
                let head = SetHead {
                    arn: arn.clone(),
                    name: record.key.clone(),
                    accounts,
                };
                self.send(record).await?;
                Ok::<_, ProviderError>(head)
            })
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await
    }

    /// Every assignment of every permission set on every account it is provisioned to.
    pub async fn assignments(
        &self,
        sets: &[SetHead],
        principals: &Principals,
    ) -> Result<(), ProviderError> {
        let pairs: Vec<(SetHead, String)> = sets
            .iter()
            .flat_map(|s| s.accounts.iter().map(move |a| (s.clone(), a.clone())))
            .collect();
        stream::iter(pairs)
            .map(|(set, account)| async move {
                let account = account.as_str();
                let listed = pages!(
                    self.clients
                        .sso
                        .list_account_assignments()
                        .instance_arn(&self.instance.arn)
                        .permission_set_arn(&set.arn)
                        .account_id(account)
                        .max_results(100),
                    "sso:ListAccountAssignments",
                    account_assignments
                )
                .map_err(|e| e.context(&format!("permission set {} on {account}", set.name)))?;
                for a in listed {
                    let Some(principal) = a
                        .principal_type()
                        .and_then(|t| Principal::from_api(t.as_str()))
                    else {
                        continue;
                    };
                    let id = a.principal_id().unwrap_or_default();
                    let names = match principal {
                        Principal::User => &principals.users,
                        Principal::Group => &principals.groups,
                    };
                    let name = names.get(id).cloned().unwrap_or_else(|| format!("id:{id}"));
                    self.send(records::assignment(
                        &set.arn, &set.name, account, principal, id, &name,
                    ))
                    .await?;
                }
                Ok::<_, ProviderError>(())
            })
            .buffer_unordered(self.concurrency)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }
}
